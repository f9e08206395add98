package broker_test

import (
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/brokertest"
	"github.com/samsa-streaming/samsa/internal/config"
)

func strp(s string) *string { return &s }

// describeQuotas returns kadm's description as "entity: k=v,k=v" lines,
// sorted.
func describeQuotas(t *testing.T, adm *kadm.Client, strict bool, comps ...kadm.DescribeClientQuotaComponent) []string {
	t.Helper()
	got, err := adm.DescribeClientQuotas(ctxT(t), strict, comps)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, q := range got {
		var vals []string
		for _, v := range q.Values {
			vals = append(vals, v.String())
		}
		sort.Strings(vals)
		out = append(out, q.Entity.String()+": "+strings.Join(vals, ","))
	}
	sort.Strings(out)
	return out
}

func TestClientQuotasAlterDescribe(t *testing.T) {
	b := brokertest.Start(t)
	adm := kadm.NewClient(newClient(t, b.Addr()))
	user := func(n *string) kadm.ClientQuotaEntityComponent { return kadm.ClientQuotaEntityComponent{Type: "user", Name: n} }
	client := func(n *string) kadm.ClientQuotaEntityComponent {
		return kadm.ClientQuotaEntityComponent{Type: "client-id", Name: n}
	}
	set := func(k string, v float64) kadm.AlterClientQuotaOp { return kadm.AlterClientQuotaOp{Key: k, Value: v} }
	res, err := adm.AlterClientQuotas(ctxT(t), []kadm.AlterClientQuotaEntry{
		{Entity: kadm.ClientQuotaEntity{user(strp("alice"))}, Ops: []kadm.AlterClientQuotaOp{set("producer_byte_rate", 1024), set("consumer_byte_rate", 2048)}},
		{Entity: kadm.ClientQuotaEntity{user(nil)}, Ops: []kadm.AlterClientQuotaOp{set("request_percentage", 12.5)}},
		{Entity: kadm.ClientQuotaEntity{user(strp("alice")), client(strp("app"))}, Ops: []kadm.AlterClientQuotaOp{set("producer_byte_rate", 10)}},
		{Entity: kadm.ClientQuotaEntity{client(nil)}, Ops: []kadm.AlterClientQuotaOp{set("consumer_byte_rate", 5)}},
		{Entity: kadm.ClientQuotaEntity{{Type: "ip", Name: strp("10.1.2.3")}}, Ops: []kadm.AlterClientQuotaOp{set("connection_creation_rate", 7)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("%s: %v %s", r.Entity, r.Err, r.ErrMessage)
		}
	}
	all := []string{
		"{client-id=<default>}: consumer_byte_rate=5.000000",
		"{ip=10.1.2.3}: connection_creation_rate=7.000000",
		"{user=<default>}: request_percentage=12.500000",
		"{user=alice, client-id=app}: producer_byte_rate=10.000000",
		"{user=alice}: consumer_byte_rate=2048.000000,producer_byte_rate=1024.000000",
	}
	if got := describeQuotas(t, adm, false); strings.Join(got, "\n") != strings.Join(all, "\n") {
		t.Fatalf("all quotas:\n%s", strings.Join(got, "\n"))
	}
	for _, c := range []struct {
		strict bool
		comps  []kadm.DescribeClientQuotaComponent
		want   []string
	}{
		// Every entity with a user (kafka-configs --describe --entity-type users).
		{false, []kadm.DescribeClientQuotaComponent{{Type: "user", MatchType: 2}}, []string{all[2], all[3], all[4]}},
		// alice exactly, other types allowed; strictly, alice alone.
		{false, []kadm.DescribeClientQuotaComponent{{Type: "user", MatchName: strp("alice")}}, []string{all[3], all[4]}},
		{true, []kadm.DescribeClientQuotaComponent{{Type: "user", MatchName: strp("alice")}}, []string{all[4]}},
		// The default user.
		{true, []kadm.DescribeClientQuotaComponent{{Type: "user", MatchType: 1}}, []string{all[2]}},
		{false, []kadm.DescribeClientQuotaComponent{{Type: "ip", MatchType: 2}}, []string{all[1]}},
		{true, []kadm.DescribeClientQuotaComponent{{Type: "client-id", MatchName: strp("nobody")}}, nil},
	} {
		if got := describeQuotas(t, adm, c.strict, c.comps...); strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("strict %v %+v:\n%s\nwant\n%s", c.strict, c.comps, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
		}
	}

	// Removing one value keeps the other; removing the last removes the
	// entity; validate_only writes nothing.
	if _, err := adm.AlterClientQuotas(ctxT(t), []kadm.AlterClientQuotaEntry{
		{Entity: kadm.ClientQuotaEntity{user(strp("alice"))}, Ops: []kadm.AlterClientQuotaOp{{Key: "consumer_byte_rate", Remove: true}}},
		{Entity: kadm.ClientQuotaEntity{client(nil)}, Ops: []kadm.AlterClientQuotaOp{{Key: "consumer_byte_rate", Remove: true}}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.ValidateAlterClientQuotas(ctxT(t), []kadm.AlterClientQuotaEntry{
		{Entity: kadm.ClientQuotaEntity{user(strp("bob"))}, Ops: []kadm.AlterClientQuotaOp{set("producer_byte_rate", 1)}},
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{all[1], all[2], all[3], "{user=alice}: producer_byte_rate=1024.000000"}
	if got := describeQuotas(t, adm, false); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after removals:\n%s", strings.Join(got, "\n"))
	}

	// Refusals, each with Kafka's error and message; the good entry in
	// the same request is applied.
	bad := []struct {
		entity kadm.ClientQuotaEntity
		ops    []kadm.AlterClientQuotaOp
		msg    string
	}{
		{kadm.ClientQuotaEntity{}, []kadm.AlterClientQuotaOp{set("producer_byte_rate", 1)}, "Invalid empty client quota entity"},
		{kadm.ClientQuotaEntity{{Type: "group", Name: strp("g")}}, []kadm.AlterClientQuotaOp{set("producer_byte_rate", 1)}, "Unhandled client quota entity type: group"},
		{kadm.ClientQuotaEntity{user(strp(""))}, []kadm.AlterClientQuotaOp{set("producer_byte_rate", 1)}, "Empty user not supported"},
		{kadm.ClientQuotaEntity{user(strp("u1"))}, []kadm.AlterClientQuotaOp{set("connection_creation_rate", 1)}, "Invalid configuration key connection_creation_rate"},
		{kadm.ClientQuotaEntity{user(strp("u2"))}, []kadm.AlterClientQuotaOp{set("producer_byte_rate", 0)}, "Quota producer_byte_rate must be greater than 0"},
		{kadm.ClientQuotaEntity{user(strp("u3"))}, []kadm.AlterClientQuotaOp{set("producer_byte_rate", 1.5)}, "producer_byte_rate cannot be a fractional value."},
		{kadm.ClientQuotaEntity{user(strp("u4"))}, []kadm.AlterClientQuotaOp{set("producer_byte_rate", 1), set("producer_byte_rate", 2)}, "Duplicate quota key producer_byte_rate"},
		{kadm.ClientQuotaEntity{{Type: "ip", Name: strp("10.0.0.1")}, user(strp("u5"))}, []kadm.AlterClientQuotaOp{set("connection_creation_rate", 1)}, "IP entity should not be combined"},
		{kadm.ClientQuotaEntity{{Type: "ip", Name: strp("not-an-ip")}}, []kadm.AlterClientQuotaOp{set("connection_creation_rate", 1)}, "not-an-ip is not a valid IP or resolvable host."},
		{kadm.ClientQuotaEntity{{Type: "ip", Name: strp("10.0.0.1")}}, []kadm.AlterClientQuotaOp{set("connection_creation_rate", 1e10)}, "too large for an INT"},
	}
	entries := []kadm.AlterClientQuotaEntry{{Entity: kadm.ClientQuotaEntity{user(strp("carol"))}, Ops: []kadm.AlterClientQuotaOp{set("request_percentage", 0.5)}}}
	for _, c := range bad {
		entries = append(entries, kadm.AlterClientQuotaEntry{Entity: c.entity, Ops: c.ops})
	}
	res, err = adm.AlterClientQuotas(ctxT(t), entries)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(entries) || res[0].Err != nil {
		t.Fatalf("%d results, first %v", len(res), res[0].Err)
	}
	for i, c := range bad {
		r := res[i+1]
		if !errors.Is(r.Err, kerr.InvalidRequest) || !strings.Contains(r.ErrMessage, c.msg) {
			t.Errorf("%s: %v %q, want INVALID_REQUEST %q", c.entity, r.Err, r.ErrMessage, c.msg)
		}
	}
	if got := describeQuotas(t, adm, true, kadm.DescribeClientQuotaComponent{Type: "user", MatchName: strp("carol")}); len(got) != 1 {
		t.Fatalf("carol: %v", got)
	}

	// Bad filters answer the whole request with an error.
	for _, c := range []struct {
		comps []kmsg.DescribeClientQuotasRequestComponent
		code  int16
	}{
		{[]kmsg.DescribeClientQuotasRequestComponent{{EntityType: "", MatchType: 2}}, kerr.InvalidRequest.Code},
		{[]kmsg.DescribeClientQuotasRequestComponent{{EntityType: "user", MatchType: 2}, {EntityType: "user", MatchType: 1}}, kerr.InvalidRequest.Code},
		{[]kmsg.DescribeClientQuotasRequestComponent{{EntityType: "topic", MatchType: 2}}, kerr.UnsupportedVersion.Code},
		{[]kmsg.DescribeClientQuotasRequestComponent{{EntityType: "user", MatchType: 0}}, kerr.InvalidRequest.Code},
		{[]kmsg.DescribeClientQuotasRequestComponent{{EntityType: "user", MatchType: 1, Match: strp("x")}}, kerr.InvalidRequest.Code},
		{[]kmsg.DescribeClientQuotasRequestComponent{{EntityType: "user", MatchType: 7}}, kerr.InvalidRequest.Code},
		{[]kmsg.DescribeClientQuotasRequestComponent{{EntityType: "ip", MatchType: 2}, {EntityType: "user", MatchType: 2}}, kerr.InvalidRequest.Code},
	} {
		req := kmsg.NewPtrDescribeClientQuotasRequest()
		req.Components = c.comps
		resp, err := req.RequestWith(ctxT(t), newClient(t, b.Addr()))
		if err != nil {
			t.Fatal(err)
		}
		if resp.ErrorCode != c.code || resp.ErrorMessage == nil {
			t.Errorf("%+v: %v, want %v", c.comps, kerr.ErrorForCode(resp.ErrorCode), kerr.ErrorForCode(c.code))
		}
	}

	// The quotas are in the metadata log: a restart keeps them.
	b.Restart()
	adm = kadm.NewClient(newClient(t, b.Addr()))
	if got := describeQuotas(t, adm, true, kadm.DescribeClientQuotaComponent{Type: "user", MatchName: strp("alice")}); len(got) != 1 || got[0] != want[3] {
		t.Fatalf("after a restart: %v", got)
	}
}

// With an authorizer, describing needs DESCRIBE_CONFIGS and altering
// ALTER_CONFIGS on the cluster.
func TestClientQuotasACL(t *testing.T) {
	b := brokertest.Start(t, "authorizer.class.name", config.StandardAuthorizer)
	adm := kadm.NewClient(newClient(t, b.Addr()))
	_, err := adm.DescribeClientQuotas(ctxT(t), false, nil)
	if !errors.Is(err, kerr.ClusterAuthorizationFailed) {
		t.Fatalf("describe: %v", err)
	}
	res, err := adm.AlterClientQuotas(ctxT(t), []kadm.AlterClientQuotaEntry{{Entity: kadm.ClientQuotaEntity{{Type: "user", Name: strp("a")}},
		Ops: []kadm.AlterClientQuotaOp{{Key: "producer_byte_rate", Value: 1}}}})
	if err != nil || len(res) != 1 || !errors.Is(res[0].Err, kerr.ClusterAuthorizationFailed) {
		t.Fatalf("alter: %v %+v", err, res)
	}
}
