package main

import (
	"bytes"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// lockedBuffer collects a child's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAcceptOutOfDescriptorsKeepsServing runs the broker with 64 open files
// allowed and opens more connections than that. Accepts then fail with
// EMFILE; the broker must keep its listener, and serve a real client as
// soon as descriptors come back (issue 20: one burst of connections, or one
// CreateTopics that used them up, used to stop the whole broker).
func TestAcceptOutOfDescriptorsKeepsServing(t *testing.T) {
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Fatal("prlimit (util-linux) is needed to run the broker with a low open-file limit")
	}
	addr := freeAddr(t)
	var stderr lockedBuffer
	cmd := exec.Command("prlimit", "--nofile=64:64", binary, "serve", "--data-dir", t.TempDir(), "--listen", addr, "--log-level", "info")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	waitListening(t, addr)

	// The kernel completes the handshakes for the backlog, so every dial
	// succeeds even where the broker's accept fails.
	var held []net.Conn
	for i := 0; i < 120; i++ {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			break
		}
		held = append(held, c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "accept failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no failed accept after %d connections with 64 descriptors; log:\n%s", len(held), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range held {
		c.Close()
	}

	select {
	case err := <-exited:
		t.Fatalf("broker exited after failed accepts: %v\n%s", err, stderr.String())
	default:
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation(), kgo.RetryTimeout(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	r := &kgo.Record{Topic: "after-emfile", Value: []byte("still serving")}
	if err := cl.ProduceSync(ctx(t), r).FirstErr(); err != nil {
		t.Fatalf("produce after failed accepts: %v\nlog:\n%s", err, stderr.String())
	}
	if got := consumeValues(t, addr, "after-emfile", 1); got[0] != "still serving" {
		t.Fatalf("read back %q", got)
	}
	if !strings.Contains(stderr.String(), "accepting connections again") {
		t.Errorf("the broker did not log that it accepts again:\n%s", stderr.String())
	}
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("samsa did not start listening on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
