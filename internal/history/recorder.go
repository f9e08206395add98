package history

import (
	"bufio"
	"errors"
	"io"
	"sync"
	"time"
)

// ErrClosed is returned by Flush and Close once the Recorder is closed.
var ErrClosed = errors.New("history: recorder closed")

// Recorder writes events as JSON lines. It is safe for concurrent use: a
// test's producers and consumers share one Recorder and each event is one
// whole line, in the order the calls took the Recorder's lock.
//
// The event methods return nothing. They are called from client callbacks
// where nobody can handle an error, so the first error is kept and every
// later event is dropped; Flush and Close return it, and a test checks it
// once at the end. A history with a write error is incomplete and must not
// be checked.
type Recorder struct {
	mu     sync.Mutex // guards everything below
	w      *bufio.Writer
	dst    io.Writer
	buf    []byte
	err    error
	closed bool
	now    func() time.Time
}

// NewRecorder returns a Recorder that writes to w through a 256 KiB
// buffer. Close closes w if it is an io.Closer.
func NewRecorder(w io.Writer) *Recorder {
	return &Recorder{w: bufio.NewWriterSize(w, 256<<10), dst: w, now: time.Now}
}

// Record writes one event.
func (r *Recorder) Record(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return
	}
	if r.closed {
		r.err = ErrClosed
		return
	}
	b, err := e.appendJSON(r.buf[:0])
	if err != nil {
		r.err = err
		return
	}
	b = append(b, '\n')
	r.buf = b
	_, r.err = r.w.Write(b)
}

// Produce records a produce attempt. A zero End is set to now, so a
// callback can record the outcome as it learns it.
func (r *Recorder) Produce(p Produce) {
	if p.End == 0 {
		p.End = r.now().UnixNano()
	}
	r.Record(p)
}

// Consume records a consumed record. A zero Time is set to now.
func (r *Recorder) Consume(c Consume) {
	if c.Time == 0 {
		c.Time = r.now().UnixNano()
	}
	r.Record(c)
}

// Commit records an offset commit attempt. A zero End is set to now.
func (r *Recorder) Commit(c Commit) {
	if c.End == 0 {
		c.End = r.now().UnixNano()
	}
	r.Record(c)
}

// Assign records a partition assigned to a group member. A zero Time is
// set to now.
func (r *Recorder) Assign(a Assign) {
	if a.Time == 0 {
		a.Time = r.now().UnixNano()
	}
	r.Record(a)
}

// Revoke records a partition revoked from or lost by a group member. A
// zero Time is set to now. Clients must call it from the revoke (or lost)
// callback, which Kafka clients run before the callbacks of the next
// assignment, so that an overlap the checker finds is real double
// ownership and not an artefact of recording order.
func (r *Recorder) Revoke(v Revoke) {
	if v.Time == 0 {
		v.Time = r.now().UnixNano()
	}
	r.Record(v)
}

// HighWatermark records a high watermark a consumer observed. A zero Time
// is set to now.
func (r *Recorder) HighWatermark(h HighWatermark) {
	if h.Time == 0 {
		h.Time = r.now().UnixNano()
	}
	r.Record(h)
}

// Txn records how a transaction ended. A zero End is set to now.
func (r *Recorder) Txn(t Txn) {
	if t.End == 0 {
		t.End = r.now().UnixNano()
	}
	r.Record(t)
}

// Flush writes buffered events to the underlying writer and returns the
// first error the Recorder met.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.flushLocked()
}

func (r *Recorder) flushLocked() error {
	if r.err != nil {
		return r.err
	}
	if r.closed {
		return ErrClosed
	}
	r.err = r.w.Flush()
	return r.err
}

// Close flushes, closes the underlying writer if it is an io.Closer, and
// makes every later call fail with ErrClosed. It returns the first error
// the Recorder met.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	err := r.flushLocked()
	r.closed = true
	if c, ok := r.dst.(io.Closer); ok {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
