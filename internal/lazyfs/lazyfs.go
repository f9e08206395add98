package lazyfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// pageSize is the unit in which unsynced data is held.
const pageSize = 4096

// FS is one mounted lazy file system.
type FS struct {
	Backing, Mountpoint string

	server *fuse.Server

	mu      sync.Mutex
	dirty   map[*node]struct{} // nodes holding unsynced data
	cut     bool
	written int64 // bytes written through the mount, for tests and reports
	synced  int64 // bytes written to the backing directory by fsyncs
	dropped int64 // unsynced bytes Cut dropped
}

// Stats are an FS's byte counts.
type Stats struct {
	Written, Synced, Dropped int64
}

// Mount mounts backing at mountpoint (both must exist).
func Mount(backing, mountpoint string) (*FS, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(backing, &st); err != nil {
		return nil, err
	}
	f := &FS{Backing: backing, Mountpoint: mountpoint, dirty: map[*node]struct{}{}}
	root := &fs.LoopbackRoot{Path: backing, Dev: uint64(st.Dev)}
	root.NewNode = func(r *fs.LoopbackRoot, _ *fs.Inode, _ string, _ *syscall.Stat_t) fs.InodeEmbedder {
		return &node{LoopbackNode: fs.LoopbackNode{RootData: r}, fs: f}
	}
	rootNode := root.NewNode(root, nil, "", &st)
	root.RootNode = rootNode
	zero := time.Duration(0)
	srv, err := fs.Mount(mountpoint, rootNode, &fs.Options{
		EntryTimeout:    &zero,
		AttrTimeout:     &zero,
		NegativeTimeout: &zero,
		MountOptions: fuse.MountOptions{
			FsName:            "lazyfs",
			Name:              "lazyfs",
			DirectMountStrict: true,
			MaxWrite:          1 << 20,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("lazyfs: mounting %s: %w", mountpoint, err)
	}
	f.server = srv
	return f, nil
}

// Stats returns the byte counts so far.
func (f *FS) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Stats{Written: f.written, Synced: f.synced, Dropped: f.dropped}
}

// Cut cuts the power: it unmounts the file system (every process using
// it must have gone: a killed broker has) and drops every byte written
// and not fsynced. The backing directory then holds what survived; Mount
// it again to go on.
func (f *FS) Cut() error { return f.cutPower(nil) }

// CutTorn cuts the power as Cut does, except that the disk had written
// part of the unsynced data back before the power went, as a kernel's
// write-back does: each unsynced page of each file reached the backing
// file or not, at random and in no order (a later page may be there and
// an earlier one not), a pending truncation happened or not, and a file
// that grew may have its new size with zeros where its pages did not
// arrive. What a broker finds after it is torn, not just short.
func (f *FS) CutTorn(rng *rand.Rand) error { return f.cutPower(rng) }

func (f *FS) cutPower(torn *rand.Rand) error {
	f.mu.Lock()
	f.cut = true // from here on an fsync flushes nothing
	var errs []error
	for n := range f.dirty {
		n.mu.Lock()
		if torn != nil {
			errs = append(errs, n.tearLocked(torn))
		}
		f.dropped += n.dropLocked()
		n.mu.Unlock()
	}
	f.dirty = map[*node]struct{}{}
	f.mu.Unlock()
	errs = append(errs, f.unmount())
	return errors.Join(errs...)
}

// tearLocked writes a random part of the node's unsynced data to its
// backing file (CutTorn).
func (n *node) tearLocked(rng *rand.Rand) error {
	if !n.dirty {
		return nil
	}
	if rng.IntN(2) == 0 {
		if err := n.back.Truncate(n.base); err != nil {
			return err
		}
	}
	pages := make([]int64, 0, len(n.pages))
	for pg := range n.pages {
		pages = append(pages, pg)
	}
	slices.Sort(pages)
	for _, pg := range pages {
		start := pg * pageSize
		if start >= n.size || rng.IntN(2) == 0 {
			continue
		}
		if _, err := n.back.WriteAt(n.pages[pg][:min(pageSize, n.size-start)], start); err != nil {
			return err
		}
	}
	if st, err := n.back.Stat(); err == nil && st.Size() < n.size && rng.IntN(3) == 0 {
		return n.back.Truncate(n.size)
	}
	return nil
}

// Unmount unmounts the file system after writing every unsynced byte to
// the backing directory, as a clean shutdown of the machine would.
func (f *FS) Unmount() error {
	f.mu.Lock()
	nodes := make([]*node, 0, len(f.dirty))
	for n := range f.dirty {
		nodes = append(nodes, n)
	}
	f.mu.Unlock()
	var errs []error
	for _, n := range nodes {
		errs = append(errs, n.sync())
	}
	errs = append(errs, f.unmount())
	return errors.Join(errs...)
}

func (f *FS) unmount() error {
	var err error
	for i := 0; i < 50; i++ {
		if err = f.server.Unmount(); err == nil {
			f.server.Wait()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Something still holds a file open: detach the mount so the
	// backing directory can be used, and report it.
	if derr := syscall.Unmount(f.Mountpoint, syscall.MNT_DETACH); derr != nil {
		return fmt.Errorf("lazyfs: unmounting %s: %v (detach: %v)", f.Mountpoint, err, derr)
	}
	return fmt.Errorf("lazyfs: %s was busy, detached: %w", f.Mountpoint, err)
}

func (f *FS) markDirty(n *node) {
	f.mu.Lock()
	f.dirty[n] = struct{}{}
	f.mu.Unlock()
}

func (f *FS) markClean(n *node, synced int64) {
	f.mu.Lock()
	delete(f.dirty, n)
	f.synced += synced
	f.mu.Unlock()
}

// node is a loopback node that holds a file's unsynced data.
type node struct {
	fs.LoopbackNode
	fs *FS

	mu sync.Mutex
	// When dirty, the file's content is: pages[i] for page i where it
	// is held, else the backing file's byte where below base, else
	// zero; up to size.
	dirty bool
	back  *os.File // the backing file, read and written directly
	base  int64    // backing bytes still part of the content
	size  int64
	pages map[int64][]byte
}

var (
	_ fs.NodeOpener    = (*node)(nil)
	_ fs.NodeCreater   = (*node)(nil)
	_ fs.NodeGetattrer = (*node)(nil)
	_ fs.NodeSetattrer = (*node)(nil)
	_ fs.NodeUnlinker  = (*node)(nil)
	_ fs.NodeRenamer   = (*node)(nil)
)

// backingPath is the node's path in the backing directory.
func (n *node) backingPath() string {
	return n.RootData.Path + "/" + n.Path(n.RootData.RootNode.EmbeddedInode())
}

// beginLocked makes the node dirty, opening its backing file (at path,
// or where the tree puts it when path is "").
func (n *node) beginLocked(path string) syscall.Errno {
	if n.dirty {
		return 0
	}
	if path == "" {
		path = n.backingPath()
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fs.ToErrno(err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fs.ToErrno(err)
	}
	n.dirty, n.back, n.base, n.size, n.pages = true, f, st.Size(), st.Size(), map[int64][]byte{}
	n.fs.markDirty(n)
	return 0
}

// dropLocked forgets the unsynced data and returns how many bytes of
// pages it held.
func (n *node) dropLocked() int64 {
	if !n.dirty {
		return 0
	}
	dropped := int64(len(n.pages)) * pageSize
	n.back.Close()
	n.dirty, n.back, n.pages = false, nil, nil
	return dropped
}

// readLocked copies the content at off into p (within size).
func (n *node) readLocked(p []byte, off int64) (int, error) {
	if off >= n.size {
		return 0, nil
	}
	p = p[:min(int64(len(p)), n.size-off)]
	for done := 0; done < len(p); {
		at := off + int64(done)
		pg, in := at/pageSize, int(at%pageSize)
		chunk := p[done:min(len(p), done+pageSize-in)]
		if page, ok := n.pages[pg]; ok {
			copy(chunk, page[in:])
		} else if err := n.readBase(chunk, at); err != nil {
			return done, err
		}
		done += len(chunk)
	}
	return len(p), nil
}

// readBase reads what the backing file holds at off, zeros past base.
func (n *node) readBase(p []byte, off int64) error {
	clear(p)
	if off >= n.base {
		return nil
	}
	want := p[:min(int64(len(p)), n.base-off)]
	_, err := n.back.ReadAt(want, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

func (n *node) pageLocked(pg int64) ([]byte, error) {
	if page, ok := n.pages[pg]; ok {
		return page, nil
	}
	page := make([]byte, pageSize)
	if err := n.readBase(page, pg*pageSize); err != nil {
		return nil, err
	}
	n.pages[pg] = page
	return page, nil
}

func (n *node) write(data []byte, off int64) (uint32, syscall.Errno) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if errno := n.beginLocked(""); errno != 0 {
		return 0, errno
	}
	for done := 0; done < len(data); {
		at := off + int64(done)
		page, err := n.pageLocked(at / pageSize)
		if err != nil {
			return uint32(done), fs.ToErrno(err)
		}
		done += copy(page[at%pageSize:], data[done:])
	}
	n.size = max(n.size, off+int64(len(data)))
	n.fs.mu.Lock()
	n.fs.written += int64(len(data))
	n.fs.mu.Unlock()
	return uint32(len(data)), 0
}

// truncate sets the content's size; path is as for beginLocked.
func (n *node) truncate(size int64, path string) syscall.Errno {
	n.mu.Lock()
	defer n.mu.Unlock()
	if errno := n.beginLocked(path); errno != 0 {
		return errno
	}
	n.base = min(n.base, size)
	if size < n.size {
		for pg, page := range n.pages {
			switch start := pg * pageSize; {
			case start >= size:
				delete(n.pages, pg)
			case start+pageSize > size:
				clear(page[size-start:])
			}
		}
	}
	n.size = size
	return 0
}

// sync writes the node's unsynced data to its backing file and fsyncs it.
func (n *node) sync() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.fs.mu.Lock()
	cut := n.fs.cut
	n.fs.mu.Unlock()
	if !n.dirty || cut {
		return nil
	}
	if err := n.back.Truncate(n.base); err != nil {
		return err
	}
	var synced int64
	for pg, page := range n.pages {
		start := pg * pageSize
		if start >= n.size {
			continue
		}
		b := page[:min(pageSize, n.size-start)]
		if _, err := n.back.WriteAt(b, start); err != nil {
			return err
		}
		synced += int64(len(b))
	}
	if err := n.back.Truncate(n.size); err != nil {
		return err
	}
	if err := n.back.Sync(); err != nil {
		return err
	}
	n.dropLocked()
	n.fs.markClean(n, synced)
	return nil
}

// fixAttr reports the content's size when the node is dirty.
func (n *node) fixAttr(out *fuse.AttrOut) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.dirty {
		out.Size = uint64(n.size)
		out.Blocks = (uint64(n.size) + 511) / 512
	}
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	trunc := flags&syscall.O_TRUNC != 0
	fh, fuseFlags, errno := n.LoopbackNode.Open(ctx, flags&^syscall.O_TRUNC)
	if errno != 0 {
		return nil, 0, errno
	}
	if trunc {
		if errno := n.truncate(0, ""); errno != 0 {
			fh.(fs.FileReleaser).Release(ctx)
			return nil, 0, errno
		}
	}
	return &file{inner: fh, n: n}, fuseFlags, 0
}

func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	trunc := flags&syscall.O_TRUNC != 0
	ch, fh, fuseFlags, errno := n.LoopbackNode.Create(ctx, name, flags&^syscall.O_TRUNC, mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	c := ch.Operations().(*node)
	if trunc {
		if errno := c.truncate(0, filepath.Join(n.backingPath(), name)); errno != 0 {
			fh.(fs.FileReleaser).Release(ctx)
			return nil, nil, 0, errno
		}
	}
	var a fuse.AttrOut
	a.Attr = out.Attr
	c.fixAttr(&a)
	out.Attr = a.Attr
	return ch, &file{inner: fh, n: c}, fuseFlags, 0
}

func (n *node) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if errno := n.LoopbackNode.Getattr(ctx, nil, out); errno != 0 {
		return errno
	}
	n.fixAttr(out)
	return 0
}

func (n *node) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if sz, ok := in.GetSize(); ok {
		if errno := n.truncate(int64(sz), ""); errno != 0 {
			return errno
		}
		in.Valid &^= fuse.FATTR_SIZE
	}
	if errno := n.LoopbackNode.Setattr(ctx, nil, in, out); errno != 0 {
		return errno
	}
	n.fixAttr(out)
	return 0
}

// forget drops the unsynced data of the child name, about to be removed
// or replaced.
func (n *node) forget(name string) {
	ch := n.GetChild(name)
	if ch == nil {
		return
	}
	c, ok := ch.Operations().(*node)
	if !ok {
		return
	}
	c.mu.Lock()
	wasDirty := c.dirty
	c.dropLocked()
	c.mu.Unlock()
	if wasDirty {
		n.fs.markClean(c, 0)
	}
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	errno := n.LoopbackNode.Unlink(ctx, name)
	if errno == 0 {
		n.forget(name)
	}
	return errno
}

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	np, ok := newParent.(*node)
	if !ok {
		return syscall.EXDEV
	}
	if flags&fs.RENAME_EXCHANGE == 0 {
		np.forget(newName)
	}
	return n.LoopbackNode.Rename(ctx, name, newParent, newName, flags)
}

// file is an open file of a node: data goes through the node.
type file struct {
	inner fs.FileHandle
	n     *node
}

var (
	_ fs.FileReader    = (*file)(nil)
	_ fs.FileWriter    = (*file)(nil)
	_ fs.FileFsyncer   = (*file)(nil)
	_ fs.FileFlusher   = (*file)(nil)
	_ fs.FileReleaser  = (*file)(nil)
	_ fs.FileGetattrer = (*file)(nil)
	_ fs.FileSetattrer = (*file)(nil)
	_ fs.FileAllocater = (*file)(nil)
)

func (f *file) Read(ctx context.Context, buf []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n := f.n
	n.mu.Lock()
	if !n.dirty {
		n.mu.Unlock()
		return f.inner.(fs.FileReader).Read(ctx, buf, off)
	}
	defer n.mu.Unlock()
	got, err := n.readLocked(buf, off)
	if err != nil {
		return nil, fs.ToErrno(err)
	}
	return fuse.ReadResultData(buf[:got]), 0
}

func (f *file) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	return f.n.write(data, off)
}

func (f *file) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	return fs.ToErrno(f.n.sync())
}

func (f *file) Flush(ctx context.Context) syscall.Errno {
	return f.inner.(fs.FileFlusher).Flush(ctx)
}

func (f *file) Release(ctx context.Context) syscall.Errno {
	return f.inner.(fs.FileReleaser).Release(ctx)
}

func (f *file) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	if errno := f.inner.(fs.FileGetattrer).Getattr(ctx, out); errno != 0 {
		return errno
	}
	f.n.fixAttr(out)
	return 0
}

func (f *file) Setattr(ctx context.Context, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return f.n.Setattr(ctx, nil, in, out)
}

// Allocate is refused: preallocated space is not modelled.
func (f *file) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	return syscall.EOPNOTSUPP
}
