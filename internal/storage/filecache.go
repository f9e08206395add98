package storage

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

// The process keeps a budget of file descriptors for segment files
// (log.max.open.files, Config.MaxOpenFiles): a segment's .log file is
// opened when someone needs it and stays open, counted in the budget,
// until the budget is needed for another file and nobody is using it.
// Index, txn index and key files are opened only to be written (their
// entries live in memory) and closed at once; they are counted in the
// budget while open. So descriptors are bounded by the budget, not by the
// number of partitions, and an idle partition holds at most one.
//
// Eviction is least recently used, approximated by the clock algorithm
// (second chance): every open file has a reference bit, set by each use
// and cleared by the sweeping hand, which evicts the first file it finds
// unused since its last pass and not in use now. A use of an open file is
// two atomic operations on the file itself (pin, unpin); only opening and
// evicting take the cache's mutex.

// ErrTooManyOpenFiles means a file needed by one operation could not be
// opened: every descriptor of the budget (log.max.open.files) is in use,
// or the process or system limit was reached even after closing idle
// files (EMFILE, ENFILE). Only that operation fails; the log is fine and
// the next operation succeeds once descriptors are released. The error
// wraps the cause (a syscall.Errno when the kernel refused).
var ErrTooManyOpenFiles = errors.New("storage: too many open files")

// errBudget is the cause when every descriptor of the budget is in use.
var errBudget = errors.New("every descriptor of log.max.open.files is in use")

// minOpenFiles is the smallest budget: one operation pins up to three
// files at once (the cleaner reads a segment while writing another and
// its index), and concurrent requests need a few more.
const minOpenFiles = 8

// openFilesShare is the share of RLIMIT_NOFILE (soft) a derived budget
// takes; the rest is left for connections, sockets between brokers, the
// metadata log and short-lived files (checkpoints, snapshots).
const openFilesShare = 60

// OpenFileStats describes the descriptor budget.
type OpenFileStats struct {
	// Limit is the budget in force: log.max.open.files, or the share of
	// the process's open-file limit it is derived from.
	Limit int
	// Derived says Limit was derived from RLIMIT_NOFILE (the setting is 0).
	Derived bool
	// ProcessLimit is RLIMIT_NOFILE's soft limit (0 if unknown).
	ProcessLimit uint64
	// Open is how many descriptors the cache holds now: segment files
	// open (in use or idle) and index files being written.
	Open int
	// Pinned is how many open segment files are in use (a reader's
	// Slice, an append, a flush, the cleaner).
	Pinned int
	// Opens and Evictions count segment file opens and closes of idle
	// files to make room, since the process started.
	Opens, Evictions int64
	// Refused counts opens refused with ErrTooManyOpenFiles.
	Refused int64
}

// OpenFiles reports the process-wide descriptor budget and its use.
func OpenFiles() OpenFileStats { return files.stats() }

// files is the process-wide cache: every Log of every Dir shares it, so
// several log dirs share one budget.
var files = newFileCache(deriveOpenFiles(0))

// deriveOpenFiles returns the budget for setting n: n itself when
// positive (at least minOpenFiles), else openFilesShare percent of the
// soft RLIMIT_NOFILE (Go raises it to the hard limit at start-up).
func deriveOpenFiles(n int) (limit int, derived bool, rlimit uint64) {
	rlimit = processFileLimit()
	if n <= 0 {
		derived = true
		n = 4096 // unknown limit
		if rlimit > 0 {
			n = int(min(rlimit, 1<<30) * openFilesShare / 100)
		}
	}
	return max(n, minOpenFiles), derived, rlimit
}

// fileCache counts the descriptors of segment files and evicts idle ones.
type fileCache struct {
	mu      sync.Mutex
	limit   int
	derived bool
	rlimit  uint64
	open    int        // descriptors counted: ring files, transient files, opens in progress
	ring    []*segFile // open segment files, in clock order
	hand    int

	opens, evictions, refused atomic.Int64
}

func newFileCache(limit int, derived bool, rlimit uint64) *fileCache {
	return &fileCache{limit: limit, derived: derived, rlimit: rlimit}
}

// setLimit changes the budget, closing idle files if it shrank.
func (c *fileCache) setLimit(limit int, derived bool, rlimit uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limit, c.derived, c.rlimit = limit, derived, rlimit
	for c.open > c.limit && c.evictLocked() {
	}
}

func (c *fileCache) stats() OpenFileStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	pinned := 0
	for _, s := range c.ring {
		if s.state.Load() > 0 {
			pinned++
		}
	}
	return OpenFileStats{Limit: c.limit, Derived: c.derived, ProcessLimit: c.rlimit, Open: c.open, Pinned: pinned,
		Opens: c.opens.Load(), Evictions: c.evictions.Load(), Refused: c.refused.Load()}
}

// reserve counts one more descriptor, evicting an idle file if the budget
// is spent. The caller opens the file, then calls unreserve if it could
// not or once it has closed it.
func (c *fileCache) reserve() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.open >= c.limit {
		if !c.evictLocked() {
			c.refused.Add(1)
			return errBudget
		}
	}
	c.open++
	return nil
}

func (c *fileCache) unreserve() {
	c.mu.Lock()
	c.open--
	c.mu.Unlock()
}

// openFile opens path within the budget. When the kernel refuses for
// want of descriptors (EMFILE, ENFILE), idle files are closed and the
// open is tried again a few times. Errors of that kind, and a spent
// budget, are ErrTooManyOpenFiles.
func (c *fileCache) openFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	if err := c.reserve(); err != nil {
		return nil, fmt.Errorf("%w: opening %s: %w", ErrTooManyOpenFiles, path, err)
	}
	for try := 0; ; try++ {
		f, err := os.OpenFile(path, flag, perm)
		if err == nil {
			return f, nil
		}
		if !isFileLimit(err) {
			c.unreserve()
			return nil, err
		}
		c.mu.Lock()
		evicted := c.evictLocked()
		c.mu.Unlock()
		if !evicted || try == 3 {
			c.unreserve()
			c.refused.Add(1)
			return nil, fmt.Errorf("%w: %w", ErrTooManyOpenFiles, err)
		}
	}
}

// openTransient opens a file for one short operation (writing index
// entries, an fsync); closeTransient closes it and gives back its slot.
func (c *fileCache) openTransient(path string, flag int, perm os.FileMode) (*os.File, error) {
	return c.openFile(path, flag, perm)
}

func (c *fileCache) closeTransient(f *os.File) error {
	err := f.Close()
	c.unreserve()
	return err
}

// isFileLimit reports whether err is the kernel running out of
// descriptors (for this process or the whole system).
func isFileLimit(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// evictLocked closes one open segment file that is not in use and was
// not used since the hand last passed it, and reports whether it found
// one. c.mu must be held.
func (c *fileCache) evictLocked() bool {
	for i, n := 0, 2*len(c.ring); i < n && len(c.ring) > 0; i++ {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		s := c.ring[c.hand]
		if s.state.Load() != 0 {
			c.hand++
			continue
		}
		if s.used.Load() && !s.dead.Load() {
			s.used.Store(false)
			c.hand++
			continue
		}
		if !s.state.CompareAndSwap(0, fileClosing) {
			c.hand++
			continue
		}
		c.closeLocked(s)
		c.evictions.Add(1)
		return true
	}
	return false
}

// closeLocked closes s, which the caller moved to fileClosing, and takes
// it out of the ring. c.mu must be held.
func (c *fileCache) closeLocked(s *segFile) {
	last := len(c.ring) - 1
	c.ring[s.slot] = c.ring[last]
	c.ring[s.slot].slot = s.slot
	c.ring[last] = nil
	c.ring = c.ring[:last]
	s.slot = -1
	f := s.f
	s.f = nil
	f.Close()
	c.open--
	s.state.Store(fileClosed)
}

// segFile states besides n >= 0 (open, n users).
const (
	fileClosed  = -1 // no descriptor
	fileClosing = -2 // being closed; an opener waits
)

// segFile is a segment's .log file. It is opened through the cache when
// someone needs it (acquire) and stays open while anyone uses it; once
// unused it may be closed to make room, and the next acquire opens it
// again. A Slice holds a use until it is released, so a reader can keep
// sending from a segment that retention or truncation has unlinked, and
// its descriptor number is never reused under it.
//
// After kill (the Log dropped the segment) the file is closed as soon as
// its last user releases it, and it is never opened again.
type segFile struct {
	cache *fileCache

	mu   sync.Mutex // serializes opening; guards path
	path string
	flag int

	// f is valid while state >= 0: written before state leaves
	// fileClosed (with c.mu held) and cleared once it is fileClosing.
	f     *os.File
	state atomic.Int32 // >= 0: open with that many users; fileClosed; fileClosing
	used  atomic.Bool  // the clock's reference bit
	dead  atomic.Bool  // killed: never opened again
	slot  int          // index in cache.ring, -1 when not there; guarded by cache.mu
}

// newSegFile describes a file that is not open yet.
func newSegFile(c *fileCache, path string) *segFile {
	s := &segFile{cache: c, path: path, flag: os.O_RDWR, slot: -1}
	s.state.Store(fileClosed)
	return s
}

// createSegFile creates (or truncates) the file at path and returns it
// open, with one use held by the caller.
func createSegFile(c *fileCache, path string) (*segFile, error) {
	s := newSegFile(c, path)
	f, err := c.openFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	c.opens.Add(1)
	s.installOpen(f)
	return s, nil
}

// installOpen publishes a freshly opened descriptor with one use.
func (s *segFile) installOpen(f *os.File) {
	c := s.cache
	c.mu.Lock()
	s.f = f
	s.used.Store(true)
	s.slot = len(c.ring)
	c.ring = append(c.ring, s)
	s.state.Store(1)
	c.mu.Unlock()
}

// acquire returns the open file with a use held, opening it if needed:
// release it once done. It fails with errSegmentGone once the file is
// killed and closed, and with ErrTooManyOpenFiles when it cannot be
// opened for want of descriptors.
func (s *segFile) acquire() (*os.File, error) {
	for {
		r := s.state.Load()
		if r < 0 {
			return s.open()
		}
		if s.state.CompareAndSwap(r, r+1) {
			if !s.used.Load() {
				s.used.Store(true)
			}
			return s.f, nil
		}
	}
}

func (s *segFile) open() (*os.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		switch r := s.state.Load(); {
		case r >= 0:
			if s.state.CompareAndSwap(r, r+1) {
				s.used.Store(true)
				return s.f, nil
			}
			continue
		case r == fileClosing:
			// An eviction is closing it this moment.
			runtime.Gosched()
			continue
		}
		if s.dead.Load() {
			return nil, errSegmentGone
		}
		f, err := s.cache.openFile(s.path, s.flag, 0)
		if err != nil {
			return nil, err
		}
		s.cache.opens.Add(1)
		s.installOpen(f)
		return f, nil
	}
}

// release drops a use taken by acquire (or createSegFile).
func (s *segFile) release() {
	if s.state.Add(-1) == 0 && s.dead.Load() {
		s.closeIfIdle()
	}
}

// kill marks the file dropped by its Log: it is closed now if unused, or
// when its last user releases it.
//
// Once kill returns no open is under way or will start, so the caller may
// rename or unlink the file: a reader that finds it closed gets
// errSegmentGone, never a missing file.
func (s *segFile) kill() {
	s.mu.Lock()
	s.dead.Store(true)
	s.mu.Unlock()
	s.closeIfIdle()
}

func (s *segFile) closeIfIdle() {
	if s.state.CompareAndSwap(0, fileClosing) {
		s.cache.mu.Lock()
		s.cache.closeLocked(s)
		s.cache.mu.Unlock()
	}
}

// inUse returns the open file of a caller that holds a use.
func (s *segFile) inUse() *os.File { return s.f }

// rename records the file's new name (a cleaned segment swapped in).
// The file must be in use by the caller, so it is not reopened meanwhile.
func (s *segFile) rename(path string) {
	s.mu.Lock()
	s.path = path
	s.mu.Unlock()
}

// readAt reads len(b) bytes at pos, opening the file if needed.
func (s *segFile) readAt(b []byte, pos int64) error {
	f, err := s.acquire()
	if err != nil {
		return err
	}
	defer s.release()
	_, err = f.ReadAt(b, pos)
	return err
}
