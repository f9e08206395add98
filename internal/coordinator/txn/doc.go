// Package txn is the transaction coordinator: Kafka's transactional
// producer protocol (InitProducerId with a transactional.id,
// AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, DescribeTransactions,
// ListTransactions) and the transaction markers it has partition leaders
// write. Its state lives in the internal compacted topic
// __transaction_state, one record per change, in Kafka's own schemas
// (TransactionLogKey v0, TransactionLogValue v1; docs/format/transactions.md),
// so kafka-dump-log --transaction-log-decoder reads it.
//
// # Two layers
//
// Coordinator is a deterministic state machine like the group
// coordinator's: time is passed in, records to append and markers to
// write come out (Out), and a change takes effect only when its append is
// durable (AppendDone), which is also when the request is answered.
// While a change of a transactional id is in flight, requests for that id
// get CONCURRENT_TRANSACTIONS, as Kafka's pendingState does. The only I/O
// it calls out to is producer id allocation (blocks reserved in the
// metadata log, shared with idempotent producers, never reused).
//
// Runtime drives it in the broker: one mutex serializes the state machine
// and its appends; one goroutine follows the leadership of
// __transaction_state's partitions (a node that comes to lead one replays
// it at that leader epoch, which becomes the coordinator epoch stamped on
// its markers; a node that loses it forgets its transactions) and runs
// the timers; each marker job runs on its own goroutine and sends
// WriteTxnMarkers to the partitions' leaders (the local broker directly)
// until every marker is written, then reports MarkersDone. A transactional
// id lives in partition abs(javaHashCode(id)) % partitions, so its
// coordinator moves with that partition's leadership.
//
// # Semantics (Kafka's TransactionCoordinator)
//
//   - States Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit,
//     CompleteAbort; Dead is a tombstone. PrepareEpochFence is not
//     written: fencing writes PrepareAbort with the bumped epoch directly.
//   - InitProducerId: a new id gets a producer id and epoch 0; a known
//     one an epoch bump (a new producer id when the epoch is exhausted).
//     An Ongoing transaction is aborted under a bumped epoch first (the
//     old producer is fenced) and the caller told CONCURRENT_TRANSACTIONS
//     so it retries. KIP-360: a request naming the current producer id and
//     epoch bumps it; one naming the previous epoch is a retry and gets the
//     current one; any other is PRODUCER_FENCED.
//   - AddPartitionsToTxn / AddOffsetsToTxn (the group's __consumer_offsets
//     partition) move the transaction to Ongoing; adding partitions it
//     already has answers at once. v4+ verify_only (KIP-890 part 1)
//     answers per partition NONE or TRANSACTION_ABORTABLE without writing.
//   - EndTxn writes PrepareCommit/PrepareAbort and answers; markers
//     follow; CompleteCommit/CompleteAbort is written once every
//     partition has its marker. Retries of a decided end answer NONE (or
//     CONCURRENT_TRANSACTIONS while markers are pending); the opposite
//     decision is INVALID_TXN_STATE.
//   - Transactions V2 (KIP-890 part 2; EndTxn v5): every end bumps the
//     epoch (markers carry the new one, so a late write of the old epoch
//     is refused by the partition and a transaction can never hang), the
//     response carries the id and epoch to use next, a retry with the
//     previous epoch is recognised, and an exhausted epoch rotates to a
//     new producer id once the markers are written. A V2 client may abort
//     a transaction it added nothing to.
//   - transaction.timeout.ms: an Ongoing transaction older than its
//     timeout is aborted (epoch bumped, so its producer is fenced), checked
//     every transaction.abort.timed.out.transaction.cleanup.interval.ms.
//   - transactional.id.expiration.ms: an id idle that long in Empty or
//     Complete* is removed (tombstone), checked every
//     transaction.remove.expired.transaction.cleanup.interval.ms.
//   - A coordinator that loads a partition holding a transaction in
//     PrepareCommit/PrepareAbort sends its markers again: markers are
//     idempotent for the partitions (a second marker of the same
//     transaction ends nothing new) and the decision is durable before
//     the client hears it, so a coordinator crash between the decision and
//     the markers loses nothing.
//
// # Non-obvious invariants
//
//   - A transaction's state changes only in a write's completion, and
//     the completion checks the transaction is still the one loaded (the
//     partition may have been unloaded and reloaded meanwhile); a stale
//     completion answers NOT_COORDINATOR and changes nothing.
//   - Marker jobs stop as soon as this node no longer owns the partition
//     at the epoch they were started with; the next coordinator resends.
//   - Markers answered INVALID_PRODUCER_EPOCH count as written: the
//     partition has seen a newer epoch of the producer, so the transaction
//     is over there.
package txn
