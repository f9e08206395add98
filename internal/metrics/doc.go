// Package metrics owns Samsa's HTTP listener for operators: Prometheus
// metrics at /metrics, liveness at /healthz, readiness at /readyz, and,
// when enabled, Go's profiles at /debug/pprof/.
//
// Each server has a registry of its own (never Prometheus' global default),
// so several brokers in one process (tests) never share or collide on
// metrics. The registry starts with the Go runtime and process collectors;
// the broker registers its own metrics on it.
//
// The package knows nothing of the broker: readiness is a function the
// caller supplies, and the metric definitions that must be cheap on the
// request path live with the code that updates them (internal/broker).
// Buckets shared by every latency histogram are defined here so that
// dashboards can rely on them.
//
// Invariants: /healthz answers 200 for as long as the process serves HTTP
// and depends on nothing else (a wedged broker must not look dead to an
// orchestrator that would then restart it in a loop while logs load);
// /readyz answers 503 with the reason until the caller's check passes.
package metrics
