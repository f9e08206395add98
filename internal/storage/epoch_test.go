package storage

import "testing"

// TestAssignLeaderEpochAnswersOlderEpochs: a leader whose records are all
// of epoch 0 and whose term is epoch 2 (it led, lost and regained the
// leadership without appending) assigns epoch 2 at its log end, so a
// follower asking where epoch 1 ended is told "where epoch 2 began" with
// epoch 0, not "undefined" (which made the follower cut its whole log).
// Appends of epoch 2 then add no entry; a later epoch does.
func TestAssignLeaderEpochAnswersOlderEpochs(t *testing.T) {
	_, l := createTestLog(t, t.TempDir(), Config{})
	for range 4 {
		mustAppend(t, l, makeBatch(t, spec{records: 1, valueSize: 10}), 0)
	}
	if e, off := l.EndOffsetForEpoch(1); e != -1 || off != -1 {
		t.Fatalf("before the leader's epoch is assigned: epoch 1 ends at (%d, %d); the test expects undefined", e, off)
	}
	l.AssignLeaderEpoch(2)
	if e, off := l.EndOffsetForEpoch(1); e != 0 || off != 4 {
		t.Fatalf("epoch 1 ends at (%d, %d), want epoch 0 up to 4", e, off)
	}
	if e, off := l.EndOffsetForEpoch(2); e != 2 || off != 4 {
		t.Fatalf("epoch 2 ends at (%d, %d), want the log end 4", e, off)
	}
	mustAppend(t, l, makeBatch(t, spec{records: 1, valueSize: 10}), 2)
	l.AssignLeaderEpoch(2) // the same term again: nothing changes
	if got := l.Epochs(); len(got) != 2 || got[1] != (EpochEntry{Epoch: 2, StartOffset: 4}) {
		t.Fatalf("epochs %v, want [0@0 2@4]", got)
	}
	l.AssignLeaderEpoch(3)
	if e, off := l.EndOffsetForEpoch(2); e != 2 || off != 5 {
		t.Fatalf("epoch 2 ends at (%d, %d), want 5 where epoch 3 begins", e, off)
	}
}
