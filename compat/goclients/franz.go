package main

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// franz-go (the client Samsa's own CLI and tests use): idempotent producer
// (the default) and direct partition consumption (no group), each codec.
var franzScenarios = map[string]func(string) error{
	"produce-consume":    func(b string) error { return franzRoundTrip(b, "franz-roundtrip", kgo.NoCompression()) },
	"compression-gzip":   func(b string) error { return franzRoundTrip(b, "franz-gzip", kgo.GzipCompression()) },
	"compression-snappy": func(b string) error { return franzRoundTrip(b, "franz-snappy", kgo.SnappyCompression()) },
	"compression-lz4":    func(b string) error { return franzRoundTrip(b, "franz-lz4", kgo.Lz4Compression()) },
	"compression-zstd":   func(b string) error { return franzRoundTrip(b, "franz-zstd", kgo.ZstdCompression()) },
}

func franzCreate(ctx context.Context, cl *kgo.Client, topic string, partitions int32) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = topic, partitions, 1
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("CreateTopics: %w", err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		return fmt.Errorf("CreateTopics %s: %w", topic, err)
	}
	return nil
}

func franzRoundTrip(bootstrap, topic string, codec kgo.CompressionCodec, extra ...kgo.Opt) error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(bootstrap), kgo.ProducerBatchCompression(codec),
		kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(5 * time.Millisecond)}, extra...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := franzCreate(ctx, cl, topic, 3); err != nil {
		return err
	}
	sent := testRecords(3000, "franz-go")
	recs := make([]*kgo.Record, len(sent))
	for i, r := range sent {
		kr := &kgo.Record{Key: []byte(r.Key), Value: []byte(r.Value)}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: []byte(h.Value)})
		}
		recs[i] = kr
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("ProduceSync: %w", err)
	}
	for i, kr := range recs {
		sent[i].Partition, sent[i].Offset = kr.Partition, kr.Offset
	}

	cons, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(bootstrap), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		topic: {0: kgo.NewOffset().AtStart(), 1: kgo.NewOffset().AtStart(), 2: kgo.NewOffset().AtStart()},
	})}, extra...)...)
	if err != nil {
		return err
	}
	defer cons.Close()
	got := map[int32][]rec{}
	n := 0
	for n < len(sent) {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("consumed %d of %d: %w", n, len(sent), err)
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) { ferr = fmt.Errorf("fetch %s/%d: %w", t, p, err) })
		if ferr != nil {
			return ferr
		}
		fs.EachRecord(func(kr *kgo.Record) {
			r := rec{Partition: kr.Partition, Offset: kr.Offset, Key: string(kr.Key), Value: string(kr.Value)}
			for _, h := range kr.Headers {
				r.Headers = append(r.Headers, header{h.Key, string(h.Value)})
			}
			got[kr.Partition] = append(got[kr.Partition], r)
			n++
		})
	}
	return verify(sent, got)
}
