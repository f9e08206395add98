package storage

import (
	"testing"
	"time"
)

// TestRollFlushesRecoveryPoint: without any flush policy, each roll
// flushes the segments before it in the background, so the recovery point
// reaches the active segment's base and a crash only re-validates that one.
func TestRollFlushesRecoveryPoint(t *testing.T) {
	_, l := newTestLog(t, smallConfig())
	for i := 0; i < 40; i++ {
		mustAppend(t, l, makeBatch(t, spec{records: 4, valueSize: 100, ts: testNow.UnixMilli()}), 0)
	}
	segs := l.Segments()
	if len(segs) < 3 {
		t.Fatalf("only %d segments; the test needs rolls", len(segs))
	}
	activeBase := segs[len(segs)-1].BaseOffset
	deadline := time.Now().Add(10 * time.Second)
	for l.RecoveryPoint() < activeBase {
		if time.Now().After(deadline) {
			t.Fatalf("recovery point %d never reached the active segment's base %d", l.RecoveryPoint(), activeBase)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
