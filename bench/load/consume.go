package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

type consumeResult struct {
	Records    int64   `json:"records"`
	Bytes      int64   `json:"bytes"`
	ElapsedSec float64 `json:"elapsed_s"`
	MiBPerSec  float64 `json:"mib_per_s"`
	RecPerSec  float64 `json:"rec_per_s"`
}

// runConsume reads every partition of the topic from its start (direct
// assignment, no consumer group, kgo's default fetch sizes) until it has
// read every record that was there when it started.
func runConsume(ctx context.Context, o options) (*consumeResult, error) {
	seeds := strings.Split(o.brokers, ",")
	admCl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return nil, err
	}
	ends, err := kadm.NewClient(admCl).ListEndOffsets(ctx, o.topic)
	admCl.Close()
	if err != nil {
		return nil, err
	}
	var want int64
	ends.Each(func(l kadm.ListedOffset) { want += l.Offset })
	if want == 0 {
		return nil, fmt.Errorf("topic %s is empty", o.topic)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...),
		kgo.ConsumeTopics(o.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	res := &consumeResult{}
	start := time.Now()
	for res.Records < want {
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		if err := fs.Err0(); err != nil {
			return nil, fmt.Errorf("after %d of %d records: %w", res.Records, want, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			res.Records++
			res.Bytes += int64(len(r.Key) + len(r.Value))
		})
	}
	el := time.Since(start)
	res.ElapsedSec = el.Seconds()
	res.MiBPerSec = float64(res.Bytes) / mib / res.ElapsedSec
	res.RecPerSec = float64(res.Records) / res.ElapsedSec
	return res, nil
}
