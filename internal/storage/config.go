package storage

import (
	"math"
	"time"
)

// Config holds the per-log settings, named after the Kafka broker and topic
// configs they mirror. Zero fields of the segment and flush settings take
// Kafka's defaults; the retention and compaction settings are used as
// given (see DefaultConfig for Kafka's values).
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
	// WritebackBytes is log.writeback.interval.bytes (Samsa only): each time
	// this many bytes were appended to a segment since the last time, the
	// Log asks the kernel to start writing them out (sync_file_range
	// SYNC_FILE_RANGE_WRITE on Linux), without waiting and up to a page
	// boundary, so the page being appended to is never under writeback.
	// Zero leaves writeback to the kernel.
	WritebackBytes int64
	// FlushInterval is log.flush.interval.ms. The Log keeps no goroutine; the
	// caller runs a ticker and calls Flush on logs whose LastFlush is older.
	// Zero or negative means never by time.
	FlushInterval time.Duration

	// CleanupDelete and CleanupCompact are cleanup.policy's "delete" and
	// "compact". With neither (the zero Config) nothing is ever removed by
	// retention or compaction.
	CleanupDelete, CleanupCompact bool
	// RetentionTime is retention.ms: with CleanupDelete, a non-active
	// segment whose largest timestamp is more than this before now is
	// deleted. Negative keeps forever; zero deletes every non-active
	// segment (Kafka's retention.ms=0). It is not defaulted: the zero
	// Config has CleanupDelete off.
	RetentionTime time.Duration
	// RetentionBytes is retention.bytes: with CleanupDelete, the oldest
	// segments are deleted while the log is larger than this by at least
	// their size. Negative is unlimited.
	RetentionBytes int64
	// FileDeleteDelay is file.delete.delay.ms: deleted segments are renamed
	// to .deleted and unlinked this much later by RemoveDeleted. Zero
	// unlinks at once.
	FileDeleteDelay time.Duration
	// DeleteRetention is delete.retention.ms: how long the cleaner keeps a
	// tombstone after it first stamped its batch with a delete horizon.
	DeleteRetention time.Duration
	// MinCompactionLag is min.compaction.lag.ms: a segment holding a record
	// younger than this is not cleaned.
	MinCompactionLag time.Duration
	// MaxCompactionLag is max.compaction.lag.ms: a log whose oldest dirty
	// batch is older than this is cleaned whatever its dirty ratio. Zero
	// or negative means no bound.
	MaxCompactionLag time.Duration
	// MinCleanableRatio is min.cleanable.dirty.ratio: the cleaner skips a
	// log whose dirty bytes are a smaller share of its cleanable bytes.
	MinCleanableRatio float64

	// MaxOpenFiles is log.max.open.files (Samsa only), a process-wide
	// setting read by OpenDir alone: how many descriptors segment files may
	// hold at once (see OpenFiles). Zero or negative derives it: 60% of the
	// process's soft RLIMIT_NOFILE. Values below 8 are raised to 8.
	MaxOpenFiles int
	// MinFreeBytes is log.dir.min.free.bytes (Samsa only), read by
	// OpenDir alone: below it (or below 1,024 free inodes) appends from
	// clients and leaders are refused with ErrNoSpace until space returns.
	// Negative derives it: 5% of the file system, at most 1 GiB. Zero
	// turns the guard off.
	MinFreeBytes int64
}

// Kafka's defaults for the settings above.
const (
	DefaultSegmentBytes       = 1 << 30
	DefaultSegmentRoll        = 7 * 24 * time.Hour
	DefaultIndexIntervalBytes = 4096
	DefaultSegmentIndexBytes  = 10 << 20
	DefaultRetentionTime      = 7 * 24 * time.Hour
	DefaultFileDeleteDelay    = time.Minute
	DefaultDeleteRetention    = 24 * time.Hour
	DefaultMinCleanableRatio  = 0.5
)

// DefaultConfig returns Kafka's defaults (cleanup.policy=delete, seven days
// of retention).
func DefaultConfig() Config {
	return Config{
		SegmentBytes:       DefaultSegmentBytes,
		SegmentRoll:        DefaultSegmentRoll,
		IndexIntervalBytes: DefaultIndexIntervalBytes,
		SegmentIndexBytes:  DefaultSegmentIndexBytes,
		CleanupDelete:      true,
		RetentionTime:      DefaultRetentionTime,
		RetentionBytes:     -1,
		FileDeleteDelay:    DefaultFileDeleteDelay,
		DeleteRetention:    DefaultDeleteRetention,
		MinCleanableRatio:  DefaultMinCleanableRatio,
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
