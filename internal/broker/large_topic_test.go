package broker_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// A topic of thousands of partitions has its logs made in the background
// (not in the metadata quorum's apply loop): CreateTopics answers once the
// topic is committed, clients retry until each partition is hosted, and
// every partition then takes records. A topic deleted while its logs are
// being made leaves nothing behind.
func TestLargeTopicCreatedInBackground(t *testing.T) {
	b := brokertest.Start(t)
	adm := kadm.NewClient(newClient(t, b.Addr()))
	const n = 2000
	if r, err := adm.CreateTopic(ctxT(t), n, 1, nil, "large"); err != nil || r.Err != nil {
		t.Fatalf("create: %v %v", err, r.Err)
	}
	cl := newClient(t, b.Addr(), kgo.DefaultProduceTopic("large"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for p := int32(0); p < n; p++ {
		recs = append(recs, &kgo.Record{Partition: p, Value: []byte("x")})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("producing to every partition: %v", err)
	}
	ends, err := adm.ListEndOffsets(ctxT(t), "large")
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset == 1 {
			got++
		}
	})
	if got != n {
		t.Fatalf("%d of %d partitions hold their record", got, n)
	}

	// Created and deleted at once.
	if r, err := adm.CreateTopic(ctxT(t), n, 1, nil, "gone"); err != nil || r.Err != nil {
		t.Fatalf("create: %v %v", err, r.Err)
	}
	if _, err := adm.DeleteTopics(ctxT(t), "gone"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		left := 0
		entries, _ := osReadDir(b.Dir())
		for _, e := range entries {
			if len(e) > 5 && e[:5] == "gone-" {
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d partition directories of the deleted topic remain", left)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func osReadDir(dir string) ([]string, error) {
	es, err := os.ReadDir(dir)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out, err
}
