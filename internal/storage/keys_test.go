package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/samsa-streaming/samsa/internal/record"
)

// keyFiles lists the base offsets of the key files in a log's directory.
func keyFiles(t *testing.T, l *Log) map[int64]bool {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(l.Path(), "*"+keysSuffix))
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]bool{}
	for _, n := range names {
		if off, ok := parseOffsetName(filepath.Base(n), keysSuffix); ok {
			out[off] = true
		}
	}
	return out
}

// randomCompacted makes a compacted log of several segments from seed.
func randomCompacted(t *testing.T, seed uint64) (*Dir, *Log, *model) {
	return randomCompactedN(t, seed, 300)
}

// randomCompactedN appends n random batches.
func randomCompactedN(t testing.TB, seed uint64, n int) (*Dir, *Log, *model) {
	t.Helper()
	d, l := newTestLog(t, compactConfig())
	m := &model{recs: map[int64]kv{}, ts: map[int64]int64{}}
	appendRandom(t, l, m, rand.New(rand.NewPCG(seed, 7)), n, 40, testNow.UnixMilli())
	if len(l.Segments()) < 4 {
		t.Fatalf("want several segments, got %d", len(l.Segments()))
	}
	return d, l, m
}

// dirtyEnd is the base of the active segment: what a full pass cleans to.
func dirtyEnd(l *Log) int64 { segs := l.Segments(); return segs[len(segs)-1].BaseOffset }

// TestKeyFilesCleanLikeAWalk: a compacted log has a key file for every
// segment, and cleaning from them writes byte for byte what cleaning by
// walking the records writes.
func TestKeyFilesCleanLikeAWalk(t *testing.T) {
	_, a, m := randomCompacted(t, 1)
	_, b, _ := randomCompacted(t, 1)
	segs := a.Segments()
	files := keyFiles(t, a)
	for _, s := range segs {
		if !files[s.BaseOffset] {
			t.Fatalf("segment %d has no key file (have %v)", s.BaseOffset, files)
		}
	}
	for base := range keyFiles(t, b) {
		if err := os.Remove(segmentPath(b.Path(), base, keysSuffix)); err != nil {
			t.Fatal(err)
		}
	}
	end := dirtyEnd(a)
	sa, err := a.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true)
	if err != nil {
		t.Fatal(err)
	}
	if sa.KeyFiles != len(segs)-1 || sb.KeyFiles != 0 {
		t.Fatalf("mapped from %d and %d key files, want %d and 0", sa.KeyFiles, sb.KeyFiles, len(segs)-1)
	}
	if sa.Keys != sb.Keys || sa.RecordsKept != sb.RecordsKept || sa.BytesWritten != sb.BytesWritten {
		t.Fatalf("key files: %+v\nwalk: %+v", sa, sb)
	}
	_, ba := readAll(t, a, 0)
	_, bb := readAll(t, b, 0)
	if len(ba) != len(bb) {
		t.Fatalf("%d batches from key files, %d from a walk", len(ba), len(bb))
	}
	for i := range ba {
		if !bytes.Equal(ba[i], bb[i]) {
			t.Fatalf("batch %d differs", i)
		}
	}
	checkAgainst(t, a, m.compacted(end, true), m)
	// Cleaned segments have no key file; only the active one does.
	if files := keyFiles(t, a); len(files) != 1 || !files[end] {
		t.Fatalf("key files after cleaning: %v, want only the active segment's (%d)", files, end)
	}
}

// refinish rewrites a key file with the given entries, the trailer of the
// segment's own file (tr, from orig) and a correct CRC: a file that passes
// every check but the comparison with the records.
func refinish(t testing.TB, path string, base int64, orig, entries []byte) {
	t.Helper()
	be := binary.BigEndian
	ot := orig[len(orig)-keysTrailerSize:]
	b := append(keysHeader(base), entries...)
	crc := crc32.Checksum(b, castagnoli)
	b = be.AppendUint64(b, be.Uint64(ot[0:]))
	b = be.AppendUint64(b, uint64(len(entries)/keysEntrySize))
	b = be.AppendUint64(b, be.Uint64(ot[16:]))
	b = be.AppendUint32(b, be.Uint32(ot[24:]))
	b = be.AppendUint32(b, crc)
	b = be.AppendUint32(b, keysEndMagic)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// thirdKeys reads the key file of the log's third segment.
func thirdKeys(t *testing.T, l *Log) []byte {
	t.Helper()
	b, err := os.ReadFile(segmentPath(l.Path(), l.Segments()[2].BaseOffset, keysSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKeyFileDamage: a key file that fails its checks is deleted and its
// segment walked; one that passes them but does not describe its segment
// fails the pass before anything is swapped in, and the next pass walks.
// Either way nothing is lost and the result is the model's.
func TestKeyFileDamage(t *testing.T) {
	damages := []struct {
		name    string
		damage  func(t *testing.T, path string, b []byte, l *Log)
		failing bool // the pass fails (the file passes its own checks)
	}{
		{"cut short", func(t *testing.T, path string, b []byte, _ *Log) {
			os.WriteFile(path, b[:len(b)-1], 0o644)
		}, false},
		{"no trailer", func(t *testing.T, path string, b []byte, _ *Log) {
			os.WriteFile(path, b[:len(b)-keysTrailerSize], 0o644)
		}, false},
		{"entry byte flipped", func(t *testing.T, path string, b []byte, _ *Log) {
			b[keysHeaderSize+3] ^= 1
			os.WriteFile(path, b, 0o644)
		}, false},
		{"zeroed", func(t *testing.T, path string, b []byte, _ *Log) {
			os.WriteFile(path, make([]byte, len(b)), 0o644)
		}, false},
		{"another segment's", func(t *testing.T, path string, b []byte, l *Log) {
			os.WriteFile(path, thirdKeys(t, l), 0o644)
		}, false},
		{"another segment's, re-headed", func(t *testing.T, path string, b []byte, l *Log) {
			segs, other := l.Segments(), thirdKeys(t, l)
			refinish(t, path, segs[1].BaseOffset, b, other[keysHeaderSize:len(other)-keysTrailerSize])
		}, true},
		{"another segment's, re-headed and sized", func(t *testing.T, path string, b []byte, l *Log) {
			// Passes the header, size, count and CRC checks; only the
			// last batch's position and CRC give it away.
			segs, other := l.Segments(), thirdKeys(t, l)
			fake := append([]byte(nil), other...)
			binary.BigEndian.PutUint64(fake[len(fake)-keysTrailerSize:], uint64(segs[1].Size))
			refinish(t, path, segs[1].BaseOffset, fake, other[keysHeaderSize:len(other)-keysTrailerSize])
		}, false},
		{"two entries swapped", func(t *testing.T, path string, b []byte, l *Log) {
			e := append([]byte(nil), b[keysHeaderSize:len(b)-keysTrailerSize]...)
			var tmp [keysEntrySize]byte
			copy(tmp[:], e[:keysEntrySize])
			copy(e[:keysEntrySize], e[keysEntrySize:2*keysEntrySize])
			copy(e[keysEntrySize:], tmp[:])
			segs := l.Segments()
			refinish(t, path, segs[1].BaseOffset, b, e)
		}, true},
		{"digests of a batch's records swapped", func(t *testing.T, path string, b []byte, l *Log) {
			// Every record of a key file entry made the latest of its
			// key: the pass keeps a record under another key's id.
			e := append([]byte(nil), b[keysHeaderSize:len(b)-keysTrailerSize]...)
			n := len(e) / keysEntrySize
			for i := 0; i < n; i++ {
				binary.BigEndian.PutUint64(e[i*keysEntrySize:], uint64(i)+1)
				binary.BigEndian.PutUint32(e[i*keysEntrySize+8:], 0)
				e[i*keysEntrySize+12] &^= 0x80 // no keyless flags
			}
			segs := l.Segments()
			refinish(t, path, segs[1].BaseOffset, b, e)
		}, true},
	}
	for i, dm := range damages {
		t.Run(dm.name, func(t *testing.T) {
			_, l, m := randomCompacted(t, uint64(10+i))
			segs := l.Segments()
			end := dirtyEnd(l)
			path := segmentPath(l.Path(), segs[1].BaseOffset, keysSuffix)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			dm.damage(t, path, b, l)
			want := m.compacted(end, true)
			st, err := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true)
			if dm.failing {
				if !errors.Is(err, errKeyMapMismatch) {
					t.Fatalf("pass with a key file that does not describe its segment: %v, stats %+v", err, st)
				}
				// Groups before the bad segment may have been swapped
				// in; nothing the compaction keeps may be missing.
				got := readRecords(t, l)
				for off, w := range want {
					if g, ok := got[off]; !ok || string(g.key) != string(w.key) || string(g.value) != string(w.value) {
						t.Fatalf("after the failed pass offset %d is %q=%q (present %v), want %q=%q", off, g.key, g.value, ok, w.key, w.value)
					}
				}
				if st, err = l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true); err != nil {
					t.Fatalf("pass after the failed one: %v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the damaged key file is still there: %v", err)
			}
			if st.KeyFiles >= len(segs)-1 {
				t.Errorf("mapped %d key files, the damaged one among them", st.KeyFiles)
			}
			checkAgainst(t, l, want, m)
		})
	}
}

// TestKeyFilesAcrossRestarts: after a clean shutdown the active segment's
// key file goes on; after a kill -9 it is deleted (its tail may be
// missing) and that segment is walked; the finished ones are used.
func TestKeyFilesAcrossRestarts(t *testing.T) {
	for _, tc := range []struct {
		clean, topicConfig bool
	}{{true, false}, {false, false}, {true, true}} {
		clean := tc.clean
		name := "kill -9"
		if clean {
			name = "clean shutdown"
		}
		if tc.topicConfig {
			// The broker opens every log with its defaults (delete) and
			// sets the topic's config (compact) just after.
			name += ", compact set after open"
		}
		t.Run(name, func(t *testing.T) {
			d, l, m := randomCompacted(t, 20)
			rng := rand.New(rand.NewPCG(21, 7))
			active := dirtyEnd(l)
			if clean {
				if err := d.Close(); err != nil {
					t.Fatal(err)
				}
			} else {
				crash(d)
			}
			openCfg := compactConfig()
			if tc.topicConfig {
				openCfg.CleanupCompact = false
			}
			d2, err := OpenDir(d.Path(), openCfg, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer d2.Close()
			l2, _ := d2.Log("topic", 0)
			l2.SetConfig(compactConfig())
			if got := keyFiles(t, l2)[active]; got != clean {
				t.Fatalf("key file of the active segment after reopening: %v, want %v", got, clean)
			}
			// Fill the active segment and roll past it.
			for dirtyEnd(l2) == active {
				appendRandom(t, l2, m, rng, 1, 40, testNow.UnixMilli())
			}
			segs := l2.Segments()
			end := dirtyEnd(l2)
			st, err := l2.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true)
			if err != nil {
				t.Fatal(err)
			}
			want := len(segs) - 1
			if !clean {
				want-- // the segment active at the crash was walked
			}
			if st.KeyFiles != want {
				t.Fatalf("mapped %d key files, want %d", st.KeyFiles, want)
			}
			checkAgainst(t, l2, m.compacted(end, true), m)
		})
	}
}

// TestKeyFilesAfterTruncation: truncation deletes the key files of what
// it cuts; the segment truncated into is walked, later ones get new files.
func TestKeyFilesAfterTruncation(t *testing.T) {
	_, l, m := randomCompacted(t, 30)
	segs := l.Segments()
	cut := segs[2].BaseOffset + 2
	if err := l.TruncateTo(cut); err != nil {
		t.Fatal(err)
	}
	for off := range m.recs {
		if off >= l.LogEndOffset() {
			delete(m.recs, off)
		}
	}
	if files := keyFiles(t, l); len(files) != 2 || !files[segs[0].BaseOffset] || !files[segs[1].BaseOffset] {
		t.Fatalf("key files after truncating into segment 2: %v", files)
	}
	appendRandom(t, l, m, rand.New(rand.NewPCG(31, 7)), 200, 40, testNow.UnixMilli())
	end := dirtyEnd(l)
	dirty := len(l.Segments()) - 1
	st, err := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true)
	if err != nil {
		t.Fatal(err)
	}
	if st.KeyFiles != dirty-1 {
		t.Fatalf("mapped %d key files, want all %d dirty segments but the truncated one", st.KeyFiles, dirty)
	}
	checkAgainst(t, l, m.compacted(end, true), m)
}

// TestKeyFilesOnlyWhenCompactedAtCreation: segments written while a topic
// was not compacted (keyless records allowed) have no key file and are
// walked once it is; segments created after the change have one.
func TestKeyFilesOnlyWhenCompactedAtCreation(t *testing.T) {
	c := compactConfig()
	c.CleanupCompact = false
	_, l := newTestLog(t, c)
	m := &model{recs: map[int64]kv{}, ts: map[int64]int64{}}
	rng := rand.New(rand.NewPCG(40, 7))
	appendRandom(t, l, m, rng, 150, 40, testNow.UnixMilli())
	if files := keyFiles(t, l); len(files) != 0 {
		t.Fatalf("key files on a log that is not compacted: %v", files)
	}
	before := len(l.Segments())
	c.CleanupCompact = true
	l.SetConfig(c)
	appendRandom(t, l, m, rng, 150, 40, testNow.UnixMilli())
	end := dirtyEnd(l)
	dirty := len(l.Segments()) - 1
	st, err := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true)
	if err != nil {
		t.Fatal(err)
	}
	// The segment active at the change has no key file either.
	if want := dirty - before; st.KeyFiles != want {
		t.Fatalf("mapped %d key files, want %d (segments created after the change)", st.KeyFiles, want)
	}
	checkAgainst(t, l, m.compacted(end, true), m)
}

// TestAppendRefusesKeylessOnCompacted: the leader refuses a batch with a
// null key on a compacted log (Kafka's INVALID_RECORD), compressed or not,
// and writes nothing; an empty key is a key; a follower takes the batch.
func TestAppendRefusesKeylessOnCompacted(t *testing.T) {
	_, l := newTestLog(t, compactConfig())
	for _, codec := range []int{record.CompressionNone, record.CompressionLZ4} {
		mustAppend(t, l, keyedBatch(t, []kv{{key: []byte("a"), value: []byte("1")}, {key: []byte{}, value: []byte("2")}}, testNow.UnixMilli(), codec, false, -1, 0), 0)
		leo := l.LogEndOffset()
		b := keyedBatch(t, []kv{{key: []byte("a"), value: []byte("1")}, {value: []byte("2")}}, testNow.UnixMilli(), codec, false, -1, 0)
		if _, err := l.Append(b, 0, testNow); !errors.Is(err, record.ErrNoKey) {
			t.Fatalf("codec %d: keyless record: %v, want ErrNoKey", codec, err)
		}
		if l.LogEndOffset() != leo {
			t.Fatalf("codec %d: a refused batch moved the log end to %d", codec, l.LogEndOffset())
		}
		record.SetBaseOffset(b, leo)
		if _, err := l.AppendFollower(b, testNow); err != nil {
			t.Fatalf("codec %d: follower append: %v", codec, err)
		}
	}
	b := keyedBatch(t, []kv{{key: []byte("a"), value: []byte("1")}}, testNow.UnixMilli(), record.CompressionLZ4, false, -1, 0)
	b[len(b)-1] ^= 0xff // the compressed section no longer decodes
	if _, err := l.Append(b, 0, testNow); !errors.Is(err, record.ErrCorrupt) {
		t.Fatalf("undecodable records section: %v, want ErrCorrupt", err)
	}
}

// FuzzKeyFile replaces the key file of a segment with arbitrary bytes
// (mode 0) or with arbitrary entries under a header and trailer that pass
// every check (mode 1). Cleaning must not panic, and must either succeed
// or fail with errKeyMapMismatch, after which the next pass (walking)
// leaves what the model's compaction leaves. (Entries crafted to pass the
// CRC can make the cleaner drop the wrong records: the CRC guards against
// damage, not against someone writing to the data directory.)
func FuzzKeyFile(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(append([]byte{1}, bytes.Repeat([]byte{0xff}, 64)...))
	// One log, closed cleanly, copied for every input.
	d, _, m := randomCompactedN(f, 50, 100)
	if err := d.Close(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || len(data) > 1<<14 {
			return
		}
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS(d.Path())); err != nil {
			t.Fatal(err)
		}
		d, err := OpenDir(dir, compactConfig(), testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		l, _ := d.Log("topic", 0)
		segs := l.Segments()
		end := dirtyEnd(l)
		path := segmentPath(l.Path(), segs[1].BaseOffset, keysSuffix)
		if data[0]%2 == 0 {
			os.WriteFile(path, data[1:], 0o644)
		} else {
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			e := data[1:]
			refinish(t, path, segs[1].BaseOffset, orig, e[:len(e)/keysEntrySize*keysEntrySize])
		}
		if _, err = l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true); err == nil {
			return
		}
		if !errors.Is(err, errKeyMapMismatch) {
			t.Fatalf("Clean: %v", err)
		}
		if _, err := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true); err != nil {
			t.Fatalf("pass after a mismatch: %v", err)
		}
		checkAgainst(t, l, m.compacted(end, true), m)
	})
}
