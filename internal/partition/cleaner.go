package partition

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// cleanerSettings are the broker-level retention and cleaner settings.
type cleanerSettings struct {
	retentionCheck time.Duration // log.retention.check.interval.ms
	enabled        bool          // log.cleaner.enable
	backoff        time.Duration // log.cleaner.backoff.ms
	ioBytesPerSec  float64       // log.cleaner.io.max.bytes.per.second
	mapBytes       int64         // log.cleaner.dedupe.buffer.size
}

func readCleanerSettings(c *config.Config) cleanerSettings {
	num := func(k string) int64 {
		n, _ := strconv.ParseInt(strings.TrimSpace(c.Get(k)), 10, 64)
		return n
	}
	rate, err := strconv.ParseFloat(strings.TrimSpace(c.Get("log.cleaner.io.max.bytes.per.second")), 64)
	if err != nil {
		rate = math.Inf(1)
	}
	return cleanerSettings{
		retentionCheck: max(time.Duration(num("log.retention.check.interval.ms"))*time.Millisecond, time.Millisecond),
		enabled:        c.Get("log.cleaner.enable") != "false",
		backoff:        max(time.Duration(num("log.cleaner.backoff.ms"))*time.Millisecond, time.Millisecond),
		ioBytesPerSec:  rate,
		mapBytes:       num("log.cleaner.dedupe.buffer.size"),
	}
}

// deleteTick is how often .deleted files whose file.delete.delay.ms has
// passed are unlinked, independently of the retention interval.
const deleteTick = time.Second

// backgroundRetention applies retention.ms and retention.bytes to every
// partition each log.retention.check.interval.ms (Kafka's
// kafka-log-retention task), unlinks .deleted files when their delay is up,
// and checkpoints the new log start offsets.
func (m *Manager) backgroundRetention(s cleanerSettings) {
	defer m.wg.Done()
	tick := time.NewTicker(min(s.retentionCheck, deleteTick))
	defer tick.Stop()
	next := time.Now().Add(s.retentionCheck)
	for {
		select {
		case <-m.stop:
			return
		case now := <-tick.C:
			if !now.Before(next) {
				next = now.Add(s.retentionCheck)
				m.applyRetention(now)
			}
			for _, p := range m.All() {
				if err := p.log.RemoveDeleted(now); err != nil {
					m.logger.Warn("removing deleted segments", "topic", p.Topic, "partition", p.Index, "err", err)
				}
			}
		}
	}
}

// applyRetention runs one retention pass over every partition.
func (m *Manager) applyRetention(now time.Time) {
	deleted := 0
	for _, p := range m.All() {
		n, err := p.log.DeleteRetained(now, p.HighWatermark())
		if err != nil && !errors.Is(err, storage.ErrClosed) {
			m.logger.Error("retention", "topic", p.Topic, "partition", p.Index, "err", err)
		}
		deleted += n
	}
	m.stats.RetentionPasses.Add(1)
	m.stats.RetentionSegmentsDeleted.Add(uint64(deleted))
	if deleted > 0 {
		if err := m.dir.Checkpoint(); err != nil {
			m.logger.Error("writing checkpoints after retention", "err", err)
		}
	}
}

// backgroundCleaner is the log cleaner (one thread, as Kafka's default
// log.cleaner.threads): it cleans the dirtiest compacted log that is due,
// then looks again; when none is, it sleeps log.cleaner.backoff.ms.
//
// Its settings (log.cleaner.backoff.ms, log.cleaner.io.max.bytes.per.second,
// log.cleaner.dedupe.buffer.size) are dynamic, as in Kafka: it reads them
// before every pass, and a change wakes it.
func (m *Manager) backgroundCleaner() {
	defer m.wg.Done()
	s := m.cleanerSettings.Load()
	rate := s.ioBytesPerSec
	throttle := storage.NewThrottler(rate)
	timer := time.NewTimer(s.backoff)
	defer timer.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-timer.C:
		case <-m.cleanerWake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
		s = m.cleanerSettings.Load()
		if s.ioBytesPerSec != rate {
			rate = s.ioBytesPerSec
			throttle = storage.NewThrottler(rate)
			m.logger.Info("log cleaner rate changed", "bytes_per_second", rate)
		}
		wait := s.backoff
		if m.cleanDirtiest(time.Now(), throttle, s.mapBytes) {
			wait = 0
		}
		timer.Reset(wait)
	}
}

// reconfigureCleaner takes the broker-level cleaner settings of a new
// metadata image and wakes the cleaner if they changed.
func (m *Manager) reconfigureCleaner(im *metadata.Image) {
	s := readCleanerSettings(m.cfg.WithDynamic(im.BrokerConfigs(m.cfg.NodeID)))
	if old := m.cleanerSettings.Swap(&s); old != nil && *old == s {
		return
	}
	select {
	case m.cleanerWake <- struct{}{}:
	default:
	}
}

// cleanDirtiest cleans the compacted partition with the highest dirty
// ratio among those due, and reports whether it cleaned one.
func (m *Manager) cleanDirtiest(now time.Time, throttle *storage.Throttler, mapBytes int64) bool {
	var best *Partition
	var bestRatio float64
	for _, p := range m.All() {
		c, ok := p.log.Cleanable(now, p.HighWatermark())
		if ok && c.ShouldClean && (best == nil || c.Ratio > bestRatio) {
			best, bestRatio = p, c.Ratio
		}
	}
	if best == nil {
		return false
	}
	// The pass's heavy work runs at a low CPU priority (runBackground):
	// produce and fetch requests come first.
	start := time.Now()
	st, err := best.log.Clean(now, storage.CleanOptions{
		Limit: best.HighWatermark(), Throttle: throttle, MaxMapBytes: mapBytes, Cancel: m.stop,
		Background: runBackground,
	}, false)
	if !errors.Is(err, storage.ErrCleanCanceled) && !errors.Is(err, storage.ErrClosed) {
		m.stats.cleaned(st, time.Since(start), err)
	}
	switch {
	case errors.Is(err, storage.ErrCleanCanceled), errors.Is(err, storage.ErrClosed):
		return false
	case err != nil:
		// Kafka marks such a partition uncleanable; backing off keeps a
		// corrupt segment from being retried in a loop.
		m.logger.Error("log cleaner", "topic", best.Topic, "partition", best.Index, "err", err)
		return false
	}
	return st.Rewritten > 0 || st.End > st.FirstDirty
}

// scrubTick is how often the background scrub takes its share of
// log.scrub.bytes.per.second.
const scrubTick = 100 * time.Millisecond

// backgroundScrub reads the segment bytes each log was opened with that no
// read has checked yet, at rate bytes a second, one log after the other
// (storage.Log.Scrub), so damage in data nobody reads is found before a
// consumer reaches it. A log whose scrub is done costs nothing after.
func (m *Manager) backgroundScrub(rate int64) {
	defer m.wg.Done()
	tick := time.NewTicker(scrubTick)
	defer tick.Stop()
	budget := max(rate/int64(time.Second/scrubTick), 1)
	var queue []*Partition
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
		left, refilled := budget, false
		for left > 0 {
			if len(queue) == 0 {
				if refilled {
					break // every log had its turn this tick
				}
				refilled = true
				for _, p := range m.All() {
					if !p.log.ScrubDone() {
						queue = append(queue, p)
					}
				}
				if len(queue) == 0 {
					break
				}
			}
			p := queue[0]
			n, done, err := p.log.Scrub(left)
			left -= n
			if err != nil && !errors.Is(err, storage.ErrClosed) {
				m.logger.Warn("scrubbing a log", "topic", p.Topic, "partition", p.Index, "err", err)
				done = true // try it again in the next round
			}
			if done || n == 0 {
				queue = queue[1:]
			}
		}
		m.stats.ScrubbedBytes.Add(uint64(budget - left))
	}
}
