package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/record"
)

// txnBatch is a transactional data batch of n records from pid (sequence
// seq, or -1 for a coordinator's batch).
func txnBatch(t testing.TB, pid int64, epoch int16, seq int32, n int) []byte {
	t.Helper()
	return makeBatch(t, spec{records: n, valueSize: 10, producer: true, pid: pid, epoch: epoch, seq: seq, attrs: record.TransactionalBit})
}

// markerBatch is a transaction marker (control batch) as a transaction
// coordinator has the leader write it.
func markerBatch(t testing.TB, pid int64, epoch int16, abort bool, coordinatorEpoch int32) []byte {
	t.Helper()
	key := make([]byte, 4)
	if !abort {
		binary.BigEndian.PutUint16(key[2:], controlCommit)
	}
	value := make([]byte, 6)
	binary.BigEndian.PutUint32(value[2:], uint32(coordinatorEpoch))
	return controlBatch(t, pid, epoch, key, value)
}

func controlBatch(t testing.TB, pid int64, epoch int16, key, value []byte) []byte {
	t.Helper()
	r := kmsg.Record{Key: key, Value: value}
	r.Length = int32(len(r.AppendTo(nil)) - 1)
	h := record.Header{
		PartitionLeaderEpoch: -1, Attributes: record.TransactionalBit | record.ControlBit,
		FirstTimestamp: 5, MaxTimestamp: 5, ProducerID: pid, ProducerEpoch: epoch, BaseSequence: -1, NumRecords: 1,
	}
	b := record.BuildBatch(nil, &h, r.AppendTo(nil))
	if _, err := record.Validate(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func producerInfo(t *testing.T, l *Log, pid int64) ProducerInfo {
	t.Helper()
	for _, p := range l.ProducerStates() {
		if p.ProducerID == pid {
			return p
		}
	}
	t.Fatalf("producer %d unknown", pid)
	return ProducerInfo{}
}

func TestMarkersInProducerState(t *testing.T) {
	_, l := newTestLog(t, Config{})
	mustAppend(t, l, txnBatch(t, 1, 0, 0, 2), 0) // offsets 0-1
	if p := producerInfo(t, l, 1); p.CurrentTxnStartOffset != 0 || p.CoordinatorEpoch != -1 {
		t.Fatalf("after the first transactional batch: %+v", p)
	}
	// A non-transactional batch inside a transaction.
	if _, err := l.Append(makeBatch(t, spec{producer: true, pid: 1, seq: 2}), 0, testNow); !errors.Is(err, ErrInvalidTxnState) {
		t.Fatalf("non-transactional batch in a transaction: %v", err)
	}
	mustAppend(t, l, txnBatch(t, 1, 0, 2, 1), 0) // offset 2: a transactional one is fine
	if _, err := l.AppendCoordinator(markerBatch(t, 1, 0, false, 7), 0, testNow); err != nil {
		t.Fatal(err)
	}
	if p := producerInfo(t, l, 1); p.CurrentTxnStartOffset != -1 || p.CoordinatorEpoch != 7 {
		t.Fatalf("after the commit marker: %+v", p)
	}
	// Now a non-transactional batch is fine.
	mustAppend(t, l, makeBatch(t, spec{producer: true, pid: 1, seq: 3}), 0)

	for _, c := range []struct {
		name  string
		batch []byte
		want  error
	}{
		{"older coordinator epoch", markerBatch(t, 1, 0, true, 6), ErrTransactionCoordinatorFenced},
		{"older producer epoch", markerBatch(t, 1, -1, true, 9), ErrInvalidProducerEpoch},
		{"key too short", controlBatch(t, 1, 0, []byte{0, 0}, make([]byte, 6)), ErrInvalidBatch},
		{"unknown control type", controlBatch(t, 1, 0, []byte{0, 0, 0, 7}, make([]byte, 6)), ErrInvalidBatch},
		{"negative key version", controlBatch(t, 1, 0, []byte{0xff, 0xff, 0, 0}, make([]byte, 6)), ErrInvalidBatch},
		{"value too short", controlBatch(t, 1, 0, make([]byte, 4), []byte{0, 0, 0}), ErrInvalidBatch},
		{"null value", controlBatch(t, 1, 0, make([]byte, 4), nil), ErrInvalidBatch},
	} {
		for _, coord := range []bool{false, true} {
			app := l.Append
			if coord {
				app = l.AppendCoordinator
			}
			if _, err := app(c.batch, 0, testNow); !errors.Is(err, c.want) {
				t.Errorf("%s (coordinator %v): %v, want %v", c.name, coord, err, c.want)
			}
		}
	}
	// A control batch without records.
	h := record.Header{PartitionLeaderEpoch: -1, Attributes: record.TransactionalBit | record.ControlBit, ProducerID: 1, BaseSequence: -1}
	if _, err := l.Append(record.BuildBatch(nil, &h, nil), 0, testNow); !errors.Is(err, ErrInvalidBatch) {
		t.Errorf("empty control batch: %v", err)
	}
	// A follower takes a marker it cannot decode: it still ends the
	// transaction.
	mustAppend(t, l, txnBatch(t, 1, 0, 4, 1), 0)
	bad := controlBatch(t, 1, 0, []byte{0, 0}, nil)
	record.SetBaseOffset(bad, l.LogEndOffset())
	if _, err := l.AppendFollower(bad, testNow); err != nil {
		t.Fatal(err)
	}
	if p := producerInfo(t, l, 1); p.CurrentTxnStartOffset != -1 || p.CoordinatorEpoch != 7 {
		t.Fatalf("after an undecodable follower marker: %+v", p)
	}
	// A higher coordinator epoch is taken, also by a follower.
	m := markerBatch(t, 1, 0, true, 9)
	record.SetBaseOffset(m, l.LogEndOffset())
	if _, err := l.AppendFollower(m, testNow); err != nil {
		t.Fatal(err)
	}
	if p := producerInfo(t, l, 1); p.CoordinatorEpoch != 9 {
		t.Fatalf("follower marker: %+v", p)
	}
}

func TestCoordinatorAppendKeepsSequence(t *testing.T) {
	_, l := newTestLog(t, Config{})
	for seq := int32(0); seq < 5; seq++ {
		mustAppend(t, l, txnBatch(t, 3, 2, seq, 1), 0)
	}
	// The group coordinator's transactional offset commit for the same
	// producer: no sequence.
	if _, err := l.AppendCoordinator(txnBatch(t, 3, 2, -1, 2), 0, testNow); err != nil {
		t.Fatal(err)
	}
	// A coordinator batch is not checked for sequence, but for the epoch.
	if _, err := l.AppendCoordinator(txnBatch(t, 3, 1, -1, 1), 0, testNow); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Fatalf("coordinator batch from a fenced epoch: %v", err)
	}
	if _, err := l.AppendCoordinator(markerBatch(t, 3, 2, false, 0), 0, testNow); err != nil {
		t.Fatal(err)
	}
	res, err := l.Append(txnBatch(t, 3, 2, 5, 1), 0, testNow)
	if err != nil || res.Duplicate {
		t.Fatalf("client seq 5 after a coordinator batch and a marker: %+v, %v", res, err)
	}
	// Retries of the client's batches are still recognized.
	res, err = l.Append(txnBatch(t, 3, 2, 4, 1), 0, testNow)
	if err != nil || !res.Duplicate || res.BaseOffset != 4 {
		t.Fatalf("retry of seq 4: %+v, %v", res, err)
	}
	if p := producerInfo(t, l, 3); p.LastSequence != 5 || p.ProducerEpoch != 2 {
		t.Fatalf("producer 3: %+v", p)
	}
	// A coordinator-only producer (offset commits on __consumer_offsets).
	if _, err := l.AppendCoordinator(txnBatch(t, 4, 0, -1, 1), 0, testNow); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendCoordinator(makeBatch(t, spec{producer: true, pid: 4, seq: -1}), 0, testNow); !errors.Is(err, ErrInvalidTxnState) {
		t.Fatalf("non-transactional coordinator batch in a transaction: %v", err)
	}
}

// TestProducerTxnStateSurvivesRestart checks that the coordinator epoch
// and the open transaction come back from the snapshot (clean) or replay
// (crash).
func TestProducerTxnStateSurvivesRestart(t *testing.T) {
	for _, clean := range []bool{true, false} {
		path := t.TempDir()
		d := openTestDir(t, path)
		l, err := d.CreateLog("t", 0, [16]byte{}, smallConfig())
		if err != nil {
			t.Fatal(err)
		}
		mustAppend(t, l, txnBatch(t, 1, 0, 0, 1), 0)
		mustAppend(t, l, markerBatch(t, 1, 0, false, 4), 0)
		mustAppend(t, l, txnBatch(t, 1, 0, 1, 1), 0) // open from offset 2
		if clean {
			d.Close()
		} else {
			crash(d)
		}
		d = openTestDir(t, path)
		l, _ = d.Log("t", 0)
		if p := producerInfo(t, l, 1); p.CoordinatorEpoch != 4 || p.CurrentTxnStartOffset != 2 {
			t.Fatalf("clean %v: after restart %+v", clean, p)
		}
		if _, err := l.Append(markerBatch(t, 1, 0, true, 3), 0, testNow); !errors.Is(err, ErrTransactionCoordinatorFenced) {
			t.Fatalf("clean %v: old coordinator after restart: %v", clean, err)
		}
		d.Close()
	}
}

// txnModel is the reference for a transactional workload: every batch
// appended, from which the aborted transactions (Kafka's index entries)
// and the open transactions follow.
type txnModel struct {
	ops []txnOp
	seq map[int64]int32
}

type txnOp struct {
	base int64
	pid  int64
	kind int // opPlain, opData, opCommit, opAbort
}

const (
	opPlain = iota
	opData
	opCommit
	opAbort
)

func newTxnModel() *txnModel { return &txnModel{seq: map[int64]int32{}} }

// state is what the model says of the log: aborted transactions in marker
// order and open ones (pid -> first offset).
func (m *txnModel) state() (aborted []abortedTxn, open map[int64]int64) {
	open = map[int64]int64{}
	for _, op := range m.ops {
		switch op.kind {
		case opData:
			if _, ok := open[op.pid]; !ok {
				open[op.pid] = op.base
			}
		case opCommit, opAbort:
			first, ok := open[op.pid]
			if !ok {
				continue
			}
			delete(open, op.pid)
			if op.kind == opAbort {
				lso := op.base + 1
				for _, f := range open {
					lso = min(lso, f)
				}
				aborted = append(aborted, abortedTxn{pid: op.pid, first: first, last: op.base, lso: lso})
			}
		}
	}
	return aborted, open
}

// truncate forgets the batches at or after end and takes the producers'
// sequences from the log.
func (m *txnModel) truncate(l *Log, end int64) {
	for len(m.ops) > 0 && m.ops[len(m.ops)-1].base >= end {
		m.ops = m.ops[:len(m.ops)-1]
	}
	clear(m.seq)
	for _, p := range l.ProducerStates() {
		m.seq[p.ProducerID] = p.LastSequence + 1
	}
}

// appendTxnWorkload appends n random steps: transactional batches from
// producers 1-3, their commit and abort markers, and plain batches.
func appendTxnWorkload(t testing.TB, l *Log, m *txnModel, rng interface{ IntN(int) int }, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		pid := int64(1 + rng.IntN(3))
		_, open := m.state()
		_, isOpen := open[pid]
		switch x := rng.IntN(10); {
		case x < 2:
			res := mustAppend(t, l, makeBatch(t, spec{records: 1 + rng.IntN(3), valueSize: 40}), 0)
			m.ops = append(m.ops, txnOp{base: res.BaseOffset, pid: -1, kind: opPlain})
		case x < 7 || !isOpen && x < 9:
			k := 1 + rng.IntN(3)
			res := mustAppend(t, l, txnBatch(t, pid, 0, m.seq[pid], k), 0)
			m.seq[pid] += int32(k)
			m.ops = append(m.ops, txnOp{base: res.BaseOffset, pid: pid, kind: opData})
		default:
			abort := rng.IntN(2) == 0
			res, err := l.AppendCoordinator(markerBatch(t, pid, 0, abort, 0), 0, testNow)
			if err != nil {
				t.Fatal(err)
			}
			kind := opCommit
			if abort {
				kind = opAbort
			}
			m.ops = append(m.ops, txnOp{base: res.BaseOffset, pid: pid, kind: kind})
		}
	}
}

// checkTxns compares the log's transaction index (memory and files) and
// its last stable offset with the model.
func checkTxns(t *testing.T, l *Log, m *txnModel) {
	t.Helper()
	var got []abortedTxn
	for _, s := range l.segs {
		for _, e := range s.txn.all() {
			if e.last < s.base || s != l.segs[len(l.segs)-1] && e.last >= l.nextBaseLocked(s) {
				t.Errorf("entry %+v in segment %d", e, s.base)
			}
		}
		got = append(got, s.txn.all()...)
		b, err := os.ReadFile(segmentPath(l.dir, s.base, txnIndexSuffix))
		if errors.Is(err, os.ErrNotExist) {
			b = nil
		} else if err != nil {
			t.Fatal(err)
		}
		onDisk, derr := decodeTxnEntries("x", s.base, b)
		if derr != nil || len(b)%txnEntrySize != 0 || !slices.Equal(onDisk, s.txn.all()) {
			t.Errorf("segment %d: file holds %+v (%v), memory %+v", s.base, onDisk, derr, s.txn.all())
		}
	}
	aborted, open := m.state()
	var want []abortedTxn
	for _, e := range aborted {
		if e.last >= l.segs[0].base {
			want = append(want, e)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("txn index entries\n got %+v\nwant %+v", got, want)
	}
	var wantAPI []AbortedTxn
	for _, e := range want {
		wantAPI = append(wantAPI, AbortedTxn{ProducerID: e.pid, FirstOffset: e.first})
	}
	if api := l.AbortedTransactions(0, math.MaxInt64); !slices.Equal(api, wantAPI) {
		t.Fatalf("AbortedTransactions: %+v, want %+v", api, wantAPI)
	}
	end := l.EndPosition()
	want0 := end
	first := int64(math.MaxInt64)
	for _, f := range open {
		first = min(first, f)
	}
	if first != math.MaxInt64 {
		p, ok := l.PositionOf(max(first, l.LogStartOffset()))
		if !ok {
			t.Fatalf("no position for first unstable offset %d", first)
		}
		want0 = p
	}
	if got := l.LastStable(end); got != want0 {
		t.Fatalf("LastStable(end) = %+v, want %+v (open %v)", got, want0, open)
	}
	if fu, ok := l.FirstUnstableOffset(); ok != (first != math.MaxInt64) || ok && fu != max(first, l.LogStartOffset()) {
		t.Fatalf("FirstUnstableOffset = %d %v, open %v", fu, ok, open)
	}
}

func TestTxnIndexAndLastStable(t *testing.T) {
	_, l := newTestLog(t, smallConfig())
	m := newTxnModel()
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 10; round++ {
		appendTxnWorkload(t, l, m, rng, 40)
		checkTxns(t, l, m)
	}
	if aborted, _ := m.state(); len(l.Segments()) < 5 || len(aborted) < 10 {
		t.Fatalf("workload too small: %d segments, %d aborted", len(l.Segments()), len(aborted))
	}
}

func TestAbortedTransactionsRange(t *testing.T) {
	_, l := newTestLog(t, Config{})
	mustAppend(t, l, txnBatch(t, 1, 0, 0, 2), 0)        // 0-1 pid 1
	mustAppend(t, l, txnBatch(t, 2, 0, 0, 2), 0)        // 2-3 pid 2
	mustAppend(t, l, markerBatch(t, 1, 0, true, 0), 0)  // 4 abort pid 1 (lso 2: pid 2 open)
	mustAppend(t, l, txnBatch(t, 2, 0, 2, 1), 0)        // 5
	mustAppend(t, l, markerBatch(t, 2, 0, true, 0), 0)  // 6 abort pid 2 (lso 7)
	mustAppend(t, l, markerBatch(t, 2, 0, true, 0), 0)  // 7 abort with nothing open: no entry
	mustAppend(t, l, txnBatch(t, 3, 0, 0, 1), 0)        // 8
	mustAppend(t, l, markerBatch(t, 3, 0, false, 0), 0) // 9 commit: no entry
	want := []abortedTxn{{1, 0, 4, 2}, {2, 2, 6, 7}}
	if got := l.segs[0].txn.all(); !slices.Equal(got, want) {
		t.Fatalf("entries %+v, want %+v", got, want)
	}
	b, _ := os.ReadFile(segmentPath(l.dir, 0, txnIndexSuffix))
	// version | producer id | first offset | marker offset | last stable offset
	wantBytes, _ := hex.DecodeString("0000" + "0000000000000001" + "0000000000000000" + "0000000000000004" + "0000000000000002" +
		"0000" + "0000000000000002" + "0000000000000002" + "0000000000000006" + "0000000000000007")
	if !bytes.Equal(b, wantBytes) {
		t.Fatalf(".txnindex\n% x\nwant\n% x", b, wantBytes)
	}
	for _, c := range []struct {
		from, upTo int64
		want       []AbortedTxn
	}{
		{0, 100, []AbortedTxn{{1, 0}, {2, 2}}},
		{5, 100, []AbortedTxn{{2, 2}}},
		{7, 100, nil},
		{0, 1, []AbortedTxn{{1, 0}}}, // stops at the first entry: its lso 2 >= 1
		{0, 2, []AbortedTxn{{1, 0}}},
		{0, 3, []AbortedTxn{{1, 0}, {2, 2}}},
	} {
		if got := l.AbortedTransactions(c.from, c.upTo); !slices.Equal(got, c.want) {
			t.Errorf("AbortedTransactions(%d, %d) = %+v, want %+v", c.from, c.upTo, got, c.want)
		}
	}
}

func TestLastStableFollowsHighWatermark(t *testing.T) {
	_, l := newTestLog(t, smallConfig())
	mustAppend(t, l, makeBatch(t, spec{valueSize: 100}), 0)  // 0
	a := mustAppend(t, l, txnBatch(t, 1, 0, 0, 1), 0)        // 1: pid 1 opens
	mustAppend(t, l, makeBatch(t, spec{valueSize: 100}), 0)  // 2
	b := mustAppend(t, l, txnBatch(t, 2, 0, 0, 1), 0)        // 3: pid 2 opens
	c := mustAppend(t, l, markerBatch(t, 1, 0, false, 0), 0) // 4: pid 1 commits
	posA, _ := l.PositionOf(a.BaseOffset)
	posB, _ := l.PositionOf(b.BaseOffset)
	if posA.FilePos == 0 || posB.FilePos <= posA.FilePos {
		t.Fatalf("positions %+v %+v", posA, posB)
	}
	hw1, _ := l.PositionOf(1)
	if got := l.LastStable(hw1); got != hw1 {
		t.Fatalf("LastStable at hw 1: %+v", got)
	}
	hw4, _ := l.PositionOf(c.BaseOffset)
	if got := l.LastStable(hw4); got != posA {
		t.Fatalf("LastStable below pid 1's marker: %+v, want %+v", got, posA)
	}
	// The marker is below the high watermark: pid 1's transaction is
	// stable and forgotten; pid 2's holds the last stable offset.
	if got := l.LastStable(l.EndPosition()); got != posB {
		t.Fatalf("LastStable past pid 1's marker: %+v, want %+v", got, posB)
	}
	if got := l.LastStable(hw4); got != posB {
		t.Fatalf("LastStable with an older hw after forgetting: %+v", got)
	}
	// Reads cut at the last stable offset stop before pid 2's batch.
	s, err := l.Read(0, 1<<20, true, l.LastStable(l.EndPosition()))
	if err != nil {
		t.Fatal(err)
	}
	if s.Pos+s.Size != posB.FilePos {
		t.Fatalf("read up to %d, want %d", s.Pos+s.Size, posB.FilePos)
	}
	s.Release()
	if open := l.OpenTransactions(); len(open) != 1 || open[0] != (OpenTransaction{ProducerID: 2, FirstOffset: 3}) {
		t.Fatalf("open transactions %+v", open)
	}
	mustAppend(t, l, markerBatch(t, 2, 0, true, 0), 0)
	end := l.EndPosition()
	if got := l.LastStable(end); got != end {
		t.Fatalf("LastStable after both ended: %+v", got)
	}
	if _, ok := l.FirstUnstableOffset(); ok {
		t.Fatal("a transaction is still unstable")
	}
}

// TestLastStableConcurrentWithAppend runs LastStable and reads against
// appends, for the race detector.
func TestLastStableConcurrentWithAppend(t *testing.T) {
	_, l := newTestLog(t, smallConfig())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			end := l.EndPosition()
			lso := l.LastStable(end)
			if lso.Offset > end.Offset {
				t.Errorf("lso %d past end %d", lso.Offset, end.Offset)
				return
			}
			l.AbortedTransactions(0, lso.Offset)
			l.FirstUnstableOffset()
		}
	}()
	m := newTxnModel()
	appendTxnWorkload(t, l, m, rand.New(rand.NewPCG(3, 4)), 200)
	<-done
}

// txnIndexFiles lists the bases of the segments with a .txnindex file,
// failing on one without its .log.
func txnIndexFiles(t *testing.T, l *Log) []int64 {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(l.dir, "*"+txnIndexSuffix))
	var out []int64
	for _, n := range names {
		base, ok := parseOffsetName(filepath.Base(n), txnIndexSuffix)
		if !ok {
			t.Fatalf("odd file %s", n)
		}
		if _, err := os.Stat(segmentPath(l.dir, base, logSuffix)); err != nil {
			t.Fatalf("%s without its segment", n)
		}
		out = append(out, base)
	}
	return out
}

// setRecoveryPoint rewrites the recovery point checkpoint of the closed
// log l.
func setRecoveryPoint(t *testing.T, l *Log, offset int64) {
	t.Helper()
	err := writeOffsetCheckpoint(filepath.Join(filepath.Dir(l.dir), recoveryPointFile), map[TopicPartition]int64{l.tp: offset})
	if err != nil {
		t.Fatal(err)
	}
}

func TestTxnIndexSurvivesRestart(t *testing.T) {
	lastWithEntries := func(l *Log) *segment {
		for i := len(l.segs) - 1; i >= 0; i-- {
			if l.segs[i].txn.len() > 0 {
				return l.segs[i]
			}
		}
		t.Fatal("no segment with txn index entries")
		return nil
	}
	for _, c := range []struct {
		name   string
		clean  bool
		reboot bool
		damage func(t *testing.T, l *Log) // the log is closed (its fields still readable)
	}{
		{name: "clean", clean: true},
		{name: "crash", clean: false},
		{name: "crash after reboot", reboot: true},
		{name: "clean, partial trailing entry", clean: true, damage: func(t *testing.T, l *Log) {
			appendBytes(t, lastWithEntries(l).txn.path, make([]byte, 20))
		}},
		{name: "clean, corrupt entry", clean: true, damage: func(t *testing.T, l *Log) {
			s := l.segs[0]
			for _, x := range l.segs {
				if x.txn.len() > 0 {
					s = x
					break
				}
			}
			flipByte(t, s.txn.path, 0) // version
		}},
		{name: "clean, marker offset outside the segment", clean: true, damage: func(t *testing.T, l *Log) {
			s := l.segs[0]
			for _, x := range l.segs[:len(l.segs)-1] {
				if x.txn.len() > 0 {
					s = x
					break
				}
			}
			flipByte(t, s.txn.path, 18) // high byte of the marker offset
		}},
		{name: "crash, entry lost", damage: func(t *testing.T, l *Log) {
			s := lastWithEntries(l)
			os.Truncate(s.txn.path, int64((s.txn.len()-1)*txnEntrySize))
			// A crash loses nothing below the recovery point: it
			// must be in this segment.
			setRecoveryPoint(t, l, s.base)
		}},
		{name: "crash, entry twice", damage: func(t *testing.T, l *Log) {
			s := lastWithEntries(l)
			b, _ := os.ReadFile(s.txn.path)
			appendBytes(t, s.txn.path, b[len(b)-txnEntrySize:])
			setRecoveryPoint(t, l, s.base)
		}},
		{name: "crash, file lost", damage: func(t *testing.T, l *Log) {
			s := lastWithEntries(l)
			os.Remove(s.txn.path)
			setRecoveryPoint(t, l, s.base)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := t.TempDir()
			d := openTestDir(t, path)
			l, err := d.CreateLog("t", 0, [16]byte{}, smallConfig())
			if err != nil {
				t.Fatal(err)
			}
			m := newTxnModel()
			rng := rand.New(rand.NewPCG(5, 6))
			appendTxnWorkload(t, l, m, rng, 300)
			checkTxns(t, l, m)
			if c.clean {
				d.Close()
			} else {
				// A crash after a flush and a checkpoint: recovery
				// starts at the active segment.
				l.Flush()
				l.rollFlushes.Wait()
				if err := d.Checkpoint(); err != nil {
					t.Fatal(err)
				}
				crash(d)
			}
			if c.damage != nil {
				c.damage(t, l)
			}
			if c.reboot {
				reboot(t, path)
			}
			d = openTestDir(t, path)
			defer d.Close()
			l, _ = d.Log("t", 0)
			checkTxns(t, l, m)
			txnIndexFiles(t, l)
			// Producers and transactions carry on.
			appendTxnWorkload(t, l, m, rng, 100)
			checkTxns(t, l, m)
		})
	}
}

func TestTxnIndexTruncationAndDeletion(t *testing.T) {
	_, l := newTestLog(t, smallConfig())
	m := newTxnModel()
	rng := rand.New(rand.NewPCG(7, 8))
	appendTxnWorkload(t, l, m, rng, 400)
	checkTxns(t, l, m)
	for round := 0; round < 6; round++ {
		// Truncate somewhere in the last third, at a batch boundary.
		ops := m.ops[len(m.ops)*2/3:]
		to := ops[rng.IntN(len(ops))].base
		if err := l.TruncateTo(to); err != nil {
			t.Fatal(err)
		}
		m.truncate(l, to)
		checkTxns(t, l, m)
		appendTxnWorkload(t, l, m, rng, 60)
		checkTxns(t, l, m)
	}
	// Delete the oldest segments, past the first offset of an open
	// transaction if there is one: it stays open, held at the log start.
	_, open := m.state()
	segs := l.Segments()
	cut := segs[len(segs)/2].BaseOffset
	for _, f := range open {
		for _, s := range segs[1:] {
			if s.BaseOffset > f && s.BaseOffset < segs[len(segs)-1].BaseOffset {
				cut = s.BaseOffset
				break
			}
		}
	}
	if err := l.DeleteRecordsBefore(cut); err != nil {
		t.Fatal(err)
	}
	checkTxns(t, l, m)
	for _, b := range txnIndexFiles(t, l) {
		if b < l.LogStartOffset() {
			t.Fatalf("txn index of deleted segment %d left", b)
		}
	}
	if err := l.TruncateFullyAndStartAt(l.LogEndOffset() + 10); err != nil {
		t.Fatal(err)
	}
	if files := txnIndexFiles(t, l); len(files) != 0 {
		t.Fatalf("txn indexes left after TruncateFullyAndStartAt: %v", files)
	}
	if got := l.AbortedTransactions(0, math.MaxInt64); len(got) != 0 {
		t.Fatalf("aborted transactions after TruncateFullyAndStartAt: %+v", got)
	}
}

// TestOpenTransactionBelowLogStart checks Kafka's behaviour: a transaction
// whose first batch was deleted stays open until its marker, holding the
// last stable offset at the log start.
func TestOpenTransactionBelowLogStart(t *testing.T) {
	_, l := newTestLog(t, smallConfig())
	mustAppend(t, l, txnBatch(t, 1, 0, 0, 1), 0)
	for l.Segments()[len(l.Segments())-1].BaseOffset == 0 || len(l.Segments()) < 3 {
		mustAppend(t, l, makeBatch(t, spec{valueSize: 200}), 0)
	}
	start := l.Segments()[1].BaseOffset
	if err := l.DeleteRecordsBefore(start); err != nil {
		t.Fatal(err)
	}
	want, _ := l.PositionOf(start)
	if got := l.LastStable(l.EndPosition()); got != want {
		t.Fatalf("LastStable %+v, want the log start %+v", got, want)
	}
	// Mid-segment too: the Position of the batch holding the log start.
	if err := l.DeleteRecordsBefore(start + 2); err != nil {
		t.Fatal(err)
	}
	want, _ = l.PositionOf(start + 2)
	if got := l.LastStable(l.EndPosition()); got != want {
		t.Fatalf("LastStable %+v, want %+v", got, want)
	}
	mustAppend(t, l, markerBatch(t, 1, 0, true, 0), 0)
	if got := l.AbortedTransactions(start, math.MaxInt64); len(got) != 1 || got[0] != (AbortedTxn{ProducerID: 1, FirstOffset: 0}) {
		t.Fatalf("aborted: %+v", got)
	}
	if got, end := l.LastStable(l.EndPosition()), l.EndPosition(); got != end {
		t.Fatalf("LastStable %+v after the marker, want %+v", got, end)
	}
}

func TestSnapshotKeepsTransactionFields(t *testing.T) {
	p := newProducerState()
	p.update(&recordHeader{ProducerID: 5, ProducerEpoch: 1, BaseSequence: 0, BaseOffset: 10, Attributes: record.TransactionalBit}, txnMarker{})
	p.update(&recordHeader{ProducerID: 5, ProducerEpoch: 1, BaseSequence: -1, BaseOffset: 11, Attributes: record.ControlBit | record.TransactionalBit},
		txnMarker{valid: true, coordinatorEpoch: 12})
	p.update(&recordHeader{ProducerID: 5, ProducerEpoch: 1, BaseSequence: 1, BaseOffset: 12, Attributes: record.TransactionalBit}, txnMarker{})
	p.update(&recordHeader{ProducerID: 6, ProducerEpoch: 0, BaseSequence: -1, BaseOffset: 13, Attributes: record.TransactionalBit}, txnMarker{})
	m, err := decodeSnapshot("x", encodeSnapshot(p.sortedEntries()))
	if err != nil {
		t.Fatal(err)
	}
	if e := m[5]; e.coordinatorEpoch != 12 || e.txnFirstOffset != 12 || e.n != 2 || e.lastSeq() != 1 {
		t.Fatalf("producer 5: %+v", e)
	}
	// A coordinator-only producer: no sequence, an open transaction.
	if e := m[6]; e.coordinatorEpoch != -1 || e.txnFirstOffset != 13 || e.n != 0 || e.epoch != 0 {
		t.Fatalf("producer 6: %+v", e)
	}
}
