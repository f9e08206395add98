package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/samsa-streaming/samsa/internal/record"
)

// logState is what the Dir knows about a log before opening it.
type logState struct {
	recoveryPoint int64 // -1 when unknown: every segment is recovered
	logStart      int64 // -1 when unknown
	cleanerOffset int64 // first dirty offset from cleaner-offset-checkpoint, -1 when unknown
	clean         bool  // the log dir had a clean-shutdown marker
	// sameBoot: the shutdown was unclean but the OS has not restarted
	// since the logs were written, so batches need no CRC check (boot.go).
	sameBoot bool
}

// openLog opens a partition directory and brings it to a consistent state.
// After a clean shutdown it trusts the files and only checks the tail of
// the last segment against its index. Otherwise every segment from the one
// holding the recovery point onwards is validated batch by batch (CRC
// included, unless the OS has not restarted since: see boot.go): the log is
// cut at the first torn or corrupt batch, later
// segments are deleted, indexes are rebuilt and the leader epoch cache is
// completed from batch headers. Producer state is then loaded from the
// newest usable snapshot and brought up to the log end by replaying headers.
func openLog(dir string, tp TopicPartition, cfg Config, st logState, logger *slog.Logger) (*Log, error) {
	l := &Log{dir: dir, tp: tp, cfg: cfg.withDefaults(), logger: logger, producers: newProducerState(), skipCRC: st.sameBoot, recoverFrom: math.MaxInt64}
	l.snapAt.Store(-1)
	// Files are read relative to the partition's directory: the path is
	// walked once, not once per file (path lookups were a fifth of the
	// CPU time of opening 100,000 logs).
	root, err := openPartDir(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", dir, err)
	}
	defer root.close()
	id, err := readPartitionMetadata(root)
	if errors.Is(err, ErrCorrupt) {
		// The topic id is only a check against the cluster metadata: the
		// log opens without it (zero) and the partition layer writes the
		// file again from the metadata (Manager).
		if qerr := quarantine(logger, tp, l.partitionMetadataPath(), err); qerr != nil {
			return nil, qerr
		}
		id = [16]byte{}
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	l.topicID = id
	l.cleanerOffset.Store(st.cleanerOffset)
	names, err := root.names()
	if err != nil {
		return nil, err
	}
	if swapped, err := completeSwaps(dir, names); err != nil {
		return nil, err
	} else if swapped {
		if names, err = root.names(); err != nil {
			return nil, err
		}
	}
	if names, err = removeStrayFiles(dir, names); err != nil {
		return nil, err
	}
	l.epochs, err = loadEpochCache(dir, names.has(leaderEpochFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		// Rebuild the cache from every batch header (the segments below
		// the recovery point are walked, not validated: they are not
		// damaged by this). It is written at the end of the open.
		logger.Warn("leader epoch checkpoint unreadable, rebuilding it from the batch headers", "partition", tp, "err", err)
		if qerr := quarantine(logger, tp, l.epochs.path, err); qerr != nil {
			return nil, qerr
		}
		l.epochs.entries = nil
		l.rebuildEpochs = true
	}
	epochsBefore := l.epochs.snapshot()
	if err := l.loadSegments(st, root, names, time.Now()); err != nil {
		for _, s := range l.segs {
			s.close()
		}
		return nil, err
	}
	if err := l.finishOpen(st, epochsBefore, root, names.offsets(snapshotSuffix)); err != nil {
		l.Close()
		return nil, err
	}
	l.skipCRC, l.rebuildEpochs = false, false
	l.applyCompacted()
	return l, nil
}

func (l *Log) finishOpen(st logState, epochsBefore []EpochEntry, root *partDir, snapshots []int64) error {
	active := l.active()
	l.leo = max(l.leo, active.base)
	// The leader epoch cache is moved up with every log start move and
	// written before it returns (deleteOldestLocked), so its first entry
	// never starts below the log start: a checkpointed log start above it
	// is a damaged checkpoint, which would hide records. It is ignored.
	if es := l.epochs.snapshot(); len(es) > 0 && st.logStart > l.segs[0].base && st.logStart > es[0].StartOffset {
		l.logger.Warn("log-start-offset-checkpoint is above the leader epoch cache's first offset; ignoring it",
			"partition", l.tp, "file", logStartFile, "log_start", st.logStart, "first_epoch_offset", es[0].StartOffset)
		st.logStart = -1
	}
	if !st.clean && st.recoveryPoint > l.leo {
		l.logger.Warn("recovery-point-offset-checkpoint is past the log end", "partition", l.tp, "file", recoveryPointFile,
			"recovery_point", st.recoveryPoint, "log_end", l.leo)
		st.recoveryPoint = l.leo
	}
	l.logStart = min(max(st.logStart, l.segs[0].base), l.leo)
	l.end = Position{Offset: l.leo, SegmentBase: active.base, FilePos: active.size.Load()}
	l.epochs.truncateFromEnd(l.leo)
	l.epochs.truncateFromStart(l.logStart)
	if !slices.Equal(epochsBefore, l.epochs.snapshot()) {
		if err := l.epochs.persist(); err != nil {
			return err
		}
	}
	if err := l.loadProducerStateFrom(min(l.leo, l.recoverFrom), root, snapshots); err != nil {
		return err
	}
	if st.clean {
		l.recoveryPoint.Store(l.leo)
	} else {
		l.recoveryPoint.Store(max(st.recoveryPoint, 0))
		if !l.dirDirty.Load() {
			// Recovery found the log whole and changed nothing but
			// indexes: it stays to be recovered from the same point
			// after another crash (as Kafka leaves it) rather than
			// waiting here for the writeback of everything written
			// since the last flush. The next flush moves the point.
			return nil
		}
	}
	// Recovered segments and rebuilt indexes are made durable before the
	// recovery point moves to the log end.
	_, err := l.Flush()
	return err
}

// loadSegments opens every segment in names, checks or recovers them and
// sets leo.
func (l *Log) loadSegments(st logState, root *partDir, names dirNames, now time.Time) error {
	bases := names.offsets(logSuffix)
	if len(bases) == 0 {
		seg, err := createSegment(l.dir, max(st.logStart, 0), l.cfg, now)
		if err != nil {
			return err
		}
		l.startKeys(seg)
		l.segs, l.leo = []*segment{seg}, seg.base
		l.dirDirty.Store(true)
		return nil
	}
	oks := make([]bool, 0, len(bases))
	for _, b := range bases {
		s, ok, err := openSegment(l.dir, root, b, l.cfg, names.has(segmentName(b, txnIndexSuffix)), now)
		if err != nil {
			return err
		}
		l.segs, oks = append(l.segs, s), append(oks, ok)
	}
	recoverFrom := len(l.segs)
	if !st.clean {
		recoverFrom = 0
		if st.recoveryPoint >= 0 {
			recoverFrom = max(0, sort.Search(len(l.segs), func(i int) bool { return l.segs[i].base > st.recoveryPoint })-1)
		}
	}
	for i := 0; i < recoverFrom; i++ {
		next, err := l.loadTrusted(i, oks[i])
		if errors.Is(err, ErrCorrupt) {
			l.logger.Warn("segment failed its sanity check, recovering it", "partition", l.tp, "err", err)
			recoverFrom = i
			break
		}
		if err != nil {
			return err
		}
		if l.rebuildEpochs {
			seg := l.segs[i]
			if err := seg.walk(0, seg.size.Load(), func(_ int64, h record.Header) bool {
				l.epochs.assign(h.PartitionLeaderEpoch, h.BaseOffset)
				return false
			}); err != nil && !errors.Is(err, ErrCorrupt) {
				return err
			}
		}
		l.leo = next
	}
	if recoverFrom < len(l.segs) {
		l.recoverFrom = l.segs[recoverFrom].base
		return l.recoverSegments(recoverFrom)
	}
	return nil
}

// loadTrusted prepares a segment whose data is trusted (before the recovery
// point, or any segment after a clean shutdown). Indexes that fail the cheap
// shape checks are rebuilt from headers. For the last segment the headers
// after the last index entry are walked: they must end exactly at the file
// end, which also yields the log end offset. It returns the offset after the
// segment's last batch as far as it knows (exact for the last segment).
func (l *Log) loadTrusted(i int, indexesOK bool) (int64, error) {
	seg := l.segs[i]
	size := seg.size.Load()
	if size > math.MaxInt32 {
		return 0, corruptf(seg.path, math.MaxInt32, "segment of %d bytes exceeds 2 GiB", size)
	}
	limit := int64(math.MaxInt64)
	if i+1 < len(l.segs) {
		limit = l.segs[i+1].base - 1
	}
	// Indexes that describe batches the file no longer has: the segment
	// was cut short (what is left is checked below).
	if _, p, ok := seg.idx.last(); (ok && p >= size) || (size == 0 && !seg.tidx.empty()) {
		l.logger.Warn("segment is shorter than its indexes say: data below the recovery point is missing",
			"partition", l.tp, "segment", seg.path, "size", size)
	}
	// An empty offset index for a segment larger than the index interval
	// may be a lost file: the rebuild tells (it finds entries).
	missing := false
	if !indexesOK {
		l.logger.Warn("index file of the wrong size, rebuilding it from the segment", "partition", l.tp, "segment", seg.path)
	} else if err := errors.Join(seg.idx.check(size), seg.tidx.check(limit)); err != nil {
		l.logger.Warn("index failed its checks, rebuilding it from the segment", "partition", l.tp, "err", err)
		indexesOK = false
	} else if seg.idx.empty() && size > int64(l.cfg.IndexIntervalBytes) {
		indexesOK, missing = false, true
	}
	defer func() {
		if missing && !seg.idx.empty() {
			l.logger.Warn("offset index was empty or missing; rebuilt from the segment", "partition", l.tp, "index", seg.idx.path)
		}
	}()
	// A txn index that cannot be right is rebuilt by recovering the
	// segment: the producer replay from a snapshot at or below it writes
	// the entries again.
	next := int64(math.MaxInt64)
	if i+1 < len(l.segs) {
		next = l.segs[i+1].base
	}
	if err := seg.txn.check(next); err != nil {
		return 0, err
	}
	if i+1 < len(l.segs) {
		ts, off, ok := seg.tidx.last()
		if indexesOK && (ok || size == 0) {
			if ok {
				seg.maxTS, seg.maxTSOffset = ts, off
			}
			err := l.checkTrustedTail(seg, size, limit)
			if err == nil {
				return limit + 1, nil
			}
			if !errors.Is(err, ErrCorrupt) {
				return 0, err
			}
			// The last index entry may be what is wrong: walk the
			// segment from its start, rebuilding the indexes.
			l.logger.Warn("segment tail disagrees with its indexes, rebuilding them from the segment", "partition", l.tp, "err", err)
		}
		seg.needSync.Store(true)
		if _, err := seg.rebuildIndexes(size, l.cfg.IndexIntervalBytes); err != nil {
			return l.cutTrusted(seg, limit, err)
		}
		seg.finalTimeEntry()
		return limit + 1, nil
	}
	if !indexesOK {
		seg.needSync.Store(true)
		return seg.rebuildIndexes(size, l.cfg.IndexIntervalBytes)
	}
	return l.checkTail(seg, size)
}

// checkTrustedTail walks the batch headers of an inactive segment below
// the recovery point from its last offset index entry to its end (a few
// headers): they must end exactly at the file end, with offsets at or
// below limit. It finds a segment cut short or grown by damage to the
// file system, which the index checks cannot see.
func (l *Log) checkTrustedTail(seg *segment, size, limit int64) error {
	if size == 0 {
		return nil
	}
	from := int64(0)
	if _, p, ok := seg.idx.last(); ok {
		from = p
	}
	var bad error
	maxTS, _ := seg.maxTimestamp() // from the time index's last entry
	err := seg.walk(from, size, func(p int64, h record.Header) bool {
		if h.LastOffset() > limit {
			bad = corruptf(seg.path, p, "batch offsets [%d, %d] reach the next segment's %d", h.BaseOffset, h.LastOffset(), limit+1)
		} else if h.MaxTimestamp > maxTS {
			// The last time index entry holds the segment's max
			// timestamp (retention goes by it): one below a batch's
			// is damaged.
			bad = corruptf(seg.tidx.path, int64(seg.tidx.entries()-1)*timeEntrySize,
				"last time index entry %d is below the timestamp %d of the batch at %d", maxTS, h.MaxTimestamp, p)
		}
		return bad != nil
	})
	// An inactive segment keeps no descriptor until it is read.
	seg.file.closeIfIdle()
	return errors.Join(err, bad)
}

// cutTrusted repairs an inactive segment below the recovery point whose
// bytes from some position on are not whole batches (err, a
// CorruptionError, says where): it is cut at that position, its indexes
// are rebuilt from what is left, and the segments after it are kept (the
// log gains a gap of offsets, as compaction makes). Cutting the whole log
// there, as recovery does past the recovery point, would throw away
// segments that were fsynced and are intact. It returns the next
// segment's base offset. Errors that are not corruption stop the open.
func (l *Log) cutTrusted(seg *segment, limit int64, err error) (int64, error) {
	var ce *CorruptionError
	if !errors.As(err, &ce) {
		return 0, err
	}
	l.logger.Warn("segment below the recovery point is damaged; cutting it at the last whole batch, later segments kept",
		"partition", l.tp, "segment", seg.path, "position", ce.Pos, "dropped_bytes", seg.size.Load()-ce.Pos, "err", err)
	if err := seg.truncate(ce.Pos); err != nil {
		return 0, err
	}
	seg.needSync.Store(true)
	l.dirDirty.Store(true) // makes the open flush what it repaired
	if _, err := seg.rebuildIndexes(ce.Pos, l.cfg.IndexIntervalBytes); err != nil {
		return 0, err
	}
	seg.finalTimeEntry()
	return limit + 1, nil
}

// checkTail validates, CRC included, the batches after the last index
// entry of the active segment (about IndexIntervalBytes plus one batch, so
// it is cheap) and restores the segment's in-memory write state. Anything
// wrong makes the caller recover the whole segment.
func (l *Log) checkTail(seg *segment, size int64) (int64, error) {
	from := int64(0)
	if _, p, ok := seg.idx.last(); ok {
		from = p
	}
	if ts, off, ok := seg.tidx.last(); ok {
		seg.maxTS, seg.maxTSOffset = ts, off
	}
	if size == 0 {
		// An empty segment (most of them, with many idle partitions):
		// nothing to check, and its file stays closed.
		seg.bytesSinceIndex = 0
		return seg.base, nil
	}
	var buf []byte
	next, _, cerr, err := l.scanBatches(seg, from, seg.base, size, &buf, func(_ int64, h *record.Header) error {
		if h.MaxTimestamp > seg.maxTS {
			seg.maxTS, seg.maxTSOffset = h.MaxTimestamp, h.LastOffset()
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if cerr != nil {
		return 0, cerr
	}
	{
		var hdr [record.HeaderSize]byte
		h, err := seg.readHeader(0, size, hdr[:])
		if err != nil {
			return 0, err
		}
		seg.rollTS = h.MaxTimestamp
	}
	seg.bytesSinceIndex = size - from
	return next, nil
}

// recoverSegments validates segments from index from onwards, truncating at
// the first bad batch and deleting every segment after it.
func (l *Log) recoverSegments(from int) error {
	next := l.segs[from].base
	var buf []byte
	for i := from; i < len(l.segs); i++ {
		seg := l.segs[i]
		limit := int64(math.MaxInt64)
		if i+1 < len(l.segs) {
			limit = l.segs[i+1].base - 1
		}
		n, badPos, cerr, err := l.recoverSegment(seg, next, limit, &buf)
		if err != nil {
			return err
		}
		next = n
		if cerr == nil {
			continue
		}
		l.logger.Warn("truncating log at a torn or corrupt batch", "partition", l.tp,
			"segment", seg.path, "position", badPos, "dropped_bytes", seg.size.Load()-badPos, "err", cerr)
		if err := seg.truncate(badPos); err != nil {
			return err
		}
		for _, s := range l.segs[i+1:] {
			l.logger.Warn("deleting segment after truncation point", "partition", l.tp, "segment", s.path)
			if err := s.remove(); err != nil {
				return err
			}
		}
		l.segs = l.segs[:i+1]
		l.dirDirty.Store(true)
		break
	}
	l.leo = next
	return nil
}

// recoverSegment rebuilds one segment's indexes from fully validated
// batches. cerr describes the first bad batch (at badPos); err is an I/O
// error that stops the open.
func (l *Log) recoverSegment(seg *segment, next, limit int64, buf *[]byte) (_ int64, badPos int64, cerr, err error) {
	// An empty segment with empty indexes (an idle partition's) has
	// nothing to check or rebuild, and nothing to fsync afterwards.
	changes := seg.size.Load() > 0 || !seg.idx.empty() || !seg.tidx.empty()
	if err := seg.idx.check(seg.size.Load()); err != nil {
		// Batches the index saw are gone: the file was cut short (or
		// the index is damaged; it is rebuilt below either way).
		l.logger.Warn("segment is shorter than its offset index says", "partition", l.tp, "segment", seg.path, "size", seg.size.Load(), "err", err)
	}
	if err := seg.resetState(); err != nil {
		return 0, 0, nil, err
	}
	if changes {
		seg.needSync.Store(true)
	}
	var over error
	good := next // after the last batch accepted
	n, badPos, cerr, err := l.scanBatches(seg, 0, next, seg.size.Load(), buf, func(pos int64, h *record.Header) error {
		if h.LastOffset() > limit {
			// The base offset lies outside the CRC: one that reaches the
			// next segment is damaged.
			over = corruptf(seg.path, pos, "batch offsets [%d, %d] reach the next segment's %d", h.BaseOffset, h.LastOffset(), limit+1)
			return over
		}
		l.epochs.assign(h.PartitionLeaderEpoch, h.BaseOffset)
		good = h.LastOffset() + 1
		return seg.indexBatch(pos, h, l.cfg.IndexIntervalBytes)
	})
	if !l.skipCRC {
		// Every batch kept was validated, CRC included: reads need not
		// check them again (verify.go).
		seg.verify.unverifiedEnd.Store(0)
	}
	if over != nil && errors.Is(err, over) {
		var ce *CorruptionError
		errors.As(over, &ce)
		return good, ce.Pos, over, nil
	}
	return n, badPos, cerr, err
}

// scanBatches reads and validates (CRC included) every batch of seg from
// pos to size, checking that offsets increase from next, and calls fn for
// each. It stops at the first bad batch and describes it in cerr, with its
// position in badPos; err is an I/O error or fn's error.
func (l *Log) scanBatches(seg *segment, pos, next, size int64, buf *[]byte, fn func(pos int64, h *record.Header) error) (_ int64, badPos int64, cerr, err error) {
	end := min(size, math.MaxInt32) // bytes past 2 GiB cannot be indexed
	f, err := seg.file.acquire()
	if err != nil {
		return 0, 0, nil, fmt.Errorf("storage: read %s: %w", seg.path, err)
	}
	defer seg.file.release()
	var hdr [record.HeaderSize]byte
	// Batches are validated in place in a read-only mapping of the segment
	// when possible (no copy of every byte out of the page cache); a fault
	// there (the file cut underneath, an I/O error) is an I/O error of this
	// open, not a crash. Without the CRC check, only headers are read.
	var mapped []byte
	if !l.skipCRC {
		var unmap func()
		mapped, unmap, _ = mapSegment(f, end)
		defer unmap()
	}
	if mapped != nil {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer recoverFault(&err, seg.path)
	}
	for pos < end {
		h, herr := seg.readHeaderFrom(f, pos, end, hdr[:])
		if herr != nil {
			if errors.Is(herr, ErrCorrupt) {
				return next, pos, herr, nil
			}
			return 0, 0, nil, herr
		}
		if h.BaseOffset < next {
			return next, pos, corruptf(seg.path, pos, "batch base offset %d below expected %d", h.BaseOffset, next), nil
		}
		n := h.TotalSize() // bounded by end - pos by readHeader
		if !l.skipCRC {
			var b []byte
			if mapped != nil {
				b = mapped[pos : pos+n]
			} else {
				if int64(cap(*buf)) < n {
					*buf = make([]byte, n)
				}
				b = (*buf)[:n]
				if _, err := f.ReadAt(b, pos); err != nil {
					return 0, 0, nil, fmt.Errorf("storage: read %s at %d: %w", seg.path, pos, err)
				}
			}
			if _, verr := record.Validate(b); verr != nil {
				return next, pos, &CorruptionError{Path: seg.path, Pos: pos, Err: verr}, nil
			}
		}
		if err := fn(pos, &h); err != nil {
			return 0, 0, nil, err
		}
		next = h.LastOffset() + 1
		pos += n
	}
	if pos < size {
		return next, pos, corruptf(seg.path, pos, "segment larger than 2 GiB"), nil
	}
	return next, pos, nil, nil
}

// loadProducerState loads the newest readable snapshot at or below upTo
// (and the log end) and replays batches from its offset to the log end,
// which also rebuilds the transaction list and the txn index entries of
// the markers replayed.
func (l *Log) loadProducerState(upTo int64) error {
	all, err := listSnapshots(l.dir)
	if err != nil {
		return err
	}
	return l.loadProducerStateFrom(upTo, nil, all)
}

// loadProducerStateFrom is loadProducerState with the snapshot offsets in
// the directory already known (ascending); root, when not nil, is the
// log's directory to read them through.
func (l *Log) loadProducerStateFrom(upTo int64, root *partDir, all []int64) error {
	leo, first := l.leo, l.segs[0].base
	// Snapshots past the log end describe batches that are gone.
	var offs []int64
	for _, off := range all {
		if off > leo {
			if err := os.Remove(segmentPath(l.dir, off, snapshotSuffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			continue
		}
		offs = append(offs, off)
	}
	from := first
	l.snapAt.Store(-1)
	l.producers.reset()
	for i := len(offs) - 1; i >= 0; i-- {
		if offs[i] > upTo {
			continue
		}
		path := segmentPath(l.dir, offs[i], snapshotSuffix)
		m, err := readSnapshotIn(root, path)
		if err != nil {
			l.logger.Warn("discarding unreadable producer snapshot", "partition", l.tp, "path", path, "err", err)
			os.Remove(path)
			continue
		}
		l.producers.replace(m)
		from = max(offs[i], first)
		if offs[i] == leo {
			l.snapAt.Store(leo)
		}
		break
	}
	if from == leo && leo == first {
		// An empty log: its next open replays nothing either, so it
		// needs no snapshot.
		l.snapAt.Store(leo)
	}
	l.producers.loaded(from)
	l.txnsFromProducers()
	return l.replayProducers(from)
}

// replayProducers feeds the batches at or after from into the producer
// table, the transaction list and the txn indexes: entries for markers at
// or after from are dropped first and written again from the markers, so
// a crash leaves none twice and none missing. from is a batch boundary (a
// snapshot is taken at the log end). Only headers are read, and the
// record of each marker.
func (l *Log) replayProducers(from int64) error {
	var buf []byte
	for i, seg := range l.segs {
		if i+1 < len(l.segs) && l.segs[i+1].base <= from {
			continue
		}
		if err := seg.txn.truncateFrom(from); err != nil {
			return err
		}
		_, pos := seg.idx.lookup(from)
		var ferr error
		err := seg.walk(pos, seg.size.Load(), func(p int64, h record.Header) bool {
			if h.BaseOffset < from {
				return false
			}
			var m txnMarker
			if h.IsControl() {
				m, buf = l.readMarker(seg, p, &h, buf)
			}
			if ch := l.producers.update(&h, m); ch != (txnChange{}) {
				ferr = l.trackTxn(seg, p, &h, m, ch)
			}
			return ferr != nil
		})
		if err := errors.Join(err, ferr); err != nil {
			return err
		}
		if seg.txn.pending() {
			seg.needSync.Store(true) // the next Flush writes and fsyncs the rewritten index
		}
	}
	return nil
}

// readMarker reads and decodes the marker of the control batch at pos. A
// marker that cannot be read or decoded still ends its producer's
// transaction (the zero txnMarker), as its leader accepted it.
func (l *Log) readMarker(seg *segment, pos int64, h *record.Header, buf []byte) (txnMarker, []byte) {
	n := h.TotalSize()
	if n > maxControlBatchBytes {
		l.logger.Warn("control batch too large to be a transaction marker", "partition", l.tp, "offset", h.BaseOffset, "size", n)
		return txnMarker{}, buf
	}
	buf = grow(buf, int(n))
	if err := seg.file.readAt(buf, pos); err != nil {
		l.logger.Warn("reading a transaction marker", "partition", l.tp, "offset", h.BaseOffset, "err", err)
		return txnMarker{}, buf
	}
	m, err := decodeMarker(buf, h)
	if err != nil {
		l.logger.Warn("undecodable transaction marker", "partition", l.tp, "offset", h.BaseOffset, "err", err)
	}
	return m, buf
}

// listSegmentBases returns the base offsets of the .log files in dir.
func listSegmentBases(dir string) ([]int64, error) {
	names, err := listNames(dir)
	if err != nil {
		return nil, err
	}
	return names.offsets(logSuffix), nil
}

// removeStrayFiles deletes leftovers of interrupted operations: temporary
// files of atomic writes, segments renamed .deleted (retention or the
// cleaner already dropped them), cleaner output never swapped in
// (.cleaned) and index files whose segment is gone. completeSwaps runs
// first, so no .swap file that matters is left.
func removeStrayFiles(dir string, names dirNames) (dirNames, error) {
	// Which segments exist, from the same listing (a Stat per index file
	// cost a third of opening 100,000 logs).
	segs := make(map[int64]bool, 2)
	for _, name := range names {
		if off, ok := parseOffsetName(name, logSuffix); ok {
			segs[off] = true
		}
	}
	var ferr error
	names = names.without(func(name string) bool {
		if ferr != nil {
			return false
		}
		stray := strings.HasSuffix(name, ".tmp") || strings.HasSuffix(name, deletedSuffix) ||
			strings.HasSuffix(name, cleanedSuffix) || strings.HasSuffix(name, swapSuffix)
		for _, suffix := range []string{indexSuffix, timeIndexSuffix, txnIndexSuffix, keysSuffix} {
			if off, ok := parseOffsetName(name, suffix); ok && !segs[off] {
				stray = true
			}
		}
		if !stray {
			return false
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			ferr = fmt.Errorf("storage: remove stray file: %w", err)
			return false
		}
		return true
	})
	return names, ferr
}
