package storage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/samsa-streaming/samsa/internal/record"
)

// fillLog writes n idempotent batches of 2 records (batch i has sequence
// 2i), with leader epoch 1 except the very last batch of a continuation
// (from > 0), which has epoch 2.
func fillLog(t *testing.T, l *Log, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		epoch := int32(1)
		if i == from+n-1 && from > 0 {
			epoch = 2
		}
		mustAppend(t, l, makeBatch(t, spec{records: 2, valueSize: 90, ts: int64(100 + i), producer: true, pid: 42, seq: int32(2 * i)}), epoch)
	}
}

// activeBatches lists (position, header) of the batches in the active
// segment of the log stored at dir.
func activeBatches(t *testing.T, l *Log) (string, []int64, []record.Header) {
	t.Helper()
	seg := l.active()
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

func flipByte(t *testing.T, path string, at int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	f.ReadAt(b[:], at)
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b[:], at); err != nil {
		t.Fatal(err)
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func TestRecoveryAfterCrash(t *testing.T) {
	type damage struct {
		name string
		// apply damages the active segment and returns how many of its
		// batches must survive.
		apply func(t *testing.T, path string, pos []int64, hs []record.Header) int
	}
	// Damage an OS crash can leave, but not a killed process (byte flips
	// in the middle), is only tested after a reboot: in the same boot the
	// page cache holds what was written, and batches are not CRC-checked.
	osOnly := map[string]bool{"byte flipped in last batch": true, "byte flipped in an earlier batch": true}
	cases := []damage{
		{"garbage appended", func(t *testing.T, path string, pos []int64, hs []record.Header) int {
			appendBytes(t, path, []byte("this is not a record batch, just junk after a torn write"))
			return len(hs)
		}},
		{"zeros appended", func(t *testing.T, path string, pos []int64, hs []record.Header) int {
			appendBytes(t, path, make([]byte, 4096))
			return len(hs)
		}},
		{"truncated mid-batch", func(t *testing.T, path string, pos []int64, hs []record.Header) int {
			last := len(hs) - 1
			os.Truncate(path, pos[last]+hs[last].TotalSize()/2)
			return last
		}},
		{"truncated mid-header", func(t *testing.T, path string, pos []int64, hs []record.Header) int {
			last := len(hs) - 1
			os.Truncate(path, pos[last]+20)
			return last
		}},
		{"byte flipped in last batch", func(t *testing.T, path string, pos []int64, hs []record.Header) int {
			last := len(hs) - 1
			flipByte(t, path, pos[last]+hs[last].TotalSize()-3)
			return last
		}},
		{"byte flipped in an earlier batch", func(t *testing.T, path string, pos []int64, hs []record.Header) int {
			if len(hs) < 3 {
				t.Skip("active segment too small")
			}
			flipByte(t, path, pos[1]+record.HeaderSize+2)
			return 1
		}},
		{"length field corrupted", func(t *testing.T, path string, pos []int64, hs []record.Header) int {
			last := len(hs) - 1
			flipByte(t, path, pos[last]+8) // high byte of the batch length
			return last
		}},
	}
	for _, rebooted := range []bool{false, true} {
		for _, withCheckpoint := range []bool{false, true} {
			for _, c := range cases {
				if osOnly[c.name] && !rebooted {
					continue
				}
				name := c.name
				if withCheckpoint {
					name += " after checkpoint"
				}
				if rebooted {
					name += " after reboot"
				}
				t.Run(name, func(t *testing.T) {
					path := t.TempDir()
					d := openTestDir(t, path)
					l, _ := d.CreateLog("t", 0, [16]byte{}, smallConfig())
					fillLog(t, l, 0, 40)
					if withCheckpoint {
						l.Flush()
						d.Checkpoint()
					}
					fillLog(t, l, 40, 9)
					segPath, pos, hs := activeBatches(t, l)
					crash(d)
					if rebooted {
						reboot(t, path)
					}
					keep := c.apply(t, segPath, pos, hs)
					wantEnd := hs[0].BaseOffset
					if keep > 0 {
						wantEnd = hs[keep-1].LastOffset() + 1
					}
					wantSize := int64(0)
					if keep > 0 {
						wantSize = pos[keep-1] + hs[keep-1].TotalSize()
					}

					d = openTestDir(t, path)
					defer d.Close()
					l, _ = d.Log("t", 0)
					if l.LogEndOffset() != wantEnd {
						t.Fatalf("log end %d, want %d", l.LogEndOffset(), wantEnd)
					}
					if st, _ := os.Stat(segPath); st.Size() != wantSize {
						t.Fatalf("segment is %d bytes, want %d", st.Size(), wantSize)
					}
					if l.RecoveryPoint() != wantEnd {
						t.Fatalf("recovery point %d after recovery, want %d", l.RecoveryPoint(), wantEnd)
					}
					checkIndexes(t, l)
					readAll(t, l, 0)
					if l.LatestEpoch() != 1 && keep < len(hs) {
						t.Fatalf("epoch 2 survived the truncation of its only batch: %+v", l.Epochs())
					}
					// Producer state is rebuilt up to the last surviving batch.
					survivors := 49 - len(hs) + keep
					ps := l.ProducerStates()
					if len(ps) != 1 || ps[0].LastSequence != int32(2*survivors-1) {
						t.Fatalf("producer state %+v, want last sequence %d", ps, 2*survivors-1)
					}
					res := mustAppend(t, l, makeBatch(t, spec{records: 2, producer: true, pid: 42, seq: int32(2 * survivors)}), 3)
					if res.BaseOffset != wantEnd {
						t.Fatalf("append after recovery at %d, want %d", res.BaseOffset, wantEnd)
					}
				})
			}
		}
	}
}

// TestRecoveryInSameBootSkipsCRC pins down the trade of boot.go: after a
// process crash in the same boot a batch whose bytes (not its header) were
// changed underneath is kept, since a killed process cannot leave that
// damage and checking for it is most of the recovery time; after a reboot
// the same damage cuts the log there. A batch cut short at the end is cut
// off either way (TestRecoveryAfterCrash).
func TestRecoveryInSameBootSkipsCRC(t *testing.T) {
	for _, rebooted := range []bool{false, true} {
		path := t.TempDir()
		d := openTestDir(t, path)
		l, _ := d.CreateLog("t", 0, [16]byte{}, smallConfig())
		fillLog(t, l, 0, 5)
		segPath, pos, hs := activeBatches(t, l)
		end := l.LogEndOffset()
		crash(d)
		if rebooted {
			reboot(t, path)
		}
		flipByte(t, segPath, pos[2]+hs[2].TotalSize()-3)
		d = openTestDir(t, path)
		l, _ = d.Log("t", 0)
		want := end
		if rebooted {
			want = hs[2].BaseOffset
		}
		if l.LogEndOffset() != want {
			t.Errorf("rebooted=%v: log end %d, want %d", rebooted, l.LogEndOffset(), want)
		}
		d.Close()
		if b, err := os.ReadFile(filepath.Join(path, bootFile)); err != nil || !bytes.Equal(bytes.TrimSpace(b), bootID()) {
			t.Errorf("boot file %q (%v), want the current boot %q", b, err, bootID())
		}
	}
}

func TestRecoveryDeletesSegmentsAfterCorruption(t *testing.T) {
	path := t.TempDir()
	d := openTestDir(t, path)
	l, _ := d.CreateLog("t", 0, [16]byte{}, smallConfig())
	fillLog(t, l, 0, 100)
	segs := l.Segments()
	if len(segs) < 4 {
		t.Fatalf("want several segments, have %d", len(segs))
	}
	crash(d)
	reboot(t, path)
	victim := segs[1]
	flipByte(t, victim.Path, 100)
	d = openTestDir(t, path)
	defer d.Close()
	l, _ = d.Log("t", 0)
	after := l.Segments()
	if len(after) != 2 || after[1].BaseOffset != victim.BaseOffset {
		t.Fatalf("segments after recovery: %+v", after)
	}
	for _, s := range segs[2:] {
		if _, err := os.Stat(s.Path); !os.IsNotExist(err) {
			t.Fatalf("segment %s survived: %v", s.Path, err)
		}
	}
	checkIndexes(t, l)
}

func TestCleanOpenRebuildsBadIndex(t *testing.T) {
	path := t.TempDir()
	d := openTestDir(t, path)
	l, _ := d.CreateLog("t", 0, [16]byte{}, Config{SegmentBytes: 1 << 20, IndexIntervalBytes: 200})
	fillLog(t, l, 0, 50)
	idxPath := l.active().idx.path
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	os.Truncate(idxPath, 13) // not a multiple of 8
	d = openTestDir(t, path)
	defer d.Close()
	l, _ = d.Log("t", 0)
	if l.LogEndOffset() != 100 {
		t.Fatalf("log end %d", l.LogEndOffset())
	}
	checkIndexes(t, l)
}

func TestCleanOpenDetectsTornTail(t *testing.T) {
	// A clean marker with a tail that does not match: the tail check falls
	// back to recovering the last segment.
	path := t.TempDir()
	d := openTestDir(t, path)
	l, _ := d.CreateLog("t", 0, [16]byte{}, smallConfig())
	fillLog(t, l, 0, 30)
	end := l.LogEndOffset()
	segPath := l.active().path
	d.Close()
	appendBytes(t, segPath, []byte{0, 0, 0, 1, 2})
	d = openTestDir(t, path)
	defer d.Close()
	l, _ = d.Log("t", 0)
	if l.LogEndOffset() != end {
		t.Fatalf("log end %d, want %d", l.LogEndOffset(), end)
	}
	readAll(t, l, 0)
}

func TestEpochCacheRebuiltWhenUnreadable(t *testing.T) {
	path := t.TempDir()
	d := openTestDir(t, path)
	l, _ := d.CreateLog("t", 0, [16]byte{}, smallConfig())
	for i := 0; i < 30; i++ {
		mustAppend(t, l, makeBatch(t, spec{valueSize: 200}), int32(i/10))
	}
	want := l.Epochs()
	epochPath := filepath.Join(l.dir, leaderEpochFile)
	d.Close()
	os.WriteFile(epochPath, []byte("garbage\n"), 0o644)
	d = openTestDir(t, path)
	defer d.Close()
	l, _ = d.Log("t", 0)
	got := l.Epochs()
	if len(got) != len(want) {
		t.Fatalf("epochs %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("epochs %+v, want %+v", got, want)
		}
	}
}

func TestCorruptionErrorCarriesLocation(t *testing.T) {
	err := error(&CorruptionError{Path: "/x/00000000000000000000.log", Pos: 123, Err: record.ErrCRC})
	if !errors.Is(err, ErrCorrupt) || !errors.Is(err, record.ErrCRC) {
		t.Fatal("CorruptionError does not unwrap to both causes")
	}
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.Pos != 123 {
		t.Fatal("errors.As failed")
	}
}

// TestEpochCheckpointWrittenLazily: an append that starts a leader epoch
// leaves the checkpoint to the next Flush; a crash leaves it as that Flush
// wrote it, or (a file system that lost more) empty or missing. Either way
// the next open assigns the epochs of the batches past the recovery point
// again, and the Flush in between made the older entries durable.
func TestEpochCheckpointWrittenLazily(t *testing.T) {
	for _, lost := range []string{"stale", "empty", "missing"} {
		t.Run(lost, func(t *testing.T) {
			path := t.TempDir()
			d := openTestDir(t, path)
			l, err := d.CreateLog("t", 0, [16]byte{}, smallConfig())
			if err != nil {
				t.Fatal(err)
			}
			mustAppend(t, l, makeBatch(t, spec{records: 2, ts: 100}), 1)
			if _, err := l.Flush(); err != nil {
				t.Fatal(err)
			}
			cp := filepath.Join(l.dir, leaderEpochFile)
			flushed, err := os.ReadFile(cp)
			if err != nil {
				t.Fatal(err)
			}
			mustAppend(t, l, makeBatch(t, spec{records: 2, ts: 101}), 3)
			mustAppend(t, l, makeBatch(t, spec{records: 2, ts: 102}), 4)
			if b, err := os.ReadFile(cp); err != nil || !bytes.Equal(b, flushed) {
				t.Fatalf("an append rewrote the checkpoint: %q (flushed %q) %v", b, flushed, err)
			}
			want := l.Epochs()
			if len(want) != 3 {
				t.Fatalf("epochs %+v", want)
			}
			crash(d)
			switch lost {
			case "stale":
				err = os.WriteFile(cp, flushed, 0o644)
			case "empty":
				err = os.WriteFile(cp, nil, 0o644)
			case "missing":
				err = os.Remove(cp)
			}
			if err != nil {
				t.Fatal(err)
			}
			d = openTestDir(t, path)
			defer d.Close()
			l, _ = d.Log("t", 0)
			if got := l.Epochs(); !slices.Equal(got, want) {
				t.Fatalf("epochs after the crash %+v, want %+v", got, want)
			}
			if e, off := l.EndOffsetForEpoch(3); e != 3 || off != 4 {
				t.Fatalf("EndOffsetForEpoch(3) = %d, %d; want 3, 4", e, off)
			}
		})
	}
}

// LostPageCache tells a broker, before it opens its log dir, that an
// unclean shutdown its OS did not outlive may have taken what it had not
// fsynced: not for a new dir, a clean shutdown or a kill -9 (same boot).
func TestLostPageCache(t *testing.T) {
	path := t.TempDir()
	if LostPageCache(path) {
		t.Fatal("an empty dir reported lost")
	}
	d := openTestDir(t, path)
	l, _ := d.CreateLog("t", 0, [16]byte{}, smallConfig())
	fillLog(t, l, 0, 5)
	crash(d)
	if LostPageCache(path) {
		t.Fatal("a kill -9 (same boot) reported lost")
	}
	reboot(t, path)
	if !LostPageCache(path) {
		t.Fatal("an unclean shutdown across a reboot not reported")
	}
	d = openTestDir(t, path)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	reboot(t, path)
	if LostPageCache(path) {
		t.Fatal("a clean shutdown reported lost")
	}
}
