package lazyfs

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// mount mounts a fresh backing directory; it fails the test when FUSE
// cannot be mounted (the fault campaigns need it).
func mount(t *testing.T) (*FS, string) {
	t.Helper()
	dir := t.TempDir()
	back, mnt := filepath.Join(dir, "disk"), filepath.Join(dir, "mnt")
	for _, d := range []string{back, mnt} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f, err := Mount(back, mnt)
	if err != nil {
		t.Fatalf("mounting lazyfs (needs /dev/fuse and root): %v", err)
	}
	t.Cleanup(func() { f.Cut() })
	return f, mnt
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCutKeepsWhatWasSynced: data survives a cut through its file's
// fsync only; names survive at once.
func TestCutKeepsWhatWasSynced(t *testing.T) {
	f, mnt := mount(t)
	a, err := os.Create(filepath.Join(mnt, "a"))
	if err != nil {
		t.Fatal(err)
	}
	a.WriteString("synced")
	if err := a.Sync(); err != nil {
		t.Fatal(err)
	}
	a.WriteString("+lost")
	a.Close()
	if got := read(t, filepath.Join(mnt, "a")); got != "synced+lost" {
		t.Fatalf("before the cut the mount shows %q", got)
	}
	// A file written, closed and renamed over another without fsync:
	// the rename survives, its data does not.
	os.WriteFile(filepath.Join(mnt, "tmp"), []byte("never synced"), 0o644)
	if err := os.Rename(filepath.Join(mnt, "tmp"), filepath.Join(mnt, "b")); err != nil {
		t.Fatal(err)
	}
	// A truncation not synced is lost.
	c, _ := os.Create(filepath.Join(mnt, "c"))
	c.WriteString("0123456789")
	c.Sync()
	c.Truncate(4)
	c.Close()
	if got := read(t, filepath.Join(mnt, "c")); got != "0123" {
		t.Fatalf("truncated file shows %q", got)
	}
	if err := f.Cut(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"a": "synced", "b": "", "c": "0123456789"} {
		if got := read(t, filepath.Join(f.Backing, name)); got != want {
			t.Errorf("after the cut %s holds %q, want %q", name, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(f.Backing, "tmp")); !os.IsNotExist(err) {
		t.Errorf("the renamed file's old name survived: %v", err)
	}
	if st := f.Stats(); st.Dropped == 0 || st.Synced == 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestUnmountWritesEverything: a clean unmount loses nothing.
func TestUnmountWritesEverything(t *testing.T) {
	f, mnt := mount(t)
	os.WriteFile(filepath.Join(mnt, "a"), []byte("kept"), 0o644)
	if err := f.Unmount(); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(f.Backing, "a")); got != "kept" {
		t.Fatalf("after unmount a holds %q", got)
	}
}

// TestMatchesModel runs random writes, truncations, fsyncs, renames and
// removes through the mount and through a model of the same files, and
// checks that reads through the mount show the model's content and that
// a cut leaves the content of each file's last fsync.
func TestMatchesModel(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			f, mnt := mount(t)
			type model struct{ now, synced []byte }
			files := map[string]*model{}
			open := map[string]*os.File{}
			names := []string{"f0", "f1", "f2", "f3"}
			get := func(name string) *os.File {
				if h := open[name]; h != nil {
					return h
				}
				h, err := os.OpenFile(filepath.Join(mnt, name), os.O_RDWR|os.O_CREATE, 0o644)
				if err != nil {
					t.Fatal(err)
				}
				if files[name] == nil {
					files[name] = &model{}
				}
				open[name] = h
				return h
			}
			closeFile := func(name string) {
				if h := open[name]; h != nil {
					h.Close()
					delete(open, name)
				}
			}
			for i := 0; i < 2000; i++ {
				name := names[rng.IntN(len(names))]
				switch op := rng.IntN(20); {
				case op < 10: // write
					h, m := get(name), files[name]
					off := rng.IntN(len(m.now) + 9000)
					data := make([]byte, 1+rng.IntN(10000))
					for j := range data {
						data[j] = byte(rng.Uint32())
					}
					if _, err := h.WriteAt(data, int64(off)); err != nil {
						t.Fatal(err)
					}
					if end := off + len(data); end > len(m.now) {
						m.now = append(m.now, make([]byte, end-len(m.now))...)
					}
					copy(m.now[off:], data)
				case op < 12: // truncate
					h, m := get(name), files[name]
					size := rng.IntN(len(m.now) + 5000)
					if err := h.Truncate(int64(size)); err != nil {
						t.Fatal(err)
					}
					if size <= len(m.now) {
						m.now = m.now[:size]
					} else {
						m.now = append(m.now, make([]byte, size-len(m.now))...)
					}
				case op < 15: // fsync
					h, m := get(name), files[name]
					if err := h.Sync(); err != nil {
						t.Fatal(err)
					}
					m.synced = bytes.Clone(m.now)
				case op < 16: // close
					closeFile(name)
				case op < 17: // rename over another
					to := names[rng.IntN(len(names))]
					if files[name] == nil || to == name {
						continue
					}
					closeFile(name)
					closeFile(to)
					if err := os.Rename(filepath.Join(mnt, name), filepath.Join(mnt, to)); err != nil {
						t.Fatal(err)
					}
					files[to] = files[name]
					delete(files, name)
				case op < 18: // remove
					if files[name] == nil {
						continue
					}
					closeFile(name)
					if err := os.Remove(filepath.Join(mnt, name)); err != nil {
						t.Fatal(err)
					}
					delete(files, name)
				default: // read and compare
					m := files[name]
					if m == nil {
						continue
					}
					got, err := os.ReadFile(filepath.Join(mnt, name))
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, m.now) {
						t.Fatalf("op %d: %s reads %d bytes, the model has %d (equal prefix: %v)", i, name, len(got), len(m.now), bytes.HasPrefix(m.now, got) || bytes.HasPrefix(got, m.now))
					}
					if st, err := os.Stat(filepath.Join(mnt, name)); err != nil || st.Size() != int64(len(m.now)) {
						t.Fatalf("op %d: stat of %s: %v %v, want size %d", i, name, st, err, len(m.now))
					}
				}
			}
			for name := range open {
				closeFile(name)
			}
			if err := f.Cut(); err != nil {
				t.Fatal(err)
			}
			for name, m := range files {
				got, err := os.ReadFile(filepath.Join(f.Backing, name))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, m.synced) {
					t.Errorf("after the cut %s holds %d bytes, its last fsync %d", name, len(got), len(m.synced))
				}
			}
		})
	}
}

// TestCutTornWritesBackPart: a torn cut leaves each unsynced page either
// as it was at the last fsync or as written since, in no order, and
// never touches what no unsynced write covered.
func TestCutTornWritesBackPart(t *testing.T) {
	mixed := false
	for seed := uint64(1); seed <= 8; seed++ {
		f, mnt := mount(t)
		h, err := os.Create(filepath.Join(mnt, "seg"))
		if err != nil {
			t.Fatal(err)
		}
		h.Write(bytes.Repeat([]byte{'a'}, 8*pageSize))
		h.Sync()
		h.WriteAt(bytes.Repeat([]byte{'b'}, 12*pageSize), 4*pageSize)
		h.Close()
		if err := f.CutTorn(rand.New(rand.NewPCG(seed, 1))); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(f.Backing, "seg"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got)%pageSize != 0 || len(got) < 8*pageSize || len(got) > 16*pageSize {
			t.Fatalf("seed %d: torn file is %d bytes", seed, len(got))
		}
		var kinds []byte
		for pg := 0; pg < len(got)/pageSize; pg++ {
			page := got[pg*pageSize : (pg+1)*pageSize]
			k := page[0]
			if !bytes.Equal(page, bytes.Repeat([]byte{k}, pageSize)) || (k != 'a' && k != 'b' && k != 0) {
				t.Fatalf("seed %d: page %d is not whole", seed, pg)
			}
			if pg < 4 && k != 'a' {
				t.Fatalf("seed %d: page %d, synced and never written again, holds %q", seed, pg, k)
			}
			if pg >= 8 && k == 'a' {
				t.Fatalf("seed %d: page %d past the synced end holds old data", seed, pg)
			}
			kinds = append(kinds, k)
		}
		// A page written back after one that was not: out of order.
		if i := bytes.IndexByte(kinds[4:], 'b'); i >= 0 && bytes.ContainsAny(kinds[4+i:], "a\x00") {
			mixed = true
		}
	}
	if !mixed {
		t.Error("no torn cut wrote back a later page without an earlier one")
	}
}
