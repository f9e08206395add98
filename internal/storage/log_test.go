package storage

import (
	"bytes"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/record"
)

func TestAppendReadAcrossRolls(t *testing.T) {
	_, l := newTestLog(t, smallConfig())
	var want [][]byte
	next := int64(0)
	for i := 0; i < 300; i++ {
		b := makeBatch(t, spec{records: 1 + i%4, valueSize: 10 + (i*37)%300, ts: int64(1000 + i), tsStep: 1})
		res := mustAppend(t, l, b, 3)
		if res.BaseOffset != next || res.LastOffset != next+int64(i%4) {
			t.Fatalf("batch %d: got [%d,%d], want base %d", i, res.BaseOffset, res.LastOffset, next)
		}
		if res.End.Offset != res.LastOffset+1 || res.End != l.EndPosition() {
			t.Fatalf("batch %d: end %+v, log end %+v", i, res.End, l.EndPosition())
		}
		next = res.LastOffset + 1
		want = append(want, b) // patched in place by Append
	}
	if n := len(l.Segments()); n < 10 {
		t.Fatalf("only %d segments; the test wants many rolls", n)
	}
	for _, s := range l.Segments() {
		if s.Size > smallConfig().SegmentBytes {
			t.Fatalf("segment %d is %d bytes, over the limit", s.BaseOffset, s.Size)
		}
	}
	_, got := readAll(t, l, 0)
	if len(got) != len(want) {
		t.Fatalf("read %d batches, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("batch %d differs", i)
		}
		h, _ := record.ParseHeader(got[i])
		if h.PartitionLeaderEpoch != 3 {
			t.Fatalf("batch %d leader epoch %d", i, h.PartitionLeaderEpoch)
		}
	}
	// Every offset reads back starting at the batch that holds it.
	for off := int64(0); off < next; off++ {
		s, err := l.Read(off, 100, true, NoLimit)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := s.Bytes()
		s.Release()
		h, err := record.ParseHeader(b)
		if err != nil || off < h.BaseOffset || off > h.LastOffset() {
			t.Fatalf("Read(%d) started at batch [%d,%d] (err %v)", off, h.BaseOffset, h.LastOffset(), err)
		}
	}
}

func TestReadBounds(t *testing.T) {
	_, l := newTestLog(t, Config{SegmentBytes: 1 << 20})
	var sizes []int64
	for i := 0; i < 5; i++ {
		b := makeBatch(t, spec{records: 2, valueSize: 100})
		sizes = append(sizes, int64(len(b)))
		mustAppend(t, l, b, 0)
	}
	one := sizes[0]
	cases := []struct {
		name     string
		offset   int64
		maxBytes int32
		minOne   bool
		limit    Position
		wantPos  int64
		wantSize int64
	}{
		{"partial last batch", 0, int32(one + one/2), false, NoLimit, 0, one + one/2},
		{"max below batch, no minOne", 0, 10, false, NoLimit, 0, 10},
		{"max below batch, minOne", 0, 10, true, NoLimit, 0, one},
		{"offset inside batch", 3, 1 << 20, false, NoLimit, one, 4 * one},
		{"bounded by log end", 8, 1 << 20, false, NoLimit, 4 * one, one},
		{"bounded by limit", 0, 1 << 20, false, Position{Offset: 4, SegmentBase: 0, FilePos: 2 * one}, 0, 2 * one},
		{"minOne bounded by limit", 2, 10, true, Position{Offset: 4, SegmentBase: 0, FilePos: 2 * one}, one, one},
		{"offset at limit", 4, 1 << 20, true, Position{Offset: 4, SegmentBase: 0, FilePos: 2 * one}, 0, 0},
		{"offset at log end", 10, 1 << 20, true, NoLimit, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := l.Read(c.offset, c.maxBytes, c.minOne, c.limit)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Release()
			if s.Size != c.wantSize || (c.wantSize > 0 && s.Pos != c.wantPos) {
				t.Fatalf("got pos %d size %d, want pos %d size %d", s.Pos, s.Size, c.wantPos, c.wantSize)
			}
		})
	}
	if _, err := l.Read(11, 100, true, NoLimit); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read past end: %v", err)
	}
	if _, err := l.Read(-1, 100, true, NoLimit); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below start: %v", err)
	}
}

// TestIndexLookupMatchesScan checks the index+walk translation against a
// linear scan of every segment, for every offset.
func TestIndexLookupMatchesScan(t *testing.T) {
	_, l := newTestLog(t, Config{SegmentBytes: 64 << 10, IndexIntervalBytes: 300})
	for i := 0; i < 400; i++ {
		mustAppend(t, l, makeBatch(t, spec{records: 1 + i%3, valueSize: i % 200}), 0)
	}
	checkIndexes(t, l)
}

func checkIndexes(t *testing.T, l *Log) {
	t.Helper()
	segs, _, _ := l.snapshotState()
	for _, seg := range segs {
		size := seg.size.Load()
		if seg.idx.entries() == 0 && size > 2*int64(l.cfg.IndexIntervalBytes)+2000 {
			t.Fatalf("segment %d of %d bytes has no index entries", seg.base, size)
		}
		var batches []struct{ pos, last int64 }
		if err := seg.walk(0, size, func(p int64, h record.Header) bool {
			batches = append(batches, struct{ pos, last int64 }{p, h.LastOffset()})
			return false
		}); err != nil {
			t.Fatal(err)
		}
		if len(batches) == 0 {
			continue
		}
		for off := seg.base; off <= batches[len(batches)-1].last; off++ {
			want := int64(-1)
			for _, b := range batches {
				if b.last >= off {
					want = b.pos
					break
				}
			}
			pos, _, found, err := seg.find(off, size)
			if err != nil || !found || pos != want {
				t.Fatalf("segment %d offset %d: index found %d (%v, %v), scan %d", seg.base, off, pos, found, err, want)
			}
		}
		// The file holds exactly the in-memory entries once flushed.
		l.mu.Lock() // a roll's background flush may be writing them too
		err := seg.writePending()
		l.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(seg.idx.path)
		if err != nil || st.Size() != int64(seg.idx.entries()*offsetEntrySize) {
			t.Fatalf("index file size %d for %d entries (%v)", st.Size(), seg.idx.entries(), err)
		}
	}
}

func TestCleanRestart(t *testing.T) {
	path := t.TempDir()
	d := openTestDir(t, path)
	l, err := d.CreateLog("orders", 3, [16]byte{9}, smallConfig())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		mustAppend(t, l, makeBatch(t, spec{records: 2, valueSize: 50, ts: int64(i)}), 1)
	}
	_, before := readAll(t, l, 0)
	segsBefore := l.Segments()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "/" + cleanShutdownFile); err != nil {
		t.Fatalf("no clean-shutdown marker: %v", err)
	}
	d = openTestDir(t, path)
	defer d.Close()
	if _, err := os.Stat(path + "/" + cleanShutdownFile); !os.IsNotExist(err) {
		t.Fatalf("clean-shutdown marker still there after open: %v", err)
	}
	l, ok := d.Log("orders", 3)
	if !ok {
		t.Fatal("log not found after restart")
	}
	if l.TopicID() != [16]byte{9} {
		t.Fatalf("topic id %x", l.TopicID())
	}
	if l.LogEndOffset() != 200 || l.RecoveryPoint() != 200 {
		t.Fatalf("log end %d recovery point %d", l.LogEndOffset(), l.RecoveryPoint())
	}
	_, after := readAll(t, l, 0)
	if len(after) != len(before) {
		t.Fatalf("%d batches after restart, %d before", len(after), len(before))
	}
	for i, s := range l.Segments() {
		if s != segsBefore[i] {
			t.Fatalf("segment %d: %+v, before %+v", i, s, segsBefore[i])
		}
	}
	checkIndexes(t, l)
	res := mustAppend(t, l, makeBatch(t, spec{}), 1)
	if res.BaseOffset != 200 {
		t.Fatalf("append after restart at %d", res.BaseOffset)
	}
}

func TestDeleteRecordsBefore(t *testing.T) {
	path := t.TempDir()
	d := openTestDir(t, path)
	l, _ := d.CreateLog("t", 0, [16]byte{}, smallConfig())
	for i := 0; i < 200; i++ {
		mustAppend(t, l, makeBatch(t, spec{valueSize: 100}), int32(i/50))
	}
	// Hold a slice into the first segment across its deletion.
	held, err := l.Read(0, 1000, true, NoLimit)
	if err != nil {
		t.Fatal(err)
	}
	heldBytes, _ := held.Bytes()
	nsegs := len(l.Segments())
	if err := l.DeleteRecordsBefore(120); err != nil {
		t.Fatal(err)
	}
	if l.LogStartOffset() != 120 {
		t.Fatalf("log start %d", l.LogStartOffset())
	}
	segs := l.Segments()
	if len(segs) >= nsegs || segs[0].BaseOffset > 120 || (len(segs) > 1 && segs[1].BaseOffset <= 120) {
		t.Fatalf("segments after delete: %+v", segs)
	}
	if _, err := os.Stat(segmentPath(l.dir, 0, logSuffix)); !os.IsNotExist(err) {
		t.Fatalf("first segment file still there: %v", err)
	}
	again, err := held.Bytes()
	if err != nil || !bytes.Equal(again, heldBytes) {
		t.Fatalf("slice unreadable after its segment was deleted: %v", err)
	}
	held.Release()
	if _, err := l.Read(119, 100, true, NoLimit); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below log start: %v", err)
	}
	if hs, _ := readAll(t, l, 120); hs[0].BaseOffset != 120 || len(hs) != 80 {
		t.Fatalf("read from log start: first %d, %d batches", hs[0].BaseOffset, len(hs))
	}
	if e := l.Epochs(); e[0].StartOffset != 120 || e[0].Epoch != 2 {
		t.Fatalf("epoch cache not truncated from start: %+v", e)
	}
	if err := l.DeleteRecordsBefore(201); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("delete past end: %v", err)
	}
	// The log start survives a restart through the checkpoint, clean or not.
	if err := d.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	crash(d)
	d = openTestDir(t, path)
	defer d.Close()
	l, _ = d.Log("t", 0)
	if l.LogStartOffset() != 120 || l.LogEndOffset() != 200 {
		t.Fatalf("after restart: start %d end %d", l.LogStartOffset(), l.LogEndOffset())
	}
}

func TestOffsetForTimestamp(t *testing.T) {
	_, l := newTestLog(t, smallConfig())
	// Batch i holds 4 records with timestamps 1000+10i .. 1000+10i+3.
	for i := 0; i < 100; i++ {
		mustAppend(t, l, makeBatch(t, spec{records: 4, valueSize: 40, ts: 1000 + 10*int64(i), tsStep: 1}), 0)
	}
	// A compressed-flagged batch answers with its base offset.
	mustAppend(t, l, makeBatch(t, spec{records: 4, ts: 5000, tsStep: 1, attrs: record.CompressionGzip}), 0)
	cases := []struct {
		ts       int64
		off, got int64
		ok       bool
	}{
		{0, 0, 1000, true},
		{1000, 0, 1000, true},
		{1002, 2, 1002, true},
		{1004, 4, 1010, true},
		{1503, 203, 1503, true},
		{1993, 399, 1993, true},
		{1994, 400, 5003, true},
		{5002, 400, 5003, true},
		{5004, -1, -1, false},
	}
	for _, c := range cases {
		off, ts, ok := l.OffsetForTimestamp(c.ts)
		if off != c.off || ts != c.got || ok != c.ok {
			t.Errorf("OffsetForTimestamp(%d) = %d, %d, %v; want %d, %d, %v", c.ts, off, ts, ok, c.off, c.got, c.ok)
		}
	}
	if ts, off := l.MaxTimestamp(); ts != 5003 || off != 400 {
		t.Errorf("MaxTimestamp = %d @ %d", ts, off)
	}
	if err := l.DeleteRecordsBefore(102); err != nil {
		t.Fatal(err)
	}
	if off, _, _ := l.OffsetForTimestamp(0); off != 102 {
		t.Errorf("after DeleteRecords, OffsetForTimestamp(0) = %d, want 102", off)
	}
}

func TestMaxTimestampExactRecord(t *testing.T) {
	_, l := newTestLog(t, Config{})
	if ts, off := l.MaxTimestamp(); ts != -1 || off != -1 {
		t.Fatalf("empty log: %d %d", ts, off)
	}
	mustAppend(t, l, makeBatch(t, spec{records: 3, ts: 100, tsStep: 10}), 0) // 100,110,120
	mustAppend(t, l, makeBatch(t, spec{records: 3, ts: 50, tsStep: 1}), 0)
	if ts, off := l.MaxTimestamp(); ts != 120 || off != 2 {
		t.Fatalf("MaxTimestamp = %d @ %d, want 120 @ 2", ts, off)
	}
}

func TestEndOffsetForEpoch(t *testing.T) {
	_, l := newTestLog(t, Config{})
	for _, e := range []int32{1, 1, 3, 3, 3, 6} {
		mustAppend(t, l, makeBatch(t, spec{records: 2}), e)
	}
	// epochs: 1@0, 3@4, 6@10; log end 12
	cases := []struct {
		epoch, wantEpoch int32
		wantOff          int64
	}{
		{-1, -1, -1},
		{0, 0, 0},
		{1, 1, 4},
		{2, 1, 4},
		{3, 3, 10},
		{5, 3, 10},
		{6, 6, 12},
		{7, -1, -1},
	}
	for _, c := range cases {
		e, off := l.EndOffsetForEpoch(c.epoch)
		if e != c.wantEpoch || off != c.wantOff {
			t.Errorf("EndOffsetForEpoch(%d) = %d, %d; want %d, %d", c.epoch, e, off, c.wantEpoch, c.wantOff)
		}
	}
	if l.LatestEpoch() != 6 {
		t.Errorf("LatestEpoch %d", l.LatestEpoch())
	}
	// After a flush the cache is on disk in Kafka's format.
	if _, err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(l.dir + "/" + leaderEpochFile)
	if string(b) != "0\n3\n1 0\n3 4\n6 10\n" {
		t.Errorf("leader-epoch-checkpoint = %q", b)
	}
}

func TestTruncateTo(t *testing.T) {
	_, l := newTestLog(t, smallConfig())
	for i := 0; i < 100; i++ {
		mustAppend(t, l, makeBatch(t, spec{records: 2, valueSize: 60, producer: true, pid: 7, seq: int32(2 * i)}), int32(i/25))
	}
	if err := l.TruncateTo(101); err != nil { // inside batch [100,101]
		t.Fatal(err)
	}
	if l.LogEndOffset() != 100 {
		t.Fatalf("log end after truncate %d", l.LogEndOffset())
	}
	if e := l.Epochs(); e[len(e)-1].Epoch != 1 {
		t.Fatalf("epochs after truncate: %+v", e)
	}
	if ps := l.ProducerStates(); len(ps) != 1 || ps[0].LastSequence != 99 {
		t.Fatalf("producer state after truncate: %+v", ps)
	}
	checkIndexes(t, l)
	res := mustAppend(t, l, makeBatch(t, spec{records: 2, producer: true, pid: 7, seq: 100}), 9)
	if res.BaseOffset != 100 {
		t.Fatalf("append after truncate at %d", res.BaseOffset)
	}
	hs, _ := readAll(t, l, 0)
	if len(hs) != 51 {
		t.Fatalf("%d batches after truncate+append", len(hs))
	}
}

func TestFollowerAppend(t *testing.T) {
	_, l := newTestLog(t, Config{})
	b := makeBatch(t, spec{records: 3})
	record.SetBaseOffset(b, 10)
	record.SetPartitionLeaderEpoch(b, 4)
	res, err := l.AppendFollower(b, testNow)
	if err != nil || res.BaseOffset != 10 || l.LogEndOffset() != 13 || l.LatestEpoch() != 4 {
		t.Fatalf("follower append: %+v %v end %d", res, err, l.LogEndOffset())
	}
	if _, err := l.AppendFollower(b, testNow); !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("follower append below log end: %v", err)
	}
}

func TestFlushByMessages(t *testing.T) {
	cfg := Config{FlushMessages: 5}
	_, l := newTestLog(t, cfg)
	for i := 0; i < 4; i++ {
		mustAppend(t, l, makeBatch(t, spec{}), 0)
	}
	if l.RecoveryPoint() != 0 {
		t.Fatalf("recovery point %d before the flush threshold", l.RecoveryPoint())
	}
	mustAppend(t, l, makeBatch(t, spec{}), 0)
	if l.RecoveryPoint() != 5 {
		t.Fatalf("recovery point %d after 5 messages", l.RecoveryPoint())
	}
	if off, err := l.Flush(); err != nil || off != 5 || l.LastFlush().IsZero() {
		t.Fatalf("Flush = %d, %v", off, err)
	}
}

func TestFailStop(t *testing.T) {
	_, l := newTestLog(t, Config{})
	mustAppend(t, l, makeBatch(t, spec{}), 0)
	l.active().file.f.Close() // the next write fails with EBADF
	if _, err := l.Append(makeBatch(t, spec{}), 0, testNow); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("append on broken file: %v", err)
	}
	if _, err := l.Append(makeBatch(t, spec{}), 0, testNow); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("append after failure: %v", err)
	}
	if _, err := l.Flush(); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("flush after failure: %v", err)
	}
	if l.LogEndOffset() != 1 {
		t.Fatalf("log end moved to %d", l.LogEndOffset())
	}
}

func TestBatchTooLarge(t *testing.T) {
	_, l := newTestLog(t, Config{SegmentBytes: 1000})
	if _, err := l.Append(makeBatch(t, spec{valueSize: 2000}), 0, testNow); !errors.Is(err, ErrBatchTooLarge) {
		t.Fatalf("got %v", err)
	}
	if _, err := l.Append(makeBatch(t, spec{})[:70], 0, testNow); !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("short batch: %v", err)
	}
}

// TestConcurrentReadAppendFlush runs readers and a flusher against a
// writer; run with -race.
func TestConcurrentReadAppendFlush(t *testing.T) {
	_, l := newTestLog(t, smallConfig())
	batches := make([][]byte, 300)
	for i := range batches {
		batches[i] = makeBatch(t, spec{records: 2, valueSize: 80, ts: int64(i)})
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				end := l.EndPosition()
				for off := l.LogStartOffset(); off < end.Offset; off += 7 {
					s, err := l.Read(off, 500, true, end)
					if errors.Is(err, ErrOffsetOutOfRange) && off < l.LogStartOffset() {
						break // DeleteRecordsBefore raced ahead of this pass
					}
					if err != nil {
						t.Error(err)
						return
					}
					b, err := s.Bytes()
					s.Release()
					if err != nil || len(b) < record.HeaderSize {
						t.Errorf("read %d: %d bytes, %v", off, len(b), err)
						return
					}
				}
				l.OffsetForTimestamp(100)
				l.ProducerStates()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := l.Flush(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i, b := range batches {
		mustAppend(t, l, b, 0)
		if i == 150 {
			if err := l.DeleteRecordsBefore(100); err != nil {
				t.Error(err)
			}
		}
	}
	close(done)
	wg.Wait()
}

func TestRollByTime(t *testing.T) {
	_, l := newTestLog(t, Config{SegmentRoll: time.Hour})
	hour := int64(time.Hour / time.Millisecond)
	mustAppend(t, l, makeBatch(t, spec{ts: 1000}), 0)
	mustAppend(t, l, makeBatch(t, spec{ts: 1000 + hour}), 0) // exactly an hour: no roll
	if n := len(l.Segments()); n != 1 {
		t.Fatalf("%d segments before the roll time", n)
	}
	mustAppend(t, l, makeBatch(t, spec{ts: 1001 + hour}), 0)
	if segs := l.Segments(); len(segs) != 2 || segs[1].BaseOffset != 2 {
		t.Fatalf("segments after the roll time: %+v", segs)
	}
	// Without timestamps, wall time since the segment was created counts.
	_, l2 := newTestLog(t, Config{SegmentRoll: time.Hour})
	mustAppend(t, l2, makeBatch(t, spec{ts: -1}), 0)
	if _, err := l2.Append(makeBatch(t, spec{ts: -1}), 0, time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := len(l2.Segments()); n != 2 {
		t.Fatalf("%d segments after two hours of wall time", n)
	}
}

// A follower whose leader's log starts past its own end empties its log
// and starts it at the leader's log start: everything it had goes, it
// takes the leader's batches from there, and a reopen keeps that start.
func TestTruncateFullyAndStartAt(t *testing.T) {
	d, l := newTestLog(t, smallConfig())
	for i := 0; i < 100; i++ {
		mustAppend(t, l, makeBatch(t, spec{records: 2, valueSize: 60, producer: true, pid: 7, seq: int32(2 * i)}), int32(i/25))
	}
	if err := l.TruncateFullyAndStartAt(500); err != nil {
		t.Fatal(err)
	}
	if l.LogStartOffset() != 500 || l.LogEndOffset() != 500 || len(l.Segments()) != 1 || len(l.Epochs()) != 0 || len(l.ProducerStates()) != 0 {
		t.Fatalf("after reset: start %d end %d segments %d epochs %v producers %v",
			l.LogStartOffset(), l.LogEndOffset(), len(l.Segments()), l.Epochs(), l.ProducerStates())
	}
	if _, err := l.Read(0, 1<<20, true, Position{Offset: -1}); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below the new start: %v", err)
	}
	b := makeBatch(t, spec{records: 3})
	record.SetBaseOffset(b, 500)
	record.SetPartitionLeaderEpoch(b, 9)
	if res, err := l.AppendFollower(b, testNow); err != nil || res.BaseOffset != 500 || l.LogEndOffset() != 503 {
		t.Fatalf("follower append at the new start: %+v %v", res, err)
	}
	checkIndexes(t, l)
	if err := d.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	path := d.path
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d2 := openTestDir(t, path)
	defer d2.Close()
	l2, ok := d2.Log("topic", 0)
	if !ok || l2.LogStartOffset() != 500 || l2.LogEndOffset() != 503 || l2.LatestEpoch() != 9 {
		t.Fatalf("reopened: ok %v start %d end %d", ok, l2.LogStartOffset(), l2.LogEndOffset())
	}
	hs, _ := readAll(t, l2, 500)
	if len(hs) != 1 || hs[0].BaseOffset != 500 {
		t.Fatalf("reopened batches %+v", hs)
	}
}
