package broker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/broker"
	"github.com/samsa-streaming/samsa/internal/brokertest"
)

func newClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RetryTimeout(10 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func createTopic(t *testing.T, addr, topic string, partitions int32, configs map[string]*string) {
	t.Helper()
	adm := kadm.NewClient(newClient(t, addr))
	resp, err := adm.CreateTopics(ctxT(t), partitions, 1, configs, topic)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Error(); err != nil {
		t.Fatal(err)
	}
}

// produceN produces n keyed records with headers, spread over the topic's
// partitions by key, and returns what was produced per partition in order.
func produceN(t *testing.T, cl *kgo.Client, topic string, n int) map[int32][]*kgo.Record {
	t.Helper()
	var recs []*kgo.Record
	for i := 0; i < n; i++ {
		recs = append(recs, &kgo.Record{
			Topic:   topic,
			Key:     []byte(fmt.Sprintf("key-%d", i%17)),
			Value:   []byte(fmt.Sprintf("value-%d", i)),
			Headers: []kgo.RecordHeader{{Key: "i", Value: []byte(fmt.Sprint(i))}, {Key: "empty"}},
		})
	}
	res := cl.ProduceSync(ctxT(t), recs...)
	if err := res.FirstErr(); err != nil {
		t.Fatal(err)
	}
	byPart := map[int32][]*kgo.Record{}
	for _, r := range res {
		byPart[r.Record.Partition] = append(byPart[r.Record.Partition], r.Record)
	}
	return byPart
}

// consumeAll reads n records from the start of every partition of topic.
func consumeAll(t *testing.T, addr, topic string, n int, opts ...kgo.Opt) map[int32][]*kgo.Record {
	t.Helper()
	cl := newClient(t, addr, append([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	got := map[int32][]*kgo.Record{}
	total := 0
	ctx := ctxT(t)
	for total < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d: %v", total, n, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			got[r.Partition] = append(got[r.Partition], r)
			total++
		})
	}
	return got
}

func checkSame(t *testing.T, want, got map[int32][]*kgo.Record) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("partitions: produced to %d, consumed from %d", len(want), len(got))
	}
	for p, ws := range want {
		gs := got[p]
		if len(gs) != len(ws) {
			t.Fatalf("partition %d: produced %d, consumed %d", p, len(ws), len(gs))
		}
		for i := range ws {
			w, g := ws[i], gs[i]
			if g.Offset != w.Offset || string(g.Key) != string(w.Key) || string(g.Value) != string(w.Value) {
				t.Fatalf("partition %d #%d: got %d %q=%q, want %d %q=%q", p, i, g.Offset, g.Key, g.Value, w.Offset, w.Key, w.Value)
			}
			if len(g.Headers) != 2 || g.Headers[0].Key != "i" || string(g.Headers[0].Value) != string(w.Headers[0].Value) || g.Headers[1].Key != "empty" {
				t.Fatalf("partition %d #%d: headers %v", p, i, g.Headers)
			}
			if g.Offset != int64(i) {
				t.Fatalf("partition %d: offsets not contiguous from 0: #%d has %d", p, i, g.Offset)
			}
		}
	}
}

func TestProduceConsumeKeysHeaders(t *testing.T) {
	b := brokertest.Start(t)
	createTopic(t, b.Addr(), "orders", 4, nil)
	cl := newClient(t, b.Addr(), kgo.DefaultProduceTopic("orders"))
	want := produceN(t, cl, "orders", 500)
	if len(want) < 2 {
		t.Fatalf("keys went to only %d partitions", len(want))
	}
	checkSame(t, want, consumeAll(t, b.Addr(), "orders", 500))
}

func TestCompressionCodecs(t *testing.T) {
	b := brokertest.Start(t)
	codecs := map[string]kgo.CompressionCodec{
		"gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	}
	for name, codec := range codecs {
		t.Run(name, func(t *testing.T) {
			topic := "codec-" + name
			createTopic(t, b.Addr(), topic, 2, nil)
			cl := newClient(t, b.Addr(), kgo.ProducerBatchCompression(codec))
			want := produceN(t, cl, topic, 300)
			checkSame(t, want, consumeAll(t, b.Addr(), topic, 300))
		})
	}
}

func TestRestartKeepsData(t *testing.T) {
	for _, mode := range []string{"page-cache", "group-commit"} {
		t.Run(mode, func(t *testing.T) {
			b := brokertest.Start(t, "log.flush.mode", mode, "log.segment.bytes", "4096")
			createTopic(t, b.Addr(), "keep", 3, nil)
			cl := newClient(t, b.Addr())
			want := produceN(t, cl, "keep", 400)
			cl.Close()
			b.Restart()
			checkSame(t, want, consumeAll(t, b.Addr(), "keep", 400))
			// The idempotent producer state and offsets continue after restart.
			more := produceN(t, newClient(t, b.Addr()), "keep", 10)
			for p, rs := range more {
				if rs[0].Offset != int64(len(want[p])) {
					t.Fatalf("partition %d: first offset after restart %d, want %d", p, rs[0].Offset, len(want[p]))
				}
			}
		})
	}
}

// TestLongPollFetch checks that a fetch waiting for data is answered when
// data arrives: the consumer starts first, then the producer writes.
// pollOnce polls cons once in the background and delivers the first
// record it gets (nil if none) on the returned channel.
func pollOnce(t *testing.T, cons *kgo.Client) <-chan *kgo.Record {
	got := make(chan *kgo.Record, 1)
	go func() {
		fs := cons.PollFetches(ctxT(t))
		var first *kgo.Record
		fs.EachRecord(func(r *kgo.Record) {
			if first == nil {
				first = r
			}
		})
		got <- first
	}()
	return got
}

func TestLongPollFetch(t *testing.T) {
	b := brokertest.Start(t)
	createTopic(t, b.Addr(), "poll", 1, nil)
	got := pollOnce(t, newClient(t, b.Addr(), kgo.ConsumeTopics("poll"), kgo.FetchMaxWait(20*time.Second)))
	// Let the consumer's first (empty) fetch reach the broker and park.
	time.Sleep(300 * time.Millisecond)
	prod := newClient(t, b.Addr())
	if err := prod.ProduceSync(ctxT(t), &kgo.Record{Topic: "poll", Value: []byte("wake")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r == nil || string(r.Value) != "wake" {
			t.Fatalf("got %v", r)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the parked fetch was not woken by the produce (it waits 20s)")
	}
}

// TestLongPollSeesAppendBeforeWatch appends a record in the window between
// a fetch's first read (nothing there yet) and its watch on the partition:
// the fetch must still answer with it at once, not when MaxWait ends (a
// lost wake-up that showed as ~500 ms end-to-end p99 under steady load).
func TestLongPollSeesAppendBeforeWatch(t *testing.T) {
	b := brokertest.Start(t)
	createTopic(t, b.Addr(), "race", 1, nil)
	prod := newClient(t, b.Addr())
	var once sync.Once
	broker.SetFetchWaitHook(func() {
		once.Do(func() {
			if err := prod.ProduceSync(ctxT(t), &kgo.Record{Topic: "race", Value: []byte("early")}).FirstErr(); err != nil {
				t.Error(err)
			}
		})
	})
	t.Cleanup(func() { broker.SetFetchWaitHook(nil) })
	got := pollOnce(t, newClient(t, b.Addr(), kgo.ConsumeTopics("race"), kgo.FetchMaxWait(30*time.Second)))
	select {
	case r := <-got:
		if r == nil || string(r.Value) != "early" {
			t.Fatalf("got %v", r)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the record appended before the fetch watched its partition was not returned until MaxWait (30s)")
	}
}
