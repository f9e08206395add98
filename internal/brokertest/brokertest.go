// Package brokertest starts real Samsa brokers in-process, on a random
// loopback port with a fresh data directory, for tests that drive them
// with real clients over real sockets.
package brokertest

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/server"
)

// Broker is a running test broker.
type Broker struct {
	t     testing.TB
	dir   string
	props map[string]string
	srv   *server.Server
	addr  string
	// controllerAddr is the controller listener of a cluster node.
	controllerAddr string
}

// Start runs a broker with the given property overrides (Kafka names) on
// 127.0.0.1:0. It is closed cleanly when the test ends.
func Start(t testing.TB, props ...string) *Broker {
	t.Helper()
	b := &Broker{t: t, dir: t.TempDir(), props: map[string]string{}}
	for i := 0; i+1 < len(props); i += 2 {
		b.props[props[i]] = props[i+1]
	}
	b.start("127.0.0.1:0")
	t.Cleanup(func() { b.Stop() })
	return b
}

func (b *Broker) start(listen string) {
	b.t.Helper()
	// No metrics listener unless a test asks for one (metrics.listener):
	// the default port would be shared by every broker of the process.
	vals := map[string]string{"log.dirs": b.dir, "listeners": "PLAINTEXT://" + listen, "metrics.listener": ""}
	if b.controllerAddr != "" {
		vals["listeners"] += ",CONTROLLER://" + b.controllerAddr
	}
	for k, v := range b.props {
		vals[k] = v
	}
	cfg, err := config.New(vals)
	if err != nil {
		b.t.Fatalf("brokertest config: %v", err)
	}
	level := slog.LevelWarn
	if os.Getenv("SAMSA_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	srv, err := server.Start(cfg, logger)
	if err != nil {
		b.t.Fatalf("brokertest start: %v", err)
	}
	b.srv = srv
	b.addr = srv.Addr().String()
}

// Addr is the broker's host:port.
func (b *Broker) Addr() string { return b.addr }

// ListenerAddr is the host:port of the broker listener named name ("" if
// there is none).
func (b *Broker) ListenerAddr(name string) string {
	if a, ok := b.srv.ListenerAddrs()[name]; ok {
		return a.String()
	}
	return ""
}

// MetricsAddr is the broker's metrics listener ("" when off, the default
// for test brokers: pass "metrics.listener", "127.0.0.1:0" to Start).
func (b *Broker) MetricsAddr() string {
	if a := b.srv.MetricsAddr(); a != nil {
		return a.String()
	}
	return ""
}

// Dir is the broker's data directory.
func (b *Broker) Dir() string { return b.dir }

// Stop shuts the broker down cleanly. It is safe to call twice.
func (b *Broker) Stop() {
	if b.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.srv.Close(ctx); err != nil {
		b.t.Errorf("brokertest stop: %v", err)
	}
	b.srv = nil
}

// StopErr stops the broker and returns what Close returned, for tests
// where shutting down cannot be clean (a full disk).
func (b *Broker) StopErr() error {
	if b.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := b.srv.Close(ctx)
	b.srv = nil
	return err
}

// Restart stops the broker cleanly and starts it again on the same address
// and data directory.
func (b *Broker) Restart() {
	b.t.Helper()
	b.Stop()
	b.start(b.addr)
}

// Start again after Stop (or after the data directory was altered, to
// simulate a crash), on the same address.
func (b *Broker) StartAgain() {
	b.t.Helper()
	b.start(b.addr)
}

// Set changes a property override for the next start.
func (b *Broker) Set(key, value string) { b.props[key] = value }
