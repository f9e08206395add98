// Package storage is one partition's durable log, stored in Apache Kafka's
// own on-disk formats so that Kafka's tools (kafka-dump-log.sh) read it:
// segments of v2 record batches (<20-digit base offset>.log) with sparse
// offset and time indexes (.index, .timeindex) and, once the segment holds
// an ABORT marker, an aborted transaction index (.txnindex), a leader-epoch-checkpoint,
// producer-state snapshots (<offset>.snapshot) and partition.metadata. A
// Dir is one entry of log.dirs: it finds, creates and deletes partition
// logs and writes the dir-level recovery-point-offset-checkpoint,
// log-start-offset-checkpoint, cleaner-offset-checkpoint and
// .kafka_cleanshutdown files. Retention and compaction (cleaner.go)
// remove whole segments and rewrite inactive ones; the caller's background
// loops decide when. Segments of compacted logs also have a key file of
// Samsa's own (<base>.keys, keys.go): the key digest of every record,
// written on append, which the cleaner reads instead of the log. Byte
// diagrams of every file are in docs/format/log.md and docs/format/keys.md.
// Segment files share one process-wide budget of descriptors
// (filecache.go), so the number of partitions is not bounded by the
// process's open-file limit.
//
// The package knows nothing of leaders, replicas or high watermarks beyond
// what it is told: Append takes the leader epoch, Read takes a limit
// Position (the high watermark, or LastStable of it for read_committed),
// and the partition layer decides when to Flush, Checkpoint,
// DeleteRecordsBefore or TruncateTo.
//
// # API
//
//	OpenDir(path, cfg, logger) (*Dir, error)                       // cfg.MaxOpenFiles: log.max.open.files
//	OpenFiles() OpenFileStats                                       // descriptor budget in force and in use
//	ErrTooManyOpenFiles                                             // an operation found no descriptor; the log is fine
//	(*Dir).CreateLog(topic, partition, topicID, cfg) / DeleteLog / Log / Logs / Checkpoint / Close
//	(*Log).Append(batch, leaderEpoch, now) (AppendResult, error)            // leader: assigns offsets, idempotence, transactions
//	(*Log).AppendCoordinator(batch, leaderEpoch, now) (AppendResult, error) // leader, for a coordinator: markers, txn offset commits
//	(*Log).AppendFollower(batch, now) (AppendResult, error)                  // follower: keeps the batch's offsets
//	(*Log).Read(offset, maxBytes, minOneBatch, limit) (Slice, error)
//	(*Log).LastStable(hw Position) Position / FirstUnstableOffset() (int64, bool) / OpenTransactions()
//	(*Log).AbortedTransactions(from, upTo) []AbortedTxn                    // read_committed fetches
//	(*Log).Flush() (flushedOffset, error)                           // group commit
//	(*Log).DeleteRecordsBefore(offset) / TruncateTo(offset)
//	(*Log).DeleteRetained(now, limit) / RemoveDeleted(now)          // retention.ms, retention.bytes
//	(*Log).Cleanable(now, limit) / Clean(now, opts, force) / CleanerOffset()   // compaction
//	(*Log).OffsetForTimestamp(ts) / MaxTimestamp() / EndOffsetForEpoch(epoch) / LatestEpoch()
//	(*Log).ProducerStates() / LogStartOffset() / LogEndOffset() / EndPosition() / RecoveryPoint()
//	(*Log).Size() / Segments() / Epochs() / LastFlush() / SetConfig(cfg) / Close()
//	(*Log).CorruptBatches()                                         // damaged batches first reads found (verify.go)
//
// # Concurrency
//
// A Log has one writer at a time (Append, AppendFollower, TruncateTo,
// DeleteRecordsBefore, DeleteRetained, Close and the cleaner's swap
// serialize on a mutex) and any number of readers. Readers take a read lock only to copy the segment list and the
// published end Position, then read files with pread; they never wait for
// a write syscall. Flush holds the writer mutex only to collect the dirty
// segments, so appends continue while it fsyncs. The lock order is written
// on the Log type.
//
// A Slice returned by Read holds a use of its segment's file: the file
// stays open until every Slice on it is released, even if the Log drops
// the segment meanwhile (deleted, truncated away, Log closed), and after
// that it is never opened again. Sending from a Slice must use its
// explicit Pos (sendfile with an offset, or io.NewSectionReader), never
// the file's shared seek position.
//
// # File descriptors
//
// Segment .log files are opened when needed and kept in one process-wide
// cache of at most log.max.open.files descriptors (Config.MaxOpenFiles,
// read by OpenDir; 0 derives 60% of the soft RLIMIT_NOFILE, which the Go
// runtime raises to the hard limit at start: 12,000 of this machine's
// 20,000, leaving 8,000 for connections, the metadata log and short-lived
// files). Every user of a segment's file takes a use of it (segFile.acquire:
// appends, Read and the Slice it returns, recovery, the cleaner, Flush's
// fsync, the time searches) and releases it when done; a file in use is
// never closed. When a file must be opened and the budget is spent, the
// least recently used idle file is closed (the clock algorithm: a
// reference bit set by each use, cleared by the sweeping hand). A use of
// an open file is two atomic operations on the file (no lock, no map), so
// the append hot path is unchanged; only opening and evicting take the
// cache's mutex. A rolled segment's file is closed after its background
// flush, so an idle partition keeps at most its active segment's file,
// and that one only until the budget is needed.
//
// Index files (.index, .timeindex, .txnindex, .keys) hold no descriptor:
// their entries live in memory and are written by opening the file,
// writing the tail not yet written and closing it (index entries every
// 4 KiB of entries and before a fsync, roll or close; key file entries
// every 4 KiB and with the trailer; .txnindex entries at once), each open
// counted in the budget while it lasts. Writing checkpoints and producer
// snapshots and fsyncing the directory are counted the same way (reading
// them at open is not: one file at a time per opening goroutine).
//
// Running out is not a failure of the log: an operation whose file
// cannot be opened (every descriptor of the budget in use, or EMFILE or
// ENFILE from the kernel even after closing idle files) returns
// ErrTooManyOpenFiles wrapping the cause and changes nothing, and the
// next one tries again. The files an append needs are opened before it
// writes anything (the active segment's, and at a roll the new segment's
// files and its producer snapshot); index entries that cannot be written
// wait in memory for the next try; a Flush that cannot open a file leaves
// its segments marked for the next Flush and the recovery point where it
// was. Write and fsync errors still fail the Log, as below.
//
// Measured (TestIdleDescriptors, 50 partitions of three 4 KiB segments):
// 50 descriptors, one per idle partition, against 450 before (three per
// segment: .log, .index, .timeindex, plus .txnindex and .keys where they
// exist); with a budget below the partition count an idle partition holds
// none. An active partition holds one (its active segment's .log) plus,
// for the moment of a write or fsync, one index file. TestDescriptorBudget
// checks that 200 partitions used round-robin under a budget of 16 (with
// rolls, retention, truncation, the cleaner, held Slices, Close and
// reopen) never have more than the budget plus two descriptors open.
// One Dir of 100,000 partitions on this machine (RLIMIT_NOFILE 20,000, so
// a budget of 12,000) was created, appended to three times, read, closed
// and reopened with at most 12,000 descriptors (before, the process ran
// out at about 6,600 partitions). Its clean reopen took 12 s on two cores,
// with two opens of each active segment (the tail check, then the
// producer replay, with 100,000 files through 12,000 descriptors).
//
// # Durability and recovery
//
// Appends go to the page cache. Flush fsyncs every segment written since
// the last flush (data, then both indexes and the .txnindex) and the directory if files were
// created or removed, then moves the recovery point to the log end seen
// when it started. Config.FlushMessages makes Append flush by count;
// flushing by time is the caller's loop (LastFlush, Config.FlushInterval).
// The Dir writes recovery points and log start offsets to its checkpoint
// files, so callers run Dir.Checkpoint periodically and after
// DeleteRecordsBefore.
//
// Opening a log after a clean shutdown (marker present) trusts the files,
// except that the batches after the last offset-index entry of the active
// segment are validated (a few KiB). Otherwise every segment from the one
// holding the recovery point to the end is read batch by batch and checked
// with record.Validate (CRC32C included) and for increasing offsets; the
// log is cut at the first bad or partial batch, later segments are deleted,
// indexes are rebuilt, the leader epoch cache gains entries for the epochs
// seen and loses those past the new end, and everything recovered is
// fsynced before the recovery point moves. Producer state is loaded from
// the newest readable snapshot at or below the log end (corrupt ones are
// deleted) and brought forward by replaying batch headers (and the record
// of each transaction marker). After a recovery the replay starts from a
// snapshot at or below the first recovered segment, and it drops and
// rewrites the .txnindex entries of every marker it replays, so a crash
// leaves no entry twice and none missing. A .txnindex whose partial last
// entry a crash cut is trimmed at open; one with an entry that cannot be
// right (version, offsets outside its segment, out of order) makes its
// segment be recovered, which rebuilds it.
//
// Damaged files are reported (a warning naming the file, and the byte or
// entry) and repaired at open rather than failing it: indexes failing
// their checks, or missing, are rebuilt; an inactive segment below the
// recovery point has the headers after its last index entry walked, and
// one cut short or grown is cut at its last whole batch with the later
// segments kept; an unreadable leader-epoch-checkpoint or
// partition.metadata is set aside as <name>.corrupt (quarantine.go), the
// first rebuilt from batch headers, the second written again by the
// partition layer from the cluster metadata (SetTopicID); a log start
// checkpointed above the epoch cache's first offset is ignored. A read
// whose index entry does not point at its batch walks the segment from
// its start, and Close rebuilds that index. Bytes inside segments below
// the recovery point are not read at open (as Kafka). TestCorruptionMatrix
// damages every file kind; docs/reliability.md has its figures.
//
// They are checked on their first read instead (verify.go): every
// segment knows where the bytes it was opened with end and which ranges
// of them reads have checked, and a Read reaching unchecked bytes first
// validates the batches it serves (length, offsets, CRC32C), without the
// writer's mutex, at most the bytes it serves plus the rest of its last
// batch. A bad batch is never served: the Read stops before it, a Read
// starting at it returns a BatchCorruptionError (file, byte, offsets; the
// broker answers CORRUPT_MESSAGE), logged once and counted
// (CorruptBatches). Bytes this process wrote, and those recovery
// validated, are never checked again; the append path does nothing for
// it. The cleaner validates the unchecked batches it copies, so damage is
// never sealed under a new CRC.
//
// Every write and fsync of a log's files first asks the FaultHook
// installed by SetFaultHook (faults.go; tests only, one atomic load when
// none is), which can fail it with an injected error.
//
// A write or fsync error fails the Log: later appends and flushes return
// ErrLogFailed wrapping the first error, and Close writes no snapshot, so
// the next open recovers. Nothing is retried. A file that cannot be
// opened for want of descriptors (ErrTooManyOpenFiles) is not such an
// error: the disk is fine, and only that operation fails (see File
// descriptors); an open that fails for a descriptor shortage in the
// middle of an operation that already changed the log (persisting the
// leader epoch cache after the batch was written, rebuilding a truncated
// segment's indexes) still fails the Log.
//
// # Idempotent producers and transactions
//
// As Kafka's ProducerStateManager: per producer id the epoch, the last
// five batches (first and last sequence, last offset, timestamp), the
// coordinator epoch of its last marker and the first offset of its open
// transaction. A retry of one of those five with the same epoch returns
// Duplicate with the original offsets and writes nothing; a lower epoch is
// ErrInvalidProducerEpoch; a higher epoch must start at sequence 0 (unless
// the producer's epoch is unknown); the same epoch must continue at last
// sequence + 1, wrapping from math.MaxInt32 to 0; an unknown producer may
// start anywhere. A non-transactional batch from a producer with an open
// transaction is ErrInvalidTxnState. Snapshots are written at every
// segment roll (named after the new segment's base offset) and at Close.
// Follower appends update the table without checks.
//
// A control batch is a transaction marker: its one control record is
// decoded (ABORT or COMMIT, coordinator epoch; anything else from a leader
// append is ErrInvalidBatch). A marker checks only the producer epoch and
// the coordinator epoch (lower than the last one seen:
// ErrTransactionCoordinatorFenced), ends the open transaction and records
// the coordinator epoch. AppendCoordinator is Kafka's
// AppendOrigin.COORDINATOR: markers, and the group coordinator's
// transactional offset commits (no sequence); epochs and transaction state
// are checked, sequences and duplicates are not, and a batch without a
// sequence is not remembered in the duplicate window, so the client's
// next sequence still follows its own last batch.
//
// The Log tracks the transactions that hold back the last stable offset:
// open ones, and ended ones until LastStable is given a high watermark
// above their marker. Each has the Position of its first batch, so
// LastStable is a short walk of a small list under its own mutex, never
// waiting for a write. An ABORT marker that ends a transaction with data
// adds an entry to the .txnindex of the segment it is written to (Kafka's
// format, with Kafka's last stable offset: the first offset of the
// earliest other open transaction, or the marker offset + 1). The entries
// are also kept in memory, so AbortedTransactions reads no file.
// Truncation drops the entries of the markers it removes and reloads the
// list; a transaction whose first batch falls below the log start stays
// open until its marker and holds the last stable offset at the log start.
//
// # Differences from Kafka worth knowing
//
//   - Index files are never preallocated; each is exactly its entries. The
//     entries live in memory for lookups and reach the file at latest before
//     the segment is fsynced, rolled or closed, so a crash can lose index
//     entries only in segments that recovery rebuilds anyway. They are not
//     memory-mapped and hold no descriptor between writes.
//   - Kafka keeps every segment's .log open for the life of the segment
//     (one descriptor per segment, its indexes mapped and their files
//     closed); Samsa keeps segment files in a cache bounded by
//     log.max.open.files and closes idle ones, so a broker with more
//     segments than descriptors works, and one that runs out answers the
//     requests that need a file with an error instead of failing its logs.
//   - The snapshot file holds one entry per remembered batch (up to five per
//     producer, oldest first) rather than one per producer, so the duplicate
//     window survives restarts. The layout is Kafka's version 1; Kafka
//     reading it keeps the last entry of each producer, the one it would
//     have written itself.
//   - OffsetForTimestamp and MaxTimestamp walk the records of uncompressed
//     CreateTime batches to find the exact record; for compressed or
//     LogAppendTime batches they answer with the batch base offset and the
//     batch max timestamp instead of decompressing.
//   - A cleaned segment carries the .txnindex entries of the segments it
//     replaces except those of markers whose transaction has no data left
//     (as Kafka, which writes only those whose aborted data it saw). A
//     .txnindex emptied by truncation or the cleaner stays as an empty
//     file.
//   - Transactions that ended are forgotten when LastStable sees a high
//     watermark above their marker, not when the high watermark moves.
//   - There is no roll jitter. Deleted segments are renamed .deleted and
//     unlinked after Config.FileDeleteDelay by RemoveDeleted (the caller's
//     loop), or at Close or the next open.
//   - Retention never deletes the active segment (Kafka rolls it first when
//     the whole log has expired); an expired active segment goes once a
//     later append rolls it. Segments roll only on append, as in Kafka.
//   - The cleaner's key map is exact (a Go map of key bytes), not Kafka's
//     hashed SkimpyOffsetMap, so no hash collision can drop a record; its
//     size is bounded by CleanOptions.MaxMapBytes instead.
//   - The cleaner removes the records of aborted transactions (keeping the
//     header of a producer's last batch, as for obsolete records) and, as
//     Kafka, transaction markers once no batch of their transaction is
//     left and the delete horizon it stamps on them has passed
//     (cleanmarkers.go). A producer's last marker is kept whole where
//     Kafka keeps an empty control batch (no records); which marker is
//     last is known exactly, from the producer table, except for
//     producers loaded from a snapshot that wrote no marker since: until
//     a pass has walked the log past the load point, every marker of
//     their current epoch is kept if they have no remembered data batch
//     (Kafka's rule). Kafka also keeps the last batch of each cleaning
//     round, even empty; Samsa does not need it (the log end is never in
//     a cleaned segment). Segments with aborted data are mapped by
//     walking them, not from their key file.
//   - A producer snapshot taken inside a transaction whose marker the
//     cleaner drops is deleted before the swap commits, so no replay
//     can start inside a transaction whose end is gone (Kafka deletes
//     the snapshots of the segments a swap merges, and nothing more).
//
// # Non-obvious invariants
//
//   - BaseOffset and PartitionLeaderEpoch lie outside the batch CRC, so
//     Append patches them in the caller's buffer and writes it with one
//     pwrite; the caller must not reuse the buffer concurrently.
//   - An offset index entry is (last offset of a batch, start position of
//     that batch). Lookup takes the last entry with offset <= target; every
//     batch from that position on has a last offset >= the entry's, so a
//     forward walk over headers finds the target. Append and every rebuild
//     add entries by the same rule (Kafka's: when more than
//     IndexIntervalBytes were appended since the previous entry), so a
//     rebuilt index equals the original.
//   - Time index entries are (max timestamp so far, last offset of the batch
//     that carried it), strictly increasing in timestamp. When a segment
//     stops being active a final entry records its max timestamp, which is
//     how a reopened inactive segment knows its max timestamp without
//     reading data.
//   - Readers only ever see bytes below the published end Position, which is
//     updated after the write returns, so a torn or failed write is never
//     visible to them.
//   - The segment list is copy-on-write: it is replaced, never modified in
//     place, so a reader's copy stays valid.
//   - The leader-epoch-checkpoint is written and fsynced before the Append
//     that changed it returns, so it is durable before the recovery point
//     can pass the batch that started the epoch (recovery starts at the
//     recovery point and would not see that batch again).
//   - A producer snapshot is named after the log end at the time it was
//     taken, which is always a batch boundary; replay starts at that offset.
//     Snapshots above the log end are deleted at open and after truncation.
//   - Recovery validates the offset order across segments too: every
//     batch's base offset must be above the previous batch's last offset.
//   - Retention and the cleaner never touch the active segment nor any
//     segment not entirely below the limit (high watermark) they are given;
//     the cleaner's limit is also lowered to the first offset of the
//     earliest transaction that is open or whose marker is at or above it,
//     so an open transaction is never cleaned and a tracked transaction's
//     first Position never moves (swaps relocate them anyway).
//   - A .txnindex entry lives in the segment that holds its marker; its
//     entries are in marker order. A transaction's first offset may lie in
//     an earlier segment, which is why AbortedTransactions walks from the
//     segment holding from onwards, never backwards.
//   - The Position LastStable returns is the start of a batch (the first
//     batch of a transaction, or of the batch holding the log start), so a
//     Read cut there never shows part of an unstable transaction.
//   - The cleaner preserves every batch's base and last offset and
//     producer fields, so offsets only gain gaps, the offset index rule
//     still holds in rewritten segments, and producer sequences stay
//     consistent; the last batch of every producer is kept (as an empty
//     header if all its records are obsolete).
//   - A transaction marker is dropped only when no batch of its
//     transaction is left in the whole log (the cleaner walks from the
//     first segment), never at or past the first unstable offset, and a
//     .txnindex entry never outlives its ABORT marker: it goes in the
//     swap that first finds the marker without data, before the marker
//     itself (an entry without its marker would make a read_committed
//     consumer skip its producer's later transactions).
//   - A cleaner's output becomes visible in one step: the .log.swap rename is
//     the commit point, and opening a log completes or discards an
//     interrupted swap before loading segments (docs/format/log.md), so a
//     kill -9 at any point leaves the old segments or the new one.
//   - Read retries when a segment leaves the list between its snapshot and
//     the read (swapped or deleted), so a concurrent cleaner swap never
//     shows a reader OFFSET_OUT_OF_RANGE for a live offset.
//   - No length read from disk is used before it is bounded by the size of
//     the file it came from, and no byte read from disk can cause a panic
//     (FuzzRecover).
//
// # Benchmarks
//
// On the 2-vCPU development VM (go test -bench . -benchtime 2s, page cache,
// 16 records of 1 KiB per batch, 64 MiB segments):
//
//	BenchmarkAppend-2        220836   11452 ns/op   1449.92 MB/s   39 B/op   0 allocs/op
//	BenchmarkAppendFlush-2    89634   28303 ns/op    586.68 MB/s   45 B/op   0 allocs/op  (fsync every ~1 MiB)
//	BenchmarkRead-2         1611146    1288 ns/op                   0 B/op   0 allocs/op  (offset to Slice, 64 MiB log)
//
// A log on disk at open, read from start to end in 1 MiB reads
// (BenchmarkReadVerify, 64 MiB): 13-15 ms on the first pass, which checks
// every batch (4.5-5.2 GB/s), and 63-71 us on every later pass.
//
// The 39 B/op of Append is the amortized growth of the in-memory index
// copies; TestAppendDoesNotAllocate holds the zero allocations per call.
// AppendFlush's extra 6 B/op is the os.File of each index file opened to
// be written and fsynced. Two runs each before the descriptor budget gave
// 12.0-14.4 us per append, 34-50 us per append with flushes and 1.6 us per
// read; after it, 11.5-14.2 us, 28-31 us and 1.3-1.7 us: within the
// machine's noise. Taking and releasing a use of an open
// file (BenchmarkSegFileAcquire) costs 37-51 ns with both CPUs on one
// file. Over 500 partitions read in random order (BenchmarkReadManyPartitions),
// a read costs 1.7-2.4 us when every file stays open and 6.6-8.0 us with
// a budget of 64 (0.87 opens per read: an open, an eviction and 174 B).
//
// Compaction (BenchmarkClean: 16 records of 1 KiB per uncompressed batch,
// 100k distinct keys, 64 MiB segments, page cache, including the fsync of
// the output) against one sequential read of the same files:
//
//	1 GiB:   read 241 ms,   clean 401 ms     (1.6x a read; median of 3, 101 MiB written)
//
// (8.2x when segments were copied, 3.7x when mapped, 2.3x before key
// files.) The first pass reads the key files (55-62 ms); the second
// walks the batches and copies the records kept.
package storage
