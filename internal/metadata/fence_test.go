package metadata

import (
	"encoding/json"
	"testing"
)

// Any node plans against its own image, so a plan and a fence can pass
// each other in the log. Kafka's controller never makes a fenced broker a
// leader or adds one to an ISR, and a fence leaves no partition led by
// the broker; an entry that would break that conflicts where it is
// applied and is planned again. Found by the deterministic simulation
// (internal/sim, seeds 1 and 7 at the time).
func TestFencePassingAPlanConflicts(t *testing.T) {
	s, err := OpenWith(Options{Dir: t.TempDir(), NodeID: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var index uint64 = 100
	apply := func(recs []Record) bool {
		t.Helper()
		index++
		data, err := json.Marshal(entry{Node: 9, Incarnation: 1, Req: index, Records: recs})
		if err != nil {
			t.Fatal(err)
		}
		before := s.Image().Offset
		(*fsm)(s).Apply(index, data)
		return s.Image().Offset > before
	}
	for id := int32(1); id <= 3; id++ {
		if !apply([]Record{{Type: TypeBroker, Broker: &BrokerRecord{ID: id, Host: "h", Port: 9092, Incarnation: "i"}}}) {
			t.Fatalf("broker %d not registered", id)
		}
	}
	create := func(im *Image, name string) []Record {
		recs, err := CreateTopicRecords(im, CreateTopic{Name: name, Assignment: [][]int32{{2, 1}}}, 1)
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}

	// A topic placed on broker 2, committed after 2 was fenced.
	im := s.Image()
	if !apply(FenceBrokerRecords(im, 2)) {
		t.Fatal("fence not applied")
	}
	if apply(create(im, "a")) {
		t.Fatal("a topic led by a fenced broker was created")
	}
	if _, err := s.Commit(func(*Image) ([]Record, error) { return create(im, "a"), nil }); err == nil {
		t.Fatal("a plan with a fenced leader was proposed")
	}

	// A fence planned before a topic on the broker was created, committed
	// after it: the fence did not move that topic's leadership.
	if !apply(UnfenceBrokerRecords(s.Image(), 2)) {
		t.Fatal("unfence not applied")
	}
	im = s.Image()
	fence := FenceBrokerRecords(im, 2)
	if !apply(create(im, "b")) {
		t.Fatal("topic b not created")
	}
	if apply(fence) {
		t.Fatal("a fence that leaves the broker leading a partition was applied")
	}
	if !apply(FenceBrokerRecords(s.Image(), 2)) {
		t.Fatal("the fence planned again was not applied")
	}
	b, _ := s.Image().Topic("b")
	if p := b.Partitions[0]; p.Leader != 1 || len(p.ISR) != 1 || p.ISR[0] != 1 {
		t.Fatalf("b-0 after the fence: leader %d ISR %v, want 1 and [1]", p.Leader, p.ISR)
	}

	// An ISR expansion to broker 2 planned before 2 was fenced (the fence
	// moves nothing: 2 is not in b-0's ISR).
	if !apply(UnfenceBrokerRecords(s.Image(), 2)) {
		t.Fatal("unfence of 2 not applied")
	}
	im = s.Image()
	grow, err := ChangeISRRecords(im, "b", 0, 1, b.Partitions[0].LeaderEpoch, -1, []int32{1, 2})
	if err != nil || len(grow) == 0 {
		t.Fatalf("ISR change: %v %v", grow, err)
	}
	if !apply(FenceBrokerRecords(im, 2)) {
		t.Fatal("fence of 2 again not applied")
	}
	if apply(grow) {
		t.Fatal("a fenced broker joined an ISR")
	}
}
