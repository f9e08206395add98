package storage

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrNoSpace means the log directory is short of space: its free bytes
// (or inodes) are below log.dir.min.free.bytes, or the file system said
// ENOSPC. Only the operation that needed the space fails; the log is
// unchanged and takes writes again once space returns
// (KAFKA_STORAGE_ERROR at the broker's edge).
var ErrNoSpace = errors.New("storage: log dir short of space")

// Space guard defaults.
const (
	// defaultMinFreeCap and defaultMinFreeShare make the automatic
	// threshold: 5% of the file system, at most 1 GiB.
	defaultMinFreeCap   = 1 << 30
	defaultMinFreeShare = 20 // 1/20
	// minFreeInodes is the inode floor: a partition takes about five.
	minFreeInodes = 1024
	// spacePoll is how often the guard reads the file system's figures.
	spacePoll = time.Second
	// partitionBytes and partitionInodes are what an empty partition
	// takes: its directory and partition.metadata (a block each), its
	// empty segment and index files (inodes).
	partitionBytes  = 12 << 10
	partitionInodes = 6
)

// SpaceInfo is the log directory's space as the guard last read it.
type SpaceInfo struct {
	Total, Free int64 // bytes of the file system, and free for this process
	FreeInodes  int64 // -1 when the file system does not count them
	MinFree     int64 // the threshold in force (0: the guard is off)
	Low         bool  // writes are refused until Free is back above MinFree
}

// spaceGuard watches the free space of a log directory and refuses writes
// while it is below the threshold, so a full disk is met with an error
// for the writer instead of a torn write that fails the log (Kafka takes
// the whole log dir offline until a restart; Redpanda refuses writes below
// storage_min_free_bytes, which is what this does).
type spaceGuard struct {
	path    string
	setting atomic.Int64 // log.dir.min.free.bytes: <0 automatic, 0 off
	low     atomic.Bool
	// budget is how many bytes may be written before the figures are
	// read again ahead of the next tick: half the margin above the
	// threshold at the last reading, so a fast writer cannot fill the disk
	// between two ticks. poke asks the guard's goroutine to read them.
	budget atomic.Int64
	poke   chan struct{}
	mu     sync.Mutex // guards info, and serializes reads of the file system
	info   SpaceInfo
	stop   chan struct{}
	done   chan struct{}
}

func newSpaceGuard(path string, setting int64) *spaceGuard {
	g := &spaceGuard{path: path, stop: make(chan struct{}), done: make(chan struct{}), poke: make(chan struct{}, 1)}
	g.setting.Store(setting)
	g.poll()
	go g.run()
	return g
}

func (g *spaceGuard) run() {
	defer close(g.done)
	t := time.NewTicker(spacePoll)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
			g.poll()
		case <-g.poke:
			g.poll()
		}
	}
}

func (g *spaceGuard) close() {
	close(g.stop)
	<-g.done
}

// poll reads the file system's figures and sets low.
func (g *spaceGuard) poll() SpaceInfo {
	g.mu.Lock()
	defer g.mu.Unlock()
	var st syscall.Statfs_t
	if err := syscall.Statfs(g.path, &st); err != nil {
		return g.info // keep the last reading
	}
	info := SpaceInfo{
		Total:      int64(st.Blocks) * st.Bsize,
		Free:       int64(st.Bavail) * st.Bsize,
		FreeInodes: -1,
	}
	if st.Files > 0 {
		info.FreeInodes = int64(st.Ffree)
	}
	setting := g.setting.Load()
	info.MinFree = setting
	if setting < 0 {
		info.MinFree = min(int64(defaultMinFreeCap), info.Total/defaultMinFreeShare)
	}
	info.Low = setting != 0 && (info.Free < info.MinFree || (info.FreeInodes >= 0 && info.FreeInodes < minFreeInodes))
	g.low.Store(info.Low)
	g.budget.Store(max(info.Free-info.MinFree, 0) / 2)
	g.info = info
	return info
}

// wrote counts n bytes written; past the budget it asks for a reading.
func (g *spaceGuard) wrote(n int64) {
	if g == nil || g.budget.Add(-n) >= 0 {
		return
	}
	select {
	case g.poke <- struct{}{}:
	default:
	}
}

// check returns ErrNoSpace, with the figures, while space is low.
func (g *spaceGuard) check() error {
	if g == nil || !g.low.Load() {
		return nil
	}
	g.mu.Lock()
	info := g.info
	g.mu.Unlock()
	return info.err(g.path)
}

func (info SpaceInfo) err(path string) error {
	if info.FreeInodes >= 0 && info.FreeInodes < minFreeInodes {
		return fmt.Errorf("%w: %s has %d free inodes", ErrNoSpace, path, info.FreeInodes)
	}
	return fmt.Errorf("%w: %s has %d bytes free, below log.dir.min.free.bytes (%d)", ErrNoSpace, path, info.Free, info.MinFree)
}

// Space reports the log directory's space (read now).
func (d *Dir) Space() SpaceInfo {
	if d.space == nil {
		return SpaceInfo{FreeInodes: -1}
	}
	return d.space.poll()
}

// CheckSpaceFor returns ErrNoSpace when hosting n more partitions would
// take the directory below its free-space threshold (or its inodes below
// the floor): CreateTopics and CreatePartitions refuse such a request
// rather than create partitions that cannot be hosted.
func (d *Dir) CheckSpaceFor(n int) error {
	if d.space == nil || d.space.setting.Load() == 0 || n <= 0 {
		return nil
	}
	info := d.space.poll()
	needBytes, needInodes := int64(n)*partitionBytes, int64(n)*partitionInodes
	if info.FreeInodes >= 0 && info.FreeInodes-needInodes < minFreeInodes {
		return fmt.Errorf("%w: %d partitions need about %d inodes, %s has %d free", ErrNoSpace, n, needInodes, d.path, info.FreeInodes)
	}
	if info.Free-needBytes < info.MinFree {
		return fmt.Errorf("%w: %d partitions need about %d bytes, %s has %d free and keeps log.dir.min.free.bytes (%d)",
			ErrNoSpace, n, needBytes, d.path, info.Free, info.MinFree)
	}
	return nil
}

// SetMinFreeBytes changes the threshold (log.dir.min.free.bytes) and
// reads the file system's figures again.
func (d *Dir) SetMinFreeBytes(v int64) {
	if d.space != nil {
		d.space.setting.Store(v)
		d.space.poll()
	}
}

// noSpace wraps an ENOSPC (or EDQUOT) from the file system in ErrNoSpace.
func noSpace(err error) error {
	if err != nil && (errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)) && !errors.Is(err, ErrNoSpace) {
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return err
}
