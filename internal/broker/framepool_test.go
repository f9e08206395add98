package broker

import "testing"

// Frames come back with the length asked for; large buffers are reused
// best fit, and the free list never holds more than its bound.
func TestFramePool(t *testing.T) {
	for _, n := range []int{1, 8, 511, 512, 513, 4096, 1<<20 - 1, 1 << 20, 1<<20 + 1, 16<<20 + 4096, 100 << 20} {
		b := getFrame(n)
		if len(b) != n || cap(b) < n {
			t.Fatalf("getFrame(%d): len %d cap %d", n, len(b), cap(b))
		}
		putFrame(b)
	}
	big := getFrame(17 << 20)
	small := getFrame(3 << 20)
	putFrame(big)
	putFrame(small)
	if b := getFrame(2 << 20); cap(b) != cap(small) {
		t.Fatalf("a 2 MiB frame got a buffer of %d bytes, want the 3 MiB one", cap(b))
	}
	if b := getFrame(5 << 20); cap(b) != cap(big) {
		t.Fatalf("a 5 MiB frame got a buffer of %d bytes, want the 17 MiB one", cap(b))
	}
	for i := 0; i < 10; i++ {
		putFrame(make([]byte, 0, 16<<20))
	}
	largeFree.mu.Lock()
	held := largeFree.bytes
	largeFree.mu.Unlock()
	if held > largeFreeBytes {
		t.Fatalf("free list holds %d bytes, bound %d", held, largeFreeBytes)
	}
}
