package storage

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
)

// Index entry sizes, as in Kafka's OffsetIndex and TimeIndex.
const (
	offsetEntrySize = 8  // int32 relative offset, int32 file position
	timeEntrySize   = 12 // int64 timestamp, int32 relative offset
)

// maxIndexFileBytes bounds what is read from an index file at open. Kafka's
// own limit on log.index.size.max.bytes is far below it; a larger file is
// treated as untrustworthy and rebuilt from the log.
const maxIndexFileBytes = 1 << 30

// pendingIndexBytes is how many unwritten index bytes may pile up in memory
// before they are written to the file even without a flush.
const pendingIndexBytes = 4096

// indexFile is an append-only file of fixed-size big-endian entries with a
// full in-memory copy. Lookups use the copy (no syscalls, no mmap); new
// entries reach the file lazily: when pendingIndexBytes accumulate, and
// always before the file is fsynced, rolled or closed. The file is never
// preallocated, so it always holds exactly a prefix of the entries. It
// holds no descriptor: each write or fsync opens the file (counted in the
// descriptor budget) and closes it.
//
// Writers (append, truncate, writePending) are serialized by the owning
// Log's mutex; mu only keeps concurrent readers off buf while it changes.
type indexFile struct {
	path       string // the file's name once the segment is live
	file       string // where the file is now (path, or a cleaner's .cleaned name); writer-only
	entrySize  int
	maxEntries int

	mu       sync.RWMutex // guards buf for readers
	buf      []byte       // every entry, the file's content followed by the pending tail
	written  int          // length of the prefix of buf already written to the file; writer-only
	needSync atomic.Bool  // written or truncated since the last fsync
	// malformed says the file holds bytes buf does not (its shape was
	// bad at open): reset must truncate it. writer-only
	malformed bool
}

// openIndexFile opens or creates an index file and loads it. ok is false
// when the content cannot be trusted by its shape alone (size not a multiple
// of the entry size, or absurdly large); the caller then rebuilds it.
//
// root is nil for a new file (the caller just made the segment); else it
// is the existing segment's directory, and an empty file, the index of
// most idle partitions, is known from one stat there and never opened.
func openIndexFile(path string, entrySize int, maxBytes int32, root *partDir) (idx *indexFile, ok bool, err error) {
	idx = &indexFile{path: path, file: path, entrySize: entrySize, maxEntries: int(maxBytes) / entrySize}
	if idx.maxEntries < 1 {
		idx.maxEntries = 1
	}
	if root != nil {
		if size, err := root.size(filepath.Base(path)); err == nil && size == 0 {
			return idx, true, nil
		}
	}
	f, err := files.openTransient(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("storage: open index: %w", err)
	}
	defer files.closeTransient(f)
	st, err := f.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("storage: stat index: %w", err)
	}
	size := st.Size()
	if size%int64(entrySize) != 0 || size > maxIndexFileBytes {
		idx.malformed = true
		return idx, false, nil
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, size), buf); err != nil {
		return nil, false, fmt.Errorf("storage: read index %s: %w", path, err)
	}
	idx.buf, idx.written = buf, len(buf)
	return idx, true, nil
}

func (x *indexFile) entries() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.buf) / x.entrySize
}

// full reports whether another entry would exceed log.index.size.max.bytes.
func (x *indexFile) full() bool { return len(x.buf)/x.entrySize >= x.maxEntries }

// appendEntry adds one encoded entry in memory; writePending writes it.
func (x *indexFile) appendEntry(e []byte) {
	x.mu.Lock()
	x.buf = append(x.buf, e...)
	x.mu.Unlock()
}

// pendingFull reports whether enough entries wait to be worth a write
// before the next flush.
func (x *indexFile) pendingFull() bool { return len(x.buf)-x.written >= pendingIndexBytes }

// writePending writes the entries that are only in memory.
func (x *indexFile) writePending() error {
	if x.written == len(x.buf) {
		return nil
	}
	f, err := files.openTransient(x.file, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("storage: open index %s: %w", x.path, err)
	}
	if err = injectedFault(OpWrite, x.path); err == nil {
		_, err = f.WriteAt(x.buf[x.written:], int64(x.written))
	}
	if cerr := files.closeTransient(f); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("storage: write index %s: %w", x.path, err)
	}
	x.written = len(x.buf)
	x.needSync.Store(true)
	return nil
}

// truncateEntries keeps the first n entries, in memory and on disk.
func (x *indexFile) truncateEntries(n int) error {
	keep := n * x.entrySize
	if keep >= len(x.buf) {
		return nil
	}
	x.mu.Lock()
	x.buf = x.buf[:keep]
	x.mu.Unlock()
	if x.written > keep {
		if err := os.Truncate(x.file, int64(keep)); err != nil {
			return fmt.Errorf("storage: truncate index %s: %w", x.path, err)
		}
		x.written = keep
		x.needSync.Store(true)
	}
	return nil
}

// empty reports whether the index and its file hold no entry.
func (x *indexFile) empty() bool { return len(x.buf) == 0 && x.written == 0 && !x.malformed }

// reset empties the index so it can be rebuilt.
func (x *indexFile) reset() error {
	if x.empty() {
		return nil
	}
	x.mu.Lock()
	x.buf = x.buf[:0]
	x.mu.Unlock()
	x.written = 0
	if err := os.Truncate(x.file, 0); err != nil {
		return fmt.Errorf("storage: truncate index %s: %w", x.path, err)
	}
	x.malformed = false
	x.needSync.Store(true)
	return nil
}

// sync fsyncs the file if it changed since the last fsync.
func (x *indexFile) sync() error {
	if !x.needSync.Swap(false) {
		return nil
	}
	if err := fsyncPath(x.file); err != nil {
		x.needSync.Store(true)
		return fmt.Errorf("storage: fsync index %s: %w", x.path, err)
	}
	return nil
}

// fsyncPath opens a file (within the descriptor budget), fsyncs and
// closes it. Pages written through another descriptor are covered: an
// fsync writes back the file, not the descriptor.
func fsyncPath(path string) error {
	if err := injectedFault(OpSync, path); err != nil {
		return err
	}
	f, err := files.openTransient(path, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := files.closeTransient(f); err == nil {
		err = cerr
	}
	return err
}

// offsetIndex is a segment's .index: sparse entries mapping the last offset
// of a batch (relative to the segment base) to the file position where that
// batch starts. Kafka's OffsetIndex uses the same layout.
type offsetIndex struct {
	*indexFile
	base    int64
	scratch [offsetEntrySize]byte // encode buffer, so appends do not allocate
}

func (x *offsetIndex) entryAt(i int) (offset int64, pos int64) {
	e := x.buf[i*offsetEntrySize:]
	return x.base + int64(int32(binary.BigEndian.Uint32(e))), int64(int32(binary.BigEndian.Uint32(e[4:])))
}

// lookup returns the last entry whose offset is <= target, or (base, 0) when
// there is none. Every batch from pos onwards has a last offset >= the
// entry's offset, so a forward walk from pos finds target.
func (x *offsetIndex) lookup(target int64) (offset int64, pos int64) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := len(x.buf) / offsetEntrySize
	i := sort.Search(n, func(i int) bool { off, _ := x.entryAt(i); return off > target }) - 1
	if i < 0 {
		return x.base, 0
	}
	return x.entryAt(i)
}

// lookupPos returns the number of entries whose position is < pos, which is
// how many survive a truncation of the log at pos.
func (x *offsetIndex) countBefore(pos int64) int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := len(x.buf) / offsetEntrySize
	return sort.Search(n, func(i int) bool { _, p := x.entryAt(i); return p >= pos })
}

func (x *offsetIndex) last() (offset int64, pos int64, ok bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := len(x.buf) / offsetEntrySize
	if n == 0 {
		return 0, 0, false
	}
	offset, pos = x.entryAt(n - 1)
	return offset, pos, true
}

func (x *offsetIndex) add(offset int64, pos int64) {
	binary.BigEndian.PutUint32(x.scratch[0:], uint32(int32(offset-x.base)))
	binary.BigEndian.PutUint32(x.scratch[4:], uint32(int32(pos)))
	x.appendEntry(x.scratch[:])
}

// check verifies what can be verified cheaply: offsets strictly increase,
// positions increase and lie inside a log of logSize bytes.
func (x *offsetIndex) check(logSize int64) error {
	n := len(x.buf) / offsetEntrySize
	prevOff, prevPos := x.base-1, int64(-1)
	for i := 0; i < n; i++ {
		off, pos := x.entryAt(i)
		if off <= prevOff || pos <= prevPos || pos >= logSize {
			return corruptf(x.path, int64(i*offsetEntrySize), "entry %d (offset %d, position %d) out of order or past the log end %d", i, off, pos, logSize)
		}
		prevOff, prevPos = off, pos
	}
	return nil
}
