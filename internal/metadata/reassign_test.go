package metadata

import (
	"slices"
	"testing"
)

// A reassignment that replaces a running one keeps the ISR within the new
// replica set: the replicas the old one was adding, and the new one drops,
// leave the ISR and the leadership. Found by the deterministic simulation
// (internal/sim, seed 12715 at the time): the ISR kept a broker that was
// no longer a replica.
func TestReassignReplacingARunningOne(t *testing.T) {
	id := UUID{7}
	im := emptyImage()
	for _, b := range []int32{1, 2, 3} {
		var err error
		if im, err = im.apply(Record{Type: TypeBroker, Broker: &BrokerRecord{ID: b, Incarnation: "i"}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []Record{
		{Type: TypeTopic, Topic: &TopicRecord{Name: "t", ID: id}},
		// A reassignment from [2] to [2 1] is running, and 1 has caught
		// up and leads.
		{Type: TypePartition, Partition: &PartitionRecord{TopicID: id, Replicas: []int32{2, 1}, ISR: []int32{2, 1}, Leader: 1, LeaderEpoch: 1, Adding: []int32{1}}},
	} {
		var err error
		if im, err = im.apply(r); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := ReassignRecords(im, "t", 0, []int32{3, 2})
	if err != nil || len(recs) != 1 {
		t.Fatalf("reassign: %v %v", recs, err)
	}
	p := recs[0].Partition
	for _, r := range p.ISR {
		if !slices.Contains(p.Replicas, r) {
			t.Fatalf("ISR %v holds %d, not a replica of %v", p.ISR, r, p.Replicas)
		}
	}
	if p.Leader != 2 || p.LeaderEpoch != 2 {
		t.Fatalf("leader %d epoch %d, want 2 and 2 (1 is no longer a replica)", p.Leader, p.LeaderEpoch)
	}
	if _, err := im.apply(recs[0]); err != nil {
		t.Fatal(err)
	}
}
