package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// A segment's aborted transaction index, Kafka's TransactionIndex
// (<base>.txnindex, docs/format/log.md): one 34-byte entry per ABORT
// marker in the segment that had data, in marker order.
//
//	version int16 (0) | producerId int64 | firstOffset int64 |
//	lastOffset int64 (the marker's offset) | lastStableOffset int64
//
// The file is created with its first entry. Entries are written when the
// marker is (they are rare; the file is opened, written and closed), kept
// in memory for readers, and fsynced with the segment. One that cannot be
// written for want of descriptors waits in memory and is written at latest
// before the segment is fsynced, rolled or closed, like index entries (a
// crash can lose it only above the recovery point, where recovery's
// replay writes it again).
const (
	txnIndexSuffix  = ".txnindex"
	txnEntrySize    = 34
	txnIndexVersion = 0
)

// abortedTxn is one .txnindex entry.
type abortedTxn struct {
	pid, first, last, lso int64
}

func (e abortedTxn) encode(b []byte) {
	be := binary.BigEndian
	be.PutUint16(b[0:], txnIndexVersion)
	be.PutUint64(b[2:], uint64(e.pid))
	be.PutUint64(b[10:], uint64(e.first))
	be.PutUint64(b[18:], uint64(e.last))
	be.PutUint64(b[26:], uint64(e.lso))
}

// txnIndex is a segment's .txnindex with its entries in memory. Writers
// (append, truncateFrom, writePending) are serialized by the owning Log's
// mu (or own a cleaner's segment alone); mu keeps readers off entries and
// the file state while they change.
type txnIndex struct {
	path   string // the file's name once the segment is live
	create string // where the file is (path, or the cleaner's .cleaned name)
	base   int64

	mu      sync.RWMutex
	entries []abortedTxn
	exists  bool // the file exists
	want    bool // the file must exist (it has entries, or ensureFile)
	written int  // entries written to the file; writer-only

	needSync atomic.Bool
	// bad describes entries that failed the load checks; the loader then
	// recovers the segment, whose replay rewrites the index.
	bad error
}

func newTxnIndex(path string, base int64) *txnIndex {
	return &txnIndex{path: path, create: path, base: base}
}

// openTxnIndex loads a segment's .txnindex if it exists. A partial
// trailing entry (a write cut by a crash) is cut off the file; entries
// that cannot be right (version, offsets outside the segment, out of
// order) are kept out of memory and reported in x.bad. Only I/O errors
// are returned.
// exists false (the directory listing has no such file) skips the open.
func openTxnIndex(path string, base int64, exists bool) (*txnIndex, error) {
	x := newTxnIndex(path, base)
	if !exists {
		return x, nil
	}
	f, err := files.openTransient(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return x, nil
	}
	if err != nil {
		return nil, fmt.Errorf("storage: open txn index: %w", err)
	}
	defer files.closeTransient(f)
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("storage: stat txn index: %w", err)
	}
	x.exists, x.want = true, true
	size := st.Size()
	if size > maxIndexFileBytes {
		x.bad = corruptf(path, 0, "txn index of %d bytes", size)
		return x, nil
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, size), buf); err != nil {
		return nil, fmt.Errorf("storage: read txn index %s: %w", path, err)
	}
	whole := size - size%txnEntrySize
	if whole != size {
		if err := f.Truncate(whole); err != nil {
			return nil, fmt.Errorf("storage: truncate txn index %s: %w", path, err)
		}
		x.needSync.Store(true)
	}
	x.entries, x.bad = decodeTxnEntries(path, base, buf[:whole])
	x.written = len(x.entries)
	return x, nil
}

// decodeTxnEntries parses whole entries, stopping at the first that
// cannot be right.
func decodeTxnEntries(path string, base int64, b []byte) ([]abortedTxn, error) {
	be := binary.BigEndian
	out := make([]abortedTxn, 0, len(b)/txnEntrySize)
	prev := int64(-1)
	for i := 0; i+txnEntrySize <= len(b); i += txnEntrySize {
		r := b[i:]
		e := abortedTxn{pid: int64(be.Uint64(r[2:])), first: int64(be.Uint64(r[10:])),
			last: int64(be.Uint64(r[18:])), lso: int64(be.Uint64(r[26:]))}
		switch v := int16(be.Uint16(r)); {
		case v != txnIndexVersion:
			return out, corruptf(path, int64(i), "txn index entry version %d", v)
		case e.pid < 0 || e.first < 0 || e.first > e.last || e.lso < 0:
			return out, corruptf(path, int64(i), "txn index entry (producer %d, offsets %d..%d, lso %d) impossible", e.pid, e.first, e.last, e.lso)
		case e.last < base || e.last-base > 1<<31-1 || e.last <= prev:
			return out, corruptf(path, int64(i), "txn index entry marker offset %d outside segment %d or out of order", e.last, base)
		}
		prev = e.last
		out = append(out, e)
	}
	return out, nil
}

// check reports entries that failed to load, or whose markers lie at or
// past next (the next segment's base offset).
func (x *txnIndex) check(next int64) error {
	if x.bad != nil {
		return x.bad
	}
	if n := len(x.entries); n > 0 && x.entries[n-1].last >= next {
		return corruptf(x.path, int64((n-1)*txnEntrySize), "txn index marker offset %d past the segment end %d", x.entries[n-1].last, next)
	}
	return nil
}

// append adds an entry in memory (writePending writes it). newFile
// reports that the file does not exist yet: the directory will need an
// fsync once it is created.
func (x *txnIndex) append(e abortedTxn) (newFile bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.entries = append(x.entries, e)
	x.want = true
	return !x.exists
}

// pending reports whether the file is behind the entries or not fsynced.
func (x *txnIndex) pending() bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.needSync.Load() || x.written < len(x.entries) || (x.want && !x.exists)
}

// writePending creates the file if it must exist and writes the entries
// that are only in memory.
func (x *txnIndex) writePending() error {
	x.mu.RLock()
	todo := x.want && (!x.exists || x.written < len(x.entries))
	var tail []byte
	if todo {
		tail = make([]byte, (len(x.entries)-x.written)*txnEntrySize)
		for i, e := range x.entries[x.written:] {
			e.encode(tail[i*txnEntrySize:])
		}
	}
	n, exists := len(x.entries), x.exists
	x.mu.RUnlock()
	if !todo {
		return nil
	}
	flag := os.O_WRONLY | os.O_CREATE
	if !exists {
		flag |= os.O_TRUNC
	}
	f, err := files.openTransient(x.create, flag, 0o644)
	if err != nil {
		return fmt.Errorf("storage: open txn index %s: %w", x.path, err)
	}
	if err = injectedFault(OpWrite, x.path); err == nil {
		_, err = f.WriteAt(tail, int64(x.written*txnEntrySize))
	}
	if cerr := files.closeTransient(f); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("storage: write txn index %s: %w", x.path, err)
	}
	x.mu.Lock()
	x.exists, x.written = true, n
	x.mu.Unlock()
	x.needSync.Store(true)
	return nil
}

// hasFile reports whether the index has a file (entries, or an empty
// file left by truncation or the cleaner), or will have one once written.
func (x *txnIndex) hasFile() bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.exists || x.want
}

// ensureFile makes the next writePending create the file, empty if need
// be (the cleaner's output, which must have one when the segment it
// replaces at the same base had one).
func (x *txnIndex) ensureFile() {
	x.mu.Lock()
	x.want = true
	x.mu.Unlock()
}

// writeAll adds entries as the whole index (the cleaner's output).
func (x *txnIndex) writeAll(entries []abortedTxn) {
	for _, e := range entries {
		x.append(e)
	}
}

// truncateFrom drops the entries whose marker is at or after offset, in
// memory and in the file.
func (x *txnIndex) truncateFrom(offset int64) error {
	x.mu.RLock()
	n := len(x.entries)
	keep := n
	for keep > 0 && x.entries[keep-1].last >= offset {
		keep--
	}
	exists := x.exists
	x.mu.RUnlock()
	if keep == n && x.bad == nil {
		return nil
	}
	x.bad = nil // the file is cut to the entries kept, all checked
	x.mu.Lock()
	x.entries = x.entries[:keep:keep]
	x.mu.Unlock()
	if exists {
		x.written = min(x.written, keep)
		if err := os.Truncate(x.create, int64(x.written*txnEntrySize)); err != nil {
			return fmt.Errorf("storage: truncate txn index %s: %w", x.path, err)
		}
		x.needSync.Store(true)
	} else {
		x.written = 0
	}
	return nil
}

// collect appends the entries with last >= from and first < upTo to out;
// complete is set when an entry's last stable offset reaches upTo (no
// later entry can matter: Kafka's TxnIndexSearchResult.isComplete).
func (x *txnIndex) collect(out []abortedTxn, from, upTo int64) (_ []abortedTxn, complete bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for _, e := range x.entries {
		if e.last >= from && e.first < upTo {
			out = append(out, e)
		}
		if e.lso >= upTo {
			return out, true
		}
	}
	return out, false
}

// all returns a copy of the entries.
func (x *txnIndex) all() []abortedTxn {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return append([]abortedTxn(nil), x.entries...)
}

func (x *txnIndex) len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.entries)
}

// sync fsyncs the file if it changed since the last fsync. Pending
// entries must have been written first.
func (x *txnIndex) sync() error {
	if !x.needSync.Swap(false) {
		return nil
	}
	if err := fsyncPath(x.create); err != nil {
		x.needSync.Store(true)
		return fmt.Errorf("storage: fsync txn index %s: %w", x.path, err)
	}
	return nil
}
