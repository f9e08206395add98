package partition

import (
	"testing"
	"time"
)

// TestServedTo: a consumer's read is known to end at the high watermark
// only when it reached it; a read cut by its byte limit, or made before
// the high watermark moved on, is not.
func TestServedTo(t *testing.T) {
	_, p := newManager(t, "page-cache")
	for range 3 {
		if _, err := p.Append(testBatch(4), time.Now(), nil); err != nil {
			t.Fatal(err)
		}
	}
	whole, err := p.Read(5, 1<<20, true)
	if err != nil {
		t.Fatal(err)
	}
	defer whole.Release()
	if end, ok := p.ServedTo(5, whole, false); !ok || end != 12 {
		t.Fatalf("a read to the high watermark: ServedTo = %d, %v; want 12, true", end, ok)
	}
	if end, ok := p.ServedTo(5, whole, true); !ok || end != 12 {
		t.Fatalf("read_committed without transactions: ServedTo = %d, %v; want 12, true", end, ok)
	}
	cut, err := p.Read(0, 1, true) // one batch: offsets 0-3
	if err != nil {
		t.Fatal(err)
	}
	defer cut.Release()
	if cut.Size == 0 || cut.Size >= whole.Size {
		t.Fatalf("cut read of %d bytes, whole %d", cut.Size, whole.Size)
	}
	if _, ok := p.ServedTo(0, cut, false); ok {
		t.Fatal("a read cut by its byte limit is known to end at the high watermark")
	}
	if _, err := p.Append(testBatch(2), time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.ServedTo(5, whole, false); ok {
		t.Fatal("a read made before the high watermark moved is known to end at the new one")
	}
}
