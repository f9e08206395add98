package partition

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/samsa-streaming/samsa/internal/storage"
)

// Flusher implements group commit: appends enqueue their partition, and
// one goroutine repeatedly takes everything queued, fsyncs each partition
// once (all of them at the same time), advances the high watermarks and
// answers the waiters. While one
// round's fsyncs run, the next round's requests accumulate, so the number
// of fsyncs per second is bounded by the disk, not by the request rate.
type Flusher struct {
	logger *slog.Logger

	mu      sync.Mutex // guards pending and closed
	pending map[*Partition][]func(error)
	closed  bool
	kick    chan struct{}
	done    chan struct{}
}

// NewFlusher starts the flusher goroutine; Close stops it.
func NewFlusher(logger *slog.Logger) *Flusher {
	f := &Flusher{logger: logger, pending: map[*Partition][]func(error){}, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go f.run()
	return f
}

func (f *Flusher) enqueue(p *Partition, done func(error)) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		if done != nil {
			done(errFlusherClosed)
		}
		return
	}
	cbs := f.pending[p]
	if done != nil {
		cbs = append(cbs, done)
	}
	f.pending[p] = cbs
	f.mu.Unlock()
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

func (f *Flusher) run() {
	defer close(f.done)
	for range f.kick {
		f.mu.Lock()
		batch := f.pending
		f.pending = make(map[*Partition][]func(error), len(batch))
		closed := f.closed
		f.mu.Unlock()
		f.round(batch)
		if closed {
			return
		}
	}
}

func (f *Flusher) round(batch map[*Partition][]func(error)) {
	if len(batch) == 1 {
		for p, cbs := range batch {
			f.flush(p, cbs)
		}
		return
	}
	// The partitions of a round are fsynced at the same time, not one
	// after another: the filesystem can commit their metadata in one
	// journal transaction and the disk sees their writes together. Each
	// partition is answered as soon as its own fsync is done.
	var wg sync.WaitGroup
	slots := make(chan struct{}, maxConcurrentFsyncs)
	for p, cbs := range batch {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			f.flush(p, cbs)
		}()
	}
	wg.Wait()
}

// maxConcurrentFsyncs bounds the fsyncs one round runs at the same time.
const maxConcurrentFsyncs = 32

// flush fsyncs one partition, advances its high watermark and answers its
// waiters.
func (f *Flusher) flush(p *Partition, cbs []func(error)) {
	// The end position is read before the fsync: everything up to it is
	// in the file, so the fsync makes at least that much durable.
	end := p.log.EndPosition()
	start := time.Now()
	_, err := p.log.Flush()
	p.observeFlush(start)
	if err != nil {
		if errors.Is(err, storage.ErrLogFailed) {
			f.logger.Error("fsync failed; the partition stops accepting writes", "topic", p.Topic, "partition", p.Index, "err", err)
		} else {
			f.logger.Warn("flush could not run; it is retried", "topic", p.Topic, "partition", p.Index, "err", err)
		}
	}
	p.flushed(end, err)
	for _, cb := range cbs {
		cb(err)
	}
}

// Close flushes what is queued and stops the goroutine.
func (f *Flusher) Close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	f.mu.Unlock()
	select {
	case f.kick <- struct{}{}:
	default:
	}
	<-f.done
}
