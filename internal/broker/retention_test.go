package broker_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// eventually polls cond every 20ms until it holds or 20s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func startOffset(t *testing.T, adm *kadm.Client, topic string) int64 {
	t.Helper()
	offs, err := adm.ListStartOffsets(ctxT(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := offs.Lookup(topic, 0)
	return o.Offset
}

// TestRetentionOffsetOutOfRange: segments older than retention.ms are
// deleted in the background, a fetch below the new log start gets
// OFFSET_OUT_OF_RANGE, and a consumer starting there resets to the start.
func TestRetentionOffsetOutOfRange(t *testing.T) {
	b := brokertest.Start(t, "log.retention.check.interval.ms", "20", "log.segment.delete.delay.ms", "0")
	// Keep everything while producing, then turn retention on, so one
	// retention pass deletes every closed segment and the start is stable.
	createTopic(t, b.Addr(), "ret", 1, map[string]*string{"segment.bytes": ptr("2048"), "retention.ms": ptr("-1")})
	cl := newClient(t, b.Addr(), kgo.DefaultProduceTopic("ret"))
	old := time.Now().Add(-2 * time.Hour)
	for i := 0; i < 100; i++ {
		ts := old
		if i == 99 {
			ts = time.Now() // the active segment does not expire
		}
		r := &kgo.Record{Key: []byte("k"), Value: []byte(fmt.Sprintf("%03d-%s", i, strings.Repeat("x", 100))), Timestamp: ts}
		if err := cl.ProduceSync(ctxT(t), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	adm := kadm.NewClient(cl)
	if r, err := adm.AlterTopicConfigs(ctxT(t), []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: ptr("3600000")}}, "ret"); err != nil || r[0].Err != nil {
		t.Fatal(err, r)
	}
	eventually(t, "retention to move the log start", func() bool { return startOffset(t, adm, "ret") > 0 })
	start := startOffset(t, adm, "ret")

	// A raw fetch at offset 0 is out of range.
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MaxBytes = 10, 1<<20
	topics, err := adm.ListTopics(ctxT(t), "ret")
	if err != nil {
		t.Fatal(err)
	}
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = "ret", topics["ret"].ID
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = 1<<20, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	p := resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(p.ErrorCode); err != kerr.OffsetOutOfRange || p.LogStartOffset != start {
		t.Fatalf("fetch at 0: %v, log start %d (want OFFSET_OUT_OF_RANGE, %d)", err, p.LogStartOffset, start)
	}

	// A consumer asking for offset 0 resets to the earliest offset.
	cons := newClient(t, b.Addr(),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"ret": {0: kgo.NewOffset().At(0)}}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	fs := cons.PollFetches(ctxT(t))
	fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("consume: %v", err) })
	recs := fs.Records()
	if len(recs) == 0 || recs[0].Offset != start {
		t.Fatalf("consumer did not reset to the log start %d: %d records", start, len(recs))
	}
	if want := fmt.Sprintf("%03d-", start); !strings.HasPrefix(string(recs[0].Value), want) {
		t.Fatalf("first value %q, want prefix %q", recs[0].Value[:4], want)
	}
}

// TestCompactedTopicLatestPerKey: the background cleaner leaves only the
// latest value of every key, read back through kgo with offsets intact.
func TestCompactedTopicLatestPerKey(t *testing.T) {
	b := brokertest.Start(t, "log.cleaner.backoff.ms", "20")
	createTopic(t, b.Addr(), "table", 1, map[string]*string{
		"cleanup.policy": ptr("compact"), "segment.bytes": ptr("4096"), "min.cleanable.dirty.ratio": ptr("0.01"),
	})
	cl := newClient(t, b.Addr(), kgo.DefaultProduceTopic("table"), kgo.ProducerBatchCompression(kgo.ZstdCompression()))
	latest := map[string]int64{}
	for i := 0; i < 400; i++ {
		key := fmt.Sprintf("key-%d", i%10)
		r := &kgo.Record{Key: []byte(key), Value: []byte(fmt.Sprintf("%s=%d", key, i))}
		res := cl.ProduceSync(ctxT(t), r)
		if err := res.FirstErr(); err != nil {
			t.Fatal(err)
		}
		latest[key] = res[0].Record.Offset
	}
	// Push every keyed record out of the active segment.
	for i := 0; i < 100; i++ {
		r := &kgo.Record{Key: []byte("filler"), Value: []byte(strings.Repeat("f", 200))}
		if err := cl.ProduceSync(ctxT(t), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var got map[string][]*kgo.Record
	eventually(t, "the cleaner to compact the topic", func() bool {
		got = readCompacted(t, b.Addr())
		for key := range latest {
			if len(got[key]) != 1 {
				return false
			}
		}
		return true
	})
	for key, off := range latest {
		r := got[key][0]
		if r.Offset != off || string(r.Value) != fmt.Sprintf("%s=%d", key, off) {
			t.Fatalf("%s: offset %d value %q, want offset %d", key, r.Offset, r.Value, off)
		}
	}
}

// readCompacted reads the whole topic once and groups records by key.
func readCompacted(t *testing.T, addr string) map[string][]*kgo.Record {
	t.Helper()
	cl := newClient(t, addr, kgo.ConsumeTopics("table"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctxT(t), "table")
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup("table", 0)
	out := map[string][]*kgo.Record{}
	var last int64 = -1
	for last+1 < end.Offset {
		fs := cl.PollFetches(ctxT(t))
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("consume: %v", err) })
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset <= last {
				t.Fatalf("offset %d after %d", r.Offset, last)
			}
			last = r.Offset
			out[string(r.Key)] = append(out[string(r.Key)], r)
		})
	}
	return out
}

// TestCleanerSettingsAreDynamic: log.cleaner.backoff.ms set on the broker
// default resource takes effect without a restart, as in Kafka.
func TestCleanerSettingsAreDynamic(t *testing.T) {
	b := brokertest.Start(t, "log.cleaner.backoff.ms", "3600000")
	createTopic(t, b.Addr(), "table", 1, map[string]*string{
		"cleanup.policy": ptr("compact"), "segment.bytes": ptr("4096"), "min.cleanable.dirty.ratio": ptr("0.01"),
	})
	cl := newClient(t, b.Addr(), kgo.DefaultProduceTopic("table"))
	round := func(n int) map[string]int64 {
		latest := map[string]int64{}
		for i := 0; i < n; i++ {
			key := fmt.Sprintf("key-%d", i%10)
			res := cl.ProduceSync(ctxT(t), &kgo.Record{Key: []byte(key), Value: []byte(fmt.Sprintf("%s=%d", key, i))})
			if err := res.FirstErr(); err != nil {
				t.Fatal(err)
			}
			latest[key] = res[0].Record.Offset
		}
		for i := 0; i < 60; i++ { // push the keyed records out of the active segment
			if err := cl.ProduceSync(ctxT(t), &kgo.Record{Key: []byte("filler"), Value: []byte(strings.Repeat("f", 200))}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		return latest
	}
	compacted := func(latest map[string]int64) bool {
		got := readCompacted(t, b.Addr())
		for key, off := range latest {
			if len(got[key]) != 1 || got[key][0].Offset != off {
				return false
			}
		}
		return true
	}
	latest := round(200)
	time.Sleep(300 * time.Millisecond)
	if compacted(latest) {
		t.Fatal("compacted although the cleaner backs off for an hour")
	}
	adm := kadm.NewClient(cl)
	res, err := adm.AlterBrokerConfigs(ctxT(t), []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "log.cleaner.backoff.ms", Value: ptr("20")}})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	eventually(t, "the cleaner to run after its backoff was lowered", func() bool { return compacted(latest) })
	// The new backoff holds for later passes too.
	latest = round(200)
	eventually(t, "a second pass with the new backoff", func() bool { return compacted(latest) })
}
