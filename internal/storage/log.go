package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-streaming/samsa/internal/record"
)

// Position locates an offset in the log like Kafka's LogOffsetMetadata: the
// offset, the base offset of the segment holding it, and the byte position
// in that segment's file. The end Position of the log is where the next
// batch will go.
type Position struct {
	Offset      int64
	SegmentBase int64
	FilePos     int64
}

// AppendResult reports where a batch went.
type AppendResult struct {
	BaseOffset, LastOffset int64
	// Duplicate is set when the batch repeats one of the producer's last five
	// batches; nothing was written and the offsets are the original ones.
	Duplicate      bool
	End            Position // the log end after the append
	LogStartOffset int64
}

// SegmentInfo describes one segment, for tools and metrics.
type SegmentInfo struct {
	BaseOffset   int64
	Size         int64
	MaxTimestamp int64 // -1 for an empty segment
	Path         string
}

// Log is one partition's durable log. It is safe for concurrent use by one
// writer at a time (Append, AppendFollower, DeleteRecordsBefore, TruncateTo
// and Close are serialized by mu) and any number of readers (Read and the
// accessors), which never wait for a write syscall.
//
// Lock order: cleanMu, then flushMu, then mu, then stateMu, then txnMu (and the small per-structure
// locks inside segments, indexes, the epoch cache and the producer table).
type Log struct {
	dir     string
	tp      TopicPartition
	topicID [16]byte
	logger  *slog.Logger
	// skipCRC is set while a log is recovered after a process crash in
	// the same boot: batches are checked by their headers only (boot.go).
	skipCRC bool
	// rebuildEpochs is set while a log whose leader-epoch-checkpoint was
	// unreadable is opened: the cache is rebuilt from the batch headers of
	// every segment, trusted ones included.
	rebuildEpochs bool

	// flushMu serializes Flush, and keeps segments from being closed or
	// removed (retention, truncation, Close) while a Flush fsyncs them
	// outside mu.
	flushMu sync.Mutex
	// rollFlushes tracks the background flushes started at each roll.
	rollFlushes  sync.WaitGroup
	flushScratch []*segment

	mu        sync.Mutex // serializes writers; guards the fields below it
	cfg       Config
	failed    error // first write or fsync error; the Log is fail-stop after it
	closed    bool
	leo       int64           // log end offset, also published in end
	unflushed int64           // records appended since the last Flush started
	pending   []pendingDelete // segments renamed .deleted, awaiting unlink

	stateMu  sync.RWMutex // guards segs, end and logStart for readers (written with mu held), and topicID
	segs     []*segment   // ascending base offsets, last is active; replaced, never modified in place
	end      Position
	logStart int64

	// compacted mirrors cfg.CleanupCompact for appends to read before
	// taking mu: they compute key file entries outside the lock.
	compacted atomic.Bool

	recoveryPoint atomic.Int64 // every offset below it is fsynced
	lastFlush     atomic.Int64 // unix nanoseconds of the last completed Flush
	dirDirty      atomic.Bool  // files were created or removed since the last directory fsync
	// epochsDirty says an append started a leader epoch that the
	// checkpoint file does not hold yet; Flush and Close write it durably
	// before the recovery point passes that append.
	epochsDirty atomic.Bool

	epochs    *epochCache
	producers *producerState
	// space is the log dir's free-space guard (nil: none).
	space *spaceGuard
	// snapAt is the offset of a producer snapshot on disk that matches
	// the producer table while the log end is there (-1: none known).
	// Close writes no snapshot when snapAt is the log end, as Kafka
	// takes none when nothing was appended since the last.
	snapAt atomic.Int64

	// txnMu guards txns, the transactions that may hold back the last
	// stable offset, ordered by first offset. Writers change it with mu
	// held; LastStable takes only txnMu.
	txnMu sync.Mutex
	txns  []txnEntry
	// recoverFrom is the base offset of the first segment the open
	// recovered (math.MaxInt64 when none): producer state is replayed
	// from a snapshot at or below it, which rebuilds the txn indexes of
	// the recovered segments.
	recoverFrom int64

	// cleanMu serializes Clean on this log; it is taken before flushMu.
	cleanMu sync.Mutex
	// cleanerOffset is the first dirty offset: everything below it has
	// been compacted (Kafka's cleaner-offset-checkpoint entry). -1 when
	// unknown, which makes the whole log dirty.
	cleanerOffset atomic.Int64

	// corruptBatches counts the damaged batches reads found (verify.go).
	corruptBatches atomic.Int64
	// checkedBytes counts the bytes those checks read (for tests).
	checkedBytes atomic.Int64

	// scrubMu guards scrub, where Scrub goes on (scrub.go).
	scrubMu sync.Mutex
	scrub   scrubCursor
}

// TopicPartition names a partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return fmt.Sprintf("%s-%d", tp.Topic, tp.Partition) }

// Append writes one v2 batch as the leader: it runs the idempotent producer
// checks, assigns offsets from the log end and stamps leaderEpoch by
// patching the batch in place (both fields are outside the CRC), and
// writes it with a single write to the active segment, rolling first when
// needed. batch must be exactly one batch already checked by
// record.Validate; Append keeps no reference to it after returning.
func (l *Log) Append(batch []byte, leaderEpoch int32, now time.Time) (AppendResult, error) {
	return l.append(batch, leaderEpoch, now, originClient)
}

// AppendCoordinator writes one batch as the leader on behalf of a
// coordinator, as Kafka's AppendOrigin.COORDINATOR: transaction markers
// written by the partition leader, and the group coordinator's
// transactional offset commits (producer id and epoch, transactional, no
// sequence). Like Append it assigns offsets, stamps leaderEpoch and checks
// producer and coordinator epochs and the transaction state, but it skips
// sequence and duplicate checks; batches without a sequence leave the
// producer's remembered sequence window alone.
func (l *Log) AppendCoordinator(batch []byte, leaderEpoch int32, now time.Time) (AppendResult, error) {
	return l.append(batch, leaderEpoch, now, originCoordinator)
}

// AppendFollower writes one batch fetched from the leader as it is: offsets
// and leader epoch come from the batch, its base offset must be >= the log
// end (gaps are allowed, as in compacted topics), and producer state is
// updated without idempotence checks, as Kafka does for replication.
func (l *Log) AppendFollower(batch []byte, now time.Time) (AppendResult, error) {
	return l.append(batch, -1, now, originReplication)
}

func (l *Log) append(batch []byte, leaderEpoch int32, now time.Time, origin appendOrigin) (AppendResult, error) {
	leader := origin != originReplication
	h, err := record.ParseHeader(batch)
	if err != nil {
		return AppendResult{}, fmt.Errorf("%w: %w", ErrInvalidBatch, err)
	}
	if h.TotalSize() != int64(len(batch)) {
		return AppendResult{}, fmt.Errorf("%w: batch length %d but %d bytes given", ErrInvalidBatch, h.TotalSize(), len(batch))
	}
	var m txnMarker
	if h.IsControl() {
		if m, err = decodeMarker(batch, &h); err != nil {
			if leader {
				return AppendResult{}, fmt.Errorf("%w: %w", ErrInvalidBatch, err)
			}
			// A follower takes what its leader wrote: the marker still
			// ends the producer's transaction.
			l.logger.Warn("follower batch with an undecodable control record", "partition", l.tp, "offset", h.BaseOffset, "err", err)
		}
	}
	// A compacted log keeps the key digest of every record in the
	// segment's key file (keys.go). Computing the entries walks the
	// records, which is also the check that every record has a key:
	// Kafka refuses keyless records on compacted topics (a follower
	// takes what its leader accepted).
	var entries []byte
	if l.compacted.Load() && !h.IsControl() {
		bufs := keyEntryPool.Get().(*keyEntryBufs)
		defer keyEntryPool.Put(bufs)
		var nullKey bool
		if entries, nullKey, err = keyEntries(bufs, batch, &h); err != nil {
			if leader {
				return AppendResult{}, fmt.Errorf("%w: %w", ErrInvalidBatch, err)
			}
			// A follower takes what its leader accepted (perhaps before
			// the topic was compacted); the segment loses its key file.
			entries, err = nil, nil
		}
		if nullKey && leader {
			return AppendResult{}, record.ErrNoKey
		}
	}
	l.mu.Lock()
	res, flush, err := l.appendLocked(batch, &h, m, entries, leaderEpoch, now, origin)
	l.mu.Unlock()
	if err == nil && flush {
		if _, err := l.Flush(); err != nil {
			return res, err
		}
	}
	return res, err
}

func (l *Log) appendLocked(batch []byte, h *record.Header, m txnMarker, entries []byte, leaderEpoch int32, now time.Time, origin appendOrigin) (AppendResult, bool, error) {
	if l.closed {
		return AppendResult{}, false, ErrClosed
	}
	if l.failed != nil {
		return AppendResult{}, false, fmt.Errorf("%w: %w", ErrLogFailed, l.failed)
	}
	size := int64(len(batch))
	if size > l.cfg.SegmentBytes {
		return AppendResult{}, false, ErrBatchTooLarge
	}
	// Coordinators' writes (transaction markers, offsets) still go: they
	// are small and let transactions and groups finish.
	if origin != originCoordinator {
		if err := l.space.check(); err != nil {
			return AppendResult{}, false, err
		}
	}
	if origin != originReplication {
		if h.ProducerID >= 0 {
			d, isDup, err := l.producers.check(h, m, origin)
			if err != nil {
				return AppendResult{}, false, err
			}
			if isDup {
				return AppendResult{
					BaseOffset: d.lastOffset - int64(d.offsetDelta), LastOffset: d.lastOffset,
					Duplicate: true, End: l.end, LogStartOffset: l.logStart,
				}, false, nil
			}
		}
		h.BaseOffset, h.PartitionLeaderEpoch = l.leo, leaderEpoch
		record.SetBaseOffset(batch, l.leo)
		record.SetPartitionLeaderEpoch(batch, leaderEpoch)
	} else if h.BaseOffset < l.leo {
		return AppendResult{}, false, fmt.Errorf("%w: follower batch at offset %d below log end %d", ErrInvalidBatch, h.BaseOffset, l.leo)
	}
	if l.shouldRoll(l.active(), h, size, now) {
		if err := l.roll(now, h.BaseOffset); err != nil {
			return AppendResult{}, false, l.failUnlessOpen(noSpace(err))
		}
	}
	end, err := l.write(batch, h, m)
	if err != nil {
		return AppendResult{}, false, l.failUnlessOpen(err)
	}
	l.writeKeys(h, end.FilePos-size, entries)
	l.unflushed += int64(h.NumRecords)
	res := AppendResult{BaseOffset: h.BaseOffset, LastOffset: h.LastOffset(), End: end, LogStartOffset: l.logStart}
	return res, l.unflushed >= l.cfg.FlushMessages, nil
}

// write puts the batch at the end of the active segment and updates the
// indexes, the epoch cache, the producer table, the transaction list and
// index, and the published end.
//
// What can fail for want of descriptors (ErrTooManyOpenFiles) comes first
// and changes nothing: getting the segment's file. A batch that starts a
// leader epoch only marks the checkpoint dirty: the next Flush or Close
// writes it before the recovery point passes the batch, and recovery after
// a crash assigns the epochs of every batch past the recovery point again
// (Kafka writes it on the append, without an fsync; writing it there cost
// a file creation and a rename per partition, a fifth of the broker's CPU
// producing to 10,000 new partitions). Any error after the write fails the
// Log.
func (l *Log) write(batch []byte, h *record.Header, m txnMarker) (Position, error) {
	seg := l.active()
	pos := seg.size.Load()
	f, err := seg.file.acquire()
	if err != nil {
		return Position{}, fmt.Errorf("storage: write %s: %w", seg.path, err)
	}
	newEpoch := l.epochs.starts(h.PartitionLeaderEpoch)
	if err = injectedFault(OpWrite, seg.path); err == nil {
		_, err = f.WriteAt(batch, pos)
	}
	if err == nil {
		l.startWriteback(f, seg, pos+int64(len(batch)))
		l.space.wrote(int64(len(batch)))
	} else if errors.Is(noSpace(err), ErrNoSpace) {
		// The file system is full: cut what part of the batch was
		// written (truncating needs no space) and fail this append
		// alone; the log takes writes again when space returns.
		if terr := f.Truncate(pos); terr == nil {
			seg.file.release()
			return Position{}, fmt.Errorf("%w: write %s at %d: %w", ErrNoSpace, seg.path, pos, err)
		}
	}
	seg.file.release()
	if err != nil {
		return Position{}, l.fail(fmt.Errorf("storage: write %s at %d: %w", seg.path, pos, err))
	}
	seg.needSync.Store(true)
	if err := seg.indexBatch(pos, h, l.cfg.IndexIntervalBytes); err != nil {
		return Position{}, l.fail(err)
	}
	if newEpoch {
		l.epochs.assign(h.PartitionLeaderEpoch, h.BaseOffset)
		l.epochsDirty.Store(true)
	}
	if ch := l.producers.update(h, m); ch != (txnChange{}) {
		if err := l.trackTxn(seg, pos, h, m, ch); err != nil {
			return Position{}, l.fail(err)
		}
	}
	l.leo = h.LastOffset() + 1
	end := Position{Offset: l.leo, SegmentBase: seg.base, FilePos: pos + int64(len(batch))}
	seg.size.Store(end.FilePos)
	l.stateMu.Lock()
	l.end = end
	l.stateMu.Unlock()
	if seg.pendingFull() {
		// Index entries wait in memory until a flush; write them now
		// and then so they do not pile up. Short of descriptors, they
		// wait for the next time.
		if err := seg.writePending(); err != nil && !errors.Is(err, ErrTooManyOpenFiles) {
			return end, l.fail(err)
		}
	}
	return end, nil
}

// failUnlessOpen fails the Log with err, unless err is only a file that
// could not be opened for want of descriptors: that fails the one
// operation, and the next one tries again. An error that already failed
// the Log is returned as it is. mu must be held.
func (l *Log) failUnlessOpen(err error) error {
	if errors.Is(err, ErrLogFailed) || ((errors.Is(err, ErrTooManyOpenFiles) || errors.Is(err, ErrNoSpace)) && l.failed == nil) {
		return err
	}
	return l.fail(err)
}

// startWriteback starts the kernel writing the segment's bytes from where
// it last did up to the page boundary at or below end, once there are at
// least WritebackBytes of them (see Config.WritebackBytes).
func (l *Log) startWriteback(f *os.File, seg *segment, end int64) {
	if l.cfg.WritebackBytes <= 0 {
		return
	}
	to := end &^ (pageSize - 1)
	if to-seg.writebackFrom < l.cfg.WritebackBytes {
		return
	}
	startWriteback(f, seg.writebackFrom, to-seg.writebackFrom)
	seg.writebackFrom = to
}

// startKeys gives a new segment of a compacted log its key file. The file
// is only a hint: if it cannot be created the segment goes on without one.
func (l *Log) startKeys(seg *segment) {
	if !l.cfg.CleanupCompact {
		return
	}
	var err error
	if seg.keys, err = createKeys(l.dir, seg.base); err != nil {
		l.logger.Warn("segment without a key file; the cleaner will walk it", "partition", l.tp, "base", seg.base, "err", err)
	}
}

// writeKeys adds the entries of a batch written at pos to the active
// segment's key file. A file that cannot be complete (its entries were not
// computed, because the log was not compacted when the batch came or the
// batch is a follower's that does not decode, or a write failed) is
// deleted: the cleaner then walks the segment.
func (l *Log) writeKeys(h *record.Header, pos int64, entries []byte) {
	seg := l.active()
	if seg.keys == nil {
		return
	}
	if entries == nil && !h.IsControl() && h.NumRecords > 0 {
		seg.dropKeys()
		return
	}
	if err := seg.keys.append(entries, pos, h.CRC); err != nil {
		l.logger.Warn("dropping a segment's key file; the cleaner will walk the segment", "partition", l.tp, "err", err)
		seg.dropKeys()
	}
}

// shouldRoll applies Kafka's LogSegment.shouldRoll: the batch would overflow
// the segment or an index, its offsets would not fit the 32-bit relative
// offsets, or the segment is older than SegmentRoll by Kafka's measure
// (message time since the first batch's max timestamp when both are known,
// otherwise wall time since the segment was created here). An empty segment
// is only rolled when the offsets cannot fit.
func (l *Log) shouldRoll(seg *segment, h *record.Header, size int64, now time.Time) bool {
	if h.LastOffset()-seg.base > math.MaxInt32 {
		return true
	}
	cur := seg.size.Load()
	if cur == 0 {
		return false
	}
	if cur+size > l.cfg.SegmentBytes || seg.idx.full() || seg.tidx.full() {
		return true
	}
	var waited time.Duration
	if seg.rollTS >= 0 && h.MaxTimestamp >= 0 {
		waited = time.Duration(h.MaxTimestamp-seg.rollTS) * time.Millisecond
	} else {
		waited = now.Sub(seg.created)
	}
	return waited > l.cfg.SegmentRoll
}

// roll finishes the active segment, snapshots producer state at base and
// starts a new segment there. base is the log end offset, or a follower
// batch's base offset past a gap.
//
// The files that can fail to open for want of descriptors are opened
// before anything changes, so such an error (ErrTooManyOpenFiles) leaves
// the old segment active and the append can be tried again.
func (l *Log) roll(now time.Time, base int64) error {
	old := l.active()
	seg, err := createSegment(l.dir, base, l.cfg, now)
	if err != nil {
		return err
	}
	if err := writeSnapshot(l.dir, base, l.producers); err != nil {
		seg.remove()
		return err
	}
	l.snapAt.Store(base)
	if err := old.finish(); err != nil {
		seg.remove()
		return err
	}
	l.startKeys(seg)
	l.dirDirty.Store(true)
	l.stateMu.Lock()
	l.segs = append(l.segs[:len(l.segs):len(l.segs)], seg)
	l.stateMu.Unlock()
	l.logger.Debug("rolled segment", "partition", l.tp, "base", base, "previous_size", old.size.Load())
	// Like Kafka, flush the rolled segment in the background so the
	// recovery point advances with every roll: after a crash only the
	// active segment needs validating, whatever the flush policy.
	l.rollFlushes.Add(1)
	go func() {
		defer l.rollFlushes.Done()
		switch _, err := l.Flush(); {
		case err == nil, errors.Is(err, ErrClosed):
		case errors.Is(err, ErrTooManyOpenFiles):
			l.logger.Warn("flushing a rolled segment waits for the next flush", "partition", l.tp, "err", err)
		default:
			l.logger.Error("flushing a rolled segment", "partition", l.tp, "err", err)
		}
		// Its descriptor goes back to the budget; a reader opens it
		// again through the cache.
		old.file.closeIfIdle()
	}()
	return nil
}

// fail records the first write or fsync error; the Log is fail-stop after
// it. mu must be held.
func (l *Log) fail(err error) error {
	if l.failed == nil {
		l.failed = err
		l.logger.Error("log failed, refusing appends until restart", "partition", l.tp, "err", err)
	}
	return fmt.Errorf("%w: %w", ErrLogFailed, err)
}

func (l *Log) active() *segment { return l.segs[len(l.segs)-1] }

// Failed returns the write or fsync error that made the log fail-stop (nil
// while it is healthy). A failed log serves reads but takes no appends
// until the broker restarts, as a Kafka log directory that failed goes
// offline.
func (l *Log) Failed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}

// Flush fsyncs the data and indexes of every segment written since the last
// flush, then advances the recovery point to the log end offset seen when
// it started, which it returns. It runs concurrently with Append: the lock
// is held only to collect what to sync, so a group-commit loop can call it
// back to back. An fsync error fails the Log.
func (l *Log) Flush() (flushedOffset int64, err error) {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return l.recoveryPoint.Load(), ErrClosed
	}
	if l.failed != nil {
		l.mu.Unlock()
		return l.recoveryPoint.Load(), fmt.Errorf("%w: %w", ErrLogFailed, l.failed)
	}
	target := l.leo
	segs := l.flushScratch[:0]
	for _, s := range l.segs {
		if s.needSync.Swap(false) {
			segs = append(segs, s)
			if err := s.writePending(); err != nil {
				// Short of descriptors, the flush fails and the next one
				// does it all again; anything else fails the Log.
				for _, s := range segs {
					s.needSync.Store(true)
				}
				clear(segs)
				l.flushScratch = segs[:0]
				err = l.failUnlessOpen(err)
				l.mu.Unlock()
				return l.recoveryPoint.Load(), err
			}
		}
	}
	epochsDirty := l.epochsDirty.Swap(false)
	dirDirty := l.dirDirty.Swap(false)
	unflushed := l.unflushed
	l.unflushed = 0
	l.mu.Unlock()

	n, err := l.syncSegments(segs, dirDirty)
	if err == nil && epochsDirty {
		err = l.persistEpochs()
	} else if epochsDirty {
		l.epochsDirty.Store(true)
	}
	if err != nil && errors.Is(err, ErrTooManyOpenFiles) {
		for _, s := range segs[n:] {
			s.needSync.Store(true)
		}
		if dirDirty {
			l.dirDirty.Store(true)
		}
	}
	clear(segs)
	l.flushScratch = segs[:0]
	if err != nil {
		l.mu.Lock()
		if errors.Is(err, ErrTooManyOpenFiles) {
			l.unflushed += unflushed
		}
		err = l.failUnlessOpen(err)
		l.mu.Unlock()
		return l.recoveryPoint.Load(), err
	}
	if target > l.recoveryPoint.Load() {
		l.recoveryPoint.Store(target)
	}
	l.lastFlush.Store(time.Now().UnixNano())
	return target, nil
}

// syncSegments fsyncs segs, then the directory if dir; n is how many
// segments were fsynced.
// persistEpochs writes the leader epoch checkpoint durably (the file, its
// rename and the directory); on failure it stays dirty.
func (l *Log) persistEpochs() error {
	if err := l.epochs.persist(); err != nil {
		l.epochsDirty.Store(true)
		return err
	}
	return nil
}

func (l *Log) syncSegments(segs []*segment, dir bool) (n int, err error) {
	for i, s := range segs {
		if err := s.sync(); err != nil {
			return i, err
		}
	}
	if dir {
		return len(segs), syncDir(l.dir)
	}
	return len(segs), nil
}

// Close shuts the log down cleanly: it finishes the active segment, writes
// a producer snapshot at the log end, fsyncs everything and closes the
// files (Slices still held by readers stay readable until released). A
// failed log is closed without any of that, so the next open recovers it.
func (l *Log) Close() error {
	// Wait for background flushes of rolled segments first: they take
	// flushMu. One started after this wait finds the log closed.
	l.rollFlushes.Wait()
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	var err error
	if l.failed == nil {
		err = l.shutdownLocked()
		if err != nil {
			l.fail(err)
		}
	}
	l.closed = true
	var errs []error
	for _, s := range l.segs {
		errs = append(errs, s.close())
	}
	// Segments waiting for file.delete.delay.ms go now; the next open
	// would delete them anyway.
	for _, p := range l.pending {
		errs = append(errs, removeFiles(p.paths))
	}
	l.pending = nil
	return errors.Join(append(errs, err)...)
}

func (l *Log) shutdownLocked() error {
	// Indexes a read found damaged (segment.find) are rebuilt from the
	// batch headers, so the next open reads them right again.
	for _, s := range l.segs {
		if !s.idxBad.Load() {
			continue
		}
		if _, err := s.rebuildIndexes(s.size.Load(), l.cfg.IndexIntervalBytes); err != nil {
			return err
		}
		s.finalTimeEntry()
		s.idxBad.Store(false)
		s.needSync.Store(true)
	}
	if err := l.active().finish(); err != nil {
		return err
	}
	if l.snapAt.Load() != l.leo {
		if err := writeSnapshot(l.dir, l.leo, l.producers); err != nil {
			return err
		}
		l.snapAt.Store(l.leo)
	}
	for _, s := range l.segs {
		if s.needSync.Swap(false) {
			if err := s.writePending(); err != nil {
				return err
			}
			if err := s.sync(); err != nil {
				return err
			}
		}
	}
	if l.epochsDirty.Swap(false) {
		if err := l.persistEpochs(); err != nil {
			return err
		}
	}
	if l.dirDirty.Swap(false) {
		if err := syncDir(l.dir); err != nil {
			l.dirDirty.Store(true)
			return err
		}
	}
	l.recoveryPoint.Store(l.leo)
	return nil
}

// cleanlyClosed reports whether Close completed without a failure; the Dir
// writes its clean-shutdown marker only if every log did.
func (l *Log) cleanlyClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed && l.failed == nil
}

// SetConfig changes the settings used by later appends.
func (l *Log) SetConfig(cfg Config) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cfg = cfg.withDefaults()
	if !l.closed {
		l.applyCompacted()
	}
}

// applyCompacted publishes cfg.CleanupCompact to appends and, for a
// compacted log, takes up the active segment's key file if it matches
// (after a clean shutdown). The broker opens a log with its defaults and
// sets the topic's settings just after, so both the open and SetConfig
// call it; a log that is not compacted leaves the file for that, and
// appends without entries delete it. mu must be held (or the log not yet
// shared).
func (l *Log) applyCompacted() {
	l.compacted.Store(l.cfg.CleanupCompact)
	if active := l.active(); l.cfg.CleanupCompact && active.keys == nil {
		active.keys = resumeKeys(active)
	}
}

// TopicPartition returns the partition this log stores.
func (l *Log) TopicPartition() TopicPartition { return l.tp }

// TopicID returns the topic id from partition.metadata (zero if unknown).
func (l *Log) TopicID() [16]byte {
	l.stateMu.RLock()
	defer l.stateMu.RUnlock()
	return l.topicID
}

// Path returns the partition directory.
func (l *Log) Path() string { return l.dir }

// LogStartOffset is the first offset readable (Kafka's log start offset).
func (l *Log) LogStartOffset() int64 {
	l.stateMu.RLock()
	defer l.stateMu.RUnlock()
	return l.logStart
}

// LogEndOffset is the offset the next batch will get.
func (l *Log) LogEndOffset() int64 { return l.EndPosition().Offset }

// EndPosition is the log end as a Position, for high watermark tracking.
func (l *Log) EndPosition() Position {
	l.stateMu.RLock()
	defer l.stateMu.RUnlock()
	return l.end
}

// Size is the total size in bytes of all segments.
func (l *Log) Size() int64 {
	l.stateMu.RLock()
	defer l.stateMu.RUnlock()
	var n int64
	for _, s := range l.segs {
		n += s.size.Load()
	}
	return n
}

// Segments describes the segments, oldest first.
func (l *Log) Segments() []SegmentInfo {
	l.stateMu.RLock()
	segs := l.segs
	l.stateMu.RUnlock()
	out := make([]SegmentInfo, len(segs))
	for i, s := range segs {
		ts, _ := s.maxTimestamp()
		out[i] = SegmentInfo{BaseOffset: s.base, Size: s.size.Load(), MaxTimestamp: ts, Path: s.path}
	}
	return out
}

// RecoveryPoint is the offset below which everything is fsynced.
func (l *Log) RecoveryPoint() int64 { return l.recoveryPoint.Load() }

// LastFlush is when the last Flush completed (zero if never). A caller
// implementing log.flush.interval.ms flushes logs whose LastFlush is older
// than Config.FlushInterval.
func (l *Log) LastFlush() time.Time {
	ns := l.lastFlush.Load()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// LatestEpoch is the newest leader epoch in the epoch cache, or -1.
func (l *Log) LatestEpoch() int32 {
	if e, ok := l.epochs.latest(); ok {
		return e.Epoch
	}
	return -1
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch with the semantics of
// Kafka's LeaderEpochFileCache.endOffsetFor (see epochCache.endOffsetFor).
func (l *Log) EndOffsetForEpoch(epoch int32) (foundEpoch int32, endOffset int64) {
	return l.epochs.endOffsetFor(epoch, l.LogEndOffset())
}

// AssignLeaderEpoch records that epoch starts at the log end, as a leader
// does when its term begins (Kafka assigns it on becoming leader, before
// any record of it is appended). OffsetForLeaderEpoch for an epoch between
// the last one this log has records of and the leader's own is then
// answered with where the leader's epoch began; without it the leader
// answered "undefined", and its follower cut its log to nothing (found by
// the simulation: an in-sync follower so emptied was elected next and an
// acknowledged offset commit was gone).
func (l *Log) AssignLeaderEpoch(epoch int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.epochs.assign(epoch, l.leo) {
		l.epochsDirty.Store(true)
	}
}

// Epochs returns a copy of the leader epoch cache.
func (l *Log) Epochs() []EpochEntry { return l.epochs.snapshot() }

// ProducerStates lists the producers known to this partition, for
// DescribeProducers.
func (l *Log) ProducerStates() []ProducerInfo { return l.producers.infos() }

// snapshotState returns the segments and end as one consistent view.
func (l *Log) snapshotState() ([]*segment, Position, int64) {
	l.stateMu.RLock()
	defer l.stateMu.RUnlock()
	return l.segs, l.end, l.logStart
}
