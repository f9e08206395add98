package history

import (
	"bytes"
	"testing"
)

// BenchmarkCheck checks a clean generated history of a million events.
// Run it with -benchtime 1x: one iteration takes about a second.
func BenchmarkCheck(b *testing.B) {
	h := generate(1_000_000, 1)
	b.ReportAllocs()
	for b.Loop() {
		r, err := Check(h)
		if err != nil || !r.Clean() {
			b.Fatalf("%v %s", err, r.Summary())
		}
	}
	b.ReportMetric(float64(h.Len()), "events/op")
}

// BenchmarkRead parses a generated history of 100,000 events, so that the
// cost per event of reading, which dominates a check of a recorded file,
// can be compared with Check's.
func BenchmarkRead(b *testing.B) {
	h := generate(100_000, 1)
	var buf bytes.Buffer
	rec := NewRecorder(&buf)
	for _, e := range events(h) {
		rec.Record(e)
	}
	if err := rec.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		if _, err := Read(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}
