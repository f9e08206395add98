package broker_test

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/brokertest"
	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/record"
)

func strp(s string) *string { return &s }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

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
	user := func(n *string) kadm.ClientQuotaEntityComponent {
		return kadm.ClientQuotaEntityComponent{Type: "user", Name: n}
	}
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
	// No match: an empty list, never null (the Java admin client fails
	// on null).
	empty := kmsg.NewPtrDescribeClientQuotasRequest()
	empty.Components = []kmsg.DescribeClientQuotasRequestComponent{{EntityType: "user", Match: strp("nobody")}}
	if resp, err := empty.RequestWith(ctxT(t), newClient(t, b.Addr())); err != nil || resp.Entries == nil || len(resp.Entries) != 0 {
		t.Fatalf("no match: %v %+v", err, resp)
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
		{kadm.ClientQuotaEntity{user(strp("x")), user(strp("y"))}, []kadm.AlterClientQuotaOp{set("producer_byte_rate", 1)}, "duplicate entity entry user"},
		{kadm.ClientQuotaEntity{user(strp("u6"))}, []kadm.AlterClientQuotaOp{set("request_percentage", math.NaN())}, "must be a finite number"},
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
	// One entity twice: both refused. Too many operations: all refused.
	dave := kadm.AlterClientQuotaEntry{Entity: kadm.ClientQuotaEntity{user(strp("dave"))}, Ops: []kadm.AlterClientQuotaOp{set("producer_byte_rate", 1)}}
	many := kadm.AlterClientQuotaEntry{Entity: kadm.ClientQuotaEntity{user(strp("erin"))}}
	for i := 0; i <= 10000; i++ {
		many.Ops = append(many.Ops, set("producer_byte_rate", 1))
	}
	for _, req := range [][]kadm.AlterClientQuotaEntry{{dave, dave}, {many}} {
		res, err = adm.AlterClientQuotas(ctxT(t), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if !errors.Is(r.Err, kerr.InvalidRequest) {
				t.Errorf("%s: %v, want INVALID_REQUEST", r.Entity, r.Err)
			}
		}
	}
	if got := describeQuotas(t, adm, false, kadm.DescribeClientQuotaComponent{Type: "user", MatchName: strp("dave")}); len(got) != 0 {
		t.Fatalf("dave: %v", got)
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
		if resp.ErrorCode != c.code || resp.ErrorMessage == nil || resp.Entries != nil {
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

// setQuota sets one quota value of an entity through AlterClientQuotas.
func setQuota(t *testing.T, addr string, entity kadm.ClientQuotaEntity, key string, v float64) {
	t.Helper()
	res, err := kadm.NewClient(newClient(t, addr)).AlterClientQuotas(ctxT(t), []kadm.AlterClientQuotaEntry{
		{Entity: entity, Ops: []kadm.AlterClientQuotaOp{{Key: key, Value: v}}}})
	if err != nil || len(res) != 1 || res[0].Err != nil {
		t.Fatalf("setting %s %s=%v: %v %+v", entity, key, v, err, res)
	}
}

// throttleHook records the throttle times kgo is told.
type throttleHook struct {
	mu  sync.Mutex
	max time.Duration
	n   int
}

func (h *throttleHook) OnBrokerThrottle(_ kgo.BrokerMetadata, d time.Duration, _ bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n++
	h.max = max(h.max, d)
}

func (h *throttleHook) seen() (int, time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n, h.max
}

// A producer over producer_byte_rate is told throttle_time_ms and its
// throughput is bounded by the quota (with Kafka's burst allowance of the
// measured windows).
func TestProducerByteRateQuota(t *testing.T) {
	b := brokertest.Start(t, "quota.window.num", "2")
	createTopic(t, b.Addr(), "q", 1, nil)
	const rate = 50_000 // bytes/s
	setQuota(t, b.Addr(), kadm.ClientQuotaEntity{{Type: "client-id", Name: strp("slow-producer")}}, "producer_byte_rate", rate)

	hook := &throttleHook{}
	cl := newClient(t, b.Addr(), kgo.ClientID("slow-producer"), kgo.WithHooks(hook), kgo.ProducerLinger(0))
	value := randomBytes(5000) // incompressible: kgo compresses
	const n = 40
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := cl.ProduceSync(ctxT(t), &kgo.Record{Topic: "q", Value: value}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	if got, most := hook.seen(); got == 0 || most <= 0 {
		t.Fatalf("never throttled (%d throttles, longest %v)", got, most)
	}
	// 200 KB at 50 KB/s with at most two windows' worth (100 KB) let
	// through at once: at least 2 s; asserted loosely.
	total := float64(n * len(value))
	if min := time.Duration((total - 2*rate) / rate * float64(time.Second) / 2); elapsed < min {
		t.Fatalf("%.0f bytes in %v: faster than the quota allows (at least %v)", total, elapsed, min)
	}
	// Another client id is not throttled.
	other := &throttleHook{}
	cl2 := newClient(t, b.Addr(), kgo.ClientID("fast"), kgo.WithHooks(other), kgo.ProducerLinger(0))
	for i := 0; i < n; i++ {
		if err := cl2.ProduceSync(ctxT(t), &kgo.Record{Topic: "q", Value: value}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := other.seen(); got != 0 {
		t.Fatalf("a client without a quota was throttled %d times", got)
	}
}

// The broker mutes a throttled connection: the throttle is in the answer
// and the next request on the connection waits it out, whatever the client
// does (KIP-219).
func TestThrottledConnectionMuted(t *testing.T) {
	b := brokertest.Start(t, "quota.window.num", "2")
	createTopic(t, b.Addr(), "m", 1, nil)
	// frame() sends client id "test".
	setQuota(t, b.Addr(), kadm.ClientQuotaEntity{{Type: "client-id", Name: strp("test")}}, "producer_byte_rate", 10_000)

	c, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	read := func() []byte {
		var size [4]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			t.Fatal(err)
		}
		body := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(c, body); err != nil {
			t.Fatal(err)
		}
		return body
	}
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 7, 1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "m"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = record.EncodeBatch(&kmsg.RecordBatch{FirstTimestamp: 1, MaxTimestamp: 1, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1},
		[]kmsg.Record{{Value: make([]byte, 15_000)}})
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	if _, err := c.Write(frame(0, 7, 1, req.AppendTo(nil))); err != nil {
		t.Fatal(err)
	}
	resp := kmsg.NewPtrProduceResponse()
	resp.Version = 7
	if err := resp.ReadFrom(read()[4:]); err != nil {
		t.Fatal(err)
	}
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	// 15,000 bytes over one 1 s window at 10,000/s: (15000-10000)/10000 s.
	if resp.ThrottleMillis < 400 || resp.ThrottleMillis > 600 {
		t.Fatalf("throttle_time_ms %d, want about 500", resp.ThrottleMillis)
	}
	// A client that ignores it is still held: its next request (even
	// ApiVersions) is answered only after the throttle time.
	start := time.Now()
	if _, err := c.Write(frame(18, 0, 2, nil)); err != nil {
		t.Fatal(err)
	}
	read()
	if waited := time.Since(start); waited < time.Duration(resp.ThrottleMillis)*time.Millisecond/2 {
		t.Fatalf("next request answered after %v, throttle %d ms", waited, resp.ThrottleMillis)
	}
}

// A consumer over consumer_byte_rate gets throttled (empty) answers and
// still reads everything, no faster than its quota; each fetch is capped
// at the quota's window.
func TestConsumerByteRateQuota(t *testing.T) {
	b := brokertest.Start(t, "quota.window.num", "2")
	createTopic(t, b.Addr(), "c", 1, nil)
	const n, size = 12, 5000
	prod := newClient(t, b.Addr(), kgo.ProducerLinger(0))
	for i := 0; i < n; i++ {
		if err := prod.ProduceSync(ctxT(t), &kgo.Record{Topic: "c", Value: randomBytes(size)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	const rate = 20_000
	setQuota(t, b.Addr(), kadm.ClientQuotaEntity{{Type: "user", Name: strp("ANONYMOUS")}, {Type: "client-id", Name: nil}}, "consumer_byte_rate", rate)

	hook := &throttleHook{}
	start := time.Now()
	got := consumeAll(t, b.Addr(), "c", n, kgo.ClientID("reader"), kgo.WithHooks(hook))
	elapsed := time.Since(start)
	if len(got[0]) != n {
		t.Fatalf("%d records", len(got[0]))
	}
	if c, _ := hook.seen(); c == 0 {
		t.Fatal("never throttled")
	}
	total := float64(n * size)
	if min := time.Duration((total - 2*rate) / rate * float64(time.Second) / 2); elapsed < min {
		t.Fatalf("%.0f bytes in %v: faster than the quota allows (at least %v)", total, elapsed, min)
	}
}

// apiVersions sends ApiVersions on c and reports whether an answer came
// within d.
func apiVersions(t *testing.T, c net.Conn, corr int32, d time.Duration) bool {
	t.Helper()
	c.SetDeadline(time.Now().Add(d))
	if _, err := c.Write(frame(18, 0, corr, nil)); err != nil {
		return false
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return false
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err := io.ReadFull(c, body)
	return err == nil
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// max.connections.per.ip: one connection more from an address is closed
// at once; when one closes, the next is served.
func TestMaxConnectionsPerIP(t *testing.T) {
	b := brokertest.Start(t, "max.connections.per.ip", "2")
	c1, c2 := dial(t, b.Addr()), dial(t, b.Addr())
	if !apiVersions(t, c1, 1, 5*time.Second) || !apiVersions(t, c2, 1, 5*time.Second) {
		t.Fatal("the first two connections are not served")
	}
	c3 := dial(t, b.Addr())
	if apiVersions(t, c3, 1, 5*time.Second) {
		t.Fatal("a third connection from the address was served")
	}
	c1.Close()
	// The broker counts c1 out once it sees it closed.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if apiVersions(t, dial(t, b.Addr()), 1, 5*time.Second) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no connection served after one closed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// listener.name.<l>.max.connections: at the limit the broker stops
// accepting; the waiting connection is served once another closes.
func TestListenerMaxConnections(t *testing.T) {
	b := brokertest.Start(t, "listener.name.plaintext.max.connections", "1")
	c1 := dial(t, b.Addr())
	if !apiVersions(t, c1, 1, 5*time.Second) {
		t.Fatal("first connection not served")
	}
	c2 := dial(t, b.Addr())
	if apiVersions(t, c2, 1, 300*time.Millisecond) {
		t.Fatal("a second connection was served over the listener's max.connections")
	}
	c1.Close()
	// c2's request is already sent; it is answered once c2 is accepted.
	var size [4]byte
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c2, size[:]); err != nil {
		t.Fatalf("the waiting connection was not served after the first closed: %v", err)
	}
}

// connection_creation_rate of an IP entity: a connection over the rate
// is not served (and is closed after the throttle time).
func TestIPConnectionCreationRate(t *testing.T) {
	b := brokertest.Start(t, "quota.window.num", "2")
	setQuota(t, b.Addr(), kadm.ClientQuotaEntity{{Type: "ip", Name: strp("127.0.0.1")}}, "connection_creation_rate", 1)
	c1 := dial(t, b.Addr())
	if !apiVersions(t, c1, 1, 5*time.Second) {
		t.Fatal("first connection not served")
	}
	c2 := dial(t, b.Addr())
	if apiVersions(t, c2, 1, 5*time.Second) {
		t.Fatal("a connection over connection_creation_rate was served")
	}
	if !apiVersions(t, c1, 2, 5*time.Second) {
		t.Fatal("the first connection stopped being served")
	}
}

// request_percentage: a client using more handler time than its share is
// throttled, by at most one window.
func TestRequestPercentageQuota(t *testing.T) {
	b := brokertest.Start(t, "quota.window.num", "2")
	createTopic(t, b.Addr(), "r", 1, nil)
	setQuota(t, b.Addr(), kadm.ClientQuotaEntity{{Type: "client-id", Name: strp("busy")}}, "request_percentage", 0.0001)
	hook := &throttleHook{}
	cl := newClient(t, b.Addr(), kgo.ClientID("busy"), kgo.WithHooks(hook))
	for i := 0; i < 3; i++ {
		req := kmsg.NewPtrMetadataRequest()
		if _, err := req.RequestWith(ctxT(t), cl); err != nil {
			t.Fatal(err)
		}
	}
	n, most := hook.seen()
	if n == 0 || most <= 0 || most > time.Second {
		t.Fatalf("%d throttles, longest %v: want some, none over one window", n, most)
	}
}
