package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/samsa-streaming/samsa/internal/broker"
	"github.com/samsa-streaming/samsa/internal/metrics"
)

// Version is the running build's version, for samsa_build_info (set by
// cmd/samsa).
var Version = "dev"

// readiness is how far start-up has come, for /readyz.
type readiness struct {
	logsLoaded atomic.Bool // the partition logs are open and recovered
	listening  atomic.Bool // the Kafka listeners accept connections
	registered atomic.Bool // the broker's registration is committed
	closing    atomic.Bool // Close has begun
}

// brokerRef is s.broker for the metrics listener's goroutines.
type brokerRef = atomic.Pointer[broker.Broker]

// startMetrics opens the metrics listener (metrics.listener) before
// anything slow happens, so /healthz answers and /readyz says why not
// while the logs load. A listener set explicitly that cannot bind fails
// the start; the default one, taken by another broker on this machine,
// is skipped with a warning.
func (s *Server) startMetrics() error {
	s.registry = metrics.NewRegistry(Version)
	addr, explicit := s.cfg.MetricsListener()
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if explicit {
			return fmt.Errorf("metrics.listener %s: %w", addr, err)
		}
		s.logger.Warn("metrics listener not started: its default address is taken (set metrics.listener to another address, or to empty to silence this)", "addr", addr, "err", err)
		return nil
	}
	parts := func(b []byte) []byte {
		if br := s.brokerRef.Load(); br != nil {
			return br.AppendPartitionMetrics(b)
		}
		return b
	}
	handlers, closeConsole := s.console()
	s.metricsSrv = metrics.Serve(ln, s.registry, metrics.Options{Ready: s.ready, Pprof: s.cfg.MetricsPprof(), Logger: s.logger,
		Appenders: []metrics.Appender{parts}, Handlers: handlers, OnClose: closeConsole})
	s.logger.Info("metrics listening", "addr", ln.Addr().String(), "pprof", s.cfg.MetricsPprof())
	return nil
}

// registerMetrics adds the broker's metrics to the registry.
func (s *Server) registerMetrics() {
	if s.registry == nil || s.broker == nil {
		return
	}
	s.broker.RegisterMetrics(s.registry)
	s.brokerRef.Store(s.broker)
}

// ready is /readyz's check: the logs are loaded, the listeners accept,
// this broker is registered in the cluster, the quorum has a leader and
// has not fenced this broker. A controller-only node is ready once its
// quorum has a leader.
func (s *Server) ready() error {
	switch {
	case s.state.closing.Load():
		return errors.New("shutting down")
	case s.cfg.Broker && !s.state.logsLoaded.Load():
		return errors.New("loading logs")
	case s.cfg.Broker && !s.state.listening.Load():
		return errors.New("not listening yet")
	case !s.state.registered.Load():
		return errors.New("not registered in the cluster yet")
	}
	meta := s.metaRef.Load()
	if meta == nil || meta.Leader() < 0 {
		return errors.New("no metadata quorum leader known")
	}
	if s.cfg.Broker {
		b, ok := meta.Image().Broker(s.cfg.NodeID)
		if !ok {
			return errors.New("this broker's registration is not in the metadata")
		}
		if b.Fenced {
			return errors.New("this broker is fenced")
		}
	}
	return nil
}

// Registry is the server's metrics registry (its /metrics).
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// MetricsAddr is the metrics listener's address (nil when off).
func (s *Server) MetricsAddr() net.Addr {
	if s.metricsSrv == nil {
		return nil
	}
	return s.metricsSrv.Addr()
}

func (s *Server) closeMetrics() {
	if s.metricsSrv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.metricsSrv.Close(ctx)
	s.metricsSrv = nil
}
