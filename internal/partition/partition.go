package partition

import (
	"errors"
	"sync"
	"time"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// Errors returned for requests that carry a leader epoch.
var (
	ErrFencedLeaderEpoch  = errors.New("fenced leader epoch")
	ErrUnknownLeaderEpoch = errors.New("unknown leader epoch")
)

// Partition is one hosted partition. Its methods are safe for concurrent
// use.
type Partition struct {
	Topic   string
	Index   int32
	TopicID [16]byte

	log     *storage.Log
	flusher *Flusher // nil in page-cache mode

	mu          sync.Mutex // guards the fields below
	cfg         config.Topic
	leaderEpoch int32
	hw          storage.Position
	lastFlush   time.Time
	waiters     map[*Waiter]struct{}
}

// Waiter is woken (without blocking the notifier) when any partition it
// watches moves its high watermark.
type Waiter struct{ C chan struct{} }

// NewWaiter returns a waiter with a one-slot wake-up channel.
func NewWaiter() *Waiter { return &Waiter{C: make(chan struct{}, 1)} }

func (w *Waiter) wake() {
	select {
	case w.C <- struct{}{}:
	default:
	}
}

func newPartition(topic string, index int32, id [16]byte, log *storage.Log, cfg config.Topic, epoch int32, fl *Flusher) *Partition {
	p := &Partition{Topic: topic, Index: index, TopicID: id, log: log, flusher: fl, cfg: cfg, leaderEpoch: epoch, waiters: map[*Waiter]struct{}{}, lastFlush: time.Now()}
	if fl == nil {
		p.hw = log.EndPosition()
	} else {
		// Everything recovered from disk was durable enough to survive a
		// restart; an unclean restart has already truncated what was not.
		p.hw = log.EndPosition()
	}
	return p
}

// Log returns the partition's log.
func (p *Partition) Log() *storage.Log { return p.log }

// Config returns the topic configuration in effect.
func (p *Partition) Config() config.Topic {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg
}

// SetConfig applies a changed topic configuration.
func (p *Partition) SetConfig(c config.Topic) {
	p.mu.Lock()
	p.cfg = c
	p.mu.Unlock()
}

// LeaderEpoch is the current leader epoch.
func (p *Partition) LeaderEpoch() int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leaderEpoch
}

// CheckEpoch validates a client's view of the leader epoch; -1 means the
// client does not say.
func (p *Partition) CheckEpoch(current int32) error {
	if current < 0 {
		return nil
	}
	e := p.LeaderEpoch()
	switch {
	case current < e:
		return ErrFencedLeaderEpoch
	case current > e:
		return ErrUnknownLeaderEpoch
	}
	return nil
}

// HighWatermark is the offset below which records are visible.
func (p *Partition) HighWatermark() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hw.Offset
}

func (p *Partition) hwPosition() storage.Position {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hw
}

// Append writes one validated batch and returns where it went. done is
// called exactly once, possibly before Append returns, when the append may
// be acknowledged with acks=all (err non-nil if the flush failed); pass
// nil when nobody waits.
func (p *Partition) Append(batch []byte, now time.Time, done func(error)) (storage.AppendResult, error) {
	res, err := p.log.Append(batch, p.LeaderEpoch(), now)
	if err != nil {
		return res, err
	}
	if p.flusher == nil || res.Duplicate {
		// A duplicate was appended (and flushed, in group-commit mode)
		// when it first arrived.
		if !res.Duplicate {
			p.advance(res.End)
		}
		if done != nil {
			done(nil)
		}
		return res, nil
	}
	p.flusher.enqueue(p, done)
	return res, nil
}

// advance moves the high watermark forward to pos and wakes fetchers.
func (p *Partition) advance(pos storage.Position) {
	p.mu.Lock()
	if pos.Offset <= p.hw.Offset {
		p.mu.Unlock()
		return
	}
	p.hw = pos
	ws := make([]*Waiter, 0, len(p.waiters))
	for w := range p.waiters {
		ws = append(ws, w)
	}
	p.mu.Unlock()
	for _, w := range ws {
		w.wake()
	}
}

// Watch registers w to be woken when the high watermark moves.
func (p *Partition) Watch(w *Waiter) {
	p.mu.Lock()
	p.waiters[w] = struct{}{}
	p.mu.Unlock()
}

// Unwatch removes w.
func (p *Partition) Unwatch(w *Waiter) {
	p.mu.Lock()
	delete(p.waiters, w)
	p.mu.Unlock()
}

// Read returns up to maxBytes of visible record data starting at offset.
func (p *Partition) Read(offset int64, maxBytes int32, minOneBatch bool) (storage.Slice, error) {
	return p.log.Read(offset, maxBytes, minOneBatch, p.hwPosition())
}

// flushIfDue fsyncs the log if its flush.ms has elapsed (page-cache mode
// background flushing).
func (p *Partition) flushIfDue(now time.Time) error {
	p.mu.Lock()
	interval := p.cfg.FlushInterval
	due := interval > 0 && now.Sub(p.lastFlush) >= interval
	if due {
		p.lastFlush = now
	}
	p.mu.Unlock()
	if !due {
		return nil
	}
	_, err := p.log.Flush()
	return err
}
