package storage

import (
	"errors"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// failNext installs a FaultHook that fails the next n operations op on a
// file whose path contains match (and under dir, so tests running beside
// this one are not hit) with errno; it returns a counter of the faults
// injected. The hook is removed when the test ends.
func failNext(t *testing.T, dir string, op FileOp, match string, n int32, errno error) *atomic.Int32 {
	t.Helper()
	var hit, left atomic.Int32
	left.Store(n)
	restore := SetFaultHook(func(o FileOp, path string) error {
		if o != op || !strings.HasPrefix(path, dir) || !strings.Contains(path, match) {
			return nil
		}
		if left.Add(-1) < 0 {
			return nil
		}
		hit.Add(1)
		return errno
	})
	t.Cleanup(restore)
	return &hit
}

// TestInjectedFaults: a write or fsync of any of a log's files that fails
// with an I/O error (EIO, EROFS) fails the Log (fail-stop): the operation
// returns ErrLogFailed, later appends and flushes are refused, the
// recovery point does not move past what was fsynced, and after a restart
// every acknowledged batch is read back and the log takes appends. ENOSPC
// on a segment write fails that append alone.
func TestInjectedFaults(t *testing.T) {
	cases := []struct {
		name  string
		op    FileOp
		match string // part of the path the fault hits
		errno error
		// do runs the operation that meets the fault (after 20 batches).
		do       func(t *testing.T, l *Log) error
		failsLog bool
	}{
		{"segment write EIO", OpWrite, ".log", syscall.EIO, appendOne, true},
		{"segment write EROFS", OpWrite, ".log", syscall.EROFS, appendOne, true},
		{"segment write ENOSPC", OpWrite, ".log", syscall.ENOSPC, appendOne, false},
		{"segment fsync EIO", OpSync, ".log", syscall.EIO, flush, true},
		{"offset index write EIO", OpWrite, ".index", syscall.EIO, flush, true},
		{"time index fsync EIO", OpSync, ".timeindex", syscall.EIO, rollAndFlush, true},
		{"directory fsync EIO", OpSync, "topic-0", syscall.EIO, rollAndFlush, true},
		{"producer snapshot write EIO (roll)", OpWrite, ".snapshot", syscall.EIO, rollAndFlush, true},
		{"leader epoch checkpoint write EIO", OpWrite, leaderEpochFile, syscall.EIO, newEpochAndFlush, true},
		{"txn index write EIO", OpWrite, txnIndexSuffix, syscall.EIO, abortAndFlush, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := t.TempDir()
			cfg := smallConfig()
			d, l := createTestLog(t, path, cfg)
			fillLog(t, l, 0, 20)
			if _, err := l.Flush(); err != nil {
				t.Fatal(err)
			}
			acked := l.LogEndOffset()
			hit := failNext(t, path, c.op, c.match, 1, c.errno)
			err := c.do(t, l)
			if hit.Load() != 1 {
				t.Fatalf("the fault was never met (err %v)", err)
			}
			if err == nil {
				t.Fatal("the operation that met the fault succeeded")
			}
			if !c.failsLog {
				if !errors.Is(err, ErrNoSpace) || l.Failed() != nil {
					t.Fatalf("ENOSPC: err %v, log failed: %v", err, l.Failed())
				}
				acked = mustAppend(t, l, makeBatch(t, spec{records: 2}), 1).LastOffset + 1
				d.Close()
			} else {
				if !errors.Is(err, ErrLogFailed) || !errors.Is(err, c.errno) || l.Failed() == nil {
					t.Fatalf("err %v (failed: %v), want ErrLogFailed wrapping %v", err, l.Failed(), c.errno)
				}
				if _, err := l.Append(makeBatch(t, spec{}), 1, testNow); !errors.Is(err, ErrLogFailed) {
					t.Fatalf("append after the failure: %v", err)
				}
				if _, err := l.Flush(); !errors.Is(err, ErrLogFailed) {
					t.Fatalf("flush after the failure: %v", err)
				}
				// Every append that returned success is acknowledged.
				acked = l.LogEndOffset()
				if l.RecoveryPoint() > acked {
					t.Fatalf("recovery point %d moved past what was acknowledged (%d)", l.RecoveryPoint(), acked)
				}
				// A failed log writes no snapshot and no clean marker:
				// the restart recovers it.
				d.Close()
				if _, err := l.Append(makeBatch(t, spec{}), 1, testNow); err == nil {
					t.Fatal("append after close")
				}
			}
			reboot(t, path)
			d, err = OpenDir(path, cfg, testLogger(t))
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer d.Close()
			l, _ = d.Log("topic", 0)
			hs, _ := readAll(t, l, 0)
			if len(hs) == 0 || hs[len(hs)-1].LastOffset()+1 < acked {
				t.Fatalf("after the restart the log ends at %d, %d were acknowledged", l.LogEndOffset(), acked)
			}
			for i := 0; i < 20; i++ {
				if hs[i].BaseOffset != int64(2*i) || hs[i].BaseSequence != int32(2*i) {
					t.Fatalf("batch %d: offset %d sequence %d", i, hs[i].BaseOffset, hs[i].BaseSequence)
				}
			}
			// The producer's state came back too: its next sequence is taken.
			next := int32(0)
			for _, h := range hs {
				if h.ProducerID == 42 {
					next = h.BaseSequence + h.LastOffsetDelta + 1
				}
			}
			if _, err := l.Append(makeBatch(t, spec{records: 2, producer: true, pid: 42, seq: next}), 2, testNow); err != nil {
				t.Fatalf("append after the restart: %v", err)
			}
		})
	}
}

func appendOne(t *testing.T, l *Log) error {
	_, err := l.Append(makeBatch(t, spec{records: 2, valueSize: 90, producer: true, pid: 42, seq: 40}), 1, testNow)
	return err
}

func flush(t *testing.T, l *Log) error {
	if err := appendOne(t, l); err != nil {
		t.Fatal(err)
	}
	_, err := l.Flush()
	return err
}

// rollAndFlush appends until the log rolls (which writes a producer
// snapshot and creates files), then flushes (which fsyncs the directory).
func rollAndFlush(t *testing.T, l *Log) error {
	n := len(l.Segments())
	for seq := int32(40); len(l.Segments()) == n; seq += 2 {
		if _, err := l.Append(makeBatch(t, spec{records: 2, valueSize: 90, ts: 1000 + int64(seq), producer: true, pid: 42, seq: seq}), 1, testNow); err != nil {
			return err
		}
	}
	_, err := l.Flush()
	return err
}

// newEpochAndFlush appends a batch of a new leader epoch, which leaves the
// checkpoint to the next flush, and flushes.
func newEpochAndFlush(t *testing.T, l *Log) error {
	if _, err := l.Append(makeBatch(t, spec{records: 2, valueSize: 90, producer: true, pid: 42, seq: 40}), 7, testNow); err != nil {
		t.Fatal(err)
	}
	_, err := l.Flush()
	return err
}

func abortAndFlush(t *testing.T, l *Log) error {
	mustAppend(t, l, txnBatch(t, 77, 0, 0, 2), 1)
	if _, err := l.Append(markerBatch(t, 77, 0, true, 0), 1, testNow); err != nil {
		return err
	}
	_, err := l.Flush()
	return err
}
