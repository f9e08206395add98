package storage

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/samsa-streaming/samsa/internal/record"
)

// TestScrubFindsDamageNoReadReached: a byte flipped in a batch of an old
// segment is found by the scrub, in steps of a small budget, before any
// read: reported once with its file and position and counted; every other
// byte the log was opened with is checked once (reads of them check
// nothing more), nothing appended since is scrubbed, and reads still stop
// before the damaged batch.
func TestScrubFindsDamageNoReadReached(t *testing.T) {
	path := t.TempDir()
	cfg := smallConfig()
	d, l := createTestLog(t, path, cfg)
	fillLog(t, l, 0, 60)
	if len(l.segs) < 3 {
		t.Fatalf("%d segments, want at least 3", len(l.segs))
	}
	segPath, starts, hs := segmentBatches(t, l, 1)
	var opened int64
	for _, seg := range l.segs {
		opened += seg.size.Load()
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	k := len(starts) / 2
	bad := starts[k]
	flipByte(t, segPath, bad+record.HeaderSize+20)

	logBuf := &lockedBuffer{mu: make(chan struct{}, 1)}
	d, err := OpenDir(path, cfg, slog.New(slog.NewTextHandler(logBuf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	l, _ = d.Log("topic", 0)
	mustAppend(t, l, makeBatch(t, spec{records: 1, valueSize: 10}), 3) // this process's: never scrubbed

	var total int64
	for calls := 0; ; calls++ {
		if calls > 10000 {
			t.Fatal("the scrub never completes")
		}
		n, done, err := l.Scrub(700)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if done {
			break
		}
	}
	if !l.ScrubDone() {
		t.Fatal("ScrubDone false after the scrub completed")
	}
	if n := l.CorruptBatches(); n != 1 {
		t.Fatalf("CorruptBatches %d after the scrub, want 1", n)
	}
	out := logBuf.buf.String()
	if strings.Count(out, "corrupt batch in a segment") != 1 || !strings.Contains(out, segPath) {
		t.Fatalf("the scrub's report:\n%s", out)
	}
	// Every byte but the damaged segment's tail from the bad batch on.
	segSize := int64(0)
	for _, seg := range l.segs {
		if seg.path == segPath {
			segSize = seg.size.Load()
		}
	}
	if want := opened - (segSize - bad); total != want || l.checkedBytes.Load() != want {
		t.Fatalf("scrubbed %d bytes, checked %d, want %d (opened with %d)", total, l.checkedBytes.Load(), want, opened)
	}
	// Reads of what the scrub checked check nothing more; the damaged
	// batch is still refused.
	checked := l.checkedBytes.Load()
	for off := int64(0); off < hs[k].BaseOffset; {
		sl, err := l.Read(off, 1<<20, true, NoLimit)
		if err != nil {
			t.Fatalf("Read(%d), before the damaged batch: %v", off, err)
		}
		b, _ := sl.Bytes()
		sl.Release()
		if len(b) == 0 {
			t.Fatalf("Read(%d) empty before the damaged batch", off)
		}
		for len(b) > 0 {
			h := must(record.ParseHeader(b))
			off, b = h.LastOffset()+1, b[h.TotalSize():]
		}
	}
	if _, err := l.Read(hs[k].BaseOffset, 1<<20, true, NoLimit); !errors.Is(err, ErrCorruptBatch) {
		t.Fatalf("Read at the damaged batch: %v", err)
	}
	if l.checkedBytes.Load() != checked {
		t.Fatalf("reads checked %d more bytes after the scrub", l.checkedBytes.Load()-checked)
	}
	if n, done, err := l.Scrub(1 << 20); n != 0 || !done || err != nil {
		t.Fatalf("Scrub after completion: %d, %v, %v", n, done, err)
	}
}
