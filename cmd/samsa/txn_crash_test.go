package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKill9MidTransaction kills the broker with SIGKILL while a
// transaction is open (after another was committed), in both flush modes.
// After the restart the open transaction is still open in the partitions
// (read_committed readers stop at its first offset) and at its coordinator:
// the next producer with the same transactional id fences it and aborts
// it, commits its own, and read_committed readers see exactly the
// committed transactions.
func TestKill9MidTransaction(t *testing.T) {
	for _, mode := range []string{"page-cache", "group-commit"} {
		t.Run(mode, func(t *testing.T) {
			dir, addr := t.TempDir(), freeAddr(t)
			props := []string{"--override", "log.flush.mode=" + mode, "--override", "transaction.state.log.num.partitions=2",
				"--override", "log.segment.bytes=4096"}
			cmd := startBinary(t, dir, addr, props...)
			if _, err := kadm.NewClient(client(t, addr)).CreateTopic(ctx(t), 3, 1, nil, "tx"); err != nil {
				t.Fatal(err)
			}
			txn := func(prefix string, n int, end bool) {
				cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.TransactionalID("crash-tx"), kgo.DefaultProduceTopic("tx"),
					kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.RetryTimeout(15*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				if err := cl.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
				for i := range n {
					if err := cl.ProduceSync(ctx(t), &kgo.Record{Value: []byte(fmt.Sprintf("%s-%03d", prefix, i))}).FirstErr(); err != nil {
						t.Fatal(err)
					}
				}
				if end {
					if err := cl.EndTransaction(ctx(t), kgo.TryCommit); err != nil {
						t.Fatal(err)
					}
					cl.Close()
				}
				// An open one is left behind: the client is abandoned, as
				// a killed application would leave it.
			}
			txn("a", 60, true)
			txn("b", 30, false)
			cmd.Process.Kill()
			cmd.Wait()

			startBinary(t, dir, addr, props...)
			if got := readTx(t, addr, true); len(got) != 60 || !hasAll(got, "a", 60) {
				t.Fatalf("read_committed with b open after the restart: %d records", len(got))
			}
			txn("c", 30, true) // its InitProducerId aborts b
			got := readTx(t, addr, true)
			if len(got) != 90 || !hasAll(got, "a", 60) || !hasAll(got, "c", 30) {
				t.Fatalf("read_committed after c: %d records", len(got))
			}
			if all := readTx(t, addr, false); len(all) != 120 || !hasAll(all, "b", 30) {
				t.Fatalf("read_uncommitted: %d records", len(all))
			}
		})
	}
}

// readTx reads topic tx from the start until no record came for a second.
func readTx(t *testing.T, addr string, committed bool) map[string]int {
	t.Helper()
	level := kgo.ReadUncommitted()
	if committed {
		level = kgo.ReadCommitted()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("tx"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(level))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string]int{}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		c, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		fs := cl.PollFetches(c)
		cancel()
		if fs.NumRecords() == 0 && len(got) > 0 {
			break
		}
		fs.EachRecord(func(r *kgo.Record) { got[string(r.Value)]++ })
	}
	for v, n := range got {
		if n != 1 {
			t.Fatalf("%s read %d times", v, n)
		}
	}
	return got
}

func hasAll(got map[string]int, prefix string, n int) bool {
	for i := range n {
		if got[fmt.Sprintf("%s-%03d", prefix, i)] != 1 {
			return false
		}
	}
	return true
}
