package broker

import "sync"

// budget bounds the bytes of requests that are being read or have been
// read but not yet answered. A frame's bytes are taken as they arrive
// (conn.readFrame): acquire before its first chunk, grow before each
// larger buffer. Readers wait in acquire while the bound would be passed;
// a request is always admitted when nothing else is held, so a single
// frame up to socket.request.max.bytes can never deadlock. Each connection
// has one (bounded by socket.request.max.bytes) and the broker has one
// shared by all connections (queued.max.request.bytes).
type budget struct {
	mu    sync.Mutex // guards held and overdrawn
	cond  *sync.Cond
	limit int64 // < 0: unbounded
	held  int64
	// overdrawn is set while one frame being read holds the overdraft:
	// it may grow past the limit (see grow).
	overdrawn bool
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

// grow adds n bytes to a frame being read, which already holds bytes of
// its own. Frames part-read wait on each other when the bound is reached,
// and if only they held the budget they would wait forever; so when n does
// not fit, one of them (the first to need it) takes the overdraft and
// grows past the limit until it calls endOverdraft, and the others wait.
// The total therefore stays under the limit plus one frame. over is the
// frame's own flag (nil: this budget has no overdraft, as a connection's,
// whose other bytes belong to complete requests that will be released).
func (b *budget) grow(n int64, stop <-chan struct{}, over *bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.limit >= 0 && b.held+n > b.limit {
		if over != nil && (*over || !b.overdrawn) {
			b.overdrawn, *over = true, true
			break
		}
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

// endOverdraft gives the overdraft back if *over says the frame holds it.
func (b *budget) endOverdraft(over *bool) {
	if !*over {
		return
	}
	*over = false
	b.mu.Lock()
	b.overdrawn = false
	b.mu.Unlock()
	b.cond.Broadcast()
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
