package storage

import (
	"encoding/binary"
	"sort"
)

// timeIndex is a segment's .timeindex: sparse entries (max timestamp so far,
// offset of the batch that carried it), with strictly increasing
// timestamps. Kafka's TimeIndex uses the same layout. When a segment stops
// being active (roll, close) one last entry records the segment's max
// timestamp, so a reopened segment knows it without reading the log.
type timeIndex struct {
	*indexFile
	base    int64
	scratch [timeEntrySize]byte
}

func (x *timeIndex) entryAt(i int) (ts int64, offset int64) {
	e := x.buf[i*timeEntrySize:]
	return int64(binary.BigEndian.Uint64(e)), x.base + int64(int32(binary.BigEndian.Uint32(e[8:])))
}

// lookup returns the offset of the last entry whose timestamp is <= ts, or
// the base offset when there is none. Entries hold the max timestamp so
// far, so every batch before the one holding that offset has a max
// timestamp <= ts: a search for the first batch reaching ts starts there.
func (x *timeIndex) lookup(ts int64) int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := len(x.buf) / timeEntrySize
	i := sort.Search(n, func(i int) bool { t, _ := x.entryAt(i); return t > ts }) - 1
	if i < 0 {
		return x.base
	}
	_, off := x.entryAt(i)
	return off
}

func (x *timeIndex) last() (ts int64, offset int64, ok bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := len(x.buf) / timeEntrySize
	if n == 0 {
		return 0, 0, false
	}
	ts, offset = x.entryAt(n - 1)
	return ts, offset, true
}

// maybeAdd appends (ts, offset) only if ts is above the last entry's
// timestamp, keeping timestamps strictly increasing as Kafka does.
func (x *timeIndex) maybeAdd(ts int64, offset int64) bool {
	if lastTS, _, ok := x.last(); ok && ts <= lastTS {
		return false
	}
	binary.BigEndian.PutUint64(x.scratch[0:], uint64(ts))
	binary.BigEndian.PutUint32(x.scratch[8:], uint32(int32(offset-x.base)))
	x.appendEntry(x.scratch[:])
	return true
}

// countBefore returns how many entries point at offsets below offset.
func (x *timeIndex) countBefore(offset int64) int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := len(x.buf) / timeEntrySize
	return sort.Search(n, func(i int) bool { _, o := x.entryAt(i); return o >= offset })
}

// check verifies that timestamps strictly increase, offsets do not go
// backwards and none is past lastOffset.
func (x *timeIndex) check(lastOffset int64) error {
	n := len(x.buf) / timeEntrySize
	prevTS, prevOff := int64(-1<<63), x.base
	for i := 0; i < n; i++ {
		ts, off := x.entryAt(i)
		if (i > 0 && ts <= prevTS) || off < prevOff || off > lastOffset {
			return corruptf(x.path, int64(i*timeEntrySize), "entry %d (timestamp %d, offset %d) out of order or past offset %d", i, ts, off, lastOffset)
		}
		prevTS, prevOff = ts, off
	}
	return nil
}
