// Package record understands Kafka's v2 record batch (magic 2) well enough to
// store it: it parses and validates the 61-byte batch header, checks the
// CRC32C, and patches the fields a broker assigns (base offset, partition
// leader epoch, log-append time) in place.
//
// It deliberately never decodes individual records on the produce path: a
// batch is validated by walking its header, so the cost of accepting a batch
// does not grow with the number of records in it. Compressed batches are
// accepted as they are; the broker never recompresses.
//
// Invariants:
//   - BaseOffset, BatchLength, PartitionLeaderEpoch and Magic lie outside the
//     CRC, so SetBaseOffset and SetPartitionLeaderEpoch never invalidate it.
//   - Every function that reads a length from its input bounds it by the
//     input's size first; no input can make this package panic or allocate.
package record
