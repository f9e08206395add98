package cli

import (
	"math"
	"math/bits"
	"time"
)

// histogram records durations in log-linear buckets, in the spirit of
// HdrHistogram: every power-of-two range [2^e, 2^(e+1)) is split into
// subBuckets equal buckets, so any recorded value is known to within
// 1/subBuckets (0.8%) of itself whatever its magnitude, and memory is fixed
// when the histogram is built. Recording is an index computation and an
// increment: no allocation, no search.
//
// Bucket layout, with S = subBuckets: values below 2S get one bucket each
// (index = value). A larger value v with bit length n is shifted right by
// s = n - log2(S) - 1, which leaves a mantissa m = v>>s in [S, 2S); its
// index is s*S + m. Consecutive octaves therefore occupy consecutive runs
// of S indexes, starting right after the exact range.
//
// A histogram is not safe for concurrent use; callers serialize access.
type histogram struct {
	counts   []uint64
	total    uint64
	sumNanos float64 // a float so that long runs of large values cannot overflow
	min, max int64
	highest  int64 // values above highest are recorded as highest
}

const (
	subBucketBits = 7
	subBuckets    = 1 << subBucketBits
)

// newHistogram builds a histogram for values from 0 to highest; larger
// values are clamped into the last bucket (but still reported exactly by
// max). One hour at nanosecond resolution needs about 36 KiB.
func newHistogram(highest time.Duration) *histogram {
	if highest < 2*subBuckets {
		highest = 2 * subBuckets
	}
	return &histogram{
		counts:  make([]uint64, bucketIndex(uint64(highest))+1),
		min:     math.MaxInt64,
		highest: int64(highest),
	}
}

// bucketIndex maps a value to its bucket; see the layout on histogram.
func bucketIndex(v uint64) int {
	if v < 2*subBuckets {
		return int(v)
	}
	shift := bits.Len64(v) - subBucketBits - 1
	return shift*subBuckets + int(v>>uint(shift))
}

// bucketBounds returns the smallest and largest value that map to idx.
func bucketBounds(idx int) (lo, hi uint64) {
	if idx < 2*subBuckets {
		return uint64(idx), uint64(idx)
	}
	shift := idx/subBuckets - 1
	mantissa := uint64(idx - shift*subBuckets)
	return mantissa << uint(shift), (mantissa+1)<<uint(shift) - 1
}

// record adds one observation. Negative durations (a clock step) count as 0.
func (h *histogram) record(d time.Duration) {
	v := max(int64(d), 0)
	if v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.total++
	h.sumNanos += float64(v)
	h.counts[bucketIndex(uint64(min(v, h.highest)))]++
}

func (h *histogram) count() uint64 { return h.total }

func (h *histogram) mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sumNanos / float64(h.total))
}

func (h *histogram) minimum() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.min)
}

func (h *histogram) maximum() time.Duration { return time.Duration(h.max) }

// quantile returns the value below which a fraction q (0 to 1) of the
// observations fall. Like HdrHistogram it reports the top of the bucket
// that holds the rank, so the answer is never below the true quantile and
// at most 1/subBuckets above it, and it never exceeds the recorded maximum.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(math.Ceil(q * float64(h.total)))
	rank = max(rank, 1)
	var seen uint64
	for idx, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := bucketBounds(idx)
			return time.Duration(min(int64(hi), h.max))
		}
	}
	return time.Duration(h.max)
}
