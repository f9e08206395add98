package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progressRefresh is how often the bar is redrawn. The hot loops only bump
// atomic counters; the bar polls them, so showing progress costs the
// benchmark nothing per record.
const progressRefresh = 100 * time.Millisecond

// progressWidth is the number of cells of the bar itself.
const progressWidth = 40

// progress is a one-line bar on stderr, redrawn in place with a carriage
// return. A nil *progress is a valid, silent progress, which is what
// startProgress returns when nobody is watching; callers need no
// conditionals. (It replaced a progress-bar library whose dependencies'
// init work added ~45 ms to the start of every samsa process, the broker's
// included.)
type progress struct {
	w     io.Writer
	spec  progressSpec
	total int64
	cur   func() int64
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
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
	pr := &progress{w: w, spec: spec, total: spec.total, cur: spec.current, start: time.Now(), stop: make(chan struct{})}
	if pr.total <= 0 {
		// Time-bound run: the bar tracks elapsed milliseconds.
		pr.total = max(spec.duration.Milliseconds(), 1)
		pr.cur = func() int64 { return time.Since(pr.start).Milliseconds() }
	}
	pr.wg.Add(1)
	go pr.poll()
	return pr
}

func (pr *progress) poll() {
	defer pr.wg.Done()
	t := time.NewTicker(progressRefresh)
	defer t.Stop()
	for {
		select {
		case <-pr.stop:
			return
		case <-t.C:
			// Stay below total until finish: records may still be
			// waiting for their acknowledgement.
			pr.draw(min(pr.cur(), pr.total-1))
		}
	}
}

// render is the bar's line for a count of n out of the total.
func (pr *progress) render(n int64) string {
	frac := min(max(float64(n)/float64(pr.total), 0), 1)
	filled := int(frac * progressWidth)
	return fmt.Sprintf("%s [%s%s] %3.0f%% %s %s", pr.spec.label, strings.Repeat("=", filled),
		strings.Repeat(" ", progressWidth-filled), frac*100,
		time.Since(pr.start).Round(100*time.Millisecond), pr.spec.status())
}

func (pr *progress) draw(n int64) {
	// \r back to the line start, \x1b[K clears what a longer line left.
	fmt.Fprintf(pr.w, "\r%s\x1b[K", pr.render(n))
}

// finish draws the completed bar and ends its line, so the result line
// printed next starts on a line of its own.
func (pr *progress) finish() {
	if pr == nil {
		return
	}
	close(pr.stop)
	pr.wg.Wait()
	pr.draw(pr.total)
	fmt.Fprintln(pr.w)
}

// rateStatus formats a running count and rate for the bar.
func rateStatus(n int64, start time.Time) string {
	secs := time.Since(start).Seconds()
	if secs <= 0 {
		return fmt.Sprintf("%d records", n)
	}
	return fmt.Sprintf("%d records, %.0f rec/s", n, float64(n)/secs)
}
