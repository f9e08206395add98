package partition

import (
	"math"
	"testing"
	"time"
)

func TestQuota(t *testing.T) {
	t0 := time.Unix(1000, 0)
	q := NewQuota(1000) // bytes per second, one second of burst
	if q.Exceeded(t0) {
		t.Fatal("a fresh quota is exceeded")
	}
	q.Record(1500, t0) // a response bigger than the burst is taken whole
	if !q.Exceeded(t0) {
		t.Fatal("500 bytes over, yet not exceeded")
	}
	if !q.Exceeded(t0.Add(400 * time.Millisecond)) {
		t.Fatal("the debt is paid back early")
	}
	if q.Exceeded(t0.Add(600 * time.Millisecond)) {
		t.Fatal("still exceeded once the debt is paid back")
	}
	// Idle time refills at most one second's worth.
	q.Record(0, t0.Add(time.Hour))
	q.Record(1000, t0.Add(time.Hour))
	if q.Exceeded(t0.Add(time.Hour)) {
		t.Fatal("a full bucket is exceeded by one second's worth")
	}
	q.Record(1, t0.Add(time.Hour))
	if !q.Exceeded(t0.Add(time.Hour)) {
		t.Fatal("not exceeded past the burst")
	}
	// The default rate never throttles.
	u := NewQuota(math.MaxInt64)
	u.Record(1<<40, t0)
	if u.Exceeded(t0) || !u.Unlimited() {
		t.Fatal("the unlimited quota throttles")
	}
	u.SetRate(10)
	u.Record(11, t0)
	if !u.Exceeded(t0) {
		t.Fatal("SetRate did not take")
	}
}
