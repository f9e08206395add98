package broker_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/brokertest"
	"github.com/samsa-streaming/samsa/internal/record"
)

// Produce requests that carry many partitions and more than 128 KiB are
// appended by several goroutines at once; every partition must still hold
// its records in order, contiguous from offset 0, in both flush modes.
func TestLargeProduceRequestsAcrossPartitions(t *testing.T) {
	for _, mode := range []string{"page-cache", "group-commit"} {
		t.Run(mode, func(t *testing.T) {
			b := brokertest.Start(t, "log.flush.mode", mode)
			createTopic(t, b.Addr(), "wide", 12, nil)
			// A long linger and large batches make each request carry
			// every partition and several hundred KiB.
			cl := newClient(t, b.Addr(), kgo.DefaultProduceTopic("wide"),
				kgo.ProducerLinger(50*time.Millisecond), kgo.ProducerBatchMaxBytes(1<<20),
				kgo.ProducerBatchCompression(kgo.NoCompression()))
			pad := bytes.Repeat([]byte("x"), 2000)
			want := map[int32][]*kgo.Record{}
			for round := range 4 {
				var recs []*kgo.Record
				for i := range 600 {
					n := round*600 + i
					recs = append(recs, &kgo.Record{
						Key:     []byte(fmt.Sprintf("key-%d", n%37)),
						Value:   append([]byte(fmt.Sprintf("value-%d-", n)), pad...),
						Headers: []kgo.RecordHeader{{Key: "i", Value: []byte(fmt.Sprint(n))}, {Key: "empty"}},
					})
				}
				res := cl.ProduceSync(ctxT(t), recs...)
				if err := res.FirstErr(); err != nil {
					t.Fatal(err)
				}
				for _, r := range res {
					want[r.Record.Partition] = append(want[r.Record.Partition], r.Record)
				}
			}
			if len(want) != 12 {
				t.Fatalf("keys went to %d of 12 partitions", len(want))
			}
			checkSame(t, want, consumeAll(t, b.Addr(), "wide", 2400))
		})
	}
}

// A request naming one partition twice is appended in request order even
// when it is large enough to be spread over goroutines.
func TestLargeProduceSamePartitionTwice(t *testing.T) {
	b := brokertest.Start(t)
	createTopic(t, b.Addr(), "twice", 2, nil)
	cl := newClient(t, b.Addr())
	md, err := kadm.NewClient(cl).ListTopics(ctxT(t), "twice")
	if err != nil {
		t.Fatal(err)
	}
	big := func(n int, tag string) []byte {
		recs := make([]kmsg.Record, n)
		for i := range recs {
			recs[i] = kmsg.Record{OffsetDelta: int32(i), Value: append([]byte(tag), bytes.Repeat([]byte("y"), 1000)...)}
		}
		return record.EncodeBatch(&kmsg.RecordBatch{FirstTimestamp: 1, MaxTimestamp: 1, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1}, recs)
	}
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID = "twice", md["twice"].ID
	for _, p := range []struct {
		part int32
		tag  string
	}{{0, "a"}, {1, "b"}, {0, "c"}} {
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = p.part, big(100, p.tag)
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	got := resp.Topics[0].Partitions
	if len(got) != 3 {
		t.Fatalf("%d partition answers, want 3", len(got))
	}
	for i, want := range []int64{0, 0, 100} {
		if got[i].ErrorCode != 0 || got[i].BaseOffset != want {
			t.Fatalf("answer %d: error %d base offset %d, want 0 and %d", i, got[i].ErrorCode, got[i].BaseOffset, want)
		}
	}
	cons := newClient(t, b.Addr(), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"twice": {0: kgo.NewOffset().AtStart()}}))
	var vals []byte
	for len(vals) < 200 {
		fs := cons.PollFetches(ctxT(t))
		fs.EachError(func(_ string, _ int32, err error) { t.Fatal(err) })
		fs.EachRecord(func(r *kgo.Record) { vals = append(vals, r.Value[0]) })
	}
	if string(vals) != string(bytes.Repeat([]byte("a"), 100))+string(bytes.Repeat([]byte("c"), 100)) {
		t.Fatalf("partition 0 holds %q, want 100 a then 100 c", vals)
	}
}
