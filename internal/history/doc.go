// Package history records what Kafka clients did against a broker and
// decides from that record whether the broker lost, duplicated, reordered
// or corrupted data, or broke a consumer-group promise. Fault tests (kill
// -9, failover) and `samsa verify` use it; docs/history-checker.md
// describes the format and every check.
//
// A history is JSON lines, one event per line with a "type" field:
// produce attempts with their outcome, consumed records, offset commits,
// partition assignments and revocations, observed high watermarks and
// transaction outcomes. Recorder writes them from many goroutines; Read
// parses them back, with every line bounded and validated, so a corrupt
// file is an error naming its line and never a panic.
//
// Check judges a history against the final read: a full read of every
// partition from the earliest offset, made after the faults ended, which
// the checker takes as what the log holds. Without a final read only the
// checks that need no ground truth run (producer order, consumer offsets,
// transactions, commits, ownership), and the Report says so.
//
// Invariants the checker relies on, which the recording test must keep:
//   - Every produce attempt sends a value no other attempt sends; records
//     are found in the log by value. Values are text (JSON strings).
//   - A consumer's events of one session are recorded in the order it read
//     them; the Recorder keeps call order.
//   - The final read covers every partition produced to; a partition it
//     did not read counts as empty, so its acknowledged records are lost.
//
// The package has no dependencies beyond the standard library and does no
// I/O of its own beyond the reader and writer it is given.
package history
