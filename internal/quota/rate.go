package quota

import (
	"math"
	"time"
)

// Config is how rates are measured: quota.window.num windows of
// quota.window.size.seconds.
type Config struct {
	Samples int
	Window  time.Duration
}

// DefaultConfig is Kafka's: 11 windows of 1 s.
var DefaultConfig = Config{Samples: 11, Window: time.Second}

func (c Config) windowMs() int64 {
	if ms := c.Window.Milliseconds(); ms > 0 {
		return ms
	}
	return 1
}

func (c Config) samples() int { return max(c.Samples, 1) }

// Rate is a windowed rate of recorded values per second, measured as
// Kafka's Rate measures it. It is not safe for concurrent use.
type Rate struct {
	samples []sample
	cur     int
}

type sample struct {
	startMs, lastMs int64
	value           float64
}

func (s *sample) reset(nowMs int64) { *s = sample{startMs: nowMs, lastMs: nowMs} }

func (r *Rate) current(nowMs int64) *sample {
	if len(r.samples) == 0 {
		r.samples = append(r.samples, sample{startMs: nowMs, lastMs: nowMs})
		r.cur = 0
	}
	return &r.samples[r.cur]
}

// Record adds v at nowMs (milliseconds of any fixed epoch).
func (r *Rate) Record(c Config, v float64, nowMs int64) {
	s := r.current(nowMs)
	if nowMs-s.startMs >= c.windowMs() {
		// One sample more than the windows measured, as Kafka keeps: the
		// oldest may overlap the start of the measured span.
		r.cur = (r.cur + 1) % (c.samples() + 1)
		if r.cur >= len(r.samples) {
			r.samples = append(r.samples, sample{startMs: nowMs, lastMs: nowMs})
		} else {
			r.samples[r.cur].reset(nowMs)
		}
		s = &r.samples[r.cur]
	}
	s.value += v
	s.lastMs = nowMs
}

// purge empties the samples with nothing recorded within the measured span.
func (r *Rate) purge(c Config, nowMs int64) {
	expire := int64(c.samples()) * c.windowMs()
	for i := range r.samples {
		if nowMs-r.samples[i].lastMs >= expire {
			r.samples[i].reset(nowMs)
		}
	}
}

// windowMs is the span the rate is measured over: from the oldest sample's
// start, but at least Samples-1 whole windows, and at least 1 ms.
func (r *Rate) windowMs(c Config, nowMs int64) int64 {
	r.purge(c, nowMs)
	r.current(nowMs)
	oldest := r.samples[0].startMs
	for _, s := range r.samples[1:] {
		oldest = min(oldest, s.startMs)
	}
	elapsed := nowMs - oldest
	full := elapsed / c.windowMs()
	if minFull := int64(c.samples() - 1); full < minFull {
		elapsed += (minFull - full) * c.windowMs()
	}
	return max(elapsed, 1)
}

// Measure returns the rate per second at nowMs.
func (r *Rate) Measure(c Config, nowMs int64) float64 {
	w := r.windowMs(c, nowMs)
	var sum float64
	for _, s := range r.samples {
		sum += s.value
	}
	return sum / (float64(w) / 1000)
}

// Throttle returns how long a client whose rate is over bound must wait
// for it to come back to bound, recording nothing more (Kafka's
// QuotaUtils.throttleTime: (observed - bound) / bound * window), or 0 when
// the rate is within bound.
func (r *Rate) Throttle(c Config, bound float64, nowMs int64) time.Duration {
	observed := r.Measure(c, nowMs)
	if observed <= bound || bound <= 0 {
		return 0
	}
	ms := math.Round((observed - bound) / bound * float64(r.windowMs(c, nowMs)))
	if ms > math.MaxInt32 {
		ms = math.MaxInt32
	}
	return time.Duration(ms) * time.Millisecond
}
