package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"golang.org/x/sys/unix"
)

// dirNames is one listing of a partition directory, sorted. Opening a log
// takes it once and answers every "which files are there" question from
// it (stray files, interrupted swaps, segments, snapshots, optional
// files), instead of reading the directory once per question: with
// 100,000 partitions the repeated listings were half the CPU time of a
// restart.
type dirNames []string

// listNames reads the names in dir without stat-ing them.
func listNames(dir string) (dirNames, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: list %s: %w", dir, err)
	}
	return readNames(f, dir)
}

func readNames(f *os.File, dir string) (dirNames, error) {
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("storage: list %s: %w", dir, err)
	}
	sort.Strings(names)
	return names, nil
}

// has reports whether name is in the listing.
func (n dirNames) has(name string) bool {
	_, ok := slices.BinarySearch(n, name)
	return ok
}

// offsets returns the offsets of the "<20 digits><suffix>" names,
// ascending (zero-padded names sort as their offsets do).
func (n dirNames) offsets(suffix string) []int64 {
	var out []int64
	for _, name := range n {
		if off, ok := parseOffsetName(name, suffix); ok {
			out = append(out, off)
		}
	}
	return out
}

// without returns the listing less the names drop reports.
func (n dirNames) without(drop func(string) bool) dirNames {
	return slices.DeleteFunc(n, drop)
}

// partDir is a partition directory held open while its log opens: its
// files are listed, stat-ed and read relative to the directory's
// descriptor with plain system calls, so no path is walked again and no
// *os.File is made for a file read once (for 100,000 partitions, path
// lookups and os.File set-up were a third of a restart's CPU time).
type partDir struct {
	path string
	fd   int
}

func openPartDir(path string) (*partDir, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &partDir{path: path, fd: fd}, nil
}

func (d *partDir) close() { unix.Close(d.fd) }

// names lists the directory, sorted.
func (d *partDir) names() (dirNames, error) {
	if _, err := unix.Seek(d.fd, 0, 0); err != nil {
		return nil, fmt.Errorf("storage: list %s: %w", d.path, err)
	}
	var (
		buf   [8192]byte
		names []string
	)
	for {
		n, err := unix.Getdents(d.fd, buf[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("storage: list %s: %w", d.path, err)
		}
		if n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	sort.Strings(names)
	return names, nil
}

// stat returns the size of the regular file name (an error for anything
// else, wrapping os.ErrNotExist when it is missing).
func (d *partDir) size(name string) (int64, error) {
	var st unix.Stat_t
	for {
		err := unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, &os.PathError{Op: "stat", Path: filepath.Join(d.path, name), Err: err}
		}
		break
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return 0, &os.PathError{Op: "stat", Path: filepath.Join(d.path, name), Err: errors.New("not a regular file")}
	}
	return st.Size, nil
}

// readFile reads the regular file name, refusing one over limit bytes.
func (d *partDir) readFile(name string, limit int64) ([]byte, error) {
	path := filepath.Join(d.path, name)
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, &os.PathError{Op: "read", Path: path, Err: errors.New("not a regular file")}
	}
	if st.Size > limit {
		return nil, corruptf(path, 0, "%d bytes, more than the %d allowed", st.Size, limit)
	}
	b := make([]byte, st.Size)
	for off := 0; off < len(b); {
		n, err := unix.Pread(fd, b[off:], int64(off))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return nil, &os.PathError{Op: "read", Path: path, Err: io.ErrUnexpectedEOF}
		}
		off += n
	}
	return b, nil
}
