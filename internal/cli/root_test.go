package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// runCLI runs one samsa command line in-process and returns what it printed
// and its exit code.
func runCLI(t testing.TB, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root := NewRoot("test")
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	code = executeContext(context.Background(), root)
	return out.String(), errOut.String(), code
}

// closedAddr returns a loopback address on which nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"nope"}, `unknown command "nope"`},
		{[]string{"topic", "nope"}, `unknown command "nope" for "samsa topic"`},
		{[]string{"topic", "create"}, "expected one topic name"},
		{[]string{"topic", "create", "t", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"topic", "create", "t", "-c", "novalue"}, `invalid -c/--config "novalue"`},
		{[]string{"topic", "delete"}, "expected at least one topic name"},
		{[]string{"topic", "add-partitions", "t"}, "--total N is required"},
		{[]string{"topic", "alter-config", "t"}, "nothing to change"},
		{[]string{"produce", "t", "--acks", "2"}, `invalid --acks "2"`},
		{[]string{"produce", "t", "-z", "rar"}, `invalid compression "rar"`},
		{[]string{"produce", "t", "-H", "x"}, `invalid -H/--header "x"`},
		{[]string{"consume", "t", "--from-beginning", "--offset", "3"}, "cannot be combined"},
		{[]string{"consume", "t", "--offset", "soon"}, `invalid --offset "soon"`},
		{[]string{"consume", "t", "-f", "yaml"}, `invalid format "yaml"`},
		{[]string{"bench", "produce", "--acks", "1", "--idempotent"}, "--idempotent requires --acks all"},
		{[]string{"bench", "produce", "--partitions", "0"}, "--partitions must be positive"},
		{[]string{"cluster", "info", "extra"}, "expected no arguments"},
	}
	for _, tt := range tests {
		_, stderr, code := runCLI(t, "", tt.args...)
		if code != exitUsage {
			t.Errorf("%v: exit code %d, want %d (stderr %q)", tt.args, code, exitUsage, stderr)
		}
		if !strings.HasPrefix(stderr, "samsa: ") || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: stderr %q, want it to contain %q", tt.args, stderr, tt.want)
		}
		if !strings.Contains(stderr, "--help' for usage") {
			t.Errorf("%v: stderr %q does not point at --help", tt.args, stderr)
		}
	}
}

func TestUnreachableBroker(t *testing.T) {
	addr := closedAddr(t)
	for _, args := range [][]string{
		{"topic", "list"}, {"cluster", "info"}, {"consume", "t", "-n", "1"}, {"bench", "consume"},
	} {
		_, stderr, code := runCLI(t, "", append([]string{"-b", addr}, args...)...)
		if code != exitFailure {
			t.Errorf("%v: exit code %d, want %d", args, code, exitFailure)
		}
		want := "samsa: cannot reach broker at " + addr + ": is `samsa serve` running? set -b/--brokers or SAMSA_BROKERS"
		if !strings.HasPrefix(stderr, want) {
			t.Errorf("%v: stderr %q, want prefix %q", args, stderr, want)
		}
		if strings.Contains(stderr, "Usage:") {
			t.Errorf("%v: runtime errors must not print usage", args)
		}
	}
	_, stderr, code := runCLI(t, "hello\n", "-b", addr, "produce", "t")
	if code != exitFailure || !strings.Contains(stderr, "cannot reach broker") {
		t.Errorf("produce: code %d, stderr %q", code, stderr)
	}
}

func TestBrokersFromEnvironment(t *testing.T) {
	envAddr, flagAddr := closedAddr(t), closedAddr(t)
	t.Setenv(brokersEnv, " "+envAddr+" , ")
	_, stderr, _ := runCLI(t, "", "topic", "list")
	if !strings.Contains(stderr, envAddr) {
		t.Errorf("SAMSA_BROKERS ignored: %q", stderr)
	}
	_, stderr, _ = runCLI(t, "", "topic", "list", "--brokers", flagAddr)
	if !strings.Contains(stderr, flagAddr) {
		t.Errorf("-b must override SAMSA_BROKERS: %q", stderr)
	}
	_, stderr, code := runCLI(t, "", "topic", "list", "-b", " , ")
	if code != exitUsage || !strings.Contains(stderr, "no brokers given") {
		t.Errorf("empty broker list: code %d, stderr %q", code, stderr)
	}
}

func TestWithDefaultPort(t *testing.T) {
	tests := map[string]string{
		"localhost":      "localhost:9092",
		"10.0.0.1:19092": "10.0.0.1:19092",
		"[::1]":          "[::1]:9092",
		"[::1]:9093":     "[::1]:9093",
	}
	for in, want := range tests {
		if got := withDefaultPort(in); got != want {
			t.Errorf("withDefaultPort(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	stdout, _, code := runCLI(t, "", "--version")
	if code != exitOK || !strings.Contains(stdout, "test") {
		t.Errorf("--version: code %d, stdout %q", code, stdout)
	}
	stdout, _, code = runCLI(t, "", "topic")
	if code != exitOK || !strings.Contains(stdout, "add-partitions") {
		t.Errorf("bare group command must print its help: code %d, stdout %q", code, stdout)
	}
	for _, args := range [][]string{
		{"produce", "--help"}, {"consume", "--help"}, {"bench", "produce", "--help"},
		{"bench", "consume", "--help"}, {"cluster", "info", "--help"},
	} {
		if stdout, _, code := runCLI(t, "", args...); code != exitOK || !strings.Contains(stdout, "--brokers") {
			t.Errorf("%v: code %d, want help listing the global flags", args, code)
		}
	}
}

func TestExplainDialErrors(t *testing.T) {
	root := NewRoot("test")
	cmd, _, err := root.Find([]string{"topic", "list"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(brokersEnv, "") // the test must not depend on the caller's environment
	g := &globals{brokers: "seed:9092", timeout: time.Second}
	dial := func(addr string) error {
		tcp, _ := net.ResolveTCPAddr("tcp", addr)
		return fmt.Errorf("unable to dial: %w", &net.OpError{Op: "dial", Net: "tcp", Addr: tcp, Err: errors.New("refused")})
	}
	tests := []struct {
		err  error
		want string
	}{
		{dial("10.9.9.9:9092"), "the cluster at seed:9092 advertises broker address 10.9.9.9:9092, which cannot be reached from here: check the broker's advertised.listeners"},
		{context.DeadlineExceeded, "timed out after 1s waiting for the cluster at seed:9092"},
		{errors.New("other"), "other"},
	}
	for _, tt := range tests {
		got := g.explain(cmd, tt.err)
		if !strings.HasPrefix(got.Error(), tt.want) {
			t.Errorf("explain(%v) = %q, want prefix %q", tt.err, got, tt.want)
		}
		if !errors.Is(got, tt.err) && tt.err != context.DeadlineExceeded {
			t.Errorf("explain(%v) must wrap the cause", tt.err)
		}
	}
	if g.explain(cmd, nil) != nil {
		t.Error("explain(nil) must be nil")
	}
}
