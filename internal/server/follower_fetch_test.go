package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// fetchedFrom records which broker served each batch a consumer read.
type fetchedFrom struct {
	mu    sync.Mutex
	nodes map[int32]int
}

func (f *fetchedFrom) OnFetchBatchRead(meta kgo.BrokerMetadata, _ string, _ int32, m kgo.FetchBatchMetrics) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nodes[meta.NodeID] += m.NumRecords
}

// consumeFrom reads n records of topic as a consumer in rack (no group)
// and returns how many each broker served.
func consumeFrom(t *testing.T, seeds []string, topic, rack string, n int) map[int32]int {
	t.Helper()
	hook := &fetchedFrom{nodes: map[int32]int{}}
	opts := []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.WithHooks(hook)}
	if rack != "" {
		opts = append(opts, kgo.Rack(rack))
	}
	cl := client(t, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := 0
	for got < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("rack %q read %d of %d", rack, got, n)
		}
		got += fs.NumRecords()
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	return hook.nodes
}

// TestFollowerFetching (KIP-392): with replica.selector.class set to the
// rack-aware selector, a consumer with client.rack reads from the in-sync
// replica in its rack; one in the leader's rack, or with no rack, reads
// from the leader. Without the setting every consumer reads from leaders.
func TestFollowerFetching(t *testing.T) {
	for _, selector := range []bool{true, false} {
		t.Run(fmt.Sprintf("selector=%v", selector), func(t *testing.T) {
			props := []string{}
			if selector {
				props = append(props, "replica.selector.class", "org.apache.kafka.common.replica.RackAwareReplicaSelector")
			}
			// Node i is in rack "r<i>".
			c := brokertest.StartClusterEach(t, 3, func(id int32) []string { return []string{"broker.rack", fmt.Sprintf("r%d", id)} }, props...)
			adm := adminFor(t, c.Addrs()...)
			waitFor(t, "three brokers with racks", func() bool {
				md, err := adm.BrokerMetadata(ctxFor(t, 5*time.Second))
				if err != nil || len(md.Brokers) != 3 {
					return false
				}
				for _, b := range md.Brokers {
					if b.Rack == nil {
						return false
					}
				}
				return true
			})
			createTopic(t, adm, "ff", 1, 3, nil)
			waitFor(t, "full ISR", func() bool { return fullISR(t, adm, "ff", 1, 3) })
			prod := client(t, kgo.SeedBrokers(c.Addrs()...), kgo.RequiredAcks(kgo.AllISRAcks()))
			var values []string
			for i := 0; i < 200; i++ {
				values = append(values, fmt.Sprintf("ff-%03d", i))
			}
			produceAll(t, prod, "ff", values)
			leader := leaders(t, adm, "ff")[0]
			follower := leader%3 + 1
			for _, tc := range []struct {
				rack string
				want int32
			}{
				{fmt.Sprintf("r%d", follower), follower},
				{fmt.Sprintf("r%d", leader), leader},
				{"", leader},
				{"elsewhere", leader},
			} {
				if !selector {
					tc.want = leader
				}
				from := consumeFrom(t, c.Addrs(), "ff", tc.rack, len(values))
				if from[tc.want] != len(values) {
					t.Errorf("consumer in rack %q read %v (broker: records), want all %d from broker %d (leader %d)", tc.rack, from, len(values), tc.want, leader)
				}
			}
		})
	}
}
