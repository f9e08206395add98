package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

type step struct {
	name     string
	pid      int64
	epoch    int16
	seq      int32
	n        int   // records
	wantBase int64 // expected base offset (original one for duplicates)
	wantDup  bool
	wantErr  error
}

func runSteps(t *testing.T, l *Log, steps []step) {
	t.Helper()
	for _, s := range steps {
		b := makeBatch(t, spec{records: s.n, producer: true, pid: s.pid, epoch: s.epoch, seq: s.seq, ts: 1})
		res, err := l.Append(b, 0, testNow)
		if s.wantErr != nil {
			if !errors.Is(err, s.wantErr) {
				t.Fatalf("%s: got %v, want %v", s.name, err, s.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if res.Duplicate != s.wantDup || res.BaseOffset != s.wantBase || res.LastOffset != s.wantBase+int64(s.n-1) {
			t.Fatalf("%s: got base %d last %d dup %v, want base %d dup %v", s.name, res.BaseOffset, res.LastOffset, res.Duplicate, s.wantBase, s.wantDup)
		}
	}
}

func TestIdempotence(t *testing.T) {
	_, l := newTestLog(t, Config{})
	runSteps(t, l, []step{
		{name: "first batch", pid: 1, seq: 0, n: 2, wantBase: 0},
		{name: "second", pid: 1, seq: 2, n: 2, wantBase: 2},
		{name: "third", pid: 1, seq: 4, n: 2, wantBase: 4},
		{name: "fourth", pid: 1, seq: 6, n: 2, wantBase: 6},
		{name: "fifth", pid: 1, seq: 8, n: 2, wantBase: 8},
		{name: "sixth", pid: 1, seq: 10, n: 2, wantBase: 10},
		// The cache now holds seq 2..11 (five batches).
		{name: "dup of oldest cached", pid: 1, seq: 2, n: 2, wantBase: 2, wantDup: true},
		{name: "dup of newest", pid: 1, seq: 10, n: 2, wantBase: 10, wantDup: true},
		{name: "dup beyond the window", pid: 1, seq: 0, n: 2, wantErr: ErrOutOfOrderSequence},
		{name: "same first seq, other last seq", pid: 1, seq: 8, n: 3, wantErr: ErrOutOfOrderSequence},
		{name: "gap", pid: 1, seq: 13, n: 1, wantErr: ErrOutOfOrderSequence},
		{name: "next in sequence", pid: 1, seq: 12, n: 1, wantBase: 12},
		{name: "epoch bump needs seq 0", pid: 1, epoch: 1, seq: 5, n: 1, wantErr: ErrOutOfOrderSequence},
		{name: "epoch bump", pid: 1, epoch: 1, seq: 0, n: 1, wantBase: 13},
		{name: "fenced epoch", pid: 1, epoch: 0, seq: 13, n: 1, wantErr: ErrInvalidProducerEpoch},
		{name: "dup from fenced epoch", pid: 1, epoch: 0, seq: 12, n: 1, wantErr: ErrInvalidProducerEpoch},
		{name: "unknown producer, any seq", pid: 2, epoch: 4, seq: 77, n: 1, wantBase: 14},
		{name: "wrap start", pid: 3, seq: math.MaxInt32 - 1, n: 2, wantBase: 15},
		{name: "wrap to zero", pid: 3, seq: 0, n: 1, wantBase: 17},
		{name: "dup across wrap", pid: 3, seq: math.MaxInt32 - 1, n: 2, wantBase: 15, wantDup: true},
		{name: "batch spanning wrap", pid: 4, seq: math.MaxInt32, n: 3, wantBase: 18},
		{name: "after spanning batch", pid: 4, seq: 2, n: 1, wantBase: 21},
	})
	if l.LogEndOffset() != 22 {
		t.Fatalf("log end %d: duplicates or rejects were written", l.LogEndOffset())
	}
}

// TestIdempotenceSurvivesRestart checks that the five-batch duplicate
// window and the sequence survive a clean restart (snapshot at close) and a
// crash (snapshot at the last roll plus header replay).
func TestIdempotenceSurvivesRestart(t *testing.T) {
	for _, clean := range []bool{true, false} {
		name := "crash"
		if clean {
			name = "clean"
		}
		t.Run(name, func(t *testing.T) {
			path := t.TempDir()
			d := openTestDir(t, path)
			l, _ := d.CreateLog("t", 0, [16]byte{}, Config{SegmentBytes: 300})
			var steps []step
			for i := 0; i < 12; i++ {
				steps = append(steps, step{name: "fill", pid: 9, epoch: 2, seq: int32(3 * i), n: 3, wantBase: int64(3 * i)})
			}
			runSteps(t, l, steps)
			if len(l.Segments()) < 3 {
				t.Fatalf("want rolls (and so snapshots), have %d segments", len(l.Segments()))
			}
			if clean {
				d.Close()
			} else {
				l.Flush()
				crash(d)
			}
			d = openTestDir(t, path)
			defer d.Close()
			l, _ = d.Log("t", 0)
			var again []step
			for i := 7; i < 12; i++ {
				again = append(again, step{name: "dup after restart", pid: 9, epoch: 2, seq: int32(3 * i), n: 3, wantBase: int64(3 * i), wantDup: true})
			}
			again = append(again,
				step{name: "too old after restart", pid: 9, epoch: 2, seq: 18, n: 3, wantErr: ErrOutOfOrderSequence},
				step{name: "fenced after restart", pid: 9, epoch: 1, seq: 36, n: 1, wantErr: ErrInvalidProducerEpoch},
				step{name: "next after restart", pid: 9, epoch: 2, seq: 36, n: 1, wantBase: 36})
			runSteps(t, l, again)
		})
	}
}

func TestSnapshotFormat(t *testing.T) {
	p := newProducerState()
	p.update(&recordHeader{ProducerID: 5, ProducerEpoch: 3, BaseSequence: 0, LastOffsetDelta: 1, BaseOffset: 10, MaxTimestamp: 111}, txnMarker{})
	p.update(&recordHeader{ProducerID: 5, ProducerEpoch: 3, BaseSequence: 2, LastOffsetDelta: 0, BaseOffset: 12, MaxTimestamp: 222}, txnMarker{})
	p.update(&recordHeader{ProducerID: 1, ProducerEpoch: 0, BaseSequence: math.MaxInt32, LastOffsetDelta: 2, BaseOffset: 13, MaxTimestamp: 333}, txnMarker{})
	b := encodeSnapshot(p.sortedEntries())
	be := binary.BigEndian
	if be.Uint16(b) != 1 || be.Uint32(b[2:]) != crc32.Checksum(b[6:], crc32.MakeTable(crc32.Castagnoli)) || be.Uint32(b[6:]) != 3 {
		t.Fatalf("bad header % x", b[:10])
	}
	if len(b) != 10+3*46 {
		t.Fatalf("snapshot is %d bytes", len(b))
	}
	// First entry is producer 1 (sorted): last seq wrapped to 1, offset 15.
	e := b[10:]
	if be.Uint64(e) != 1 || be.Uint32(e[10:]) != 1 || be.Uint64(e[14:]) != 15 || be.Uint32(e[22:]) != 2 || be.Uint64(e[26:]) != 333 ||
		int32(be.Uint32(e[34:])) != -1 || int64(be.Uint64(e[38:])) != -1 {
		t.Fatalf("bad entry % x", e[:46])
	}
	m, err := decodeSnapshot("x", b)
	if err != nil {
		t.Fatal(err)
	}
	if got := m[5]; got.n != 2 || got.batches[0].firstSeq != 0 || got.batches[1].lastSeq != 2 || got.lastTimestamp != 222 || got.epoch != 3 {
		t.Fatalf("decoded producer 5: %+v", got)
	}
	if got := m[1]; got.n != 1 || got.batches[0].firstSeq != math.MaxInt32 || got.batches[0].lastSeq != 1 {
		t.Fatalf("decoded producer 1: %+v", got)
	}
	for _, bad := range [][]byte{b[:9], append(bytes.Clone(b), 0), func() []byte { c := bytes.Clone(b); c[20] ^= 1; return c }()} {
		if _, err := decodeSnapshot("x", bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("corrupt snapshot accepted: %v", err)
		}
	}
}

func TestCorruptSnapshotFallsBack(t *testing.T) {
	path := t.TempDir()
	d := openTestDir(t, path)
	l, _ := d.CreateLog("t", 0, [16]byte{}, Config{SegmentBytes: 300})
	for i := 0; i < 12; i++ {
		mustAppend(t, l, makeBatch(t, spec{records: 3, producer: true, pid: 9, seq: int32(3 * i)}), 0)
	}
	end := l.LogEndOffset()
	d.Close()
	os.WriteFile(segmentPath(l.dir, end, snapshotSuffix), []byte("broken"), 0o644)
	d = openTestDir(t, path)
	defer d.Close()
	l, _ = d.Log("t", 0)
	if ps := l.ProducerStates(); len(ps) != 1 || ps[0].LastSequence != 35 {
		t.Fatalf("producer state after a corrupt snapshot: %+v", ps)
	}
}

// TestIdleRestartsKeepProducersWithoutNewSnapshots: a clean close writes a
// producer snapshot only when something was appended since the last one
// (an empty log gets none), and producer state survives restarts in which
// no snapshot was written.
func TestIdleRestartsKeepProducersWithoutNewSnapshots(t *testing.T) {
	path := t.TempDir()
	d := openTestDir(t, path)
	if _, err := d.CreateLog("empty", 0, [16]byte{}, Config{}); err != nil {
		t.Fatal(err)
	}
	l, _ := d.CreateLog("t", 0, [16]byte{}, Config{})
	runSteps(t, l, []step{{name: "fill", pid: 9, epoch: 2, seq: 0, n: 3, wantBase: 0}})
	d.Close()
	snaps := func(topic string) []string {
		t.Helper()
		m, err := filepath.Glob(filepath.Join(path, topic+"-0", "*"+snapshotSuffix))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if s := snaps("empty"); len(s) != 0 {
		t.Fatalf("empty log has snapshots %v after a clean close", s)
	}
	first := snaps("t")
	if len(first) != 1 {
		t.Fatalf("want one snapshot after appends and a clean close, have %v", first)
	}
	st1, err := os.Stat(first[0])
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // two idle restarts
		d = openTestDir(t, path)
		d.Close()
	}
	if s := snaps("t"); !slices.Equal(s, first) {
		t.Fatalf("idle restarts changed the snapshots: %v, then %v", first, s)
	}
	if st2, _ := os.Stat(first[0]); !st2.ModTime().Equal(st1.ModTime()) {
		t.Fatal("idle restart rewrote the snapshot")
	}
	if s := snaps("empty"); len(s) != 0 {
		t.Fatalf("empty log has snapshots %v after idle restarts", s)
	}
	d = openTestDir(t, path)
	defer d.Close()
	l, _ = d.Log("t", 0)
	runSteps(t, l, []step{
		{name: "dup after idle restarts", pid: 9, epoch: 2, seq: 0, n: 3, wantBase: 0, wantDup: true},
		{name: "fenced after idle restarts", pid: 9, epoch: 1, seq: 3, n: 1, wantErr: ErrInvalidProducerEpoch},
		{name: "next after idle restarts", pid: 9, epoch: 2, seq: 3, n: 1, wantBase: 3},
	})
	e, _ := d.Log("empty", 0)
	if e.LogEndOffset() != 0 {
		t.Fatalf("empty log end %d", e.LogEndOffset())
	}
}
