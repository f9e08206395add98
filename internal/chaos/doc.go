// Package chaos runs fault campaigns against real Samsa processes: it
// starts a cluster of `samsa serve` processes on loopback, drives them
// with real clients (franz-go) that record every produce attempt and every
// record consumed in a history (internal/history), injects faults (kill -9,
// SIGSTOP beyond the session timeout, restarts of every node) and, once
// the faults are over, reads every partition back and lets the history
// checker decide whether anything acknowledged was lost, duplicated or
// reordered.
//
// `go test ./cmd/samsa -run Fault` runs a short campaign; the
// `samsa-chaos` command runs long ones (docs/reliability.md).
package chaos
