package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sort"

	"github.com/samsa-streaming/samsa/internal/record"
)

// NoLimit passed as Read's limit reads up to the log end.
var NoLimit = Position{Offset: math.MaxInt64}

// Slice is a byte range of one segment file, to be sent with sendfile or
// read with ReadAt at Pos (never through the file's seek position, which
// other readers share). It holds a reference on the file: call Release once
// when done, after which File must not be used. The file stays open, even if
// the segment is deleted meanwhile, until every Slice on it is released.
// The last batch in the range may be cut short; Kafka clients drop a
// trailing partial batch.
type Slice struct {
	File *os.File
	Pos  int64
	Size int64
	ref  *segFile
}

// Release drops the Slice's file reference. It is safe on an empty Slice
// and on a Slice already released through the same variable.
func (s *Slice) Release() {
	if s.ref != nil {
		s.ref.release()
		s.ref = nil
	}
}

// Bytes reads the Slice into memory, for tests and tools.
func (s *Slice) Bytes() ([]byte, error) {
	if s.Size == 0 {
		return nil, nil
	}
	b := make([]byte, s.Size)
	_, err := io.ReadFull(io.NewSectionReader(s.File, s.Pos, s.Size), b)
	return b, err
}

// Read returns the bytes of the log starting at the batch that holds
// offset, like Kafka's LogSegment.read: at most maxBytes (or the whole
// first batch if minOneBatch and it is larger), never past limit (a high
// watermark Position, or NoLimit) nor the log end, and never past the end
// of the segment holding offset. An offset equal to the log end or to
// limit.Offset gives an empty Slice. Only batch headers are read from disk,
// except on the first read of bytes that were on disk when the log was
// opened: their batches are checked first (verify.go), and the Slice stops
// before a bad one; a read that starts at a bad batch returns its
// BatchCorruptionError.
func (l *Log) Read(offset int64, maxBytes int32, minOneBatch bool, limit Position) (Slice, error) {
	// A segment can leave the list between the snapshot and the read: the
	// cleaner swapped a rewritten one in (retry with the new list) or
	// retention deleted it (the retry finds offset below the log start).
	for try := 0; ; try++ {
		s, err := l.read(offset, maxBytes, minOneBatch, limit)
		if !errors.Is(err, errSegmentGone) {
			return s, err
		}
		if try == 100 {
			return Slice{}, fmt.Errorf("%w: offset %d was deleted", ErrOffsetOutOfRange, offset)
		}
		runtime.Gosched()
	}
}

func (l *Log) read(offset int64, maxBytes int32, minOneBatch bool, limit Position) (Slice, error) {
	segs, end, start := l.snapshotState()
	if offset < start || offset > end.Offset {
		return Slice{}, fmt.Errorf("%w: offset %d not in [%d, %d]", ErrOffsetOutOfRange, offset, start, end.Offset)
	}
	if limit.Offset < 0 || limit.Offset >= end.Offset {
		limit = end
	}
	if offset >= limit.Offset {
		return Slice{}, nil
	}
	i := sort.Search(len(segs), func(i int) bool { return segs[i].base > offset }) - 1
	for i = max(i, 0); i < len(segs); i++ {
		seg := segs[i]
		if seg.base > limit.SegmentBase {
			break
		}
		s, found, err := l.readSegment(seg, offset, maxBytes, minOneBatch, end, limit)
		if err != nil || found {
			return s, err
		}
	}
	return Slice{}, nil
}

func (l *Log) readSegment(seg *segment, offset int64, maxBytes int32, minOneBatch bool, end, limit Position) (Slice, bool, error) {
	f, err := seg.file.acquire()
	if err != nil {
		return Slice{}, false, err
	}
	segEnd := seg.size.Load()
	if seg.base == end.SegmentBase {
		segEnd = min(segEnd, end.FilePos)
	}
	if seg.base == limit.SegmentBase {
		segEnd = min(segEnd, limit.FilePos)
	}
	pos, h, found, err := seg.find(offset, segEnd)
	if seg.idxBad.Load() && seg.idxReported.CompareAndSwap(false, true) {
		l.logger.Warn("offset index entry does not point at its batch; the segment is read from its start until the next open rebuilds its index",
			"partition", l.tp, "index", seg.idx.path, "offset", offset)
	}
	if err != nil || !found {
		seg.file.release()
		return Slice{}, false, err
	}
	n := min(int64(max(maxBytes, 0)), segEnd-pos)
	if minOneBatch && h.TotalSize() > n {
		n = min(h.TotalSize(), segEnd-pos)
	}
	if n <= 0 {
		seg.file.release()
		return Slice{}, true, nil
	}
	// Bytes that were on disk at open are checked on their first read
	// (verify.go); a bad batch is never served.
	if good, err := l.verifyRead(seg, f, pos, pos+n, segEnd); err != nil && good <= pos {
		seg.file.release()
		return Slice{}, true, err
	} else if good < pos+n {
		n = good - pos
	}
	return Slice{File: f, Pos: pos, Size: n, ref: seg.file}, true, nil
}

// find translates offset to the position of the first batch in [0, end)
// whose last offset is >= offset, using the sparse index and then a walk
// over headers.
//
// An index entry is the last offset of the batch at its position (in a
// log Kafka wrote, of the last of the batches appended together there),
// so the batch read there cannot end after it; when it does, or no header
// parses there, the entry points past batches the walk would skip: the
// index is damaged (a byte flip that kept its entries in order passes the
// checks at open). The segment is then marked (idxBad, which Read reports
// once) and walked from its start, now and from then on. An entry moved
// back to an earlier batch only makes the walk longer.
func (s *segment) find(offset, end int64) (pos int64, h record.Header, found bool, err error) {
	entry, from := s.idx.lookup(offset)
	if from >= end || s.idxBad.Load() {
		from = 0
	}
	first := from > 0
	mismatch := false
	err = s.walk(from, end, func(p int64, hh record.Header) bool {
		if first {
			first = false
			if hh.LastOffset() > entry {
				mismatch = true
				return true
			}
		}
		if hh.LastOffset() >= offset {
			pos, h, found = p, hh, true
			return true
		}
		return false
	})
	if from > 0 && (mismatch || errors.Is(err, ErrCorrupt)) {
		s.idxBad.Store(true)
		return s.find(offset, end)
	}
	return pos, h, found, err
}

// OffsetForTimestamp answers ListOffsets by time: the first offset (at or
// after the log start) whose record timestamp is >= ts, and that
// timestamp. The segment is chosen by its max timestamp, the start position
// by the time and offset indexes, then batch headers are walked to the
// first batch whose max timestamp reaches ts. Inside an uncompressed
// CreateTime batch the records are walked to the exact record; for a
// compressed or LogAppendTime batch the batch base offset and the batch max
// timestamp are returned (documented difference from Kafka, which
// decompresses). ok is false when no record is that recent.
func (l *Log) OffsetForTimestamp(ts int64) (offset int64, timestamp int64, ok bool) {
	segs, end, start := l.snapshotState()
	for _, seg := range segs {
		if maxTS, _ := seg.maxTimestamp(); maxTS < ts {
			continue
		}
		if _, err := seg.file.acquire(); err != nil {
			continue
		}
		off, t, found := seg.searchTime(ts, start, segmentEnd(seg, end))
		seg.file.release()
		if found {
			return off, t, true
		}
	}
	return -1, -1, false
}

func segmentEnd(seg *segment, end Position) int64 {
	n := seg.size.Load()
	if seg.base == end.SegmentBase {
		n = min(n, end.FilePos)
	}
	return n
}

func (s *segment) searchTime(ts, start, end int64) (int64, int64, bool) {
	_, pos := s.idx.lookup(max(s.tidx.lookup(ts), start))
	if pos >= end {
		pos = 0
	}
	var off, t int64
	found := false
	s.walk(pos, end, func(p int64, h record.Header) bool {
		if h.MaxTimestamp < ts || h.LastOffset() < start {
			return false
		}
		off, t, found = s.recordAtTime(p, &h, func(rts, roff int64) bool { return rts >= ts && roff >= start })
		off = max(off, start)
		return found
	})
	return off, t, found
}

// recordAtTime finds the first record of the batch at pos accepted by
// match. Compressed and LogAppendTime batches answer with the batch base
// offset (at least the log start) and the batch max timestamp.
func (s *segment) recordAtTime(pos int64, h *record.Header, match func(ts, off int64) bool) (int64, int64, bool) {
	if h.Compression() != record.CompressionNone || h.HasLogAppendTime() || h.IsControl() {
		return h.BaseOffset, h.MaxTimestamp, match(h.MaxTimestamp, h.LastOffset())
	}
	b := make([]byte, h.TotalSize())
	if err := s.file.readAt(b, pos); err != nil {
		return h.BaseOffset, h.MaxTimestamp, match(h.MaxTimestamp, h.LastOffset())
	}
	found := false
	var off, ts int64
	walkRecords(b, h, func(rts, roff int64) bool {
		if match(rts, roff) {
			off, ts, found = roff, rts, true
			return true
		}
		return false
	})
	if !found {
		return h.BaseOffset, h.MaxTimestamp, match(h.MaxTimestamp, h.LastOffset())
	}
	return off, ts, true
}

// walkRecords calls fn with the timestamp and offset of each record of an
// uncompressed v2 batch, stopping when fn returns true or at the first
// malformed record. Only the fields up to the offset delta are decoded.
// TODO: move to internal/record once it grows a record iterator.
func walkRecords(b []byte, h *record.Header, fn func(ts, off int64) bool) {
	r := b[record.HeaderSize:]
	for i := int32(0); i < h.NumRecords && len(r) > 0; i++ {
		length, n := binary.Varint(r)
		if n <= 0 || length < 0 || length > int64(len(r)-n) {
			return
		}
		body := r[n : n+int(length)]
		r = r[n+int(length):]
		if len(body) < 1 {
			return
		}
		tsDelta, n1 := binary.Varint(body[1:])
		if n1 <= 0 {
			return
		}
		offDelta, n2 := binary.Varint(body[1+n1:])
		if n2 <= 0 {
			return
		}
		if fn(h.FirstTimestamp+tsDelta, h.BaseOffset+offDelta) {
			return
		}
	}
}

// MaxTimestamp answers ListOffsets with timestamp -3: the largest record
// timestamp in the log and the offset of the first record carrying it
// (the batch base offset for compressed batches), or (-1, -1) when the log
// is empty.
func (l *Log) MaxTimestamp() (ts, offset int64) {
	segs, end, start := l.snapshotState()
	var best *segment
	ts = -1
	for _, s := range segs {
		if t, _ := s.maxTimestamp(); t > ts {
			ts, best = t, s
		}
	}
	if best == nil {
		return -1, -1
	}
	if _, err := best.file.acquire(); err != nil {
		return -1, -1
	}
	defer best.file.release()
	_, lastOff := best.maxTimestamp()
	pos, h, found, err := best.find(lastOff, segmentEnd(best, end))
	if err != nil || !found {
		return ts, max(lastOff, start)
	}
	off, _, ok := best.recordAtTime(pos, &h, func(rts, roff int64) bool { return rts == ts })
	if !ok {
		off = h.BaseOffset
	}
	return ts, max(off, start)
}

// PositionOf returns the Position of offset when a batch starts there (or
// it is the log end): what a high watermark that moved to offset needs,
// since replicas report batch boundaries. ok is false when offset is out
// of the log or inside a batch.
func (l *Log) PositionOf(offset int64) (Position, bool) {
	for try := 0; try < 100; try++ {
		segs, end, start := l.snapshotState()
		if offset == end.Offset {
			return end, true
		}
		if offset < start || offset > end.Offset {
			return Position{}, false
		}
		i := sort.Search(len(segs), func(i int) bool { return segs[i].base > offset }) - 1
		if i < 0 {
			return Position{}, false
		}
		seg := segs[i]
		if _, err := seg.file.acquire(); err != nil {
			if !errors.Is(err, errSegmentGone) {
				return Position{}, false
			}
			runtime.Gosched()
			continue // swapped by the cleaner or deleted: look again
		}
		size := seg.size.Load()
		if seg.base == end.SegmentBase {
			size = min(size, end.FilePos)
		}
		pos, h, found, err := seg.find(offset, size)
		seg.file.release()
		if err != nil || !found {
			if err == nil && seg.base == offset {
				return Position{Offset: offset, SegmentBase: seg.base, FilePos: 0}, true
			}
			return Position{}, false
		}
		if h.BaseOffset != offset {
			if seg.base == offset && pos == 0 {
				// The segment starts with a gap (compaction): its first
				// batch begins after offset, and nothing lies between.
				return Position{Offset: offset, SegmentBase: seg.base, FilePos: 0}, true
			}
			return Position{}, false
		}
		return Position{Offset: offset, SegmentBase: seg.base, FilePos: pos}, true
	}
	return Position{}, false
}
