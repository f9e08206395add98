package record

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Message sets of magic 0 and 1 (Kafka before 0.11) are what Produce v0-v2
// carries and Fetch v0-v3 returns. Samsa stores only v2 batches, as Kafka 3
// does: FromMessageSet up-converts a produced message set into one v2
// batch, and ToMessageSet down-converts stored batches for an old fetcher.
// Both decode with kmsg and decompress with Decompress (bounded); they
// are off the hot path (only old clients use these versions).

// ErrLegacy is wrapped by errors about a malformed message set.
var ErrLegacy = fmt.Errorf("%w: bad legacy message set", ErrCorrupt)

// maxLegacyBytes bounds what one compressed wrapper or batch may expand to.
const maxLegacyBytes = 64 << 20

// maxLegacyRecords bounds how many records one converted batch may hold, so
// a small compressed input cannot expand without limit.
const maxLegacyRecords = 1 << 20

type legacyMessage struct {
	timestamp  int64
	key, value []byte
}

// FromMessageSet converts a magic 0/1 message set (possibly with
// compressed wrapper messages) into one uncompressed v2 batch with base
// offset 0, ready for ValidateProduced. Timestamps of magic 0 messages are
// -1 (none), as Kafka converts them.
func FromMessageSet(set []byte) ([]byte, error) {
	var msgs []legacyMessage
	if err := walkMessageSet(set, 0, &msgs); err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrLegacy)
	}
	first, maxTS := msgs[0].timestamp, int64(-1)
	for _, m := range msgs {
		maxTS = max(maxTS, m.timestamp)
	}
	var recs []byte
	for i, m := range msgs {
		delta := int64(0)
		if m.timestamp >= 0 && first >= 0 {
			delta = m.timestamp - first
		}
		r := kmsg.Record{TimestampDelta64: delta, OffsetDelta: int32(i), Key: m.key, Value: m.value}
		recs = AppendRecord(recs, &r)
	}
	b := kmsg.RecordBatch{
		Magic: 2, LastOffsetDelta: int32(len(msgs) - 1), FirstTimestamp: first, MaxTimestamp: maxTS,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(len(msgs)), Records: recs,
	}
	return finishBatch(&b), nil
}

// walkMessageSet appends the messages of set to out, descending into
// compressed wrappers (to a depth of one, as Kafka allows).
func walkMessageSet(set []byte, depth int, out *[]legacyMessage) error {
	for len(set) > 0 {
		if len(set) < 12 {
			return fmt.Errorf("%w: truncated message header", ErrLegacy)
		}
		size := int64(int32(binary.BigEndian.Uint32(set[8:])))
		if size < 14 || size > int64(len(set))-12 {
			if depth == 0 && size >= 14 {
				return fmt.Errorf("%w: message runs past the set", ErrLegacy)
			}
			return fmt.Errorf("%w: message size %d", ErrLegacy, size)
		}
		msg := set[:12+size]
		set = set[12+size:]
		if crc32.ChecksumIEEE(msg[16:]) != binary.BigEndian.Uint32(msg[12:]) {
			return fmt.Errorf("%w: message crc mismatch", ErrLegacy)
		}
		var m legacyMessage
		var attrs int8
		switch magic := msg[16]; magic {
		case 0:
			var v kmsg.MessageV0
			if err := v.ReadFrom(msg); err != nil {
				return fmt.Errorf("%w: %v", ErrLegacy, err)
			}
			m, attrs = legacyMessage{timestamp: -1, key: v.Key, value: v.Value}, v.Attributes
		case 1:
			var v kmsg.MessageV1
			if err := v.ReadFrom(msg); err != nil {
				return fmt.Errorf("%w: %v", ErrLegacy, err)
			}
			m, attrs = legacyMessage{timestamp: v.Timestamp, key: v.Key, value: v.Value}, v.Attributes
		default:
			return fmt.Errorf("%w: magic %d in a message set", ErrLegacy, magic)
		}
		codec := attrs & CompressionMask
		if codec == CompressionNone {
			if len(*out) >= maxLegacyRecords {
				return fmt.Errorf("%w: more than %d messages", ErrLegacy, maxLegacyRecords)
			}
			*out = append(*out, m)
			continue
		}
		if depth > 0 {
			return fmt.Errorf("%w: nested compression", ErrLegacy)
		}
		inner, err := Decompress(nil, m.value, int(codec), maxLegacyBytes)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrLegacy, err)
		}
		if err := walkMessageSet(inner, depth+1, out); err != nil {
			return err
		}
	}
	return nil
}

// ToMessageSet converts the complete v2 batches in data (a trailing
// partial batch is dropped, as a client would) into an uncompressed message
// set of the given magic (0 or 1), keeping offsets. Control batches are
// skipped. It stops once the output passes maxBytes (after at least one
// message).
func ToMessageSet(data []byte, magic int8, maxBytes int) ([]byte, error) {
	var out []byte
	for len(data) >= HeaderSize {
		h, err := ParseHeader(data)
		if err != nil {
			return out, err
		}
		if h.TotalSize() > int64(len(data)) {
			break // partial trailing batch
		}
		batch := data[:h.TotalSize()]
		data = data[h.TotalSize():]
		if h.IsControl() {
			continue
		}
		if out, err = appendBatchAsMessages(out, batch, h, magic); err != nil {
			return out, err
		}
		if len(out) >= maxBytes {
			break
		}
	}
	return out, nil
}

func appendBatchAsMessages(out, batch []byte, h Header, magic int8) ([]byte, error) {
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(batch); err != nil {
		return out, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	recs, err := Decompress(nil, rb.Records, h.Compression(), maxLegacyBytes)
	if err != nil {
		return out, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	for i := int32(0); i < h.NumRecords && len(recs) > 0; i++ {
		l, n := binary.Varint(recs)
		if n <= 0 || l < 0 || l > int64(len(recs)-n) {
			return out, fmt.Errorf("%w: record length", ErrCorrupt)
		}
		var r kmsg.Record
		if err := r.ReadFrom(recs[:n+int(l)]); err != nil {
			return out, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		recs = recs[n+int(l):]
		ts := h.FirstTimestamp + r.TimestampDelta64
		var attrs int8
		if h.HasLogAppendTime() {
			ts, attrs = h.MaxTimestamp, TimestampTypeBit
		}
		out = appendMessage(out, h.BaseOffset+int64(r.OffsetDelta), magic, attrs, ts, r.Key, r.Value)
	}
	return out, nil
}

func appendMessage(out []byte, offset int64, magic, attrs int8, ts int64, key, value []byte) []byte {
	start := len(out)
	out = binary.BigEndian.AppendUint64(out, uint64(offset))
	out = append(out, 0, 0, 0, 0, 0, 0, 0, 0) // size and crc, filled below
	out = append(out, byte(magic))
	if magic == 0 {
		attrs &= CompressionMask // magic 0 has no timestamp type
	}
	out = append(out, byte(attrs))
	if magic == 1 {
		out = binary.BigEndian.AppendUint64(out, uint64(ts))
	}
	out = appendNullableBytes(out, key)
	out = appendNullableBytes(out, value)
	binary.BigEndian.PutUint32(out[start+8:], uint32(len(out)-start-12))
	binary.BigEndian.PutUint32(out[start+12:], crc32.ChecksumIEEE(out[start+16:]))
	return out
}

func appendNullableBytes(out, b []byte) []byte {
	if b == nil {
		return binary.BigEndian.AppendUint32(out, 0xffffffff)
	}
	out = binary.BigEndian.AppendUint32(out, uint32(len(b)))
	return append(out, b...)
}

// IsMessageSet reports whether records look like a magic 0/1 message set
// rather than v2 batches (the magic byte sits at the same position).
func IsMessageSet(records []byte) bool {
	return len(records) > 16 && records[16] < 2
}
