package storage

import (
	"sync"
	"time"
)

// Throttler limits a byte rate, like Kafka's Throttler behind
// log.cleaner.io.max.bytes.per.second: callers report the bytes they moved
// and Wait sleeps when the rate over the current window is above the limit.
// A nil *Throttler never waits. It is safe for concurrent use.
type Throttler struct {
	rate  float64 // bytes per second
	now   func() time.Time
	sleep func(time.Duration)

	mu    sync.Mutex // guards the window
	start time.Time
	bytes float64
}

// throttleWindow is how often the rate is measured and the count reset.
const throttleWindow = 300 * time.Millisecond

// NewThrottler limits to bytesPerSecond; zero, negative or +Inf means no
// limit (nil).
func NewThrottler(bytesPerSecond float64) *Throttler {
	if !(bytesPerSecond > 0) || bytesPerSecond > 1e18 {
		return nil
	}
	return &Throttler{rate: bytesPerSecond, now: time.Now, sleep: time.Sleep}
}

// Wait accounts n bytes and sleeps long enough to bring the rate of the
// current window down to the limit.
func (t *Throttler) Wait(n int64) {
	if t == nil {
		return
	}
	t.mu.Lock()
	now := t.now()
	if t.start.IsZero() {
		t.start = now
	}
	t.bytes += float64(n)
	elapsed := now.Sub(t.start)
	if elapsed < throttleWindow {
		t.mu.Unlock()
		return
	}
	want := time.Duration(t.bytes / t.rate * float64(time.Second))
	t.start, t.bytes = now, 0
	t.mu.Unlock()
	if want > elapsed {
		t.sleep(want - elapsed)
		t.mu.Lock()
		t.start = t.now()
		t.mu.Unlock()
	}
}
