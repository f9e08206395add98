package acl

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

func lit(rt ResourceType, name, principal, host string, op Operation, perm Permission) Binding {
	return Binding{rt, name, PatternLiteral, principal, host, op, perm}
}

func pre(rt ResourceType, name, principal, host string, op Operation, perm Permission) Binding {
	return Binding{rt, name, PatternPrefixed, principal, host, op, perm}
}

type req struct {
	principal, host string
	op              Operation
	rt              ResourceType
	name            string
	want            bool
}

// TestAuthorize checks every rule of Kafka's StandardAuthorizer, one
// scenario (a set of bindings and a configuration) per row, with the
// requests it must allow and deny.
func TestAuthorize(t *testing.T) {
	const alice, bob = "User:alice", "User:bob"
	const h1, h2 = "192.168.1.1", "192.168.1.2"
	tests := []struct {
		name     string
		cfg      Config
		bindings []Binding
		reqs     []req
	}{
		{"no ACLs, default deny", Config{}, nil, []req{
			{alice, h1, OpRead, ResourceTopic, "t", false},
			{alice, h1, OpDescribe, ResourceCluster, ClusterName, false},
		}},
		{"no ACLs, allow.everyone.if.no.acl.found", Config{AllowIfNoACL: true}, nil, []req{
			{alice, h1, OpRead, ResourceTopic, "t", true},
			{alice, h1, OpAlter, ResourceCluster, ClusterName, true},
		}},
		{"allow.everyone applies only where no ACL applies to the resource", Config{AllowIfNoACL: true},
			[]Binding{lit(ResourceTopic, "t", bob, "*", OpRead, Allow)}, []req{
				{alice, h1, OpRead, ResourceTopic, "t", false}, // an ACL applies to t, none for alice
				{bob, h1, OpWrite, ResourceTopic, "t", false},  // an ACL applies to t, not WRITE
				{alice, h1, OpRead, ResourceTopic, "u", true},  // nothing applies to u
				{alice, h1, OpRead, ResourceGroup, "t", true},  // other resource type
			}},
		{"allow.everyone: a prefixed or wildcard ACL applies too", Config{AllowIfNoACL: true},
			[]Binding{pre(ResourceTopic, "fin", bob, "*", OpRead, Allow), lit(ResourceGroup, "*", bob, "*", OpRead, Allow)}, []req{
				{alice, h1, OpRead, ResourceTopic, "finance", false},
				{alice, h1, OpRead, ResourceTopic, "fi", true},
				{alice, h1, OpRead, ResourceGroup, "g", false},
			}},
		{"super users are allowed everything, DENY included", Config{SuperUsers: []string{alice}},
			[]Binding{lit(ResourceTopic, "*", "User:*", "*", OpAll, Deny)}, []req{
				{alice, h1, OpRead, ResourceTopic, "t", true},
				{alice, h1, OpAlter, ResourceCluster, ClusterName, true},
				{bob, h1, OpRead, ResourceTopic, "t", false},
			}},
		{"literal allow", Config{}, []Binding{lit(ResourceTopic, "t", alice, "*", OpRead, Allow)}, []req{
			{alice, h1, OpRead, ResourceTopic, "t", true},
			{alice, h1, OpWrite, ResourceTopic, "t", false},
			{alice, h1, OpRead, ResourceTopic, "t2", false},
			{alice, h1, OpRead, ResourceTopic, "", false},
			{bob, h1, OpRead, ResourceTopic, "t", false},
			{alice, h1, OpRead, ResourceGroup, "t", false},
		}},
		{"DENY wins over ALLOW on the same pattern", Config{},
			[]Binding{lit(ResourceTopic, "t", alice, "*", OpRead, Allow), lit(ResourceTopic, "t", alice, "*", OpRead, Deny)}, []req{
				{alice, h1, OpRead, ResourceTopic, "t", false},
			}},
		{"DENY on the wildcard wins over a literal ALLOW", Config{},
			[]Binding{lit(ResourceTopic, "t", alice, "*", OpAll, Allow), lit(ResourceTopic, "*", "User:*", "*", OpWrite, Deny)}, []req{
				{alice, h1, OpWrite, ResourceTopic, "t", false},
				{alice, h1, OpRead, ResourceTopic, "t", true},
				{bob, h1, OpRead, ResourceTopic, "t", false},
			}},
		{"a prefixed DENY wins over a literal ALLOW", Config{},
			[]Binding{lit(ResourceTopic, "secret.x", alice, "*", OpRead, Allow), pre(ResourceTopic, "secret.", alice, "*", OpRead, Deny)}, []req{
				{alice, h1, OpRead, ResourceTopic, "secret.x", false},
			}},
		{"a literal DENY wins over a prefixed ALLOW", Config{},
			[]Binding{pre(ResourceTopic, "app.", alice, "*", OpRead, Allow), lit(ResourceTopic, "app.private", alice, "*", OpRead, Deny)}, []req{
				{alice, h1, OpRead, ResourceTopic, "app.orders", true},
				{alice, h1, OpRead, ResourceTopic, "app.private", false},
			}},
		{"DENY ALL denies every operation", Config{},
			[]Binding{lit(ResourceTopic, "t", alice, "*", OpAll, Allow), lit(ResourceTopic, "t", alice, "*", OpAll, Deny)}, []req{
				{alice, h1, OpRead, ResourceTopic, "t", false},
				{alice, h1, OpDescribe, ResourceTopic, "t", false},
				{alice, h1, OpAlterConfigs, ResourceTopic, "t", false},
			}},
		{"ALLOW ALL allows every operation", Config{}, []Binding{lit(ResourceTopic, "t", alice, "*", OpAll, Allow)}, []req{
			{alice, h1, OpRead, ResourceTopic, "t", true},
			{alice, h1, OpWrite, ResourceTopic, "t", true},
			{alice, h1, OpCreate, ResourceTopic, "t", true},
			{alice, h1, OpDelete, ResourceTopic, "t", true},
			{alice, h1, OpAlter, ResourceTopic, "t", true},
			{alice, h1, OpDescribe, ResourceTopic, "t", true},
			{alice, h1, OpDescribeConfigs, ResourceTopic, "t", true},
			{alice, h1, OpAlterConfigs, ResourceTopic, "t", true},
		}},
		{"READ, WRITE, DELETE, ALTER imply DESCRIBE", Config{}, []Binding{
			lit(ResourceTopic, "r", alice, "*", OpRead, Allow), lit(ResourceTopic, "w", alice, "*", OpWrite, Allow),
			lit(ResourceTopic, "d", alice, "*", OpDelete, Allow), lit(ResourceTopic, "a", alice, "*", OpAlter, Allow),
			lit(ResourceTopic, "c", alice, "*", OpCreate, Allow), lit(ResourceTopic, "dc", alice, "*", OpDescribeConfigs, Allow),
			lit(ResourceTopic, "x", alice, "*", OpDescribe, Allow),
		}, []req{
			{alice, h1, OpDescribe, ResourceTopic, "r", true},
			{alice, h1, OpDescribe, ResourceTopic, "w", true},
			{alice, h1, OpDescribe, ResourceTopic, "d", true},
			{alice, h1, OpDescribe, ResourceTopic, "a", true},
			{alice, h1, OpDescribe, ResourceTopic, "c", false},  // CREATE implies nothing
			{alice, h1, OpDescribe, ResourceTopic, "dc", false}, // DESCRIBE_CONFIGS implies nothing
			{alice, h1, OpRead, ResourceTopic, "x", false},      // DESCRIBE implies nothing
			{alice, h1, OpDescribeConfigs, ResourceTopic, "a", false},
		}},
		{"ALTER_CONFIGS implies DESCRIBE_CONFIGS", Config{}, []Binding{lit(ResourceTopic, "t", alice, "*", OpAlterConfigs, Allow)}, []req{
			{alice, h1, OpDescribeConfigs, ResourceTopic, "t", true},
			{alice, h1, OpAlterConfigs, ResourceTopic, "t", true},
			{alice, h1, OpDescribe, ResourceTopic, "t", false},
			{alice, h1, OpAlter, ResourceTopic, "t", false},
		}},
		{"DENY implies nothing: DENY READ leaves an allowed DESCRIBE", Config{}, []Binding{
			lit(ResourceTopic, "t", alice, "*", OpAll, Allow), lit(ResourceTopic, "t", alice, "*", OpRead, Deny),
			lit(ResourceTopic, "u", alice, "*", OpAll, Allow), lit(ResourceTopic, "u", alice, "*", OpAlterConfigs, Deny),
		}, []req{
			{alice, h1, OpRead, ResourceTopic, "t", false},
			{alice, h1, OpDescribe, ResourceTopic, "t", true},
			{alice, h1, OpWrite, ResourceTopic, "t", true},
			{alice, h1, OpAlterConfigs, ResourceTopic, "u", false},
			{alice, h1, OpDescribeConfigs, ResourceTopic, "u", true},
		}},
		{"DENY DESCRIBE beats an implied DESCRIBE", Config{}, []Binding{
			lit(ResourceTopic, "t", alice, "*", OpRead, Allow), lit(ResourceTopic, "t", alice, "*", OpDescribe, Deny),
		}, []req{
			{alice, h1, OpDescribe, ResourceTopic, "t", false},
			{alice, h1, OpRead, ResourceTopic, "t", true},
		}},
		{"User:* matches every principal (of any type); other wildcards are plain names", Config{}, []Binding{
			lit(ResourceTopic, "t", "User:*", "*", OpRead, Allow),
			lit(ResourceTopic, "u", "Group:*", "*", OpRead, Allow),
			lit(ResourceTopic, "v", "User:*", "*", OpRead, Allow), lit(ResourceTopic, "v", bob, "*", OpRead, Deny),
		}, []req{
			{alice, h1, OpRead, ResourceTopic, "t", true},
			{"User:ANONYMOUS", h1, OpRead, ResourceTopic, "t", true},
			{"Group:ops", h1, OpRead, ResourceTopic, "t", true}, // User:* matches principals of every type, as in Kafka
			{alice, h1, OpRead, ResourceTopic, "u", false},
			{"Group:*", h1, OpRead, ResourceTopic, "u", true},
			{alice, h1, OpRead, ResourceTopic, "v", true},
			{bob, h1, OpRead, ResourceTopic, "v", false},
		}},
		{"principals compare by type and name", Config{}, []Binding{lit(ResourceTopic, "t", "User:alice", "*", OpRead, Allow)}, []req{
			{"Group:alice", h1, OpRead, ResourceTopic, "t", false},
			{"User:Alice", h1, OpRead, ResourceTopic, "t", false},
			{"User:alice", h1, OpRead, ResourceTopic, "t", true},
		}},
		{"hosts", Config{}, []Binding{
			// Kafka's testHostAddressAclValidation, in our words.
			lit(ResourceTopic, "foo", alice, h1, OpRead, Deny),
			lit(ResourceTopic, "foo", alice, "*", OpRead, Allow),
			lit(ResourceTopic, "bar", bob, h2, OpRead, Allow),
			lit(ResourceTopic, "bar", "User:*", "127.0.0.1", OpDescribe, Allow),
		}, []req{
			{alice, "127.0.0.1", OpRead, ResourceTopic, "foo", true},
			{alice, "127.0.0.1", OpRead, ResourceTopic, "bar", false},
			{alice, "127.0.0.1", OpDescribe, ResourceTopic, "bar", true},
			{alice, h1, OpRead, ResourceTopic, "foo", false},
			{alice, h1, OpDescribe, ResourceTopic, "bar", false},
			{alice, h2, OpRead, ResourceTopic, "foo", true},
			{bob, "127.0.0.1", OpRead, ResourceTopic, "foo", false},
			{bob, "127.0.0.1", OpDescribe, ResourceTopic, "bar", true},
			{bob, h1, OpRead, ResourceTopic, "bar", false},
			{bob, h2, OpRead, ResourceTopic, "bar", true},
			{bob, h2, OpDescribe, ResourceTopic, "bar", true},
		}},
		{"IPv6 hosts compare as addresses", Config{}, []Binding{
			lit(ResourceTopic, "t", alice, "0:0:0:0:0:0:0:1", OpRead, Allow),
			lit(ResourceTopic, "u", alice, "::ffff:10.0.0.1", OpRead, Allow),
		}, []req{
			{alice, "::1", OpRead, ResourceTopic, "t", true},
			{alice, "::2", OpRead, ResourceTopic, "t", false},
			{alice, "10.0.0.1", OpRead, ResourceTopic, "u", true},
		}},
		{"the literal name * matches every name of its type", Config{}, []Binding{lit(ResourceGroup, "*", alice, "*", OpRead, Allow)}, []req{
			{alice, h1, OpRead, ResourceGroup, "g", true},
			{alice, h1, OpRead, ResourceGroup, "*", true},
			{alice, h1, OpRead, ResourceTopic, "g", false},
		}},
		{"prefixed patterns", Config{}, []Binding{
			// Kafka's testPrefixAcls, in our words.
			pre(ResourceTopic, "fooa", alice, "*", OpAll, Allow),
			lit(ResourceTopic, "foobar", bob, "*", OpAll, Allow),
			pre(ResourceTopic, "f", bob, "*", OpAll, Allow),
		}, []req{
			{bob, h1, OpWrite, ResourceTopic, "foobarr", true},
			{bob, h1, OpRead, ResourceTopic, "goobar", false},
			{bob, h1, OpRead, ResourceTopic, "fooa", true},
			{alice, h1, OpDescribe, ResourceTopic, "fooa", true},
			{alice, h1, OpDescribe, ResourceTopic, "fooabc", true},
			{alice, h1, OpDescribe, ResourceTopic, "foo", false},
			{alice, h1, OpWrite, ResourceTopic, "bar", false},
		}},
		{"a literal name is not a prefix", Config{}, []Binding{lit(ResourceTopic, "foo", alice, "*", OpRead, Allow)}, []req{
			{alice, h1, OpRead, ResourceTopic, "foobar", false},
			{alice, h1, OpRead, ResourceTopic, "fo", false},
		}},
		{"a prefixed * is a prefix, not a wildcard", Config{}, []Binding{pre(ResourceTopic, "*", alice, "*", OpRead, Allow)}, []req{
			{alice, h1, OpRead, ResourceTopic, "*x", true},
			{alice, h1, OpRead, ResourceTopic, "x", false},
		}},
		{"many prefixes of one name", Config{}, []Binding{
			pre(ResourceTopic, "a", alice, "*", OpRead, Allow),
			pre(ResourceTopic, "ab", bob, "*", OpRead, Allow),
			pre(ResourceTopic, "abc", alice, "*", OpWrite, Allow),
			pre(ResourceTopic, "abcd", alice, "*", OpRead, Deny),
		}, []req{
			{alice, h1, OpRead, ResourceTopic, "abc", true},
			{alice, h1, OpWrite, ResourceTopic, "abcx", true},
			{alice, h1, OpRead, ResourceTopic, "abcd", false},
			{alice, h1, OpRead, ResourceTopic, "abcde", false},
			{bob, h1, OpRead, ResourceTopic, "abz", true},
			{bob, h1, OpRead, ResourceTopic, "az", false},
		}},
		{"cluster, transactional id, delegation token and user resources", Config{}, []Binding{
			lit(ResourceCluster, ClusterName, alice, "*", OpIdempotentWrite, Allow),
			lit(ResourceTransactionalID, "tx-1", alice, "*", OpWrite, Allow),
			pre(ResourceTransactionalID, "app-", bob, "*", OpDescribe, Allow),
			lit(ResourceDelegationToken, "tok", alice, "*", OpDescribe, Allow),
			lit(ResourceUser, "User:bob", alice, "*", OpCreateTokens, Allow),
		}, []req{
			{alice, h1, OpIdempotentWrite, ResourceCluster, ClusterName, true},
			{alice, h1, OpClusterAction, ResourceCluster, ClusterName, false},
			{alice, h1, OpDescribe, ResourceCluster, ClusterName, false},
			{alice, h1, OpWrite, ResourceTransactionalID, "tx-1", true},
			{alice, h1, OpDescribe, ResourceTransactionalID, "tx-1", true},
			{bob, h1, OpDescribe, ResourceTransactionalID, "app-7", true},
			{bob, h1, OpWrite, ResourceTransactionalID, "app-7", false},
			{alice, h1, OpDescribe, ResourceDelegationToken, "tok", true},
			{alice, h1, OpCreateTokens, ResourceUser, "User:bob", true},
			{alice, h1, OpDescribeTokens, ResourceUser, "User:bob", false},
		}},
		{"out-of-range arguments are refused, not a panic", Config{}, []Binding{lit(ResourceTopic, "t", alice, "*", OpAll, Allow)}, []req{
			{alice, h1, Operation(99), ResourceTopic, "t", false},
			{alice, h1, Operation(-3), ResourceTopic, "t", false},
			{alice, h1, OpRead, ResourceType(99), "t", false},
			{alice, h1, OpRead, ResourceType(-1), "t", false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(tt.cfg, tt.bindings)
			for _, r := range tt.reqs {
				if got := a.Authorize(r.principal, CanonicalHost(r.host), r.op, r.rt, r.name); got != r.want {
					t.Errorf("%s from %s: %s %s %q = %v, want %v", r.principal, r.host, r.op, r.rt, r.name, got, r.want)
				}
				// The reference model agrees.
				if got := reference(tt.cfg, tt.bindings, r.principal, CanonicalHost(r.host), r.op, r.rt, r.name); got != r.want {
					t.Errorf("reference: %s from %s: %s %s %q = %v, want %v", r.principal, r.host, r.op, r.rt, r.name, got, r.want)
				}
			}
		})
	}
}

func TestDecideRules(t *testing.T) {
	a := New(Config{SuperUsers: []string{"User:root"}}, []Binding{
		lit(ResourceTopic, "t", "User:a", "*", OpRead, Allow),
		lit(ResourceTopic, "t", "User:b", "*", OpRead, Deny),
	})
	for _, c := range []struct {
		p    string
		name string
		want Decision
	}{
		{"User:root", "t", Decision{true, RuleSuperUser}},
		{"User:a", "t", Decision{true, RuleAllow}},
		{"User:b", "t", Decision{false, RuleDeny}},
		{"User:c", "t", Decision{false, RuleNoAllow}},
		{"User:a", "u", Decision{false, RuleDefault}},
	} {
		if got := a.Decide(c.p, "", OpRead, ResourceTopic, c.name); got != c.want {
			t.Errorf("%s on %s: %+v, want %+v", c.p, c.name, got, c.want)
		}
	}
	if !New(Config{}, []Binding{lit(ResourceTopic, "t", "User:a", "1.2.3.4", OpRead, Allow)}).NeedsHost() ||
		New(Config{}, []Binding{lit(ResourceTopic, "t", "User:a", "*", OpRead, Allow)}).NeedsHost() {
		t.Error("NeedsHost wrong")
	}
}

// reference is the specification written as directly as possible: every
// binding is looked at for every request. The indexed Authorizer must
// agree with it on every input.
func reference(cfg Config, bindings []Binding, principal, host string, op Operation, rt ResourceType, name string) bool {
	for _, s := range cfg.SuperUsers {
		if s == principal {
			return true
		}
	}
	if op < 0 || op > maxOp || rt < 0 || rt > ResourceUser {
		return cfg.AllowIfNoACL
	}
	applies, allowed := false, false
	for _, b := range bindings {
		if b.Validate() != nil || b.ResourceType != rt {
			continue
		}
		switch {
		case b.PatternType == PatternLiteral && (b.Name == name || b.Name == Wildcard):
		case b.PatternType == PatternPrefixed && strings.HasPrefix(name, b.Name):
		default:
			continue
		}
		applies = true
		if b.Principal != principal && b.Principal != WildcardPrincipal {
			continue
		}
		if b.Host != Wildcard && CanonicalHost(b.Host) != host {
			continue
		}
		opMatches := b.Operation == OpAll || b.Operation == op
		if b.Permission == Allow && !opMatches {
			switch op {
			case OpDescribe:
				opMatches = b.Operation == OpRead || b.Operation == OpWrite || b.Operation == OpDelete || b.Operation == OpAlter
			case OpDescribeConfigs:
				opMatches = b.Operation == OpAlterConfigs
			}
		}
		if !opMatches {
			continue
		}
		if b.Permission == Deny {
			return false
		}
		allowed = true
	}
	if allowed {
		return true
	}
	if applies {
		return false
	}
	return cfg.AllowIfNoACL
}

// TestAuthorizeMatchesReference compares the indexed authorizer with the
// reference model on random bindings and requests.
func TestAuthorizeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	names := []string{"a", "ab", "abc", "abcd", "b", "ba", "*", "x.y", "x", ""}
	principals := []string{"User:a", "User:b", "User:*", "Group:a"}
	hosts := []string{"*", "10.0.0.1", "10.0.0.2", "::1"}
	ops := []Operation{OpAll, OpRead, OpWrite, OpCreate, OpDelete, OpAlter, OpDescribe, OpClusterAction, OpDescribeConfigs, OpAlterConfigs, OpIdempotentWrite}
	for round := 0; round < 300; round++ {
		cfg := Config{AllowIfNoACL: rng.Intn(2) == 0}
		if rng.Intn(4) == 0 {
			cfg.SuperUsers = []string{"User:b"}
		}
		var bs []Binding
		for i := rng.Intn(12); i > 0; i-- {
			pt := PatternLiteral
			if rng.Intn(2) == 0 {
				pt = PatternPrefixed
			}
			rt := []ResourceType{ResourceTopic, ResourceGroup}[rng.Intn(2)]
			perm := []Permission{Allow, Deny}[rng.Intn(2)]
			bs = append(bs, Binding{rt, names[rng.Intn(len(names))], pt, principals[rng.Intn(len(principals))],
				hosts[rng.Intn(len(hosts))], ops[rng.Intn(len(ops))], perm})
		}
		a := New(cfg, bs)
		for i := 0; i < 50; i++ {
			p := principals[rng.Intn(len(principals))]
			h := hosts[1+rng.Intn(len(hosts)-1)]
			op := ops[1+rng.Intn(len(ops)-1)]
			rt := []ResourceType{ResourceTopic, ResourceGroup}[rng.Intn(2)]
			n := names[rng.Intn(len(names))] + []string{"", "z", "cd"}[rng.Intn(3)]
			got := a.Authorize(p, h, op, rt, n)
			if want := reference(cfg, bs, p, h, op, rt, n); got != want {
				t.Fatalf("round %d: %s from %s %s %s %q: got %v, reference %v\ncfg %+v\nbindings %v", round, p, h, op, rt, n, got, want, cfg, bs)
			}
		}
	}
}

func TestAuthorizeByResourceType(t *testing.T) {
	const u = "User:alice"
	tests := []struct {
		name     string
		cfg      Config
		bindings []Binding
		want     bool
	}{
		{"no ACLs", Config{}, nil, false},
		{"no ACLs, allow.everyone", Config{AllowIfNoACL: true}, nil, true},
		{"super user", Config{SuperUsers: []string{u}}, nil, true},
		{"literal allow", Config{}, []Binding{lit(ResourceTopic, "t", u, "*", OpWrite, Allow)}, true},
		{"allow ALL", Config{}, []Binding{lit(ResourceTopic, "t", u, "*", OpAll, Allow)}, true},
		{"other operation", Config{}, []Binding{lit(ResourceTopic, "t", u, "*", OpRead, Allow)}, false},
		{"other principal", Config{}, []Binding{lit(ResourceTopic, "t", "User:bob", "*", OpWrite, Allow)}, false},
		{"User:*", Config{}, []Binding{lit(ResourceTopic, "t", "User:*", "*", OpWrite, Allow)}, true},
		{"other host", Config{}, []Binding{lit(ResourceTopic, "t", u, "10.9.9.9", OpWrite, Allow)}, false},
		{"this host", Config{}, []Binding{lit(ResourceTopic, "t", u, "10.0.0.1", OpWrite, Allow)}, true},
		{"other resource type", Config{}, []Binding{lit(ResourceGroup, "t", u, "*", OpWrite, Allow)}, false},
		{"literal allow, same literal deny", Config{}, []Binding{
			lit(ResourceTopic, "t", u, "*", OpWrite, Allow), lit(ResourceTopic, "t", u, "*", OpWrite, Deny)}, false},
		{"literal allow, dominating prefix deny", Config{}, []Binding{
			lit(ResourceTopic, "team.t", u, "*", OpWrite, Allow), pre(ResourceTopic, "team.", u, "*", OpWrite, Deny)}, false},
		{"literal allow, unrelated prefix deny", Config{}, []Binding{
			lit(ResourceTopic, "team.t", u, "*", OpWrite, Allow), pre(ResourceTopic, "other.", u, "*", OpWrite, Deny)}, true},
		{"prefix allow, longer prefix deny", Config{}, []Binding{
			pre(ResourceTopic, "team.", u, "*", OpWrite, Allow), pre(ResourceTopic, "team.x", u, "*", OpWrite, Deny)}, true},
		{"prefix allow, shorter prefix deny", Config{}, []Binding{
			pre(ResourceTopic, "team.x", u, "*", OpWrite, Allow), pre(ResourceTopic, "team.", u, "*", OpWrite, Deny)}, false},
		{"prefix allow, literal deny of the same name", Config{}, []Binding{
			pre(ResourceTopic, "team.", u, "*", OpWrite, Allow), lit(ResourceTopic, "team.", u, "*", OpWrite, Deny)}, true},
		{"wildcard deny", Config{}, []Binding{
			lit(ResourceTopic, "t", u, "*", OpWrite, Allow), lit(ResourceTopic, "*", u, "*", OpWrite, Deny)}, false},
		{"wildcard allow", Config{}, []Binding{lit(ResourceTopic, "*", u, "*", OpWrite, Allow)}, true},
		{"deny ALL", Config{}, []Binding{
			lit(ResourceTopic, "t", u, "*", OpWrite, Allow), pre(ResourceTopic, "t", u, "*", OpAll, Deny)}, false},
		{"implied operations do not count", Config{}, []Binding{lit(ResourceTopic, "t", u, "*", OpWrite, Allow)}, true},
	}
	for _, tt := range tests {
		a := New(tt.cfg, tt.bindings)
		if got := a.AuthorizeByResourceType(u, "10.0.0.1", OpWrite, ResourceTopic); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	a := New(Config{}, []Binding{lit(ResourceTopic, "t", u, "*", OpRead, Allow)})
	if a.AuthorizeByResourceType(u, "", OpDescribe, ResourceTopic) {
		t.Error("READ counted as DESCRIBE by resource type")
	}
}

func TestAuthorizedOperations(t *testing.T) {
	a := New(Config{}, []Binding{lit(ResourceTopic, "t", "User:a", "*", OpRead, Allow), lit(ResourceTopic, "t", "User:a", "*", OpAlterConfigs, Allow)})
	got := a.AuthorizedOperations("User:a", "", ResourceTopic, "t")
	want := int32(1<<OpRead | 1<<OpDescribe | 1<<OpAlterConfigs | 1<<OpDescribeConfigs)
	if got != want {
		t.Errorf("got %b, want %b", got, want)
	}
	if AllOperations(ResourceGroup) != 1<<OpRead|1<<OpDescribe|1<<OpDelete|1<<OpDescribeConfigs|1<<OpAlterConfigs {
		t.Error("group operations")
	}
}

func TestValidate(t *testing.T) {
	good := lit(ResourceTopic, "t", "User:a", "*", OpRead, Allow)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	mod := func(f func(*Binding)) Binding { b := good; f(&b); return b }
	for name, b := range map[string]Binding{
		"unknown resource type": mod(func(b *Binding) { b.ResourceType = ResourceUnknown }),
		"any resource type":     mod(func(b *Binding) { b.ResourceType = ResourceAny }),
		"undefined type":        mod(func(b *Binding) { b.ResourceType = 42 }),
		"any pattern":           mod(func(b *Binding) { b.PatternType = PatternAny }),
		"match pattern":         mod(func(b *Binding) { b.PatternType = PatternMatch }),
		"unknown pattern":       mod(func(b *Binding) { b.PatternType = PatternUnknown }),
		"any operation":         mod(func(b *Binding) { b.Operation = OpAny }),
		"unknown operation":     mod(func(b *Binding) { b.Operation = OpUnknown }),
		"undefined operation":   mod(func(b *Binding) { b.Operation = 15 }),
		"any permission":        mod(func(b *Binding) { b.Permission = PermissionAny }),
		"unknown permission":    mod(func(b *Binding) { b.Permission = PermissionUnknown }),
		"empty name":            mod(func(b *Binding) { b.Name = "" }),
		"principal w/o type":    mod(func(b *Binding) { b.Principal = "alice" }),
		"principal empty type":  mod(func(b *Binding) { b.Principal = ":alice" }),
		"empty host":            mod(func(b *Binding) { b.Host = "" }),
		"cluster name":          mod(func(b *Binding) { b.ResourceType = ResourceCluster; b.Name = "c" }),
	} {
		if err := b.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := mod(func(b *Binding) { b.ResourceType = ResourceCluster; b.Name = ClusterName }).Validate(); err != nil {
		t.Error(err)
	}
}

func TestFilter(t *testing.T) {
	s := func(v string) *string { return &v }
	bs := []Binding{
		lit(ResourceTopic, "foo", "User:a", "*", OpRead, Allow),        // 0
		lit(ResourceTopic, "*", "User:a", "*", OpRead, Allow),          // 1
		pre(ResourceTopic, "fo", "User:b", "*", OpWrite, Deny),         // 2
		pre(ResourceTopic, "foo", "User:a", "10.0.0.1", OpRead, Allow), // 3
		lit(ResourceGroup, "foo", "User:a", "*", OpRead, Allow),        // 4
		pre(ResourceTopic, "foobar", "User:a", "*", OpRead, Allow),     // 5
	}
	tests := []struct {
		name string
		f    Filter
		want []int
	}{
		{"any", AnyFilter, []int{0, 1, 2, 3, 4, 5}},
		{"topics", Filter{ResourceTopic, nil, PatternAny, nil, nil, OpAny, PermissionAny}, []int{0, 1, 2, 3, 5}},
		{"ANY pattern: exact name, any pattern type", Filter{ResourceTopic, s("foo"), PatternAny, nil, nil, OpAny, PermissionAny}, []int{0, 3}},
		{"MATCH: everything that applies to foo", Filter{ResourceTopic, s("foo"), PatternMatch, nil, nil, OpAny, PermissionAny}, []int{0, 1, 2, 3}},
		{"MATCH without a name", Filter{ResourceTopic, nil, PatternMatch, nil, nil, OpAny, PermissionAny}, []int{0, 1, 2, 3, 5}},
		{"MATCH on any resource type", Filter{ResourceAny, s("foo"), PatternMatch, nil, nil, OpAny, PermissionAny}, []int{0, 1, 2, 3, 4}},
		{"LITERAL", Filter{ResourceTopic, s("foo"), PatternLiteral, nil, nil, OpAny, PermissionAny}, []int{0}},
		{"LITERAL * is a name", Filter{ResourceTopic, s("*"), PatternLiteral, nil, nil, OpAny, PermissionAny}, []int{1}},
		{"PREFIXED", Filter{ResourceTopic, s("fo"), PatternPrefixed, nil, nil, OpAny, PermissionAny}, []int{2}},
		{"all prefixed", Filter{ResourceAny, nil, PatternPrefixed, nil, nil, OpAny, PermissionAny}, []int{2, 3, 5}},
		{"principal", Filter{ResourceAny, nil, PatternAny, s("User:b"), nil, OpAny, PermissionAny}, []int{2}},
		{"host", Filter{ResourceAny, nil, PatternAny, nil, s("10.0.0.1"), OpAny, PermissionAny}, []int{3}},
		{"operation", Filter{ResourceAny, nil, PatternAny, nil, nil, OpWrite, PermissionAny}, []int{2}},
		{"operation ALL is a value, not a wildcard", Filter{ResourceAny, nil, PatternAny, nil, nil, OpAll, PermissionAny}, nil},
		{"permission", Filter{ResourceAny, nil, PatternAny, nil, nil, OpAny, Deny}, []int{2}},
	}
	for _, tt := range tests {
		var got []int
		for i, b := range bs {
			if tt.f.Matches(b) {
				got = append(got, i)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	for _, b := range bs {
		if !b.Exact().Matches(b) {
			t.Errorf("Exact does not match %v", b)
		}
	}
	for name, f := range map[string]Filter{
		"unknown resource":   {ResourceUnknown, nil, PatternAny, nil, nil, OpAny, PermissionAny},
		"unknown pattern":    {ResourceAny, nil, PatternUnknown, nil, nil, OpAny, PermissionAny},
		"unknown operation":  {ResourceAny, nil, PatternAny, nil, nil, OpUnknown, PermissionAny},
		"unknown permission": {ResourceAny, nil, PatternAny, nil, nil, OpAny, PermissionUnknown},
		"undefined":          {ResourceAny, nil, PatternAny, nil, nil, OpAny, 9},
	} {
		if f.Validate() == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if AnyFilter.Validate() != nil {
		t.Error("ANY filter refused")
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]Operation{"Read": OpRead, "IdempotentWrite": OpIdempotentWrite, "DESCRIBE_CONFIGS": OpDescribeConfigs,
		"describe-configs": OpDescribeConfigs, "All": OpAll, "ClusterAction": OpClusterAction} {
		if got, err := ParseOperation(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	if _, err := ParseOperation("unknown"); err == nil {
		t.Error("UNKNOWN parsed")
	}
	if rt, _ := ParseResourceType("TransactionalId"); rt != ResourceTransactionalID {
		t.Error(rt)
	}
	if pt, _ := ParsePatternType("prefixed"); pt != PatternPrefixed {
		t.Error(pt)
	}
	if p, _ := ParsePermission("deny"); p != Deny {
		t.Error(p)
	}
	if got := ParseSuperUsers(" User:a ;User:b;; "); fmt.Sprint(got) != "[User:a User:b]" {
		t.Error(got)
	}
	if OpIdempotentWrite.String() != "IDEMPOTENT_WRITE" || ResourceTransactionalID.String() != "TRANSACTIONAL_ID" || Operation(77).String() != "UNKNOWN(77)" {
		t.Error("names")
	}
}

// bindingsFor builds n bindings the way a large deployment has them: per
// team, a prefixed ALLOW on the team's topics and groups, literal grants
// on single topics for service principals, a few host-restricted entries
// and DENYs.
func bindingsFor(n int) []Binding {
	var out []Binding
	for i := 0; len(out) < n; i++ {
		team := fmt.Sprintf("team%04d.", i)
		svc := fmt.Sprintf("User:svc-%d", i)
		out = append(out,
			pre(ResourceTopic, team, svc, "*", OpWrite, Allow),
			pre(ResourceGroup, team, svc, "*", OpRead, Allow),
			lit(ResourceTopic, team+"orders", fmt.Sprintf("User:reader-%d", i), "*", OpRead, Allow),
			lit(ResourceTopic, team+"audit", svc, "10.1.0."+fmt.Sprint(i%250), OpRead, Deny),
			lit(ResourceTransactionalID, team+"tx", svc, "*", OpWrite, Allow),
		)
	}
	return out[:n]
}

func benchmarkAuthorize(b *testing.B, n int) {
	a := New(Config{SuperUsers: []string{"User:admin"}}, bindingsFor(n))
	teams := n / 5
	b.ResetTimer()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		t := i % teams
		// A producer writing its team's topic (a prefix match, with a
		// literal ACL of the same name for another principal).
		if !a.Authorize(svcs[t], "10.0.0.7", OpWrite, ResourceTopic, teamTopics[t]) {
			b.Fatal("denied")
		}
	}
}

// Precomputed so the benchmark measures Authorize, not string building.
var teamTopics, svcs = func() (topics, principals []string) {
	for i := 0; i < 2000; i++ {
		topics = append(topics, fmt.Sprintf("team%04d.orders", i))
		principals = append(principals, fmt.Sprintf("User:svc-%d", i))
	}
	return
}()

func BenchmarkAuthorize1000(b *testing.B)  { benchmarkAuthorize(b, 1000) }
func BenchmarkAuthorize10000(b *testing.B) { benchmarkAuthorize(b, 10000) }

// BenchmarkAuthorizeDenied measures a principal with no entries on a
// resource that has some (the RuleNoAllow path, every pattern looked at).
func BenchmarkAuthorizeDenied10000(b *testing.B) {
	a := New(Config{}, bindingsFor(10000))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if a.Authorize("User:stranger", "10.0.0.7", OpRead, ResourceTopic, teamTopics[i%len(teamTopics)]) {
			b.Fatal("allowed")
		}
	}
}

func BenchmarkNew10000(b *testing.B) {
	bs := bindingsFor(10000)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		New(Config{}, bs)
	}
}
