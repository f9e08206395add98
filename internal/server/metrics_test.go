package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/server"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestReadyzWithoutQuorum starts one node of a three-voter cluster alone:
// it serves Kafka and /healthz, but cannot register without a quorum, so
// /readyz answers 503 and says why.
func TestReadyzWithoutQuorum(t *testing.T) {
	voters := fmt.Sprintf("1@%s,2@%s,3@%s", freePort(t), freePort(t), freePort(t))
	ctrl := strings.TrimPrefix(strings.Split(voters, ",")[0], "1@")
	cfg, err := config.New(map[string]string{
		"log.dirs": t.TempDir(), "node.id": "1", "controller.quorum.voters": voters, "cluster.id": "MkU3OEVBNTcwNTJENDM2Qk",
		"listeners":        "PLAINTEXT://127.0.0.1:0,CONTROLLER://" + ctrl,
		"metrics.listener": "127.0.0.1:0",
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Start(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Close(ctx)
	}()
	base := "http://" + srv.MetricsAddr().String()
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 503} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s = %d %q, want %d", path, resp.StatusCode, body, want)
		}
		if path == "/readyz" && !strings.Contains(string(body), "not registered") {
			t.Errorf("/readyz says %q, want the reason (not registered)", body)
		}
	}
}

// TestMetricsListenerTaken: a metrics.listener set explicitly must be
// free, or the broker does not start.
func TestMetricsListenerTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg, err := config.New(map[string]string{"log.dirs": t.TempDir(), "listeners": "PLAINTEXT://127.0.0.1:0", "metrics.listener": ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Start(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		srv.Close(context.Background())
		t.Fatal("started with its metrics.listener taken")
	}
	if !strings.Contains(err.Error(), "metrics.listener") {
		t.Fatalf("error %q does not name metrics.listener", err)
	}
}
