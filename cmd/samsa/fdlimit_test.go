package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// startLimited runs samsa serve with an open-file limit of nofile (soft
// and hard, so the Go runtime cannot raise it) and waits until it answers.
func startLimited(t *testing.T, dataDir, addr string, nofile int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", "-c", `ulimit -n "$0" && exec "$@"`, strconv.Itoa(nofile),
		binary, "serve", "--data-dir", dataDir, "--listen", addr, "--log-level", "warn", "--override", "metrics.listener=")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitListening(t, addr)
	return cmd
}

// TestManyPartitionsFewDescriptors: a broker whose process may open 256
// files (so log.max.open.files derives a budget of 153) hosts 600
// partitions: every partition takes a record and gives it back, the
// process never holds more descriptors than its limit, and after a clean
// restart every record is read again.
func TestManyPartitionsFewDescriptors(t *testing.T) {
	const parts, nofile = 600, 256
	dir, addr := t.TempDir(), freeAddr(t)
	cmd := startLimited(t, dir, addr, nofile)
	cl := client(t, addr)
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx(t), parts, 1, nil, "many"); err != nil {
		t.Fatal(err)
	}
	p, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RetryTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for round := range 2 {
		var recs []*kgo.Record
		for i := range parts {
			recs = append(recs, &kgo.Record{Topic: "many", Partition: int32(i), Value: []byte(fmt.Sprintf("%d-%d", i, round))})
		}
		if err := p.ProduceSync(ctx(t), recs...).FirstErr(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if n := openFiles(t, cmd.Process.Pid); n > nofile {
			t.Fatalf("%d descriptors open, the limit is %d", n, nofile)
		}
	}
	readAll := func() {
		t.Helper()
		offsets := map[int32]kgo.Offset{}
		for i := range parts {
			offsets[int32(i)] = kgo.NewOffset().AtStart()
		}
		c, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"many": offsets}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got := map[string]bool{}
		cx := ctx(t)
		for len(got) < 2*parts {
			fs := c.PollFetches(cx)
			if cx.Err() != nil {
				t.Fatalf("read %d of %d records", len(got), 2*parts)
			}
			fs.EachError(func(_ string, _ int32, err error) { t.Fatal(err) })
			fs.EachRecord(func(r *kgo.Record) {
				want := fmt.Sprintf("%d-%d", r.Partition, r.Offset)
				if string(r.Value) != want {
					t.Fatalf("partition %d offset %d holds %q, want %q", r.Partition, r.Offset, r.Value, want)
				}
				got[want] = true
			})
		}
	}
	readAll()
	if n := openFiles(t, cmd.Process.Pid); n > nofile {
		t.Fatalf("%d descriptors open after reading, the limit is %d", n, nofile)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	cmd = startLimited(t, dir, addr, nofile)
	readAll()
	if n := openFiles(t, cmd.Process.Pid); n > nofile {
		t.Fatalf("%d descriptors open after the restart, the limit is %d", n, nofile)
	}
}

// openFiles counts the descriptors process pid holds.
func openFiles(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
