package storage

import (
	"errors"
	"fmt"
)

// Errors returned by this package. The broker maps them to Kafka error
// codes at its edge; inside the process they are matched with errors.Is.
var (
	// ErrOffsetOutOfRange means a read or DeleteRecords asked for an offset
	// below the log start offset or above the log end offset
	// (OFFSET_OUT_OF_RANGE).
	ErrOffsetOutOfRange = errors.New("storage: offset out of range")
	// ErrInvalidProducerEpoch means an idempotent batch carries an epoch lower
	// than the producer's current one: the producer has been fenced
	// (INVALID_PRODUCER_EPOCH).
	ErrInvalidProducerEpoch = errors.New("storage: invalid producer epoch")
	// ErrOutOfOrderSequence means an idempotent batch's first sequence does
	// not follow the producer's last one (OUT_OF_ORDER_SEQUENCE_NUMBER).
	ErrOutOfOrderSequence = errors.New("storage: out of order sequence number")
	// ErrTransactionCoordinatorFenced means a transaction marker carries a
	// coordinator epoch lower than the last one seen for its producer: an
	// old transaction coordinator wrote it (TRANSACTION_COORDINATOR_FENCED).
	ErrTransactionCoordinatorFenced = errors.New("storage: transaction coordinator fenced")
	// ErrInvalidTxnState means a producer with an open transaction sent a
	// non-transactional batch (INVALID_TXN_STATE; Kafka: "Expected
	// transactional write").
	ErrInvalidTxnState = errors.New("storage: expected transactional write")
	// ErrBatchTooLarge means a batch cannot fit in any segment
	// (RECORD_BATCH_TOO_LARGE).
	ErrBatchTooLarge = errors.New("storage: record batch larger than the segment size")
	// ErrInvalidBatch means Append was given bytes that are not exactly one
	// v2 batch, or a follower batch whose offsets go backwards
	// (CORRUPT_MESSAGE or an unexpected append offset at the broker edge).
	ErrInvalidBatch = errors.New("storage: invalid record batch")
	// ErrClosed means the Log or Dir has been closed or deleted.
	ErrClosed = errors.New("storage: log closed")
	// ErrLogFailed wraps the first write or fsync error of a Log. After it
	// the Log refuses appends: its on-disk state is unknown until a restart
	// runs recovery (KAFKA_STORAGE_ERROR).
	ErrLogFailed = errors.New("storage: log failed")
	// ErrLogExists means CreateLog found the partition already present.
	ErrLogExists = errors.New("storage: log already exists")
	// ErrLogNotFound means the Dir has no log for the partition.
	ErrLogNotFound = errors.New("storage: log not found")
	// ErrInvalidTopic means a topic name cannot be a Kafka directory name.
	ErrInvalidTopic = errors.New("storage: invalid topic name")
	// ErrCorrupt is wrapped by every CorruptionError.
	ErrCorrupt = errors.New("storage: corrupt data")
)

// CorruptionError says which file is damaged and where. Recovery logs it and
// truncates; a read path that meets one returns it.
type CorruptionError struct {
	Path string // file that holds the bad bytes
	Pos  int64  // byte position of the first bad byte (or of the bad entry)
	Err  error  // what was wrong, often a record.ErrCorrupt
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("storage: corruption in %s at byte %d: %v", e.Path, e.Pos, e.Err)
}

// Unwrap lets errors.Is match both ErrCorrupt and the underlying cause.
func (e *CorruptionError) Unwrap() []error { return []error{ErrCorrupt, e.Err} }

func corruptf(path string, pos int64, format string, args ...any) error {
	return &CorruptionError{Path: path, Pos: pos, Err: fmt.Errorf(format, args...)}
}

// recoverFault, deferred by a goroutine that reads a mapped segment with
// debug.SetPanicOnFault set, turns a memory fault (the file cut short
// underneath, an I/O error) into an error in *err naming what was read.
// Any other panic goes on.
func recoverFault(err *error, what string) {
	r := recover()
	if r == nil {
		return
	}
	f, ok := r.(interface{ Addr() uintptr })
	if !ok {
		panic(r)
	}
	*err = fmt.Errorf("storage: fault reading %s (address %#x)", what, f.Addr())
}
