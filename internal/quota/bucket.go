package quota

import (
	"math"
	"time"
)

// TokenBucket is Kafka's TokenBucket stat, which KIP-599's controller
// mutation quota is measured with: credits refill at the quota per
// second up to a burst of quota * Samples * Window, each mutation takes
// its partitions out, and the quota is exhausted while the credits are
// below zero. Unlike Rate it does not keep a burst on the books for a
// whole measured span: a client that went negative waits exactly until
// the bucket is back at zero. It is not safe for concurrent use.
type TokenBucket struct {
	tokens  float64
	lastMs  int64
	started bool
}

func burst(c Config, quota float64) float64 {
	return quota * float64(c.samples()) * c.Window.Seconds()
}

// refill adds the credits earned since the last call; a new bucket is full.
func (b *TokenBucket) refill(c Config, quota float64, nowMs int64) {
	full := burst(c, quota)
	if !b.started {
		b.tokens, b.started = full, true
	} else if nowMs > b.lastMs {
		b.tokens = min(full, b.tokens+quota*float64(nowMs-b.lastMs)/1000)
	}
	b.lastMs = max(b.lastMs, nowMs)
	// A lowered quota caps what was saved under the old one.
	b.tokens = min(b.tokens, full)
}

// Record takes v credits out at nowMs.
func (b *TokenBucket) Record(c Config, quota, v float64, nowMs int64) {
	b.refill(c, quota, nowMs)
	b.tokens -= v
}

// Throttle returns how long until the bucket is back at zero (Kafka's
// -credits / quota seconds), or 0 while it is not below zero.
func (b *TokenBucket) Throttle(c Config, quota float64, nowMs int64) time.Duration {
	b.refill(c, quota, nowMs)
	if b.tokens >= 0 || quota <= 0 {
		return 0
	}
	ms := math.Round(-b.tokens / quota * 1000)
	if ms > math.MaxInt32 {
		ms = math.MaxInt32
	}
	return time.Duration(ms) * time.Millisecond
}
