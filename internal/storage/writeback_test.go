package storage

import "testing"

// TestWritebackFollowsAppends: with WritebackBytes set, the segment's
// started-writeback mark trails the appends by less than the interval plus
// a page, always on a page boundary, and a truncation below it pulls it
// back so the rewritten bytes are written back again.
func TestWritebackFollowsAppends(t *testing.T) {
	const interval = 64 << 10
	cfg := Config{WritebackBytes: interval}
	_, l := newTestLog(t, cfg)
	var marks []int64
	for i := 0; i < 60; i++ {
		mustAppend(t, l, makeBatch(t, spec{records: 4, valueSize: 2500}), 0)
		seg := l.active()
		end, from := seg.size.Load(), seg.writebackFrom
		if from%pageSize != 0 || from > end || end-from >= interval+pageSize {
			t.Fatalf("after %d bytes writeback starts at %d (interval %d, page %d)", end, from, interval, pageSize)
		}
		if len(marks) == 0 || marks[len(marks)-1] != from {
			marks = append(marks, from)
		}
	}
	if len(marks) < 4 {
		t.Fatalf("writeback started at %v over %d bytes: too few times", marks, l.active().size.Load())
	}
	if err := l.TruncateTo(12); err != nil {
		t.Fatal(err)
	}
	if seg := l.active(); seg.writebackFrom > seg.size.Load() {
		t.Fatalf("after truncation to %d bytes writeback starts at %d", seg.size.Load(), seg.writebackFrom)
	}
	mustAppend(t, l, makeBatch(t, spec{records: 4, valueSize: 2500}), 0)
	if hs, _ := readAll(t, l, 0); len(hs) != 4 {
		t.Fatalf("%d batches after truncate and append, want 4", len(hs))
	}

	_, off := newTestLog(t, Config{})
	for i := 0; i < 60; i++ {
		mustAppend(t, off, makeBatch(t, spec{records: 4, valueSize: 2500}), 0)
	}
	if from := off.active().writebackFrom; from != 0 {
		t.Fatalf("writeback started at %d with WritebackBytes 0", from)
	}
}
