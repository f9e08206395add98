package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every metric Samsa defines.
const Namespace = "samsa"

// LatencyBuckets are the upper bounds, in seconds, of every latency
// histogram: from 50 µs (a page-cache append) to 10 s (a long poll or a
// stalled disk), about three per decade.
var LatencyBuckets = []float64{
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
	0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

// NewRegistry returns a registry holding the Go runtime and process
// collectors and samsa_build_info.
func NewRegistry(version string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help:        "Always 1; the version label is the running build's.",
		ConstLabels: prometheus.Labels{"version": version},
	})
	info.Set(1)
	reg.MustRegister(info)
	return reg
}

// Options configure a Server.
type Options struct {
	// Ready reports why the broker is not ready yet (nil: ready); /readyz
	// answers 503 with the reason until it returns nil. Nil: always ready.
	Ready func() error
	// Pprof serves Go's profiles at /debug/pprof/.
	Pprof bool
	// Logger receives the listener's errors; nil: slog.Default().
	Logger *slog.Logger
	// Appenders write metric families straight into the text format
	// after the registry's (see Appender).
	Appenders []Appender
	// Handlers are more routes on the listener, by http.ServeMux pattern
	// (the web console's /api/ and /ui/).
	Handlers map[string]http.Handler
	// OnClose, if set, runs when Close has stopped the listener (it
	// releases what the Handlers hold).
	OnClose func()
}

// An Appender appends whole metric families to buf in Prometheus' text
// exposition format (# HELP, # TYPE, then every sample of the family) and
// returns the extended buffer. It is for families with one series per
// partition: building a client_golang metric per series and encoding it
// costs tens of microseconds, so 60,000 of them would take most of a
// second; appending the text directly takes a few milliseconds. The
// families must not also be registered in the registry.
type Appender func(buf []byte) []byte

// Server is the running HTTP listener.
type Server struct {
	ln      net.Listener
	srv     *http.Server
	done    chan struct{}
	onClose func()
}

// Listen binds addr and serves reg's metrics and the health endpoints on
// it until Close.
func Listen(addr string, reg *prometheus.Registry, opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return Serve(ln, reg, opts), nil
}

// Serve serves on an existing listener until Close.
func Serve(ln net.Listener, reg *prometheus.Registry, opts Options) *Server {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	s := &Server{ln: ln, done: make(chan struct{}), onClose: opts.OnClose}
	s.srv = &http.Server{
		Handler:           Handler(reg, opts),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener stopped", "addr", ln.Addr(), "err", err)
		}
	}()
	return s
}

// Handler is the listener's request router, without a socket (tests).
func Handler(reg *prometheus.Registry, opts Options) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", metricsHandler(reg, opts))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if opts.Ready != nil {
			if err := opts.Ready(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintf(w, "not ready: %v\n", err)
				return
			}
		}
		fmt.Fprintln(w, "ready")
	})
	if opts.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	for pattern, h := range opts.Handlers {
		mux.Handle(pattern, h)
	}
	return mux
}

// Addr is the address the listener is bound to.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the listener, letting requests in progress finish until ctx
// ends.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	<-s.done
	if s.onClose != nil {
		s.onClose()
	}
	return err
}
