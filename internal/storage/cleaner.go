package storage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"slices"
	"time"
	"unsafe"

	"github.com/samsa-streaming/samsa/internal/record"
)

// Log compaction, as Kafka's LogCleaner does it for one log:
//
//  1. The dirty range runs from the first dirty offset (the cleaner offset,
//     or the log start) to the first uncleanable segment: the active one,
//     one not entirely below the high watermark, or one holding a record
//     younger than min.compaction.lag.ms. The pass runs only if the dirty
//     bytes are at least min.cleanable.dirty.ratio of the log from its
//     start to there, or max.compaction.lag.ms has passed for the oldest
//     dirty batch.
//  2. A map from key to the offset of its latest record is built over the
//     dirty range (stopping at a segment boundary if it outgrows
//     CleanOptions.MaxMapBytes). Records of aborted transactions (known from
//     the .txnindex entries, followed batch by batch in offset order as
//     Kafka's CleanedTransactionMetadata does) are left out of it.
//  3. Every segment from the log start to the end of the mapped range is
//     rewritten, in groups that fit one segment, keeping a record if it has
//     a key, no later record has the same key, and it is not a tombstone
//     whose batch's delete horizon has passed. Offsets are preserved; a
//     batch keeps its base and last offset (so producer sequences stay
//     consistent) and is dropped when empty, unless it is the last batch of
//     its producer, whose header is kept. Records of aborted transactions
//     are dropped. Batches with tombstones and no horizon get one: now +
//     delete.retention.ms (KIP-534). A transaction marker none of whose
//     transaction's batches the pass saw (all compacted away, or aborted
//     and dropped by an earlier pass) is stamped the same way, and its
//     .txnindex entry goes; a later pass past that horizon drops it,
//     unless it is its producer's last marker (Kafka's
//     CleanedTransactionMetadata; see filterMarker). The other .txnindex
//     entries of the group are carried over.
//  4. Each group's output is written to .cleaned files and fsynced, renamed
//     to .swap, and swapped in under the writer lock: the old segments are
//     renamed .deleted and the .swap files take their final names. Opening
//     a log completes a swap a crash interrupted (completeSwaps).

// CleanOptions are the broker-level settings of one cleaning pass.
type CleanOptions struct {
	// Limit is the high watermark offset: only segments entirely below it
	// are cleaned. Clean lowers it to the first offset of the earliest
	// transaction still open or ended at or above it.
	Limit int64
	// Throttle, if set, is told of every byte read or written and may
	// block (log.cleaner.io.max.bytes.per.second).
	Throttle *Throttler
	// MaxMapBytes bounds the memory of the key map
	// (log.cleaner.dedupe.buffer.size); zero means 128 MiB. At least one
	// segment is always mapped.
	MaxMapBytes int64
	// Cancel, when closed, stops the pass at the next batch with
	// ErrCleanCanceled; nothing half-done becomes visible.
	Cancel <-chan struct{}
	// Background, if set, runs the pass's heavy work (the key map pass,
	// writing and fsyncing each group) and waits for it: the broker runs
	// it at a low CPU priority. Swapping a group in takes the log's locks
	// and runs on the caller's goroutine.
	Background func(func())
}

func (o CleanOptions) background(fn func()) {
	if o.Background == nil {
		fn()
		return
	}
	o.Background(fn)
}

// ErrCleanCanceled is returned by Clean when CleanOptions.Cancel closes.
var ErrCleanCanceled = errors.New("storage: cleaning canceled")

// CleanStats reports a cleaning pass.
type CleanStats struct {
	FirstDirty, End int64 // the mapped dirty range [FirstDirty, End)
	Segments        int   // segments read for rewriting
	Rewritten       int   // new segments swapped in
	BytesRead       int64
	BytesWritten    int64
	RecordsRead     int64
	RecordsKept     int64
	Keys            int
	// KeyFiles counts the segments mapped from their key files (the rest
	// of the mapped segments were walked).
	KeyFiles int
	// MarkersStamped counts the transaction markers found without data
	// and given a delete horizon; MarkersRemoved those dropped.
	MarkersStamped, MarkersRemoved int
	// MapTime and RewriteTime are the durations of the two passes;
	// SyncTime is the part of RewriteTime spent waiting for fsync.
	MapTime, RewriteTime, SyncTime time.Duration
}

// Cleanable describes how dirty a log is, for the cleaner to pick the
// dirtiest log first.
type Cleanable struct {
	FirstDirty  int64
	DirtyBytes  int64
	Ratio       float64 // dirty bytes / (clean + dirty bytes)
	Due         bool    // max.compaction.lag.ms has passed for a dirty batch
	ShouldClean bool    // Ratio >= min.cleanable.dirty.ratio or Due
}

const defaultMaxMapBytes = 128 << 20

// cleanRange is the dirty range of a log as seen in one snapshot.
type cleanRange struct {
	firstDirty int64
	dirty      int // index of the first dirty segment
	end        int // index of the first uncleanable segment
	clean      int64
	dirtyBytes int64
	due        bool
}

func (l *Log) config() Config {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg
}

func dirtyRange(segs []*segment, start, cleanerOffset int64, cfg Config, now time.Time, limit int64) cleanRange {
	r := cleanRange{firstDirty: max(cleanerOffset, start)}
	for r.dirty+1 < len(segs) && segs[r.dirty+1].base <= r.firstDirty {
		r.dirty++
	}
	minLagCutoff := now.Add(-cfg.MinCompactionLag).UnixMilli()
	r.end = r.dirty
	for r.end+1 < len(segs) && segs[r.end+1].base <= limit {
		if cfg.MinCompactionLag > 0 && segs[r.end].largestTimestamp() > minLagCutoff {
			break
		}
		r.end++
	}
	for i, s := range segs[:r.end] {
		if i < r.dirty {
			r.clean += s.size.Load()
		} else {
			r.dirtyBytes += s.size.Load()
		}
	}
	if cfg.MaxCompactionLag > 0 && r.dirty < r.end {
		cutoff := now.Add(-cfg.MaxCompactionLag).UnixMilli()
		for _, s := range segs[r.dirty:r.end] {
			if ts := s.firstBatchTimestamp(); ts > 0 && ts < cutoff {
				r.due = true
				break
			}
		}
	}
	return r
}

// firstBatchTimestamp is the max timestamp of the segment's first batch
// (Kafka's LogSegment.getFirstBatchTimestamp), -1 if unknown.
func (s *segment) firstBatchTimestamp() int64 {
	var buf [record.HeaderSize]byte
	h, err := s.readHeader(0, s.size.Load(), buf[:])
	if err != nil {
		return -1
	}
	return h.MaxTimestamp
}

// Cleanable reports how dirty the log is at now for a high watermark of
// limit. ok is false when the log is not compacted.
func (l *Log) Cleanable(now time.Time, limit int64) (c Cleanable, ok bool) {
	cfg := l.config()
	if !cfg.CleanupCompact {
		return Cleanable{}, false
	}
	segs, _, start := l.snapshotState()
	r := dirtyRange(segs, start, l.cleanerOffset.Load(), cfg, now, min(limit, l.unstableBelow(limit)))
	c = Cleanable{FirstDirty: r.firstDirty, DirtyBytes: r.dirtyBytes, Due: r.due}
	if total := r.clean + r.dirtyBytes; total > 0 {
		c.Ratio = float64(r.dirtyBytes) / float64(total)
	}
	c.ShouldClean = r.dirtyBytes > 0 && (c.Ratio >= cfg.MinCleanableRatio || c.Due)
	return c, true
}

// CleanerOffset is the first offset not yet compacted (the log start if
// the log was never cleaned).
func (l *Log) CleanerOffset() int64 { return max(l.cleanerOffset.Load(), l.LogStartOffset()) }

// Clean runs one compaction pass if the log is compacted and dirty enough
// (or force is set and it has any dirty segment). It never touches the
// active segment, and appends and reads go on while it runs; the writer
// lock is held only to swap each rewritten group in.
func (l *Log) Clean(now time.Time, opt CleanOptions, force bool) (st CleanStats, err error) {
	l.cleanMu.Lock()
	defer l.cleanMu.Unlock()
	// Segments are mapped into memory while cleaned: a fault reading one
	// (an I/O error, a file cut short underneath) becomes an error of this
	// pass, not a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverFault(&err, "a segment of "+l.tp.String()+" while cleaning")
	cfg := l.config()
	if !cfg.CleanupCompact {
		return CleanStats{}, nil
	}
	if opt.MaxMapBytes <= 0 {
		opt.MaxMapBytes = defaultMaxMapBytes
	}
	segs, _, start := l.snapshotState()
	// Nothing at or past the first unstable offset is cleaned: an open
	// transaction may still abort, and its data must be seen whole.
	limit := min(opt.Limit, l.unstableBelow(opt.Limit))
	r := dirtyRange(segs, start, l.cleanerOffset.Load(), cfg, now, limit)
	if r.dirtyBytes == 0 && (r.dirty >= r.end || !force) {
		return CleanStats{}, nil
	}
	if !force && !r.due && float64(r.dirtyBytes) < cfg.MinCleanableRatio*float64(r.clean+r.dirtyBytes) {
		return CleanStats{}, nil
	}
	c := &cleaner{l: l, cfg: cfg, opt: opt, now: now, keys: newKeyMap(), from: r.firstDirty,
		noted: make(map[*segment][2]int), mapped: make(map[*segment]mapping),
		markers: newMarkerTracker(), walkedMarkers: make(map[int64]int64)}
	defer c.unmapAll()
	c.stats.FirstDirty = r.firstDirty
	// The aborted transactions with data in the segments to clean: their
	// records neither enter the key map nor survive.
	c.aborted = l.abortedTxns(segs[0].base, segs[r.end].base)
	c.mapTxns, c.txns = newAbortTracker(c.aborted), newAbortTracker(c.aborted)
	started := time.Now()
	var end int
	c.opt.background(func() { end, err = c.buildMap(segs[r.dirty:r.end+1], r.firstDirty) })
	if err != nil {
		return c.stats, err
	}
	c.stats.MapTime = time.Since(started)
	c.stats.End = segs[end+r.dirty].base
	c.limit = limit
	c.lastOffsets, c.producers, c.loads = l.producers.cleanerView()
	upto := r.dirty + end
	for _, g := range groupSegments(segs[:upto], cfg) {
		if err := c.cleanGroup(g); err != nil {
			return c.stats, err
		}
	}
	c.stats.RewriteTime = time.Since(started) - c.stats.MapTime
	if !c.skipped {
		l.cleanerOffset.Store(c.stats.End)
		// Every batch below segs[upto] was walked: producers whose last
		// marker was unknown (loaded from a snapshot) learn it.
		l.producers.learnLastMarkers(c.loads, segs[upto].base, c.walkedMarkers)
	}
	l.logger.Info("cleaned log", "partition", l.tp, "dirty_from", c.stats.FirstDirty, "dirty_to", c.stats.End,
		"segments", c.stats.Segments, "read_bytes", c.stats.BytesRead, "written_bytes", c.stats.BytesWritten,
		"records", c.stats.RecordsRead, "kept", c.stats.RecordsKept, "keys", c.stats.Keys, "key_files", c.stats.KeyFiles,
		"markers_stamped", c.stats.MarkersStamped, "markers_removed", c.stats.MarkersRemoved,
		"map_time", c.stats.MapTime, "rewrite_time", c.stats.RewriteTime, "sync_time", c.stats.SyncTime)
	return c.stats, nil
}

// groupSegments splits segs into runs that fit one segment: total size at
// most SegmentBytes and offsets within 2^31 of the first base (Kafka's
// groupSegmentsBySize).
func groupSegments(segs []*segment, cfg Config) [][]*segment {
	var out [][]*segment
	for len(segs) > 0 {
		n, size := 1, segs[0].size.Load()
		for n < len(segs) {
			next := segs[n]
			lastBound := int64(math.MaxInt64)
			if n+1 < len(segs) {
				lastBound = segs[n+1].base - 1
			}
			if size+next.size.Load() > cfg.SegmentBytes || lastBound-segs[0].base > math.MaxInt32 {
				break
			}
			size += next.size.Load()
			n++
		}
		out = append(out, segs[:n:n])
		segs = segs[n:]
	}
	return out
}

// cleaner is the state of one pass.
type cleaner struct {
	l    *Log
	cfg  Config
	opt  CleanOptions
	now  time.Time
	keys *keyMap // the keys of the mapped dirty range
	from int64   // the first dirty offset
	// The map pass numbers the records it walks (ordinals from 0, in log
	// order) and notes the key id (keyMap) and the position in its batch's
	// records section of each; noted gives each mapped segment's range of
	// ordinals. The rewriting pass reads them back with a cursor, cur,
	// that runs to curEnd (cur is -1 outside mapped segments).
	ids         []uint32
	pos         []uint32
	frees       []func() // frees the off-heap memory behind ids and pos
	noted       map[*segment][2]int
	cur, curEnd int
	// mapped holds the mappings of the mapped segments from the map pass
	// to the rewriting pass, so the second pass neither maps nor faults
	// them in again.
	mapped      map[*segment]mapping
	lastOffsets map[int64]int64 // producer id -> last offset of its last batch
	// aborted are the aborted transactions with data in the segments to
	// clean; mapTxns and txns follow them over the map pass and the
	// rewriting pass.
	aborted       []abortedTxn
	mapTxns, txns *abortTracker
	// Transaction markers (filterMarker). limit is the pass's limit (no
	// marker at or past it is judged); producers and loads are the
	// producer table as the rewriting pass began; markers follows the
	// producers over the rewriting pass.
	limit         int64
	producers     map[int64]producerView
	loads         uint64
	markers       markerTracker
	walkedMarkers map[int64]int64 // producer id -> offset of its last marker walked
	stats         CleanStats
	skipped       bool          // a group was not swapped in: do not move the cleaner offset
	w             *bufio.Writer // of the group being written, reused
	buf, out      []byte
	recs, comp    []byte
	built         []byte
	kept          []record.Record // of the batch being filtered
}

// buildMap maps keys over the dirty segments, all of segs but the last
// (the first uncleanable one, which bounds the previous); it returns how
// many segments it mapped (at least one).
func (c *cleaner) buildMap(segs []*segment, from int64) (int, error) {
	next := segs[len(segs)-1].base
	segs = segs[:len(segs)-1]
	for i, s := range segs {
		if i > 0 && c.keys.bytes()+int64(cap(c.ids))*keyMapRecordSize > c.opt.MaxMapBytes {
			return i, nil
		}
		first := len(c.ids)
		done, err := false, error(nil)
		end := next
		if i+1 < len(segs) {
			end = segs[i+1].base
		}
		// A key file lists the keys of aborted records too: a segment
		// with aborted data is walked instead.
		if from <= s.base && !c.hasAborted(s.base, end) {
			done, err = c.mapKeys(s)
		}
		if done || err != nil {
			if err != nil {
				return 0, err
			}
			c.noted[s] = [2]int{first, len(c.ids)}
			continue
		}
		err = c.eachBatch(s, true, func(_ int64, h *record.Header, batch []byte) error {
			if !c.mapsBatch(h) {
				return nil
			}
			if c.mapTxns.aborted(h) {
				// Noted as keyless, so the rewriting pass drops them
				// and they shadow no key.
				if int(h.NumRecords) > len(batch) {
					return corruptf(s.path, 0, "batch at offset %d claims %d records in %d bytes", h.BaseOffset, h.NumRecords, len(batch))
				}
				if len(c.ids)+int(h.NumRecords) >= lookupID {
					return fmt.Errorf("storage: cleaning %s: too many records for one pass", s.path)
				}
				c.reserve(len(c.ids) + int(h.NumRecords))
				for k := int32(0); k < h.NumRecords; k++ {
					c.ids = append(c.ids, noKeyID)
					c.pos = append(c.pos, uint32(k))
				}
				return nil
			}
			data, err := record.BatchRecords(c.recs, batch, h)
			if err != nil {
				return &CorruptionError{Path: s.path, Pos: 0, Err: err}
			}
			if h.Compression() != record.CompressionNone {
				c.recs = data
			}
			// A record takes at least one byte: a bad count cannot make
			// the arrays reserved below outgrow the batch.
			if int(h.NumRecords) > len(data) {
				return corruptf(s.path, 0, "batch at offset %d claims %d records in %d bytes", h.BaseOffset, h.NumRecords, len(data))
			}
			if len(c.ids)+int(h.NumRecords) >= lookupID {
				return fmt.Errorf("storage: cleaning %s: too many records for one pass", s.path)
			}
			c.reserve(len(c.ids) + int(h.NumRecords))
			var r record.Record
			for k, pos := int32(0), 0; k < h.NumRecords; k++ {
				n, err := record.DecodeRecordAt(data, pos, &r)
				if err != nil {
					return &CorruptionError{Path: s.path, Pos: 0, Err: fmt.Errorf("%w: batch at offset %d, record %d: %w", record.ErrCorrupt, h.BaseOffset, k, err)}
				}
				id := uint32(noKeyID)
				switch off := h.BaseOffset + int64(r.OffsetDelta); {
				case r.Key == nil:
				case off < from:
					id = lookupID
				default:
					id = c.keys.put(digestKey(r.Key), uint32(len(c.ids)))
				}
				c.ids = append(c.ids, id)
				c.pos = append(c.pos, uint32(pos))
				pos += n
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		c.noted[s] = [2]int{first, len(c.ids)}
	}
	c.stats.Keys = c.keys.len()
	return len(segs), nil
}

// hasAborted reports whether an aborted transaction may have data in
// [from, to).
func (c *cleaner) hasAborted(from, to int64) bool {
	for _, e := range c.aborted {
		if e.first < to && e.last >= from {
			return true
		}
	}
	return false
}

// mapKeys maps a segment from its key file, if it has a finished one that
// matches it, and reports whether it did. Every record of the segment must
// be at or after the first dirty offset. A key file that does not match is
// deleted, and the caller walks the segment.
func (c *cleaner) mapKeys(s *segment) (bool, error) {
	path := s.keysPath()
	f, err := files.openTransient(path, os.O_RDONLY, 0)
	if errors.Is(err, ErrTooManyOpenFiles) {
		return false, err
	}
	if err != nil {
		return false, nil
	}
	defer files.closeTransient(f)
	st, err := f.Stat()
	if err != nil {
		return false, nil
	}
	data, unmap, _ := mapSegment(f, st.Size())
	if data == nil {
		if data, err = os.ReadFile(path); err != nil {
			return false, nil
		}
	}
	defer unmap()
	entries, tr, err := checkKeys(data, s.base, s.size.Load())
	if err == nil {
		err = s.lastBatchMatches(tr)
	}
	if err != nil {
		c.l.logger.Info("not using a key file, walking its segment", "partition", c.l.tp, "path", path, "err", err)
		os.Remove(path)
		return false, nil
	}
	n := len(entries) / keysEntrySize
	if len(c.ids)+n >= lookupID {
		return false, fmt.Errorf("storage: cleaning %s: too many records for one pass", s.path)
	}
	c.stats.BytesRead += int64(len(data))
	c.opt.Throttle.Wait(int64(len(data)))
	c.reserve(len(c.ids) + n)
	be := binary.BigEndian
	for k := 0; k < n; k++ {
		if k&0xffff == 0 {
			select {
			case <-c.opt.Cancel:
				return false, ErrCleanCanceled
			default:
			}
		}
		e := entries[k*keysEntrySize : (k+1)*keysEntrySize]
		pos := be.Uint32(e[12:])
		id := uint32(noKeyID)
		if pos&keyless == 0 {
			id = c.keys.put(keyDigest{h0: be.Uint64(e), h1: be.Uint32(e[8:])}, uint32(len(c.ids)))
		}
		c.ids = append(c.ids, id)
		c.pos = append(c.pos, pos&^keyless)
	}
	c.stats.KeyFiles++
	return true, nil
}

// errKeyMapMismatch means a batch's records are not what the map pass
// noted for them (a key file that does not describe its segment).
var errKeyMapMismatch = errors.New("records do not match the key map pass")

// reserve makes room for n records in ids and pos, outside the Go heap
// (allocOffHeap), doubling as needed; unmapAll frees them.
func (c *cleaner) reserve(n int) {
	if n <= cap(c.ids) {
		return
	}
	size := max(n, 2*cap(c.ids), 1<<16)
	b, free := allocOffHeap(keyMapRecordSize * size)
	both := unsafe.Slice((*uint32)(unsafe.Pointer(&b[0])), 2*size)
	c.ids = append(both[:0:size], c.ids...)
	c.pos = append(both[size:size:2*size], c.pos...)
	for _, f := range c.frees { // the smaller arrays just copied
		f()
	}
	c.frees = append(c.frees[:0], free)
}

// mapsBatch reports whether the map pass walks a batch of a mapped segment
// (and so notes an id for each of its records).
func (c *cleaner) mapsBatch(h *record.Header) bool {
	return !h.IsControl() && h.LastOffset() >= c.from
}

// eachBatch reads a segment sequentially in large chunks and calls fn with
// each batch, whose bytes (pointing into the chunk) are valid only during
// the call.
func (c *cleaner) eachBatch(s *segment, keep bool, fn func(pos int64, h *record.Header, batch []byte) error) error {
	f, err := s.file.acquire()
	if err != nil {
		return err
	}
	defer s.file.release()
	size := s.size.Load()
	// step parses the batch at pos, the start of b, and calls fn.
	step := func(pos int64, b []byte, whole bool) (int64, error) {
		h, err := record.ParseHeader(b)
		if err != nil {
			return 0, &CorruptionError{Path: s.path, Pos: pos, Err: err}
		}
		n := h.TotalSize()
		if pos+n > size {
			return 0, corruptf(s.path, pos, "batch of %d bytes runs past the segment end %d", n, size)
		}
		if !whole && n > int64(len(b)) {
			return n, nil // the caller reads more
		}
		c.stats.BytesRead += n
		c.opt.Throttle.Wait(n)
		select {
		case <-c.opt.Cancel:
			return 0, ErrCleanCanceled
		default:
		}
		return n, fn(pos, &h, b[:n])
	}
	// Mapped, the segment is walked in place: batches that are dropped or
	// only looked at (the key map pass) are never copied.
	m, ok := c.mapped[s]
	if ok && int64(len(m.data)) != size {
		delete(c.mapped, s)
		m.unmap()
		ok = false
	}
	if !ok {
		m.data, m.unmap, _ = mapSegment(f, size)
		if m.data != nil && mappedHook != nil {
			mappedHook(s.path)
		}
	}
	if data := m.data; data != nil {
		if keep {
			c.mapped[s] = m
		} else {
			delete(c.mapped, s)
			defer m.unmap()
		}
		for pos := int64(0); pos < size; {
			n, err := step(pos, data[pos:], true)
			if err != nil {
				return err
			}
			pos += n
		}
		return nil
	}
	var chunk []byte // bytes of the file from chunkPos
	chunkPos := int64(0)
	for pos := int64(0); pos < size; {
		off := int(pos - chunkPos)
		if off+record.HeaderSize > len(chunk) {
			var err error
			if c.buf, err = c.readChunk(f, s, pos, size, record.HeaderSize); err != nil {
				return err
			}
			chunk, chunkPos, off = c.buf, pos, 0
		}
		n, err := step(pos, chunk[off:], false)
		if err != nil {
			return err
		}
		if off+int(n) > len(chunk) {
			if c.buf, err = c.readChunk(f, s, pos, size, int(n)); err != nil {
				return err
			}
			chunk, chunkPos = c.buf, pos
			if n, err = step(pos, chunk, false); err != nil {
				return err
			}
		}
		pos += n
	}
	return nil
}

// mapping is a segment mapped into memory.
type mapping struct {
	data  []byte
	unmap func()
}

// unmapAll unmaps the segments still mapped at the end of a pass and
// frees the per-record arrays.
func (c *cleaner) unmapAll() {
	for s, m := range c.mapped {
		delete(c.mapped, s)
		m.unmap()
	}
	c.ids, c.pos = nil, nil
	c.keys.free()
	for _, free := range c.frees {
		free()
	}
	c.frees = nil
}

// cleanerChunkBytes is the read size of the cleaner.
const cleanerChunkBytes = 4 << 20

// readChunk reads from pos up to cleanerChunkBytes (at least need bytes,
// at most to the segment end) into c.buf and returns it.
func (c *cleaner) readChunk(f *os.File, s *segment, pos, size int64, need int) ([]byte, error) {
	n := int(min(int64(max(cleanerChunkBytes, need)), size-pos))
	if n < need {
		return nil, corruptf(s.path, pos, "partial batch at the end of a segment")
	}
	buf := grow(c.buf, n)
	if _, err := f.ReadAt(buf, pos); err != nil {
		return nil, fmt.Errorf("storage: read %s at %d: %w", s.path, pos, err)
	}
	return buf, nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		nb := make([]byte, n, max(n, 2*cap(b)))
		copy(nb, b)
		return nb
	}
	return b[:n]
}

// errSegmentGone means a segment was dropped (retention, truncation, another
// swap) while a reader or the cleaner was about to use it.
var errSegmentGone = errors.New("storage: segment no longer in the log")

// filter decides the fate of one batch. It returns the bytes to write
// (batch itself when unchanged) or nil to drop the batch.
func (c *cleaner) filter(h *record.Header, batch []byte, path string, pos int64) ([]byte, error) {
	// The CRC is not checked here: every batch was checked when
	// appended, after a crash by recovery, and, for bytes on disk at open
	// that no read has checked yet, by checkForCleaner just before.
	// (Checking every batch cost as much as reading the log once.) The
	// structure of every batch and record is still checked as it is
	// walked.
	if h.IsControl() {
		c.txns.aborted(h)
		return c.filterMarker(h, batch, path, pos)
	}
	c.markers.dataBatch(h)
	c.kept = c.kept[:0]
	if c.txns.aborted(h) {
		// Data of an aborted transaction: no record survives (the
		// header of a producer's last batch does, below).
		if c.cur >= 0 && c.mapsBatch(h) {
			if c.cur+int(h.NumRecords) > c.curEnd {
				return nil, fmt.Errorf("storage: cleaning %s: batch at %d has more records than the key map pass saw: %w", path, pos, errKeyMapMismatch)
			}
			c.cur += int(h.NumRecords)
		}
		c.stats.RecordsRead += int64(h.NumRecords)
		return c.finishBatch(h, batch, false)
	}
	data, err := record.BatchRecords(c.recs, batch, h)
	if err != nil {
		return nil, &CorruptionError{Path: path, Pos: pos, Err: err}
	}
	if h.Compression() != record.CompressionNone {
		c.recs = data
	}
	horizonPassed := h.HasDeleteHorizon() && c.now.UnixMilli() >= h.FirstTimestamp
	if c.cur >= 0 && c.mapsBatch(h) {
		// The map pass noted every record of this batch: decide by
		// ordinal, and decode only the records that may be kept.
		first, end := c.cur, c.cur+int(h.NumRecords)
		if end > c.curEnd {
			return nil, fmt.Errorf("storage: cleaning %s: batch at %d has more records than the key map pass saw: %w", path, pos, errKeyMapMismatch)
		}
		c.cur = end
		c.stats.RecordsRead += int64(h.NumRecords)
		// What the pass noted must fit the batch: the first record at
		// the start of the records section, positions increasing, and
		// each record kept carrying the key its id says.
		if first < end && c.pos[first] != 0 {
			return nil, fmt.Errorf("storage: cleaning %s: batch at %d: %w", path, pos, errKeyMapMismatch)
		}
		var r record.Record
		for i := first; i < end; i++ {
			if i > first && c.pos[i] <= c.pos[i-1] {
				return nil, fmt.Errorf("storage: cleaning %s: batch at %d: %w", path, pos, errKeyMapMismatch)
			}
			id := c.ids[i]
			if id == noKeyID || (id != lookupID && c.keys.latest[id] != uint32(i)) {
				continue // keyless (Kafka drops those from compacted logs), or obsolete
			}
			if _, err := record.DecodeRecordAt(data, int(c.pos[i]), &r); err != nil {
				// The batch's CRC was checked on append: a position
				// that does not decode is a bad note, not bad data.
				return nil, fmt.Errorf("storage: cleaning %s: batch at %d: %w: %w", path, pos, errKeyMapMismatch, err)
			}
			if id == lookupID {
				if c.keys.has(r.Key) {
					continue
				}
			} else if got, ok := c.keys.id(r.Key); !ok || got != id {
				return nil, fmt.Errorf("storage: cleaning %s: batch at %d: %w", path, pos, errKeyMapMismatch)
			}
			if r.Value == nil && horizonPassed {
				continue
			}
			c.kept = append(c.kept, r)
		}
	} else {
		// Older than the mapped range: obsolete if the key was mapped.
		err = record.WalkRecords(data, h.NumRecords, func(r *record.Record) error {
			c.stats.RecordsRead++
			if r.Key != nil && !c.keys.has(r.Key) && (r.Value != nil || !horizonPassed) {
				c.kept = append(c.kept, *r)
			}
			return nil
		})
		if err != nil {
			return nil, &CorruptionError{Path: path, Pos: pos, Err: err}
		}
	}
	return c.finishBatch(h, batch, false)
}

// finishBatch builds what is left of a batch from the records in c.kept.
// A batch with tombstones, or a marker (a control batch whose
// transaction has no data left), gets a delete horizon if it has none.
func (c *cleaner) finishBatch(h *record.Header, batch []byte, marker bool) ([]byte, error) {
	kept := int32(len(c.kept))
	c.stats.RecordsKept += int64(kept)
	tombstones, maxTS := marker, int64(-1)
	for i := range c.kept {
		tombstones = tombstones || c.kept[i].Value == nil
		maxTS = max(maxTS, h.FirstTimestamp+c.kept[i].TimestampDelta)
	}
	stamp := tombstones && !h.HasDeleteHorizon()
	if kept == h.NumRecords && !stamp {
		return batch, nil
	}
	out := *h
	if kept == 0 {
		if h.ProducerID < 0 || c.lastOffsets[h.ProducerID] != h.LastOffset() {
			return nil, nil
		}
		// Keep the header of a producer's last batch so its epoch and
		// sequence survive (Kafka's BatchRetention.RETAIN_EMPTY).
		out.Attributes &^= record.CompressionMask | record.DeleteHorizonFlagBit
		out.FirstTimestamp, out.NumRecords = h.MaxTimestamp, 0
		c.built = record.BuildBatch(c.built[:0], &out, nil)
		return c.built, nil
	}
	// The kept records are copied as they are, or re-encoded with new
	// timestamp deltas if the batch's first timestamp moves (a delete
	// horizon is stamped).
	newFirst := h.FirstTimestamp
	if stamp {
		out.Attributes |= record.DeleteHorizonFlagBit
		newFirst = c.now.Add(c.cfg.DeleteRetention).UnixMilli()
	}
	retained := c.out[:0]
	for i := range c.kept {
		r := &c.kept[i]
		retained = record.AppendRetimed(retained, r, h.FirstTimestamp+r.TimestampDelta-newFirst)
	}
	section := retained
	if h.Compression() != record.CompressionNone {
		xerial := h.Compression() == record.CompressionSnappy && record.IsXerial(batch[record.HeaderSize:])
		var err error
		if c.comp, err = record.Compress(c.comp, retained, h.Compression(), xerial); err != nil {
			return nil, fmt.Errorf("storage: recompress: %w", err)
		}
		section = c.comp
	}
	out.FirstTimestamp, out.NumRecords = newFirst, kept
	if !h.HasLogAppendTime() {
		out.MaxTimestamp = maxTS
	}
	c.built = record.BuildBatch(c.built[:0], &out, section)
	c.out = retained[:0]
	return c.built, nil
}

// cleanerView returns what the cleaner needs of the producer table: each
// producer id's last offset of its last batch (kept even when all its
// records are obsolete), what decides whether a marker is its producer's
// last (producerView), and the load count.
func (p *producerState) cleanerView() (lastOffsets map[int64]int64, views map[int64]producerView, loads uint64) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	lastOffsets = make(map[int64]int64, len(p.producers))
	views = make(map[int64]producerView, len(p.producers))
	for id, e := range p.producers {
		if e.n > 0 {
			lastOffsets[id] = e.batches[e.n-1].lastOffset
		}
		views[id] = producerView{epoch: e.epoch, lastMarker: e.lastMarker, batches: e.n > 0}
	}
	return lastOffsets, views, p.loads
}

// cleanGroup rewrites a group of segments into one and swaps it in.
func (c *cleaner) cleanGroup(group []*segment) error {
	l := c.l
	base := group[0].base
	sizes := make([]int64, len(group))
	for i, s := range group {
		sizes[i] = s.size.Load()
	}
	var seg *segment
	var err error
	c.opt.background(func() { seg, err = c.writeGroup(group) })
	if err != nil || seg == nil {
		return err
	}
	// writeGroup returns the new segment's .log file in use (createCleaned).
	defer seg.file.release()
	// Before the swap commits: no producer snapshot may still hold open a
	// transaction whose marker the new segment drops.
	if err := l.dropStaleSnapshots(c.markers.removed); err != nil {
		seg.close()
		removeFiles(cleanedPaths(l.dir, base, cleanedSuffix))
		return err
	}
	// The swap takes the log's locks: it runs on the caller's thread,
	// never at the background priority (a writer of this partition would
	// wait for a thread the kernel seldom runs).
	swapped, err := l.swapIn(group, sizes, seg, c.now)
	if !swapped {
		seg.close()
		removeFiles(cleanedPaths(l.dir, base, cleanedSuffix))
	}
	if err != nil {
		return err
	}
	l.logger.Debug("cleaned segment group", "partition", l.tp, "base", base, "segments", len(group), "bytes", seg.size.Load(), "swapped", swapped)
	if swapped {
		c.stats.Rewritten++
	} else {
		c.skipped = true
	}
	return nil
}

// writeGroup writes the cleaned segment of a group and fsyncs it. It
// returns nil if the group is unchanged, or was dropped by retention or
// truncation meanwhile (c.skipped).
func (c *cleaner) writeGroup(group []*segment) (_ *segment, err error) {
	l := c.l
	base := group[0].base
	seg, err := createCleaned(l.dir, base, c.cfg, c.now)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			seg.close()
			seg.file.release()
			removeFiles(cleanedPaths(l.dir, base, cleanedSuffix))
		}
	}()
	dst := seg.file.inUse()
	if c.w == nil {
		c.w = bufio.NewWriterSize(dst, 1<<20)
	}
	w := c.w
	w.Reset(dst)
	var pos, flushed int64
	changed := len(group) > 1
	c.markers.startGroup()
	for _, s := range group {
		c.stats.Segments++
		c.cur, c.curEnd = -1, -1
		if r, ok := c.noted[s]; ok {
			c.cur, c.curEnd = r[0], r[1]
		}
		err := c.eachBatch(s, false, func(p int64, h *record.Header, batch []byte) error {
			if err := l.checkForCleaner(s, p, h, batch); err != nil {
				return err
			}
			out, err := c.filter(h, batch, s.path, p)
			if err != nil || out == nil {
				changed = true
				return err
			}
			if len(out) != len(batch) || &out[0] != &batch[0] {
				changed = true
			}
			oh, err := record.ParseHeader(out)
			if err != nil {
				return err
			}
			if _, err := w.Write(out); err != nil {
				return fmt.Errorf("storage: write cleaned segment: %w", err)
			}
			c.opt.Throttle.Wait(int64(len(out)))
			if err := seg.indexBatch(pos, &oh, c.cfg.IndexIntervalBytes); err != nil {
				return err
			}
			pos += int64(len(out))
			if pos-flushed >= writebackBytes {
				// Start writing back now, so the fsync before the swap
				// does not wait for the whole segment.
				if err := w.Flush(); err != nil {
					return fmt.Errorf("storage: write cleaned segment: %w", err)
				}
				startWriteback(dst, flushed, pos-flushed)
				flushed = pos
			}
			return nil
		})
		if errors.Is(err, errSegmentGone) {
			c.skipped = true
			return nil, nil // retention or truncation got there first
		}
		if err == nil && c.cur != c.curEnd {
			err = fmt.Errorf("storage: cleaning %s: %d records fewer than the key map pass saw: %w", s.path, c.curEnd-c.cur, errKeyMapMismatch)
		}
		if errors.Is(err, errKeyMapMismatch) {
			// A key file described something else: without them the
			// next pass walks the segments.
			for _, s := range group {
				os.Remove(s.keysPath())
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if !changed {
		return nil, nil
	}
	// The txn index entries of markers whose transaction has no data
	// left go (their marker goes now or after its horizon; an entry must
	// never outlive its marker, or a read_committed consumer would skip
	// the producer's later transactions). The rest are carried over.
	var carried []abortedTxn
	for _, s := range group {
		for _, e := range s.txn.all() {
			if pid, ok := c.markers.empty[e.last]; !ok || pid != e.pid {
				carried = append(carried, e)
			}
		}
	}
	seg.txn.writeAll(carried)
	// A .txnindex at the group's base is the new segment's only if the old
	// segment there had none (completeSwaps): if the old one had a file,
	// the new one has one too, empty if need be.
	if group[0].txn.hasFile() {
		seg.txn.ensureFile()
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("storage: write cleaned segment: %w", err)
	}
	seg.size.Store(pos)
	if err := seg.finish(); err != nil {
		return nil, err
	}
	syncStart := time.Now()
	if err := seg.sync(); err != nil {
		return nil, err
	}
	c.stats.SyncTime += time.Since(syncStart)
	c.stats.BytesWritten += pos
	ok = true
	return seg, nil
}

// writebackBytes is how much cleaned output is buffered before its
// writeback is started.
const writebackBytes = 4 << 20

// cleanedPaths names a cleaned segment's files with a suffix: log,
// offset index, time index, txn index (the last may not exist).
func cleanedPaths(dir string, base int64, suffix string) []string {
	out := make([]string, 0, len(segmentSuffixes))
	for _, s := range segmentSuffixes {
		out = append(out, segmentPath(dir, base, s)+suffix)
	}
	return out
}

// swapOrder is the order in which a cleaned segment's files (indexes of
// cleanedPaths) are renamed: the log file last, so that its new name
// means every other file has its new name too.
var swapOrder = []int{1, 2, 3, 0}

// nextBaseLocked is the base offset of the segment after seg, or the log
// end when seg is the last. mu must be held.
func (l *Log) nextBaseLocked(seg *segment) int64 {
	for i, s := range l.segs {
		if s == seg && i+1 < len(l.segs) {
			return l.segs[i+1].base
		}
	}
	return l.leo + 1
}

// createCleaned creates the .cleaned files of a segment at base. The
// segment's paths are the final names, which it will have once swapped in.
// Its .log file is returned in use by the caller, so it stays open (and is
// never reopened by a name about to change) until the swap is done.
func createCleaned(dir string, base int64, cfg Config, now time.Time) (*segment, error) {
	paths := cleanedPaths(dir, base, cleanedSuffix)
	if err := removeFiles(paths); err != nil {
		return nil, err
	}
	file, err := createSegFile(files, paths[0])
	if err != nil {
		return nil, fmt.Errorf("storage: create cleaned segment: %w", err)
	}
	idx, _, err := openIndexFile(paths[1], offsetEntrySize, cfg.SegmentIndexBytes, nil)
	if err == nil {
		var tidx *indexFile
		if tidx, _, err = openIndexFile(paths[2], timeEntrySize, cfg.SegmentIndexBytes, nil); err == nil {
			idx.path, tidx.path = segmentPath(dir, base, indexSuffix), segmentPath(dir, base, timeIndexSuffix)
			txn := newTxnIndex(segmentPath(dir, base, txnIndexSuffix), base)
			txn.create = paths[3] // created only if the group carries entries
			return newSegment(dir, base, file, idx, tidx, txn, now), nil
		}
	}
	file.kill()
	file.release()
	return nil, err
}

// swapIn replaces group with seg, whose .cleaned files are complete and
// fsynced: rename them to .swap (the commit point: from here a crash
// completes the swap at the next open), then under the writer lock publish
// the new segment list, rename the old segments to .deleted and give the
// .swap files their final names, the log file last. If the group is no
// longer in the log as it was read (retention, truncation), nothing is
// swapped and swapped is false.
func (l *Log) swapIn(group []*segment, sizes []int64, seg *segment, now time.Time) (swapped bool, err error) {
	cleaned := cleanedPaths(l.dir, seg.base, cleanedSuffix)
	swaps := cleanedPaths(l.dir, seg.base, swapSuffix)
	crashPoint("cleaned", l.dir)
	// Indexes first: a .log.swap exists only once all the others are
	// renamed.
	for _, i := range swapOrder {
		if err := os.Rename(cleaned[i], swaps[i]); err != nil && !(i == 3 && errors.Is(err, os.ErrNotExist)) {
			return false, fmt.Errorf("storage: %w", err)
		}
		crashPoint("to-swap", l.dir)
	}
	if err := syncDir(l.dir); err != nil {
		return false, err
	}
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	k := -1
	for i, s := range l.segs {
		if s == group[0] {
			k = i
			break
		}
	}
	current := k >= 0 && k+len(group) < len(l.segs) && l.writableLocked() == nil
	for j := 0; current && j < len(group); j++ {
		current = l.segs[k+j] == group[j] && group[j].size.Load() == sizes[j]
	}
	if !current {
		return false, removeFiles(swaps)
	}
	segs := make([]*segment, 0, len(l.segs)-len(group)+1)
	segs = append(append(append(segs, l.segs[:k]...), seg), l.segs[k+len(group):]...)
	l.stateMu.Lock()
	l.segs = segs
	l.stateMu.Unlock()
	var errs []error
	for _, s := range group {
		errs = append(errs, l.deleteSegmentLocked(s, now))
		crashPoint("deleted", l.dir)
	}
	final := cleanedPaths(l.dir, seg.base, "")
	for _, i := range swapOrder {
		if err := os.Rename(swaps[i], final[i]); err != nil && !(i == 3 && errors.Is(err, os.ErrNotExist)) {
			errs = append(errs, fmt.Errorf("storage: %w", err))
		}
		crashPoint("to-final", l.dir)
	}
	seg.swappedIn()
	// Transactions whose first batch moved are located again.
	l.relocateTxns(seg.base, l.nextBaseLocked(seg))
	l.dirDirty.Store(true)
	if err := errors.Join(errs...); err != nil {
		// The files are in an unknown state; the next open sorts them out.
		return true, l.fail(err)
	}
	return true, nil
}

// crashHook, set only by tests, sees the partition directory at each step
// of a swap, so a test can copy the files a kill -9 at that moment would
// leave.
var crashHook func(stage, dir string)

// mappedHook, set by tests, runs when the cleaner has mapped a segment.
var mappedHook func(path string)

func crashPoint(stage, dir string) {
	if crashHook != nil {
		crashHook(stage, dir)
	}
}

// completeSwaps finishes swaps interrupted by a crash, as Kafka's log
// loader does: a <base>.log.swap is complete cleaner output, so every
// segment whose base offset lies in its offset range is deleted and the
// .swap files take their final names. Leftover .cleaned, .deleted and
// orphan index .swap files are removed afterwards by removeStrayFiles.
// swapped reports whether any swap was finished (names is then stale).
func completeSwaps(dir string, names dirNames) (swapped bool, _ error) {
	for _, name := range names {
		base, ok := parseOffsetName(name, logSuffix+swapSuffix)
		if !ok {
			continue
		}
		swapped = true
		next, err := swapEnd(dir, base)
		if err != nil {
			return swapped, err
		}
		bases, err := listSegmentBases(dir)
		if err != nil {
			return swapped, err
		}
		swaps, final := cleanedPaths(dir, base, swapSuffix), cleanedPaths(dir, base, "")
		// A <base>.txnindex is the new segment's when its .swap was
		// already renamed: then there is no .txnindex.swap, and the old
		// segment at base was renamed .deleted before (its .log is gone).
		// Otherwise it is the old segment's. (A cleaned segment has a
		// .txnindex, empty if need be, whenever the old segment at its
		// base had one: writeGroup.)
		_, swapErr := os.Stat(swaps[3])
		keepTxn := errors.Is(swapErr, os.ErrNotExist) && !slices.Contains(bases, base)
		for _, b := range bases {
			if b >= base && b < next {
				if err := removeFiles(append(cleanedPaths(dir, b, ""), segmentPath(dir, b, keysSuffix))); err != nil {
					return swapped, err
				}
			}
		}
		stale := append(final[:3:3], segmentPath(dir, base, keysSuffix))
		if !keepTxn {
			stale = append(stale, final[3])
		}
		if err := removeFiles(stale); err != nil {
			return swapped, err
		}
		for _, i := range swapOrder {
			if err := os.Rename(swaps[i], final[i]); err != nil && !errors.Is(err, os.ErrNotExist) {
				return swapped, fmt.Errorf("storage: complete swap: %w", err)
			}
		}
		if err := syncDir(dir); err != nil {
			return swapped, err
		}
	}
	return swapped, nil
}

// swapEnd is the offset after the last batch of a .log.swap file (its base
// when empty).
func swapEnd(dir string, base int64) (int64, error) {
	path := segmentPath(dir, base, logSuffix) + swapSuffix
	st, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("storage: open swap: %w", err)
	}
	s := &segment{base: base, path: path, file: newSegFile(files, path)}
	defer s.file.kill()
	next := base
	err = s.walk(0, st.Size(), func(_ int64, h record.Header) bool {
		next = h.LastOffset() + 1
		return false
	})
	if err != nil {
		return 0, err
	}
	return next, nil
}
