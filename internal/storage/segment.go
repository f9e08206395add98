package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-streaming/samsa/internal/record"
)

// File name suffixes, as in Kafka.
const (
	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"
	snapshotSuffix  = ".snapshot"

	// Suffixes added to a segment's file names by retention and the
	// cleaner (see docs/format/log.md): .deleted files await unlinking,
	// .cleaned files are a cleaner's output being written, .swap files are
	// complete cleaner output replacing the segments they cover.
	deletedSuffix = ".deleted"
	cleanedSuffix = ".cleaned"
	swapSuffix    = ".swap"
)

// segmentSuffixes are the files of one segment (the .txnindex exists only
// once the segment has an aborted transaction).
var segmentSuffixes = [...]string{logSuffix, indexSuffix, timeIndexSuffix, txnIndexSuffix}

// segmentPath names a segment or snapshot file the way Kafka does: the base
// offset in 20 zero-padded digits followed by the suffix.
func segmentPath(dir string, base int64, suffix string) string {
	return filepath.Join(dir, segmentName(base, suffix))
}

// segmentName is the name of a segment's file: base as 20 digits, then suffix.
func segmentName(base int64, suffix string) string {
	return fmt.Sprintf("%020d%s", base, suffix)
}

// segment is one .log file with its two indexes. Its base offset is the
// offset the log end had when it was created; every batch in it has a
// base offset >= base and a last offset < base+2^31.
// pageSize is the unit the kernel writes back; startWriteback stops at a
// page boundary.
var pageSize = int64(os.Getpagesize())

type segment struct {
	base int64
	path string
	file *segFile
	idx  *offsetIndex
	tidx *timeIndex
	txn  *txnIndex

	// size is the number of bytes of whole batches. It is written by the
	// Log's writer after each append and read by readers.
	size atomic.Int64
	// needSync says something was written since the last fsync. Flush clears
	// it before syncing, so a write racing with the fsync sets it again.
	needSync atomic.Bool
	// idxBad says a read found the offset index pointing elsewhere than at
	// the batch its entry names (find); idxReported that Read logged it.
	idxBad, idxReported atomic.Bool
	// verify records which bytes the segment was opened with have been
	// checked by reads (verify.go).
	verify verifyState

	// Writer state, guarded by the Log's mu.
	bytesSinceIndex int64
	writebackFrom   int64     // where the next startWriteback begins (0 after open: clean pages cost nothing)
	rollTS          int64     // max timestamp of the first batch, -1 when unknown
	created         time.Time // when this process created or opened the segment
	keys            *keysFile // the key file being written (active segment of a compacted log), or nil

	tsMu        sync.Mutex // guards maxTS and maxTSOffset for readers
	maxTS       int64      // largest batch max timestamp, -1 when none
	maxTSOffset int64      // last offset of the batch that carried maxTS
}

func newSegment(dir string, base int64, file *segFile, idx, tidx *indexFile, txn *txnIndex, now time.Time) *segment {
	return &segment{
		base:    base,
		path:    segmentPath(dir, base, logSuffix),
		file:    file,
		idx:     &offsetIndex{indexFile: idx, base: base},
		tidx:    &timeIndex{indexFile: tidx, base: base},
		txn:     txn,
		rollTS:  -1,
		created: now,
		maxTS:   -1,
	}
}

// createSegment makes a new empty segment, replacing any stale files with
// the same base offset (left by a crash before recovery deleted them). Its
// .log file is left open (unused, so the cache may close it).
func createSegment(dir string, base int64, cfg Config, now time.Time) (*segment, error) {
	path := segmentPath(dir, base, logSuffix)
	file, err := createSegFile(files, path)
	if err != nil {
		return nil, fmt.Errorf("storage: create segment: %w", err)
	}
	// Left open but unused: the index files created next may take its
	// descriptor if the budget is short, and the first append reopens it.
	file.release()
	for _, suffix := range []string{indexSuffix, timeIndexSuffix, txnIndexSuffix, keysSuffix} {
		if err := os.Remove(segmentPath(dir, base, suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
			file.kill()
			return nil, fmt.Errorf("storage: create segment: %w", err)
		}
	}
	s, _, err := openSegmentFiles(dir, base, file, 0, false, nil, cfg, now)
	return s, err
}

// openSegment opens an existing segment. indexesOK is false when an index
// file is malformed by its shape; the caller rebuilds it. The .log file
// is opened only when first used. hasTxnIndex tells whether the segment
// has a .txnindex file (the caller listed the directory).
func openSegment(dir string, root *partDir, base int64, cfg Config, hasTxnIndex bool, now time.Time) (s *segment, indexesOK bool, err error) {
	path := segmentPath(dir, base, logSuffix)
	size, err := root.size(segmentName(base, logSuffix))
	if err != nil {
		return nil, false, fmt.Errorf("storage: open segment: %w", err)
	}
	return openSegmentFiles(dir, base, newSegFile(files, path), size, hasTxnIndex, root, cfg, now)
}

// openSegmentFiles loads the indexes of a segment whose .log file is file.
// On error file is killed.
//
// root is the directory of an existing segment (nil for a new one).
func openSegmentFiles(dir string, base int64, file *segFile, size int64, hasTxnIndex bool, root *partDir, cfg Config, now time.Time) (*segment, bool, error) {
	idx, ok1, err := openIndexFile(segmentPath(dir, base, indexSuffix), offsetEntrySize, cfg.SegmentIndexBytes, root)
	if err != nil {
		file.kill()
		return nil, false, err
	}
	tidx, ok2, err := openIndexFile(segmentPath(dir, base, timeIndexSuffix), timeEntrySize, cfg.SegmentIndexBytes, root)
	if err != nil {
		file.kill()
		return nil, false, err
	}
	txn, err := openTxnIndex(segmentPath(dir, base, txnIndexSuffix), base, hasTxnIndex)
	if err != nil {
		file.kill()
		return nil, false, err
	}
	s := newSegment(dir, base, file, idx, tidx, txn, now)
	s.size.Store(size)
	s.verify.unverifiedEnd.Store(size) // checked on first read (verify.go)
	return s, ok1 && ok2, nil
}

// readHeader reads the batch header at pos into buf and checks that the
// whole batch lies below end. It reads only the header, never the batch.
func (s *segment) readHeader(pos, end int64, buf []byte) (record.Header, error) {
	if pos+record.HeaderSize > end {
		return record.Header{}, &CorruptionError{Path: s.path, Pos: pos, Err: record.ErrShort}
	}
	f, err := s.file.acquire()
	if err != nil {
		return record.Header{}, fmt.Errorf("storage: read %s: %w", s.path, err)
	}
	defer s.file.release()
	return s.readHeaderFrom(f, pos, end, buf)
}

// readHeaderFrom is readHeader with the segment's file in use by the caller.
func (s *segment) readHeaderFrom(f *os.File, pos, end int64, buf []byte) (record.Header, error) {
	if pos+record.HeaderSize > end {
		return record.Header{}, &CorruptionError{Path: s.path, Pos: pos, Err: record.ErrShort}
	}
	if _, err := f.ReadAt(buf[:record.HeaderSize], pos); err != nil {
		return record.Header{}, fmt.Errorf("storage: read %s at %d: %w", s.path, pos, err)
	}
	h, err := record.ParseHeader(buf)
	if err != nil {
		return h, &CorruptionError{Path: s.path, Pos: pos, Err: err}
	}
	if pos+h.TotalSize() > end {
		return h, &CorruptionError{Path: s.path, Pos: pos, Err: record.ErrShort}
	}
	if h.BaseOffset < s.base || h.LastOffset()-s.base > 1<<31-1 {
		return h, corruptf(s.path, pos, "batch offsets [%d, %d] outside segment base %d", h.BaseOffset, h.LastOffset(), s.base)
	}
	return h, nil
}

// walk calls fn with the position and header of each batch in [from, end),
// reading headers only. It returns a CorruptionError at the first header
// that does not parse or whose batch runs past end.
func (s *segment) walk(from, end int64, fn func(pos int64, h record.Header) (stop bool)) error {
	if from >= end {
		return nil
	}
	f, err := s.file.acquire()
	if err != nil {
		return fmt.Errorf("storage: read %s: %w", s.path, err)
	}
	defer s.file.release()
	var buf [record.HeaderSize]byte
	for pos := from; pos < end; {
		h, err := s.readHeaderFrom(f, pos, end, buf[:])
		if err != nil {
			return err
		}
		if fn(pos, h) {
			return nil
		}
		pos += h.TotalSize()
	}
	return nil
}

// indexBatch updates the segment's timestamps and indexes for a batch just
// placed at pos. Append and every rebuild use it, so a rebuilt index is
// identical to the one written while appending: an entry for a batch is
// added when more than interval bytes went by since the previous entry
// (Kafka's rule), pointing at the batch's last offset and start position.
func (s *segment) indexBatch(pos int64, h *record.Header, interval int32) error {
	s.tsMu.Lock()
	if h.MaxTimestamp > s.maxTS {
		s.maxTS, s.maxTSOffset = h.MaxTimestamp, h.LastOffset()
	}
	maxTS, maxOff := s.maxTS, s.maxTSOffset
	s.tsMu.Unlock()
	if pos == 0 {
		s.rollTS = h.MaxTimestamp
	}
	if s.bytesSinceIndex > int64(interval) {
		s.idx.add(h.LastOffset(), pos)
		s.tidx.maybeAdd(maxTS, maxOff)
		s.bytesSinceIndex = 0
	}
	s.bytesSinceIndex += h.TotalSize()
	return nil
}

// maxTimestamp returns the largest batch max timestamp and the last offset
// of the batch that carried it; ts is -1 for an empty segment.
func (s *segment) maxTimestamp() (ts, offset int64) {
	s.tsMu.Lock()
	defer s.tsMu.Unlock()
	return s.maxTS, s.maxTSOffset
}

// resetState forgets indexes and timestamps before a rebuild.
func (s *segment) resetState() error {
	s.tsMu.Lock()
	s.maxTS, s.maxTSOffset = -1, 0
	s.tsMu.Unlock()
	s.rollTS = -1
	s.bytesSinceIndex = 0
	if err := s.idx.reset(); err != nil {
		return err
	}
	return s.tidx.reset()
}

// rebuildIndexes recreates both indexes from the batch headers of the first
// end bytes (no CRC check: it is for segments whose data is trusted).
func (s *segment) rebuildIndexes(end int64, interval int32) (next int64, err error) {
	if err := s.resetState(); err != nil {
		return 0, err
	}
	next = s.base
	var ierr error
	werr := s.walk(0, end, func(pos int64, h record.Header) bool {
		if ierr = s.indexBatch(pos, &h, interval); ierr != nil {
			return true
		}
		next = h.LastOffset() + 1
		return false
	})
	return next, errors.Join(werr, ierr)
}

// finish is called when the segment stops being active (roll, close): it
// records the segment's max timestamp as a last time index entry, as Kafka
// does, and writes out pending index entries.
func (s *segment) finish() error {
	if s.keys != nil {
		if err := s.keys.finish(s.size.Load()); err != nil {
			os.Remove(s.keys.path) // the cleaner walks the segment instead
		}
		s.keys = nil
	}
	// A segment nothing was written to since its last fsync needs none
	// (closing 100,000 idle logs was an fsync each).
	if ts, off := s.maxTimestamp(); ts >= 0 && s.tidx.maybeAdd(ts, off) {
		s.needSync.Store(true)
	}
	return s.writePending()
}

// finalTimeEntry gives a rebuilt inactive segment the time index entry
// finish gave it: its max timestamp, which a reopen reads from there.
func (s *segment) finalTimeEntry() {
	if ts, off := s.maxTimestamp(); ts >= 0 {
		s.tidx.maybeAdd(ts, off)
	}
}

// writePending writes the index entries that are only in memory (the
// three index files are opened, written and closed).
func (s *segment) writePending() error {
	if err := s.idx.writePending(); err != nil {
		return err
	}
	if err := s.tidx.writePending(); err != nil {
		return err
	}
	return s.txn.writePending()
}

// pendingFull reports whether an index has enough unwritten entries to
// be worth writing before the next flush.
func (s *segment) pendingFull() bool { return s.idx.pendingFull() || s.tidx.pendingFull() }

// sync fsyncs the log and the indexes that changed. Pending index entries
// must have been written (under the Log's mu) first.
func (s *segment) sync() error {
	f, err := s.file.acquire()
	if err != nil {
		return fmt.Errorf("storage: fsync %s: %w", s.path, err)
	}
	if err = injectedFault(OpSync, s.path); err == nil {
		err = f.Sync()
	}
	s.file.release()
	if err != nil {
		return fmt.Errorf("storage: fsync %s: %w", s.path, err)
	}
	if err := s.idx.sync(); err != nil {
		return err
	}
	if err := s.tidx.sync(); err != nil {
		return err
	}
	return s.txn.sync()
}

// truncate cuts the log file at pos, which must be a batch boundary.
func (s *segment) truncate(pos int64) error {
	if err := os.Truncate(s.path, pos); err != nil {
		return fmt.Errorf("storage: truncate %s to %d: %w", s.path, pos, err)
	}
	s.size.Store(pos)
	s.verify.resetVerified(pos)
	s.needSync.Store(true)
	s.writebackFrom = min(s.writebackFrom, pos&^(pageSize-1))
	s.dropKeys()
	return nil
}

// keysPath is the segment's key file.
func (s *segment) keysPath() string { return segmentPath(filepath.Dir(s.path), s.base, keysSuffix) }

// dropKeys deletes the segment's key file, written or finished: what it
// describes is no longer the segment.
func (s *segment) dropKeys() {
	s.closeKeys()
	os.Remove(s.keysPath())
}

// closeKeys closes the key file being written without finishing it (the
// next open deletes such a file).
func (s *segment) closeKeys() {
	s.keys = nil
}

// close drops the segment: its .log file is closed now, or when the last
// reader's Slice on it is released. Index files hold no descriptor.
func (s *segment) close() error {
	s.closeKeys()
	s.file.kill()
	return nil
}

// swappedIn gives a cleaned segment's files their final names, once the
// swap renamed them. The caller holds a use of the .log file.
func (s *segment) swappedIn() {
	s.file.rename(s.path)
	s.idx.file, s.tidx.file = s.idx.path, s.tidx.path
	s.txn.create = s.txn.path
}

// renameDeleted renames the segment's files to .deleted and closes it
// (readers holding a Slice keep the file open). It returns the new paths.
func (s *segment) renameDeleted() ([]string, error) {
	var errs []error
	var paths []string
	dir := filepath.Dir(s.path)
	s.file.kill() // before the rename: nobody opens it by its old name
	s.dropKeys()  // nobody reads it but the cleaner, which copes
	for _, suffix := range segmentSuffixes {
		from := segmentPath(dir, s.base, suffix)
		to := from + deletedSuffix
		if err := os.Rename(from, to); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("storage: %w", err))
			}
			continue
		}
		paths = append(paths, to)
	}
	errs = append(errs, s.close())
	return paths, errors.Join(errs...)
}

// remove unlinks the segment's files and closes it.
func (s *segment) remove() error {
	var errs []error
	s.file.kill()
	s.dropKeys()
	for _, suffix := range segmentSuffixes {
		if err := os.Remove(segmentPath(filepath.Dir(s.path), s.base, suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, s.close())
	return errors.Join(errs...)
}
