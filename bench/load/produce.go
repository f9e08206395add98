package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

type produceResult struct {
	Records    int64   `json:"records"`
	Bytes      int64   `json:"bytes"`
	ElapsedSec float64 `json:"elapsed_s"`
	RecPerSec  float64 `json:"rec_per_s"`
	MiBPerSec  float64 `json:"mib_per_s"`
	TargetRate float64 `json:"target_rate"`
	Latency    summary `json:"latency"`
}

// sentRecord carries its Produce time through the record's Context (kgo
// only reads that field for cancellation), so no per-record map is needed.
type sentRecord struct {
	context.Context
	rec  kgo.Record
	sent time.Time
}

// runProduce produces o.bytes (or for o.duration after o.warmup) at o.rate
// (or flat out) and reports throughput from the first measured Produce call
// to the last acknowledgement, and each record's Produce-to-ack latency.
func runProduce(ctx context.Context, o options) (*produceResult, error) {
	if err := ensureTopic(ctx, o); err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(producerOpts(o)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()

	value := payload(o.recordSize)
	var (
		tl       timeline
		lat      latencies
		acked    atomic.Int64
		failed   atomic.Int64
		errOnce  sync.Once
		firstErr error
		lastAck  atomic.Int64
	)
	limit := int64(0)
	if o.bytes > 0 {
		limit = o.bytes / int64(o.recordSize)
	}
	expect := expectedRecords(o.rate, o.duration, limit)
	lat.expect(expect)
	if o.timeline != "" {
		tl.expect(expect)
	}
	start := time.Now()
	measureStart := start.Add(o.warmup)
	pool := sync.Pool{New: func() any { return &sentRecord{Context: context.Background()} }}
	promise := func(r *kgo.Record, err error) {
		sr := r.Context.(*sentRecord)
		now := time.Now()
		if err != nil {
			failed.Add(1)
			errOnce.Do(func() { firstErr = err })
		} else if !sr.sent.Before(measureStart) {
			lat.add(now.Sub(sr.sent))
			if o.timeline != "" {
				tl.add(sr.sent, now.Sub(sr.sent))
			}
			acked.Add(1)
			lastAck.Store(now.UnixNano())
		}
		pool.Put(sr)
	}
	end := time.Time{}
	if o.duration > 0 {
		end = measureStart.Add(o.duration)
	}
	var keys [][]byte
	if o.keys > 0 {
		keys = make([][]byte, o.keys)
		for i := range keys {
			keys[i] = fmt.Appendf(nil, "key-%09d", i)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	p := pacer{start: start, rate: o.rate}
	var sent, measured int64
	for limit == 0 || measured < limit {
		now := time.Now()
		if !end.IsZero() && now.After(end) {
			break
		}
		sr := pool.Get().(*sentRecord)
		sr.sent = now
		sr.rec = kgo.Record{Value: value, Context: sr}
		if keys != nil {
			sr.rec.Key = keys[rng.IntN(len(keys))]
		}
		cl.Produce(ctx, &sr.rec, promise)
		sent++
		if !now.Before(measureStart) {
			measured++
		}
		p.wait(sent)
	}
	if err := cl.Flush(ctx); err != nil {
		return nil, err
	}
	if n := failed.Load(); n > 0 {
		return nil, fmt.Errorf("%d records failed, first: %w", n, firstErr)
	}
	if o.timeline != "" {
		if err := tl.write(o.timeline); err != nil {
			return nil, err
		}
	}
	res := &produceResult{Records: acked.Load(), TargetRate: o.rate, Latency: lat.summary()}
	res.Bytes = res.Records * int64(o.recordSize)
	if res.Records > 0 {
		res.ElapsedSec = time.Unix(0, lastAck.Load()).Sub(measureStart).Seconds()
		res.RecPerSec = float64(res.Records) / res.ElapsedSec
		res.MiBPerSec = float64(res.Bytes) / mib / res.ElapsedSec
	}
	return res, nil
}
