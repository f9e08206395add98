package storage

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"testing"
)

// FuzzRecover feeds arbitrary bytes into the tail of the active segment
// and reopens the log. Opening must not panic or fail, and the log must be
// a valid prefix: every batch written before is still there unchanged (or,
// when the fuzz bytes overwrite the last batch, every batch but that one),
// and anything after it is whole, valid batches with increasing offsets.
//
// The first input byte picks the mode: bit 0 reopens after a clean
// shutdown instead of a crash, bit 1 overwrites the last batch instead of
// appending after it, bit 2 reopens in the same boot (arbitrary bytes are
// then not checked by CRC, so only the batches before them and a working
// log are asserted); otherwise the open comes after a reboot.
func FuzzRecover(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 61})
	f.Add(append([]byte{2}, makeBatch(f, spec{records: 2, valueSize: 5})...))
	f.Add(append([]byte{0}, makeBatch(f, spec{records: 3, ts: 9})...))
	f.Add(append([]byte{3}, makeBatch(f, spec{records: 1})[:40]...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || len(data) > 1<<16 {
			return
		}
		mode, tail := data[0], data[1:]
		path := t.TempDir()
		d, err := OpenDir(path, smallConfig(), testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		l, err := d.CreateLog("f", 0, [16]byte{}, smallConfig())
		if err != nil {
			t.Fatal(err)
		}
		seq := int32(0)
		for i := 0; i < 12; i++ {
			n := 1 + i%3
			mustAppend(t, l, makeBatch(t, spec{records: n, valueSize: 40, ts: int64(i), producer: true, pid: 1, seq: seq}), int32(i/4))
			seq += int32(n)
		}
		hsBefore, before := readAll(t, l, 0)
		segPath, pos, _ := activeBatches(t, l)
		keep := len(before)
		if mode&1 == 1 {
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
		} else {
			crash(d)
		}
		if mode&2 == 2 {
			os.Truncate(segPath, pos[len(pos)-1])
			keep--
		}
		appendBytes(t, segPath, tail)
		sameBoot := mode&4 != 0
		if !sameBoot {
			reboot(t, path)
		}

		d, err = OpenDir(path, smallConfig(), testLogger(t))
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer d.Close()
		l, _ = d.Log("f", 0)
		if sameBoot {
			if keep > 0 && l.LogEndOffset() <= hsBefore[keep-1].LastOffset() {
				t.Fatalf("log end %d, but batch %d ended at %d", l.LogEndOffset(), keep-1, hsBefore[keep-1].LastOffset())
			}
			if _, err := l.Append(makeBatch(t, spec{}), 9, testNow); err != nil {
				t.Fatalf("append after recovery: %v", err)
			}
			return
		}
		hs, after := readAll(t, l, 0)
		if len(after) < keep {
			t.Fatalf("lost batches: %d left of %d", len(after), keep)
		}
		for i := 0; i < keep; i++ {
			if !bytes.Equal(after[i], before[i]) {
				t.Fatalf("batch %d changed", i)
			}
		}
		for i := 1; i < len(hs); i++ {
			if hs[i].BaseOffset <= hs[i-1].LastOffset() {
				t.Fatalf("offsets go backwards at batch %d", i)
			}
		}
		if len(hs) > 0 && l.LogEndOffset() != hs[len(hs)-1].LastOffset()+1 {
			t.Fatalf("log end %d after last batch %d", l.LogEndOffset(), hs[len(hs)-1].LastOffset())
		}
		if _, err := l.Append(makeBatch(t, spec{}), 9, testNow); err != nil {
			t.Fatalf("append after recovery: %v", err)
		}
	})
}

// FuzzTxnIndex writes arbitrary bytes over (or after) a segment's
// .txnindex and reopens the log. Opening must not panic or fail; every
// entry loaded must lie in its segment, in marker order; the log must take
// appends and answer AbortedTransactions. After a crash the recovered
// segments' entries are rebuilt from the markers, so they must equal the
// originals.
//
// The first input byte picks the mode: bit 0 reopens after a clean
// shutdown instead of a crash, bit 1 appends the bytes instead of
// replacing the file, bits 2-4 pick the segment.
func FuzzTxnIndex(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 2})
	f.Add(append([]byte{1 | 4<<2}, bytes.Repeat([]byte{0xff}, 34)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || len(data) > 1<<14 {
			return
		}
		mode, tail := data[0], data[1:]
		path := t.TempDir()
		d := openTestDir(t, path)
		l, err := d.CreateLog("f", 0, [16]byte{}, smallConfig())
		if err != nil {
			t.Fatal(err)
		}
		seq := map[int64]int32{}
		for i := 0; i < 60; i++ {
			pid := int64(1 + i%3)
			if i%4 == 3 {
				mustAppend(t, l, markerBatch(t, pid, 0, i%8 == 3, 0), 0)
				continue
			}
			mustAppend(t, l, txnBatch(t, pid, 0, seq[pid], 2), 0)
			seq[pid] += 2
		}
		want := fmt.Sprint(l.AbortedTransactions(0, math.MaxInt64))
		segs := l.Segments()
		seg := segs[int(mode>>2&7)%len(segs)]
		if mode&1 == 1 {
			d.Close()
		} else {
			crash(d)
		}
		txnPath := segmentPath(l.dir, seg.BaseOffset, txnIndexSuffix)
		if mode&2 == 0 {
			os.Remove(txnPath)
		}
		fh, err := os.OpenFile(txnPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		fh.Write(tail)
		fh.Close()

		d, err = OpenDir(path, smallConfig(), testLogger(t))
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer d.Close()
		l, _ = d.Log("f", 0)
		for i, s := range l.segs {
			prev := int64(-1)
			for _, e := range s.txn.all() {
				if e.last < s.base || i+1 < len(l.segs) && e.last >= l.segs[i+1].base || e.last <= prev || e.first > e.last {
					t.Fatalf("segment %d holds entry %+v", s.base, e)
				}
				prev = e.last
			}
		}
		got := fmt.Sprint(l.AbortedTransactions(0, math.MaxInt64))
		if mode&1 == 0 && got != want {
			// No checkpoint was written: a crash recovers every segment.
			t.Fatalf("after a crash: %s, want %s", got, want)
		}
		if _, err := l.Append(markerBatch(t, 1, 0, true, 0), 9, testNow); err != nil {
			t.Fatalf("append after reopen: %v", err)
		}
	})
}
