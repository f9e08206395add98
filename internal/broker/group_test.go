package broker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// startGroupBroker starts a broker with no initial rebalance delay and a
// short minimum session timeout, so group tests run quickly.
func startGroupBroker(t testing.TB, props ...string) *brokertest.Broker {
	return brokertest.Start(t, append([]string{"group.initial.rebalance.delay.ms", "0", "group.min.session.timeout.ms", "500", "offsets.topic.num.partitions", "5"}, props...)...)
}

func groupClient(t *testing.T, addr, group string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return newClient(t, addr, append([]kgo.Opt{
		kgo.ConsumerGroup(group), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200 * time.Millisecond),
	}, opts...)...)
}

// pollUntil polls cl until n records arrived or the context ends, and
// returns them.
func pollUntil(t *testing.T, cl *kgo.Client, n int) []*kgo.Record {
	t.Helper()
	ctx := ctxT(t)
	var got []*kgo.Record
	for len(got) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("got %d of %d records before the deadline", len(got), n)
		}
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("fetch %s/%d: %v", topic, p, err)
			}
		})
		got = append(got, fs.Records()...)
	}
	return got
}

func committed(t *testing.T, addr, group string) kadm.OffsetResponses {
	t.Helper()
	adm := kadm.NewClient(newClient(t, addr))
	offs, err := adm.FetchOffsets(ctxT(t), group)
	if err != nil {
		t.Fatal(err)
	}
	return offs
}

func TestGroupConsumeCommitRestart(t *testing.T) {
	b := startGroupBroker(t)
	createTopic(t, b.Addr(), "g1", 3, nil)
	produced := produceN(t, newClient(t, b.Addr()), "g1", 300)

	cl := groupClient(t, b.Addr(), "grp", kgo.ConsumeTopics("g1"), kgo.DisableAutoCommit())
	got := pollUntil(t, cl, 300)
	if len(got) != 300 {
		t.Fatalf("got %d records", len(got))
	}
	if err := cl.CommitUncommittedOffsets(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	cl.Close() // leaves the group

	b.Restart()
	offs := committed(t, b.Addr(), "grp")
	for p, recs := range produced {
		o, ok := offs.Lookup("g1", p)
		if !ok || o.Err != nil || o.At != int64(len(recs)) {
			t.Errorf("partition %d: committed %+v, want %d", p, o, len(recs))
		}
	}
	// A new member resumes after the commits: nothing more to read until
	// new records arrive.
	cl2 := groupClient(t, b.Addr(), "grp", kgo.ConsumeTopics("g1"))
	newClient(t, b.Addr()).ProduceSync(ctxT(t), &kgo.Record{Topic: "g1", Value: []byte("after")})
	rest := pollUntil(t, cl2, 1)
	if len(rest) != 1 || string(rest[0].Value) != "after" {
		t.Fatalf("after restart got %d records, first %q", len(rest), rest[0].Value)
	}
}

// TestGroupRebalanceNoSkips runs consumers joining and leaving while
// records are produced, committing after every poll; every record must be
// consumed (at least once) and the final commits must cover everything.
func TestGroupRebalanceNoSkips(t *testing.T) {
	for _, balancer := range []struct {
		name  string
		b     kgo.GroupBalancer
		crash bool // the leaving member crashes instead of leaving
	}{
		{"eager-range", kgo.RangeBalancer(), false},
		{"cooperative-sticky", kgo.CooperativeStickyBalancer(), false},
		{"eager-range-crash", kgo.RangeBalancer(), true},
		{"cooperative-sticky-crash", kgo.CooperativeStickyBalancer(), true},
	} {
		t.Run(balancer.name, func(t *testing.T) {
			b := startGroupBroker(t)
			const parts, total = 6, 3000
			createTopic(t, b.Addr(), "load", parts, nil)
			var mu sync.Mutex
			seen := map[string]int{}
			progress := make(chan struct{}, 1) // poked after every poll
			var wg sync.WaitGroup
			ctx, cancel := context.WithCancel(ctxT(t))
			defer cancel()
			consume := func(name string, stop <-chan struct{}) {
				defer wg.Done()
				link := &severable{}
				cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.ConsumerGroup("load-group"), kgo.ConsumeTopics("load"),
					kgo.Dialer(link.dial),
					kgo.Balancers(balancer.b), kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(),
					kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond),
					kgo.SessionTimeout(1500*time.Millisecond), kgo.HeartbeatInterval(200*time.Millisecond),
				)
				if err != nil {
					t.Error(err)
					return
				}
				crashed := false
				defer func() {
					if !crashed {
						cl.Close()
					}
				}()
				t.Cleanup(func() {
					if crashed {
						cl.Close() // cannot reach the broker: leaves nothing behind
					}
				})
				for {
					select {
					case <-stop:
						if balancer.crash {
							// Every connection dies at once and no request
							// gets out any more: the coordinator only notices
							// when the session times out.
							link.sever()
							crashed = true
							return
						}
						cl.CommitUncommittedOffsets(context.Background())
						return
					case <-ctx.Done():
						return
					default:
					}
					pctx, pcancel := context.WithTimeout(ctx, 300*time.Millisecond)
					fs := cl.PollFetches(pctx)
					pcancel()
					mu.Lock()
					for _, r := range fs.Records() {
						seen[string(r.Value)]++
					}
					mu.Unlock()
					select {
					case progress <- struct{}{}:
					default:
					}
					if err := cl.CommitUncommittedOffsets(ctx); err != nil && ctx.Err() == nil {
						t.Logf("%s: commit: %v", name, err)
					}
					cl.AllowRebalance()
				}
			}
			waitSeen := func(n int) {
				deadline := time.Now().Add(15 * time.Second)
				for {
					mu.Lock()
					got := len(seen)
					mu.Unlock()
					if got >= n {
						return
					}
					if time.Now().After(deadline) {
						d, _ := kadm.NewClient(newClient(t, b.Addr())).DescribeGroups(context.Background(), "load-group")
						for _, m := range d["load-group"].Members {
							a, _ := m.Assigned.AsConsumer()
							t.Logf("member %s: %+v", m.MemberID, a)
						}
						t.Fatalf("saw %d of %d distinct records; committed %+v", got, n, committed(t, b.Addr(), "load-group"))
					}
					select {
					case <-progress:
					case <-time.After(time.Until(deadline)):
					}
				}
			}
			// Committed offsets must never move backwards: sample them while
			// members come and go.
			monitorDone := make(chan struct{})
			go func() {
				defer close(monitorDone)
				adm := kadm.NewClient(newClient(t, b.Addr()))
				last := map[int32]int64{}
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
					}
					offs, err := adm.FetchOffsets(ctx, "load-group")
					if err != nil {
						continue
					}
					offs.Each(func(o kadm.OffsetResponse) {
						if o.At < last[o.Partition] {
							t.Errorf("partition %d: committed offset went back from %d to %d", o.Partition, last[o.Partition], o.At)
						}
						last[o.Partition] = o.At
					})
				}
			}()
			defer func() { cancel(); <-monitorDone }()
			stops := make([]chan struct{}, 4)
			for i := range stops {
				stops[i] = make(chan struct{})
			}
			wg.Add(2)
			go consume("c0", stops[0])
			go consume("c1", stops[1])
			pcl := newClient(t, b.Addr())
			for i := 0; i < total; i++ {
				pcl.Produce(ctx, &kgo.Record{Topic: "load", Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprint(i))}, func(_ *kgo.Record, err error) {
					if err != nil {
						t.Error(err)
					}
				})
				switch i {
				case total / 4:
					wg.Add(1)
					go consume("c2", stops[2])
				case total / 2:
					close(stops[0]) // a member leaves mid-stream
				case 3 * total / 4:
					wg.Add(1)
					go consume("c3", stops[3])
				}
				if i%250 == 249 {
					// Let consumption catch up, so membership changes happen
					// while records are being read and committed.
					if err := pcl.Flush(ctx); err != nil {
						t.Fatal(err)
					}
					waitSeen(i + 1)
				}
			}
			waitSeen(total)
			for _, s := range stops[1:] {
				close(s)
			}
			wg.Wait()
			offs := committed(t, b.Addr(), "load-group")
			ends, err := kadm.NewClient(pcl).ListEndOffsets(ctxT(t), "load")
			if err != nil {
				t.Fatal(err)
			}
			ends.Each(func(e kadm.ListedOffset) {
				o, _ := offs.Lookup("load", e.Partition)
				if o.At != e.Offset {
					t.Errorf("partition %d: committed %d, end %d", e.Partition, o.At, e.Offset)
				}
			})
		})
	}
}

// TestGroupMemberCrash: a member that stops heartbeating without leaving is
// removed after its session timeout and its partitions move to the other.
func TestGroupMemberCrash(t *testing.T) {
	b := startGroupBroker(t)
	createTopic(t, b.Addr(), "crash", 4, nil)
	// The "crashed" member joins with raw requests and then goes silent.
	raw := newClient(t, b.Addr())
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis, join.ProtocolType = "crash-group", 1000, 5000, "consumer"
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{"crash"}
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: meta.AppendTo(nil)}}
	resp, err := join.RequestWith(ctxT(t), raw)
	if err != nil || resp.ErrorCode != kerr.MemberIDRequired.Code {
		t.Fatalf("first join: %v %+v", err, resp)
	}
	join.MemberID = resp.MemberID
	if resp, err = join.RequestWith(ctxT(t), raw); err != nil || resp.ErrorCode != 0 {
		t.Fatalf("second join: %v %+v", err, resp)
	}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.MemberID, sync.Generation = "crash-group", resp.MemberID, resp.Generation
	if sresp, err := sync.RequestWith(ctxT(t), raw); err != nil || sresp.ErrorCode != 0 {
		t.Fatalf("sync: %v %+v", err, sresp)
	}
	// A real consumer joins; the silent member is evicted after 1 s and
	// the consumer ends up with every partition.
	produceN(t, newClient(t, b.Addr()), "crash", 100)
	start := time.Now()
	cl := groupClient(t, b.Addr(), "crash-group", kgo.ConsumeTopics("crash"), kgo.Balancers(kgo.RangeBalancer()))
	got := pollUntil(t, cl, 100)
	if len(got) != 100 {
		t.Fatalf("got %d", len(got))
	}
	t.Logf("the surviving member had every partition %v after joining", time.Since(start).Round(time.Millisecond))
	desc, err := kadm.NewClient(raw).DescribeGroups(ctxT(t), "crash-group")
	if err != nil {
		t.Fatal(err)
	}
	if g := desc["crash-group"]; len(g.Members) != 1 || g.State != "Stable" {
		t.Fatalf("group after crash: state %s, %d members", g.State, len(g.Members))
	}
}

// TestStaticMembership: a static member that restarts with the same
// group.instance.id gets its assignment back without a rebalance, and the
// old incarnation is fenced.
func TestStaticMembership(t *testing.T) {
	b := startGroupBroker(t)
	createTopic(t, b.Addr(), "static", 2, nil)
	produceN(t, newClient(t, b.Addr()), "static", 50)
	cl := groupClient(t, b.Addr(), "static-group", kgo.ConsumeTopics("static"), kgo.InstanceID("instance-1"))
	pollUntil(t, cl, 50)
	adm := kadm.NewClient(newClient(t, b.Addr()))
	d1, err := adm.DescribeGroups(ctxT(t), "static-group")
	if err != nil {
		t.Fatal(err)
	}
	g1 := d1["static-group"]
	if len(g1.Members) != 1 || g1.Members[0].InstanceID == nil || *g1.Members[0].InstanceID != "instance-1" {
		t.Fatalf("members: %+v", g1.Members)
	}
	oldID := g1.Members[0].MemberID
	cl.Close() // static members do not leave on close

	// The same instance id from a new client replaces the member.
	cl2 := groupClient(t, b.Addr(), "static-group", kgo.ConsumeTopics("static"), kgo.InstanceID("instance-1"))
	newClient(t, b.Addr()).ProduceSync(ctxT(t), &kgo.Record{Topic: "static", Partition: 0, Value: []byte("x")})
	pollUntil(t, cl2, 1)
	d2, _ := adm.DescribeGroups(ctxT(t), "static-group")
	g2 := d2["static-group"]
	if len(g2.Members) != 1 || g2.Members[0].MemberID == oldID {
		t.Fatalf("after restart: %+v (old id %s)", g2.Members, oldID)
	}
	// The old member id is fenced.
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.InstanceID, hb.Generation = "static-group", oldID, kmsg.StringPtr("instance-1"), 1
	resp, err := hb.RequestWith(ctxT(t), newClient(t, b.Addr()))
	if err != nil || resp.ErrorCode != kerr.FencedInstanceID.Code {
		t.Fatalf("heartbeat of the old incarnation: %v, code %d", err, resp.ErrorCode)
	}
}

func TestGroupAdmin(t *testing.T) {
	b := startGroupBroker(t)
	createTopic(t, b.Addr(), "adm", 2, nil)
	produceN(t, newClient(t, b.Addr()), "adm", 20)
	cl := groupClient(t, b.Addr(), "adm-group", kgo.ConsumeTopics("adm"), kgo.DisableAutoCommit())
	pollUntil(t, cl, 20)
	if err := cl.CommitUncommittedOffsets(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(newClient(t, b.Addr()))
	ctx := ctxT(t)

	listed, err := adm.ListGroups(ctx)
	if err != nil || len(listed) != 1 || listed["adm-group"].State != "Stable" {
		t.Fatalf("list: %v %+v", err, listed)
	}
	if l, _ := adm.ListGroups(ctx, "Empty"); len(l) != 0 {
		t.Fatalf("state filter Empty: %+v", l)
	}
	// A group with members cannot be deleted.
	del, err := adm.DeleteGroups(ctx, "adm-group")
	if err != nil || !errors.Is(del["adm-group"].Err, kerr.NonEmptyGroup) {
		t.Fatalf("delete non-empty: %v %+v", err, del)
	}
	cl.Close()
	d, _ := adm.DescribeGroups(ctx, "adm-group")
	if d["adm-group"].State != "Empty" {
		t.Fatalf("after leave: %s", d["adm-group"].State)
	}
	// OffsetDelete on an empty group.
	od, err := adm.DeleteOffsets(ctx, "adm-group", kadm.TopicsSet{"adm": {0: {}}})
	if err != nil || od.Error() != nil {
		t.Fatalf("delete offsets: %v %v", err, od.Error())
	}
	offs := committed(t, b.Addr(), "adm-group")
	if _, ok := offs.Lookup("adm", 0); ok {
		if o, _ := offs.Lookup("adm", 0); o.At != -1 {
			t.Fatalf("partition 0 offset survived OffsetDelete: %+v", o)
		}
	}
	del, err = adm.DeleteGroups(ctx, "adm-group")
	if err != nil || del["adm-group"].Err != nil {
		t.Fatalf("delete: %v %+v", err, del)
	}
	if l, _ := adm.ListGroups(ctx); len(l) != 0 {
		t.Fatalf("after delete: %+v", l)
	}
	// Deleted groups stay deleted across a restart.
	b.Restart()
	adm = kadm.NewClient(newClient(t, b.Addr()))
	if l, err := adm.ListGroups(ctxT(t)); err != nil || len(l) != 0 {
		t.Fatalf("after restart: %v %+v", err, l)
	}
	del, _ = adm.DeleteGroups(ctxT(t), "adm-group")
	if !errors.Is(del["adm-group"].Err, kerr.GroupIDNotFound) {
		t.Fatalf("delete twice: %+v", del)
	}
}

// TestOffsetsOfDeletedTopic: deleting a topic deletes every group's
// committed offsets for it, also after a restart and when a topic of the
// same name is created again.
func TestOffsetsOfDeletedTopic(t *testing.T) {
	b := startGroupBroker(t)
	createTopic(t, b.Addr(), "doomed", 2, nil)
	createTopic(t, b.Addr(), "kept", 1, nil)
	adm := kadm.NewClient(newClient(t, b.Addr()))
	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: "doomed", Partition: 0, At: 5, LeaderEpoch: -1})
	os.Add(kadm.Offset{Topic: "doomed", Partition: 1, At: 6, LeaderEpoch: -1})
	os.Add(kadm.Offset{Topic: "kept", Partition: 0, At: 7, LeaderEpoch: -1})
	if r, err := adm.CommitOffsets(ctxT(t), "dg", os); err != nil || r.Error() != nil {
		t.Fatalf("commit: %v %v", err, r.Error())
	}
	if _, err := adm.DeleteTopics(ctxT(t), "doomed"); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		offs := committed(t, b.Addr(), "dg")
		if _, ok := offs.Lookup("doomed", 0); ok {
			t.Fatalf("%s: offsets of the deleted topic remain: %+v", when, offs)
		}
		if o, ok := offs.Lookup("kept", 0); !ok || o.At != 7 {
			t.Fatalf("%s: offset of the other topic: %+v", when, offs)
		}
	}
	check("after delete")
	b.Restart()
	check("after restart")
	createTopic(t, b.Addr(), "doomed", 2, nil)
	check("after re-creating the topic")
}

// severable dials real connections and can cut them all, and refuse new
// ones, to make a client look like a crashed process.
type severable struct {
	mu    sync.Mutex
	conns []net.Conn
	dead  bool
}

func (s *severable) dial(ctx context.Context, network, host string) (net.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead {
		return nil, errors.New("crashed")
	}
	c, err := (&net.Dialer{}).DialContext(ctx, network, host)
	if err == nil {
		s.conns = append(s.conns, c)
	}
	return c, err
}

func (s *severable) sever() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dead = true
	for _, c := range s.conns {
		c.Close()
	}
}
