package storage

import "sync/atomic"

// FileOp is a kind of file operation that changes what is on disk, as a
// FaultHook sees it.
type FileOp uint8

// The operations a FaultHook is asked about.
const (
	// OpWrite is a write of data into a file: a batch into a segment, index
	// entries, a checkpoint, a producer snapshot or the leader epoch cache.
	OpWrite FileOp = iota + 1
	// OpSync is an fsync of a file or of a directory.
	OpSync
)

func (op FileOp) String() string {
	switch op {
	case OpWrite:
		return "write"
	case OpSync:
		return "fsync"
	}
	return "unknown"
}

// FaultHook is asked before each write and fsync of the log's files, with
// the path of the file (or directory) it is about. A non-nil error makes
// the operation fail with that error without running it: the package
// then handles it as the same error from the kernel (ENOSPC: the write
// fails alone; anything else fails the Log). It is an injected fault for
// tests, in the spirit of pebble's errorfs, on real files: production
// never sets one, and then each write or fsync costs one atomic load.
// The cleaner's output files are not covered yet.
type FaultHook func(op FileOp, path string) error

// faultHook is the installed FaultHook, nil when none is.
var faultHook atomic.Pointer[FaultHook]

// SetFaultHook installs h for every Log of the process (nil removes it)
// and returns a function that puts back the hook it replaced. Tests only.
func SetFaultHook(h FaultHook) (restore func()) {
	var p *FaultHook
	if h != nil {
		p = &h
	}
	old := faultHook.Swap(p)
	return func() { faultHook.Store(old) }
}

// injectedFault returns the error the installed FaultHook chooses for op
// on path, nil when there is no hook.
func injectedFault(op FileOp, path string) error {
	if h := faultHook.Load(); h != nil {
		return (*h)(op, path)
	}
	return nil
}
