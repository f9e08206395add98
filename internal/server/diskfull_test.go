package server_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// smallDisk mounts a tmpfs of size at a new directory (a disk that fills
// up) and unmounts it when the test ends. It needs root, as the
// isolation tests do; resize changes its size in place.
func smallDisk(t *testing.T, size string) (dir string, resize func(string)) {
	t.Helper()
	dir = t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mounting a %s tmpfs (the disk-full tests need root): %v %s", size, err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir, func(size string) {
		if out, err := exec.Command("mount", "-o", "remount,size="+size, dir).CombinedOutput(); err != nil {
			t.Fatalf("resizing the tmpfs: %v %s", err, out)
		}
	}
}

// fill produces distinct incompressible 8 KiB records to topic until
// stop says so or ctx ends, and returns the values acknowledged and how
// many sends failed.
func fill(ctx context.Context, t *testing.T, cl *kgo.Client, topic string, stop func(acked, failed int) bool) (acked []string, failed int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; ctx.Err() == nil; i++ {
		mu.Lock()
		done := stop(len(acked), failed)
		mu.Unlock()
		if done {
			break
		}
		v := make([]byte, 8<<10)
		rand.Read(v)
		copy(v, fmt.Sprintf("%s-%07d-", topic, i))
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Topic: topic, Value: v}, func(r *kgo.Record, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				return
			}
			acked = append(acked, string(r.Value[:len(topic)+9]))
		})
		if i%64 == 63 {
			cl.Flush(ctx)
		}
	}
	wg.Wait()
	return acked, failed
}

// readPrefixes reads topic from the start through seeds until it has n
// records and returns the set of their value prefixes.
func readPrefixes(t *testing.T, seeds []string, topic string, n int) map[string]bool {
	t.Helper()
	cl := client(t, kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx := ctxFor(t, 60*time.Second)
	seen := map[string]bool{}
	for len(seen) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records of %s", len(seen), n, topic)
		}
		fs.EachRecord(func(r *kgo.Record) {
			p := string(r.Value[:len(topic)+9])
			if seen[p] {
				t.Fatalf("%s read twice", p)
			}
			seen[p] = true
		})
	}
	return seen
}

// TestDiskFullSingleNode: with the free-space guard off
// (log.dir.min.free.bytes=0), a one-node broker whose data directory fills
// up stops acknowledging (a write the file system refuses with ENOSPC is
// cut back and fails alone, KAFKA_STORAGE_ERROR) rather than acknowledging
// what is not on disk; after a restart with space back, every
// acknowledged record is there, no segment is left corrupt, and it takes
// writes again.
func TestDiskFullSingleNode(t *testing.T) {
	dir, resize := smallDisk(t, "24m")
	b := brokertest.Start(t, "log.dirs", dir, "log.segment.bytes", "4194304", "log.dir.min.free.bytes", "0")
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.AllowAutoTopicCreation(), kgo.RecordDeliveryTimeout(5*time.Second),
		kgo.ProducerBatchMaxBytes(256<<10))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, 90*time.Second)
	acked, failed := fill(ctx, t, cl, "full", func(n, failed int) bool { return n > 8000 || failed > 0 })
	cl.Close()
	if failed == 0 || len(acked) > 24<<20/(8<<10) {
		t.Fatalf("%d records of 8 KiB acknowledged on a 24 MiB disk, %d failed", len(acked), failed)
	}
	t.Logf("disk full after %d acknowledged records, %d sends failed", len(acked), failed)

	// The shutdown cannot write its checkpoints on the full disk: the next
	// start is an unclean one, which cuts the batch the failed write tore.
	if err := b.StopErr(); err == nil {
		t.Log("the shutdown on a full disk reported no error")
	}
	resize("256m")
	b.StartAgain()
	seen := readPrefixes(t, []string{b.Addr()}, "full", len(acked))
	for _, v := range acked {
		if !seen[v] {
			t.Fatalf("acknowledged %s lost", v)
		}
	}
	cl2 := client(t, kgo.SeedBrokers(b.Addr()))
	produceAll(t, cl2, "full", []string{"after-the-disk-was-freed"})
}

// TestDiskFullLeaderMoves: in a cluster, the disk of a partition's leader
// fills up; below log.dir.min.free.bytes its writes are refused and the
// broker hands the leadership and its ISR place to another in-sync
// replica, and an idempotent acks=all producer carries on (min.insync.replicas 2
// of the two left) with every acknowledged record kept. With space back,
// the broker catches up and is in the ISR again.
func TestDiskFullLeaderMoves(t *testing.T) {
	dir, resize := smallDisk(t, "40m")
	c := brokertest.StartClusterEach(t, 3, func(id int32) []string {
		if id == 1 {
			return []string{"log.dirs", dir}
		}
		return nil
	})
	adm := adminFor(t, c.Addrs()...)
	waitBrokers(t, adm, 3)
	raw := client(t, kgo.SeedBrokers(c.Addrs()...))
	createOn(t, raw, "moving", 1, 2, 3) // node 1, with the small disk, leads
	waitFor(t, "full ISR", func() bool { return fullISR(t, adm, "moving", 1, 3) })
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerBatchMaxBytes(256<<10),
		kgo.RecordDeliveryTimeout(60*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, 120*time.Second)
	acked, failed := fill(ctx, t, cl, "moving", func(n, _ int) bool { return n >= 80<<20/(8<<10) }) // twice node 1's disk
	cl.Close()
	if failed > 0 {
		t.Fatalf("%d sends failed while the leadership moved", failed)
	}
	if l := leaders(t, adm, "moving")[0]; l == 1 || l < 0 {
		t.Fatalf("leader %d after node 1's disk filled", l)
	}
	seen := readPrefixes(t, []string{c.Node(2).Addr(), c.Node(3).Addr()}, "moving", len(acked))
	for _, v := range acked {
		if !seen[v] {
			t.Fatalf("acknowledged %s lost", v)
		}
	}
	c.Node(1).StopErr() // its checkpoints do not fit on the full disk
	resize("512m")
	c.Node(1).StartAgain()
	waitFor(t, "node 1 back in the ISR", func() bool { return fullISR(t, adm, "moving", 1, 3) })
}

// TestDiskLowRefusesAndRecovers: a one-node broker whose log dir falls
// below log.dir.min.free.bytes refuses produce with KAFKA_STORAGE_ERROR
// naming the free space, keeps serving reads of what it has, refuses a
// CreateTopics it could not host (leaving no topic behind), and takes
// writes again by itself once space returns: no restart, no failed log.
func TestDiskLowRefusesAndRecovers(t *testing.T) {
	dir, resize := smallDisk(t, "24m")
	b := brokertest.Start(t, "log.dirs", dir, "log.segment.bytes", "4194304", "log.dir.min.free.bytes", "8388608")
	cl := client(t, kgo.SeedBrokers(b.Addr()), kgo.AllowAutoTopicCreation(), kgo.RecordDeliveryTimeout(3*time.Second),
		kgo.ProducerBatchMaxBytes(256<<10))
	ctx := ctxFor(t, 120*time.Second)
	acked, failed := fill(ctx, t, cl, "low", func(n, failed int) bool { return n > 8000 || failed > 0 })
	if failed == 0 {
		t.Fatalf("%d records of 8 KiB acknowledged with 8 MiB of 24 MiB kept free, none refused", len(acked))
	}
	// The refusal is Kafka's KAFKA_STORAGE_ERROR with the figures.
	raw := client(t, kgo.SeedBrokers(b.Addr()), kgo.RecordDeliveryTimeout(time.Second), kgo.RecordRetries(0))
	err := raw.ProduceSync(ctx, &kgo.Record{Topic: "low", Value: []byte("refused")}).FirstErr()
	if !errors.Is(err, kerr.KafkaStorageError) {
		t.Fatalf("produce with the disk low: %v, want KAFKA_STORAGE_ERROR", err)
	}
	// What was acknowledged is readable meanwhile.
	seen := readPrefixes(t, []string{b.Addr()}, "low", len(acked))
	for _, v := range acked {
		if !seen[v] {
			t.Fatalf("acknowledged %s not readable", v)
		}
	}
	// A topic that cannot be hosted is refused, and not left behind.
	adm := kadm.NewClient(raw)
	resp, err := adm.CreateTopics(ctx, 1, 1, nil, "wont-fit")
	if err != nil {
		t.Fatal(err)
	}
	if r := resp["wont-fit"]; !errors.Is(r.Err, kerr.KafkaStorageError) || !strings.Contains(r.ErrMessage, "log.dir.min.free.bytes") {
		t.Fatalf("CreateTopics with the disk low: %v %q, want KAFKA_STORAGE_ERROR naming log.dir.min.free.bytes", r.Err, r.ErrMessage)
	}
	if topics, err := adm.ListTopics(ctx); err != nil || topics.Has("wont-fit") {
		t.Fatalf("the refused topic exists (%v)", err)
	}
	// Space returns: writes resume without a restart.
	resize("256m")
	waitFor(t, "writes taken again", func() bool {
		return raw.ProduceSync(ctx, &kgo.Record{Topic: "low", Value: []byte("after-the-disk-was-freed")}).FirstErr() == nil
	})
	if _, err := adm.CreateTopics(ctx, 1, 1, nil, "fits-now"); err != nil {
		t.Fatal(err)
	}
}
