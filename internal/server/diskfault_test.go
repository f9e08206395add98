package server_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/samsa-streaming/samsa/internal/brokertest"
	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// produceRaw sends one acks=all Produce of one record to topic/partition
// and returns the partition's error code: the broker's own answer, with
// no client retry in between.
func produceRaw(t *testing.T, cl *kgo.Client, topic string, partition int32, value string) int16 {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = partition
	now := time.Now().UnixMilli()
	rp.Records = record.EncodeBatch(&kmsg.RecordBatch{FirstTimestamp: now, MaxTimestamp: now, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1},
		[]kmsg.Record{{Value: []byte(value)}})
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctxFor(t, 20*time.Second), cl)
	if err != nil {
		t.Fatalf("produce %s-%d: %v", topic, partition, err)
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}

// readPartitions reads every partition of topic from its start until the
// log end and returns the values of each partition in offset order.
func readPartitions(t *testing.T, addr, topic string, want int) map[int32][]string {
	t.Helper()
	cl := client(t, kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx := ctxFor(t, 30*time.Second)
	got := map[int32][]string{}
	n := 0
	for n < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records of %s", n, want, topic)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got[r.Partition] = append(got[r.Partition], string(r.Value))
			n++
		})
	}
	return got
}

// TestLogFailsOnIOError: an I/O error (EIO) on a write (page-cache mode)
// or an fsync (group-commit mode) of one partition's log takes that log
// offline, Kafka's fail-stop: the produce that met it is answered
// KAFKA_STORAGE_ERROR, never success; the other partition of the topic,
// in the same log dir, keeps taking writes; after a restart (the fault
// gone) the log is recovered and every acknowledged record of both
// partitions is read back, and the failed partition takes writes again.
func TestLogFailsOnIOError(t *testing.T) {
	for _, c := range []struct {
		mode string
		op   storage.FileOp
	}{
		{"page-cache", storage.OpWrite},
		{"group-commit", storage.OpSync},
	} {
		t.Run(c.mode+"/"+c.op.String(), func(t *testing.T) {
			b := brokertest.Start(t, "log.flush.mode", c.mode, "num.partitions", "2")
			cl := client(t, kgo.SeedBrokers(b.Addr()), kgo.RecordPartitioner(kgo.ManualPartitioner()),
				kgo.MaxVersions(kversion.V3_0_0()))
			adm := adminFor(t, b.Addr())
			createTopic(t, adm, "faulty", 2, 1, nil)
			acked := map[int32][]string{}
			produce := func(p int32, v string) {
				t.Helper()
				if err := cl.ProduceSync(ctxFor(t, 20*time.Second), &kgo.Record{Topic: "faulty", Partition: p, Value: []byte(v)}).FirstErr(); err != nil {
					t.Fatalf("produce %s to partition %d: %v", v, p, err)
				}
				acked[p] = append(acked[p], v)
			}
			for i := range 20 {
				produce(int32(i%2), fmt.Sprintf("before-%02d", i))
			}

			// The next write or fsync of a file of partition 0 fails.
			part0 := filepath.Join(b.Dir(), "faulty-0") + string(filepath.Separator)
			var armed, hit atomic.Bool
			armed.Store(true)
			restore := storage.SetFaultHook(func(op storage.FileOp, path string) error {
				if op != c.op || !strings.HasPrefix(path, part0) || !armed.CompareAndSwap(true, false) {
					return nil
				}
				hit.Store(true)
				return syscall.EIO
			})
			defer restore()
			if code := produceRaw(t, cl, "faulty", 0, "lost"); code != kerr.KafkaStorageError.Code {
				t.Fatalf("produce meeting an EIO answered %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(code))
			}
			if !hit.Load() {
				t.Fatal("the fault was never injected")
			}
			// Partition 0 is offline; no later produce there succeeds.
			if code := produceRaw(t, cl, "faulty", 0, "after"); code == 0 {
				t.Fatal("a produce to the failed log succeeded")
			}
			for i := range 10 {
				produce(1, fmt.Sprintf("beside-%02d", i))
			}

			if err := b.StopErr(); err != nil {
				t.Logf("shutdown with a failed log: %v", err)
			}
			restore()
			b.StartAgain()
			produce(0, "after-restart")
			produce(1, "after-restart")
			total := 0
			for _, vs := range acked {
				total += len(vs)
			}
			got := readPartitions(t, b.Addr(), "faulty", total)
			for p, vs := range acked {
				i := 0
				for _, v := range got[p] {
					if i < len(vs) && v == vs[i] {
						i++
					} else if v != "lost" || c.op != storage.OpSync {
						// A write that failed is not in the log; one whose
						// fsync failed may be (unacknowledged, as in Kafka).
						t.Fatalf("partition %d: unexpected record %q (read %v)", p, v, got[p])
					}
				}
				if i != len(vs) {
					t.Fatalf("partition %d: acknowledged %v, read back %v", p, vs, got[p])
				}
			}
		})
	}
}

// TestDamagedFilesAtStart: a stopped broker's files are damaged (a byte
// of the topic id in partition.metadata, an offset index entry, the
// leader-epoch-checkpoint and the log start checkpoint, and a
// segment below the recovery point cut in its last batch); it starts, no
// log is deleted as a stale topic's, a consumer reads every record but
// the one whose batch was cut, each exactly as written, and producing
// works again.
func TestDamagedFilesAtStart(t *testing.T) {
	b := brokertest.Start(t, "log.segment.bytes", "8192", "log.index.interval.bytes", "1024")
	cl := client(t, kgo.SeedBrokers(b.Addr()), kgo.AllowAutoTopicCreation(), kgo.ProducerBatchCompression(kgo.NoCompression()))
	var written []string
	for i := range 80 {
		v := fmt.Sprintf("damaged-%03d-%s", i, strings.Repeat("x", 400))
		if err := cl.ProduceSync(ctxFor(t, 20*time.Second), &kgo.Record{Topic: "damaged", Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		written = append(written, v)
	}
	cl.Close()
	b.Stop()

	part := filepath.Join(b.Dir(), "damaged-0")
	segs, _ := filepath.Glob(filepath.Join(part, "*.log"))
	if len(segs) < 4 {
		ents, _ := os.ReadDir(part)
		for _, e := range ents {
			fi, _ := e.Info()
			t.Log(e.Name(), fi.Size())
		}
		t.Fatalf("%d segments, want at least 4", len(segs))
	}
	// One character of the topic id, changed to another valid one.
	meta := filepath.Join(part, "partition.metadata")
	mb, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(mb, []byte("topic_id: ")) + len("topic_id: ") + 5
	if mb[i] == 'A' {
		mb[i] = 'B'
	} else {
		mb[i] = 'A'
	}
	writeFile(t, meta, mb)
	// The second segment loses the end of its last batch.
	st, err := os.Stat(segs[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(segs[1], st.Size()-5); err != nil {
		t.Fatal(err)
	}
	// The third segment's first index entry points one byte off.
	idx := strings.TrimSuffix(segs[2], ".log") + ".index"
	ib, err := os.ReadFile(idx)
	if err != nil || len(ib) < 8 {
		t.Fatalf("index %s: %d bytes, %v", idx, len(ib), err)
	}
	ib[7] ^= 1
	writeFile(t, idx, ib)
	// Checkpoints that no longer parse.
	for _, name := range []string{filepath.Join(part, "leader-epoch-checkpoint"), filepath.Join(b.Dir(), "log-start-offset-checkpoint")} {
		cb, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, name, bytes.Replace(cb, []byte("0\n"), []byte("0x\n"), 1))
	}

	b.StartAgain()
	if _, err := os.Stat(meta + ".corrupt"); err == nil {
		t.Log("partition.metadata was set aside")
	}
	cons := client(t, kgo.SeedBrokers(b.Addr()), kgo.ConsumeTopics("damaged"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	want := map[string]bool{}
	for _, v := range written {
		want[v] = true
	}
	seen := map[string]bool{}
	ctx := ctxFor(t, 30*time.Second)
	for len(seen) < len(written)-1 {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records", len(seen), len(written))
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Logf("fetch error: %v", err) })
		fs.EachRecord(func(r *kgo.Record) {
			v := string(r.Value)
			if !want[v] || seen[v] {
				t.Fatalf("read %.12q at offset %d: not written, or read twice", v, r.Offset)
			}
			seen[v] = true
		})
	}
	t.Logf("read back %d of %d records", len(seen), len(written))
	p := client(t, kgo.SeedBrokers(b.Addr()))
	if err := p.ProduceSync(ctxFor(t, 20*time.Second), &kgo.Record{Topic: "damaged", Value: []byte("after")}).FirstErr(); err != nil {
		t.Fatalf("produce after the repair: %v", err)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
