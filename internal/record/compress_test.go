package record

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestCompressRoundTrip(t *testing.T) {
	src := bytes.Repeat([]byte("samsa compacts kafka logs "), 5000) // > one xerial block
	for _, c := range []struct {
		codec  int
		xerial bool
	}{{CompressionNone, false}, {CompressionGzip, false}, {CompressionSnappy, false}, {CompressionSnappy, true}, {CompressionLZ4, false}, {CompressionZstd, false}} {
		t.Run(fmt.Sprintf("%d-%v", c.codec, c.xerial), func(t *testing.T) {
			z, err := Compress(nil, src, c.codec, c.xerial)
			if err != nil {
				t.Fatal(err)
			}
			if IsXerial(z) != c.xerial {
				t.Fatalf("xerial framing %v, want %v", IsXerial(z), c.xerial)
			}
			out, err := Decompress(nil, z, c.codec, len(src))
			if err != nil || !bytes.Equal(out, src) {
				t.Fatalf("round trip: %v", err)
			}
			// franz-go (what clients use) reads what we write.
			if c.codec != CompressionNone {
				out, err = kgo.DefaultDecompressor().Decompress(z, kgo.CompressionCodecType(c.codec))
				if err != nil || !bytes.Equal(out, src) {
					t.Fatalf("franz-go cannot read it: %v", err)
				}
				if _, err := Decompress(nil, z, c.codec, len(src)-1); !errors.Is(err, ErrTooLarge) {
					t.Fatalf("bound not enforced: %v", err)
				}
			}
		})
	}
}

func TestDecompressGarbage(t *testing.T) {
	for codec := CompressionGzip; codec <= CompressionZstd+1; codec++ {
		if _, err := Decompress(nil, []byte("definitely not compressed data"), codec, 1<<20); !errors.Is(err, ErrCorrupt) {
			t.Errorf("codec %d: %v", codec, err)
		}
	}
}

func keyedBatch(t *testing.T, codec int, keys ...[]byte) []byte {
	t.Helper()
	var section []byte
	for i, k := range keys {
		r := kmsg.Record{OffsetDelta: int32(i), Key: k, Value: []byte("v")}
		body := r.AppendTo(nil)
		r.Length = int32(len(body) - 1)
		section = r.AppendTo(section)
	}
	z, err := Compress(nil, section, codec, false)
	if err != nil {
		t.Fatal(err)
	}
	h := Header{Attributes: int16(codec), LastOffsetDelta: int32(len(keys) - 1), ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, NumRecords: int32(len(keys))}
	return BuildBatch(nil, &h, z)
}

func TestWalkRecordsAndRetime(t *testing.T) {
	b := keyedBatch(t, CompressionNone, []byte("a"), nil, []byte("c"))
	h, err := Validate(b)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	var rebuilt []byte
	err = WalkRecords(b[HeaderSize:], h.NumRecords, func(r *Record) error {
		keys = append(keys, fmt.Sprintf("%v:%s@%d", r.Key != nil, r.Key, r.OffsetDelta))
		rebuilt = AppendRetimed(rebuilt, r, r.TimestampDelta-1000)
		return nil
	})
	if err != nil || fmt.Sprint(keys) != "[true:a@0 false:@1 true:c@2]" {
		t.Fatalf("walk: %v %v", keys, err)
	}
	var deltas []int64
	WalkRecords(rebuilt, h.NumRecords, func(r *Record) error { deltas = append(deltas, r.TimestampDelta); return nil })
	if fmt.Sprint(deltas) != "[-1000 -1000 -1000]" {
		t.Fatalf("retimed deltas %v", deltas)
	}
	if err := WalkRecords(b[HeaderSize:len(b)-2], h.NumRecords, func(*Record) error { return nil }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("short records: %v", err)
	}
}
