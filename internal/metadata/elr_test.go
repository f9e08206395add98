package metadata

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// elrTopic makes brokers 1-3 and a topic of one partition, replication
// factor 3, with min.insync.replicas as given ("" for none).
func elrTopic(t *testing.T, minISR string) (*Image, []int32) {
	t.Helper()
	im := emptyImage()
	for id := int32(1); id <= 3; id++ {
		im = applyAll(t, im, []Record{{Type: TypeBroker, Broker: &BrokerRecord{ID: id, Incarnation: "x"}}})
	}
	ct := CreateTopic{Name: "t", Partitions: 1, ReplicationFactor: 3}
	if minISR != "" {
		ct.Configs = map[string]string{"min.insync.replicas": minISR}
	}
	recs, err := CreateTopicRecords(im, ct, 1)
	if err != nil {
		t.Fatal(err)
	}
	im = applyAll(t, im, recs)
	tp, _ := im.Topic("t")
	return im, tp.Partitions[0].Replicas
}

func part(im *Image) Partition {
	tp, _ := im.Topic("t")
	return tp.Partitions[0]
}

// A replica that leaves the ISR when fewer than min.insync.replicas
// remain joins the ELR; one that leaves while enough remain does not; the
// ELR empties once the ISR is large enough again.
func TestELRFollowsTheISR(t *testing.T) {
	im, r := elrTopic(t, "2")
	leader, f1, f2 := r[0], r[1], r[2]
	im = applyAll(t, im, FenceBrokerRecords(im, f2))
	if p := part(im); len(p.ELR) != 0 || len(p.ISR) != 2 {
		t.Fatalf("ISR of two left: ISR %v ELR %v, want no ELR", p.ISR, p.ELR)
	}
	im = applyAll(t, im, FenceBrokerRecords(im, f1))
	if p := part(im); !slices.Equal(p.ELR, []int32{f1}) || !slices.Equal(p.ISR, []int32{leader}) {
		t.Fatalf("ISR down to the leader: ISR %v ELR %v, want ELR [%d]", p.ISR, p.ELR, f1)
	}
	// f1 comes back and is asked into the ISR: the ISR has two again.
	im = applyAll(t, im, []Record{{Type: TypeFence, Fence: &FenceRecord{ID: f1, Incarnation: "x", Fenced: false}}})
	p := part(im)
	recs, err := ChangeISRRecords(im, "t", 0, leader, p.LeaderEpoch, p.PartitionEpoch, []int32{leader, f1})
	if err != nil {
		t.Fatal(err)
	}
	im = applyAll(t, im, recs)
	if p := part(im); len(p.ELR) != 0 {
		t.Fatalf("ISR back to two: ELR %v, want none", p.ELR)
	}
	// Without min.insync.replicas (1), there is never an ELR.
	im, r = elrTopic(t, "")
	im = applyAll(t, im, FenceBrokerRecords(im, r[2]))
	im = applyAll(t, im, FenceBrokerRecords(im, r[1]))
	if p := part(im); len(p.ELR) != 0 {
		t.Fatalf("min.insync.replicas 1: ELR %v", p.ELR)
	}
}

// The ISR's last member, back from an unclean shutdown that lost its page
// cache, gives its place to an eligible leader replica (which leads once
// it is unfenced), and is never elected on the strength of the ISR it
// was the last of; with no ELR it stays, the last resort.
func TestUncleanLastISRMemberGivesWayToELR(t *testing.T) {
	im, r := elrTopic(t, "2")
	leader, f1, f2 := r[0], r[1], r[2]
	im = applyAll(t, im, FenceBrokerRecords(im, f2))
	im = applyAll(t, im, FenceBrokerRecords(im, f1))
	im = applyAll(t, im, FenceBrokerRecords(im, leader))
	p := part(im)
	if p.Leader != -1 || !slices.Equal(p.ISR, []int32{leader}) || !slices.Equal(p.ELR, []int32{f1}) {
		t.Fatalf("all down: leader %d ISR %v ELR %v", p.Leader, p.ISR, p.ELR)
	}
	// The last member registers again, its page cache lost.
	im = applyAll(t, im, append([]Record{{Type: TypeBroker, Broker: &BrokerRecord{ID: leader, Incarnation: "y"}}}, UncleanRecords(im, leader)...))
	p = part(im)
	if !slices.Equal(p.ISR, []int32{f1}) || p.Leader != -1 || len(p.ELR) != 0 {
		t.Fatalf("after the unclean registration: leader %d ISR %v ELR %v, want ISR [%d], no leader (it is fenced), no ELR", p.Leader, p.ISR, p.ELR, f1)
	}
	im = applyAll(t, im, UnfenceBrokerRecords(im, leader))
	im = applyAll(t, im, ElectOfflineRecords(im, nil))
	if p := part(im); p.Leader == leader {
		t.Fatalf("the uncleanly shut down broker was elected")
	}
	im = applyAll(t, im, UnfenceBrokerRecords(im, f1))
	im = applyAll(t, im, ElectOfflineRecords(im, nil))
	if p := part(im); p.Leader != f1 {
		t.Fatalf("the eligible leader replica back: leader %d, want %d", p.Leader, f1)
	}

	// No ELR (min.insync.replicas 1): the last member stays.
	im, r = elrTopic(t, "")
	for _, id := range []int32{r[2], r[1], r[0]} {
		im = applyAll(t, im, FenceBrokerRecords(im, id))
	}
	if recs := UncleanRecords(im, r[0]); len(recs) != 0 {
		t.Fatalf("no ELR, yet planned %+v", recs)
	}
	// A member of a larger ISR simply leaves it.
	im, r = elrTopic(t, "2")
	im = applyAll(t, im, UncleanRecords(im, r[1]))
	if p := part(im); slices.Contains(p.ISR, r[1]) || p.Leader != r[0] || len(p.ELR) != 0 {
		t.Fatalf("unclean follower: leader %d ISR %v ELR %v", p.Leader, p.ISR, p.ELR)
	}
}

// A store opened with HoldCatchUp reports no catch-up and runs no
// OnCaughtUp function until ReleaseCatchUp, though its quorum (a single
// node here) has caught up; then it runs each once.
func TestHoldCatchUp(t *testing.T) {
	s, err := OpenWith(Options{Dir: t.TempDir(), NodeID: 1, HoldCatchUp: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	ran := make(chan struct{}, 4)
	s.OnCaughtUp(func() { ran <- struct{}{} })
	// Commits go on while held (the registration is one).
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; !s.q.CaughtUp(); i++ {
		if time.Now().After(deadline) {
			t.Fatal("the single-node quorum never caught up")
		}
		if _, err := s.Commit(func(im *Image) ([]Record, error) {
			return []Record{{Type: TypeBroker, Broker: &BrokerRecord{ID: 1, Incarnation: fmt.Sprint(i)}}}, nil
		}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s.CaughtUp() || len(ran) != 0 {
		t.Fatalf("held, yet caught up %v, %d functions ran", s.CaughtUp(), len(ran))
	}
	s.ReleaseCatchUp()
	if !s.CaughtUp() || len(ran) != 1 {
		t.Fatalf("released: caught up %v, %d functions ran, want once", s.CaughtUp(), len(ran))
	}
	s.ReleaseCatchUp()
	if len(ran) != 1 {
		t.Fatalf("a second release ran the functions again")
	}
}
