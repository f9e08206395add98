package broker_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestRebalanceTime measures how long 10 consumers take to own all 100
// partitions of a topic, and how long the group takes to rebalance when an
// 11th member joins (classic protocol, eager and cooperative-sticky), with
// a 100 ms heartbeat interval.
// The figures are logged (go test -run RebalanceTime -v).
func TestRebalanceTime(t *testing.T) {
	for _, bal := range []struct {
		name string
		b    kgo.GroupBalancer
	}{{"range", kgo.RangeBalancer()}, {"cooperative-sticky", kgo.CooperativeStickyBalancer()}} {
		t.Run(bal.name, func(t *testing.T) {
			b := startGroupBroker(t)
			createTopic(t, b.Addr(), "rb", 100, nil)
			var mu sync.Mutex
			owned := map[int32]int{} // partition -> owners
			changed := make(chan struct{}, 1)
			update := func(m map[string][]int32, delta int) {
				mu.Lock()
				for _, ps := range m {
					for _, p := range ps {
						owned[p] += delta
						if owned[p] == 0 {
							delete(owned, p)
						}
					}
				}
				mu.Unlock()
				select {
				case changed <- struct{}{}:
				default:
				}
			}
			start := func() {
				newClient(t, b.Addr(), kgo.ConsumerGroup("rb-group"), kgo.ConsumeTopics("rb"), kgo.Balancers(bal.b),
					// Members learn of a rebalance from their next heartbeat
					// (3 s by default, as in Kafka): beat often so the figure
					// is the coordinator's, not the heartbeat interval's.
					kgo.HeartbeatInterval(100*time.Millisecond),
					kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { update(m, 1) }),
					kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { update(m, -1) }),
					kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { update(m, -1) }))
			}
			// waitAll waits until every partition has exactly one owner and
			// the group is Stable with members members.
			adm := kadm.NewClient(newClient(t, b.Addr()))
			waitAll := func(members int) {
				deadline := time.After(20 * time.Second)
				for {
					mu.Lock()
					done := len(owned) == 100
					for _, n := range owned {
						done = done && n == 1
					}
					mu.Unlock()
					if done {
						d, err := adm.DescribeGroups(context.Background(), "rb-group")
						if err == nil && d["rb-group"].State == "Stable" && len(d["rb-group"].Members) == members {
							return
						}
					}
					select {
					case <-changed:
					case <-time.After(5 * time.Millisecond): // the group state has no callback
					case <-deadline:
						t.Fatalf("partitions not all owned once: %d owned", len(owned))
					}
				}
			}
			t0 := time.Now()
			for range 10 {
				start()
			}
			waitAll(10)
			first := time.Since(t0)
			t1 := time.Now()
			start()
			waitAll(11)
			t.Logf("%s: 10 consumers own 100 partitions %v after starting; an 11th member rebalances the group in %v",
				bal.name, first.Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
		})
	}
}

// BenchmarkOffsetCommit measures OffsetCommit round trips on one group:
// each op commits one offset (one partition), from 16 concurrent
// committers. Report: commits/s.
func BenchmarkOffsetCommit(b *testing.B) {
	for _, mode := range []string{"page-cache", "group-commit"} {
		b.Run(mode, func(b *testing.B) {
			b.SetParallelism(8)
			benchCommits(b, startGroupBroker(b, "log.flush.mode", mode).Addr())
		})
	}
}

func benchCommits(b *testing.B, addr string) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ct, err := adm.CreateTopic(context.Background(), 16, 1, nil, "bc")
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		p := int32(next.Add(1) % 16)
		for i := int64(1); pb.Next(); i++ {
			req := kmsg.NewPtrOffsetCommitRequest()
			req.Group, req.Generation = "bench", -1
			req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "bc", TopicID: ct.ID, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: p, Offset: i, LeaderEpoch: -1}}}}
			resp, err := req.RequestWith(context.Background(), cl)
			if err != nil || resp.Topics[0].Partitions[0].ErrorCode != 0 {
				b.Fatalf("commit: %v %+v", err, resp)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "commits/s")
}
