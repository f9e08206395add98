package broker

// Authorization: the checks every handler makes, with Kafka's operations
// and resources (docs/security.md has the table per API). Without
// authorizer.class.name the broker has no authorizer (b.authz is nil) and
// every check is one nil test that allows.

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/record"
)

// authorizer is the broker's view of the ACLs: an acl.Authorizer built
// from the metadata image's ACLs, rebuilt when they change (the image's
// ACL set is immutable, so its pointer says whether it changed).
type authorizer struct {
	cfg    acl.Config
	audit  bool
	logger *slog.Logger
	meta   *metadata.Store

	mu  sync.Mutex // serialises rebuilds
	cur atomic.Pointer[authzSnapshot]
}

type authzSnapshot struct {
	set *metadata.ACLSet
	a   *acl.Authorizer
}

// newAuthorizer returns nil when authorizer.class.name is empty: no
// authorization, as Kafka without an authorizer.
func newAuthorizer(cfg *config.Config, meta *metadata.Store, logger *slog.Logger) *authorizer {
	if strings.TrimSpace(cfg.Get("authorizer.class.name")) == "" {
		return nil
	}
	var supers []string
	for _, p := range acl.ParseSuperUsers(cfg.Get("super.users")) {
		if !acl.ValidPrincipal(p) {
			logger.Error("super.users: ignoring a principal that is not of the form Type:Name", "principal", p)
			continue
		}
		supers = append(supers, p)
	}
	z := &authorizer{
		cfg:    acl.Config{SuperUsers: supers, AllowIfNoACL: cfg.Get("allow.everyone.if.no.acl.found") == "true"},
		audit:  cfg.Get("samsa.authorizer.audit.log") == "true",
		logger: logger.With("logger", "kafka.authorizer.logger"),
		meta:   meta,
	}
	logger.Info("authorizer enabled", "super_users", strings.Join(supers, ";"), "allow_everyone_if_no_acl_found", z.cfg.AllowIfNoACL, "audit_log", z.audit)
	return z
}

// current returns the authorizer for the current image's ACLs.
func (z *authorizer) current() *acl.Authorizer {
	set := z.meta.Image().ACLs()
	if s := z.cur.Load(); s != nil && s.set == set {
		return s.a
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	if s := z.cur.Load(); s != nil && s.set == set {
		return s.a
	}
	a := acl.New(z.cfg, set.Bindings())
	z.cur.Store(&authzSnapshot{set, a})
	return a
}

// clientHost is the connection's peer address in acl.CanonicalHost's
// spelling, as ACL hosts are compared.
func clientHost(nc net.Conn) string {
	switch a := nc.RemoteAddr().(type) {
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap().String()
	case nil:
		return ""
	default:
		h, _, err := net.SplitHostPort(a.String())
		if err != nil {
			return acl.CanonicalHost(a.String())
		}
		return acl.CanonicalHost(h)
	}
}

// authorize reports whether the request's principal may perform op on the
// resource; a denial is logged at INFO (Kafka's logIfDenied).
func (rc *reqCtx) authorize(op acl.Operation, rt acl.ResourceType, name string) bool {
	z := rc.c.b.authz
	if z == nil {
		return true
	}
	return rc.decide(z, z.current(), op, rt, name, true)
}

// authorizeQuiet is authorize for filtering (which topics to list, which
// groups to show): a denial is logged only at DEBUG, as Kafka logs
// filters at TRACE.
func (rc *reqCtx) authorizeQuiet(op acl.Operation, rt acl.ResourceType, name string) bool {
	z := rc.c.b.authz
	if z == nil {
		return true
	}
	return rc.decide(z, z.current(), op, rt, name, false)
}

// authorizeCluster checks op on the cluster resource.
func (rc *reqCtx) authorizeCluster(op acl.Operation) bool {
	return rc.authorize(op, acl.ResourceCluster, acl.ClusterName)
}

// authorizeClusterQuiet checks op on the cluster without logging a denial
// at INFO (a first check with a fallback, or a filter).
func (rc *reqCtx) authorizeClusterQuiet(op acl.Operation) bool {
	return rc.authorizeQuiet(op, acl.ResourceCluster, acl.ClusterName)
}

// authorizeByResourceType reports whether the principal may perform op on
// some resource of type rt (Kafka's authorizeByResourceType).
func (rc *reqCtx) authorizeByResourceType(op acl.Operation, rt acl.ResourceType) bool {
	z := rc.c.b.authz
	if z == nil {
		return true
	}
	a := z.current()
	host := ""
	if a.NeedsHost() {
		host = clientHost(rc.c.nc)
	}
	ok := a.AuthorizeByResourceType(rc.principal(), host, op, rt)
	if z.audit || !ok {
		z.logger.Info("authorization by resource type", "principal", rc.principal(), "host", clientHost(rc.c.nc), "client_id", rc.clientID,
			"api", kmsg.NameForKey(rc.key), "operation", op.String(), "resource_type", rt.String(), "allowed", ok)
	}
	return ok
}

func (rc *reqCtx) decide(z *authorizer, a *acl.Authorizer, op acl.Operation, rt acl.ResourceType, name string, logIfDenied bool) bool {
	principal := rc.principal()
	host := ""
	if a.NeedsHost() {
		host = clientHost(rc.c.nc)
	}
	d := a.Decide(principal, host, op, rt, name)
	level := slog.LevelDebug
	if z.audit || (!d.Allowed && logIfDenied) {
		level = slog.LevelInfo
	}
	if z.logger.Enabled(context.Background(), level) {
		if host == "" {
			host = clientHost(rc.c.nc)
		}
		result := "Allowed"
		if !d.Allowed {
			result = "Denied"
		}
		z.logger.Log(context.Background(), level, "authorization", "principal", principal, "host", host, "client_id", rc.clientID,
			"api", kmsg.NameForKey(rc.key), "operation", op.String(), "resource", rt.String()+":LITERAL:"+name, "result", result, "rule", d.Rule.String())
	}
	return d.Allowed
}

// authorizedOperations is the authorized-operations bit field of a
// resource (Metadata, DescribeCluster, DescribeGroups): every supported
// operation without an authorizer, as Kafka.
func (rc *reqCtx) authorizedOperations(rt acl.ResourceType, name string) int32 {
	z := rc.c.b.authz
	if z == nil {
		return acl.AllOperations(rt)
	}
	a := z.current()
	host := ""
	if a.NeedsHost() {
		host = clientHost(rc.c.nc)
	}
	return a.AuthorizedOperations(rc.principal(), host, rt, name)
}

// topicAuthorizer memoises topic decisions within one request, so a
// request naming a topic for each of its partitions asks once per topic.
type topicAuthorizer struct {
	rc   *reqCtx
	op   acl.Operation
	last string
	ok   bool
	seen map[string]bool
}

func (rc *reqCtx) topicAuthorizer(op acl.Operation) *topicAuthorizer {
	return &topicAuthorizer{rc: rc, op: op}
}

// allowed reports whether the request may perform the operation on topic.
func (t *topicAuthorizer) allowed(topic string) bool {
	if t.rc.c.b.authz == nil {
		return true
	}
	if t.seen == nil {
		t.last, t.ok = topic, t.rc.authorize(t.op, acl.ResourceTopic, topic)
		t.seen = map[string]bool{topic: t.ok}
		return t.ok
	}
	if topic == t.last {
		return t.ok
	}
	ok, found := t.seen[topic]
	if !found {
		ok = t.rc.authorize(t.op, acl.ResourceTopic, topic)
		t.seen[topic] = ok
	}
	t.last, t.ok = topic, ok
	return ok
}

// Error codes of refused checks.
var (
	errTopicAuth   = kerr.TopicAuthorizationFailed.Code
	errGroupAuth   = kerr.GroupAuthorizationFailed.Code
	errClusterAuth = kerr.ClusterAuthorizationFailed.Code
	errTxnAuth     = kerr.TransactionalIDAuthorizationFailed.Code
)

// produceAuth is Produce's check (Kafka's handleProduceRequest): a request
// with transactional batches needs WRITE on its transactional id (else
// every partition is TRANSACTIONAL_ID_AUTHORIZATION_FAILED), and each topic
// needs WRITE (TOPIC_AUTHORIZATION_FAILED, answered before whether the
// topic exists, so its existence is not disclosed).
type produceAuth struct {
	txnDenied bool
	topics    *topicAuthorizer
}

// newProduceAuth returns nil without an authorizer.
func newProduceAuth(rc *reqCtx, req *kmsg.ProduceRequest) *produceAuth {
	if rc.c.b.authz == nil {
		return nil
	}
	pa := &produceAuth{topics: rc.topicAuthorizer(acl.OpWrite)}
	if hasTransactionalRecords(req) {
		pa.txnDenied = req.TransactionID == nil || !rc.authorize(acl.OpWrite, acl.ResourceTransactionalID, *req.TransactionID)
	}
	return pa
}

// check returns the error code of a topic's partitions: code (its name
// resolution's) unless authorization fails first.
func (pa *produceAuth) check(rt *kmsg.ProduceRequestTopic, name string, code int16) int16 {
	switch {
	case pa.txnDenied:
		return errTxnAuth
	case code == kerr.UnknownTopicID.Code:
		return code
	}
	if name == "" {
		name = rt.Topic
	}
	if !pa.topics.allowed(name) {
		return errTopicAuth
	}
	return code
}

func hasTransactionalRecords(req *kmsg.ProduceRequest) bool {
	for i := range req.Topics {
		for j := range req.Topics[i].Partitions {
			if h, err := record.ParseHeader(req.Topics[i].Partitions[j].Records); err == nil && h.IsTransactional() {
				return true
			}
		}
	}
	return false
}

// fetchDenied returns the topics of a fetch (its session's partitions
// included) the request may not read: READ on each topic for a consumer;
// for a follower (replica id >= 0) CLUSTER_ACTION on the cluster, else
// every topic. nil without an authorizer or when nothing is denied.
func fetchDenied(rc *reqCtx, req *kmsg.FetchRequest, parts []*fetchPart) map[string]bool {
	if rc.c.b.authz == nil {
		return nil
	}
	var denied map[string]bool
	deny := func(t string) {
		if denied == nil {
			denied = map[string]bool{}
		}
		denied[t] = true
	}
	if replicaID(req) >= 0 {
		if rc.authorizeCluster(acl.OpClusterAction) {
			return nil
		}
		for _, fp := range parts {
			deny(fp.topic)
		}
		return denied
	}
	ta := rc.topicAuthorizer(acl.OpRead)
	for _, fp := range parts {
		if !ta.allowed(fp.topic) {
			deny(fp.topic)
		}
	}
	return denied
}

// mayCreateTopic: CREATE on the cluster, or else on the topic (auto
// creation by Metadata, CreateTopics).
func (rc *reqCtx) mayCreateTopic(topic string) bool {
	return rc.authorizeClusterQuiet(acl.OpCreate) || rc.authorize(acl.OpCreate, acl.ResourceTopic, topic)
}

// metadataAuthorizedOps fills the authorized-operations fields a Metadata
// request asked for (v8+ topics, v8-v10 the cluster), as Kafka: the
// cluster's are 0 without DESCRIBE on it.
func metadataAuthorizedOps(rc *reqCtx, req *kmsg.MetadataRequest, resp *kmsg.MetadataResponse) *kmsg.MetadataResponse {
	if req.Version < 8 {
		return resp
	}
	if req.IncludeTopicAuthorizedOperations {
		for i := range resp.Topics {
			t := &resp.Topics[i]
			if t.Topic != nil && t.ErrorCode != errTopicAuth {
				t.AuthorizedOperations = rc.authorizedOperations(acl.ResourceTopic, *t.Topic)
			}
		}
	}
	if req.Version <= 10 && req.IncludeClusterAuthorizedOperations {
		resp.AuthorizedOperations = 0
		if rc.authorizeCluster(acl.OpDescribe) {
			resp.AuthorizedOperations = rc.authorizedOperations(acl.ResourceCluster, acl.ClusterName)
		}
	}
	return resp
}

// deleteTopicDenied is DeleteTopics' check (Kafka's controller): DELETE on
// the cluster allows every topic; else a topic named by name needs
// DESCRIBE (checked before whether it exists) and DELETE; one named by id
// needs DELETE, and without DESCRIBE its name is not returned. 0: go on.
func deleteTopicDenied(rc *reqCtx, st *kmsg.DeleteTopicsResponseTopic, name *string, id [16]byte) int16 {
	b := rc.c.b
	if b.authz == nil {
		return 0
	}
	im := b.meta.Image()
	if !b.config(im).DeleteTopicEnable || rc.authorizeClusterQuiet(acl.OpDelete) {
		return 0 // deleteTopic answers
	}
	if name != nil && *name != "" {
		if !rc.authorize(acl.OpDescribe, acl.ResourceTopic, *name) {
			return errTopicAuth
		}
		if _, ok := im.Topic(*name); ok && !rc.authorize(acl.OpDelete, acl.ResourceTopic, *name) {
			return errTopicAuth
		}
		return 0
	}
	t, ok := im.TopicByID(id)
	if !ok || rc.authorize(acl.OpDelete, acl.ResourceTopic, t.Name) {
		return 0
	}
	if rc.authorizeQuiet(acl.OpDescribe, acl.ResourceTopic, t.Name) {
		topic := t.Name
		st.Topic = &topic
	} else {
		st.Topic = nil
	}
	return errTopicAuth
}

// initProducerIDDenied is InitProducerId's check: WRITE on the
// transactional id; without one, IDEMPOTENT_WRITE on the cluster or WRITE
// on at least one topic (authorizeByResourceType). 0: allowed.
func initProducerIDDenied(rc *reqCtx, req *kmsg.InitProducerIDRequest) int16 {
	if rc.c.b.authz == nil {
		return 0
	}
	if req.TransactionalID != nil {
		if !rc.authorize(acl.OpWrite, acl.ResourceTransactionalID, *req.TransactionalID) {
			return errTxnAuth
		}
		return 0
	}
	if !rc.authorizeClusterQuiet(acl.OpIdempotentWrite) && !rc.authorizeByResourceType(acl.OpWrite, acl.ResourceTopic) {
		return errClusterAuth
	}
	return 0
}

// configsDenied is the DescribeConfigs / AlterConfigs check of one
// resource: op (DESCRIBE_CONFIGS or ALTER_CONFIGS) on the topic, or on the
// cluster for a broker or broker logger. 0: allowed (other resource types
// are refused later as invalid).
func configsDenied(rc *reqCtx, op acl.Operation, typ kmsg.ConfigResourceType, name string) int16 {
	if rc.c.b.authz == nil {
		return 0
	}
	switch typ {
	case kmsg.ConfigResourceTypeTopic:
		if !rc.authorize(op, acl.ResourceTopic, name) {
			return errTopicAuth
		}
	case kmsg.ConfigResourceTypeBroker, kmsg.ConfigResourceTypeBrokerLogger:
		if !rc.authorizeCluster(op) {
			return errClusterAuth
		}
	}
	return 0
}

// alterConfigsAuthorized is alterConfigs after ALTER_CONFIGS on the
// resource.
func alterConfigsAuthorized(rc *reqCtx, typ kmsg.ConfigResourceType, name string, ops []configOp, replace, validateOnly bool) error {
	if code := configsDenied(rc, acl.OpAlterConfigs, typ, name); code != 0 {
		return kerr.ErrorForCode(code)
	}
	return alterConfigs(rc.broker(), typ, name, ops, replace, validateOnly)
}

// describeTopicAllowed: DESCRIBE on a topic, logged as denied only when
// the request named it.
func describeTopicAllowed(rc *reqCtx, topic string, all bool) bool {
	if all {
		return rc.authorizeQuiet(acl.OpDescribe, acl.ResourceTopic, topic)
	}
	return rc.authorize(acl.OpDescribe, acl.ResourceTopic, topic)
}

// describeClusterAuth is DescribeCluster's check: on the controller
// listener ALTER on the cluster (Kafka's controller asks for it); the
// cluster's authorized operations when asked for (0 without DESCRIBE).
func describeClusterAuth(rc *reqCtx, req *kmsg.DescribeClusterRequest, resp *kmsg.DescribeClusterResponse) int16 {
	if rc.c.controller && !rc.authorizeCluster(acl.OpAlter) {
		return errClusterAuth
	}
	if req.IncludeClusterAuthorizedOperations {
		resp.ClusterAuthorizedOperations = 0
		if rc.authorizeCluster(acl.OpDescribe) {
			resp.ClusterAuthorizedOperations = rc.authorizedOperations(acl.ResourceCluster, acl.ClusterName)
		}
	}
	return 0
}

func scramDeletionUsers(req *kmsg.AlterUserSCRAMCredentialsRequest) []string {
	var out []string
	for _, d := range req.Deletions {
		out = append(out, d.Name)
	}
	return out
}

func scramUpsertionUsers(req *kmsg.AlterUserSCRAMCredentialsRequest) []string {
	var out []string
	for _, u := range req.Upsertions {
		out = append(out, u.Name)
	}
	return out
}
