package sim

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"testing"
)

// The simulated disk keeps, across a power cut, exactly what was synced:
// file contents up to their last Sync, directory entries up to their
// directory's last sync; a crash inside a write keeps a prefix of it.
func TestMemFSPowerCut(t *testing.T) {
	m := newMemFS(rand.New(rand.NewPCG(1, 2)))
	f, _ := m.OpenFile("/d/log", os.O_RDWR|os.O_CREATE)
	f.Write([]byte("synced"))
	f.Sync()
	f.Write([]byte("+lost"))
	m.restart(true)
	if _, err := m.ReadFile("/d/log"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a file whose directory was never synced survived a power cut: %v", err)
	}

	f, _ = m.OpenFile("/d/log", os.O_RDWR|os.O_CREATE)
	m.SyncDir("/d")
	f.Write([]byte("synced"))
	f.Sync()
	f.Write([]byte("+lost"))
	m.restart(false)
	if b, _ := m.ReadFile("/d/log"); string(b) != "synced+lost" {
		t.Fatalf("after a process crash %q, want the page cache kept", b)
	}
	m.restart(true)
	if b, _ := m.ReadFile("/d/log"); string(b) != "synced" {
		t.Fatalf("after a power cut %q, want %q", b, "synced")
	}

	// A rename is durable only with its directory synced.
	g, _ := m.OpenFile("/d/log.tmp", os.O_CREATE|os.O_TRUNC|os.O_WRONLY)
	g.Write([]byte("new"))
	g.Sync()
	m.Rename("/d/log.tmp", "/d/log")
	m.restart(true)
	if b, _ := m.ReadFile("/d/log"); string(b) != "synced" {
		t.Fatalf("an unsynced rename survived a power cut: %q", b)
	}

	// A crash in the second write from now keeps a prefix of it, and
	// everything after fails.
	f, _ = m.OpenFile("/d/log", os.O_RDWR)
	f.Seek(0, 2)
	m.arm(2)
	if _, err := f.Write([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("0123456789")); !errors.Is(err, errCrashed) {
		t.Fatalf("armed write: %v", err)
	}
	if err := f.Sync(); !errors.Is(err, errCrashed) {
		t.Fatalf("sync after the crash: %v", err)
	}
	m.restart(false)
	b, _ := m.ReadFile("/d/log")
	if len(b) < len("syncedok") || len(b) >= len("syncedok0123456789") || string(b[:8]) != "syncedok" {
		t.Fatalf("torn write left %q", b)
	}
}
