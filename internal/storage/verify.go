package storage

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/samsa-streaming/samsa/internal/record"
)

// Verification on first read.
//
// Segment bytes that were on disk when the log was opened and that the
// open did not validate (everything below the recovery point, and every
// segment after a clean shutdown, bar the few tail batches it walks) are
// checked the first time a read reaches them: batch length inside the
// segment, offsets inside the segment and increasing, CRC32C. Bytes this
// process wrote need no check: a leader's batches were validated on
// produce, a follower's by the fetcher before AppendFollower, and recovery
// validated what it kept.
//
// A segment knows where the bytes it was opened with end (unverifiedEnd;
// 0 for a segment created by this process or validated by recovery) and
// which ranges of them reads have checked (spans, whole batches). A read
// that stays inside checked bytes costs one or two atomic loads; one that
// reaches past them checks the batches from where the checked range it
// starts in ends (or from its own start) to the end of what it serves,
// plus at most the rest of its last batch: never more than about the
// bytes it serves. Appends do nothing at all for it.
//
// A bad batch is never served: the read stops before it (the consumer
// gets every record before it), and a read that starts at it fails with a
// BatchCorruptionError, which the broker answers with CORRUPT_MESSAGE
// (Kafka's answer when its read of a segment raises
// CorruptRecordException). It is logged once, with the file, the byte
// position and the offsets its header claims, and counted
// (Log.CorruptBatches). Appends go on; reads that start after the bad
// batch (a consumer that seeks past it) are served if their bytes check.

// ErrCorruptBatch is wrapped by every BatchCorruptionError.
var ErrCorruptBatch = errors.New("storage: corrupt record batch in a segment")

// BatchCorruptionError is a batch that a read found damaged: its length,
// offsets or CRC are wrong. It is never served.
type BatchCorruptionError struct {
	Path string // segment file
	Pos  int64  // byte position of the batch in the file
	// BaseOffset and LastOffset are what its header says (-1 when the
	// header does not parse); the base offset lies outside the CRC.
	BaseOffset, LastOffset int64
	Err                    error // what was wrong (record.ErrCRC, ...)
}

func (e *BatchCorruptionError) Error() string {
	return fmt.Sprintf("storage: corrupt batch in %s at byte %d (offsets %d-%d): %v", e.Path, e.Pos, e.BaseOffset, e.LastOffset, e.Err)
}

// Unwrap lets errors.Is match ErrCorruptBatch, ErrCorrupt and the cause.
func (e *BatchCorruptionError) Unwrap() []error { return []error{ErrCorruptBatch, ErrCorrupt, e.Err} }

// span is a checked range [from, to) of a segment: whole batches. first is
// the base offset of the batch at from, next the last offset + 1 of the
// batch ending at to.
type span struct {
	from, to    int64
	first, next int64
}

// verifyState is a segment's record of which of the bytes it was opened
// with reads have checked.
type verifyState struct {
	// unverifiedEnd: bytes at or past it were written by this process
	// (or validated by recovery) and need no check.
	unverifiedEnd atomic.Int64
	// fast is a copy of the span last extended or used: reads inside it
	// take no lock.
	fast atomic.Pointer[span]

	mu       sync.Mutex
	spans    []span         // sorted, disjoint
	reported map[int64]bool // positions of bad batches already logged
}

// resetVerified forgets what was checked at or past pos and lowers
// unverifiedEnd to pos: the segment is cut there, and what is written
// after it is written by this process. Called with the Log's mu held.
func (v *verifyState) resetVerified(pos int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.unverifiedEnd.Load() > pos {
		v.unverifiedEnd.Store(pos)
	}
	kept := v.spans[:0]
	for _, s := range v.spans {
		if s.to <= pos {
			kept = append(kept, s)
		}
	}
	v.spans = kept
	v.fast.Store(nil)
}

// verifyChunkBytes is the most a check reads at once.
const verifyChunkBytes = 1 << 20

var verifyBufs = sync.Pool{New: func() any { b := make([]byte, 0, verifyChunkBytes); return &b }}

// verifyRead makes sure the batches of seg from pos (a batch start) up to
// end were checked, checking them if not. It returns how far from pos may
// be served: end, or the position of the first bad batch with its
// BatchCorruptionError. segEnd bounds the batches (the end of whole
// batches the read may see). f is the segment's file, in use by the
// caller.
func (l *Log) verifyRead(seg *segment, f *os.File, pos, end, segEnd int64) (int64, error) {
	v := &seg.verify
	ue := v.unverifiedEnd.Load()
	if pos >= ue {
		return end, nil
	}
	to := min(end, ue)
	if sp := v.fast.Load(); sp != nil && sp.from <= pos && to <= sp.to {
		return end, nil
	}
	return l.verifySlow(seg, f, pos, end, to, min(segEnd, ue))
}

func (l *Log) verifySlow(seg *segment, f *os.File, pos, end, to, bound int64) (int64, error) {
	v := &seg.verify
	v.mu.Lock()
	defer v.mu.Unlock()
	i := sort.Search(len(v.spans), func(i int) bool { return v.spans[i].from > pos }) - 1
	var cur span
	if i >= 0 && v.spans[i].to >= pos {
		cur = v.spans[i]
	} else {
		cur = span{from: pos, to: pos, first: -1, next: -1}
		i = -1
	}
	for cur.to < to {
		// Check up to the next checked span (then go on after it), so
		// no byte is checked twice.
		stop := to
		k := i + 1
		if i < 0 {
			k = sort.Search(len(v.spans), func(j int) bool { return v.spans[j].from > cur.from })
		}
		if k < len(v.spans) && v.spans[k].from < stop {
			stop = v.spans[k].from
		}
		reached, first, next, bad, err := l.checkBatches(seg, f, cur.to, stop, bound, cur.next)
		if err != nil {
			return 0, err
		}
		if reached == cur.to && bad == nil {
			// No progress without a bad batch: the checked spans
			// disagree with each other. Serve nothing unchecked.
			return 0, fmt.Errorf("storage: checking %s: no progress at byte %d (checked ranges %v)", seg.path, cur.to, v.spans)
		}
		l.checkedBytes.Add(reached - cur.to)
		if cur.first < 0 {
			cur.first = first
		}
		if reached > cur.to {
			cur.to, cur.next = reached, next
			v.spans = mergeSpan(v.spans, i, cur)
			if i < 0 {
				i = sort.Search(len(v.spans), func(j int) bool { return v.spans[j].from > cur.from }) - 1
			}
			cur = v.spans[i]
		}
		if bad != nil {
			if cur.to > cur.from {
				c := cur
				v.fast.Store(&c)
			}
			l.reportBadLocked(v, bad)
			return bad.Pos, bad
		}
	}
	c := cur
	v.fast.Store(&c)
	return end, nil
}

// reportBadLocked logs and counts a bad batch the first time it is found.
// v.mu is held.
func (l *Log) reportBadLocked(v *verifyState, bad *BatchCorruptionError) {
	if v.reported[bad.Pos] {
		return
	}
	if v.reported == nil {
		v.reported = map[int64]bool{}
	}
	v.reported[bad.Pos] = true
	l.corruptBatches.Add(1)
	l.logger.Error("corrupt batch in a segment: not served; reads stop before it",
		"partition", l.tp, "segment", bad.Path, "position", bad.Pos,
		"base_offset", bad.BaseOffset, "last_offset", bad.LastOffset, "err", bad.Err)
}

// checkForCleaner validates (CRC included) a batch the cleaner is about
// to copy or rewrite from seg at pos, unless it lies in bytes this process
// wrote or a read already checked. The cleaner re-encodes batches it
// keeps only part of, with a new CRC: a damaged batch must stop the pass
// (the caller backs off, as Kafka marks the partition uncleanable) rather
// than have its damage sealed under a valid CRC. Cleaned segments hold
// only batches so checked, so their bytes need no check on read.
func (l *Log) checkForCleaner(seg *segment, pos int64, h *record.Header, batch []byte) error {
	v := &seg.verify
	if pos >= v.unverifiedEnd.Load() {
		return nil
	}
	if sp := v.fast.Load(); sp != nil && sp.from <= pos && pos < sp.to {
		return nil
	}
	if _, err := record.Validate(batch); err != nil {
		bad := &BatchCorruptionError{Path: seg.path, Pos: pos, BaseOffset: h.BaseOffset, LastOffset: h.LastOffset(), Err: err}
		v.mu.Lock()
		l.reportBadLocked(v, bad)
		v.mu.Unlock()
		return bad
	}
	return nil
}

// mergeSpan puts s in spans, replacing spans[i] when i >= 0, and merges
// it with the spans it now reaches.
func mergeSpan(spans []span, i int, s span) []span {
	if i < 0 {
		i = sort.Search(len(spans), func(j int) bool { return spans[j].from > s.from })
		spans = append(spans, span{})
		copy(spans[i+1:], spans[i:])
	}
	spans[i] = s
	j := i + 1
	for j < len(spans) && spans[j].from <= spans[i].to {
		if spans[j].to > spans[i].to {
			spans[i].to, spans[i].next = spans[j].to, spans[j].next
		}
		j++
	}
	return append(spans[:i+1], spans[j:]...)
}

// checkBatches checks the batches of seg from pos while they start below
// to, each ending at or below bound, with base offsets at or above next
// (unknown when negative). It returns where the checked batches end, the
// base offset of the first and the offset after the last, and the first
// bad batch; err is an I/O error.
func (l *Log) checkBatches(seg *segment, f *os.File, pos, to, bound, next int64) (reached, first, nextOff int64, bad *BatchCorruptionError, err error) {
	bp := verifyBufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 4*verifyChunkBytes {
			verifyBufs.Put(bp)
		}
	}()
	buf := (*bp)[:0]
	cPos := pos // file position of buf[0]
	first = -1
	fill := func(at int64, need int64) error {
		n := min(max(need, min(to-at, verifyChunkBytes)), bound-at)
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
			*bp = buf
		}
		buf, cPos = buf[:n], at
		if _, err := f.ReadAt(buf, at); err != nil {
			return fmt.Errorf("storage: read %s at %d: %w", seg.path, at, err)
		}
		return nil
	}
	badAt := func(h *record.Header, cause error) *BatchCorruptionError {
		e := &BatchCorruptionError{Path: seg.path, Pos: pos, BaseOffset: -1, LastOffset: -1, Err: cause}
		if h != nil {
			e.BaseOffset, e.LastOffset = h.BaseOffset, h.LastOffset()
		}
		return e
	}
	for pos < to {
		if pos+record.HeaderSize > bound {
			return pos, first, next, badAt(nil, record.ErrShort), nil
		}
		if pos+record.HeaderSize > cPos+int64(len(buf)) {
			if err := fill(pos, record.HeaderSize); err != nil {
				return 0, 0, 0, nil, err
			}
		}
		h, herr := record.ParseHeader(buf[pos-cPos:])
		if herr != nil {
			if errors.Is(herr, record.ErrMagic) {
				return pos, first, next, badAt(nil, herr), nil
			}
			return pos, first, next, badAt(&h, herr), nil
		}
		n := h.TotalSize()
		switch {
		case pos+n > bound:
			return pos, first, next, badAt(&h, fmt.Errorf("%w: batch of %d bytes runs past the segment's %d", record.ErrShort, n, bound)), nil
		case h.BaseOffset < seg.base || h.LastOffset()-seg.base > 1<<31-1:
			return pos, first, next, badAt(&h, fmt.Errorf("batch offsets outside segment base %d", seg.base)), nil
		case next >= 0 && h.BaseOffset < next:
			return pos, first, next, badAt(&h, fmt.Errorf("base offset below %d, the previous batch's end", next)), nil
		}
		if pos+n > cPos+int64(len(buf)) {
			if err := fill(pos, n); err != nil {
				return 0, 0, 0, nil, err
			}
		}
		if _, verr := record.Validate(buf[pos-cPos : pos-cPos+n]); verr != nil {
			return pos, first, next, badAt(&h, verr), nil
		}
		if first < 0 {
			first = h.BaseOffset
		}
		next = h.LastOffset() + 1
		pos += n
	}
	return pos, first, next, nil, nil
}

// CorruptBatches is the number of damaged batches reads of this log have
// found since it was opened (each counted once).
func (l *Log) CorruptBatches() int64 { return l.corruptBatches.Load() }
