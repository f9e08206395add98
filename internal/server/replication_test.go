package server_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// isrs returns each partition's leader and ISR size as node sees them.
func isrs(t *testing.T, adm *kadm.Client, topic string) map[int32][2]int {
	t.Helper()
	md, err := adm.Metadata(ctxFor(t, 10*time.Second), topic)
	if err != nil {
		return nil
	}
	out := map[int32][2]int{}
	for _, p := range md.Topics[topic].Partitions {
		out[p.Partition] = [2]int{int(p.Leader), len(p.ISR)}
	}
	return out
}

func fullISR(t *testing.T, adm *kadm.Client, topic string, parts, rf int) bool {
	got := isrs(t, adm, topic)
	if len(got) != parts {
		return false
	}
	for _, v := range got {
		if v[0] < 0 || v[1] != rf {
			return false
		}
	}
	return true
}

// produceAll produces values with an idempotent acks=all producer and
// fails the test on any error.
func produceAll(t *testing.T, cl *kgo.Client, topic string, values []string) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, v := range values {
		wg.Add(1)
		cl.Produce(ctxFor(t, 60*time.Second), &kgo.Record{Topic: topic, Key: []byte(v), Value: []byte(v)}, func(_ *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d produce errors, first: %v", len(errs), errs[0])
	}
}

// readAll reads every partition of topic from its log start until it has n
// records, and checks offsets are dense and values unique.
func readAll(t *testing.T, seeds []string, topic string, n int) map[string]bool {
	t.Helper()
	cl := client(t, kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	seen := map[string]bool{}
	next := map[int32]int64{}
	ctx := ctxFor(t, 60*time.Second)
	for len(seen) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records", len(seen), n)
		}
		fs.EachError(func(_ string, p int32, err error) { t.Logf("fetch partition %d: %v", p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if _, ok := next[r.Partition]; !ok {
				next[r.Partition] = r.Offset // the log start
			}
			if r.Offset != next[r.Partition] {
				t.Fatalf("partition %d: offset %d, expected %d", r.Partition, r.Offset, next[r.Partition])
			}
			next[r.Partition]++
			if seen[string(r.Value)] {
				t.Fatalf("duplicate %q at %d/%d", r.Value, r.Partition, r.Offset)
			}
			seen[string(r.Value)] = true
		})
	}
	return seen
}

// TestReplicatedFailover: RF 3, min.insync.replicas 2, acks=all with an
// idempotent producer. A partition leader stops; the others take over and
// every acknowledged record is there, once, in order; the stopped broker
// comes back, catches up and rejoins every ISR. A topic whose
// min.insync.replicas is above the ISR refuses acks=all.
func TestReplicatedFailover(t *testing.T) {
	c := brokertest.StartCluster(t, 3)
	adm := adminFor(t, c.Addrs()...)
	waitBrokers(t, adm, 3)
	cfg := map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}
	createTopic(t, adm, "r", 3, 3, cfg)
	strict := map[string]*string{"min.insync.replicas": kadm.StringPtr("3")}
	createTopic(t, adm, "strict", 1, 3, strict)
	waitFor(t, "full ISRs", func() bool { return fullISR(t, adm, "r", 3, 3) && fullISR(t, adm, "strict", 1, 3) })

	prod, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.RetryTimeout(60*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	var values []string
	batch := func(prefix string, n int) []string {
		var out []string
		for i := 0; i < n; i++ {
			out = append(out, fmt.Sprintf("%s-%05d", prefix, i))
		}
		values = append(values, out...)
		return out
	}
	produceAll(t, prod, "r", batch("a", 3000))

	// Stop the leader of partition 0 (a controlled shutdown).
	victim := int32(isrs(t, adm, "r")[0][0])
	c.Node(victim).Stop()
	var others []string
	for _, n := range c.Nodes {
		if n.Running() {
			others = append(others, n.Addr())
		}
	}
	adm2 := adminFor(t, others...)
	waitFor(t, "new leaders and ISRs of 2", func() bool {
		got := isrs(t, adm2, "r")
		for _, v := range got {
			if v[0] < 0 || int32(v[0]) == victim || v[1] != 2 {
				return false
			}
		}
		return len(got) == 3
	})
	produceAll(t, prod, "r", batch("b", 3000))

	// "strict" wants three in-sync replicas; with one broker down acks=all
	// is refused before anything is appended.
	one, err := kgo.NewClient(kgo.SeedBrokers(others...), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordRetries(0),
		kgo.DisableIdempotentWrite(), kgo.DefaultProduceTopic("strict"))
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	waitFor(t, "strict's ISRs of 2", func() bool {
		got := isrs(t, adm2, "strict")
		return len(got) == 1 && got[0][1] == 2 && int32(got[0][0]) != victim
	})
	err = one.ProduceSync(ctxFor(t, 10*time.Second), &kgo.Record{Value: []byte("x")}).FirstErr()
	if !errors.Is(err, kerr.NotEnoughReplicas) {
		t.Fatalf("acks=all with 2 in-sync replicas of min.insync.replicas 3: %v, want NOT_ENOUGH_REPLICAS", err)
	}

	seen := readAll(t, others, "r", len(values))
	for _, v := range values {
		if !seen[v] {
			t.Fatalf("acknowledged record %q lost", v)
		}
	}

	// It comes back, catches up and is in every ISR again.
	c.Node(victim).StartAgain()
	waitFor(t, "the returning broker in every ISR", func() bool { return fullISR(t, adm2, "r", 3, 3) })
	produceAll(t, prod, "r", batch("c", 1000))

}

// consumeGroup reads n records as a member of group, commits them, and
// returns the values read.
func consumeGroup(t *testing.T, seeds []string, group, topic string, n int) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.ConsumerGroup(group),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(), kgo.RetryTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []string
	ctx := ctxFor(t, 60*time.Second)
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("group %s read %d of %d", group, len(out), n)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, string(r.Value)) })
	}
	if err := cl.CommitUncommittedOffsets(ctxFor(t, 30*time.Second)); err != nil {
		t.Fatalf("commit: %v", err)
	}
	return out
}

// TestGroupCoordinatorFailover: __consumer_offsets is replicated (RF 3 by
// default); when the group's coordinator stops, the leader of the group's
// partition takes over, rebuilds the group from the log, and the group
// resumes from its committed offsets.
func TestGroupCoordinatorFailover(t *testing.T) {
	c := brokertest.StartCluster(t, 3)
	adm := adminFor(t, c.Addrs()...)
	waitBrokers(t, adm, 3)
	createTopic(t, adm, "gt", 3, 3, nil)
	prod := client(t, kgo.SeedBrokers(c.Addrs()...), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	var first, second []string
	for i := 0; i < 300; i++ {
		first = append(first, fmt.Sprintf("one-%03d", i))
		second = append(second, fmt.Sprintf("two-%03d", i))
	}
	produceAll(t, prod, "gt", first)
	if got := consumeGroup(t, c.Addrs(), "g", "gt", 300); len(got) != 300 {
		t.Fatalf("first read %d", len(got))
	}
	if md, err := adm.Metadata(ctxFor(t, 10*time.Second), "__consumer_offsets"); err != nil || len(md.Topics["__consumer_offsets"].Partitions[0].Replicas) != 3 {
		t.Fatalf("__consumer_offsets replicas: %v %v", err, md.Topics["__consumer_offsets"].Partitions[0])
	}
	groups, err := adm.DescribeGroups(ctxFor(t, 10*time.Second), "g")
	if err != nil {
		t.Fatal(err)
	}
	coord := groups["g"].Coordinator.NodeID
	c.Node(coord).Stop()
	var others []string
	for _, n := range c.Nodes {
		if n.Running() {
			others = append(others, n.Addr())
		}
	}

	// The new coordinator has the committed offsets.
	adm2 := adminFor(t, others...)
	waitFor(t, "committed offsets from the new coordinator", func() bool {
		offs, err := adm2.FetchOffsets(ctxFor(t, 10*time.Second), "g")
		if err != nil {
			return false
		}
		var sum int64
		offs.Each(func(o kadm.OffsetResponse) { sum += o.At })
		return sum == 300
	})
	produceAll(t, prod, "gt", second)
	got := consumeGroup(t, others, "g", "gt", 300)
	slices.Sort(got)
	if !slices.Equal(got, second) {
		t.Fatalf("after the coordinator's loss the group read %d records (%v...), want exactly the 300 new ones", len(got), got[:min(3, len(got))])
	}
}

// TestUncleanElection: a partition's whole ISR goes down and a replica that
// fell out of it comes back. With unclean.leader.election.enable (a topic
// setting here) that replica leads and the partition takes writes again,
// without what only the lost ISR had; without it the partition stays
// offline until an ISR member returns, and then nothing is lost.
func TestUncleanElection(t *testing.T) {
	c := brokertest.StartCluster(t, 3)
	adm := adminFor(t, c.Addrs()...)
	waitBrokers(t, adm, 3)
	// Both topics on the same two brokers, so one sequence of stops does
	// the same to both.
	raw := client(t, kgo.SeedBrokers(c.Addrs()...))
	for _, tc := range []struct {
		name    string
		unclean string
	}{{"dirty", "true"}, {"clean", "false"}} {
		req := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = tc.name, -1, -1
		ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		ra.Partition, ra.Replicas = 0, []int32{1, 2}
		rt.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{ra}
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name, cfg.Value = "unclean.leader.election.enable", kmsg.StringPtr(tc.unclean)
		rt.Configs = []kmsg.CreateTopicsRequestTopicConfig{cfg}
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctxFor(t, 20*time.Second), raw)
		if err != nil || resp.Topics[0].ErrorCode != 0 {
			t.Fatalf("create %s: %v %+v %s", tc.name, err, resp, *resp.Topics[0].ErrorMessage)
		}
	}
	waitFor(t, "full ISRs", func() bool { return fullISR(t, adm, "dirty", 1, 2) && fullISR(t, adm, "clean", 1, 2) })
	prod := client(t, kgo.SeedBrokers(c.Addrs()...), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RetryTimeout(30*time.Second))
	produceAll(t, prod, "dirty", []string{"d1"})
	produceAll(t, prod, "clean", []string{"c1"})
	c.Node(2).Stop() // leaves the ISRs
	produceAll(t, prod, "dirty", []string{"d2"})
	produceAll(t, prod, "clean", []string{"c2"})
	c.Node(1).Stop() // the whole ISR is gone
	c.Node(2).StartAgain()
	adm3 := adminFor(t, c.Node(2).Addr(), c.Node(3).Addr())
	waitFor(t, "dirty led by broker 2", func() bool { return leaders(t, adm3, "dirty")[0] == 2 })
	if l := leaders(t, adm3, "clean")[0]; l != -1 {
		t.Fatalf("clean has leader %d with its ISR down", l)
	}
	prod2 := client(t, kgo.SeedBrokers(c.Node(2).Addr(), c.Node(3).Addr()), kgo.RequiredAcks(kgo.AllISRAcks()))
	produceAll(t, prod2, "dirty", []string{"d3"})
	got := readAll(t, []string{c.Node(2).Addr()}, "dirty", 2)
	if !got["d1"] || !got["d3"] || got["d2"] {
		t.Fatalf("dirty after the unclean election holds %v, want d1 and d3 (d2 was only on the lost ISR)", got)
	}
	// The clean topic waits for broker 1, and has everything.
	c.Node(1).StartAgain()
	waitFor(t, "clean led by broker 1", func() bool { return leaders(t, adm3, "clean")[0] == 1 })
	got = readAll(t, []string{c.Node(1).Addr(), c.Node(2).Addr()}, "clean", 2)
	if !got["c1"] || !got["c2"] {
		t.Fatalf("clean holds %v, want c1 and c2", got)
	}
}
