package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ErrNoKey means a record without a key was sent to a compacted topic; the
// broker answers INVALID_RECORD, as Kafka does ("Compacted topic cannot
// accept message without key").
var ErrNoKey = errors.New("compacted topic cannot accept message without key")

// MaxRecordsBytes bounds the decompressed records section of one batch
// that the log (checking keys on compacted topics) and the cleaner will expand: a producer cannot make
// the broker allocate more than this for one batch.
const MaxRecordsBytes = 64 << 20

// Record is one record of a v2 batch as WalkRecords decodes it. Its slices
// point into the (decompressed) records section.
type Record struct {
	Attributes     int8
	TimestampDelta int64
	OffsetDelta    int32
	// Key is nil when the key is null; an empty key is a non-nil empty
	// slice (Kafka treats it as a key).
	Key []byte
	// Value is nil for a tombstone (null value).
	Value []byte
	// Raw is the whole encoded record, length prefix included.
	Raw []byte
	// tail is the encoding from the offset delta onwards.
	tail []byte
}

// WalkRecords decodes the n records of an uncompressed records section
// (the batch bytes after HeaderSize, decompressed if needed) and calls fn
// for each. Every length is bounded by the input; malformed input returns
// an error wrapping ErrCorrupt.
func WalkRecords(data []byte, n int32, fn func(r *Record) error) error {
	var r Record
	for i, pos := int32(0), 0; i < n; i++ {
		size, err := DecodeRecordAt(data, pos, &r)
		if err != nil {
			return fmt.Errorf("%w: record %d: %w", ErrCorrupt, i, err)
		}
		pos += size
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}

// DecodeRecordAt decodes the record that starts pos bytes into an
// uncompressed records section into r and returns its encoded size. Every
// length is bounded by data; malformed input returns an error.
func DecodeRecordAt(data []byte, pos int, r *Record) (int, error) {
	if pos < 0 || pos >= len(data) {
		return 0, fmt.Errorf("record at %d outside a records section of %d bytes", pos, len(data))
	}
	data = data[pos:]
	length, k := binary.Varint(data)
	if k <= 0 || length < 0 || length > int64(len(data)-k) {
		return 0, errors.New("bad record length")
	}
	*r = Record{Raw: data[: k+int(length) : k+int(length)]}
	if err := decodeRecord(data[k:k+int(length)], r); err != nil {
		return 0, err
	}
	return k + int(length), nil
}

func decodeRecord(b []byte, r *Record) error {
	if len(b) < 1 {
		return errors.New("empty record")
	}
	r.Attributes = int8(b[0])
	b = b[1:]
	var k int
	if r.TimestampDelta, k = binary.Varint(b); k <= 0 {
		return errors.New("bad timestamp delta")
	}
	b = b[k:]
	r.tail = b
	od, k := binary.Varint(b)
	if k <= 0 || od < 0 || od > 1<<31-1 {
		return errors.New("bad offset delta")
	}
	r.OffsetDelta = int32(od)
	b = b[k:]
	var err error
	if r.Key, b, err = nullableBytes(b); err != nil {
		return fmt.Errorf("key: %w", err)
	}
	if r.Value, _, err = nullableBytes(b); err != nil {
		return fmt.Errorf("value: %w", err)
	}
	return nil
}

func nullableBytes(b []byte) (v, rest []byte, err error) {
	n, k := binary.Varint(b)
	if k <= 0 || n < -1 || n > int64(len(b)-k) {
		return nil, nil, errors.New("bad length")
	}
	b = b[k:]
	if n < 0 {
		return nil, b, nil
	}
	return b[:n:n], b[n:], nil
}

// AppendRetimed appends r re-encoded with a new timestamp delta (the
// offset delta, key, value and headers are copied as they are).
func AppendRetimed(dst []byte, r *Record, timestampDelta int64) []byte {
	if timestampDelta == r.TimestampDelta {
		return append(dst, r.Raw...)
	}
	var tmp [binary.MaxVarintLen64]byte
	tsLen := binary.PutVarint(tmp[:], timestampDelta)
	dst = binary.AppendVarint(dst, int64(1+tsLen+len(r.tail)))
	dst = append(dst, byte(r.Attributes))
	dst = append(dst, tmp[:tsLen]...)
	return append(dst, r.tail...)
}

// BatchRecords returns the uncompressed records section of a batch,
// decompressing into buf when the batch is compressed.
func BatchRecords(buf, batch []byte, h *Header) ([]byte, error) {
	return Decompress(buf, batch[HeaderSize:], h.Compression(), MaxRecordsBytes)
}

// BuildBatch encodes a v2 batch from header fields and an already encoded
// (and compressed, if h says so) records section. Length and CRC are
// computed; h.Length and h.CRC are ignored.
func BuildBatch(dst []byte, h *Header, records []byte) []byte {
	start := len(dst)
	rb := kmsg.RecordBatch{
		FirstOffset: h.BaseOffset, Length: int32(HeaderSize - LengthOffset + len(records)),
		PartitionLeaderEpoch: h.PartitionLeaderEpoch, Magic: 2, Attributes: h.Attributes,
		LastOffsetDelta: h.LastOffsetDelta, FirstTimestamp: h.FirstTimestamp, MaxTimestamp: h.MaxTimestamp,
		ProducerID: h.ProducerID, ProducerEpoch: h.ProducerEpoch, FirstSequence: h.BaseSequence,
		NumRecords: h.NumRecords, Records: records,
	}
	dst = rb.AppendTo(dst)
	b := dst[start:]
	binary.BigEndian.PutUint32(b[posCRC:], crc32.Checksum(b[posAttributes:], castagnoli))
	return dst
}

// HasDeleteHorizon reports whether the cleaner has stamped the batch with
// a delete horizon (KIP-534): FirstTimestamp then holds the time after
// which its tombstones and transaction markers may be removed.
func (h Header) HasDeleteHorizon() bool { return h.Attributes&DeleteHorizonFlagBit != 0 }
