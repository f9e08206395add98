package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

type firstResult struct {
	PortOpenMs     float64 `json:"port_open_ms"`
	FirstProduceMs float64 `json:"first_produce_ms"`
	Attempts       int     `json:"attempts"`
}

// runFirst measures the time from o.since (when the broker process was
// started) until its port accepts a connection and until one record is
// acknowledged (acks=all) on o.topic, which need not exist (auto-creation).
// It polls every 5 ms; each produce attempt uses a fresh client with fast
// retries, so a broker that is still starting costs no client backoff.
func runFirst(ctx context.Context, o options) (*firstResult, error) {
	since := time.Unix(0, o.since)
	deadline := time.Now().Add(o.deadline)
	res := &firstResult{}
	addr := strings.Split(o.brokers, ",")[0]
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("port %s not open after %s", addr, o.deadline)
		}
		time.Sleep(5 * time.Millisecond)
	}
	res.PortOpenMs = ms(time.Since(since))
	for {
		res.Attempts++
		err := produceOne(ctx, o)
		if err == nil {
			res.FirstProduceMs = ms(time.Since(since))
			return res, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no produce acknowledged after %s: %w", o.deadline, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func produceOne(ctx context.Context, o options) error {
	opts := append(producerOpts(o),
		kgo.AllowAutoTopicCreation(),
		kgo.MetadataMinAge(10*time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 5 * time.Millisecond }),
		kgo.DialTimeout(time.Second))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return cl.ProduceSync(actx, &kgo.Record{Value: payload(o.recordSize)}).FirstErr()
}
