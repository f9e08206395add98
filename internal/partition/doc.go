// Package partition holds the broker's state of each partition replica it
// hosts: the storage.Log, the leader epoch, the high watermark, and the
// fetchers waiting for new data. It decides when appended data becomes
// visible and when a produce with acks=all may be acknowledged.
//
// Two flush modes (config log.flush.mode) decide both:
//
//   - page-cache (Kafka's default): the high watermark moves to the log end
//     as soon as a batch is in the page cache. acks=all is answered at once.
//     An acknowledged record survives a crash of the process but not of the
//     machine, unless flush.messages/flush.ms force an fsync.
//   - group-commit: every append asks the Flusher for an fsync; the flusher
//     fsyncs each dirty partition once per round, however many requests
//     wait, then moves the high watermark to what is durable and answers
//     the waiting acks=all requests. Consumers never see a record that a
//     power loss could take back.
//
// Invariants:
//   - The high watermark never exceeds the log end offset and never moves
//     backwards while the partition is open.
//   - In group-commit mode the high watermark never exceeds the flushed
//     offset.
package partition
