package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
	"time"
)

// latencies collects every measured latency; a run of a few million records
// keeps a few tens of MB, which is cheaper than being wrong in the tail.
type latencies struct {
	mu sync.Mutex // guards d
	d  []time.Duration
}

// expect makes room for n latencies before the measurement starts. Growing
// the slice while measuring copies it into fresh memory with the lock held,
// and the producer's callbacks wait for that: on a VM whose untouched
// memory is slow to fault in (free page reporting returns it to the host),
// each growth of a 20 MB slice stalled every callback for 100-250 ms and
// showed up as broker latency.
func (l *latencies) expect(n int) {
	l.mu.Lock()
	l.d = prefaulted[time.Duration](n)
	l.mu.Unlock()
}

// prefaulted returns an empty slice with capacity n whose memory has been
// written once, so appending to it never waits for the kernel.
func prefaulted[T any](n int) []T {
	if n <= 0 {
		return nil
	}
	s := make([]T, n)
	clear(s) // make's memory may be fresh pages nobody wrote; this writes them
	return s[:0]
}

// expectedRecords is how many latencies a run at rate records/s for d will
// record, with 10% to spare; 0 when unknown (flat out for a duration).
func expectedRecords(rate float64, d time.Duration, limit int64) int {
	switch {
	case limit > 0:
		return int(limit)
	case rate > 0 && d > 0:
		return int(rate*d.Seconds()*1.1) + 1024
	}
	return 0
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// summary is the latency part of every result, in milliseconds. CDF holds
// [quantile, ms] pairs, denser towards the tail, for plotting.
type summary struct {
	Count int64        `json:"count"`
	Avg   float64      `json:"avg_ms"`
	P50   float64      `json:"p50_ms"`
	P99   float64      `json:"p99_ms"`
	P999  float64      `json:"p999_ms"`
	Max   float64      `json:"max_ms"`
	CDF   [][2]float64 `json:"cdf"`
}

func (l *latencies) summary() summary {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.d
	if len(d) == 0 {
		return summary{}
	}
	slices.Sort(d)
	q := func(f float64) float64 {
		i := int(math.Ceil(f*float64(len(d)))) - 1
		return ms(d[max(0, min(i, len(d)-1))])
	}
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	s := summary{Count: int64(len(d)), Avg: ms(sum / time.Duration(len(d))),
		P50: q(0.5), P99: q(0.99), P999: q(0.999), Max: ms(d[len(d)-1])}
	for i := 1; i <= 100; i++ { // 1%..100% in 1% steps
		s.CDF = append(s.CDF, [2]float64{float64(i) / 100, q(float64(i) / 100)})
	}
	for _, f := range []float64{0.995, 0.999, 0.9995, 0.9999} {
		s.CDF = append(s.CDF, [2]float64{f, q(f)})
	}
	slices.SortFunc(s.CDF, func(a, b [2]float64) int {
		switch {
		case a[0] < b[0]:
			return -1
		case a[0] > b[0]:
			return 1
		}
		return 0
	})
	return s
}

// timeline keeps each measured record's send time and latency, for
// latency within a window of the run (bench/compaction.sh).
type timeline struct {
	mu   sync.Mutex // guards sent and lat
	sent []int64
	lat  []time.Duration
}

func (t *timeline) expect(n int) {
	t.mu.Lock()
	t.sent = prefaulted[int64](n)
	t.lat = prefaulted[time.Duration](n)
	t.mu.Unlock()
}

func (t *timeline) add(sent time.Time, d time.Duration) {
	t.mu.Lock()
	t.sent = append(t.sent, sent.UnixNano())
	t.lat = append(t.lat, d)
	t.mu.Unlock()
}

// write saves "send_unix_ns latency_ns" lines.
func (t *timeline) write(path string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b []byte
	for i, s := range t.sent {
		b = fmt.Appendf(b, "%d %d\n", s, int64(t.lat[i]))
	}
	return os.WriteFile(path, b, 0o644)
}
