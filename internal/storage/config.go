package storage

import (
	"math"
	"time"
)

// Config holds the per-log settings, named after the Kafka broker and topic
// configs they mirror. Zero fields take Kafka's defaults (see DefaultConfig).
type Config struct {
	// SegmentBytes is log.segment.bytes: a segment is rolled before a batch
	// would make it larger. It also bounds the size of one batch. It is
	// clamped to math.MaxInt32 because index positions are int32.
	SegmentBytes int64
	// SegmentRoll is log.roll.ms: the active segment is rolled when the
	// incoming batch's max timestamp is this much later than the max
	// timestamp of the segment's first batch (Kafka's rule; without
	// timestamps the segment's creation time and the append time are used).
	SegmentRoll time.Duration
	// IndexIntervalBytes is log.index.interval.bytes: an index entry is added
	// when more than this many bytes were appended since the last one.
	IndexIntervalBytes int32
	// SegmentIndexBytes is log.index.size.max.bytes: the segment is rolled
	// when its offset or time index would exceed this size.
	SegmentIndexBytes int32
	// FlushMessages is log.flush.interval.messages: Append fsyncs after this
	// many records since the last flush. Zero or math.MaxInt64 means never
	// by count.
	FlushMessages int64
	// FlushInterval is log.flush.interval.ms. The Log keeps no goroutine; the
	// caller runs a ticker and calls Flush on logs whose LastFlush is older.
	// Zero or negative means never by time.
	FlushInterval time.Duration
}

// Kafka's defaults for the settings above.
const (
	DefaultSegmentBytes       = 1 << 30
	DefaultSegmentRoll        = 7 * 24 * time.Hour
	DefaultIndexIntervalBytes = 4096
	DefaultSegmentIndexBytes  = 10 << 20
)

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		SegmentBytes:       DefaultSegmentBytes,
		SegmentRoll:        DefaultSegmentRoll,
		IndexIntervalBytes: DefaultIndexIntervalBytes,
		SegmentIndexBytes:  DefaultSegmentIndexBytes,
	}
}

// withDefaults fills zero fields and clamps the rest to what the file
// formats can hold.
func (c Config) withDefaults() Config {
	if c.SegmentBytes <= 0 {
		c.SegmentBytes = DefaultSegmentBytes
	}
	if c.SegmentBytes > math.MaxInt32 {
		c.SegmentBytes = math.MaxInt32
	}
	// A segment must hold at least one header-sized batch.
	if c.SegmentBytes < 128 {
		c.SegmentBytes = 128
	}
	if c.SegmentRoll <= 0 {
		c.SegmentRoll = DefaultSegmentRoll
	}
	if c.IndexIntervalBytes <= 0 {
		c.IndexIntervalBytes = DefaultIndexIntervalBytes
	}
	if c.SegmentIndexBytes <= 0 {
		c.SegmentIndexBytes = DefaultSegmentIndexBytes
	}
	// Kafka requires room for at least one entry; 12 bytes fits one of each.
	if c.SegmentIndexBytes < timeEntrySize {
		c.SegmentIndexBytes = timeEntrySize
	}
	if c.FlushMessages <= 0 {
		c.FlushMessages = math.MaxInt64
	}
	return c
}
