package broker

import (
	"math/bits"
	"sync"
)

// Request frames are read into pooled buffers, returned once the response
// has been written: by then no handler holds a reference into the frame
// (produce has copied the batch into the log; fetch and every other
// handler have finished; the group coordinator clones what it keeps).
// Pooling avoids zeroing and collecting a fresh buffer per request, which
// showed as ~10% of broker CPU on the produce path.
//
// Frames up to 1 MiB come from sync.Pools in power-of-two classes. Larger
// ones (produce requests of clients that batch hard: kgo with 1 MiB batches
// over 16 partitions sends 16 MiB) come from one free list, best fit, that
// the garbage collector does not empty and that holds at most
// largeFreeBytes. A sync.Pool per power of two made a 16.1 MiB request take
// a 32 MiB buffer and lost its spares at every collection, which then
// allocated new ones; the heap grew to ~100 MiB under a produce benchmark
// for two requests in flight.
//
// When no free buffer is large enough, the largest free one is dropped as
// the new one is made, so there are never more large buffers than were
// ever in use at once, and they grow to the largest frames clients send.
// Keeping every size seen instead (requests of one producer range from one
// batch to sixteen) filled the free list to its bound: a produce benchmark
// with one request in flight held three 16 MiB buffers.

const (
	minFrameClass  = 9  // 512 B
	maxSmallClass  = 20 // 1 MiB
	largeFrameUnit = 1 << 20
	largeFreeBytes = 40 << 20
)

var smallPools [maxSmallClass + 1]sync.Pool

var largeFree struct {
	mu    sync.Mutex // guards bufs and bytes
	bufs  [][]byte   // sorted by capacity, ascending
	bytes int
}

// getFrame returns a buffer of length n (contents undefined).
func getFrame(n int) []byte {
	if n > 1<<maxSmallClass {
		return getLarge(n)
	}
	c := max(bits.Len(uint(n-1)), minFrameClass)
	if b, ok := smallPools[c].Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, 1<<c)
}

// takeFrame is getFrame without making a buffer: a free one of length n
// if there is one, else nil.
func takeFrame(n int) []byte {
	if n > 1<<maxSmallClass {
		return takeLarge(n)
	}
	c := max(bits.Len(uint(n-1)), minFrameClass)
	if b, ok := smallPools[c].Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return nil
}

// putFrame returns a buffer obtained from getFrame.
func putFrame(b []byte) {
	if cap(b) > 1<<maxSmallClass {
		putLarge(b)
		return
	}
	c := bits.Len(uint(cap(b))) - 1
	if cap(b) != 1<<c || c < minFrameClass {
		return
	}
	b = b[:0]
	smallPools[c].Put(&b)
}

// getLarge takes the smallest free buffer that holds n bytes, or allocates
// one of n rounded up to 1 MiB in place of the largest free one.
func getLarge(n int) []byte {
	lf := &largeFree
	lf.mu.Lock()
	for i, b := range lf.bufs {
		if cap(b) >= n {
			lf.bufs = append(lf.bufs[:i], lf.bufs[i+1:]...)
			lf.bytes -= cap(b)
			lf.mu.Unlock()
			return b[:n]
		}
	}
	if k := len(lf.bufs); k > 0 {
		lf.bytes -= cap(lf.bufs[k-1])
		lf.bufs[k-1] = nil
		lf.bufs = lf.bufs[:k-1]
	}
	lf.mu.Unlock()
	return make([]byte, n, (n+largeFrameUnit-1)/largeFrameUnit*largeFrameUnit)
}

// takeLarge takes the smallest free buffer that holds n bytes, or nil.
func takeLarge(n int) []byte {
	lf := &largeFree
	lf.mu.Lock()
	defer lf.mu.Unlock()
	for i, b := range lf.bufs {
		if cap(b) >= n {
			lf.bufs = append(lf.bufs[:i], lf.bufs[i+1:]...)
			lf.bytes -= cap(b)
			return b[:n]
		}
	}
	return nil
}

// putLarge keeps b on the free list, dropping the smallest buffers while
// the list would hold more than largeFreeBytes (b itself if it is the
// smallest): large buffers serve every request, small ones only some.
func putLarge(b []byte) {
	lf := &largeFree
	lf.mu.Lock()
	defer lf.mu.Unlock()
	i := 0
	for i < len(lf.bufs) && cap(lf.bufs[i]) < cap(b) {
		i++
	}
	lf.bufs = append(lf.bufs, nil)
	copy(lf.bufs[i+1:], lf.bufs[i:])
	lf.bufs[i] = b[:0]
	lf.bytes += cap(b)
	for lf.bytes > largeFreeBytes && len(lf.bufs) > 0 {
		lf.bytes -= cap(lf.bufs[0])
		lf.bufs[0] = nil
		lf.bufs = lf.bufs[1:]
	}
}
