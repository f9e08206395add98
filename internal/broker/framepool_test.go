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

// A frame larger than every free buffer replaces the largest of them, so
// the number of large buffers never exceeds the number in use at once.
func TestFramePoolReplacesTooSmall(t *testing.T) {
	largeFree.mu.Lock()
	largeFree.bufs, largeFree.bytes = nil, 0
	largeFree.mu.Unlock()
	count := func() (int, int) {
		largeFree.mu.Lock()
		defer largeFree.mu.Unlock()
		return len(largeFree.bufs), largeFree.bytes
	}
	a, b := getFrame(2<<20), getFrame(4<<20)
	putFrame(a)
	putFrame(b)
	if n, _ := count(); n != 2 {
		t.Fatalf("free list holds %d buffers, want 2", n)
	}
	c := getFrame(8 << 20)
	if n, bytes := count(); n != 1 || bytes != cap(a) {
		t.Fatalf("after a larger frame: %d buffers of %d bytes, want the 2 MiB one alone", n, bytes)
	}
	putFrame(c)
	for i := 0; i < 20; i++ {
		putFrame(getFrame((1 + i%8) << 20))
	}
	if n, _ := count(); n != 2 {
		t.Fatalf("one frame at a time left %d free buffers, want 2", n)
	}
	if d := getFrame(7 << 20); cap(d) != cap(c) {
		t.Fatalf("a 7 MiB frame got a buffer of %d bytes, want the 8 MiB one", cap(d))
	}
}
