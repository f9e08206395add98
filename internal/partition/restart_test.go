package partition

import (
	"slices"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// A replica that restarts and finds itself the leader in its (possibly
// stale) metadata image must not take its log end for the high
// watermark when other replicas are in sync: its tail may never have
// reached them, and another leader may have taken over while it was
// down, so consumers would read records that are later truncated. It
// shows nothing new until its followers fetch. Alone in the ISR, its log
// end is committed. A replica that reopens as a follower and comes to lead
// before it heard from its leader is in the same place. Found by the deterministic simulation (internal/sim,
// TestSimReplication seeds 23 and 38 at the time).
func TestRestartedLeaderHighWatermark(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(1000, 0)
	d, err := storage.OpenDir(dir, storage.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := d.CreateLog("t", 0, [16]byte{1}, storage.Config{})
	if err != nil {
		t.Fatal(err)
	}
	p := NewReplica("t", 0, [16]byte{1}, l, config.Topic{}, 0, 1, nil)
	for range 2 {
		if _, err := p.Append(testBatch(1), now, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		isr         []int32
		followFirst bool // a follower in its first image, the leader in the next
		wantHW      int64
	}{
		{[]int32{1, 2}, false, 0},
		{[]int32{1}, false, 2},
		{[]int32{1, 2}, true, 0},
	} {
		d, err := storage.OpenDir(dir, storage.Config{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		l, _ := d.Log("t", 0)
		p := NewReplica("t", 0, [16]byte{1}, l, config.Topic{}, 0, 1, func(*Partition, ISRRequest) {})
		epoch := int32(0)
		if tc.followFirst {
			p.ApplyMetadata(metadata.Partition{Replicas: []int32{1, 2}, ISR: []int32{2, 1}, Leader: 2, LeaderEpoch: 1, PartitionEpoch: 1}, now)
			epoch = 2
		}
		p.ApplyMetadata(metadata.Partition{Replicas: []int32{1, 2}, ISR: tc.isr, Leader: 1, LeaderEpoch: epoch, PartitionEpoch: epoch}, now)
		if hw := p.HighWatermark(); hw != tc.wantHW {
			t.Errorf("ISR %v (follower first: %v): high watermark %d after the restart, want %d", tc.isr, tc.followFirst, hw, tc.wantHW)
		}
		if err := p.FollowerFetched(2, 2, now); err != nil {
			t.Fatal(err)
		}
		if hw := p.HighWatermark(); hw != 2 {
			t.Errorf("ISR %v: high watermark %d once the follower fetched at 2, want 2", tc.isr, hw)
		}
		d.Close()
	}
}

// A follower joins the ISR only once it has everything the leader had
// when its leadership began, not merely the leader's high watermark,
// which lags it after a restart (above) or when a follower whose high
// watermark lagged its log comes to lead: an ISR member that lacks
// committed records could be elected and lose them. Found by the
// deterministic simulation (internal/sim, TestSimReplication seed 1025 at
// the time).
func TestISRExpansionNeedsTheEpochStart(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(1000, 0)
	d, err := storage.OpenDir(dir, storage.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	l, err := d.CreateLog("t", 0, [16]byte{1}, storage.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var asked []ISRRequest
	p := NewReplica("t", 0, [16]byte{1}, l, config.Topic{}, 0, 1, func(_ *Partition, req ISRRequest) { asked = append(asked, req) })
	// A follower of node 2 with two batches and a high watermark of 0.
	p.ApplyMetadata(metadata.Partition{Replicas: []int32{2, 1, 3}, ISR: []int32{2, 1}, Leader: 2, LeaderEpoch: 0}, now)
	p.TruncateAfterEpoch(0, 0, 0)
	if _, err := p.AppendReplicated(append(testBatchAt(0), testBatchAt(1)...), 0, now); err != nil {
		t.Fatal(err)
	}
	// It comes to lead; node 2 (in the ISR) has not fetched yet, node 3
	// is out of the ISR.
	p.ApplyMetadata(metadata.Partition{Replicas: []int32{2, 1, 3}, ISR: []int32{2, 1}, Leader: 1, LeaderEpoch: 1, PartitionEpoch: 1}, now)
	if hw := p.HighWatermark(); hw != 0 {
		t.Fatalf("high watermark %d, want 0 (the follower's)", hw)
	}
	if err := p.FollowerFetched(3, 0, now); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 0 {
		t.Fatalf("node 3 asked into the ISR %v at offset 0, before the leader's epoch start 2", asked)
	}
	if err := p.FollowerFetched(3, 2, now); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 {
		t.Fatalf("node 3 at the epoch start not asked into the ISR: %v", asked)
	}
}

// testBatchAt is a one-record batch at offset off.
func testBatchAt(off int64) []byte {
	b := testBatch(1)
	record.SetBaseOffset(b, off)
	return b
}

// Once a leader has asked for a follower to join the ISR, the high
// watermark and acks=all count that follower until the change is applied
// or refused (Kafka's maximal ISR, KIP-497): the controller may elect it
// as soon as the change commits, before the leader applies it, so what
// the leader acknowledges meanwhile must be on it. Found by the
// deterministic simulation (internal/sim, TestSimReplication seeds 1146
// and 1329 at the time).
func TestPendingISRExpansionCounts(t *testing.T) {
	d, err := storage.OpenDir(t.TempDir(), storage.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	l, err := d.CreateLog("t", 0, [16]byte{1}, storage.Config{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	var asked []ISRRequest
	p := NewReplica("t", 0, [16]byte{1}, l, config.Topic{MinInsyncReplicas: 1}, 0, 1, func(_ *Partition, req ISRRequest) { asked = append(asked, req) })
	p.ApplyMetadata(metadata.Partition{Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: 1}, now)
	if err := p.FollowerFetched(2, 0, now); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 {
		t.Fatalf("follower 2 caught up but not asked into the ISR: %v", asked)
	}
	acked := false
	if _, err := p.Append(testBatch(1), now, func(err error) { acked = err == nil }); err != nil {
		t.Fatal(err)
	}
	if acked || p.HighWatermark() != 0 {
		t.Fatalf("acknowledged (%v) at high watermark %d before follower 2, asked into the ISR, has the record", acked, p.HighWatermark())
	}
	if err := p.FollowerFetched(2, 1, now); err != nil {
		t.Fatal(err)
	}
	if !acked || p.HighWatermark() != 1 {
		t.Fatalf("after follower 2 fetched: acknowledged %v, high watermark %d", acked, p.HighWatermark())
	}
	// Whatever the controller answered, the change stays counted until the
	// partition epoch moves: one whose commit timed out may still commit
	// and make follower 2 electable. An image that changes something else
	// (the same partition epoch: a broker registered) settles nothing.
	p.ApplyMetadata(metadata.Partition{Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: 1}, now)
	acked = false
	if _, err := p.Append(testBatch(1), now, func(err error) { acked = err == nil }); err != nil {
		t.Fatal(err)
	}
	if acked || p.HighWatermark() != 1 {
		t.Fatalf("acknowledged (%v) at high watermark %d without follower 2 while its expansion may still commit", acked, p.HighWatermark())
	}
	// The leader asks again, for the same change on the same partition
	// epoch, once isrAskAgain has passed without an answer in the image.
	p.CheckLaggards(now.Add(isrAskAgain/2), time.Hour)
	if len(asked) != 1 {
		t.Fatalf("asked again before isrAskAgain: %v", asked)
	}
	p.CheckLaggards(now.Add(isrAskAgain), time.Hour)
	if len(asked) != 2 || !slices.Equal(asked[1].ISR, []int32{1, 2}) || asked[1].PartitionEpoch != 0 || asked[1].LeaderEpoch != 0 {
		t.Fatalf("after isrAskAgain the leader asked %+v, want the same change again", asked)
	}
	// Settled without follower 2 (the partition epoch moved, so any
	// proposal of the change conflicts now): the applied ISR counts again.
	p.ApplyMetadata(metadata.Partition{Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: 1, PartitionEpoch: 1}, now)
	if p.HighWatermark() != 2 || !acked {
		t.Fatalf("high watermark %d (acknowledged %v) after the change was settled without follower 2, want 2 (alone in the ISR)", p.HighWatermark(), acked)
	}
}

// A replica that comes to lead assigns its leader epoch at its log end,
// so a follower asking where an epoch it lived through ended (one this
// leader has no records of) gets an answer and keeps its log; the leader
// answered "undefined" and the follower cut its log to nothing (found by
// the simulation, replication soak seed 8565: that follower was in the
// ISR, led next, and an acknowledged offset commit was gone).
func TestNewLeaderAssignsItsEpoch(t *testing.T) {
	p, now := openReplica(t)
	p.ApplyMetadata(metadata.Partition{Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: 1}, now)
	for range 4 {
		if _, err := p.Append(testBatch(1), now, nil); err != nil {
			t.Fatal(err)
		}
	}
	p.ApplyMetadata(metadata.Partition{Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 2, LeaderEpoch: 1, PartitionEpoch: 1}, now)
	p.ApplyMetadata(metadata.Partition{Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1, LeaderEpoch: 2, PartitionEpoch: 2}, now)
	if e, off := p.Log().EndOffsetForEpoch(1); e != 0 || off != 4 {
		t.Fatalf("the new leader says epoch 1 ends at (%d, %d), want epoch 0 up to 4", e, off)
	}
}

// A follower that led an epoch the new leader never saw cuts its log at
// the end of the epoch they share, not at the leader's end of it (KIP-279):
// node 1 wrote offset 0 in epoch 0, led epoch 1 and wrote offsets 1-4 that
// nobody else had; node 3, which has offsets 0 and 1 of epoch 0, leads
// epoch 2 and answers "epoch 0, up to 2". Node 1 must cut at 1, where its
// own epoch 0 ended: cutting at 2 kept its offset 1 of epoch 1 below node
// 3's offset 1 of epoch 0 (found by the simulation: the logs of two
// in-sync replicas differed, replication soak seeds 20841 and 21014).
func TestTruncationTakesTheEarlierEpochEnd(t *testing.T) {
	p, now := openReplica(t)
	p.ApplyMetadata(metadata.Partition{Replicas: []int32{1, 3}, ISR: []int32{1}, Leader: 1}, now)
	if _, err := p.Append(testBatch(1), now, nil); err != nil {
		t.Fatal(err)
	}
	p.ApplyMetadata(metadata.Partition{Replicas: []int32{1, 3}, ISR: []int32{1}, Leader: 1, LeaderEpoch: 1, PartitionEpoch: 1}, now)
	for range 4 {
		if _, err := p.Append(testBatch(1), now, nil); err != nil {
			t.Fatal(err)
		}
	}
	p.ApplyMetadata(metadata.Partition{Replicas: []int32{1, 3}, ISR: []int32{3}, Leader: 3, LeaderEpoch: 2, PartitionEpoch: 2}, now)
	if trunc, e := p.NeedsTruncation(); !trunc || e != 2 {
		t.Fatalf("NeedsTruncation %v %d, want true for epoch 2", trunc, e)
	}
	if err := p.TruncateAfterEpoch(2, 0, 2); err != nil {
		t.Fatal(err)
	}
	if p.LocalEnd() != 1 {
		t.Fatalf("log end %d after the leader said epoch 0 ends at 2, want 1 where this replica's epoch 0 ended", p.LocalEnd())
	}
	if trunc, _ := p.NeedsTruncation(); trunc {
		t.Fatal("still truncating after an answer for an epoch it has")
	}
}

// When the leader answers with an epoch the follower has no record of,
// the follower cuts at the end of its own largest epoch below it and asks
// again.
func TestTruncationAsksAgainForAnUnknownEpoch(t *testing.T) {
	p, now := openReplica(t)
	leadAndAppend(t, p, 0, 0, 2, now)
	leadAndAppend(t, p, 2, 1, 2, now)
	p.ApplyMetadata(metadata.Partition{Replicas: []int32{1, 3}, ISR: []int32{3}, Leader: 3, LeaderEpoch: 3, PartitionEpoch: 2}, now)
	// The leader has epoch 1 (which this replica never saw) up to 3.
	if err := p.TruncateAfterEpoch(3, 1, 3); err != nil {
		t.Fatal(err)
	}
	if p.LocalEnd() != 2 {
		t.Fatalf("log end %d, want 2 where this replica's epoch 0 ended", p.LocalEnd())
	}
	if trunc, _ := p.NeedsTruncation(); !trunc {
		t.Fatal("the truncation is done after an answer about an epoch this replica does not have; it must ask again")
	}
}

// A replica that led a term and wrote nothing in it has that epoch in its
// cache at its log end. Truncating by epochs, when the leader names an
// earlier epoch it has no record of, it cuts at its log end: that empty
// epoch must go there too, or its latest epoch stays the same and it
// asks the leader the same question forever, never fetching (found by
// the power-cut campaign: a node back from a power cut never rejoined the
// ISR).
func TestTruncationAtTheLogEndDropsAnEmptyEpoch(t *testing.T) {
	p, now := openReplica(t)
	leadAndAppend(t, p, 0, 0, 2, now)
	leadAndAppend(t, p, 2, 1, 0, now) // a second term, nothing written in it
	if e := p.log.LatestEpoch(); e != 2 {
		t.Fatalf("latest epoch %d after the empty term began, want 2", e)
	}
	p.ApplyMetadata(metadata.Partition{Replicas: []int32{1, 3}, ISR: []int32{3}, Leader: 3, LeaderEpoch: 3, PartitionEpoch: 2}, now)
	// The leader has epoch 1 (which this replica never saw) up to 5.
	if err := p.TruncateAfterEpoch(3, 1, 5); err != nil {
		t.Fatal(err)
	}
	if p.LocalEnd() != 2 {
		t.Fatalf("log end %d, want 2", p.LocalEnd())
	}
	if e := p.log.LatestEpoch(); e != 0 {
		t.Fatalf("latest epoch %d after the cut at the log end, want 0: the next question would be the same", e)
	}
	if trunc, _ := p.NeedsTruncation(); !trunc {
		t.Fatal("no record of epoch 1 here: it must ask again")
	}
	// Asked about epoch 0, the leader says it ends at 2: done.
	if err := p.TruncateAfterEpoch(3, 0, 2); err != nil {
		t.Fatal(err)
	}
	if trunc, _ := p.NeedsTruncation(); trunc || p.LocalEnd() != 2 {
		t.Fatalf("after the second answer: truncating %v, log end %d", trunc, p.LocalEnd())
	}
}

// leadAndAppend makes node 1 the leader of p, alone in its ISR, at the
// given epochs, and appends n batches.
func leadAndAppend(t *testing.T, p *Partition, leaderEpoch, partEpoch int32, n int, now time.Time) {
	t.Helper()
	p.ApplyMetadata(metadata.Partition{Replicas: []int32{1, 3}, ISR: []int32{1}, Leader: 1, LeaderEpoch: leaderEpoch, PartitionEpoch: partEpoch}, now)
	for range n {
		if _, err := p.Append(testBatch(1), now, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// openReplica is node 1's replica of t-0 on a new log, asking for no ISR
// change, and the time the tests use.
func openReplica(t *testing.T) (*Partition, time.Time) {
	t.Helper()
	d, err := storage.OpenDir(t.TempDir(), storage.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	l, err := d.CreateLog("t", 0, [16]byte{1}, storage.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return NewReplica("t", 0, [16]byte{1}, l, config.Topic{}, 0, 1, func(*Partition, ISRRequest) {}), time.Unix(1000, 0)
}
