package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/metrics"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServerEndpoints starts the listener on a real socket and checks
// every endpoint: liveness always, readiness following the check, the
// metrics in Prometheus' text format, and pprof absent unless enabled.
func TestServerEndpoints(t *testing.T) {
	var ready atomic.Bool
	reg := metrics.NewRegistry("test")
	srv, err := metrics.Listen("127.0.0.1:0", reg, metrics.Options{Ready: func() error {
		if !ready.Load() {
			return errors.New("logs loading")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	base := "http://" + srv.Addr().String()

	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz = %d, want 200", code)
	}
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "logs loading") {
		t.Fatalf("/readyz before ready = %d %q, want 503 with the reason", code, body)
	}
	ready.Store(true)
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz when ready = %d, want 200", code)
	}
	if code, _ := get(t, base+"/debug/pprof/"); code != 404 {
		t.Fatalf("/debug/pprof/ with pprof off = %d, want 404", code)
	}
	code, body := get(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	fams, err := metrics.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "samsa_build_info"} {
		if fams[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
}

func TestServerPprof(t *testing.T) {
	srv, err := metrics.Listen("127.0.0.1:0", metrics.NewRegistry("test"), metrics.Options{Pprof: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	defer srv.Close(ctx)
	if code, body := get(t, "http://"+srv.Addr().String()+"/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Fatalf("/debug/pprof/ = %d, want 200 with the profile index", code)
	}
}

// TestAppenderText checks that families written by an Appender parse, with
// escaped label values, after the registry's.
func TestAppenderText(t *testing.T) {
	app := func(b []byte) []byte {
		b = metrics.AppendHeader(b, "samsa_test_lag", "gauge", "A test family.")
		b = metrics.AppendSample(b, "samsa_test_lag", []string{"group", "partition"}, []string{`we"ird\group` + "\n", "0"}, 42)
		return metrics.AppendSample(b, "samsa_test_lag", []string{"group", "partition"}, []string{"plain", "1"}, -1)
	}
	srv, err := metrics.Listen("127.0.0.1:0", metrics.NewRegistry("test"), metrics.Options{Appenders: []metrics.Appender{app}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	_, body := get(t, "http://"+srv.Addr().String()+"/metrics")
	fams, err := metrics.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing: %v\n%s", err, body)
	}
	f := fams["samsa_test_lag"]
	if f == nil || len(f.Metric) != 2 || fams["go_goroutines"] == nil {
		t.Fatalf("families: %v", f)
	}
	if v := f.Metric[0].Label[0].GetValue(); v != `we"ird\group`+"\n" || f.Metric[0].Gauge.GetValue() != 42 {
		t.Fatalf("first sample: %v", f.Metric[0])
	}
}
