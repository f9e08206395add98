package partition

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Quota limits a byte rate, as Kafka's replication quotas do for
// leader/follower.replication.throttled.rate: a token bucket holding one
// second's worth at the rate. Recording may overdraw it (a fetch response
// is taken whole); while it is overdrawn, Exceeded is true and throttled
// replicas get no data until the rate has paid the debt back.
type Quota struct {
	// limited is false at the default rate (no throttle), so the fetch
	// paths skip the throttle rules without taking mu.
	limited atomic.Bool

	mu     sync.Mutex
	rate   int64 // bytes per second; math.MaxInt64: unlimited
	tokens float64
	last   time.Time
}

// NewQuota returns a quota of rate bytes per second.
func NewQuota(rate int64) *Quota {
	q := &Quota{rate: rate, tokens: float64(rate)}
	q.limited.Store(rate != math.MaxInt64)
	return q
}

// SetRate changes the rate; a debt already run up stays.
func (q *Quota) SetRate(rate int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.rate = rate
	q.tokens = min(q.tokens, float64(rate))
	q.limited.Store(rate != math.MaxInt64)
}

// Unlimited reports whether the rate is the default (no throttle), without
// a lock.
func (q *Quota) Unlimited() bool { return !q.limited.Load() }

func (q *Quota) refillLocked(now time.Time) {
	if !q.last.IsZero() && now.After(q.last) {
		q.tokens = min(q.tokens+float64(q.rate)*now.Sub(q.last).Seconds(), float64(q.rate))
	}
	q.last = now
}

// Exceeded reports whether the bytes recorded outran the rate.
func (q *Quota) Exceeded(now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.rate == math.MaxInt64 {
		return false
	}
	q.refillLocked(now)
	return q.tokens < 0
}

// Record counts n bytes sent or received.
func (q *Quota) Record(n int64, now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.rate == math.MaxInt64 {
		return
	}
	q.refillLocked(now)
	q.tokens -= float64(n)
}
