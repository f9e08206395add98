package main

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

type adminResult struct {
	Rounds          int                `json:"rounds"`
	Partitions      int                `json:"partitions"`
	MaxMs           map[string]float64 `json:"max_ms"`
	MedianMs        map[string]float64 `json:"median_ms"`
	ElapsedSeconds  float64            `json:"elapsed_s"`
	FetchPartitions int                `json:"fetch_session_partitions"`
}

// runAdmin asks, over and over for o.duration, the questions whose answer
// covers every partition of the broker: Metadata for all topics,
// ListOffsets of every partition, DescribeLogDirs of every partition, and
// a fetch (one session) over every partition. A script measures another
// client's latency meanwhile; this reports how long each answer took.
func runAdmin(ctx context.Context, o options) (*adminResult, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(o.brokers, ",")...))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	lat := map[string][]float64{}
	timed := func(name string, f func() error) error {
		start := time.Now()
		err := f()
		lat[name] = append(lat[name], float64(time.Since(start).Microseconds())/1000)
		return err
	}
	res := &adminResult{MaxMs: map[string]float64{}, MedianMs: map[string]float64{}}
	var topics []string
	if err := timed("metadata", func() error {
		md, err := adm.Metadata(ctx)
		for _, t := range md.Topics {
			if !t.IsInternal {
				topics = append(topics, t.Topic)
				res.Partitions += len(t.Partitions)
			}
		}
		return err
	}); err != nil {
		return nil, err
	}
	// One consumer with a fetch session over every partition, at its end.
	parts := map[string]map[int32]kgo.Offset{}
	for _, t := range topics {
		parts[t] = map[int32]kgo.Offset{}
	}
	md, _ := adm.Metadata(ctx, topics...)
	for _, t := range md.Topics {
		for p := range t.Partitions {
			parts[t.Topic][p] = kgo.NewOffset().AtEnd()
			res.FetchPartitions++
		}
	}
	fc, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(o.brokers, ",")...), kgo.ConsumePartitions(parts), kgo.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer fc.Close()
	go func() {
		for ctx.Err() == nil {
			fc.PollFetches(ctx)
		}
	}()
	start := time.Now()
	for time.Since(start) < o.duration && ctx.Err() == nil {
		res.Rounds++
		if err := timed("metadata", func() error { _, err := adm.Metadata(ctx); return err }); err != nil {
			return nil, err
		}
		if err := timed("list_offsets", func() error { _, err := adm.ListEndOffsets(ctx, topics...); return err }); err != nil {
			return nil, err
		}
		if err := timed("describe_log_dirs", func() error { _, err := adm.DescribeAllLogDirs(ctx, nil); return err }); err != nil {
			return nil, err
		}
	}
	res.ElapsedSeconds = time.Since(start).Seconds()
	for k, v := range lat {
		sort.Float64s(v)
		res.MaxMs[k] = v[len(v)-1]
		res.MedianMs[k] = v[len(v)/2]
	}
	return res, nil
}
