package broker

import "sync"

// budget bounds the bytes of requests that have been read but not yet
// answered. Readers wait in acquire while the bound would be passed; a
// request is always admitted when nothing else is held, so a single frame
// up to socket.request.max.bytes can never deadlock. Each connection has
// one (bounded by socket.request.max.bytes) and the broker has one shared
// by all connections (queued.max.request.bytes).
type budget struct {
	mu    sync.Mutex // guards held
	cond  *sync.Cond
	limit int64 // < 0: unbounded
	held  int64
}

func newBudget(limit int64) *budget {
	b := &budget{limit: limit}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// acquire waits until n bytes fit, or until stop is closed (false). Whoever
// closes stop must call wake so waiters notice.
func (b *budget) acquire(n int64, stop <-chan struct{}) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.limit >= 0 && b.held > 0 && b.held+n > b.limit {
		select {
		case <-stop:
			return false
		default:
		}
		b.cond.Wait()
	}
	b.held += n
	return true
}

func (b *budget) release(n int64) {
	b.mu.Lock()
	b.held -= n
	b.mu.Unlock()
	b.cond.Broadcast()
}

// wake makes waiters re-check their stop channel.
func (b *budget) wake() {
	b.mu.Lock()
	b.mu.Unlock() //nolint:staticcheck // an empty critical section orders wake after a waiter's check
	b.cond.Broadcast()
}
