package cli

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketBoundsContainValue(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(v uint64) {
		idx := bucketIndex(v)
		lo, hi := bucketBounds(idx)
		if v < lo || v > hi {
			t.Fatalf("value %d: bucket %d covers [%d, %d]", v, idx, lo, hi)
		}
		// The spread of a bucket relative to its floor is the promised precision.
		if lo > 0 && float64(hi-lo)/float64(lo) > 1.0/subBuckets {
			t.Fatalf("value %d: bucket [%d, %d] is wider than 1/%d of its floor", v, lo, hi, subBuckets)
		}
	}
	for v := uint64(0); v < 1<<16; v++ {
		check(v)
	}
	for range 100000 {
		check(rng.Uint64N(uint64(time.Hour)))
	}
}

func TestBucketsAreContiguous(t *testing.T) {
	// Every index up to the last one maps to a non-empty range that starts
	// right after the previous one: no gaps, no overlaps.
	last := bucketIndex(uint64(time.Hour))
	var next uint64
	for idx := 0; idx <= last; idx++ {
		lo, hi := bucketBounds(idx)
		if lo != next || hi < lo {
			t.Fatalf("bucket %d covers [%d, %d], want it to start at %d", idx, lo, hi, next)
		}
		next = hi + 1
	}
}

func TestHistogramQuantilesUniform(t *testing.T) {
	h := newHistogram(time.Second)
	values := make([]time.Duration, 0, 100000)
	for i := 1; i <= 100000; i++ {
		d := time.Duration(i) * time.Microsecond
		values = append(values, d)
		h.record(d)
	}
	slices.Sort(values)
	for _, q := range []float64{0.5, 0.95, 0.99, 0.999, 1} {
		exact := values[int(q*float64(len(values)))-1]
		got := h.quantile(q)
		if got < exact || float64(got-exact) > float64(exact)/subBuckets {
			t.Errorf("quantile(%v) = %v, want within 1/%d above %v", q, got, subBuckets, exact)
		}
	}
	if got, want := h.mean(), 50000500*time.Nanosecond; got != want {
		t.Errorf("mean = %v, want %v", got, want)
	}
	if h.minimum() != time.Microsecond || h.maximum() != 100*time.Millisecond {
		t.Errorf("min, max = %v, %v", h.minimum(), h.maximum())
	}
	if h.count() != 100000 {
		t.Errorf("count = %d", h.count())
	}
}

func TestHistogramSmallValuesAreExact(t *testing.T) {
	h := newHistogram(time.Second)
	for _, v := range []time.Duration{3, 1, 2, 5, 4} {
		h.record(v)
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{{0, 1}, {0.2, 1}, {0.4, 2}, {0.5, 3}, {0.8, 4}, {1, 5}}
	for _, tt := range tests {
		if got := h.quantile(tt.q); got != tt.want {
			t.Errorf("quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
}

func TestHistogramEdges(t *testing.T) {
	h := newHistogram(time.Millisecond)
	if h.quantile(0.5) != 0 || h.mean() != 0 || h.minimum() != 0 || h.maximum() != 0 {
		t.Fatal("an empty histogram must report zeros")
	}
	h.record(-5)          // a clock step backwards counts as zero
	h.record(time.Minute) // above the highest trackable value: clamped
	if h.minimum() != 0 {
		t.Errorf("min = %v, want 0", h.minimum())
	}
	if h.maximum() != time.Minute {
		t.Errorf("max = %v, want the exact maximum %v", h.maximum(), time.Minute)
	}
	if got := h.quantile(1); got > time.Minute || got < time.Millisecond {
		t.Errorf("quantile(1) = %v, want between the clamp and the maximum", got)
	}
}

func TestHistogramRecordDoesNotAllocate(t *testing.T) {
	h := newHistogram(time.Hour)
	allocs := testing.AllocsPerRun(1000, func() { h.record(1234567) })
	if allocs != 0 {
		t.Fatalf("record allocates %v times per call", allocs)
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	h := newHistogram(time.Hour)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.record(time.Duration(i&0xfffff) * time.Microsecond)
	}
}
