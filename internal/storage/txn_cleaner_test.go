package storage

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/record"
)

// keyedTxnBatch is a transactional batch of keyed records (codec none).
func keyedTxnBatch(t testing.TB, recs []kv, pid int64, seq int32, codec int) []byte {
	t.Helper()
	var section []byte
	for i, r := range recs {
		kr := kmsg.Record{TimestampDelta64: int64(i), OffsetDelta: int32(i), Key: r.key, Value: r.value}
		kr.Length = int32(len(kr.AppendTo(nil)) - 1)
		section = kr.AppendTo(section)
	}
	if codec != record.CompressionNone {
		var err error
		if section, err = record.Compress(nil, section, codec, false); err != nil {
			t.Fatal(err)
		}
	}
	ts := testNow.UnixMilli()
	h := record.Header{
		PartitionLeaderEpoch: -1, Attributes: int16(codec) | record.TransactionalBit, LastOffsetDelta: int32(len(recs) - 1),
		FirstTimestamp: ts, MaxTimestamp: ts + int64(len(recs)-1), ProducerID: pid, ProducerEpoch: 0,
		BaseSequence: seq, NumRecords: int32(len(recs)),
	}
	return record.BuildBatch(nil, &h, section)
}

// dataRecords reads the log's data records (markers apart) and counts the
// markers.
func dataRecords(t testing.TB, l *Log) (map[int64]readRecord, int) {
	t.Helper()
	out := map[int64]readRecord{}
	markers := 0
	hs, bs := readAll(t, l, l.LogStartOffset())
	for i, h := range hs {
		if h.IsControl() {
			markers++
			continue
		}
		data, err := record.BatchRecords(nil, bs[i], &h)
		if err != nil {
			t.Fatal(err)
		}
		record.WalkRecords(data, h.NumRecords, func(r *record.Record) error {
			out[h.BaseOffset+int64(r.OffsetDelta)] = readRecord{key: clone(r.Key), value: clone(r.Value)}
			return nil
		})
	}
	return out, markers
}

func latestValue(recs map[int64]readRecord, key string) (string, bool) {
	best, v := int64(-1), ""
	for off, r := range recs {
		if string(r.key) == key && off > best {
			best, v = off, string(r.value)
		}
	}
	return v, best >= 0
}

func TestCleanDropsAbortedTransactions(t *testing.T) {
	for _, keyFiles := range []bool{true, false} {
		t.Run(fmt.Sprintf("key files %v", keyFiles), func(t *testing.T) {
			_, l := newTestLog(t, compactConfig())
			k := []byte("k")
			// Committed: k = committed (producer 1).
			mustAppend(t, l, keyedTxnBatch(t, []kv{{k, []byte("committed")}}, 1, 0, record.CompressionNone), 0)
			mustAppend(t, l, markerBatch(t, 1, 0, false, 0), 0)
			// Aborted, later: k = aborted, and a key only the aborted
			// transaction wrote (producer 2), interleaved with producer 3's
			// committed transaction.
			mustAppend(t, l, keyedTxnBatch(t, []kv{{k, []byte("aborted")}, {[]byte("only-aborted"), []byte("x")}}, 2, 0, record.CompressionNone), 0)
			mustAppend(t, l, keyedTxnBatch(t, []kv{{[]byte("p3"), []byte("kept")}}, 3, 0, record.CompressionNone), 0)
			mustAppend(t, l, keyedTxnBatch(t, []kv{{k, []byte("aborted-2")}}, 2, 2, record.CompressionZstd), 0)
			mustAppend(t, l, markerBatch(t, 3, 0, false, 0), 0)
			for i := 0; i < 40; i++ {
				mustAppend(t, l, keyedBatch(t, []kv{{[]byte(fmt.Sprintf("filler-%d", i%5)), []byte(strings.Repeat("f", 100))}}, testNow.UnixMilli(), 0, false, -1, 0), 0)
			}
			// The abort marker lands in a later segment than the data.
			abort := mustAppend(t, l, markerBatch(t, 2, 0, true, 0), 0)
			for i := 0; i < 40; i++ {
				mustAppend(t, l, keyedBatch(t, []kv{{[]byte(fmt.Sprintf("filler-%d", i%5)), []byte(strings.Repeat("g", 100))}}, testNow.UnixMilli(), 0, false, -1, 0), 0)
			}
			if !keyFiles {
				for _, s := range l.segs {
					os.Remove(s.keysPath())
				}
			}
			if v, _ := latestValue(mustData(t, l), "k"); v != "aborted-2" {
				t.Fatalf("before cleaning the latest k is %q", v)
			}
			_, markersBefore := dataRecords(t, l)
			abortedBefore := l.AbortedTransactions(0, math.MaxInt64)
			st, err := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true)
			if err != nil {
				t.Fatal(err)
			}
			if st.End <= abort.BaseOffset {
				t.Fatalf("cleaned only to %d", st.End)
			}
			recs, markers := dataRecords(t, l)
			if v, ok := latestValue(recs, "k"); !ok || v != "committed" {
				t.Fatalf("after cleaning the latest k is %q (%v), want the committed value", v, ok)
			}
			if _, ok := latestValue(recs, "only-aborted"); ok {
				t.Fatal("a record of the aborted transaction survived")
			}
			if v, _ := latestValue(recs, "p3"); v != "kept" {
				t.Fatalf("producer 3's committed record: %q", v)
			}
			if markers != markersBefore {
				t.Fatalf("%d markers after cleaning, %d before", markers, markersBefore)
			}
			if got := l.AbortedTransactions(0, math.MaxInt64); fmt.Sprint(got) != fmt.Sprint(abortedBefore) || len(got) != 1 {
				t.Fatalf("aborted transactions after cleaning %+v, before %+v", got, abortedBefore)
			}
			txnIndexFiles(t, l)
			// A second pass changes nothing of that, and neither does a
			// restart.
			if _, err := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true); err != nil {
				t.Fatal(err)
			}
			if v, _ := latestValue(mustData(t, l), "k"); v != "committed" {
				t.Fatalf("second pass: latest k %q", v)
			}
		})
	}
}

func mustData(t testing.TB, l *Log) map[int64]readRecord {
	recs, _ := dataRecords(t, l)
	return recs
}

// TestCleanStopsAtFirstUnstableOffset checks that nothing at or past the
// first offset of an open transaction is cleaned.
func TestCleanStopsAtFirstUnstableOffset(t *testing.T) {
	_, l := newTestLog(t, compactConfig())
	fill := func(n int) {
		for i := 0; i < n; i++ {
			mustAppend(t, l, keyedBatch(t, []kv{{[]byte("a"), []byte(strings.Repeat("v", 100))}}, testNow.UnixMilli(), 0, false, -1, 0), 0)
		}
	}
	fill(40)
	open := mustAppend(t, l, keyedTxnBatch(t, []kv{{[]byte("a"), []byte("in-txn")}}, 9, 0, record.CompressionNone), 0)
	fill(80)
	c, _ := l.Cleanable(testNow, math.MaxInt64)
	st, err := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true)
	if err != nil {
		t.Fatal(err)
	}
	if st.End > open.BaseOffset || st.End == 0 {
		t.Fatalf("cleaned to %d, past the open transaction at %d", st.End, open.BaseOffset)
	}
	if c.FirstDirty != 0 || c.DirtyBytes == 0 {
		t.Fatalf("cleanable %+v", c)
	}
	if r, ok := mustData(t, l)[open.BaseOffset]; !ok || string(r.value) != "in-txn" {
		t.Fatal("the open transaction's record was cleaned")
	}
	// Once it commits and the high watermark passes the marker, the rest
	// is cleanable.
	mustAppend(t, l, markerBatch(t, 9, 0, false, 0), 0)
	fill(40)
	hw := l.LogEndOffset()
	if st, err = l.Clean(testNow, CleanOptions{Limit: hw}, true); err != nil {
		t.Fatal(err)
	}
	if st.End <= open.BaseOffset {
		t.Fatalf("cleaned to %d after the commit", st.End)
	}
	if _, ok := mustData(t, l)[open.BaseOffset]; ok {
		t.Fatal("the committed record, obsolete, survived")
	}
}

// TestCleanTransactionalModel cleans a random transactional workload and
// compares with a compaction of the records of committed and
// non-transactional writes.
func TestCleanTransactionalModel(t *testing.T) {
	_, l := newTestLog(t, compactConfig())
	rng := rand.New(rand.NewPCG(11, 12))
	type rec struct {
		off     int64
		key     string
		value   string
		pid     int64
		aborted bool
	}
	var all []*rec
	pending := map[int64][]*rec{} // open transaction's records by producer
	seq := map[int64]int32{}
	for i := 0; i < 600; i++ {
		pid := int64(rng.IntN(4)) // 0: plain writes
		codec := []int{record.CompressionNone, record.CompressionZstd}[rng.IntN(2)]
		switch x := rng.IntN(10); {
		case pid == 0 || x < 7:
			var recs []kv
			for j := rng.IntN(3); j >= 0; j-- {
				recs = append(recs, kv{key: []byte(fmt.Sprintf("key-%d", rng.IntN(15))), value: []byte(fmt.Sprintf("v%d-%s", i, strings.Repeat("x", rng.IntN(50))))})
			}
			var res AppendResult
			if pid == 0 {
				res = mustAppend(t, l, keyedBatch(t, recs, testNow.UnixMilli(), codec, false, -1, 0), 0)
			} else {
				res = mustAppend(t, l, keyedTxnBatch(t, recs, pid, seq[pid], codec), 0)
				seq[pid] += int32(len(recs))
			}
			for j, r := range recs {
				x := &rec{off: res.BaseOffset + int64(j), key: string(r.key), value: string(r.value), pid: pid}
				all = append(all, x)
				if pid != 0 {
					pending[pid] = append(pending[pid], x)
				}
			}
		default:
			abort := rng.IntN(2) == 0
			mustAppend(t, l, markerBatch(t, pid, 0, abort, 0), 0)
			for _, x := range pending[pid] {
				x.aborted = abort
			}
			delete(pending, pid)
		}
	}
	for pid := range pending { // end every transaction: all is stable
		mustAppend(t, l, markerBatch(t, pid, 0, false, 0), 0)
	}
	segs := l.Segments()
	end := segs[len(segs)-1].BaseOffset
	if _, err := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true); err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{}
	latest := map[string]int64{}
	for _, x := range all {
		if x.off >= end {
			want[x.off] = x.value
		} else if !x.aborted {
			latest[x.key] = x.off
		}
	}
	for _, x := range all {
		if x.off < end && !x.aborted && latest[x.key] == x.off {
			want[x.off] = x.value
		}
	}
	got := mustData(t, l)
	if len(got) != len(want) {
		t.Errorf("%d records after cleaning, want %d", len(got), len(want))
	}
	for off, v := range want {
		if string(got[off].value) != v {
			t.Errorf("offset %d: %q, want %q", off, got[off].value, v)
		}
	}
}

// TestCleanCrashKeepsTxnIndex crashes at every step of the swaps of a
// log with aborted transactions, recovery point at the log end (so the
// cleaned segments are trusted, not rebuilt): every aborted transaction
// is still indexed, once, in the segment holding its marker.
func TestCleanCrashKeepsTxnIndex(t *testing.T) {
	_, l := newTestLog(t, compactConfig())
	rng := rand.New(rand.NewPCG(13, 14))
	seq := map[int64]int32{}
	for i := 0; i < 400; i++ {
		pid := int64(1 + rng.IntN(3))
		if rng.IntN(5) == 0 {
			mustAppend(t, l, markerBatch(t, pid, 0, rng.IntN(2) == 0, 0), 0)
			continue
		}
		recs := []kv{{key: []byte(fmt.Sprintf("key-%d", rng.IntN(10))), value: []byte(strings.Repeat("v", 60))}}
		mustAppend(t, l, keyedTxnBatch(t, recs, pid, seq[pid], record.CompressionNone), 0)
		seq[pid]++
	}
	for pid := int64(1); pid <= 3; pid++ {
		mustAppend(t, l, markerBatch(t, pid, 0, true, 0), 0)
	}
	if _, err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint(l.AbortedTransactions(0, math.MaxInt64))
	if len(l.AbortedTransactions(0, math.MaxInt64)) < 10 {
		t.Fatalf("too few aborted transactions: %s", want)
	}
	leo := l.LogEndOffset()
	snaps := t.TempDir()
	n := 0
	crashHook = func(stage, dir string) {
		// Every step of the first swaps, then a sample and every
		// rename to the final names (where the .txnindex may be new).
		if n++; n <= 16 || stage == "to-final" && n%2 == 0 || n%7 == 0 {
			copyDir(t, dir, filepath.Join(snaps, fmt.Sprintf("%03d-%s", n, stage), "topic-0"))
		}
	}
	defer func() { crashHook = nil }()
	if _, err := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true); err != nil {
		t.Fatal(err)
	}
	crashHook = nil
	if got := fmt.Sprint(l.AbortedTransactions(0, math.MaxInt64)); got != want {
		t.Fatalf("after cleaning: %s, want %s", got, want)
	}
	ents, _ := os.ReadDir(snaps)
	if len(ents) < 8 {
		t.Fatalf("only %d crash points", len(ents))
	}
	for _, e := range ents {
		t.Run(e.Name(), func(t *testing.T) {
			dir := filepath.Join(snaps, e.Name())
			if err := writeOffsetCheckpoint(filepath.Join(dir, recoveryPointFile), map[TopicPartition]int64{{Topic: "topic"}: leo}); err != nil {
				t.Fatal(err)
			}
			d, err := OpenDir(dir, compactConfig(), testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			l2, _ := d.Log("topic", 0)
			if got := fmt.Sprint(l2.AbortedTransactions(0, math.MaxInt64)); got != want {
				t.Fatalf("aborted transactions %s, want %s", got, want)
			}
			for i, s := range l2.segs {
				for _, x := range s.txn.all() {
					if x.last < s.base || i+1 < len(l2.segs) && x.last >= l2.segs[i+1].base {
						t.Fatalf("entry %+v in segment %d", x, s.base)
					}
				}
			}
			txnIndexFiles(t, l2)
		})
	}
}
