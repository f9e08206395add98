package broker_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/samsa-streaming/samsa/internal/brokertest"
	"github.com/samsa-streaming/samsa/internal/config"
)

const anon = "User:ANONYMOUS"

// aclSpec is one ACL to create: Kafka's codes.
type aclSpec struct {
	rt        kmsg.ACLResourceType
	name      string
	pt        kmsg.ACLResourcePatternType
	principal string
	op        kmsg.ACLOperation
	perm      kmsg.ACLPermissionType
}

func lit(rt kmsg.ACLResourceType, name, principal string, op kmsg.ACLOperation, perm kmsg.ACLPermissionType) aclSpec {
	return aclSpec{rt, name, kmsg.ACLResourcePatternTypeLiteral, principal, op, perm}
}

// createACLs sends CreateAcls and returns each creation's error code.
func createACLs(t *testing.T, cl *kgo.Client, specs ...aclSpec) []int16 {
	t.Helper()
	req := kmsg.NewPtrCreateACLsRequest()
	for _, s := range specs {
		c := kmsg.NewCreateACLsRequestCreation()
		c.ResourceType, c.ResourceName, c.ResourcePatternType = s.rt, s.name, s.pt
		c.Principal, c.Host, c.Operation, c.PermissionType = s.principal, "*", s.op, s.perm
		req.Creations = append(req.Creations, c)
	}
	resp, err := req.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	var codes []int16
	for _, r := range resp.Results {
		codes = append(codes, r.ErrorCode)
	}
	return codes
}

func mustCreateACLs(t *testing.T, cl *kgo.Client, specs ...aclSpec) {
	t.Helper()
	for i, c := range createACLs(t, cl, specs...) {
		if c != 0 {
			t.Fatalf("creating %+v: %v", specs[i], kerr.ErrorForCode(c))
		}
	}
}

// fetchCode fetches partition 0 of topic by name (Fetch v12: before
// topic ids, so a topic the client may not describe is still named) and
// returns the partition's error code.
func fetchCode(t *testing.T, addr, topic string) int16 {
	t.Helper()
	v := kversion.Stable()
	v.SetMaxKeyVersion(kmsg.Fetch.Int16(), 12)
	cl := newClient(t, addr, kgo.MaxVersions(v), kgo.RequestRetries(0))
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.MaxWaitMillis, req.MaxBytes = -1, 10, 1<<20
	req.SessionEpoch = -1
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = topic
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes = 1 << 20
	ft.Partitions = append(ft.Partitions, fp)
	req.Topics = append(req.Topics, ft)
	resp, err := req.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != 0 {
		return resp.ErrorCode
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}

func produceErr(t *testing.T, cl *kgo.Client, topic string) error {
	t.Helper()
	return cl.ProduceSync(ctxT(t), &kgo.Record{Topic: topic, Value: []byte("v")}).FirstErr()
}

func metadataTopics(t *testing.T, cl *kgo.Client, topics ...string) map[string]int16 {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	if topics != nil {
		req.Topics = []kmsg.MetadataRequestTopic{}
		for _, n := range topics {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(n)
			req.Topics = append(req.Topics, rt)
		}
	}
	resp, err := req.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int16{}
	for _, rt := range resp.Topics {
		out[*rt.Topic] = rt.ErrorCode
	}
	return out
}

// TestACLsEnforced drives a broker with the authorizer on and
// allow.everyone.if.no.acl.found=true (so the PLAINTEXT client,
// User:ANONYMOUS, may manage ACLs while the cluster has none) through
// Kafka's rules with a real client: DENY beats ALLOW, a prefixed ALLOW,
// Metadata hiding what may not be described, a resource with ACLs for
// others being closed, groups, and the ACL APIs themselves.
func TestACLsEnforced(t *testing.T) {
	b := brokertest.Start(t, "authorizer.class.name", config.StandardAuthorizer, "allow.everyone.if.no.acl.found", "true")
	for _, topic := range []string{"secret", "hidden", "app.orders", "app.locked", "public"} {
		createTopic(t, b.Addr(), topic, 1, nil)
	}
	cl := newClient(t, b.Addr(), kgo.RequestRetries(0), kgo.RecordRetries(1))

	mustCreateACLs(t, cl,
		// secret: everything allowed but READ (DENY wins).
		lit(kmsg.ACLResourceTypeTopic, "secret", anon, kmsg.ACLOperationAll, kmsg.ACLPermissionTypeAllow),
		lit(kmsg.ACLResourceTypeTopic, "secret", anon, kmsg.ACLOperationRead, kmsg.ACLPermissionTypeDeny),
		// hidden: an ACL for someone else closes it to everyone else.
		lit(kmsg.ACLResourceTypeTopic, "hidden", "User:other", kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow),
		// app.*: a prefixed ALLOW, and a literal DENY of writes to one.
		aclSpec{kmsg.ACLResourceTypeTopic, "app.", kmsg.ACLResourcePatternTypePrefixed, anon, kmsg.ACLOperationAll, kmsg.ACLPermissionTypeAllow},
		lit(kmsg.ACLResourceTypeTopic, "app.locked", anon, kmsg.ACLOperationWrite, kmsg.ACLPermissionTypeDeny),
		// group "blocked" may not be read (joined, committed to).
		lit(kmsg.ACLResourceTypeGroup, "blocked", anon, kmsg.ACLOperationRead, kmsg.ACLPermissionTypeDeny),
	)

	// Produce and Fetch.
	if err := produceErr(t, cl, "secret"); err != nil {
		t.Fatalf("produce to secret (ALLOW ALL): %v", err)
	}
	if code := fetchCode(t, b.Addr(), "secret"); code != kerr.TopicAuthorizationFailed.Code {
		t.Fatalf("fetch from secret (DENY READ): %v", kerr.ErrorForCode(code))
	}
	if code := fetchCode(t, b.Addr(), "public"); code != 0 {
		t.Fatalf("fetch from public (no ACL): %v", kerr.ErrorForCode(code))
	}
	if err := produceErr(t, cl, "app.orders"); err != nil {
		t.Fatalf("produce to app.orders (prefixed ALLOW): %v", err)
	}
	if err := produceErr(t, cl, "app.locked"); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("produce to app.locked (DENY WRITE over prefixed ALLOW ALL): %v", err)
	}
	if code := fetchCode(t, b.Addr(), "hidden"); code != kerr.TopicAuthorizationFailed.Code {
		t.Fatalf("fetch from hidden: %v", kerr.ErrorForCode(code))
	}

	// Metadata: hidden is left out of "all topics" and refused by name;
	// so is a topic that does not exist but whose name a prefix covers
	// for someone else, without saying whether it exists.
	all := metadataTopics(t, cl)
	if _, ok := all["hidden"]; ok {
		t.Fatalf("all-topics metadata shows hidden: %v", all)
	}
	for _, want := range []string{"secret", "app.orders", "public"} {
		if code, ok := all[want]; !ok || code != 0 {
			t.Fatalf("all-topics metadata lacks %s: %v", want, all)
		}
	}
	named := metadataTopics(t, cl, "hidden", "secret")
	if named["hidden"] != kerr.TopicAuthorizationFailed.Code || named["secret"] != 0 {
		t.Fatalf("named metadata: %v", named)
	}

	// Groups: READ on the group is needed to join and commit.
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.ProtocolType, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = "blocked", "consumer", 10000, 10000
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{}}}
	// (The client first asks FindCoordinator, which needs DESCRIBE on
	// the group: refused as well, the ACL applies to the group.)
	if jr, err := join.RequestWith(ctxT(t), cl); !errors.Is(err, kerr.GroupAuthorizationFailed) && (err != nil || jr.ErrorCode != kerr.GroupAuthorizationFailed.Code) {
		t.Fatalf("join blocked: %v %v", err, jr)
	}
	// Straight to the broker (the coordinator of every group here).
	if jr, err := join.RequestWith(ctxT(t), cl.Broker(1)); err != nil || jr.ErrorCode != kerr.GroupAuthorizationFailed.Code {
		t.Fatalf("join blocked on the broker: %v %v", err, jr)
	}
	adm := kadm.NewClient(cl)
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "public", Partition: 0, At: 0})
	cr, err := adm.CommitOffsets(ctxT(t), "blocked", offs)
	if err == nil {
		err = cr.Error()
	}
	if !errors.Is(err, kerr.GroupAuthorizationFailed) {
		t.Fatalf("commit to blocked: %v", err)
	}
	cr, err = adm.CommitOffsets(ctxT(t), "open", offs)
	if err == nil {
		err = cr.Error()
	}
	if err != nil {
		t.Fatalf("commit to open: %v", err)
	}

	// DescribeAcls: a MATCH filter on app.locked finds the literal DENY
	// and the prefix.
	dreq := kmsg.NewPtrDescribeACLsRequest()
	dreq.ResourceType, dreq.ResourceName, dreq.ResourcePatternType = kmsg.ACLResourceTypeTopic, kmsg.StringPtr("app.locked"), kmsg.ACLResourcePatternTypeMatch
	dreq.Operation, dreq.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	dresp, err := dreq.RequestWith(ctxT(t), cl)
	if err != nil || dresp.ErrorCode != 0 || len(dresp.Resources) != 2 {
		t.Fatalf("describe MATCH app.locked: %v %+v", err, dresp)
	}

	// DeleteAcls: remove the DENY on app.locked; writes go through.
	del := kmsg.NewPtrDeleteACLsRequest()
	f := kmsg.NewDeleteACLsRequestFilter()
	f.ResourceType, f.ResourceName, f.ResourcePatternType = kmsg.ACLResourceTypeTopic, kmsg.StringPtr("app.locked"), kmsg.ACLResourcePatternTypeLiteral
	f.Operation, f.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeDeny
	del.Filters = append(del.Filters, f)
	delResp, err := del.RequestWith(ctxT(t), cl)
	if err != nil || delResp.Results[0].ErrorCode != 0 || len(delResp.Results[0].MatchingACLs) != 1 {
		t.Fatalf("delete: %v %+v", err, delResp)
	}
	if err := produceErr(t, cl, "app.locked"); err != nil {
		t.Fatalf("produce to app.locked after the DENY went: %v", err)
	}

	// Once the cluster has an ACL, ALTER on it is needed to manage ACLs.
	mustCreateACLs(t, cl, lit(kmsg.ACLResourceTypeCluster, "kafka-cluster", "User:admin", kmsg.ACLOperationAlter, kmsg.ACLPermissionTypeAllow))
	if codes := createACLs(t, cl, lit(kmsg.ACLResourceTypeTopic, "x", anon, kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow)); codes[0] != kerr.ClusterAuthorizationFailed.Code {
		t.Fatalf("create without ALTER on the cluster: %v", kerr.ErrorForCode(codes[0]))
	}
	if resp, err := kmsg.NewPtrDescribeACLsRequest().RequestWith(ctxT(t), cl); err != nil || resp.ErrorCode != kerr.ClusterAuthorizationFailed.Code {
		t.Fatalf("describe without DESCRIBE on the cluster: %v %+v", err, resp)
	}
}

// TestACLsDefaultDeny: with the authorizer on, no super user and no ACLs,
// User:ANONYMOUS may do nothing.
func TestACLsDefaultDeny(t *testing.T) {
	b := brokertest.Start(t, "authorizer.class.name", config.AclAuthorizer)
	cl := newClient(t, b.Addr(), kgo.RequestRetries(0), kgo.RecordRetries(1))
	if got := metadataTopics(t, cl); len(got) != 0 {
		t.Fatalf("metadata shows %v", got)
	}
	if named := metadataTopics(t, cl, "t"); named["t"] != kerr.TopicAuthorizationFailed.Code {
		t.Fatalf("named metadata: %v", named)
	}
	if codes := createACLs(t, cl, lit(kmsg.ACLResourceTypeTopic, "t", anon, kmsg.ACLOperationAll, kmsg.ACLPermissionTypeAllow)); codes[0] != kerr.ClusterAuthorizationFailed.Code {
		t.Fatalf("create ACLs: %v", kerr.ErrorForCode(codes[0]))
	}
	resp, err := kadm.NewClient(cl).CreateTopic(ctxT(t), 1, 1, nil, "t")
	if err == nil {
		err = resp.Err
	}
	if !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("create topic: %v", err)
	}
	ip := kmsg.NewPtrInitProducerIDRequest()
	ip.TransactionTimeoutMillis = 60000
	ipr, err := ip.RequestWith(ctxT(t), cl)
	if err != nil || ipr.ErrorCode != kerr.ClusterAuthorizationFailed.Code {
		t.Fatalf("InitProducerId: %v %+v", err, ipr)
	}
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKey = "g"
	fcr, err := fc.RequestWith(ctxT(t), cl)
	if err != nil || fcr.ErrorCode != kerr.GroupAuthorizationFailed.Code {
		t.Fatalf("FindCoordinator: %v %+v", err, fcr)
	}
}

// TestACLsSuperUser: a super user passes every check, DENY ACLs and all;
// and the ACL APIs refuse what Kafka refuses.
func TestACLsSuperUser(t *testing.T) {
	b := brokertest.Start(t, "authorizer.class.name", config.StandardAuthorizer, "super.users", "User:admin;"+anon)
	cl := newClient(t, b.Addr(), kgo.RequestRetries(0))
	mustCreateACLs(t, cl, lit(kmsg.ACLResourceTypeTopic, "*", "User:*", kmsg.ACLOperationAll, kmsg.ACLPermissionTypeDeny))
	createTopic(t, b.Addr(), "t", 1, nil)
	if err := produceErr(t, cl, "t"); err != nil {
		t.Fatal(err)
	}
	if code := fetchCode(t, b.Addr(), "t"); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	// Bad bindings: INVALID_REQUEST each, the good one in the same
	// request created.
	codes := createACLs(t, cl,
		lit(kmsg.ACLResourceTypeTopic, "a", "alice", kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow),                                    // no Type:
		lit(kmsg.ACLResourceTypeAny, "a", anon, kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow),                                         // ANY type
		lit(kmsg.ACLResourceTypeTopic, "a", anon, kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAllow),                                        // ANY op
		lit(kmsg.ACLResourceTypeTopic, "a", anon, kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAny),                                         // ANY permission
		lit(kmsg.ACLResourceTypeCluster, "c", anon, kmsg.ACLOperationAlter, kmsg.ACLPermissionTypeAllow),                                    // cluster name
		aclSpec{kmsg.ACLResourceTypeTopic, "a", kmsg.ACLResourcePatternTypeMatch, anon, kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow}, // MATCH
		lit(kmsg.ACLResourceTypeTopic, "", anon, kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow),                                        // empty name
		lit(kmsg.ACLResourceTypeTopic, "a", anon, kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow),                                       // good
	)
	want := []int16{42, 42, 42, 42, 42, 42, 42, 0}
	if !slices.Equal(codes, want) {
		t.Fatalf("codes %v, want %v", codes, want)
	}
	d := kmsg.NewPtrDescribeACLsRequest()
	d.ResourceType = kmsg.ACLResourceTypeUnknown
	if resp, err := d.RequestWith(ctxT(t), cl); err != nil || resp.ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("describe with an UNKNOWN filter: %v %+v", err, resp)
	}
	// kadm sees the two ACLs.
	res, err := kadm.NewClient(cl).DescribeACLs(ctxT(t), kadm.NewACLs().AnyResource().Allow().AllowHosts().Deny().DenyHosts().Operations().ResourcePatternType(kadm.ACLPatternAny))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range res {
		n += len(r.Described)
	}
	if n != 2 {
		t.Fatalf("described %d ACLs: %+v", n, res)
	}
}

// TestACLsSecurityDisabled: without authorizer.class.name the ACL APIs
// answer SECURITY_DISABLED and nothing is checked.
func TestACLsSecurityDisabled(t *testing.T) {
	b := brokertest.Start(t)
	cl := newClient(t, b.Addr(), kgo.RequestRetries(0))
	if codes := createACLs(t, cl, lit(kmsg.ACLResourceTypeTopic, "t", anon, kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow)); codes[0] != kerr.SecurityDisabled.Code {
		t.Fatal(kerr.ErrorForCode(codes[0]))
	}
	resp, err := kmsg.NewPtrDescribeACLsRequest().RequestWith(ctxT(t), cl)
	if err != nil || resp.ErrorCode != kerr.SecurityDisabled.Code {
		t.Fatalf("%v %+v", err, resp)
	}
	del := kmsg.NewPtrDeleteACLsRequest()
	del.Filters = []kmsg.DeleteACLsRequestFilter{kmsg.NewDeleteACLsRequestFilter()}
	dr, err := del.RequestWith(ctxT(t), cl)
	if err != nil || dr.Results[0].ErrorCode != kerr.SecurityDisabled.Code {
		t.Fatalf("%v %+v", err, dr)
	}
}

// TestACLsReplicated: ACLs created on one node are enforced by the others
// (they live in the metadata log).
func TestACLsReplicated(t *testing.T) {
	c := brokertest.StartCluster(t, 3, "authorizer.class.name", config.StandardAuthorizer, "allow.everyone.if.no.acl.found", "true")
	createTopicRF(t, c, "t", 1, 3)
	mustCreateACLs(t, newClient(t, c.Node(1).Addr(), kgo.RequestRetries(0)),
		lit(kmsg.ACLResourceTypeTopic, "t", anon, kmsg.ACLOperationDescribe, kmsg.ACLPermissionTypeDeny))
	for id := int32(1); id <= 3; id++ {
		cl := newClient(t, c.Node(id).Addr(), kgo.RequestRetries(0))
		eventually(t, "node sees the ACL", func() bool {
			return metadataTopics(t, cl, "t")["t"] == kerr.TopicAuthorizationFailed.Code
		})
	}
}

// TestACLsWithSASLUsers: principals from SASL (alice by PLAIN, bob by
// SCRAM) are held to their own ACLs; the PLAINTEXT listener's
// User:ANONYMOUS is the super user that sets things up.
func TestACLsWithSASLUsers(t *testing.T) {
	b := startSASL(t, "authorizer.class.name", config.StandardAuthorizer, "super.users", anon)
	saslAddr := b.ListenerAddr("SASL_PLAINTEXT")
	admin := newClient(t, b.Addr(), kgo.RequestRetries(0))
	adm := kadm.NewClient(admin)
	if res, err := adm.AlterUserSCRAMs(ctxT(t), nil, []kadm.UpsertSCRAM{{User: "bob", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "bob-secret"}}); err != nil || res.Error() != nil {
		t.Fatalf("alter scram: %v %v", err, res.Error())
	}
	createTopic(t, b.Addr(), "t", 1, nil)
	mustCreateACLs(t, admin,
		lit(kmsg.ACLResourceTypeTopic, "t", "User:alice", kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow),
		lit(kmsg.ACLResourceTypeGroup, "*", "User:alice", kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow),
		lit(kmsg.ACLResourceTypeTopic, "t", "User:bob", kmsg.ACLOperationWrite, kmsg.ACLPermissionTypeAllow),
	)
	alice := kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism())
	bob := kgo.SASL(scram.Auth{User: "bob", Pass: "bob-secret"}.AsSha256Mechanism())

	// bob writes (his idempotent producer's InitProducerId passes on
	// WRITE to some topic); alice may not.
	if err := produceErr(t, saslClient(t, saslAddr, bob, kgo.RecordRetries(1)), "t"); err != nil {
		t.Fatalf("bob produces: %v", err)
	}
	// alice's idempotent producer is refused its producer id (neither
	// IDEMPOTENT_WRITE on the cluster nor WRITE on any topic); without
	// idempotence her batch is refused.
	if err := produceErr(t, saslClient(t, saslAddr, alice, kgo.RecordRetries(1)), "t"); !errors.Is(err, kerr.ClusterAuthorizationFailed) {
		t.Fatalf("alice produces (idempotent): %v", err)
	}
	if err := produceErr(t, saslClient(t, saslAddr, alice, kgo.RecordRetries(1), kgo.DisableIdempotentWrite()), "t"); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("alice produces: %v", err)
	}
	// alice reads in a group; bob may not read.
	cons := saslClient(t, saslAddr, alice, kgo.ConsumeTopics("t"), kgo.ConsumerGroup("alice-group"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	fs := cons.PollRecords(ctxT(t), 1)
	if err := fs.Err0(); err != nil || fs.NumRecords() != 1 {
		t.Fatalf("alice consumes: %v, %d records", err, fs.NumRecords())
	}
	if err := cons.CommitUncommittedOffsets(ctxT(t)); err != nil {
		t.Fatalf("alice commits: %v", err)
	}
	bc := saslClient(t, saslAddr, bob, kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	fs = bc.PollFetches(ctxT(t))
	if err := fs.Err0(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("bob consumes: %v", err)
	}
	// Neither may manage ACLs.
	if codes := createACLs(t, saslClient(t, saslAddr, alice), lit(kmsg.ACLResourceTypeTopic, "t", "User:alice", kmsg.ACLOperationAll, kmsg.ACLPermissionTypeAllow)); codes[0] != kerr.ClusterAuthorizationFailed.Code {
		t.Fatalf("alice creates an ACL: %v", kerr.ErrorForCode(codes[0]))
	}
}
