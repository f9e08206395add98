package storage

import (
	"errors"
	"fmt"
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
	doomed := l.segs[:k]
	l.stateMu.Lock()
	l.logStart = offset
	l.segs = l.segs[k:]
	l.stateMu.Unlock()
	if l.epochs.truncateFromStart(offset) {
		if err := l.epochs.persist(); err != nil {
			return l.fail(err)
		}
	}
	var errs []error
	for _, s := range doomed {
		errs = append(errs, s.remove())
	}
	first := l.segs[0].base
	errs = append(errs, deleteSnapshots(l.dir, func(off int64) bool { return off < first }))
	l.dirDirty.Store(true)
	if len(doomed) > 0 {
		l.logger.Info("deleted segments below log start", "partition", l.tp, "log_start", offset, "segments", len(doomed))
	}
	return errors.Join(errs...)
}

// TruncateTo removes every batch whose last offset is >= offset, as a
// follower does after OffsetForLeaderEpoch shows its log diverged. A batch
// that straddles offset is removed whole, so the new log end may be below
// offset. Slices handed out earlier for the removed range may read bytes
// written later; readers bounded by the high watermark never see them,
// since only unreplicated data is truncated.
func (l *Log) TruncateTo(offset int64) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writableLocked(); err != nil {
		return err
	}
	if offset >= l.leo {
		return nil
	}
	if offset < l.logStart {
		return fmt.Errorf("%w: truncate to %d below log start %d", ErrOffsetOutOfRange, offset, l.logStart)
	}
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
	return l.loadProducerState()
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
