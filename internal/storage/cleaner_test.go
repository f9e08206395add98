package storage

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/record"
)

// kv is one test record; a nil value is a tombstone, a nil key keyless.
type kv struct {
	key, value []byte
}

// keyedBatch encodes records as one v2 batch compressed with codec
// (xerial framing for snappy when xerial is set), timestamps ts, ts+1, ...
func keyedBatch(t testing.TB, recs []kv, ts int64, codec int, xerial bool, pid int64, seq int32) []byte {
	t.Helper()
	var section []byte
	for i, r := range recs {
		kr := kmsg.Record{TimestampDelta64: int64(i), OffsetDelta: int32(i), Key: r.key, Value: r.value}
		body := kr.AppendTo(nil)
		kr.Length = int32(len(body) - 1)
		section = kr.AppendTo(section)
	}
	if codec != record.CompressionNone {
		var err error
		if section, err = record.Compress(nil, section, codec, xerial); err != nil {
			t.Fatal(err)
		}
	}
	h := record.Header{
		PartitionLeaderEpoch: -1, Attributes: int16(codec), LastOffsetDelta: int32(len(recs) - 1),
		FirstTimestamp: ts, MaxTimestamp: ts + int64(len(recs)-1), ProducerID: -1, ProducerEpoch: -1,
		BaseSequence: -1, NumRecords: int32(len(recs)),
	}
	if pid >= 0 {
		h.ProducerID, h.ProducerEpoch, h.BaseSequence = pid, 0, seq
	}
	b := record.BuildBatch(nil, &h, section)
	if _, err := record.ValidateProduced(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// readRecords reads the whole log back: offset -> record.
type readRecord struct {
	key, value []byte
	ts         int64
}

func readRecords(t testing.TB, l *Log) map[int64]readRecord {
	t.Helper()
	out := map[int64]readRecord{}
	hs, bs := readAll(t, l, l.LogStartOffset())
	for i, h := range hs {
		data, err := record.BatchRecords(nil, bs[i], &h)
		if err != nil {
			t.Fatalf("batch %d: %v", h.BaseOffset, err)
		}
		err = record.WalkRecords(data, h.NumRecords, func(r *record.Record) error {
			off := h.BaseOffset + int64(r.OffsetDelta)
			if off > h.LastOffset() {
				t.Fatalf("record offset %d past batch last offset %d", off, h.LastOffset())
			}
			out[off] = readRecord{key: clone(r.Key), value: clone(r.Value), ts: h.FirstTimestamp + r.TimestampDelta}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// model is the reference: every record appended, by offset.
type model struct {
	recs map[int64]kv
	ts   map[int64]int64
}

// compacted is what a full compaction must leave of records below end:
// the latest record of each key, tombstones only if keepTombstones;
// records at or above end are untouched.
func (m *model) compacted(end int64, keepTombstones bool) map[int64]kv {
	latest := map[string]int64{}
	for off, r := range m.recs {
		if r.key != nil && off < end && off > latest[string(r.key)]-1 {
			if cur, ok := latest[string(r.key)]; !ok || off > cur {
				latest[string(r.key)] = off
			}
		}
	}
	out := map[int64]kv{}
	for off, r := range m.recs {
		if off >= end {
			out[off] = r
			continue
		}
		if r.key == nil || latest[string(r.key)] != off || (r.value == nil && !keepTombstones) {
			continue
		}
		out[off] = r
	}
	return out
}

func checkAgainst(t *testing.T, l *Log, want map[int64]kv, m *model) {
	t.Helper()
	got := readRecords(t, l)
	if len(got) != len(want) {
		t.Errorf("log holds %d records, model %d", len(got), len(want))
	}
	for off, w := range want {
		g, ok := got[off]
		if !ok {
			t.Errorf("offset %d (key %q) missing", off, w.key)
			continue
		}
		if string(g.key) != string(w.key) || string(g.value) != string(w.value) || (g.value == nil) != (w.value == nil) {
			t.Errorf("offset %d: got %q=%q, want %q=%q", off, g.key, g.value, w.key, w.value)
		}
		if g.ts != m.ts[off] {
			t.Errorf("offset %d: timestamp %d, want %d", off, g.ts, m.ts[off])
		}
	}
	for off := range got {
		if off < l.LogStartOffset() {
			continue // in the log start's batch, not in the log
		}
		if _, ok := want[off]; !ok {
			t.Errorf("offset %d (key %q) should have been compacted away", off, got[off].key)
		}
	}
}

func compactConfig() Config {
	c := smallConfig()
	c.CleanupCompact = true
	c.DeleteRetention = time.Hour
	c.MinCleanableRatio = 0.5
	return c
}

// appendRandom appends n batches of 1-5 records with keys from a space of
// keys, ~10% tombstones and ~3% keyless records, with a random codec.
func appendRandom(t testing.TB, l *Log, m *model, rng *rand.Rand, n, keys int, ts int64) {
	t.Helper()
	for i := 0; i < n; i++ {
		var recs []kv
		for j := rng.IntN(5); j >= 0; j-- {
			r := kv{key: []byte(fmt.Sprintf("key-%d", rng.IntN(keys))), value: []byte(fmt.Sprintf("v%d-%s", rng.Int(), strings.Repeat("x", rng.IntN(60))))}
			switch x := rng.IntN(100); {
			case x < 10:
				r.value = nil
			case x < 13:
				r.key = nil
			}
			recs = append(recs, r)
		}
		codec := []int{record.CompressionNone, record.CompressionGzip, record.CompressionSnappy, record.CompressionLZ4, record.CompressionZstd}[rng.IntN(5)]
		res := appendMaybeKeyless(t, l, keyedBatch(t, recs, ts, codec, rng.IntN(2) == 0, -1, 0), recs)
		for j, r := range recs {
			m.recs[res.BaseOffset+int64(j)] = r
			m.ts[res.BaseOffset+int64(j)] = ts + int64(j)
		}
	}
}

// appendMaybeKeyless appends a batch as the leader, or, if a record has
// no key, as a follower would (a compacted log's leader refuses keyless
// records; a follower takes what its leader accepted before the topic was
// compacted, and the cleaner must drop those).
func appendMaybeKeyless(t testing.TB, l *Log, b []byte, recs []kv) AppendResult {
	t.Helper()
	for _, r := range recs {
		if r.key == nil && l.compacted.Load() {
			if _, err := l.Append(b, 0, testNow); !errors.Is(err, record.ErrNoKey) {
				t.Fatalf("leader append of a keyless record to a compacted log: %v, want ErrNoKey", err)
			}
			record.SetBaseOffset(b, l.LogEndOffset())
			res, err := l.AppendFollower(b, testNow)
			if err != nil {
				t.Fatalf("AppendFollower: %v", err)
			}
			return res
		}
	}
	return mustAppend(t, l, b, 0)
}

func TestCleanMatchesModel(t *testing.T) {
	_, l := newTestLog(t, compactConfig())
	rng := rand.New(rand.NewPCG(1, 2))
	m := &model{recs: map[int64]kv{}, ts: map[int64]int64{}}
	now := testNow
	appendRandom(t, l, m, rng, 300, 40, now.UnixMilli())
	end := l.Segments()[len(l.Segments())-1].BaseOffset
	st, err := l.Clean(now, CleanOptions{Limit: math.MaxInt64}, false)
	if err != nil {
		t.Fatal(err)
	}
	if st.End != end || st.Rewritten == 0 || st.RecordsKept >= st.RecordsRead {
		t.Fatalf("stats %+v, want end %d", st, end)
	}
	// First pass: tombstones get a delete horizon and stay.
	checkAgainst(t, l, m.compacted(end, true), m)
	if l.CleanerOffset() != end {
		t.Fatalf("cleaner offset %d, want %d", l.CleanerOffset(), end)
	}

	// More data, a pass before the horizon: tombstones still there.
	appendRandom(t, l, m, rng, 300, 40, now.UnixMilli())
	end = l.Segments()[len(l.Segments())-1].BaseOffset
	if _, err := l.Clean(now.Add(30*time.Minute), CleanOptions{Limit: math.MaxInt64}, true); err != nil {
		t.Fatal(err)
	}
	checkAgainst(t, l, m.compacted(end, true), m)

	// After the horizon every tombstone of the first pass goes; those
	// stamped by the second pass (horizon at +90min) stay until then.
	appendRandom(t, l, m, rng, 300, 40, now.UnixMilli())
	end = l.Segments()[len(l.Segments())-1].BaseOffset
	if _, err := l.Clean(now.Add(5*time.Hour), CleanOptions{Limit: math.MaxInt64}, true); err != nil {
		t.Fatal(err)
	}
	appendRandom(t, l, m, rng, 50, 40, now.UnixMilli())
	end = l.Segments()[len(l.Segments())-1].BaseOffset
	if _, err := l.Clean(now.Add(10*time.Hour), CleanOptions{Limit: math.MaxInt64}, true); err != nil {
		t.Fatal(err)
	}
	want := m.compacted(end, false)
	// Tombstones stamped in the last pass (new dirty ones) remain.
	got := readRecords(t, l)
	for off, r := range got {
		if r.value == nil {
			if _, stamped := want[off]; !stamped {
				want[off] = kv{key: r.key}
			}
		}
	}
	checkAgainst(t, l, want, m)
}

// TestCleanSmallKeyMapFromMidSegment bounds the key map to one segment a
// pass and moves the log start into the middle of a segment: records
// before the first dirty offset, and all of the clean prefix, are looked up
// by key, the rest by their position in the map pass, and the passes
// together leave what the model's full compaction leaves.
func TestCleanSmallKeyMapFromMidSegment(t *testing.T) {
	_, l := newTestLog(t, compactConfig())
	rng := rand.New(rand.NewPCG(3, 4))
	m := &model{recs: map[int64]kv{}, ts: map[int64]int64{}}
	appendRandom(t, l, m, rng, 300, 40, testNow.UnixMilli())
	segs := l.Segments()
	if len(segs) < 5 || segs[2].BaseOffset-segs[1].BaseOffset < 4 {
		t.Fatalf("want several segments of several records, got %+v", segs)
	}
	start := segs[1].BaseOffset + 3
	if err := l.DeleteRecordsBefore(start); err != nil {
		t.Fatal(err)
	}
	for off := range m.recs {
		if off < start {
			delete(m.recs, off)
		}
	}
	end := segs[len(segs)-1].BaseOffset
	passes := 0
	for l.CleanerOffset() < end {
		if passes++; passes > len(segs) {
			t.Fatalf("cleaner offset %d after %d passes, want %d", l.CleanerOffset(), passes-1, end)
		}
		st, err := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64, MaxMapBytes: 1}, true)
		if err != nil {
			t.Fatal(err)
		}
		if st.End <= st.FirstDirty {
			t.Fatalf("pass %d made no progress: %+v", passes, st)
		}
	}
	if passes < 3 {
		t.Fatalf("%d passes: the key map bound was not applied", passes)
	}
	checkAgainst(t, l, m.compacted(end, true), m)
}

func TestCleanNeverActiveAndLimits(t *testing.T) {
	c := compactConfig()
	_, l := newTestLog(t, c)
	m := &model{recs: map[int64]kv{}, ts: map[int64]int64{}}
	rng := rand.New(rand.NewPCG(3, 4))
	appendRandom(t, l, m, rng, 100, 5, testNow.UnixMilli())
	segs := l.Segments()
	active := segs[len(segs)-1]
	// Limit below the second segment: only the first may be cleaned.
	st, err := l.Clean(testNow, CleanOptions{Limit: segs[1].BaseOffset}, true)
	if err != nil {
		t.Fatal(err)
	}
	if st.End != segs[1].BaseOffset {
		t.Fatalf("cleaned to %d, want %d", st.End, segs[1].BaseOffset)
	}
	// min.compaction.lag.ms keeps young segments.
	c.MinCompactionLag = time.Hour
	l.SetConfig(c)
	if st, _ := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true); st.Rewritten != 0 {
		t.Fatalf("cleaned segments younger than min.compaction.lag.ms: %+v", st)
	}
	c.MinCompactionLag = 0
	l.SetConfig(c)
	if _, err := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true); err != nil {
		t.Fatal(err)
	}
	after := l.Segments()
	if last := after[len(after)-1]; last.BaseOffset != active.BaseOffset || last.Size != active.Size {
		t.Fatalf("active segment changed: %+v -> %+v", active, last)
	}
	checkAgainst(t, l, m.compacted(active.BaseOffset, true), m)
}

func TestCleanableRatio(t *testing.T) {
	c := compactConfig()
	c.MinCleanableRatio = 0.9
	_, l := newTestLog(t, c)
	m := &model{recs: map[int64]kv{}, ts: map[int64]int64{}}
	rng := rand.New(rand.NewPCG(5, 6))
	appendRandom(t, l, m, rng, 100, 1e6, testNow.UnixMilli())
	if _, err := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true); err != nil {
		t.Fatal(err)
	}
	appendRandom(t, l, m, rng, 60, 1e6, testNow.UnixMilli())
	cl, ok := l.Cleanable(testNow, math.MaxInt64)
	if !ok || cl.ShouldClean || cl.Ratio <= 0 || cl.Ratio >= 0.9 {
		t.Fatalf("cleanable %+v", cl)
	}
	if st, _ := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, false); st.Rewritten != 0 {
		t.Fatalf("cleaned below min.cleanable.dirty.ratio: %+v", st)
	}
	// max.compaction.lag.ms forces the pass.
	c.MaxCompactionLag = time.Minute
	l.SetConfig(c)
	cl, _ = l.Cleanable(testNow.Add(time.Hour), math.MaxInt64)
	if !cl.Due || !cl.ShouldClean {
		t.Fatalf("max.compaction.lag.ms not due: %+v", cl)
	}
	if st, _ := l.Clean(testNow.Add(time.Hour), CleanOptions{Limit: math.MaxInt64}, false); st.Rewritten == 0 {
		t.Fatalf("max.compaction.lag.ms did not force a pass: %+v", st)
	}
}

func TestCleanKeepsLastBatchOfProducer(t *testing.T) {
	_, l := newTestLog(t, compactConfig())
	// Producer 7 writes key a twice; later keyless-free writes of a by a
	// plain producer make both obsolete.
	mustAppend(t, l, keyedBatch(t, []kv{{[]byte("a"), []byte("1")}}, testNow.UnixMilli(), 0, false, 7, 0), 0)
	last := mustAppend(t, l, keyedBatch(t, []kv{{[]byte("a"), []byte("2")}, {[]byte("a"), []byte("3")}}, testNow.UnixMilli(), record.CompressionZstd, false, 7, 1), 0)
	for i := 0; i < 60; i++ {
		mustAppend(t, l, keyedBatch(t, []kv{{[]byte("a"), []byte(strings.Repeat("z", 100))}}, testNow.UnixMilli(), 0, false, -1, 0), 0)
	}
	if _, err := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true); err != nil {
		t.Fatal(err)
	}
	hs, _ := readAll(t, l, l.LogStartOffset())
	if hs[0].BaseOffset != last.BaseOffset || hs[0].NumRecords != 0 || hs[0].LastOffset() != last.LastOffset ||
		hs[0].ProducerID != 7 || hs[0].BaseSequence != 1 || hs[0].LastSequence() != 2 {
		t.Fatalf("producer's last batch not kept as an empty header: %+v", hs[0])
	}
	// The sequence continues after a restart-free retry check.
	if _, err := l.Append(keyedBatch(t, []kv{{[]byte("a"), []byte("4")}}, testNow.UnixMilli(), 0, false, 7, 3), 0, testNow); err != nil {
		t.Fatalf("producer cannot continue after compaction: %v", err)
	}
}

func TestCleanRecompressesWithSameCodec(t *testing.T) {
	_, l := newTestLog(t, compactConfig())
	codecs := []int{record.CompressionGzip, record.CompressionSnappy, record.CompressionSnappy, record.CompressionLZ4, record.CompressionZstd}
	for i, codec := range codecs {
		recs := []kv{{[]byte("dup"), []byte("old")}, {[]byte(fmt.Sprintf("k%d", i)), []byte("keep")}}
		mustAppend(t, l, keyedBatch(t, recs, testNow.UnixMilli(), codec, i == 2, -1, 0), 0)
	}
	for i := 0; i < 40; i++ {
		mustAppend(t, l, keyedBatch(t, []kv{{[]byte("dup"), []byte(strings.Repeat("n", 100))}}, testNow.UnixMilli(), 0, false, -1, 0), 0)
	}
	if _, err := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true); err != nil {
		t.Fatal(err)
	}
	hs, bs := readAll(t, l, 0)
	for i, codec := range codecs {
		h := hs[i]
		if h.Compression() != codec || h.NumRecords != 1 || h.BaseOffset != int64(2*i) || h.LastOffsetDelta != 1 {
			t.Fatalf("batch %d: codec %d records %d base %d delta %d", i, h.Compression(), h.NumRecords, h.BaseOffset, h.LastOffsetDelta)
		}
		if codec == record.CompressionSnappy && record.IsXerial(bs[i][record.HeaderSize:]) != (i == 2) {
			t.Fatalf("batch %d: snappy framing not kept", i)
		}
	}
}

// copyDir copies the regular files of src into dst.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		out.Close()
	}
}

// TestCleanCrashAtEveryStep copies the partition directory at every step
// of every swap (what a kill -9 at that moment leaves), reopens each copy
// and checks that no record was lost: every key's latest value is there,
// every record present is an original one at its original offset, and no
// .cleaned, .swap or .deleted file survives the open.
func TestCleanCrashAtEveryStep(t *testing.T) {
	_, l := newTestLog(t, compactConfig())
	m := &model{recs: map[int64]kv{}, ts: map[int64]int64{}}
	rng := rand.New(rand.NewPCG(7, 8))
	appendRandom(t, l, m, rng, 300, 30, testNow.UnixMilli())
	if _, err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	leo := l.LogEndOffset()
	snaps := t.TempDir()
	n := 0
	crashHook = func(stage, dir string) {
		// Every step of the first two swaps, then a sample.
		if n++; n <= 14 || n%5 == 0 {
			copyDir(t, dir, filepath.Join(snaps, fmt.Sprintf("%03d-%s", n, stage), "topic-0"))
		}
	}
	defer func() { crashHook = nil }()
	if _, err := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true); err != nil {
		t.Fatal(err)
	}
	crashHook = nil
	if n < 8 {
		t.Fatalf("only %d crash points", n)
	}
	end := l.Segments()[len(l.Segments())-1].BaseOffset
	compacted := m.compacted(end, true)
	ents, _ := os.ReadDir(snaps)
	for _, e := range ents {
		t.Run(e.Name(), func(t *testing.T) {
			d, err := OpenDir(filepath.Join(snaps, e.Name()), compactConfig(), testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			l2, _ := d.Log("topic", 0)
			if l2.LogEndOffset() != leo {
				t.Fatalf("log end %d, want %d", l2.LogEndOffset(), leo)
			}
			got := readRecords(t, l2)
			for off, w := range compacted {
				g, ok := got[off]
				if !ok || string(g.value) != string(w.value) || string(g.key) != string(w.key) {
					t.Fatalf("offset %d: got %q=%q (present %v), want %q=%q", off, g.key, g.value, ok, w.key, w.value)
				}
			}
			for off, g := range got {
				w, ok := m.recs[off]
				if !ok || string(g.key) != string(w.key) || string(g.value) != string(w.value) {
					t.Fatalf("offset %d: %q=%q is not the original record", off, g.key, g.value)
				}
			}
			files, _ := os.ReadDir(l2.Path())
			for _, f := range files {
				for _, suffix := range []string{cleanedSuffix, swapSuffix, deletedSuffix} {
					if strings.HasSuffix(f.Name(), suffix) {
						t.Fatalf("%s left after open", f.Name())
					}
				}
			}
			// The reopened log cleans to the same result.
			if _, err := l2.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true); err != nil {
				t.Fatal(err)
			}
			checkAgainst(t, l2, compacted, m)
		})
	}
}

func TestCleanThenRetentionAndReopen(t *testing.T) {
	c := compactConfig()
	c.CleanupDelete = true
	c.RetentionTime = -1
	c.RetentionBytes = -1
	d, l := newTestLog(t, c)
	m := &model{recs: map[int64]kv{}, ts: map[int64]int64{}}
	rng := rand.New(rand.NewPCG(9, 10))
	appendRandom(t, l, m, rng, 200, 20, testNow.UnixMilli())
	if _, err := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true); err != nil {
		t.Fatal(err)
	}
	end := l.CleanerOffset()
	want := m.compacted(end, true)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d2, err := OpenDir(d.Path(), c, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	l2, _ := d2.Log("topic", 0)
	if l2.CleanerOffset() != end {
		t.Fatalf("cleaner offset %d after reopen, want %d", l2.CleanerOffset(), end)
	}
	checkAgainst(t, l2, want, m)
}

func TestThrottler(t *testing.T) {
	var slept time.Duration
	now := testNow
	th := NewThrottler(1000)
	th.now = func() time.Time { return now }
	th.sleep = func(d time.Duration) { slept += d; now = now.Add(d) }
	for i := 0; i < 100; i++ {
		th.Wait(100)
		now = now.Add(10 * time.Millisecond)
	}
	// 10000 bytes at 1000 B/s take about 10 s.
	if total := now.Sub(testNow); total < 9*time.Second || total > 11*time.Second {
		t.Fatalf("10000 bytes took %v (slept %v)", total, slept)
	}
	if NewThrottler(0) != nil || NewThrottler(math.Inf(1)) != nil {
		t.Fatal("unlimited throttler not nil")
	}
}

// TestCleanConcurrentWithAppendsAndReads cleans repeatedly while a writer
// appends and a reader scans from the log start: the reader must never see
// an error (in particular no OFFSET_OUT_OF_RANGE for a live offset) nor
// offsets going backwards.
func TestCleanConcurrentWithAppendsAndReads(t *testing.T) {
	_, l := newTestLog(t, compactConfig())
	m := &model{recs: map[int64]kv{}, ts: map[int64]int64{}}
	rng := rand.New(rand.NewPCG(11, 12))
	appendRandom(t, l, m, rng, 100, 20, testNow.UnixMilli())
	done := make(chan struct{})
	errc := make(chan error, 2)
	go func() {
		defer close(done)
		for i := 0; i < 400; i++ {
			recs := []kv{{key: []byte(fmt.Sprintf("key-%d", i%20)), value: []byte(strings.Repeat("w", 80))}}
			if _, err := l.Append(keyedBatch(t, recs, testNow.UnixMilli(), 0, false, -1, 0), 0, testNow); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	go func() {
		for {
			select {
			case <-done:
				errc <- nil
				return
			default:
			}
			last := int64(-1)
			for off := l.LogStartOffset(); off < l.LogEndOffset(); {
				s, err := l.Read(off, 4096, true, NoLimit)
				if err != nil {
					errc <- fmt.Errorf("Read(%d): %w", off, err)
					return
				}
				b, err := s.Bytes()
				s.Release()
				if err != nil || len(b) < record.HeaderSize {
					errc <- fmt.Errorf("Read(%d): %d bytes, %v", off, len(b), err)
					return
				}
				h, _ := record.ParseHeader(b)
				if h.LastOffset() < off || h.BaseOffset <= last {
					errc <- fmt.Errorf("Read(%d) gave batch [%d, %d] after %d", off, h.BaseOffset, h.LastOffset(), last)
					return
				}
				last, off = h.BaseOffset, h.LastOffset()+1
			}
		}
	}()
	for {
		select {
		case <-done:
		default:
			if _, err := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true); err != nil {
				t.Fatal(err)
			}
			continue
		}
		break
	}
	for i := 0; i < 2; i++ {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

// A segment cut short underneath the cleaner while it is mapped makes the
// pass fail with an error instead of crashing the process (SIGBUS).
func TestCleanSurvivesFaultOnMappedSegment(t *testing.T) {
	_, l := newTestLog(t, compactConfig())
	m := &model{recs: map[int64]kv{}, ts: map[int64]int64{}}
	appendRandom(t, l, m, rand.New(rand.NewPCG(3, 4)), 300, 30, testNow.UnixMilli())
	mapped := 0
	mappedHook = func(path string) {
		if mapped++; mapped == 1 {
			if err := os.Truncate(path, 0); err != nil {
				t.Error(err)
			}
		}
	}
	defer func() { mappedHook = nil }()
	_, err := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true)
	if mapped == 0 {
		t.Skip("segments are not mapped on this platform")
	}
	if err == nil || !strings.Contains(err.Error(), "fault") {
		t.Fatalf("Clean after the segment was cut short: err = %v, want a fault error", err)
	}
}
