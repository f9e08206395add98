package broker_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// BenchmarkMetricsScrape10kPartitions measures a whole scrape over HTTP
// (collect, encode, transfer) of a broker hosting 10,000 partitions, with
// a consumer group committed on every one of them, at the default
// partition level: 10,000 × (4 log series + 2 group series). The goal is
// under 200 ms.
//
//	go test ./internal/broker -run '^$' -bench MetricsScrape10k -benchtime 20x
func BenchmarkMetricsScrape10kPartitions(b *testing.B) {
	benchScrape(b, 10_000, "partition")
}

// BenchmarkMetricsScrape10kPartitionsTopicLevel is the same with
// metrics.partition.level=topic.
func BenchmarkMetricsScrape10kPartitionsTopicLevel(b *testing.B) {
	benchScrape(b, 10_000, "topic")
}

func benchScrape(b *testing.B, n int, level string) {
	br := brokertest.Start(b, "metrics.listener", "127.0.0.1:0", "metrics.partition.level", level)
	url := "http://" + br.MetricsAddr() + "/metrics"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	adm := kadm.NewClient(newClientB(b, br.Addr()))
	const topics = 10
	per := int32(n / topics)
	offs := kadm.Offsets{}
	for i := range topics {
		name := fmt.Sprintf("scrape-%d", i)
		if r, err := adm.CreateTopic(ctx, per, 1, nil, name); err != nil || r.Err != nil {
			b.Fatalf("create: %v %v", err, r.Err)
		}
		for p := range per {
			offs.Add(kadm.Offset{Topic: name, Partition: p, At: 0, LeaderEpoch: -1})
		}
	}
	// Wait until every partition is hosted (large topics are made in the
	// background), then commit an offset on each.
	for deadline := time.Now().Add(4 * time.Minute); ; {
		body := get(b, url)
		if strings.Contains(body, fmt.Sprintf("samsa_partitions %d", n)) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("partitions not all hosted")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := adm.CommitOffsets(ctx, "scrape-group", offs); err != nil {
		b.Fatal(err)
	}
	size := len(get(b, url))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		get(b, url)
	}
	b.StopTimer()
	b.ReportMetric(float64(size), "bytes/scrape")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/scrape")
}

func get(b *testing.B, url string) string {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("scrape: %d %v", resp.StatusCode, err)
	}
	return string(body)
}

func newClientB(b *testing.B, addr string) *kgo.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RetryTimeout(60*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	return cl
}
