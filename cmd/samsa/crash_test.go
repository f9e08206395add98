package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// These tests run the real binary as a child process, so that kill -9 is a
// real kill -9.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "samsa-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "samsa")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building samsa: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startBinary runs samsa serve and waits until it answers.
func startBinary(t *testing.T, dataDir, addr string, extra ...string) *exec.Cmd {
	t.Helper()
	args := append([]string{"serve", "--data-dir", dataDir, "--listen", addr, "--log-level", "warn"}, extra...)
	cmd := exec.Command(binary, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("samsa did not start listening on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func client(t *testing.T, addr string) *kgo.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RetryTimeout(15*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// produceAcked produces n records one batch at a time and returns how many
// were acknowledged.
func produceAcked(t *testing.T, cl *kgo.Client, topic string, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		r := &kgo.Record{Topic: topic, Value: []byte(fmt.Sprintf("record-%06d", i))}
		if err := cl.ProduceSync(ctx(t), r).FirstErr(); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
}

func consumeValues(t *testing.T, addr, topic string, n int) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []string
	c := ctx(t)
	for len(out) < n {
		fs := cl.PollFetches(c)
		if c.Err() != nil {
			t.Fatalf("consumed %d of %d", len(out), n)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatal(err) })
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset != int64(len(out)) {
				t.Fatalf("offset %d at position %d", r.Offset, len(out))
			}
			out = append(out, string(r.Value))
		})
	}
	return out
}

func TestKill9KeepsAcknowledgedRecords(t *testing.T) {
	for _, mode := range []string{"page-cache", "group-commit"} {
		t.Run(mode, func(t *testing.T) {
			dir, addr := t.TempDir(), freeAddr(t)
			cmd := startBinary(t, dir, addr, "--override", "log.flush.mode="+mode, "--override", "log.segment.bytes=2048")
			cl := client(t, addr)
			if _, err := kadm.NewClient(cl).CreateTopic(ctx(t), 1, 1, nil, "crash"); err != nil {
				t.Fatal(err)
			}
			produceAcked(t, cl, "crash", 0, 200)
			cl.Close()
			cmd.Process.Kill() // SIGKILL: no flush, no clean-shutdown marker
			cmd.Wait()

			startBinary(t, dir, addr)
			got := consumeValues(t, addr, "crash", 200)
			for i, v := range got {
				if v != fmt.Sprintf("record-%06d", i) {
					t.Fatalf("record %d is %q", i, v)
				}
			}
			// Appends continue at the next offset.
			produceAcked(t, client(t, addr), "crash", 200, 1)
			if got := consumeValues(t, addr, "crash", 201); got[200] != "record-000200" {
				t.Fatalf("after restart: %q", got[200])
			}
		})
	}
}

func TestTornTailIsTruncated(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	cmd := startBinary(t, dir, addr)
	cl := client(t, addr)
	if _, err := kadm.NewClient(cl).CreateTopic(ctx(t), 1, 1, nil, "torn"); err != nil {
		t.Fatal(err)
	}
	produceAcked(t, cl, "torn", 0, 20)
	cl.Close()
	cmd.Process.Kill()
	cmd.Wait()

	// Simulate a torn write: cut the last batch in half and add garbage.
	// Only an OS crash tears a write that way (a killed process leaves at
	// most a batch cut short), so the restart must see another boot, and
	// check CRCs.
	if err := os.WriteFile(filepath.Join(dir, ".samsa_boot"), []byte("a boot before\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	seg := filepath.Join(dir, "torn-0", "00000000000000000000.log")
	fi, err := os.Stat(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(seg, fi.Size()-10); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte("garbage after a torn write"))
	f.Close()

	startBinary(t, dir, addr)
	got := consumeValues(t, addr, "torn", 19)
	if len(got) != 19 || got[18] != "record-000018" {
		t.Fatalf("recovered %d records, last %q", len(got), got[len(got)-1])
	}
	end, err := kadm.NewClient(client(t, addr)).ListEndOffsets(ctx(t), "torn")
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := end.Lookup("torn", 0); e.Offset != 19 {
		t.Fatalf("end offset after truncating the torn batch: %d", e.Offset)
	}
	produceAcked(t, client(t, addr), "torn", 19, 1)
	if got := consumeValues(t, addr, "torn", 20); got[19] != "record-000019" {
		t.Fatalf("append after recovery: %q", got[19])
	}
}

func TestSigtermShutsDownCleanly(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	cmd := startBinary(t, dir, addr)
	cl := client(t, addr)
	if _, err := kadm.NewClient(cl).CreateTopic(ctx(t), 1, 1, nil, "term"); err != nil {
		t.Fatal(err)
	}
	produceAcked(t, cl, "term", 0, 10)
	cl.Close()
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGINT: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".kafka_cleanshutdown")); err != nil {
		t.Fatalf("no clean-shutdown marker: %v", err)
	}
	startBinary(t, dir, addr)
	if got := consumeValues(t, addr, "term", 10); got[9] != "record-000009" {
		t.Fatalf("after clean restart: %q", got[9])
	}
}

func TestBadSettingsFailAtStartup(t *testing.T) {
	for _, args := range [][]string{
		{"--override", "no.such.setting=1"},
		{"--override", "num.partitions=zero"},
		{"--config", "/nonexistent/server.properties"},
	} {
		out, err := exec.Command(binary, append([]string{"serve", "--data-dir", t.TempDir(), "--listen", freeAddr(t)}, args...)...).CombinedOutput()
		if err == nil {
			t.Fatalf("%v: started", args)
		}
		if len(out) == 0 {
			t.Fatalf("%v: no message", args)
		}
	}
}
