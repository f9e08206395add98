package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// progressRefresh is how often the bar copies the counters it displays.
// The hot loops only bump atomic counters; the bar polls them, so showing
// progress costs the benchmark nothing per record.
const progressRefresh = 100 * time.Millisecond

// progress is a one-bar mpb display on stderr. A nil *progress is a valid,
// silent progress, which is what startProgress returns when nobody is
// watching; callers need no conditionals.
type progress struct {
	p    *mpb.Progress
	bar  *mpb.Bar
	stop chan struct{}
	wg   sync.WaitGroup
}

// progressSpec says what the bar shows. With total > 0 the bar fills as
// current() approaches total; otherwise it fills with elapsed time towards
// duration. status renders the text after the bar (records, rate).
type progressSpec struct {
	label    string
	total    int64
	duration time.Duration
	current  func() int64
	status   func() string
}

// startProgress shows a bar on w when enabled and w is a terminal.
func startProgress(w io.Writer, enabled bool, spec progressSpec) *progress {
	if !enabled || !isTerminal(w) {
		return nil
	}
	total, current := spec.total, spec.current
	if total <= 0 {
		// Time-bound run: the bar tracks elapsed milliseconds.
		start := time.Now()
		total = max(spec.duration.Milliseconds(), 1)
		current = func() int64 { return time.Since(start).Milliseconds() }
	}
	pr := &progress{
		p:    mpb.New(mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithRefreshRate(progressRefresh)),
		stop: make(chan struct{}),
	}
	pr.bar = pr.p.AddBar(total,
		mpb.PrependDecorators(decor.Name(spec.label, decor.WCSyncSpaceR), decor.Percentage(decor.WCSyncSpace)),
		mpb.AppendDecorators(
			decor.Elapsed(decor.ET_STYLE_GO, decor.WCSyncSpace),
			decor.Any(func(decor.Statistics) string { return spec.status() }, decor.WCSyncSpace),
		),
	)
	pr.wg.Add(1)
	go pr.poll(total, current)
	return pr
}

func (pr *progress) poll(total int64, current func() int64) {
	defer pr.wg.Done()
	t := time.NewTicker(progressRefresh)
	defer t.Stop()
	for {
		select {
		case <-pr.stop:
			return
		case <-t.C:
			// Stay below total until finish so the bar is not completed
			// (and frozen) while records are still being acknowledged.
			pr.bar.SetCurrent(min(current(), total-1))
		}
	}
}

// finish completes the bar and waits until mpb has drawn it for the last
// time, so the result line printed next is not interleaved with it.
func (pr *progress) finish() {
	if pr == nil {
		return
	}
	close(pr.stop)
	pr.wg.Wait()
	pr.bar.SetTotal(-1, true)
	pr.p.Wait()
}

// rateStatus formats a running count and rate for the bar.
func rateStatus(n int64, start time.Time) string {
	secs := time.Since(start).Seconds()
	if secs <= 0 {
		return fmt.Sprintf("%d records", n)
	}
	return fmt.Sprintf("%d records, %.0f rec/s", n, float64(n)/secs)
}
