package partition

import (
	"sync/atomic"
	"time"

	"github.com/samsa-streaming/samsa/internal/storage"
)

// Stats counts the background work of a Manager's partitions (flushes,
// retention, cleaning) for the metrics collector, which reads it when
// scraped. Updating it costs a few atomic adds per fsync or pass.
type Stats struct {
	// Flush is the latency of each log flush (the fsyncs of one
	// partition's new data and indexes): group-commit rounds and
	// flush.ms/flush.messages flushes alike.
	Flush Latency

	RetentionPasses          atomic.Uint64 // retention checks over every partition
	ScrubbedBytes            atomic.Uint64 // segment bytes the background scrub checked
	RetentionSegmentsDeleted atomic.Uint64 // segments deleted by retention.ms / retention.bytes

	CleanerPasses       atomic.Uint64 // compactions of one log
	CleanerBytesRead    atomic.Uint64
	CleanerBytesWritten atomic.Uint64
	CleanerNanos        atomic.Uint64 // time spent in passes
	CleanerErrors       atomic.Uint64
}

// LatencyBounds are the upper bounds of Latency's buckets; the last
// bucket holds everything above them.
var LatencyBounds = []time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// Latency is a histogram of durations in LatencyBounds' buckets, made of
// atomics so that observing needs no lock.
type Latency struct {
	counts [18]atomic.Uint64 // len(LatencyBounds)+1
	sum    atomic.Uint64     // nanoseconds
}

// Observe adds one duration.
func (h *Latency) Observe(d time.Duration) {
	i := 0
	for i < len(LatencyBounds) && d > LatencyBounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(uint64(max(d, 0)))
}

// Snapshot returns the count in each bucket (not cumulative; the last is
// the overflow bucket), the total count and the sum.
func (h *Latency) Snapshot() (buckets []uint64, count uint64, sum time.Duration) {
	buckets = make([]uint64, len(h.counts))
	for i := range h.counts {
		buckets[i] = h.counts[i].Load()
		count += buckets[i]
	}
	return buckets, count, time.Duration(h.sum.Load())
}

// observeFlush times one flush of p's log.
func (p *Partition) observeFlush(start time.Time) {
	if p.stats != nil {
		p.stats.Flush.Observe(time.Since(start))
	}
}

func (s *Stats) cleaned(st storage.CleanStats, took time.Duration, err error) {
	if err != nil {
		s.CleanerErrors.Add(1)
		return
	}
	s.CleanerPasses.Add(1)
	s.CleanerBytesRead.Add(uint64(max(st.BytesRead, 0)))
	s.CleanerBytesWritten.Add(uint64(max(st.BytesWritten, 0)))
	s.CleanerNanos.Add(uint64(max(took, 0)))
}

// Stats returns the counters of the Manager's background work.
func (m *Manager) Stats() *Stats { return &m.stats }

// PendingAcks is the number of acks=all appends waiting for the high
// watermark (Kafka's produce purgatory, per partition).
func (p *Partition) PendingAcks() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.acks)
}

// ServedTo reports where a consumer's read s from offset ended (s made by
// Read, or by ReadCommitted when committed), when that read reached the
// end of what it may return: the high watermark, or the last stable
// offset. Then every offset in [offset, end) was sent, and end is exact
// with no batch header read. ok is false when the byte limit or the end
// of an older segment cut the read first (the caller learns the end from
// the consumer's next fetch offset instead).
//
// The read ended at the limit when it was made in the limit's segment
// (offset is at or past that segment's base: every later segment starts
// at or after the limit) and ends at the limit's file position. The
// limit only grows, so one that moved since the read is never matched by
// mistake: the answer is then not ok.
func (p *Partition) ServedTo(offset int64, s storage.Slice, committed bool) (end int64, ok bool) {
	lim := p.hwPosition()
	if committed {
		lim = p.log.LastStable(lim)
	}
	if s.Size > 0 && offset >= lim.SegmentBase && offset < lim.Offset && s.Pos+s.Size == lim.FilePos {
		return lim.Offset, true
	}
	return 0, false
}
