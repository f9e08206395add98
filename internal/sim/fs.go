package sim

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"

	"github.com/samsa-streaming/samsa/internal/metadata/quorum"
)

// errCrashed is what every operation of a file system returns once the
// simulated process or machine has died under it.
var errCrashed = errors.New("sim: the process crashed during this operation")

// memFS is an in-memory file system that keeps two states: what the
// process sees (volatile) and what survives a power cut (durable). A
// file's content is durable up to its last Sync; a directory entry
// (a created or renamed file) is durable once its directory is synced.
// This is the strict reading of POSIX: it assumes nothing an fsync does
// not promise.
//
// It can also be armed to crash: the n-th mutating operation from now
// (write, sync, truncate, rename, directory sync, create) fails, a write
// keeping a random prefix of its bytes (a torn write), and every later
// operation fails too, as if the process had died there.
type memFS struct {
	rng *rand.Rand
	// volatile and durable map a path to its file; a file renamed or
	// created since the last directory sync is in volatile only.
	volatile map[string]*inode
	durable  map[string]*inode
	// crashIn counts mutating operations down to a crash (0: not armed).
	crashIn int
	crashed bool
	// ops counts operations, for the figures.
	ops int
}

type inode struct {
	data   []byte // what the process sees
	synced []byte // what survives a power cut
}

func newMemFS(rng *rand.Rand) *memFS {
	return &memFS{rng: rng, volatile: map[string]*inode{}, durable: map[string]*inode{}}
}

// arm makes the n-th mutating operation from now crash the process.
func (m *memFS) arm(n int) { m.crashIn = n }

// restart is the process starting again after a crash. With powerCut, the
// machine lost power too: only what was synced remains.
func (m *memFS) restart(powerCut bool) {
	m.crashIn, m.crashed = 0, false
	if !powerCut {
		return
	}
	m.volatile = map[string]*inode{}
	for name, ino := range m.durable {
		m.volatile[name] = ino
	}
	for _, ino := range m.inodes() {
		ino.data = append([]byte(nil), ino.synced...)
	}
}

// inodes lists every file reachable from either state, once.
func (m *memFS) inodes() []*inode {
	seen := map[*inode]bool{}
	var out []*inode
	for _, dir := range []map[string]*inode{m.volatile, m.durable} {
		names := make([]string, 0, len(dir))
		for n := range dir {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if ino := dir[n]; !seen[ino] {
				seen[ino] = true
				out = append(out, ino)
			}
		}
	}
	return out
}

// mutate counts a mutating operation and reports whether it fails:
// because the process died before it (dead) or dies in it (now).
func (m *memFS) mutate() (fail, now bool) {
	m.ops++
	if m.crashed {
		return true, false
	}
	if m.crashIn > 0 {
		m.crashIn--
		if m.crashIn == 0 {
			m.crashed = true
			return true, true
		}
	}
	return false, false
}

func (m *memFS) MkdirAll(string) error {
	if m.crashed {
		return errCrashed
	}
	return nil
}

func (m *memFS) OpenFile(name string, flag int) (quorum.File, error) {
	name = filepath.Clean(name)
	ino := m.volatile[name]
	if flag&(os.O_CREATE|os.O_TRUNC) != 0 {
		if fail, _ := m.mutate(); fail {
			return nil, errCrashed
		}
	}
	if m.crashed {
		return nil, errCrashed
	}
	if ino == nil {
		if flag&os.O_CREATE == 0 {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		ino = &inode{}
		m.volatile[name] = ino
	}
	if flag&os.O_TRUNC != 0 {
		ino.data = nil
	}
	return &memFile{fs: m, ino: ino}, nil
}

func (m *memFS) ReadFile(name string) ([]byte, error) {
	if m.crashed {
		return nil, errCrashed
	}
	ino := m.volatile[filepath.Clean(name)]
	if ino == nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return append([]byte(nil), ino.data...), nil
}

func (m *memFS) Rename(from, to string) error {
	if fail, _ := m.mutate(); fail {
		return errCrashed
	}
	from, to = filepath.Clean(from), filepath.Clean(to)
	ino := m.volatile[from]
	if ino == nil {
		return &fs.PathError{Op: "rename", Path: from, Err: fs.ErrNotExist}
	}
	delete(m.volatile, from)
	m.volatile[to] = ino
	return nil
}

func (m *memFS) SyncDir(dir string) error {
	if fail, _ := m.mutate(); fail {
		return errCrashed
	}
	dir = filepath.Clean(dir)
	for name := range m.durable {
		if filepath.Dir(name) == dir {
			delete(m.durable, name)
		}
	}
	for name, ino := range m.volatile {
		if filepath.Dir(name) == dir {
			m.durable[name] = ino
		}
	}
	return nil
}

// memFile is an open file of a memFS.
type memFile struct {
	fs  *memFS
	ino *inode
	pos int64
}

func (f *memFile) Read(p []byte) (int, error) {
	if f.fs.crashed {
		return 0, errCrashed
	}
	if f.pos >= int64(len(f.ino.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.ino.data[f.pos:])
	f.pos += int64(n)
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	if fail, now := f.fs.mutate(); fail {
		if now && len(p) > 0 {
			// The write the process died in: a random prefix of it made
			// it to the page cache (a torn write), unsynced.
			f.writeAt(p[:f.fs.rng.IntN(len(p))])
		}
		return 0, errCrashed
	}
	f.writeAt(p)
	return len(p), nil
}

func (f *memFile) writeAt(p []byte) {
	if end := f.pos + int64(len(p)); end > int64(len(f.ino.data)) {
		f.ino.data = append(f.ino.data, make([]byte, end-int64(len(f.ino.data)))...)
	}
	copy(f.ino.data[f.pos:], p)
	f.pos += int64(len(p))
}

func (f *memFile) Seek(offset int64, whence int) (int64, error) {
	if f.fs.crashed {
		return 0, errCrashed
	}
	switch whence {
	case io.SeekStart:
		f.pos = offset
	case io.SeekCurrent:
		f.pos += offset
	case io.SeekEnd:
		f.pos = int64(len(f.ino.data)) + offset
	default:
		return 0, fmt.Errorf("sim: seek whence %d", whence)
	}
	return f.pos, nil
}

func (f *memFile) Truncate(size int64) error {
	if fail, _ := f.fs.mutate(); fail {
		return errCrashed
	}
	if size < int64(len(f.ino.data)) {
		f.ino.data = f.ino.data[:size]
	} else {
		f.ino.data = append(f.ino.data, make([]byte, size-int64(len(f.ino.data)))...)
	}
	return nil
}

func (f *memFile) Sync() error {
	if fail, _ := f.fs.mutate(); fail {
		return errCrashed
	}
	f.ino.synced = append([]byte(nil), f.ino.data...)
	return nil
}

func (f *memFile) Close() error { return nil }
