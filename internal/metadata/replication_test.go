package metadata

import (
	"slices"
	"testing"
)

// applyAll applies recs to im or fails the test.
func applyAll(t *testing.T, im *Image, recs []Record) *Image {
	t.Helper()
	for _, r := range recs {
		var err error
		if im, err = im.apply(r); err != nil {
			t.Fatalf("apply %+v: %v", r, err)
		}
	}
	return im
}

// A partition whose whole ISR is fenced stays offline, unless its topic
// allows unclean election: then a live replica outside the ISR leads,
// alone in the ISR, with a new leader epoch.
func TestElectOfflineUnclean(t *testing.T) {
	im := emptyImage()
	for id := int32(1); id <= 3; id++ {
		im = applyAll(t, im, []Record{{Type: TypeBroker, Broker: &BrokerRecord{ID: id, Incarnation: "x"}}})
	}
	recs, err := CreateTopicRecords(im, CreateTopic{Name: "t", Partitions: 1, ReplicationFactor: 3}, 1)
	if err != nil {
		t.Fatal(err)
	}
	im = applyAll(t, im, recs)
	tp, _ := im.Topic("t")
	reps := tp.Partitions[0].Replicas
	// The last replica falls out of the ISR, then the other two are fenced.
	im = applyAll(t, im, FenceBrokerRecords(im, reps[2]))
	im = applyAll(t, im, []Record{{Type: TypeFence, Fence: &FenceRecord{ID: reps[2], Incarnation: "x", Fenced: false}}})
	im = applyAll(t, im, FenceBrokerRecords(im, reps[0]))
	im = applyAll(t, im, FenceBrokerRecords(im, reps[1]))
	tp, _ = im.Topic("t")
	pm := tp.Partitions[0]
	if pm.Leader != -1 || slices.Contains(pm.ISR, reps[2]) {
		t.Fatalf("after fencing the ISR: leader %d ISR %v (replica %d is out of it)", pm.Leader, pm.ISR, reps[2])
	}
	if recs := ElectOfflineRecords(im, nil); len(recs) != 0 {
		t.Fatalf("clean election planned %+v", recs)
	}
	if recs := ElectOfflineRecords(im, func(string) bool { return false }); len(recs) != 0 {
		t.Fatalf("unclean election off, yet planned %+v", recs)
	}
	im = applyAll(t, im, ElectOfflineRecords(im, func(topic string) bool { return topic == "t" }))
	tp, _ = im.Topic("t")
	got := tp.Partitions[0]
	if got.Leader != reps[2] || !slices.Equal(got.ISR, []int32{reps[2]}) || got.LeaderEpoch <= pm.LeaderEpoch {
		t.Fatalf("unclean election: leader %d ISR %v epoch %d (was %d), want %d alone", got.Leader, got.ISR, got.LeaderEpoch, pm.LeaderEpoch, reps[2])
	}
}
