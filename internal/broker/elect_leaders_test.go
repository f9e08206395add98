package broker

import (
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-streaming/samsa/internal/metadata"
)

// imageOf returns the image right after the entries are applied, each as
// one entry, in order, to a fresh single-node store. The store's active
// controller may change the image later (it elects leaders for leaderless
// partitions, takes fenced brokers out of ISRs); the image captured here
// is the one the entries made.
func imageOf(t *testing.T, entries ...[]metadata.Record) *metadata.Image {
	t.Helper()
	s, err := metadata.OpenWith(metadata.Options{Dir: t.TempDir(), NodeID: 1, SessionTimeout: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	last := entries[len(entries)-1]
	mine := make(chan *metadata.Image, 1)
	s.OnCommit(func(_, next *metadata.Image, applied []metadata.Record) {
		if reflect.DeepEqual(applied, last) {
			mine <- next
		}
	})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	for _, recs := range entries {
		if _, err := s.Commit(func(*metadata.Image) ([]metadata.Record, error) { return recs, nil }); err != nil {
			t.Fatal(err)
		}
	}
	return <-mine
}

// TestPlanElections runs both election types over partitions in every
// state that decides an election: the records carry the next partition
// epoch and leader epoch, and each refusal has Kafka's error code.
func TestPlanElections(t *testing.T) {
	topicID := metadata.UUID{1}
	recs := []metadata.Record{}
	for id := int32(1); id <= 3; id++ {
		recs = append(recs, metadata.Record{Type: metadata.TypeBroker, Broker: &metadata.BrokerRecord{ID: id, Host: "h", Port: 9000 + id, Incarnation: "fixture"}})
	}
	recs = append(recs, metadata.Record{Type: metadata.TypeTopic, Topic: &metadata.TopicRecord{Name: "t", ID: topicID}})
	// Each partition before broker 3 is fenced (ISR before) and after:
	// fenced, as Kafka's controller does it, broker 3 leaves every ISR
	// where it is not the last member, in the same entry as its fence.
	parts := []struct {
		replicas, before, isr []int32
		leader                int32
	}{
		{[]int32{1, 2, 3}, []int32{1, 2, 3}, []int32{1, 2}, 1}, // 0: led by its preferred replica
		{[]int32{1, 2, 3}, []int32{2, 3}, []int32{2}, 2},       // 1: preferred replica out of the ISR
		{[]int32{1, 2, 3}, []int32{1, 2, 3}, []int32{1, 2}, 2}, // 2: preferred replica in the ISR, not leading
		{[]int32{3, 1, 2}, []int32{3}, []int32{3}, -1},         // 3: preferred replica fenced, the only ISR member
		{[]int32{2, 3, 1}, []int32{2, 3}, []int32{2}, -1},      // 4: leaderless with a live ISR member
		{[]int32{3}, []int32{3}, []int32{3}, -1},               // 5: its only replica fenced
	}
	fence := []metadata.Record{{Type: metadata.TypeFence, Fence: &metadata.FenceRecord{ID: 3, Incarnation: "fixture", Fenced: true}}}
	for i, p := range parts {
		recs = append(recs, metadata.Record{Type: metadata.TypePartition, Partition: &metadata.PartitionRecord{
			TopicID: topicID, Partition: int32(i), Replicas: p.replicas, ISR: p.before, Leader: p.leader, LeaderEpoch: 4, PartitionEpoch: 6}})
		fence = append(fence, metadata.Record{Type: metadata.TypePartition, Partition: &metadata.PartitionRecord{
			TopicID: topicID, Partition: int32(i), Replicas: p.replicas, ISR: p.isr, Leader: p.leader, LeaderEpoch: 4, PartitionEpoch: 7}})
	}
	im := imageOf(t, recs, fence)

	type want struct {
		err    *kerr.Error // nil: elected
		leader int32
		isr    []int32
	}
	cases := []struct {
		name  string
		typ   int8
		wants map[int32]want
	}{
		{"preferred", electionPreferred, map[int32]want{
			0: {err: kerr.ElectionNotNeeded},
			1: {err: kerr.PreferredLeaderNotAvailable},
			2: {leader: 1, isr: []int32{1, 2}},
			3: {err: kerr.PreferredLeaderNotAvailable},
			4: {leader: 2, isr: []int32{2}},
			5: {err: kerr.PreferredLeaderNotAvailable},
			9: {err: kerr.UnknownTopicOrPartition},
		}},
		{"unclean", electionUnclean, map[int32]want{
			0: {err: kerr.ElectionNotNeeded},
			1: {err: kerr.ElectionNotNeeded},
			2: {err: kerr.ElectionNotNeeded},
			3: {leader: 1, isr: []int32{1}}, // unclean: outside the ISR
			4: {leader: 2, isr: []int32{2}}, // clean: an ISR member
			5: {err: kerr.EligibleLeadersNotAvailable},
			9: {err: kerr.UnknownTopicOrPartition},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var targets []electTarget
			for p := range int32(10) {
				if _, ok := tc.wants[p]; ok {
					targets = append(targets, electTarget{"t", p})
				}
			}
			targets = append(targets, electTarget{"t", 2}) // named twice: planned once
			recs, results := planElections(im, tc.typ, targets)
			if len(results) != len(targets) {
				t.Fatalf("%d results for %d targets", len(results), len(targets))
			}
			byPartition := map[int32]metadata.PartitionRecord{}
			for _, r := range recs {
				if r.Type != metadata.TypePartition || r.Partition.TopicID != topicID {
					t.Fatalf("unexpected record %+v", r)
				}
				if _, dup := byPartition[r.Partition.Partition]; dup {
					t.Fatalf("two records for partition %d", r.Partition.Partition)
				}
				byPartition[r.Partition.Partition] = *r.Partition
			}
			for _, res := range results {
				w := tc.wants[res.partition]
				rec, planned := byPartition[res.partition]
				if w.err != nil {
					if !errors.Is(res.err, w.err) || planned {
						t.Errorf("partition %d: %v (record planned: %v), want %v", res.partition, res.err, planned, w.err)
					}
					continue
				}
				if res.err != nil || !planned {
					t.Errorf("partition %d: %v, planned %v; want elected", res.partition, res.err, planned)
					continue
				}
				if rec.Leader != w.leader || !slices.Equal(rec.ISR, w.isr) || rec.LeaderEpoch != 5 || rec.PartitionEpoch != 8 ||
					!slices.Equal(rec.Replicas, parts[res.partition].replicas) {
					t.Errorf("partition %d: record %+v, want leader %d ISR %v epochs 5/8", res.partition, rec, w.leader, w.isr)
				}
			}
		})
	}

	// Every partition (targets nil): the ones that need no election are
	// left out of the results, as Kafka does.
	_, results := planElections(im, electionPreferred, nil)
	var got []int32
	for _, r := range results {
		got = append(got, r.partition)
	}
	if !slices.Equal(got, []int32{1, 2, 3, 4, 5}) {
		t.Errorf("all partitions: results for %v, want [1 2 3 4 5]", got)
	}
}
