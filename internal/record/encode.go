package record

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// EncodeBatch encodes a v2 batch holding records (uncompressed), filling in
// what follows from them: the records' length prefixes, the record count,
// the last offset delta, the batch length and the CRC. The caller sets the
// records' offset and timestamp deltas and the batch's producer fields,
// timestamps and attributes in b (b.Records is overwritten). It is what
// the broker uses to write its own batches (converted message sets,
// internal topics) and what tests use to make batches.
func EncodeBatch(b *kmsg.RecordBatch, records []kmsg.Record) []byte {
	b.Magic = 2
	b.Records = b.Records[:0]
	for i := range records {
		b.Records = AppendRecord(b.Records, &records[i])
	}
	b.NumRecords = int32(len(records))
	if len(records) > 0 {
		b.LastOffsetDelta = records[len(records)-1].OffsetDelta
	}
	return finishBatch(b)
}

// NewBatch is EncodeBatch for the common case: no producer id, record i at
// offset delta i, every record at timestamp ts.
func NewBatch(ts int64, records ...kmsg.Record) []byte {
	for i := range records {
		records[i].OffsetDelta = int32(i)
	}
	return EncodeBatch(&kmsg.RecordBatch{FirstTimestamp: ts, MaxTimestamp: ts, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1}, records)
}

// AppendRecord appends r with its varint length prefix computed.
func AppendRecord(dst []byte, r *kmsg.Record) []byte {
	r.Length = 0
	body := r.AppendTo(nil)
	r.Length = int32(len(body) - 1) // the zero length took one byte
	return r.AppendTo(dst)
}

// finishBatch encodes b with its length and CRC set.
func finishBatch(b *kmsg.RecordBatch) []byte {
	raw := b.AppendTo(nil)
	b.Length = int32(len(raw) - LengthOffset)
	raw = b.AppendTo(raw[:0])
	binary.BigEndian.PutUint32(raw[posCRC:], crc32.Checksum(raw[posAttributes:], castagnoli))
	return raw
}
