package storage

import "errors"

// Scrubbing.
//
// Bytes that were on disk when a log opened are checked on their first
// read (verify.go), so damage in a segment nobody reads stays unseen until
// a consumer reaches it, perhaps days later when the other replicas have
// aged out the same records. The scrub reads those bytes ahead of any
// consumer, at a bounded rate the caller sets (the partition Manager's
// log.scrub.bytes.per.second), with the very checks a read makes: the
// batches it finds good are marked checked, so reads of them cost nothing
// more, and a bad one is reported exactly as a read would report it
// (logged once with its file and position, counted in CorruptBatches),
// and is never served. Bytes written by this process need no scrub.

// scrubCursor is where the scrub of a log goes on: the segment (by base
// offset) and the byte position in it, always a batch start.
type scrubCursor struct {
	base int64
	pos  int64
	done bool // every segment checked (until a reopen)
}

// Scrub checks up to budget bytes of the log's unchecked segment bytes,
// from where the last call stopped, and reports how many bytes it went
// over and whether nothing unchecked is left. A damaged batch ends the
// scrub of its segment (where the next batch begins cannot be trusted);
// reads stop before it as before.
func (l *Log) Scrub(budget int64) (scrubbed int64, complete bool, err error) {
	l.scrubMu.Lock()
	defer l.scrubMu.Unlock()
	cur := &l.scrub
	if cur.done {
		return 0, true, nil
	}
	segs, _, _ := l.snapshotState()
	for _, seg := range segs {
		if seg.base < cur.base {
			continue
		}
		if seg.base > cur.base {
			cur.base, cur.pos = seg.base, 0
		}
		for scrubbed < budget {
			ue := seg.verify.unverifiedEnd.Load()
			if cur.pos >= ue {
				break
			}
			f, err := seg.file.acquire()
			if errors.Is(err, errSegmentGone) {
				break // deleted meanwhile (retention, compaction): go on with the next
			}
			if err != nil {
				return scrubbed, false, err
			}
			end := min(cur.pos+budget-scrubbed, ue)
			good, verr := l.verifyRead(seg, f, cur.pos, end, ue)
			seg.file.release()
			if verr != nil {
				var bad *BatchCorruptionError
				if !errors.As(verr, &bad) {
					return scrubbed, false, verr
				}
				// The bad batch is reported; nothing after it in this
				// segment can be walked to.
				scrubbed += max(good, cur.pos) - cur.pos
				cur.pos = ue
				break
			}
			next := cur.pos
			if sp := seg.verify.fast.Load(); sp != nil && sp.from <= cur.pos && sp.to > cur.pos {
				next = sp.to // checked up to a batch boundary, maybe past end
			}
			if next <= cur.pos {
				next = good // a span ended exactly at end
			}
			if next <= cur.pos {
				return scrubbed, false, nil // no progress: try again later
			}
			scrubbed += next - cur.pos
			cur.pos = next
		}
		if scrubbed >= budget {
			return scrubbed, false, nil
		}
	}
	cur.done = true
	return scrubbed, true, nil
}

// ScrubDone reports whether the scrub has gone over every segment byte
// this log was opened with.
func (l *Log) ScrubDone() bool {
	l.scrubMu.Lock()
	defer l.scrubMu.Unlock()
	return l.scrub.done
}
