package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/samsa-streaming/samsa/internal/record"
)

// segmentBatches lists the start positions and headers of the batches of
// the segment file at path, read directly.
func segmentBatches(t *testing.T, l *Log, i int) (string, []int64, []record.Header) {
	t.Helper()
	seg := l.segs[i]
	var pos []int64
	var hs []record.Header
	if err := seg.walk(0, seg.size.Load(), func(p int64, h record.Header) bool {
		pos, hs = append(pos, p), append(hs, h)
		return false
	}); err != nil {
		t.Fatal(err)
	}
	return seg.path, pos, hs
}

// TestVerifyOnFirstRead: a byte flipped inside a batch of a segment below
// the recovery point, which the open does not read, is found by the first
// read that reaches it: the read before it stops at the batch, a read that
// starts at it fails with a BatchCorruptionError naming the file, the byte
// position and the offsets, reported once in the log; the records after
// it can still be read by seeking past it, and appends go on.
func TestVerifyOnFirstRead(t *testing.T) {
	path := t.TempDir()
	cfg := smallConfig()
	d, l := createTestLog(t, path, cfg)
	fillLog(t, l, 0, 60)
	if len(l.segs) < 3 {
		t.Fatalf("%d segments, want at least 3", len(l.segs))
	}
	segPath, starts, hs := segmentBatches(t, l, 1)
	if len(starts) < 6 {
		t.Fatalf("%d batches in segment 1", len(starts))
	}
	wantH, wantB := readAll(t, l, 0)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	k := len(starts) / 2
	bad := starts[k]
	flipByte(t, segPath, bad+record.HeaderSize+20) // a record's bytes: only the CRC tells

	logBuf := &lockedBuffer{mu: make(chan struct{}, 1)}
	d, err := OpenDir(path, cfg, slog.New(slog.NewTextHandler(logBuf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	l, _ = d.Log("topic", 0)
	if got := l.RecoveryPoint(); got != l.LogEndOffset() {
		t.Fatalf("recovery point %d, want the log end %d (a clean open)", got, l.LogEndOffset())
	}
	if strings.Contains(logBuf.buf.String(), filepath.Base(segPath)) {
		t.Fatalf("the open reported the segment; the test wants damage it does not read:\n%s", logBuf.buf.String())
	}

	// Everything before the damaged batch is served as written, the
	// read that reaches it stopping just before it.
	off := int64(0)
	var got [][]byte
	for {
		s, err := l.Read(off, 1<<20, true, NoLimit)
		if err != nil {
			var be *BatchCorruptionError
			if !errors.As(err, &be) || !errors.Is(err, ErrCorruptBatch) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Read(%d): %v, want a BatchCorruptionError", off, err)
			}
			if be.Path != segPath || be.Pos != bad || be.BaseOffset != hs[k].BaseOffset || be.LastOffset != hs[k].LastOffset() {
				t.Fatalf("error %v, want %s at byte %d, offsets %d-%d", err, segPath, bad, hs[k].BaseOffset, hs[k].LastOffset())
			}
			if !errors.Is(err, record.ErrCRC) {
				t.Errorf("error %v, want a CRC mismatch", err)
			}
			break
		}
		b, _ := s.Bytes()
		s.Release()
		if len(b) == 0 {
			t.Fatalf("Read(%d) empty: the damage was not found", off)
		}
		if s.File.Name() == segPath && s.Pos+s.Size > bad {
			t.Fatalf("Read(%d) serves [%d, %d) of the damaged segment, past the bad batch at %d", off, s.Pos, s.Pos+s.Size, bad)
		}
		for len(b) > 0 {
			h, err := record.Validate(b[:min(len(b), int(must(record.ParseHeader(b)).TotalSize()))])
			if err != nil {
				t.Fatalf("Read(%d) served a batch that fails its check: %v", off, err)
			}
			got = append(got, b[:h.TotalSize()])
			b = b[h.TotalSize():]
			off = h.LastOffset() + 1
		}
	}
	if off != hs[k].BaseOffset {
		t.Fatalf("reads stopped at offset %d, want the damaged batch's %d", off, hs[k].BaseOffset)
	}
	for i, b := range got {
		if string(b) != string(wantB[i]) || wantH[i].BaseOffset != must(record.ParseHeader(b)).BaseOffset {
			t.Fatalf("batch %d served differs from the one written", i)
		}
	}
	// Again: the same error, one log line, one count.
	if _, err := l.Read(off, 1<<20, true, NoLimit); !errors.Is(err, ErrCorruptBatch) {
		t.Fatalf("second Read(%d): %v", off, err)
	}
	if _, err := l.Read(off, 1, false, NoLimit); !errors.Is(err, ErrCorruptBatch) {
		t.Fatalf("Read(%d) of one byte: %v", off, err)
	}
	out := logBuf.buf.String()
	if n := strings.Count(out, "corrupt batch in a segment"); n != 1 {
		t.Fatalf("%d reports, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, filepath.Base(segPath)) || !strings.Contains(out, fmt.Sprintf("position=%d", bad)) ||
		!strings.Contains(out, fmt.Sprintf("base_offset=%d", hs[k].BaseOffset)) {
		t.Fatalf("the report does not name the file, position and offsets:\n%s", out)
	}
	if n := l.CorruptBatches(); n != 1 {
		t.Fatalf("CorruptBatches %d, want 1", n)
	}
	// A consumer that seeks past the batch reads on.
	rest, _ := readAll(t, l, hs[k].LastOffset()+1)
	if len(rest) != len(wantH)-len(got)-1 {
		t.Fatalf("%d batches after the damaged one, want %d", len(rest), len(wantH)-len(got)-1)
	}
	// Appends go on, and are read back.
	res := mustAppend(t, l, makeBatch(t, spec{records: 1, valueSize: 10}), 3)
	if hs, _ := readAll(t, l, res.BaseOffset); len(hs) != 1 {
		t.Fatalf("read back %d batches of the append", len(hs))
	}
}

func must[T any](v T, _ error) T { return v }

// TestVerifyOncePerSegment: an undamaged log reopened after a clean
// shutdown is checked by its first read, every byte once; a second read
// of the same bytes checks nothing (zero-copy as before), and nothing
// this process appended is ever checked.
func TestVerifyOncePerSegment(t *testing.T) {
	path := t.TempDir()
	cfg := smallConfig()
	d, l := createTestLog(t, path, cfg)
	fillLog(t, l, 0, 60)
	readAll(t, l, 0)
	if n := l.checkedBytes.Load(); n != 0 {
		t.Fatalf("reading what this process appended checked %d bytes, want 0", n)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = openTestDir(t, path)
	defer d.Close()
	l, _ = d.Log("topic", 0)
	var size int64
	for _, s := range l.Segments() {
		size += s.Size
	}
	// Read from the middle first, then from the start: the checked
	// ranges join.
	mid := l.segs[1].base + 4 // the third batch of the second segment
	readAll(t, l, mid)
	first := l.checkedBytes.Load()
	if first == 0 || first >= size {
		t.Fatalf("a read from the middle checked %d bytes of %d", first, size)
	}
	wantH, _ := readAll(t, l, 0)
	if n := l.checkedBytes.Load(); n != size {
		t.Fatalf("reading the whole log checked %d bytes, want each of its %d once", n, size)
	}
	for _, s := range l.segs {
		if sp := s.verify.spans; s.verify.unverifiedEnd.Load() > 0 && (len(sp) != 1 || sp[0].from != 0 || sp[0].to != s.size.Load()) {
			t.Fatalf("segment %d: checked spans %+v, want one of [0, %d)", s.base, sp, s.size.Load())
		}
	}
	gotH, _ := readAll(t, l, 0)
	if n := l.checkedBytes.Load(); n != size {
		t.Fatalf("a second read checked %d more bytes", n-size)
	}
	if len(gotH) != len(wantH) || l.CorruptBatches() != 0 {
		t.Fatalf("second read: %d batches (want %d), %d corrupt", len(gotH), len(wantH), l.CorruptBatches())
	}
	mustAppend(t, l, makeBatch(t, spec{records: 1, valueSize: 10}), 3)
	readAll(t, l, 0)
	if n := l.checkedBytes.Load(); n != size {
		t.Fatalf("reading an append checked %d bytes", n-size)
	}
}

// TestCleanerChecksUnverifiedBytes: the cleaner rewrites batches it keeps
// part of with a new CRC, so bytes on disk at open that no read checked
// are validated before it copies them: a flipped byte stops the pass with
// a BatchCorruptionError (reported once) and the log is left as it was;
// an undamaged reopened log is cleaned as before, and its cleaned segments
// need no check on read.
func TestCleanerChecksUnverifiedBytes(t *testing.T) {
	for _, damaged := range []bool{true, false} {
		t.Run(fmt.Sprint("damaged=", damaged), func(t *testing.T) {
			c := compactConfig()
			d, l := newTestLog(t, c)
			for i := range 120 {
				b := keyedBatch(t, []kv{{key: []byte(fmt.Sprintf("k%d", i%10)), value: []byte(fmt.Sprintf("v%04d-%0200d", i, i))}}, testNow.UnixMilli()+int64(i), record.CompressionNone, false, -1, -1)
				mustAppend(t, l, b, 1)
			}
			if len(l.segs) < 3 {
				t.Fatalf("%d segments", len(l.segs))
			}
			segPath, starts, _ := segmentBatches(t, l, 0)
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			if damaged {
				flipByte(t, segPath, starts[len(starts)/2]+record.HeaderSize+12)
			}
			d2, err := OpenDir(d.Path(), c, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer d2.Close()
			l2, _ := d2.Log("topic", 0)
			before := l2.Segments()
			_, err = l2.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true)
			if !damaged {
				if err != nil {
					t.Fatal(err)
				}
				readAll(t, l2, l2.LogStartOffset())
				// Only the active segment, never cleaned, is checked.
				if n, active := l2.checkedBytes.Load(), l2.active().size.Load(); n != active {
					t.Fatalf("reading the cleaned log checked %d bytes, want the active segment's %d", n, active)
				}
				return
			}
			var be *BatchCorruptionError
			if !errors.As(err, &be) || be.Path != segPath || be.Pos != starts[len(starts)/2] {
				t.Fatalf("Clean: %v, want a BatchCorruptionError at %s byte %d", err, segPath, starts[len(starts)/2])
			}
			if after := l2.Segments(); !slices.Equal(before, after) {
				t.Fatalf("segments changed by the failed pass: %v -> %v", before, after)
			}
			if l2.CorruptBatches() != 1 {
				t.Fatalf("CorruptBatches %d", l2.CorruptBatches())
			}
		})
	}
}

// TestVerifyConcurrentReaders: readers starting at random offsets of a log
// reopened after a clean shutdown check its bytes concurrently with each
// other and with appends: every read succeeds, and no byte is checked
// twice. (Run with -race.)
func TestVerifyConcurrentReaders(t *testing.T) {
	path := t.TempDir()
	cfg := smallConfig()
	d, l := createTestLog(t, path, cfg)
	fillLog(t, l, 0, 200)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = openTestDir(t, path)
	defer d.Close()
	l, _ = d.Log("topic", 0)
	var size int64
	for _, s := range l.Segments() {
		size += s.Size
	}
	end := l.LogEndOffset()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				off := int64((g*37+i*13)%int(end)) &^ 1 // a batch start
				for off < end {
					s, err := l.Read(off, int32(300+i*40), true, NoLimit)
					if err != nil {
						errs <- fmt.Errorf("Read(%d): %w", off, err)
						return
					}
					b, err := s.Bytes()
					s.Release()
					if err != nil || len(b) < record.HeaderSize {
						errs <- fmt.Errorf("Read(%d): %d bytes, %v", off, len(b), err)
						return
					}
					h, err := record.Validate(b[:must(record.ParseHeader(b)).TotalSize()])
					if err != nil {
						errs <- fmt.Errorf("Read(%d) served a bad batch: %w", off, err)
						return
					}
					off = h.LastOffset() + 1
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 100 {
			if _, err := l.Append(makeBatch(t, spec{records: 2, valueSize: 90}), 1, testNow); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := l.checkedBytes.Load(); n > size {
		t.Fatalf("%d bytes checked, more than the %d on disk at open", n, size)
	}
	if l.CorruptBatches() != 0 {
		t.Fatalf("%d corrupt batches in an undamaged log", l.CorruptBatches())
	}
}
