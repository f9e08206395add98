package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKill9KeepsAcknowledgedCommits commits offsets as fast as the broker
// acknowledges them, SIGKILLs the broker mid-stream, and checks after the
// restart that every partition's committed offset is the last
// acknowledged one or the one in flight at the kill.
func TestKill9KeepsAcknowledgedCommits(t *testing.T) {
	for _, mode := range []string{"page-cache", "group-commit"} {
		t.Run(mode, func(t *testing.T) {
			dir, addr := t.TempDir(), freeAddr(t)
			props := []string{"--override", "log.flush.mode=" + mode, "--override", "offsets.topic.num.partitions=4",
				"--override", "group.initial.rebalance.delay.ms=0"}
			cmd := startBinary(t, dir, addr, props...)
			cl := client(t, addr)
			adm := kadm.NewClient(cl)
			if _, err := adm.CreateTopic(ctx(t), 3, 1, nil, "commits"); err != nil {
				t.Fatal(err)
			}

			var mu sync.Mutex
			acked := map[int32]int64{} // partition -> last acknowledged offset
			stop := make(chan struct{})
			progress := make(chan struct{}, 1)
			var wg sync.WaitGroup
			for p := int32(0); p < 3; p++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cc, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RetryTimeout(time.Second))
					if err != nil {
						t.Error(err)
						return
					}
					defer cc.Close()
					a := kadm.NewClient(cc)
					for off := int64(1); ; off++ {
						select {
						case <-stop:
							return
						default:
						}
						var os kadm.Offsets
						os.Add(kadm.Offset{Topic: "commits", Partition: p, At: off, LeaderEpoch: -1})
						c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
						resp, err := a.CommitOffsets(c, "crash-group", os)
						cancel()
						if err != nil || resp.Error() != nil {
							return // the broker is gone
						}
						mu.Lock()
						acked[p] = off
						mu.Unlock()
						select {
						case progress <- struct{}{}:
						default:
						}
					}
				}()
			}
			// Let a few thousand commits through, then kill.
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				n := acked[0] + acked[1] + acked[2]
				mu.Unlock()
				if n >= 3000 || time.Now().After(deadline) {
					break
				}
				select {
				case <-progress:
				case <-time.After(time.Until(deadline)):
				}
			}
			cmd.Process.Kill()
			cmd.Wait()
			close(stop)
			wg.Wait()
			mu.Lock()
			want := map[int32]int64{0: acked[0], 1: acked[1], 2: acked[2]}
			mu.Unlock()
			t.Logf("acknowledged before the kill: %v", want)

			startBinary(t, dir, addr, props...)
			got, err := kadm.NewClient(client(t, addr)).FetchOffsets(ctx(t), "crash-group")
			if err != nil {
				t.Fatal(err)
			}
			for p, w := range want {
				o, ok := got.Lookup("commits", p)
				if !ok || o.Err != nil || o.At < w || o.At > w+1 {
					t.Errorf("partition %d: committed %+v, acknowledged %d", p, o, w)
				}
			}
		})
	}
}
