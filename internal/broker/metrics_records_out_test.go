package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// TestRecordsOut: samsa_topic_records_out_total counts the records
// consumers got, exactly, whether their fetches reached the high
// watermark (counted at once), were cut by a byte limit (counted at the
// next fetch), or were down-converted for an old client (Fetch v3); a
// follower's fetches are not consumers'.
func TestRecordsOut(t *testing.T) {
	b := brokertest.Start(t, "metrics.listener", "127.0.0.1:0")
	base := "http://" + b.MetricsAddr()
	const topic, perRound, rounds = "records-out", 50, 10
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	prod := newClient(t, b.Addr(), kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0))
	if _, err := kadm.NewClient(prod).CreateTopic(ctx, 2, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	// Several batches per partition, so that a byte limit cuts between
	// them.
	for r := 0; r < rounds; r++ {
		var recs []*kgo.Record
		for i := 0; i < perRound; i++ {
			recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprintf("value-%d-%d", r, i))})
		}
		if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	const total = perRound * rounds

	recordsOut := func() float64 {
		v, _ := sumMetric(scrapeMetrics(t, base), "samsa_topic_records_out_total", map[string]string{"topic": topic})
		return v
	}
	consume := func(name string, want float64, opts ...kgo.Opt) {
		t.Helper()
		cl := newClient(t, b.Addr(), append([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
		got := 0
		for got < total {
			fs := cl.PollFetches(ctx)
			if err := fs.Err0(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got += fs.NumRecords()
		}
		// The client fetches on from the end: that settles a cut
		// response's count.
		deadline := time.Now().Add(10 * time.Second)
		for v := recordsOut(); v != want; v = recordsOut() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: samsa_topic_records_out_total = %v, want %v", name, v, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
		cl.Close()
	}
	if v := recordsOut(); v != 0 {
		t.Fatalf("records out before any consumer: %v", v)
	}
	// Default limits: each partition's read reaches the high watermark.
	consume("whole fetches", total)
	// One batch per response: every read is cut.
	consume("cut fetches", 2*total, kgo.FetchMaxPartitionBytes(1), kgo.FetchMaxBytes(1))
	// Fetch v3: magic 1 message sets converted in memory.
	consume("Fetch v3", 3*total, kgo.MaxVersions(kversion.V0_10_1()))
}
