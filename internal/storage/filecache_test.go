package storage

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countFDs is the number of descriptors the process has open (one of them
// is the listing's own).
func countFDs(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// fdWatch samples the process's descriptors until stopped and keeps the
// largest count seen.
type fdWatch struct {
	max  atomic.Int64
	stop chan struct{}
	done sync.WaitGroup
}

func watchFDs(t testing.TB) *fdWatch {
	w := &fdWatch{stop: make(chan struct{})}
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		for {
			w.note(countFDs(t))
			select {
			case <-w.stop:
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
	}()
	return w
}

func (w *fdWatch) note(n int) {
	for {
		m := w.max.Load()
		if int64(n) <= m || w.max.CompareAndSwap(m, int64(n)) {
			return
		}
	}
}

func (w *fdWatch) finish() int {
	close(w.stop)
	w.done.Wait()
	return int(w.max.Load())
}

// resetFileBudget gives later tests the default budget back.
func resetFileBudget(t testing.TB) {
	t.Cleanup(func() { files.setLimit(deriveOpenFiles(0)) })
}

// TestDescriptorBudget writes and reads 200 partitions round-robin with a
// budget of 16 descriptors: appends rolling segments, reads of old and
// active segments, retention, truncation, the cleaner on compacted logs,
// Slices held across all of it, then Close and reopen. Every read returns
// the bytes written and the process never holds more descriptors than
// the budget plus a few.
func TestDescriptorBudget(t *testing.T) {
	const (
		budget = 16
		parts  = 200
		rounds = 24
		slack  = 4 // the watcher's and the check's listings, a checkpoint or snapshot read
	)
	resetFileBudget(t)
	path := t.TempDir()
	// Warm up what the process opens once (the runtime's poller).
	f, _ := os.CreateTemp(path, "warm")
	f.Close()
	os.Remove(f.Name())
	baseFDs := countFDs(t) - 1
	limit := baseFDs + budget + slack
	w := watchFDs(t)
	check := func(when string) {
		t.Helper()
		if n := countFDs(t) - 1; n > limit {
			t.Fatalf("%s: %d descriptors open, budget %d + %d before + %d slack", when, n, budget, baseFDs, slack)
		}
	}

	cfg := Config{SegmentBytes: 2048, IndexIntervalBytes: 256, SegmentIndexBytes: 1024, MaxOpenFiles: budget}
	cfgFor := func(p int) Config {
		c := cfg
		if p%10 == 0 {
			c.CleanupCompact, c.DeleteRetention, c.MinCleanableRatio = true, time.Hour, 0.01
		} else {
			c.CleanupDelete, c.RetentionTime, c.RetentionBytes = true, -1, 6*2048
		}
		return c
	}
	compacted := func(p int) bool { return p%10 == 0 }
	d, err := OpenDir(path, cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if st := OpenFiles(); st.Limit != budget || st.Derived {
		t.Fatalf("OpenFiles() = %+v, want limit %d", st, budget)
	}
	logs := make([]*Log, parts)
	for p := range logs {
		if logs[p], err = d.CreateLog("t", int32(p), [16]byte{1}, cfgFor(p)); err != nil {
			t.Fatal(err)
		}
	}
	// model[p] maps base offsets to the batches written there.
	model := make([]map[int64][]byte, parts)
	for p := range model {
		model[p] = map[int64][]byte{}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	readAt := func(p int, off int64, want []byte) {
		t.Helper()
		s, err := logs[p].Read(off, int32(len(want)), true, NoLimit)
		if err != nil {
			t.Fatalf("partition %d: Read(%d): %v", p, off, err)
		}
		got, err := s.Bytes()
		s.Release()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("partition %d: Read(%d) = %d bytes (%v), want the %d bytes written", p, off, len(got), err, len(want))
		}
	}
	oldest := func(p int) (int64, []byte) {
		start, best := logs[p].LogStartOffset(), int64(math.MaxInt64)
		for off := range model[p] {
			if off >= start && off < best {
				best = off
			}
		}
		return best, model[p][best]
	}
	var held []Slice // Slices kept across the churn
	var heldWant [][]byte
	ts := int64(1_700_000_000_000)
	for round := 0; round < rounds; round++ {
		for p := range logs {
			ts++
			b := makeBatch(t, spec{records: 4, valueSize: 100, ts: ts, tsStep: 1})
			res := mustAppend(t, logs[p], b, 0)
			readAt(p, res.BaseOffset, b) // the active segment
			if !compacted(p) {
				model[p][res.BaseOffset] = b
				off, want := oldest(p) // usually an old segment
				readAt(p, off, want)
				if rng.IntN(50) == 0 && len(held) < budget/2 {
					s, err := logs[p].Read(off, int32(len(want)), true, NoLimit)
					if err != nil {
						t.Fatal(err)
					}
					held, heldWant = append(held, s), append(heldWant, want)
				}
			}
		}
		check("after appends")
		switch round % 4 {
		case 1:
			for p, l := range logs {
				if _, err := l.DeleteRetained(testNow, l.LogEndOffset()); err != nil {
					t.Fatalf("partition %d: DeleteRetained: %v", p, err)
				}
			}
		case 2:
			for p, l := range logs {
				if _, err := l.Flush(); err != nil {
					t.Fatalf("partition %d: Flush: %v", p, err)
				}
			}
		case 3:
			for p, l := range logs {
				if !compacted(p) {
					continue
				}
				if _, err := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true); err != nil {
					t.Fatalf("partition %d: Clean: %v", p, err)
				}
			}
		}
		if round == rounds/2 {
			for p := 1; p < parts; p += 7 {
				if compacted(p) {
					continue
				}
				end := logs[p].LogEndOffset()
				to := end - 12 // the last three batches
				if err := logs[p].TruncateTo(to); err != nil {
					t.Fatalf("partition %d: TruncateTo: %v", p, err)
				}
				for off := range model[p] {
					if off >= to {
						delete(model[p], off)
					}
				}
			}
		}
		check("after maintenance")
	}
	// The held Slices still read what they pointed at, even where
	// retention deleted the segment meanwhile.
	for i := range held {
		got, err := held[i].Bytes()
		if err != nil || !bytes.Equal(got, heldWant[i]) {
			t.Fatalf("held Slice %d: %v", i, err)
		}
		held[i].Release()
	}
	verify := func() {
		t.Helper()
		for p, l := range logs {
			hs, bs := readAll(t, l, l.LogStartOffset())
			if compacted(p) {
				if len(hs) == 0 || hs[len(hs)-1].LastOffset()+1 != l.LogEndOffset() {
					t.Fatalf("compacted partition %d: last batch missing", p)
				}
				continue
			}
			for i, h := range hs {
				if want := model[p][h.BaseOffset]; !bytes.Equal(bs[i], want) {
					t.Fatalf("partition %d: batch at %d differs", p, h.BaseOffset)
				}
			}
			if n := len(hs); n == 0 {
				t.Fatalf("partition %d: empty", p)
			}
		}
	}
	verify()
	check("after reading everything")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d, err = OpenDir(path, cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for p := range logs {
		logs[p], _ = d.Log("t", int32(p))
	}
	check("after reopening")
	verify()
	check("after reading everything again")
	st := OpenFiles()
	if st.Open > budget || st.Evictions == 0 {
		t.Fatalf("OpenFiles() = %+v", st)
	}
	if n := w.finish(); n > limit+1 { // +1: the watcher's own listing
		t.Fatalf("up to %d descriptors open, budget %d + %d before + %d slack", n-1, budget, baseFDs, slack)
	}
	t.Logf("descriptors: %d before, at most %d during; %+v", baseFDs, int(w.max.Load())-1, st)
}

// TestDescriptorBudgetExhausted fills the budget with Slices held by
// readers: a read or an append that needs another file fails with
// ErrTooManyOpenFiles, the log does not fail, and both succeed once a
// Slice is released.
func TestDescriptorBudgetExhausted(t *testing.T) {
	resetFileBudget(t)
	const budget = minOpenFiles
	cfg := Config{SegmentBytes: 1024, IndexIntervalBytes: 256, SegmentIndexBytes: 1024, MaxOpenFiles: budget}
	d, err := OpenDir(t.TempDir(), cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	logs := make([]*Log, budget+2)
	for p := range logs {
		if logs[p], err = d.CreateLog("t", int32(p), [16]byte{1}, cfg); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 8; i++ { // a few segments each
			mustAppend(t, logs[p], makeBatch(t, spec{records: 2, valueSize: 200, ts: int64(i)}), 0)
		}
		logs[p].rollFlushes.Wait()
	}
	var held []Slice
	defer func() {
		for i := range held {
			held[i].Release()
		}
	}()
	for p := 0; p < budget; p++ {
		s, err := logs[p].Read(0, 100, true, NoLimit)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, s)
	}
	l := logs[budget]
	if _, err := l.Read(0, 100, true, NoLimit); !errors.Is(err, ErrTooManyOpenFiles) {
		t.Fatalf("Read with the budget spent: %v, want ErrTooManyOpenFiles", err)
	}
	b := makeBatch(t, spec{records: 2, valueSize: 200, ts: 99})
	if _, err := l.Append(b, 0, testNow); !errors.Is(err, ErrTooManyOpenFiles) {
		t.Fatalf("Append with the budget spent: %v, want ErrTooManyOpenFiles", err)
	}
	if err := l.Failed(); err != nil {
		t.Fatalf("log failed: %v", err)
	}
	if st := OpenFiles(); st.Open > budget || st.Pinned != budget || st.Refused == 0 {
		t.Fatalf("OpenFiles() = %+v", st)
	}
	held[0].Release()
	s, err := l.Read(0, 100, true, NoLimit)
	if err != nil || s.Size == 0 {
		t.Fatalf("Read after a release: %v", err)
	}
	s.Release()
	res := mustAppend(t, l, b, 0)
	if _, err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	s, err = l.Read(res.BaseOffset, int32(len(b)), true, NoLimit)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Bytes()
	s.Release()
	if !bytes.Equal(got, b) {
		t.Fatal("appended batch reads back differently")
	}
}

// TestIdleDescriptors: a partition holds no index descriptor, and an idle
// one at most its active segment's .log file, which the cache may close.
func TestIdleDescriptors(t *testing.T) {
	resetFileBudget(t)
	cfg := Config{SegmentBytes: 4096, IndexIntervalBytes: 256, SegmentIndexBytes: 1024}
	path := t.TempDir()
	d, err := OpenDir(path, cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	const parts = 50
	before := countFDs(t)
	for p := 0; p < parts; p++ {
		l, err := d.CreateLog("t", int32(p), [16]byte{1}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 20; i++ { // several segments
			mustAppend(t, l, makeBatch(t, spec{records: 2, valueSize: 200, ts: int64(i)}), 0)
		}
		l.Flush()
		l.rollFlushes.Wait()
	}
	if n := countFDs(t) - before; n > parts {
		t.Fatalf("%d partitions hold %d descriptors", parts, n)
	}
	segs := 0
	for _, l := range d.Logs() {
		segs += len(l.Segments())
	}
	t.Logf("%d idle partitions with %d segments hold %d descriptors", parts, segs, countFDs(t)-before)
	if st := OpenFiles(); st.Open != countFDs(t)-before || st.Pinned != 0 {
		t.Fatalf("OpenFiles() = %+v, %d descriptors opened", st, countFDs(t)-before)
	}
}

// TestFileCacheConcurrent races readers, appends and flushes on more
// partitions than descriptors (run with -race).
func TestFileCacheConcurrent(t *testing.T) {
	resetFileBudget(t)
	const budget, parts = 8, 24
	cfg := Config{SegmentBytes: 2048, IndexIntervalBytes: 256, SegmentIndexBytes: 1024, MaxOpenFiles: budget,
		CleanupDelete: true, RetentionTime: -1, RetentionBytes: 4 * 2048}
	d, err := OpenDir(t.TempDir(), cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	logs := make([]*Log, parts)
	for p := range logs {
		if logs[p], err = d.CreateLog("t", int32(p), [16]byte{1}, cfg); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var failures atomic.Int64
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for {
				select {
				case <-stop:
					return
				default:
				}
				l := logs[rng.IntN(parts)]
				end, start := l.LogEndOffset(), l.LogStartOffset()
				if end == start {
					continue
				}
				s, err := l.Read(start+rng.Int64N(end-start), 4096, true, NoLimit)
				if errors.Is(err, ErrTooManyOpenFiles) || errors.Is(err, ErrOffsetOutOfRange) {
					continue
				}
				if err != nil {
					failures.Add(1)
					t.Error(err)
					return
				}
				b, err := s.Bytes()
				s.Release()
				if err != nil || len(b) == 0 {
					failures.Add(1)
					t.Errorf("read %d bytes: %v", len(b), err)
					return
				}
			}
		}()
	}
	for i := 0; i < 1500 && failures.Load() == 0; i++ {
		l := logs[i%parts]
		b := makeBatch(t, spec{records: 2, valueSize: 200, ts: int64(i)})
		if _, err := l.Append(b, 0, testNow); err != nil && !errors.Is(err, ErrTooManyOpenFiles) {
			t.Fatal(err)
		}
		if i%50 == 0 {
			if _, err := l.Flush(); err != nil && !errors.Is(err, ErrTooManyOpenFiles) {
				t.Fatal(err)
			}
			// Short of descriptors, retention fails this call only (the
			// log stays healthy: checked below).
			if _, err := l.DeleteRetained(testNow, l.LogEndOffset()); err != nil && !errors.Is(err, ErrTooManyOpenFiles) {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	for _, l := range logs {
		l.rollFlushes.Wait()
		if err := l.Failed(); err != nil {
			t.Fatal(err)
		}
	}
	if st := OpenFiles(); st.Open > budget || st.Pinned != 0 {
		t.Fatalf("OpenFiles() = %+v", st)
	}
}
