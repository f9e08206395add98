package cli

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestProduceResultLine(t *testing.T) {
	start := time.Now()
	b := newProduceBench(1024, start)
	for i := 1; i <= 1000; i++ {
		b.hist.record(time.Duration(i) * time.Millisecond / 100)
	}
	b.lastAck = start.Add(2 * time.Second)
	res := b.result(1024)
	if res.Records != 1000 || res.RecordsPerSec != 500 {
		t.Errorf("result = %+v", res)
	}
	if got, want := res.MBPerSec, 500.0*1024/mib; got != want {
		t.Errorf("MB/s = %v, want %v", got, want)
	}
	line := res.line()
	for _, part := range []string{
		"1000 records sent, 500.0 records/sec (0.49 MB/sec), 5.00 ms avg latency, 10.00 ms max latency,",
		"ms 50th,", "ms 95th,", "ms 99th,", "ms 99.9th.",
	} {
		if !strings.Contains(line, part) {
			t.Errorf("line %q lacks %q", line, part)
		}
	}
	if res.P50Ms < 5 || res.P50Ms > 5.05 || res.P999Ms < 9.99 || res.P999Ms > 10 {
		t.Errorf("percentiles = %v, %v", res.P50Ms, res.P999Ms)
	}
}

func TestConsumeResult(t *testing.T) {
	start := time.Now()
	c := &consumeBench{measureStart: start, records: 2048, bytes: 2 * mib, lastRecord: start.Add(time.Second)}
	res := c.result(7)
	if res.RecordsPerSec != 2048 || res.MBPerSec != 2 || res.Fetches != 7 {
		t.Errorf("result = %+v", res)
	}
	if want := "2048 records consumed (2.00 MB) in 1.00 s, 2048.0 records/sec (2.00 MB/sec), 7 fetches."; res.line() != want {
		t.Errorf("line = %q, want %q", res.line(), want)
	}
	if empty := (&consumeBench{}).result(0); empty.RecordsPerSec != 0 || empty.ElapsedSec != 0 {
		t.Errorf("an empty run must report zeros, got %+v", empty)
	}
}

func TestThrottleUnlimitedAndCancelled(t *testing.T) {
	th := newThrottle(-1, time.Now())
	th.wait(context.Background(), 1<<40) // unlimited: returns at once
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	th = newThrottle(1, time.Now())
	done := make(chan struct{})
	go func() {
		th.wait(ctx, 1000) // due in 1000 s, but ctx is already done
		close(done)
	}()
	<-done
}

func TestRandomPayload(t *testing.T) {
	p := randomPayload(4096)
	if len(p) != 4096 {
		t.Fatalf("len = %d", len(p))
	}
	for _, c := range p {
		if c < 'A' || c > 'Z' {
			t.Fatalf("payload byte %q is not an upper-case letter", c)
		}
	}
}
