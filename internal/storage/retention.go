package storage

import (
	"errors"
	"fmt"
	"math"
	"os"
	"time"
)

// DeleteRecordsBefore implements the DeleteRecords API: it raises the log
// start offset to offset and deletes every segment that lies entirely below
// it (never the active one). The new log start is durable once the Dir
// writes its log-start-offset-checkpoint, so the broker calls
// Dir.Checkpoint before answering. Bounds against the high watermark are
// the caller's; here offset may not pass the log end.
func (l *Log) DeleteRecordsBefore(offset int64) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writableLocked(); err != nil {
		return err
	}
	if offset > l.leo || offset < 0 {
		return fmt.Errorf("%w: delete before %d, log end is %d", ErrOffsetOutOfRange, offset, l.leo)
	}
	if offset <= l.logStart {
		return nil
	}
	k := 0
	for k+1 < len(l.segs) && l.segs[k+1].base <= offset {
		k++
	}
	err := l.deleteOldestLocked(k, offset, time.Now())
	if k > 0 {
		l.logger.Info("deleted segments below log start", "partition", l.tp, "log_start", offset, "segments", k)
	}
	return err
}

// DeleteRetained applies retention.ms and retention.bytes (when
// Config.CleanupDelete is set) as Kafka's UnifiedLog.deleteOldSegments
// does: oldest first, it deletes every non-active segment whose largest
// timestamp (the file's modification time if it has none) is more than
// RetentionTime before now, then more while the log stays larger than
// RetentionBytes without them. Only segments entirely below limit (the
// high watermark offset) are eligible. The active segment is eligible too
// once all of it is below the limit: when it expires, the log rolls a new
// empty segment at the log end first, so a topic nobody writes to any more
// still empties (Kafka does the same). The log start offset moves to the
// first remaining segment; it is durable once the Dir writes its checkpoint.
func (l *Log) DeleteRetained(now time.Time, limit int64) (deleted int, err error) {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writableLocked(); err != nil {
		return 0, err
	}
	if !l.cfg.CleanupDelete {
		return 0, nil
	}
	n := retainedCount(l.segs, l.cfg, now, limit, l.leo)
	if n == 0 {
		return 0, nil
	}
	if n == len(l.segs) {
		if err := l.roll(now, l.leo); err != nil {
			return 0, l.fail(err)
		}
	}
	start := max(l.logStart, l.segs[n].base)
	if err := l.deleteOldestLocked(n, start, now); err != nil {
		return n, err
	}
	l.logger.Info("deleted segments by retention", "partition", l.tp, "segments", n, "log_start", start)
	return n, nil
}

// retainedCount is how many of the oldest segments retention deletes. Time
// and size rules each select a prefix; deleting by time and then by size,
// as Kafka does, deletes the longer of the two.
func retainedCount(segs []*segment, cfg Config, now time.Time, limit, leo int64) int {
	eligible := 0 // never data at or above limit
	for eligible+1 < len(segs) && segs[eligible+1].base <= limit {
		eligible++
	}
	if eligible == len(segs)-1 && limit >= leo && segs[eligible].size.Load() > 0 {
		eligible++ // the active segment, all of it below the limit
	}
	byTime := 0
	if cfg.RetentionTime >= 0 {
		cutoff := now.Add(-cfg.RetentionTime).UnixMilli()
		for byTime < eligible && segs[byTime].largestTimestamp() < cutoff {
			byTime++
		}
	}
	bySize := 0
	if cfg.RetentionBytes >= 0 {
		var total int64
		for _, s := range segs {
			total += s.size.Load()
		}
		diff := total - cfg.RetentionBytes
		for bySize < eligible && diff-segs[bySize].size.Load() >= 0 {
			diff -= segs[bySize].size.Load()
			bySize++
		}
	}
	return max(byTime, bySize)
}

// largestTimestamp is Kafka's LogSegment.largestTimestamp: the largest
// record timestamp, or the file's modification time when no batch has one.
func (s *segment) largestTimestamp() int64 {
	if ts, _ := s.maxTimestamp(); ts >= 0 {
		return ts
	}
	st, err := os.Stat(s.path)
	if err != nil {
		return math.MaxInt64 // keep what we cannot date
	}
	return st.ModTime().UnixMilli()
}

// deleteOldestLocked drops the n oldest segments (never the active one),
// raises the log start offset to start, trims the leader epoch cache and
// the producer snapshots, and deletes the dropped files asynchronously.
// flushMu and mu must be held.
func (l *Log) deleteOldestLocked(n int, start int64, now time.Time) error {
	doomed := l.segs[:n]
	l.stateMu.Lock()
	l.logStart = max(l.logStart, start)
	l.segs = l.segs[n:]
	l.stateMu.Unlock()
	var errs []error
	if l.epochs.truncateFromStart(l.logStart) {
		// Short of descriptors the file keeps its older entries, which
		// the next persist or open trims: that fails only this call.
		if err := l.epochs.persist(); err != nil {
			errs = append(errs, l.failUnlessOpen(err))
		}
	}
	for _, s := range doomed {
		errs = append(errs, l.deleteSegmentLocked(s, now))
	}
	first := l.segs[0].base
	errs = append(errs, deleteSnapshots(l.dir, func(off int64) bool { return off < first }))
	if l.snapAt.Load() < first {
		l.snapAt.Store(-1)
	}
	// An open transaction whose first batch went stays open until its
	// marker (as in Kafka); it holds the last stable offset at the log
	// start.
	l.relocateTxns(0, 0)
	l.dirDirty.Store(true)
	return errors.Join(errs...)
}

// pendingDelete is a segment renamed to .deleted, to be unlinked at due.
type pendingDelete struct {
	paths []string
	due   time.Time
}

// deleteSegmentLocked renames a segment that has left the segment list to
// .deleted and drops the Log's reference on it (readers holding a Slice
// keep reading). The files are unlinked by RemoveDeleted once
// FileDeleteDelay has passed, or now when it is zero. mu must be held.
func (l *Log) deleteSegmentLocked(s *segment, now time.Time) error {
	paths, err := s.renameDeleted()
	if l.cfg.FileDeleteDelay <= 0 {
		return errors.Join(err, removeFiles(paths))
	}
	l.pending = append(l.pending, pendingDelete{paths: paths, due: now.Add(l.cfg.FileDeleteDelay)})
	return err
}

// RemoveDeleted unlinks the .deleted files whose file.delete.delay.ms has
// passed. The background retention loop calls it.
func (l *Log) RemoveDeleted(now time.Time) error {
	l.mu.Lock()
	var due []pendingDelete
	kept := l.pending[:0]
	for _, p := range l.pending {
		if now.Before(p.due) {
			kept = append(kept, p)
		} else {
			due = append(due, p)
		}
	}
	clear(l.pending[len(kept):])
	l.pending = kept
	l.mu.Unlock()
	var errs []error
	for _, p := range due {
		errs = append(errs, removeFiles(p.paths))
	}
	if len(due) > 0 {
		l.dirDirty.Store(true)
	}
	return errors.Join(errs...)
}

func removeFiles(paths []string) error {
	var errs []error
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("storage: %w", err))
		}
	}
	return errors.Join(errs...)
}

// TruncateTo removes every batch whose last offset is >= offset, as a
// follower does after OffsetForLeaderEpoch shows its log diverged. A batch
// that straddles offset is removed whole, so the new log end may be below
// offset. Slices handed out earlier for the removed range may read bytes
// written later; readers bounded by the high watermark never see them,
// since only unreplicated data is truncated. At the log end it cuts
// nothing but the epochs that start there (a term with no record).
func (l *Log) TruncateTo(offset int64) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writableLocked(); err != nil {
		return err
	}
	if offset == l.leo {
		// Nothing to cut from the log, but an epoch it holds no record of
		// may start here (a leader's term that wrote nothing): it goes, as
		// it would with a cut, so that a follower truncating by epochs
		// (KIP-279) asks about an earlier one next instead of the same
		// one forever.
		if l.epochs.truncateFromEnd(offset) {
			if err := l.epochs.persist(); err != nil {
				return l.fail(err)
			}
		}
		return nil
	}
	if offset > l.leo {
		return nil
	}
	if offset < l.logStart {
		return fmt.Errorf("%w: truncate to %d below log start %d", ErrOffsetOutOfRange, offset, l.logStart)
	}
	// The segment cut is kept open throughout: short of descriptors, the
	// truncation fails before it changes anything.
	seg := l.segs[0]
	for _, s := range l.segs[1:] {
		if s.base <= offset {
			seg = s
		}
	}
	if _, err := seg.file.acquire(); err != nil {
		return fmt.Errorf("storage: truncate %s: %w", seg.path, err)
	}
	defer seg.file.release()
	if err := l.truncateLocked(offset); err != nil {
		return l.fail(err)
	}
	l.logger.Info("truncated log", "partition", l.tp, "offset", offset, "log_end", l.leo)
	return nil
}

func (l *Log) truncateLocked(offset int64) error {
	k := 0
	for k+1 < len(l.segs) && l.segs[k+1].base <= offset {
		k++
	}
	seg, doomed := l.segs[k], l.segs[k+1:]
	size := seg.size.Load()
	pos, _, found, err := seg.find(offset, size)
	if err != nil {
		return err
	}
	if !found {
		pos = size
	}
	if pos < size {
		if err := seg.truncate(pos); err != nil {
			return err
		}
	}
	seg.dropKeys() // active again: later appends would not be in it
	next, err := seg.rebuildIndexes(pos, l.cfg.IndexIntervalBytes)
	if err != nil {
		return err
	}
	l.leo = max(next, seg.base)
	l.stateMu.Lock()
	l.segs = l.segs[: k+1 : k+1]
	l.end = Position{Offset: l.leo, SegmentBase: seg.base, FilePos: pos}
	l.stateMu.Unlock()
	for _, s := range doomed {
		if err := s.remove(); err != nil {
			return err
		}
	}
	l.dirDirty.Store(true)
	if l.epochs.truncateFromEnd(l.leo) {
		if err := l.epochs.persist(); err != nil {
			return err
		}
	}
	if l.recoveryPoint.Load() > l.leo {
		l.recoveryPoint.Store(l.leo)
	}
	if l.cleanerOffset.Load() > l.leo {
		l.cleanerOffset.Store(l.leo)
	}
	// Markers at or past the new end are gone: so are their txn index
	// entries. The reload rebuilds the transaction list from the newest
	// snapshot at or below the end, and keeps the transactions that ended
	// before it and may not be stable yet.
	if err := seg.txn.truncateFrom(l.leo); err != nil {
		return err
	}
	l.txnMu.Lock()
	before := l.txns
	l.txnMu.Unlock()
	if err := l.loadProducerState(l.leo); err != nil {
		return err
	}
	l.mergeEndedTxns(before)
	return nil
}

func (l *Log) writableLocked() error {
	if l.closed {
		return ErrClosed
	}
	if l.failed != nil {
		return fmt.Errorf("%w: %w", ErrLogFailed, l.failed)
	}
	return nil
}

// TruncateFullyAndStartAt empties the log and starts it again, empty, at
// offset: its log start and log end become offset. A follower does this
// when its leader's log starts beyond the follower's end (retention or
// DeleteRecords removed what the follower would copy first), as Kafka's
// truncateFullyAndStartAt does. The new log start is durable once the Dir
// writes its checkpoint.
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writableLocked(); err != nil {
		return err
	}
	if offset < 0 {
		return fmt.Errorf("%w: start at %d", ErrOffsetOutOfRange, offset)
	}
	if l.leo > l.logStart {
		if err := l.truncateLocked(l.logStart); err != nil {
			return l.fail(err)
		}
	}
	now := time.Now()
	if offset != l.active().base {
		if err := l.roll(now, offset); err != nil {
			return l.fail(err)
		}
	}
	l.stateMu.Lock()
	l.leo = offset
	l.end = Position{Offset: offset, SegmentBase: offset}
	l.stateMu.Unlock()
	if err := l.deleteOldestLocked(len(l.segs)-1, offset, now); err != nil {
		return err
	}
	l.stateMu.Lock()
	l.logStart = offset // also below a former log start
	l.stateMu.Unlock()
	if l.epochs.truncateFromStart(offset) {
		if err := l.epochs.persist(); err != nil {
			return l.fail(err)
		}
	}
	l.recoveryPoint.Store(offset)
	l.cleanerOffset.Store(offset)
	l.logger.Info("log emptied to start at the leader's log start", "partition", l.tp, "offset", offset)
	return l.loadProducerState(l.leo)
}
