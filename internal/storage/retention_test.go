package storage

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// retentionConfig is smallConfig with cleanup.policy=delete and the given
// limits; every batch of fillTimed takes ~170 bytes, so a segment holds ~24.
func retentionConfig(retention time.Duration, bytes int64) Config {
	c := smallConfig()
	c.CleanupDelete = true
	c.RetentionTime = retention
	c.RetentionBytes = bytes
	return c
}

// fillTimed appends n one-record batches whose timestamps are ts0, ts0+1s, ...
func fillTimed(t *testing.T, l *Log, n int, ts0 time.Time) {
	t.Helper()
	for i := 0; i < n; i++ {
		mustAppend(t, l, makeBatch(t, spec{valueSize: 100, ts: ts0.Add(time.Duration(i) * time.Second).UnixMilli()}), 0)
	}
}

func TestRetentionByTime(t *testing.T) {
	d, l := newTestLog(t, retentionConfig(time.Hour, -1))
	ts0 := testNow.Add(-10 * time.Hour)
	fillTimed(t, l, 100, ts0)
	segs := l.Segments()
	if len(segs) < 4 {
		t.Fatalf("want several segments, got %d", len(segs))
	}
	// Nothing is older than an hour when "now" is ts0 + 1h.
	if n, err := l.DeleteRetained(ts0.Add(time.Hour), math.MaxInt64); err != nil || n != 0 {
		t.Fatalf("DeleteRetained too early: %d, %v", n, err)
	}
	// An hour after the second segment's last record, the first two go.
	now := time.UnixMilli(segs[1].MaxTimestamp).Add(time.Hour + time.Millisecond)
	n, err := l.DeleteRetained(now, math.MaxInt64)
	if err != nil || n != 2 {
		t.Fatalf("DeleteRetained: %d, %v", n, err)
	}
	if got := l.LogStartOffset(); got != segs[2].BaseOffset {
		t.Fatalf("log start %d, want %d", got, segs[2].BaseOffset)
	}
	if _, err := l.Read(segs[2].BaseOffset-1, 1000, true, NoLimit); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below log start: %v", err)
	}
	if _, err := os.Stat(segs[0].Path); !os.IsNotExist(err) {
		t.Fatalf("deleted segment still on disk: %v", err)
	}
	// Far in the future, with the high watermark short of the log end,
	// everything but the active segment goes.
	far := now.Add(1000 * time.Hour)
	if _, err := l.DeleteRetained(far, l.LogEndOffset()-1); err != nil {
		t.Fatal(err)
	}
	left := l.Segments()
	if len(left) != 1 || left[0].BaseOffset != segs[len(segs)-1].BaseOffset {
		t.Fatalf("active segment not kept alone: %+v", left)
	}
	// Once the high watermark reaches the log end, the expired active
	// segment goes too: a new empty one is rolled at the log end.
	if n, err := l.DeleteRetained(far, l.LogEndOffset()); err != nil || n != 1 {
		t.Fatalf("DeleteRetained of the expired active segment: %d, %v", n, err)
	}
	left = l.Segments()
	if len(left) != 1 || left[0].BaseOffset != 100 || left[0].Size != 0 || l.LogStartOffset() != 100 {
		t.Fatalf("after the active segment expired: start %d, segments %+v", l.LogStartOffset(), left)
	}
	// An empty active segment is never "expired" again.
	if n, err := l.DeleteRetained(far.Add(time.Hour), l.LogEndOffset()); err != nil || n != 0 {
		t.Fatalf("DeleteRetained of an empty log: %d, %v", n, err)
	}
	// Appends go on at the log end.
	mustAppend(t, l, makeBatch(t, spec{valueSize: 100, ts: far.UnixMilli()}), 0)
	if l.LogEndOffset() != 101 {
		t.Fatalf("log end after an append: %d", l.LogEndOffset())
	}
	// The log start survives a restart through the checkpoint.
	start := l.LogStartOffset()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d2, err := OpenDir(d.Path(), smallConfig(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	l2, _ := d2.Log("topic", 0)
	if l2.LogStartOffset() != start || l2.LogEndOffset() != 101 {
		t.Fatalf("after reopen: start %d end %d, want %d 101", l2.LogStartOffset(), l2.LogEndOffset(), start)
	}
}

func TestRetentionForeverAndPolicy(t *testing.T) {
	for _, c := range []Config{retentionConfig(-1, -1), func() Config { c := retentionConfig(0, 0); c.CleanupDelete = false; return c }()} {
		_, l := newTestLog(t, c)
		fillTimed(t, l, 60, testNow.Add(-1000*time.Hour))
		if n, err := l.DeleteRetained(testNow, math.MaxInt64); err != nil || n != 0 {
			t.Fatalf("config %+v deleted %d (%v)", c, n, err)
		}
	}
}

func TestRetentionBySize(t *testing.T) {
	_, l := newTestLog(t, retentionConfig(-1, 10000))
	fillTimed(t, l, 200, testNow)
	n, err := l.DeleteRetained(testNow, math.MaxInt64)
	if err != nil || n == 0 {
		t.Fatalf("DeleteRetained: %d, %v", n, err)
	}
	// Kafka deletes a segment only if the log stays at least
	// retention.bytes without it: the log ends at or above the limit, and
	// one more deletion would take it below.
	segs := l.Segments()
	if size := l.Size(); size < 10000 || size-segs[0].Size >= 10000 {
		t.Fatalf("log is %d bytes (first segment %d) for retention.bytes 10000", size, segs[0].Size)
	}
	if l.LogStartOffset() != segs[0].BaseOffset {
		t.Fatalf("log start %d, first segment %d", l.LogStartOffset(), segs[0].BaseOffset)
	}
}

func TestRetentionLimitAndActive(t *testing.T) {
	_, l := newTestLog(t, retentionConfig(0, -1))
	fillTimed(t, l, 100, testNow.Add(-time.Hour))
	segs := l.Segments()
	// Only segments entirely below the limit (high watermark) go.
	n, err := l.DeleteRetained(testNow, segs[2].BaseOffset)
	if err != nil || n != 2 {
		t.Fatalf("DeleteRetained below limit: %d, %v", n, err)
	}
}

func TestFileDeleteDelay(t *testing.T) {
	c := retentionConfig(0, -1)
	c.FileDeleteDelay = time.Minute
	_, l := newTestLog(t, c)
	fillTimed(t, l, 60, testNow.Add(-time.Hour))
	first := l.Segments()[0]
	held, err := l.Read(0, 1000, true, NoLimit)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	if n, err := l.DeleteRetained(testNow, math.MaxInt64); err != nil || n == 0 {
		t.Fatalf("DeleteRetained: %d, %v", n, err)
	}
	renamed := first.Path + deletedSuffix
	if _, err := os.Stat(renamed); err != nil {
		t.Fatalf("no .deleted file: %v", err)
	}
	if _, err := os.Stat(first.Path); !os.IsNotExist(err) {
		t.Fatalf("segment not renamed: %v", err)
	}
	if b, err := held.Bytes(); err != nil || len(b) == 0 {
		t.Fatalf("held slice unreadable: %v", err)
	}
	if err := l.RemoveDeleted(testNow.Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(renamed); err != nil {
		t.Fatalf(".deleted file removed before the delay: %v", err)
	}
	if err := l.RemoveDeleted(testNow.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(renamed); !os.IsNotExist(err) {
		t.Fatalf(".deleted file kept after the delay: %v", err)
	}
	if b, err := held.Bytes(); err != nil || len(b) == 0 {
		t.Fatalf("held slice unreadable after unlink: %v", err)
	}
}

func TestDeletedFilesRemovedAtOpen(t *testing.T) {
	path := t.TempDir()
	d := openTestDir(t, path)
	l, _ := d.CreateLog("t", 0, [16]byte{}, smallConfig())
	fillTimed(t, l, 10, testNow)
	crash(d)
	stray := filepath.Join(l.dir, "00000000000000000000.log"+deletedSuffix)
	if err := os.WriteFile(stray, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	d2 := openTestDir(t, path)
	defer d2.Close()
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Fatalf(".deleted file survived open: %v", err)
	}
}
