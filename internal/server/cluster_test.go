package server_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func adminFor(t *testing.T, seeds ...string) *kadm.Client {
	// kgo answers Metadata requests from its cache for MetadataMinAge:
	// keep it short, this test watches metadata change.
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.RetryTimeout(20*time.Second),
		kgo.MetadataMinAge(10*time.Millisecond), kgo.MetadataMaxAge(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// waitFor polls cond until it holds or 15 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func leaders(t *testing.T, adm *kadm.Client, topic string) map[int32]int32 {
	t.Helper()
	md, err := adm.Metadata(ctxFor(t, 10*time.Second), topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int32{}
	for _, p := range md.Topics[topic].Partitions {
		out[p.Partition] = p.Leader
	}
	return out
}

// TestClusterOfThree runs three combined nodes and drives them with
// franz-go: topics made through one node are seen by all, partitions are
// spread over the brokers, records produced through any seed land on
// their leaders and read back complete and in order, a consumer group's
// coordinator is found on the right node, and the cluster survives the
// loss and return of its active controller.
func TestClusterOfThree(t *testing.T) {
	c := brokertest.StartCluster(t, 3)
	adm := adminFor(t, c.Node(1).Addr())

	waitBrokers(t, adm, 3)
	resp, err := adm.CreateTopic(ctxFor(t, 20*time.Second), 6, 1, nil, "spread")
	if err != nil || resp.Err != nil {
		t.Fatalf("create: %v %v", err, resp.Err)
	}
	// Every node has the topic, with its partitions on all three brokers.
	for _, n := range c.Nodes {
		a := adminFor(t, n.Addr())
		waitFor(t, "topic on node", func() bool { return len(leaders(t, a, "spread")) == 6 })
	}
	perBroker := map[int32]int{}
	for _, l := range leaders(t, adm, "spread") {
		perBroker[l]++
	}
	if len(perBroker) != 3 || perBroker[1] != 2 || perBroker[2] != 2 || perBroker[3] != 2 {
		t.Fatalf("leaders per broker %v, want 2 on each of 3", perBroker)
	}

	// Replication factors the cluster cannot give are refused as Kafka does.
	for _, rf := range []int16{4, 0} {
		r, err := adm.CreateTopic(ctxFor(t, 10*time.Second), 1, rf, nil, fmt.Sprintf("rf%d", rf))
		if err == nil {
			err = r.Err
		}
		if !errors.Is(err, kerr.InvalidReplicationFactor) {
			t.Errorf("replication factor %d: %v, want INVALID_REPLICATION_FACTOR", rf, err)
		}
	}

	// Produce through node 2 alone as a seed: the client learns the
	// leaders from Metadata and sends each partition to its own broker.
	prod, err := kgo.NewClient(kgo.SeedBrokers(c.Node(2).Addr()), kgo.DefaultProduceTopic("spread"),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	const n = 600
	for i := 0; i < n; i++ {
		prod.Produce(ctxFor(t, 20*time.Second), &kgo.Record{Value: []byte(fmt.Sprintf("v%04d", i))}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := prod.Flush(ctxFor(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}

	// A consumer group through node 3: its coordinator is the leader of the
	// group's __consumer_offsets partition, wherever that is.
	cons, err := kgo.NewClient(kgo.SeedBrokers(c.Node(3).Addr()), kgo.ConsumeTopics("spread"), kgo.ConsumerGroup("g1"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	got := map[int32][]int64{}
	values := map[string]bool{}
	ctx := ctxFor(t, 30*time.Second)
	for len(values) < n {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d", len(values), n)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) {
			got[r.Partition] = append(got[r.Partition], r.Offset)
			values[string(r.Value)] = true
		})
	}
	for p, offs := range got {
		if !sort.SliceIsSorted(offs, func(i, j int) bool { return offs[i] < offs[j] }) || offs[0] != 0 || offs[len(offs)-1] != int64(len(offs)-1) {
			t.Errorf("partition %d offsets %v", p, offs)
		}
	}
	if err := cons.CommitUncommittedOffsets(ctxFor(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	cons.Close()
	offs, err := adm.FetchOffsets(ctxFor(t, 20*time.Second), "g1")
	if err != nil {
		t.Fatal(err)
	}
	var committed int64
	offs.Each(func(o kadm.OffsetResponse) { committed += o.At })
	if committed != n {
		t.Fatalf("committed offsets sum to %d, want %d", committed, n)
	}

	// The active controller goes away: the other two elect a new one and
	// metadata changes go on.
	var old int32 = -1
	waitFor(t, "a quorum leader", func() bool { old = c.Node(1).QuorumLeader(); return old > 0 })
	c.Node(old).Stop()
	other := c.Node(old%3 + 1)
	waitFor(t, "a new quorum leader", func() bool { l := other.QuorumLeader(); return l > 0 && l != old })
	adm2 := adminFor(t, other.Addr())
	createTopic(t, adm2, "after-failover", 1, 1, nil)

	// It comes back and catches up with what it missed.
	c.Node(old).StartAgain()
	back := adminFor(t, c.Node(old).Addr())
	waitFor(t, "the returning node to see the new topic", func() bool {
		md, err := back.Metadata(ctxFor(t, 5*time.Second), "after-failover")
		return err == nil && md.Topics["after-failover"].Err == nil && len(md.Topics["after-failover"].Partitions) == 1
	})
}
