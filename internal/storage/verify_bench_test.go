package storage

import (
	"testing"

	"github.com/samsa-streaming/samsa/internal/record"
)

// BenchmarkReadVerify reads a 64 MiB log that was on disk at open (16
// records of 1 KiB per batch, 16 MiB segments) from start to end in 1 MiB
// reads, as a consumer catching up does: "cold", every read is the first
// over its bytes and checks them (the check state is forgotten before each
// pass, the page cache stays warm); "verified", the bytes were checked
// by an earlier pass and reads only compare positions. MB/s is of log
// bytes served.
func BenchmarkReadVerify(b *testing.B) {
	path := b.TempDir()
	cfg := Config{SegmentBytes: 16 << 20}
	d, err := OpenDir(path, cfg, testLogger(b))
	if err != nil {
		b.Fatal(err)
	}
	l, err := d.CreateLog("topic", 0, [16]byte{1}, cfg)
	if err != nil {
		b.Fatal(err)
	}
	batch := benchBatch(b)
	for l.Size() < 64<<20 {
		if _, err := l.Append(batch, 0, testNow); err != nil {
			b.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		b.Fatal(err)
	}
	d, err = OpenDir(path, cfg, testLogger(b))
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	l, _ = d.Log("topic", 0)
	// The offsets a consumer's reads start at: after the last whole
	// batch of the read before.
	var offs []int64
	for off := l.LogStartOffset(); off < l.LogEndOffset(); {
		offs = append(offs, off)
		s, err := l.Read(off, 1<<20, true, NoLimit)
		if err != nil || s.Size == 0 {
			b.Fatal(off, err)
		}
		data, err := s.Bytes()
		s.Release()
		if err != nil {
			b.Fatal(err)
		}
		for len(data) >= record.HeaderSize {
			h, err := record.ParseHeader(data)
			if err != nil || h.TotalSize() > int64(len(data)) {
				break
			}
			off, data = h.LastOffset()+1, data[h.TotalSize():]
		}
	}
	pass := func() {
		for _, off := range offs {
			s, err := l.Read(off, 1<<20, true, NoLimit)
			if err != nil || s.Size == 0 {
				b.Fatal(off, err)
			}
			s.Release()
		}
	}
	forget := func() {
		for _, s := range l.segs {
			s.verify.resetVerified(0)
			s.verify.unverifiedEnd.Store(s.size.Load())
		}
	}
	pass() // page cache
	for _, mode := range []string{"cold", "verified"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(l.Size())
			for i := 0; i < b.N; i++ {
				if mode == "cold" {
					b.StopTimer()
					forget()
					b.StartTimer()
				}
				pass()
			}
		})
	}
}
