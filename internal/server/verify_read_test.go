package server_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/brokertest"
	"github.com/samsa-streaming/samsa/internal/record"
)

// TestFlippedByteNotServed: a byte flipped inside a batch in the middle of
// a segment of a stopped broker, below the recovery point (the start does
// not read it), is found by the first fetch that reaches it. A consumer
// from offset 0 gets every record before the damaged batch exactly as
// produced, then the partition answers CORRUPT_MESSAGE, never a record of
// the damaged batch or a batch failing its CRC; the other partition of
// the topic is read whole, and producing to the damaged partition works.
func TestFlippedByteNotServed(t *testing.T) {
	b := brokertest.Start(t, "log.segment.bytes", "16384", "log.index.interval.bytes", "1024")
	adm := adminFor(t, b.Addr())
	if _, err := adm.CreateTopic(ctxFor(t, 20*time.Second), 2, 1, nil, "flipped"); err != nil {
		t.Fatal(err)
	}
	cl := client(t, kgo.SeedBrokers(b.Addr()), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.ProducerLinger(0))
	written := map[int32][]string{}
	for i := range 200 {
		for p := int32(0); p < 2; p++ {
			v := fmt.Sprintf("p%d-%03d-%s", p, i, strings.Repeat("v", 300))
			if err := cl.ProduceSync(ctxFor(t, 20*time.Second), &kgo.Record{Topic: "flipped", Partition: p, Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			written[p] = append(written[p], v)
		}
	}
	cl.Close()
	b.Stop()

	segs, _ := filepath.Glob(filepath.Join(b.Dir(), "flipped-0", "*.log"))
	if len(segs) < 3 {
		t.Fatalf("%d segments, want at least 3", len(segs))
	}
	// The batch in the middle of the second segment: one byte of its
	// record data.
	data, err := os.ReadFile(segs[1])
	if err != nil {
		t.Fatal(err)
	}
	var starts []int64
	var hs []record.Header
	for pos := int64(0); pos < int64(len(data)); {
		h, err := record.ParseHeader(data[pos:])
		if err != nil {
			t.Fatal(err)
		}
		starts, hs = append(starts, pos), append(hs, h)
		pos += h.TotalSize()
	}
	k := len(starts) / 2
	badBase, badLast := hs[k].BaseOffset, hs[k].LastOffset()
	data[starts[k]+record.HeaderSize+30] ^= 0x10
	writeFile(t, segs[1], data)

	b.StartAgain()
	cons := client(t, kgo.SeedBrokers(b.Addr()), kgo.ConsumeTopics("flipped"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.KeepRetryableFetchErrors())
	got := map[int32][]string{}
	var corrupt error
	ctx := ctxFor(t, 30*time.Second)
	for corrupt == nil || len(got[1]) < len(written[1]) {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d and %d records; error on partition 0: %v", len(got[0]), len(got[1]), corrupt)
		}
		fs.EachError(func(_ string, p int32, err error) {
			if p != 0 || !errors.Is(err, kerr.CorruptMessage) {
				t.Fatalf("partition %d: fetch error %v, want CORRUPT_MESSAGE on partition 0 only", p, err)
			}
			corrupt = err
		})
		fs.EachRecord(func(r *kgo.Record) {
			if r.Partition == 0 && r.Offset >= badBase && r.Offset <= badLast {
				t.Fatalf("offset %d of the damaged batch [%d, %d] was served", r.Offset, badBase, badLast)
			}
			i := len(got[r.Partition])
			if int64(i) != r.Offset || i >= len(written[r.Partition]) || string(r.Value) != written[r.Partition][i] {
				t.Fatalf("partition %d offset %d: got %.12q, not the next record produced (%d read)", r.Partition, r.Offset, r.Value, i)
			}
			got[r.Partition] = append(got[r.Partition], string(r.Value))
		})
	}
	if int64(len(got[0])) != badBase {
		t.Fatalf("partition 0: %d records read before the error, want the %d before the damaged batch", len(got[0]), badBase)
	}
	t.Logf("partition 0: %d records read, then %v; partition 1: all %d", len(got[0]), corrupt, len(got[1]))
	p := client(t, kgo.SeedBrokers(b.Addr()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := p.ProduceSync(ctxFor(t, 20*time.Second), &kgo.Record{Topic: "flipped", Partition: 0, Value: []byte("after")}).FirstErr(); err != nil {
		t.Fatalf("produce after the damage: %v", err)
	}
}

// TestScrubFindsDamageBeforeAnyRead: the same damage, and no consumer at
// all: the background scrub (log.scrub.bytes.per.second) finds it, and
// the broker reports it in samsa_log_corrupt_batches, having checked the
// segments it was started with (samsa_log_scrubbed_bytes_total).
func TestScrubFindsDamageBeforeAnyRead(t *testing.T) {
	b := brokertest.Start(t, "log.segment.bytes", "16384", "log.index.interval.bytes", "1024")
	adm := adminFor(t, b.Addr())
	if _, err := adm.CreateTopic(ctxFor(t, 20*time.Second), 1, 1, nil, "scrubbed"); err != nil {
		t.Fatal(err)
	}
	cl := client(t, kgo.SeedBrokers(b.Addr()), kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.ProducerLinger(0))
	for i := range 200 {
		v := fmt.Sprintf("%03d-%s", i, strings.Repeat("v", 300))
		if err := cl.ProduceSync(ctxFor(t, 20*time.Second), &kgo.Record{Topic: "scrubbed", Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	b.Stop()
	segs, _ := filepath.Glob(filepath.Join(b.Dir(), "scrubbed-0", "*.log"))
	if len(segs) < 3 {
		t.Fatalf("%d segments, want at least 3", len(segs))
	}
	data, err := os.ReadFile(segs[1])
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x10 // inside some batch of the second segment
	writeFile(t, segs[1], data)

	b.Set("log.scrub.bytes.per.second", "10000000")
	b.Set("metrics.listener", "127.0.0.1:0")
	b.StartAgain()
	metric := func(name string) float64 {
		resp, err := http.Get("http://" + b.MetricsAddr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		for _, line := range strings.Split(string(body), "\n") {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				f, _ := strconv.ParseFloat(v, 64)
				return f
			}
		}
		return -1
	}
	waitFor(t, "the scrub to report the damaged batch", func() bool { return metric("samsa_log_corrupt_batches") == 1 })
	if n := metric("samsa_log_scrubbed_bytes_total"); n < 16384 {
		t.Fatalf("samsa_log_scrubbed_bytes_total %v, want at least the first segment", n)
	}
}
