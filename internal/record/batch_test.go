package record

import (
	"errors"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// makeBatch encodes an uncompressed v2 batch of n records with franz-go's
// kmsg types, the same encoder real clients use.
func makeBatch(n int, pid int64, seq int32) []byte {
	recs := make([]kmsg.Record, n)
	for i := range recs {
		recs[i] = kmsg.Record{OffsetDelta: int32(i), Key: []byte("k"), Value: []byte("value")}
	}
	return EncodeBatch(&kmsg.RecordBatch{FirstTimestamp: 1000, MaxTimestamp: 1000 + int64(n),
		ProducerID: pid, ProducerEpoch: 0, FirstSequence: seq}, recs)
}

func TestValidate(t *testing.T) {
	b := makeBatch(3, 7, 10)
	h, err := ValidateProduced(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.NumRecords != 3 || h.ProducerID != 7 || h.LastSequence() != 12 || h.TotalSize() != int64(len(b)) {
		t.Fatalf("bad header %+v", h)
	}
	SetBaseOffset(b, 1234)
	SetPartitionLeaderEpoch(b, 9)
	h, err = Validate(b)
	if err != nil {
		t.Fatalf("patching fields outside the CRC broke it: %v", err)
	}
	if h.BaseOffset != 1234 || h.PartitionLeaderEpoch != 9 || h.LastOffset() != 1236 {
		t.Fatalf("patch not applied: %+v", h)
	}
	SetLogAppendTime(b, 99)
	h, err = Validate(b)
	if err != nil || !h.HasLogAppendTime() || h.MaxTimestamp != 99 {
		t.Fatalf("log append time: %+v %v", h, err)
	}
}

func TestValidateRejects(t *testing.T) {
	good := makeBatch(2, -1, -1)
	cases := map[string]struct {
		mutate func([]byte) []byte
		want   error
	}{
		"crc":       {func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, ErrCRC},
		"magic":     {func(b []byte) []byte { b[posMagic] = 1; return b }, ErrMagic},
		"truncated": {func(b []byte) []byte { return b[:len(b)-3] }, ErrShort},
		"short":     {func(b []byte) []byte { return b[:20] }, ErrShort},
		"trailing":  {func(b []byte) []byte { return append(b, 0) }, ErrCorrupt},
		"length":    {func(b []byte) []byte { b[posLength+3] = 1; b[posLength+2] = 0; return b }, ErrCorrupt},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			b := c.mutate(append([]byte(nil), good...))
			if _, err := Validate(b); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestValidateProducedCount(t *testing.T) {
	b := makeBatch(2, -1, -1)
	b[posNumRecords+3] = 5 // claims 5 records with a delta of 1
	// Fix the CRC so only the count check can fail.
	b2 := append([]byte(nil), b...)
	putCRC(b2)
	if _, err := ValidateProduced(b2); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("inconsistent count accepted: %v", err)
	}
}

func putCRC(b []byte) {
	c := crc32.Checksum(b[posAttributes:], castagnoli)
	b[posCRC], b[posCRC+1], b[posCRC+2], b[posCRC+3] = byte(c>>24), byte(c>>16), byte(c>>8), byte(c)
}

func TestSplit(t *testing.T) {
	a, b := makeBatch(1, -1, -1), makeBatch(4, -1, -1)
	var got []int
	if err := Split(append(append([]byte(nil), a...), b...), func(x []byte) error {
		got = append(got, len(x))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != len(a) || got[1] != len(b) {
		t.Fatalf("split %v", got)
	}
	if err := Split(append(append([]byte(nil), a...), b[:30]...), func([]byte) error { return nil }); !errors.Is(err, ErrShort) {
		t.Fatalf("partial tail: %v", err)
	}
}

// FuzzValidate feeds arbitrary bytes through every entry point: none may
// panic, and whatever Validate accepts must round-trip through ParseHeader.
func FuzzValidate(f *testing.F) {
	f.Add(makeBatch(1, -1, -1))
	f.Add(makeBatch(3, 5, 0))
	f.Add([]byte{0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Validate(b)
		if err == nil {
			h2, err2 := ParseHeader(b)
			if err2 != nil || h2 != h || h.TotalSize() != int64(len(b)) {
				t.Fatalf("accepted batch does not re-parse: %v", err2)
			}
		}
		_, _ = ValidateProduced(b)
		_ = Split(b, func(x []byte) error { _, err := Validate(x); return err })
	})
}
