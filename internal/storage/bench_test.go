package storage

import (
	"math/rand"
	"testing"
)

// benchBatch is 16 records of 1 KiB: about 16.5 KiB.
func benchBatch(b *testing.B) []byte {
	return makeBatch(b, spec{records: 16, valueSize: 1024, ts: 1, tsStep: 1})
}

// BenchmarkAppend measures Append into the page cache (no fsync), with
// 64 MiB segments so rolls are included. Old segments are deleted outside
// the timer to bound disk use.
func BenchmarkAppend(b *testing.B) {
	_, l := newTestLog(b, Config{SegmentBytes: 64 << 20})
	batch := benchBatch(b)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.Append(batch, 0, testNow); err != nil {
			b.Fatal(err)
		}
		if i%8192 == 8191 {
			b.StopTimer()
			if err := l.DeleteRecordsBefore(l.LogEndOffset()); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
}

// BenchmarkAppendFlush measures Append followed by Flush every 64 batches
// (about 1 MiB), a group commit of 1 MiB.
func BenchmarkAppendFlush(b *testing.B) {
	_, l := newTestLog(b, Config{SegmentBytes: 64 << 20})
	batch := benchBatch(b)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.Append(batch, 0, testNow); err != nil {
			b.Fatal(err)
		}
		if i%64 == 63 {
			if _, err := l.Flush(); err != nil {
				b.Fatal(err)
			}
		}
		if i%4096 == 4095 {
			b.StopTimer()
			l.DeleteRecordsBefore(l.LogEndOffset())
			b.StartTimer()
		}
	}
}

// BenchmarkRead measures translating a random offset to a 1 MiB Slice in a
// 64 MiB log (index lookup plus header walk); no bytes are copied.
func BenchmarkRead(b *testing.B) {
	_, l := newTestLog(b, Config{SegmentBytes: 16 << 20})
	batch := benchBatch(b)
	for l.Size() < 64<<20 {
		if _, err := l.Append(batch, 0, testNow); err != nil {
			b.Fatal(err)
		}
	}
	end := l.LogEndOffset()
	rng := rand.New(rand.NewSource(1))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := l.Read(rng.Int63n(end), 1<<20, true, NoLimit)
		if err != nil || s.Size == 0 {
			b.Fatal(err)
		}
		s.Release()
	}
}

// TestAppendDoesNotAllocate holds the steady-state zero-allocation
// property of Append.
func TestAppendDoesNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	_, l := newTestLog(t, Config{SegmentBytes: 64 << 20})
	batch := makeBatch(t, spec{records: 16, valueSize: 1024})
	for i := 0; i < 100; i++ {
		mustAppend(t, l, batch, 0)
	}
	if n := testing.AllocsPerRun(200, func() { l.Append(batch, 0, testNow) }); n != 0 {
		t.Fatalf("Append allocates %v times per call", n)
	}
}
