package console

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The ACL and SCRAM user endpoints. They change the cluster's security,
// so every field is checked here before the broker is asked (the broker
// checks again and decides who may: ALTER on the cluster for both, as on
// the Kafka port), and a password never leaves this file: it is not
// logged, not put in an error, and not in any answer.

// aclInfo is one ACL binding, as listed, created and deleted.
type aclInfo struct {
	Principal    string `json:"principal"`
	Host         string `json:"host"`
	ResourceType string `json:"resourceType"`
	Resource     string `json:"resource"`
	Pattern      string `json:"pattern"`
	Operation    string `json:"operation"`
	Permission   string `json:"permission"`
}

// listACLs is GET /api/v1/acls: every binding the user may describe.
func (c *Console) listACLs(ctx context.Context, s *session, r *http.Request) (any, error) {
	if err := noParams(r); err != nil {
		return nil, err
	}
	b := kadm.NewACLs().AnyResource().ResourcePatternType(kadm.ACLPatternAny).
		Operations(kadm.OpAny).Allow().Deny().AllowHosts().DenyHosts()
	res, err := s.adm.DescribeACLs(ctx, b)
	if err != nil {
		return nil, refusal(s, "describe ACLs (DESCRIBE on the cluster)", err)
	}
	out := []aclInfo{}
	for _, d := range res {
		if d.Err != nil {
			return nil, refusal(s, "describe ACLs (DESCRIBE on the cluster)", d.Err)
		}
		for _, a := range d.Described {
			out = append(out, aclInfo{Principal: a.Principal, Host: a.Host, ResourceType: a.Type.String(),
				Resource: a.Name, Pattern: a.Pattern.String(), Operation: a.Operation.String(), Permission: a.Permission.String()})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.ResourceType != b.ResourceType {
			return a.ResourceType < b.ResourceType
		}
		if a.Resource != b.Resource {
			return a.Resource < b.Resource
		}
		if a.Principal != b.Principal {
			return a.Principal < b.Principal
		}
		return a.Operation+a.Permission+a.Host+a.Pattern < b.Operation+b.Permission+b.Host+b.Pattern
	})
	return out, nil
}

// aclOps are the operations each resource type takes, as kafka-acls.sh
// checks them (AclCommand's ResourceTypeToValidOperations): an ACL
// outside these is accepted by Kafka's broker but never matches anything.
var aclOps = map[kmsg.ACLResourceType][]kmsg.ACLOperation{
	kmsg.ACLResourceTypeTopic: {kmsg.ACLOperationRead, kmsg.ACLOperationWrite, kmsg.ACLOperationCreate, kmsg.ACLOperationDescribe,
		kmsg.ACLOperationDelete, kmsg.ACLOperationAlter, kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs, kmsg.ACLOperationAll},
	kmsg.ACLResourceTypeGroup: {kmsg.ACLOperationRead, kmsg.ACLOperationDescribe, kmsg.ACLOperationDelete, kmsg.ACLOperationAll},
	kmsg.ACLResourceTypeCluster: {kmsg.ACLOperationCreate, kmsg.ACLOperationClusterAction, kmsg.ACLOperationDescribeConfigs,
		kmsg.ACLOperationAlterConfigs, kmsg.ACLOperationIdempotentWrite, kmsg.ACLOperationAlter, kmsg.ACLOperationDescribe, kmsg.ACLOperationAll},
	kmsg.ACLResourceTypeTransactionalId: {kmsg.ACLOperationDescribe, kmsg.ACLOperationWrite, kmsg.ACLOperationAll},
	kmsg.ACLResourceTypeDelegationToken: {kmsg.ACLOperationDescribe, kmsg.ACLOperationAll},
	kmsg.ACLResourceTypeUser:            {kmsg.ACLOperationCreateTokens, kmsg.ACLOperationDescribeTokens, kmsg.ACLOperationAll},
}

// maxNameBytes bounds principals, hosts, resource and user names (Kafka
// has no limit; 1,000 is far above any real one, as for group ids).
const maxNameBytes = 1000

// aclBody is the body of POST and DELETE /api/v1/acls: one exact binding
// (no ANY or MATCH filters: deleting removes exactly what it names).
type aclBody struct {
	Principal    string `json:"principal"`
	Host         string `json:"host"`         // default "*"
	ResourceType string `json:"resourceType"` // TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID, DELEGATION_TOKEN, USER
	Resource     string `json:"resource"`     // CLUSTER: kafka-cluster (the default)
	Pattern      string `json:"pattern"`      // LITERAL (default) or PREFIXED
	Operation    string `json:"operation"`
	Permission   string `json:"permission"` // ALLOW or DENY
}

// binding is a checked aclBody.
type binding struct {
	typ        kmsg.ACLResourceType
	name       string
	pattern    kmsg.ACLResourcePatternType
	principal  string
	host       string
	op         kmsg.ACLOperation
	permission kmsg.ACLPermissionType
}

func (b binding) info() aclInfo {
	return aclInfo{Principal: b.principal, Host: b.host, ResourceType: b.typ.String(), Resource: b.name,
		Pattern: b.pattern.String(), Operation: b.op.String(), Permission: b.permission.String()}
}

// enumName normalises a Kafka enum name as users type it: any case,
// spaces or hyphens for underscores (TRANSACTIONAL_ID, transactional-id).
func enumName(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "_", " ", "_").Replace(strings.TrimSpace(s)))
}

// checkName refuses an empty, oversized, non-UTF-8 or control-character
// name.
func checkName(what, s string) error {
	switch {
	case s == "":
		return badRequest("%s is required", what)
	case len(s) > maxNameBytes:
		return badRequest("%s is longer than %d bytes", what, maxNameBytes)
	case !utf8.ValidString(s):
		return badRequest("%s is not UTF-8", what)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return badRequest("%s contains a control character", what)
	}
	return nil
}

// parseBinding checks every field of an ACL body.
func parseBinding(a aclBody) (binding, error) {
	var b binding
	var err error
	if err := checkName("principal", a.Principal); err != nil {
		return b, err
	}
	typ, name, ok := strings.Cut(a.Principal, ":")
	if !ok || typ == "" || name == "" {
		return b, badRequest("principal %q is not Type:name (User:alice, User:*)", a.Principal)
	}
	b.principal = a.Principal
	b.host = strings.TrimSpace(a.Host)
	if b.host == "" {
		b.host = "*"
	}
	if b.host != "*" && net.ParseIP(b.host) == nil {
		return b, badRequest("host %q is not * or an IP address (ACLs match the client's address, not a host name)", a.Host)
	}
	if b.typ, err = kmsg.ParseACLResourceType(enumName(a.ResourceType)); err != nil || aclOps[b.typ] == nil {
		return b, badRequest("resourceType %q is not one of TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID, DELEGATION_TOKEN, USER", a.ResourceType)
	}
	switch p := enumName(a.Pattern); p {
	case "", "LITERAL":
		b.pattern = kmsg.ACLResourcePatternTypeLiteral
	case "PREFIXED":
		b.pattern = kmsg.ACLResourcePatternTypePrefixed
	default:
		return b, badRequest("pattern %q is not LITERAL or PREFIXED", a.Pattern)
	}
	b.name = a.Resource
	switch {
	case b.typ == kmsg.ACLResourceTypeCluster:
		if b.name == "" {
			b.name = "kafka-cluster"
		}
		if b.name != "kafka-cluster" || b.pattern != kmsg.ACLResourcePatternTypeLiteral {
			return b, badRequest("a CLUSTER ACL names the literal resource kafka-cluster, not %q", a.Resource)
		}
	case b.name == "*" && b.pattern == kmsg.ACLResourcePatternTypePrefixed:
		return b, badRequest("* is a wildcard only with the LITERAL pattern")
	case b.typ == kmsg.ACLResourceTypeTopic && b.name != "*" && b.pattern == kmsg.ACLResourcePatternTypeLiteral && !topicName.MatchString(b.name):
		return b, badRequest("invalid topic name %q: 1 to 249 of a-z A-Z 0-9 . _ - (or * for every topic)", b.name)
	default:
		if err := checkName("resource", b.name); err != nil {
			return b, err
		}
	}
	op := enumName(a.Operation)
	if b.op, err = kmsg.ParseACLOperation(op); err != nil || op == "ANY" || op == "UNKNOWN" {
		return b, badRequest("operation %q is not a Kafka ACL operation", a.Operation)
	}
	valid := false
	var names []string
	for _, o := range aclOps[b.typ] {
		valid = valid || o == b.op
		names = append(names, o.String())
	}
	if !valid {
		return b, badRequest("a %s ACL takes the operations %s, not %s", b.typ, strings.Join(names, ", "), b.op)
	}
	switch enumName(a.Permission) {
	case "ALLOW":
		b.permission = kmsg.ACLPermissionTypeAllow
	case "DENY":
		b.permission = kmsg.ACLPermissionTypeDeny
	default:
		return b, badRequest("permission %q is not ALLOW or DENY", a.Permission)
	}
	return b, nil
}

// createACL is POST /api/v1/acls: CreateAcls of one binding.
func (c *Console) createACL(ctx context.Context, s *session, r *http.Request) (any, error) {
	b, err := aclRequestBody(r)
	if err != nil {
		return nil, err
	}
	req := kmsg.NewPtrCreateACLsRequest()
	cr := kmsg.NewCreateACLsRequestCreation()
	cr.ResourceType, cr.ResourceName, cr.ResourcePatternType = b.typ, b.name, b.pattern
	cr.Principal, cr.Host, cr.Operation, cr.PermissionType = b.principal, b.host, b.op, b.permission
	req.Creations = append(req.Creations, cr)
	resp, err := req.RequestWith(ctx, s.cl)
	if err != nil {
		return nil, err
	}
	if len(resp.Results) != 1 {
		return nil, fmt.Errorf("CreateAcls: %d results for one creation", len(resp.Results))
	}
	if err := kafkaErr(resp.Results[0].ErrorCode, resp.Results[0].ErrorMessage); err != nil {
		return nil, refusal(s, "create ACLs (ALTER on the cluster)", err)
	}
	return b.info(), nil
}

// deleteACL is DELETE /api/v1/acls: DeleteAcls of exactly one binding
// (404 when none matched).
func (c *Console) deleteACL(ctx context.Context, s *session, r *http.Request) (any, error) {
	b, err := aclRequestBody(r)
	if err != nil {
		return nil, err
	}
	req := kmsg.NewPtrDeleteACLsRequest()
	f := kmsg.NewDeleteACLsRequestFilter()
	f.ResourceType, f.ResourceName, f.ResourcePatternType = b.typ, &b.name, b.pattern
	f.Principal, f.Host, f.Operation, f.PermissionType = &b.principal, &b.host, b.op, b.permission
	req.Filters = append(req.Filters, f)
	resp, err := req.RequestWith(ctx, s.cl)
	if err != nil {
		return nil, err
	}
	if len(resp.Results) != 1 {
		return nil, fmt.Errorf("DeleteAcls: %d results for one filter", len(resp.Results))
	}
	res := resp.Results[0]
	if err := kafkaErr(res.ErrorCode, res.ErrorMessage); err != nil {
		return nil, refusal(s, "delete ACLs (ALTER on the cluster)", err)
	}
	if len(res.MatchingACLs) == 0 {
		return nil, &httpError{http.StatusNotFound, "no such ACL"}
	}
	return map[string]any{"deleted": b.info()}, nil
}

// aclRequestBody reads and checks the body of POST or DELETE /acls.
func aclRequestBody(r *http.Request) (binding, error) {
	if err := noParams(r); err != nil {
		return binding{}, err
	}
	var a aclBody
	if err := readBody(r, &a); err != nil {
		return binding{}, err
	}
	return parseBinding(a)
}

type userInfo struct {
	User       string   `json:"user"`
	Mechanisms []string `json:"mechanisms"` // MECHANISM=iterations=N, as kadm prints them
	// Credentials are the same as fields.
	Credentials []credInfo `json:"credentials"`
}

type credInfo struct {
	Mechanism  string `json:"mechanism"`
	Iterations int32  `json:"iterations"`
}

// listUsers is GET /api/v1/users: the SCRAM users.
func (c *Console) listUsers(ctx context.Context, s *session, r *http.Request) (any, error) {
	if err := noParams(r); err != nil {
		return nil, err
	}
	res, err := s.adm.DescribeUserSCRAMs(ctx)
	if err != nil {
		return nil, refusal(s, "describe SCRAM users (DESCRIBE on the cluster)", err)
	}
	out := []userInfo{}
	for _, u := range res.Sorted() {
		if u.Err != nil {
			continue
		}
		ui := userInfo{User: u.User, Mechanisms: []string{}, Credentials: []credInfo{}}
		for _, ci := range u.CredInfos {
			ui.Mechanisms = append(ui.Mechanisms, ci.String())
			ui.Credentials = append(ui.Credentials, credInfo{Mechanism: ci.Mechanism.String(), Iterations: ci.Iterations})
		}
		out = append(out, ui)
	}
	return out, nil
}

// Kafka's bounds on SCRAM iterations (ScramMechanism's minIterations,
// and the broker's 16384 maximum).
const (
	minIterations     = 4096
	maxIterations     = 16384
	defaultIterations = 8192 // as `samsa user create`
	maxPasswordBytes  = 1024
)

// userBody is the body of POST /api/v1/users. The password is only ever
// passed to kadm, which salts and hashes it here (the broker never sees
// it, as with kafka-configs.sh).
type userBody struct {
	User       string `json:"user"`
	Mechanism  string `json:"mechanism"`  // SCRAM-SHA-256 or SCRAM-SHA-512
	Iterations *int32 `json:"iterations"` // default 8192
	Password   string `json:"password"`
}

// parseMechanism accepts SCRAM-SHA-256 and SCRAM-SHA-512 (any case).
func parseMechanism(s string) (kadm.ScramMechanism, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "SCRAM-SHA-256":
		return kadm.ScramSha256, nil
	case "SCRAM-SHA-512":
		return kadm.ScramSha512, nil
	}
	return 0, badRequest("mechanism %q is not SCRAM-SHA-256 or SCRAM-SHA-512", s)
}

// upsertUser is POST /api/v1/users: AlterUserScramCredentials setting one
// mechanism's credential of a user (made if new, replaced if not).
func (c *Console) upsertUser(ctx context.Context, s *session, r *http.Request) (any, error) {
	if err := noParams(r); err != nil {
		return nil, err
	}
	var b userBody
	if err := readBody(r, &b); err != nil {
		// A JSON error can quote a byte of the body: keep it out.
		var he *httpError
		if errors.As(err, &he) && he.status == http.StatusBadRequest && strings.HasPrefix(he.msg, "invalid JSON") {
			return nil, badRequest("invalid JSON body: expected {\"user\", \"mechanism\", \"iterations\", \"password\"}")
		}
		return nil, err
	}
	if err := checkName("user", b.User); err != nil {
		return nil, err
	}
	mech, err := parseMechanism(b.Mechanism)
	if err != nil {
		return nil, err
	}
	iter := int32(defaultIterations)
	if b.Iterations != nil {
		iter = *b.Iterations
	}
	if iter < minIterations || iter > maxIterations {
		return nil, badRequest("iterations %d: Kafka takes %d to %d", iter, minIterations, maxIterations)
	}
	switch {
	case b.Password == "":
		return nil, badRequest("password is required")
	case len(b.Password) > maxPasswordBytes:
		return nil, badRequest("the password is longer than %d bytes", maxPasswordBytes)
	case !utf8.ValidString(b.Password):
		return nil, badRequest("the password is not UTF-8")
	}
	res, err := s.adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: b.User, Mechanism: mech, Iterations: iter, Password: b.Password}})
	if err != nil {
		return nil, refusal(s, "alter SCRAM users (ALTER on the cluster)", err)
	}
	for _, a := range res {
		if a.Err != nil {
			return nil, refusal(s, "alter SCRAM users (ALTER on the cluster)", withMessage(a.Err, a.ErrMessage))
		}
	}
	return map[string]any{"user": b.User, "mechanism": mech.String(), "iterations": iter}, nil
}

// deleteUser is DELETE /api/v1/users/{user}?mechanism=M: removes one
// mechanism's credential, or without mechanism every credential the user
// has (404 when there is none).
func (c *Console) deleteUser(ctx context.Context, s *session, r *http.Request) (any, error) {
	user := r.PathValue("user")
	if err := checkName("user", user); err != nil {
		return nil, err
	}
	q := query(r)
	m := q.str("mechanism")
	given := q.has("mechanism")
	if err := q.done(); err != nil {
		return nil, err
	}
	var mechs []kadm.ScramMechanism
	if given {
		mech, err := parseMechanism(m)
		if err != nil {
			return nil, err
		}
		mechs = append(mechs, mech)
	} else {
		desc, err := s.adm.DescribeUserSCRAMs(ctx, user)
		if err != nil {
			return nil, refusal(s, "describe SCRAM users (DESCRIBE on the cluster)", err)
		}
		d, ok := desc[user]
		if ok && d.Err != nil && !errors.Is(d.Err, kerr.ResourceNotFound) {
			return nil, refusal(s, "describe SCRAM users (DESCRIBE on the cluster)", d.Err)
		}
		for _, ci := range d.CredInfos {
			mechs = append(mechs, ci.Mechanism)
		}
		if len(mechs) == 0 {
			return nil, &httpError{http.StatusNotFound, "no SCRAM user " + user}
		}
	}
	var del []kadm.DeleteSCRAM
	names := []string{}
	for _, m := range mechs {
		del = append(del, kadm.DeleteSCRAM{User: user, Mechanism: m})
		names = append(names, m.String())
	}
	res, err := s.adm.AlterUserSCRAMs(ctx, del, nil)
	if err != nil {
		return nil, refusal(s, "alter SCRAM users (ALTER on the cluster)", err)
	}
	for _, a := range res {
		if errors.Is(a.Err, kerr.ResourceNotFound) {
			return nil, &httpError{http.StatusNotFound, "user " + user + " has no " + strings.Join(names, " or ") + " credential"}
		}
		if a.Err != nil {
			return nil, refusal(s, "alter SCRAM users (ALTER on the cluster)", withMessage(a.Err, a.ErrMessage))
		}
	}
	return map[string]any{"user": user, "deleted": names}, nil
}

// kafkaErr is the error of a response's code and message (nil for 0).
func kafkaErr(code int16, msg *string) error {
	if code == 0 {
		return nil
	}
	err := kerr.ErrorForCode(code)
	if msg != nil && *msg != "" {
		return withMessage(err, *msg)
	}
	return err
}

// refusal turns the broker's authorization refusal into a 403 that says
// who was refused and what the action needs; other errors pass.
func refusal(s *session, action string, err error) error {
	switch {
	case errors.Is(err, kerr.ClusterAuthorizationFailed), errors.Is(err, kerr.TopicAuthorizationFailed),
		errors.Is(err, kerr.GroupAuthorizationFailed):
		who := "User:ANONYMOUS (no login)"
		if s.user != "" {
			who = "User:" + s.user
		}
		return &httpError{http.StatusForbidden, fmt.Sprintf("the broker refused: %s may not %s: %v", who, action, err)}
	case errors.Is(err, kerr.SecurityDisabled):
		return &httpError{http.StatusConflict, "the broker has no authorizer (authorizer.class.name): ACLs are off"}
	}
	return err
}
