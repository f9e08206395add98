package main

import (
	"bufio"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSigtermWhileStarting: a SIGTERM that arrives while the broker is
// still starting (here: just after "starting samsa" is logged, before the
// logs are open) stops it once it is up, cleanly. It used to be taken by
// the CLI's handler and lost, and the broker ran on.
func TestSigtermWhileStarting(t *testing.T) {
	cmd := exec.Command(binary, "serve", "--data-dir", t.TempDir(), "--listen", freeAddr(t), "--override", "metrics.listener=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var log []string
	for l := range lines {
		log = append(log, l)
		if strings.Contains(l, "starting samsa") {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for l := range lines {
			log = append(log, l)
		}
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, strings.Join(log, "\n"))
		}
		if !strings.Contains(strings.Join(log, "\n"), "stopped cleanly") {
			t.Fatalf("no clean stop:\n%s", strings.Join(log, "\n"))
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30 s after a SIGTERM sent while it started:\n%s", strings.Join(log, "\n"))
	}
}
