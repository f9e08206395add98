package partition

import (
	"math"
	"sync"
	"time"
)

// Quota limits a byte rate, as Kafka's replication quotas do for
// leader/follower.replication.throttled.rate: a token bucket holding one
// second's worth at the rate. Recording may overdraw it (a fetch response
// is taken whole); while it is overdrawn, Exceeded is true and throttled
// replicas get no data until the rate has paid the debt back.
type Quota struct {
	mu     sync.Mutex
	rate   int64 // bytes per second; math.MaxInt64: unlimited
	tokens float64
	last   time.Time
}

// NewQuota returns a quota of rate bytes per second.
func NewQuota(rate int64) *Quota {
	return &Quota{rate: rate, tokens: float64(rate)}
}

// SetRate changes the rate; a debt already run up stays.
func (q *Quota) SetRate(rate int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.rate = rate
	q.tokens = min(q.tokens, float64(rate))
}

// Unlimited reports whether the rate is the default (no throttle).
func (q *Quota) Unlimited() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.rate == math.MaxInt64
}

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
