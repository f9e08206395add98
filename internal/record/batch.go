package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// HeaderSize is the size in bytes of a v2 record batch header, from the
// first byte of BaseOffset to the end of the record count.
const HeaderSize = 61

// LengthOffset is the number of bytes before the batch length field that
// are not counted by it (BaseOffset int64 + BatchLength int32).
const LengthOffset = 12

// Byte positions of the header fields inside a batch.
const (
	posBaseOffset     = 0
	posLength         = 8
	posLeaderEpoch    = 12
	posMagic          = 16
	posCRC            = 17
	posAttributes     = 21
	posLastDelta      = 23
	posFirstTimestamp = 27
	posMaxTimestamp   = 35
	posProducerID     = 43
	posProducerEpoch  = 51
	posBaseSequence   = 53
	posNumRecords     = 57
)

// Attribute bits of a v2 batch.
const (
	CompressionMask      = 0x07
	TimestampTypeBit     = 0x08
	TransactionalBit     = 0x10
	ControlBit           = 0x20
	DeleteHorizonFlagBit = 0x40
)

// Compression codecs as stored in the low three attribute bits.
const (
	CompressionNone   = 0
	CompressionGzip   = 1
	CompressionSnappy = 2
	CompressionLZ4    = 3
	CompressionZstd   = 4
)

// Errors returned by this package. Every validation failure wraps
// ErrCorrupt, which the broker maps to CORRUPT_MESSAGE.
var (
	// ErrCorrupt is wrapped by every error that says the bytes are not a
	// well-formed v2 batch.
	ErrCorrupt = errors.New("corrupt record batch")
	// ErrShort means the input ends before the batch does. During recovery
	// this is a torn write; on the wire it is a corrupt request.
	ErrShort = fmt.Errorf("%w: truncated", ErrCorrupt)
	// ErrMagic means the batch is not magic 2. Kafka 4 stores only v2.
	ErrMagic = fmt.Errorf("%w: unsupported magic", ErrCorrupt)
	// ErrCRC means the CRC32C does not match the batch contents.
	ErrCRC = fmt.Errorf("%w: crc mismatch", ErrCorrupt)
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header is the decoded v2 batch header.
type Header struct {
	BaseOffset           int64
	Length               int32
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	FirstTimestamp       int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	NumRecords           int32
}

// LastOffset is the offset of the last record in the batch.
func (h Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// TotalSize is the number of bytes the whole batch occupies.
func (h Header) TotalSize() int64 { return int64(h.Length) + LengthOffset }

// Compression is the codec in the attributes.
func (h Header) Compression() int { return int(h.Attributes & CompressionMask) }

// IsTransactional reports whether the batch belongs to a transaction.
func (h Header) IsTransactional() bool { return h.Attributes&TransactionalBit != 0 }

// IsControl reports whether the batch holds control records (commit/abort
// markers).
func (h Header) IsControl() bool { return h.Attributes&ControlBit != 0 }

// HasLogAppendTime reports whether the timestamps are broker-assigned.
func (h Header) HasLogAppendTime() bool { return h.Attributes&TimestampTypeBit != 0 }

// IsIdempotent reports whether a producer id is set.
func (h Header) IsIdempotent() bool { return h.ProducerID >= 0 }

// LastSequence is the sequence number of the last record, wrapping at
// math.MaxInt32 the way Kafka does. It is -1 when the batch has no sequence.
func (h Header) LastSequence() int32 {
	if h.BaseSequence < 0 {
		return -1
	}
	last := int64(h.BaseSequence) + int64(h.LastOffsetDelta)
	if last > 1<<31-1 {
		last -= 1 << 31
	}
	return int32(last)
}

// ParseHeader decodes the header of the batch that starts at b[0]. It needs
// at least HeaderSize bytes, checks the magic byte and that the length is
// plausible, and does not look at the CRC or at bytes past the header.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, ErrShort
	}
	be := binary.BigEndian
	h := Header{
		BaseOffset:           int64(be.Uint64(b[posBaseOffset:])),
		Length:               int32(be.Uint32(b[posLength:])),
		PartitionLeaderEpoch: int32(be.Uint32(b[posLeaderEpoch:])),
		Magic:                int8(b[posMagic]),
		CRC:                  be.Uint32(b[posCRC:]),
		Attributes:           int16(be.Uint16(b[posAttributes:])),
		LastOffsetDelta:      int32(be.Uint32(b[posLastDelta:])),
		FirstTimestamp:       int64(be.Uint64(b[posFirstTimestamp:])),
		MaxTimestamp:         int64(be.Uint64(b[posMaxTimestamp:])),
		ProducerID:           int64(be.Uint64(b[posProducerID:])),
		ProducerEpoch:        int16(be.Uint16(b[posProducerEpoch:])),
		BaseSequence:         int32(be.Uint32(b[posBaseSequence:])),
		NumRecords:           int32(be.Uint32(b[posNumRecords:])),
	}
	if h.Magic != 2 {
		return h, fmt.Errorf("%w %d", ErrMagic, h.Magic)
	}
	if h.Length < HeaderSize-LengthOffset {
		return h, fmt.Errorf("%w: batch length %d below header size", ErrCorrupt, h.Length)
	}
	if h.LastOffsetDelta < 0 || h.NumRecords < 0 {
		return h, fmt.Errorf("%w: negative record count or offset delta", ErrCorrupt)
	}
	return h, nil
}

// Validate checks that b is exactly one complete, intact v2 batch: the
// header parses, the length matches len(b), and the CRC32C over attributes
// to the end matches.
func Validate(b []byte) (Header, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return h, err
	}
	if h.TotalSize() != int64(len(b)) {
		if h.TotalSize() > int64(len(b)) {
			return h, ErrShort
		}
		return h, fmt.Errorf("%w: batch length %d but %d bytes given", ErrCorrupt, h.TotalSize(), len(b))
	}
	if crc32.Checksum(b[posAttributes:], castagnoli) != h.CRC {
		return h, ErrCRC
	}
	return h, nil
}

// ValidateProduced applies the stricter checks Kafka makes on a batch that
// a producer sends (as opposed to one read back from disk): the record count
// must match the offset delta, since offsets are assigned contiguously, and
// a batch must hold at least one record.
func ValidateProduced(b []byte) (Header, error) {
	h, err := Validate(b)
	if err != nil {
		return h, err
	}
	if h.NumRecords == 0 || int64(h.NumRecords) != int64(h.LastOffsetDelta)+1 {
		return h, fmt.Errorf("%w: %d records but last offset delta %d", ErrCorrupt, h.NumRecords, h.LastOffsetDelta)
	}
	if h.Compression() > CompressionZstd {
		return h, fmt.Errorf("%w: unknown compression codec %d", ErrCorrupt, h.Compression())
	}
	return h, nil
}

// SetBaseOffset overwrites the base offset of the batch at b[0]. The field
// is outside the CRC.
func SetBaseOffset(b []byte, off int64) {
	binary.BigEndian.PutUint64(b[posBaseOffset:], uint64(off))
}

// SetPartitionLeaderEpoch overwrites the partition leader epoch of the batch
// at b[0]. The field is outside the CRC.
func SetPartitionLeaderEpoch(b []byte, epoch int32) {
	binary.BigEndian.PutUint32(b[posLeaderEpoch:], uint32(epoch))
}

// SetLogAppendTime marks the batch at b[0] as carrying broker time ts, sets
// its max timestamp, and recomputes the CRC (both fields are inside it).
// Kafka leaves per-record timestamp deltas alone; readers use the max
// timestamp for every record of a LogAppendTime batch.
func SetLogAppendTime(b []byte, ts int64) {
	be := binary.BigEndian
	attrs := be.Uint16(b[posAttributes:]) | TimestampTypeBit
	be.PutUint16(b[posAttributes:], attrs)
	be.PutUint64(b[posMaxTimestamp:], uint64(ts))
	be.PutUint32(b[posCRC:], crc32.Checksum(b[posAttributes:], castagnoli))
}

// Split calls fn for each whole batch in b (a produce request's records
// field may in principle hold several). It returns ErrShort if b ends in
// the middle of a batch and stops at the first error fn returns.
func Split(b []byte, fn func(batch []byte) error) error {
	for len(b) > 0 {
		if len(b) < LengthOffset {
			return ErrShort
		}
		n := int64(int32(binary.BigEndian.Uint32(b[posLength:]))) + LengthOffset
		if n < HeaderSize {
			return fmt.Errorf("%w: batch length %d below header size", ErrCorrupt, n-LengthOffset)
		}
		if n > int64(len(b)) {
			return ErrShort
		}
		if err := fn(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}
