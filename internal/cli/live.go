package cli

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// liveInterval is how often a live status line is refreshed.
const liveInterval = time.Second

// liveStatus prints a status line on stderr while a long command runs:
// redrawn in place on a terminal, one line per interval otherwise (when
// asked for with --progress, e.g. into a log file). A nil *liveStatus is
// silent.
type liveStatus struct {
	w       io.Writer
	inPlace bool
	status  func() string
	done    chan struct{}
	wg      sync.WaitGroup
}

// startLiveStatus shows status() every interval on w. By default only when
// w is a terminal and the records go elsewhere (out is not a terminal), so
// the line never lands among printed records; force shows it anyway, as
// full lines unless that condition holds.
func startLiveStatus(w, out io.Writer, force, off bool, interval time.Duration, status func() string) *liveStatus {
	inPlace := isTerminal(w) && !isTerminal(out)
	if off || !(inPlace || force) {
		return nil
	}
	l := &liveStatus{w: w, inPlace: inPlace, status: status, done: make(chan struct{})}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-l.done:
				return
			case <-t.C:
				if l.inPlace {
					fmt.Fprintf(l.w, "\r%s\x1b[K", l.status())
				} else {
					fmt.Fprintln(l.w, l.status())
				}
			}
		}
	}()
	return l
}

// stop ends the refreshes and clears an in-place line, so the summary
// printed next starts on a clean line.
func (l *liveStatus) stop() {
	if l == nil {
		return
	}
	close(l.done)
	l.wg.Wait()
	if l.inPlace {
		fmt.Fprint(l.w, "\r\x1b[K")
	}
}

// consumeStats counts what consume printed and how far each partition's
// high watermark is ahead of it, for the live line. The loop writes it,
// the line's goroutine reads it.
type consumeStats struct {
	start   time.Time
	records atomic.Int64

	mu       sync.Mutex // guards the fields below
	lag      map[topicPartition]int64
	lastN    int64
	lastTime time.Time
}

type topicPartition struct {
	topic     string
	partition int32
}

func newConsumeStats() *consumeStats {
	now := time.Now()
	return &consumeStats{start: now, lastTime: now, lag: map[topicPartition]int64{}}
}

// observe records a poll's printed count and each fetched partition's lag:
// its high watermark minus the offset after the last record printed.
func (s *consumeStats) observe(fetches kgo.Fetches, printed map[topicPartition]int64) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		tp := topicPartition{p.Topic, p.Partition}
		if next, ok := printed[tp]; ok && p.HighWatermark >= 0 {
			s.lag[tp] = max(p.HighWatermark-next, 0)
		}
	})
}

func (s *consumeStats) add(n int64) {
	if s != nil {
		s.records.Add(n)
	}
}

// line is the status: total, rate over the last interval, average rate
// and the summed lag of the partitions seen so far.
func (s *consumeStats) line() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now, n := time.Now(), s.records.Load()
	rate := float64(n-s.lastN) / max(now.Sub(s.lastTime).Seconds(), 1e-9)
	avg := float64(n) / max(now.Sub(s.start).Seconds(), 1e-9)
	s.lastN, s.lastTime = n, now
	var lag int64
	for _, l := range s.lag {
		lag += l
	}
	lagText := "-"
	if len(s.lag) > 0 {
		lagText = fmt.Sprint(lag)
	}
	return fmt.Sprintf("%d records, %.0f rec/s (avg %.0f), lag %s, %s", n, rate, avg, lagText,
		now.Sub(s.start).Round(time.Second))
}
