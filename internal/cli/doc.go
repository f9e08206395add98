// Package cli implements the samsa command-line client: topic administration,
// a console producer and consumer, cluster information and throughput benchmarks.
//
// The package talks to brokers over the Kafka wire protocol only, through
// franz-go's kgo and kadm clients; it never imports broker internals, so every
// command works against any Kafka-compatible cluster and doubles as a black-box
// check of Samsa's wire behaviour.
//
// Layout: one file per noun (topic.go, produce.go, consume.go, cluster.go,
// bench.go), with the shared pieces beside them: root.go builds the command
// tree and owns exit codes, client.go builds clients and turns wire errors
// into messages that say what to do, output.go prints tables and JSON,
// format.go renders consumed records, and histogram.go is the fixed-memory
// latency histogram used by the benchmarks. security.go turns Kafka client
// properties (--command-config, -X) into TLS and SASL options for every
// client; kafkaflags.go adds the flag names of Kafka's own tools to the
// finished tree, and kafkaformat.go their console --property options;
// live.go draws the live status line of long-running commands.
//
// Conventions every command follows:
//   - Results go to stdout (a table for people, JSON with --json); progress,
//     summaries and warnings go to stderr so that pipelines stay clean.
//   - Runtime errors are returned, never printed by the command itself;
//     Execute prints them once as "samsa: <message>" and picks the exit code
//     (1 for runtime errors, 2 for usage errors).
//   - Commands read their input and write their output through the cobra
//     command's streams (InOrStdin, OutOrStdout, ErrOrStderr), so tests can
//     run them in-process and capture everything.
package cli
