package storage

import (
	"encoding/binary"
	"errors"
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
