package storage

import (
	"os"
	"syscall"
)

// mapSegment maps the first size bytes of a segment file read-only, for
// the cleaner to walk without copying every byte out of the page cache.
// It returns nil data (and no error) when mapping is not possible; the
// caller then reads in chunks.
func mapSegment(f *os.File, size int64) (data []byte, unmap func(), err error) {
	if size <= 0 || size != int64(int(size)) {
		return nil, func() {}, nil
	}
	data, err = syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, func() {}, nil // fall back to reads
	}
	_ = syscall.Madvise(data, syscall.MADV_SEQUENTIAL)
	return data, func() { _ = syscall.Munmap(data) }, nil
}

// startWriteback asks the kernel to begin writing a file range to disk
// without waiting, so that a later fsync has less left to do.
func startWriteback(f *os.File, off, n int64) {
	const syncFileRangeWrite = 2 // SYNC_FILE_RANGE_WRITE
	_ = syscall.SyncFileRange(int(f.Fd()), off, n, syncFileRangeWrite)
}

// allocOffHeap returns n zeroed bytes of anonymous memory outside the Go
// heap, and the function that frees them. The cleaner keeps its per-record
// arrays there: growing them on the heap made the broker collect garbage
// several times during every pass, which other requests felt.
func allocOffHeap(n int) ([]byte, func()) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n), func() {}
	}
	return b, func() { _ = syscall.Munmap(b) }
}
