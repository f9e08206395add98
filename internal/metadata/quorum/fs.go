package quorum

import (
	"io"
	"os"
)

// FS is the file system the quorum's storage uses. The operating system's
// is the default; the deterministic simulation (internal/sim) gives one
// that keeps only what was synced when it simulates a power cut, so the
// order of writes, fsyncs and renames in storage.go is checked, not
// assumed.
type FS interface {
	MkdirAll(dir string) error
	// OpenFile opens name with os.OpenFile's flags (O_RDWR, O_WRONLY,
	// O_CREATE, O_TRUNC are the ones used).
	OpenFile(name string, flag int) (File, error)
	// ReadFile returns the whole content of name; an error wrapping
	// os.ErrNotExist if there is no such file.
	ReadFile(name string) ([]byte, error)
	// Rename replaces to with from; durable once the directory is synced.
	Rename(from, to string) error
	// SyncDir makes the directory's entries (created and renamed files)
	// durable.
	SyncDir(dir string) error
}

// File is an open file of an FS.
type File interface {
	io.Reader
	io.Writer
	io.Seeker
	Truncate(size int64) error
	Sync() error
	Close() error
}

// osFS is the operating system's file system.
type osFS struct{}

func (osFS) MkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

func (osFS) OpenFile(name string, flag int) (File, error) { return os.OpenFile(name, flag, 0o644) }

func (osFS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

func (osFS) Rename(from, to string) error { return os.Rename(from, to) }

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
