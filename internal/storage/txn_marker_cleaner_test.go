package storage

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/record"
)

// readCommitted reads the whole log as a read_committed Kafka consumer
// does (CompletedFetch): the aborted transactions of the range, sorted by
// first offset, put their producer in an aborted set when a batch reaches
// their first offset; its transactional batches are skipped until its
// ABORT marker. It returns the latest value of every key (a null value
// deletes the key).
func readCommitted(t testing.TB, l *Log) map[string]string {
	t.Helper()
	hs, bs := readAll(t, l, l.LogStartOffset())
	aborted := l.AbortedTransactions(l.LogStartOffset(), l.LogEndOffset())
	slices.SortStableFunc(aborted, func(a, b AbortedTxn) int {
		switch {
		case a.FirstOffset < b.FirstOffset:
			return -1
		case a.FirstOffset > b.FirstOffset:
			return 1
		}
		return 0
	})
	skipping := map[int64]bool{}
	out := map[string]string{}
	for i, h := range hs {
		for len(aborted) > 0 && aborted[0].FirstOffset <= h.LastOffset() {
			skipping[aborted[0].ProducerID] = true
			aborted = aborted[1:]
		}
		if h.IsControl() {
			if m, err := decodeMarker(bs[i], &h); err == nil && m.abort {
				delete(skipping, h.ProducerID)
			}
			continue
		}
		if h.IsTransactional() && skipping[h.ProducerID] {
			continue
		}
		data, err := record.BatchRecords(nil, bs[i], &h)
		if err != nil {
			t.Fatal(err)
		}
		record.WalkRecords(data, h.NumRecords, func(r *record.Record) error {
			if r.Value == nil {
				delete(out, string(r.Key))
			} else {
				out[string(r.Key)] = string(r.Value)
			}
			return nil
		})
	}
	return out
}

// withoutFiller drops fillerRound's keys from a read_committed view.
func withoutFiller(view map[string]string) map[string]string {
	for k := range view {
		if strings.HasPrefix(k, "filler-") {
			delete(view, k)
		}
	}
	return view
}

// logMarker is a transaction marker found in the log.
type logMarker struct {
	pid     int64
	abort   bool
	horizon bool // delete horizon set
}

// logMarkers returns the log's markers by offset.
func logMarkers(t testing.TB, l *Log) map[int64]logMarker {
	t.Helper()
	out := map[int64]logMarker{}
	hs, bs := readAll(t, l, l.LogStartOffset())
	for i, h := range hs {
		if !h.IsControl() {
			continue
		}
		m, err := decodeMarker(bs[i], &h)
		if err != nil {
			t.Fatalf("marker at %d: %v", h.BaseOffset, err)
		}
		out[h.BaseOffset] = logMarker{pid: h.ProducerID, abort: m.abort, horizon: h.HasDeleteHorizon()}
	}
	return out
}

// checkTxnEntriesHaveMarkers checks that every .txnindex entry lies in the
// segment holding its ABORT marker, which is in the log: an entry without
// its marker would make a read_committed consumer skip its producer's
// later transactions.
func checkTxnEntriesHaveMarkers(t testing.TB, l *Log) {
	t.Helper()
	markers := logMarkers(t, l)
	for i, s := range l.segs {
		for _, e := range s.txn.all() {
			m, ok := markers[e.last]
			if !ok || !m.abort || m.pid != e.pid {
				t.Fatalf("txn index entry %+v without its ABORT marker (%+v, %v)", e, m, ok)
			}
			if e.last < s.base || i+1 < len(l.segs) && e.last >= l.segs[i+1].base {
				t.Fatalf("entry %+v in segment %d", e, s.base)
			}
		}
	}
}

// fillerRound appends plain records until the log rolls at least twice,
// so that a cleaning pass has a dirty range, and cleans at now.
func fillerRound(t testing.TB, l *Log, now time.Time, tag string) CleanStats {
	t.Helper()
	segs := len(l.Segments())
	for i := 0; len(l.Segments()) < segs+2; i++ {
		mustAppend(t, l, keyedBatch(t, []kv{{[]byte(fmt.Sprintf("filler-%d", i%5)), []byte(tag + strings.Repeat("f", 200))}}, testNow.UnixMilli(), 0, false, -1, 0), 0)
	}
	st, err := l.Clean(now, CleanOptions{Limit: math.MaxInt64}, true)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestCleanRemovesMarkersOfEmptyTransactions writes transactions whose
// records later transactions overwrite: once compaction has removed all of
// a transaction's records, a pass stamps its marker with a delete horizon
// and a pass after delete.retention.ms drops it. Markers of transactions
// with records left, and every producer's last marker, stay; the
// read_committed view does not change.
func TestCleanRemovesMarkersOfEmptyTransactions(t *testing.T) {
	for _, keyFiles := range []bool{true, false} {
		t.Run(fmt.Sprintf("key files %v", keyFiles), func(t *testing.T) {
			cfg := compactConfig()
			_, l := newTestLog(t, cfg)
			rng := rand.New(rand.NewPCG(21, 22))
			type txn struct {
				pid, marker int64
				abort       bool
			}
			var txns []txn
			open := map[int64]bool{}
			seq := map[int64]int32{}
			for i := 0; i < 400; i++ {
				pid := int64(1 + rng.IntN(4))
				switch x := rng.IntN(10); {
				case x == 0:
					recs := []kv{{[]byte(fmt.Sprintf("key-%d", rng.IntN(8))), []byte(fmt.Sprintf("plain-%d", i))}}
					mustAppend(t, l, keyedBatch(t, recs, testNow.UnixMilli(), 0, false, -1, 0), 0)
				case x < 8 || !open[pid]:
					var recs []kv
					for j := rng.IntN(3); j >= 0; j-- {
						key := fmt.Sprintf("key-%d", rng.IntN(8))
						if rng.IntN(15) == 0 {
							key = fmt.Sprintf("unique-%d", i) // never overwritten
						}
						recs = append(recs, kv{[]byte(key), []byte(fmt.Sprintf("v%d-p%d", i, pid))})
					}
					codec := []int{record.CompressionNone, record.CompressionZstd}[rng.IntN(2)]
					mustAppend(t, l, keyedTxnBatch(t, recs, pid, seq[pid], codec), 0)
					seq[pid] += int32(len(recs))
					open[pid] = true
				default:
					abort := rng.IntN(4) == 0
					res := mustAppend(t, l, markerBatch(t, pid, 0, abort, 0), 0)
					txns = append(txns, txn{pid: pid, marker: res.BaseOffset, abort: abort})
					delete(open, pid)
				}
			}
			for pid := int64(1); pid <= 4; pid++ {
				if open[pid] {
					res := mustAppend(t, l, markerBatch(t, pid, 0, false, 0), 0)
					txns = append(txns, txn{pid: pid, marker: res.BaseOffset})
				}
			}
			if !keyFiles {
				for _, s := range l.segs {
					os.Remove(s.keysPath())
				}
			}
			before := withoutFiller(readCommitted(t, l))
			if len(before) < 8 {
				t.Fatalf("read_committed view too small: %v", before)
			}
			// Pass 1 removes obsolete and aborted records; pass 2 finds
			// their markers without data and stamps them; pass 3, within
			// delete.retention.ms, keeps them; pass 4, past it, drops
			// them.
			var st CleanStats
			for i, now := range []time.Time{testNow, testNow, testNow.Add(cfg.DeleteRetention / 2), testNow.Add(cfg.DeleteRetention + time.Minute), testNow.Add(3 * cfg.DeleteRetention)} {
				st = fillerRound(t, l, now, fmt.Sprint(i))
				if got := withoutFiller(readCommitted(t, l)); fmt.Sprint(got) != fmt.Sprint(before) {
					t.Fatalf("pass %d: read_committed view\n%v\nwant\n%v", i+1, got, before)
				}
				checkTxnEntriesHaveMarkers(t, l)
				markers := logMarkers(t, l)
				switch i {
				case 0:
					if len(markers) != len(txns) {
						t.Fatalf("pass 1 left %d markers of %d", len(markers), len(txns))
					}
				case 2:
					if st.MarkersRemoved != 0 {
						t.Fatalf("pass 3, before the horizon, removed %d markers", st.MarkersRemoved)
					}
				}
			}
			// What is left: a marker stays if its transaction has a batch
			// left (records, or its producer's last batch kept as an empty
			// header), or it is its producer's last.
			hs, _ := readAll(t, l, l.LogStartOffset())
			markers := logMarkers(t, l)
			lastMarker := map[int64]int64{}
			prev := map[int64]int64{}
			removed, kept := 0, 0
			for _, x := range txns {
				lastMarker[x.pid] = x.marker
			}
			for _, x := range txns {
				from, ok := prev[x.pid]
				if !ok {
					from = -1
				}
				prev[x.pid] = x.marker
				hasData := false
				for _, h := range hs {
					if !h.IsControl() && h.ProducerID == x.pid && h.BaseOffset > from && h.BaseOffset < x.marker {
						hasData = true
					}
				}
				_, present := markers[x.marker]
				if want := hasData || lastMarker[x.pid] == x.marker; present != want {
					t.Errorf("marker at %d (producer %d, abort %v, data left %v): present %v, want %v", x.marker, x.pid, x.abort, hasData, present, want)
				}
				if present {
					kept++
				} else {
					removed++
				}
			}
			if removed < 10 || kept < 4 {
				t.Fatalf("%d markers removed, %d kept", removed, kept)
			}
			// Aborted transactions left in the index are exactly those
			// with data left.
			for _, a := range l.AbortedTransactions(0, math.MaxInt64) {
				found := false
				for _, h := range hs {
					if !h.IsControl() && h.ProducerID == a.ProducerID && h.BaseOffset >= a.FirstOffset {
						found = true
					}
				}
				if !found {
					t.Errorf("aborted transaction %+v indexed without data", a)
				}
			}
			if ls := l.LastStable(l.EndPosition()); ls.Offset != l.LogEndOffset() {
				t.Fatalf("last stable %d, log end %d", ls.Offset, l.LogEndOffset())
			}
		})
	}
}

// TestCleanRemovesAbortedTransaction checks an aborted transaction's
// life in a compacted log: its records go at the first pass, its ABORT
// marker (and .txnindex entry) stay while they do; the next pass stamps
// the marker and drops the entry; the marker goes once its horizon has
// passed, unless it is its producer's last.
func TestCleanRemovesAbortedTransaction(t *testing.T) {
	cfg := compactConfig()
	d, l := newTestLog(t, cfg)
	mustAppend(t, l, keyedTxnBatch(t, []kv{{[]byte("x"), []byte("aborted")}, {[]byte("only-aborted"), []byte("a")}}, 1, 0, record.CompressionNone), 0)
	mustAppend(t, l, keyedTxnBatch(t, []kv{{[]byte("z"), []byte("aborted-2")}}, 2, 0, record.CompressionNone), 0)
	abort := mustAppend(t, l, markerBatch(t, 1, 0, true, 0), 0).BaseOffset
	// Producer 1 carries on (so the ABORT marker is not its last, and its
	// last data batch, kept, is not in the aborted transaction).
	mustAppend(t, l, keyedTxnBatch(t, []kv{{[]byte("y"), []byte("committed")}}, 1, 2, record.CompressionNone), 0)
	commit := mustAppend(t, l, markerBatch(t, 1, 0, false, 0), 0).BaseOffset
	// Producer 2's transaction is aborted by its coordinator with a
	// bumped epoch (a timeout): the marker is its last batch and holds
	// its epoch, so it stays. (Its data, of the old epoch, is no longer
	// the producer's last batch and goes.)
	abort2 := mustAppend(t, l, markerBatch(t, 2, 1, true, 0), 0).BaseOffset
	want := map[string]string{"y": "committed"}
	check := func(pass string, wantMarkers map[int64]bool, wantAborted int) {
		t.Helper()
		if got := withoutFiller(readCommitted(t, l)); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: read_committed %v, want %v", pass, got, want)
		}
		markers := logMarkers(t, l)
		for off, horizon := range wantMarkers {
			m, ok := markers[off]
			if !ok || m.horizon != horizon {
				t.Fatalf("%s: marker at %d: %+v (present %v), want horizon %v", pass, off, m, ok, horizon)
			}
		}
		if len(markers) != len(wantMarkers) {
			t.Fatalf("%s: markers %+v, want %v", pass, markers, wantMarkers)
		}
		if got := l.AbortedTransactions(0, math.MaxInt64); len(got) != wantAborted {
			t.Fatalf("%s: aborted transactions %+v, want %d", pass, got, wantAborted)
		}
		checkTxnEntriesHaveMarkers(t, l)
		for off := range mustData(t, l) {
			if off < commit {
				if r := mustData(t, l)[off]; string(r.key) != "y" {
					t.Fatalf("%s: record %q of an aborted transaction left", pass, r.key)
				}
			}
		}
	}
	if got := len(l.AbortedTransactions(0, math.MaxInt64)); got != 2 {
		t.Fatalf("%d aborted transactions indexed", got)
	}
	fillerRound(t, l, testNow, "1")
	check("pass 1", map[int64]bool{abort: false, commit: false, abort2: false}, 2)
	st := fillerRound(t, l, testNow, "2")
	check("pass 2", map[int64]bool{abort: true, commit: false, abort2: true}, 0)
	if st.MarkersStamped != 2 {
		t.Fatalf("pass 2 stamped %d markers", st.MarkersStamped)
	}
	fillerRound(t, l, testNow.Add(cfg.DeleteRetention-time.Second), "3")
	check("pass 3, before the horizon", map[int64]bool{abort: true, commit: false, abort2: true}, 0)
	st = fillerRound(t, l, testNow.Add(cfg.DeleteRetention), "4")
	check("pass 4, at the horizon", map[int64]bool{commit: false, abort2: true}, 0)
	if st.MarkersRemoved != 1 {
		t.Fatalf("pass 4 removed %d markers", st.MarkersRemoved)
	}
	for _, s := range l.segs {
		if s.txn.len() != 0 {
			t.Fatalf("segment %d still indexes %+v", s.base, s.txn.all())
		}
	}
	// A restart changes nothing of it, and the producers carry on.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d2, err := OpenDir(filepath.Dir(l.dir), cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	l, _ = d2.Log("topic", 0)
	check("reopened", map[int64]bool{commit: false, abort2: true}, 0)
	if p := producerInfo(t, l, 1); p.CurrentTxnStartOffset != -1 || p.LastSequence != 2 {
		t.Fatalf("producer 1 after reopening: %+v", p)
	}
	mustAppend(t, l, keyedTxnBatch(t, []kv{{[]byte("y"), []byte("again")}}, 1, 3, record.CompressionNone), 0)
	mustAppend(t, l, markerBatch(t, 1, 0, false, 0), 0)
	want["y"] = "again"
	got := readCommitted(t, l)
	if got["y"] != "again" {
		t.Fatalf("after reopening: %v", got)
	}
}

// TestCleanRemovedMarkerLeavesNoOpenTransaction drops the marker of a
// transaction that spans segment rolls (so producer snapshots were taken
// inside it), then reopens the log: cleanly, recovering from every
// segment (with and without the snapshots after the marker), and
// truncated just past the marker. No replay may start from a snapshot
// that holds the transaction open: with its marker gone it would stay
// open forever (truncation shows it; a recovery replay meets the
// producer's next marker, which the cleaner keeps).
func TestCleanRemovedMarkerLeavesNoOpenTransaction(t *testing.T) {
	cfg := compactConfig()
	d, l := newTestLog(t, cfg)
	big := strings.Repeat("b", 1500)
	// Transaction 1 of producer 1 spans several segments; transaction 2
	// overwrites all of its keys. Producer 2's committed transaction
	// interleaves with it.
	first := mustAppend(t, l, keyedTxnBatch(t, []kv{{[]byte("a"), []byte(big)}}, 1, 0, record.CompressionNone), 0).BaseOffset
	for i := 1; i < 6; i++ {
		mustAppend(t, l, keyedTxnBatch(t, []kv{{[]byte(fmt.Sprintf("k%d", i%3)), []byte(big)}}, 1, int32(i), record.CompressionNone), 0)
		if i == 3 {
			mustAppend(t, l, keyedTxnBatch(t, []kv{{[]byte("p2"), []byte("kept")}}, 2, 0, record.CompressionNone), 0)
			mustAppend(t, l, markerBatch(t, 2, 0, false, 0), 0)
		}
	}
	m1 := mustAppend(t, l, markerBatch(t, 1, 0, false, 0), 0).BaseOffset
	mustAppend(t, l, keyedTxnBatch(t, []kv{{[]byte("a"), []byte("new")}, {[]byte("k0"), []byte("new")}, {[]byte("k1"), []byte("new")}, {[]byte("k2"), []byte("new")}}, 1, 6, record.CompressionNone), 0)
	mustAppend(t, l, markerBatch(t, 1, 0, false, 0), 0)
	inside := 0
	for _, s := range l.Segments() {
		if s.BaseOffset > first && s.BaseOffset <= m1 {
			inside++
		}
	}
	if inside < 2 {
		t.Fatalf("transaction 1 (%d..%d) spans only %d rolls: %+v", first, m1, inside, l.Segments())
	}
	want := readCommitted(t, l)
	fillerRound(t, l, testNow, "1")
	fillerRound(t, l, testNow, "2")
	st := fillerRound(t, l, testNow.Add(2*cfg.DeleteRetention), "3")
	if _, ok := logMarkers(t, l)[m1]; ok || st.MarkersRemoved == 0 {
		t.Fatalf("transaction 1's marker at %d left (%d removed)", m1, st.MarkersRemoved)
	}
	leo := l.LogEndOffset()
	var bases []int64
	for _, s := range l.Segments() {
		bases = append(bases, s.BaseOffset)
	}
	if _, err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	l.rollFlushes.Wait()
	snaps := t.TempDir()
	copyDir(t, l.dir, filepath.Join(snaps, "topic-0"))
	crash(d)
	reopen := func(t *testing.T, clean bool, recoveryPoint int64, lostSnapshotsAbove int64) {
		dir := t.TempDir()
		copyDir(t, filepath.Join(snaps, "topic-0"), filepath.Join(dir, "topic-0"))
		if err := deleteSnapshots(filepath.Join(dir, "topic-0"), func(off int64) bool { return off > lostSnapshotsAbove }); err != nil {
			t.Fatal(err)
		}
		if err := writeOffsetCheckpoint(filepath.Join(dir, recoveryPointFile), map[TopicPartition]int64{{Topic: "topic"}: recoveryPoint}); err != nil {
			t.Fatal(err)
		}
		if clean {
			if err := os.WriteFile(filepath.Join(dir, cleanShutdownFile), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		d, err := OpenDir(dir, cfg, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		l, _ := d.Log("topic", 0)
		if l.LogEndOffset() != leo {
			t.Fatalf("log end %d, want %d", l.LogEndOffset(), leo)
		}
		if open := l.OpenTransactions(); len(open) != 0 {
			t.Fatalf("open transactions after reopening: %+v", open)
		}
		if ls := l.LastStable(l.EndPosition()); ls.Offset != leo {
			t.Fatalf("last stable %d, log end %d", ls.Offset, leo)
		}
		if off, ok := l.FirstUnstableOffset(); ok {
			t.Fatalf("first unstable offset %d", off)
		}
		if got := readCommitted(t, l); got["a"] != want["a"] || got["p2"] != "kept" {
			t.Fatalf("read_committed after reopening: %v", got)
		}
		// A transaction of producer 1 goes on as usual.
		res := mustAppend(t, l, keyedTxnBatch(t, []kv{{[]byte("a"), []byte("after")}}, 1, 10, record.CompressionNone), 0)
		if ls := l.LastStable(l.EndPosition()); ls.Offset != res.BaseOffset {
			t.Fatalf("last stable %d with a transaction open at %d", ls.Offset, res.BaseOffset)
		}
		mustAppend(t, l, markerBatch(t, 1, 0, false, 0), 0)
		if ls := l.LastStable(l.EndPosition()); ls.Offset != l.LogEndOffset() {
			t.Fatalf("last stable %d after the commit, log end %d", ls.Offset, l.LogEndOffset())
		}
	}
	t.Run("clean", func(t *testing.T) { reopen(t, true, leo, math.MaxInt64) })
	for _, b := range bases {
		t.Run(fmt.Sprintf("recover from %d", b), func(t *testing.T) { reopen(t, false, b, math.MaxInt64) })
		// The snapshots after the dropped marker lost (unreadable, say):
		// recovery falls back to older ones.
		t.Run(fmt.Sprintf("recover from %d, snapshots lost", b), func(t *testing.T) { reopen(t, false, b, m1) })
	}
	// Truncation reloads producer state from a snapshot at or below the
	// new end.
	t.Run("truncate", func(t *testing.T) {
		dir := t.TempDir()
		copyDir(t, filepath.Join(snaps, "topic-0"), filepath.Join(dir, "topic-0"))
		d, err := OpenDir(dir, cfg, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		l, _ := d.Log("topic", 0)
		if err := l.TruncateTo(m1 + 1); err != nil {
			t.Fatal(err)
		}
		if open := l.OpenTransactions(); len(open) != 0 {
			t.Fatalf("open transactions after truncating to %d: %+v", m1+1, open)
		}
	})
}

// TestCleanMarkerRemovalCrashAtEverySwapStep crashes at every step of the
// swaps of the passes that drop .txnindex entries (the stamping pass) and
// markers, and also as the old segment at a swap's base is renamed
// .deleted between its .log and its .txnindex: whatever a crash leaves,
// every entry has its marker and none was dropped (a marker stamped
// means its entry went in the same swap), the read_committed view is the
// same and no transaction is open.
func TestCleanMarkerRemovalCrashAtEverySwapStep(t *testing.T) {
	cfg := compactConfig()
	_, l := newTestLog(t, cfg)
	rng := rand.New(rand.NewPCG(31, 32))
	seq := map[int64]int32{}
	open := map[int64]bool{}
	for i := 0; i < 300; i++ {
		pid := int64(1 + rng.IntN(3))
		if open[pid] && rng.IntN(4) == 0 {
			mustAppend(t, l, markerBatch(t, pid, 0, rng.IntN(2) == 0, 0), 0)
			delete(open, pid)
			continue
		}
		recs := []kv{{key: []byte(fmt.Sprintf("key-%d", rng.IntN(6))), value: []byte(fmt.Sprintf("%d%s", i, strings.Repeat("v", 60)))}}
		mustAppend(t, l, keyedTxnBatch(t, recs, pid, seq[pid], record.CompressionNone), 0)
		seq[pid]++
		open[pid] = true
	}
	for pid := int64(1); pid <= 3; pid++ {
		mustAppend(t, l, markerBatch(t, pid, 0, true, 0), 0)
	}
	want := withoutFiller(readCommitted(t, l))
	fillerRound(t, l, testNow, "1")
	if got := withoutFiller(readCommitted(t, l)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the first pass: %v, want %v", got, want)
	}
	if len(l.AbortedTransactions(0, math.MaxInt64)) < 10 {
		t.Fatalf("too few aborted transactions: %v", l.AbortedTransactions(0, math.MaxInt64))
	}
	snaps := t.TempDir()
	leos := map[string]int64{} // crash point -> log end (the recovery point: segments are trusted)
	between := 0
	for _, pass := range []struct {
		name string
		now  time.Time
	}{{"stamp", testNow}, {"remove", testNow.Add(2 * cfg.DeleteRetention)}} {
		for segs := len(l.Segments()); len(l.Segments()) < segs+2; {
			mustAppend(t, l, keyedBatch(t, []kv{{[]byte("filler-0"), []byte(strings.Repeat("f", 200))}}, testNow.UnixMilli(), 0, false, -1, 0), 0)
		}
		leo := l.LogEndOffset()
		n := 0
		save := func(name, dir string) string {
			leos[name] = leo
			to := filepath.Join(snaps, name, "topic-0")
			copyDir(t, dir, to)
			return to
		}
		crashHook = func(stage, dir string) {
			if n++; n <= 16 || n%3 == 0 {
				save(fmt.Sprintf("%s-%03d-%s", pass.name, n, stage), dir)
			}
			// The old segment at a committed swap's base, renamed
			// .deleted up to its .txnindex.
			swaps, _ := filepath.Glob(filepath.Join(dir, "*"+logSuffix+swapSuffix))
			for _, sw := range swaps {
				base, _ := parseOffsetName(filepath.Base(sw), logSuffix+swapSuffix)
				_, errTxn := os.Stat(segmentPath(dir, base, txnIndexSuffix))
				_, errLog := os.Stat(segmentPath(dir, base, logSuffix))
				if errTxn != nil || errLog != nil {
					continue
				}
				to := save(fmt.Sprintf("%s-%03d-%s-txnindex-not-renamed", pass.name, n, stage), dir)
				for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix, keysSuffix} {
					os.Remove(filepath.Join(to, filepath.Base(segmentPath(dir, base, suffix))))
				}
				between++
			}
		}
		st, err := l.Clean(pass.now, CleanOptions{Limit: math.MaxInt64}, true)
		crashHook = nil
		if err != nil {
			t.Fatal(err)
		}
		if st.MarkersStamped+st.MarkersRemoved == 0 {
			t.Fatalf("%s pass: %+v", pass.name, st)
		}
	}
	defer func() { crashHook = nil }()
	if got := withoutFiller(readCommitted(t, l)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the passes: %v, want %v", got, want)
	}
	if between == 0 {
		t.Fatal("no crash between the renames of an old segment's .log and .txnindex")
	}
	ents, _ := os.ReadDir(snaps)
	if len(ents) < 16 {
		t.Fatalf("only %d crash points", len(ents))
	}
	for _, e := range ents {
		t.Run(e.Name(), func(t *testing.T) {
			dir := filepath.Join(snaps, e.Name())
			if err := writeOffsetCheckpoint(filepath.Join(dir, recoveryPointFile), map[TopicPartition]int64{{Topic: "topic"}: leos[e.Name()]}); err != nil {
				t.Fatal(err)
			}
			d, err := OpenDir(dir, cfg, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			l2, _ := d.Log("topic", 0)
			if l2.LogEndOffset() != leos[e.Name()] {
				t.Fatalf("log end %d, want %d", l2.LogEndOffset(), leos[e.Name()])
			}
			checkTxnEntriesHaveMarkers(t, l2)
			markers := logMarkers(t, l2)
			for _, s := range l2.segs {
				for _, x := range s.txn.all() {
					if markers[x.last].horizon {
						t.Fatalf("entry %+v of a stamped marker: the swap that stamped it dropped it", x)
					}
				}
			}
			if got := withoutFiller(readCommitted(t, l2)); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("read_committed %v, want %v", got, want)
			}
			if ls := l2.LastStable(l2.EndPosition()); ls.Offset != l2.LogEndOffset() {
				t.Fatalf("last stable %d, log end %d", ls.Offset, l2.LogEndOffset())
			}
			txnIndexFiles(t, l2)
		})
	}
}
