package storage

import (
	"fmt"
	"math/rand"
	"path/filepath"
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

// BenchmarkReadManyPartitions measures Read over 500 partitions (one
// segment each) in random order, with a budget that holds every file
// (hits) and with one of 64 descriptors (almost every read opens its file
// and evicts another).
func BenchmarkReadManyPartitions(b *testing.B) {
	for _, budget := range []int{1000, 64} {
		b.Run(fmt.Sprintf("budget=%d", budget), func(b *testing.B) {
			resetFileBudget(b)
			cfg := Config{SegmentBytes: 1 << 20, MaxOpenFiles: budget}
			d, err := OpenDir(b.TempDir(), cfg, testLogger(b))
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			const parts = 500
			logs := make([]*Log, parts)
			batch := makeBatch(b, spec{records: 4, valueSize: 256, ts: 1})
			for p := range logs {
				if logs[p], err = d.CreateLog("t", int32(p), [16]byte{1}, cfg); err != nil {
					b.Fatal(err)
				}
				for i := 0; i < 4; i++ {
					if _, err := logs[p].Append(batch, 0, testNow); err != nil {
						b.Fatal(err)
					}
				}
			}
			rng := rand.New(rand.NewSource(1))
			opens := OpenFiles().Opens
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s, err := logs[rng.Intn(parts)].Read(int64(rng.Intn(16)), 1<<20, true, NoLimit)
				if err != nil || s.Size == 0 {
					b.Fatal(err)
				}
				s.Release()
			}
			b.StopTimer()
			st := OpenFiles()
			b.ReportMetric(float64(st.Opens-opens)/float64(b.N), "opens/op")
		})
	}
}

// BenchmarkSegFileAcquire measures taking and releasing a use of an open
// segment file, the cost every append and read adds (one goroutine per
// CPU on the same file).
func BenchmarkSegFileAcquire(b *testing.B) {
	c := newFileCache(16, false, 0)
	s, err := createSegFile(c, filepath.Join(b.TempDir(), "f"))
	if err != nil {
		b.Fatal(err)
	}
	s.release()
	defer s.kill()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.acquire(); err != nil {
				b.Fatal(err)
			}
			s.release()
		}
	})
}
