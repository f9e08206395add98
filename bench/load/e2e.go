package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

type e2eResult struct {
	Produced   int64   `json:"produced"`
	Received   int64   `json:"received"`
	TargetRate float64 `json:"target_rate"`
	Latency    summary `json:"latency"`
}

// runE2E produces at o.rate and consumes the same topic (direct assignment,
// from the start, so none is missed while the consumer resolves its
// offsets) in this process; each record's value starts
// with its send time in Unix nanoseconds, so producer and consumer read one
// clock. Latency is from the Produce call to the record leaving PollFetches.
// Records sent during o.warmup are not measured.
func runE2E(ctx context.Context, o options) (*e2eResult, error) {
	if o.rate <= 0 || o.duration <= 0 {
		return nil, fmt.Errorf("e2e needs --rate and --duration")
	}
	if err := ensureTopic(ctx, o); err != nil {
		return nil, err
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(o.brokers, ",")...),
		kgo.ConsumeTopics(o.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cons.Close()
	prod, err := kgo.NewClient(producerOpts(o)...)
	if err != nil {
		return nil, err
	}
	defer prod.Close()

	var lat latencies
	lat.expect(expectedRecords(o.rate, o.duration, 0))
	start := time.Now()
	measureFrom := start.Add(o.warmup).UnixNano()
	sendEnd := start.Add(o.warmup + o.duration)
	var produced, received atomic.Int64
	var sendDone atomic.Bool
	consDone := make(chan error, 1)
	go func() {
		var idleSince time.Time
		for {
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			fs := cons.PollFetches(pctx)
			cancel()
			now := time.Now()
			n := 0
			fs.EachRecord(func(r *kgo.Record) {
				n++
				if len(r.Value) < 8 {
					return
				}
				sent := int64(binary.BigEndian.Uint64(r.Value))
				if sent >= measureFrom {
					lat.add(time.Duration(now.UnixNano() - sent))
					received.Add(1)
				}
			})
			for _, fe := range fs.Errors() {
				if fe.Err != context.DeadlineExceeded {
					consDone <- fe.Err
					return
				}
			}
			if sendDone.Load() {
				if received.Load() >= produced.Load() {
					consDone <- nil
					return
				}
				if n > 0 || idleSince.IsZero() {
					idleSince = now
				} else if now.Sub(idleSince) > 10*time.Second {
					consDone <- fmt.Errorf("received %d of %d measured records", received.Load(), produced.Load())
					return
				}
			}
		}
	}()

	p := pacer{start: start, rate: o.rate}
	var sent int64
	tmpl := payload(o.recordSize)
	for time.Now().Before(sendEnd) {
		v := append([]byte(nil), tmpl...)
		now := time.Now()
		binary.BigEndian.PutUint64(v, uint64(now.UnixNano()))
		measured := now.UnixNano() >= measureFrom
		prod.Produce(ctx, &kgo.Record{Value: v}, func(_ *kgo.Record, err error) {
			if err == nil && measured {
				produced.Add(1)
			}
		})
		sent++
		p.wait(sent)
	}
	if err := prod.Flush(ctx); err != nil {
		return nil, err
	}
	sendDone.Store(true)
	if err := <-consDone; err != nil {
		return nil, err
	}
	return &e2eResult{Produced: produced.Load(), Received: received.Load(), TargetRate: o.rate, Latency: lat.summary()}, nil
}
