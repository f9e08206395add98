package server_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// TestRestartedNodeWaitsToCatchUp: node 1 leads a partition and stops
// without a controlled shutdown (as if it crashed), so the metadata it
// stored still names it the leader; the others elect a new leader and
// take more records, then stop. Node 1, started alone, cannot reach the
// quorum: its image is the stale one. It used to take writes as that
// partition's leader (acks=1 acknowledged them; they were lost when it
// learned of the new leader and truncated). It must refuse them with
// NOT_LEADER_OR_FOLLOWER until it has caught up, and once the others are
// back, serve every acknowledged record. Found by the deterministic
// simulation (docs/reliability.md); Kafka's broker likewise serves
// nothing before its initial metadata catch-up.
func TestRestartedNodeWaitsToCatchUp(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	c := brokertest.StartClusterEach(t, 3, func(id int32) []string {
		if id == 1 {
			return []string{"controlled.shutdown.enable", "false"}
		}
		return nil
	}, "auto.leader.rebalance.enable", "false")
	adm := adminFor(t, c.Addrs()...)
	waitBrokers(t, adm, 3)
	raw := client(t, kgo.SeedBrokers(c.Addrs()...))
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "stale", -1, -1
	ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
	ra.Partition, ra.Replicas = 0, []int32{1, 2, 3}
	rt.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{ra}
	req.Topics = append(req.Topics, rt)
	if resp, err := req.RequestWith(ctxFor(t, 20*time.Second), raw); err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create: %v %+v", err, resp)
	}
	waitFor(t, "a full ISR led by node 1", func() bool { return fullISR(t, adm, "stale", 1, 3) && leaders(t, adm, "stale")[0] == 1 })
	prod := client(t, kgo.SeedBrokers(c.Addrs()...), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RetryTimeout(30*time.Second))
	values := numbered("a", 50)
	produceAll(t, prod, "stale", values)

	// Node 1 stops as if it crashed; 2 or 3 leads now.
	c.Node(1).Stop()
	adm23 := adminFor(t, c.Node(2).Addr(), c.Node(3).Addr())
	waitFor(t, "stale led by 2 or 3", func() bool { l := leaders(t, adm23, "stale")[0]; return l == 2 || l == 3 })
	prod23 := client(t, kgo.SeedBrokers(c.Node(2).Addr(), c.Node(3).Addr()), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RetryTimeout(30*time.Second))
	more := numbered("b", 50)
	produceAll(t, prod23, "stale", more)
	values = append(values, more...)
	c.Node(3).Stop()
	c.Node(2).Stop()

	// Node 1 alone: its image says it leads "stale", which it does not.
	c.Node(1).StartAgain()
	if c.Node(1).CaughtUp() {
		t.Fatal("node 1 caught up with no quorum to ask")
	}
	one := client(t, kgo.SeedBrokers(c.Node(1).Addr()), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(),
		kgo.RecordDeliveryTimeout(3*time.Second))
	err := one.ProduceSync(ctxFor(t, 10*time.Second), &kgo.Record{Topic: "stale", Value: []byte("to a stale leader")}).FirstErr()
	if err == nil {
		t.Fatal("node 1, not caught up, acknowledged a write as the leader its old metadata names")
	}
	t.Logf("produce to node 1 before it caught up: %v", err)

	// The others come back: node 1 catches up, and every acknowledged
	// record is there.
	c.Node(2).StartAgain()
	c.Node(3).StartAgain()
	waitFor(t, "node 1 caught up", c.Node(1).CaughtUp)
	seen := readAll(t, c.Addrs(), "stale", len(values))
	for _, v := range values {
		if !seen[v] {
			t.Fatalf("%s lost", v)
		}
	}
	if seen["to a stale leader"] {
		t.Fatal("the record refused by node 1 is in the log")
	}
	waitFor(t, "node 1 back in the ISR", func() bool { return fullISR(t, adm, "stale", 1, 3) })
}
