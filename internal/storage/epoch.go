package storage

import (
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
)

// leaderEpochFile is the per-partition file Kafka's LeaderEpochFileCache
// keeps.
const leaderEpochFile = "leader-epoch-checkpoint"

// EpochEntry says that leader epoch Epoch wrote its first batch at
// StartOffset.
type EpochEntry struct {
	Epoch       int32
	StartOffset int64
}

// epochCache mirrors Kafka's LeaderEpochFileCache: entries with strictly
// increasing epochs and start offsets. It is persisted whenever it changes,
// synchronously: the recovery point may only pass an epoch's first batch
// once the entry for it is durable, or a crash could lose the entry while
// recovery (which starts at the recovery point) never sees that batch again.
type epochCache struct {
	path    string
	mu      sync.RWMutex // guards entries; writers are also serialized by Log.mu
	entries []EpochEntry
}

// loadEpochCache reads the checkpoint; a missing file is an empty cache.
// exists false (the directory listing has no checkpoint) skips the read.
func loadEpochCache(dir string, exists bool) (*epochCache, error) {
	c := &epochCache{path: filepath.Join(dir, leaderEpochFile)}
	if !exists {
		return c, nil
	}
	rows, err := readCheckpoint(c.path, 2)
	if err != nil {
		return c, err
	}
	for i, r := range rows {
		e, err1 := strconv.ParseInt(r[0], 10, 32)
		off, err2 := strconv.ParseInt(r[1], 10, 64)
		if err1 != nil || err2 != nil || e < 0 || off < 0 {
			return c, corruptf(c.path, 0, "bad leader epoch line %d", i+3)
		}
		n := len(c.entries)
		if n > 0 && (int32(e) <= c.entries[n-1].Epoch || off < c.entries[n-1].StartOffset) {
			return c, corruptf(c.path, 0, "leader epoch line %d is not increasing", i+3)
		}
		c.entries = append(c.entries, EpochEntry{Epoch: int32(e), StartOffset: off})
	}
	return c, nil
}

func (c *epochCache) persist() error { return c.persistEntries(c.entries) }

// persistEntries writes entries as the checkpoint, durably.
func (c *epochCache) persistEntries(entries []EpochEntry) error {
	return writeFileAtomic(c.path, encodeEpochs(entries))
}

// persistEntriesLazily writes entries as the checkpoint without an fsync;
// the log's next flush makes it durable before it moves the recovery point
// (as Kafka flushes the checkpoint written on an append asynchronously:
// an fsync per partition at its first append stalled produce to many new
// partitions). After a crash, recovery assigns the epochs of every batch
// past the recovery point again.
func (c *epochCache) persistEntriesLazily(entries []EpochEntry) error {
	return writeFileLazily(c.path, encodeEpochs(entries))
}

func encodeEpochs(entries []EpochEntry) []byte {
	lines := make([]string, len(entries))
	for i, e := range entries {
		lines[i] = fmt.Sprintf("%d %d", e.Epoch, e.StartOffset)
	}
	return formatCheckpoint(lines)
}

// assigned returns the entries assign(epoch, offset) would leave, when it
// would change the cache, so that they can be persisted first.
func (c *epochCache) assigned(epoch int32, offset int64) ([]EpochEntry, bool) {
	if epoch < 0 {
		return nil, false
	}
	if last, ok := c.latest(); ok && epoch <= last.Epoch {
		return nil, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := len(c.entries)
	for n > 0 && c.entries[n-1].StartOffset >= offset {
		n--
	}
	out := make([]EpochEntry, n, n+1)
	copy(out, c.entries)
	return append(out, EpochEntry{Epoch: epoch, StartOffset: offset}), true
}

func (c *epochCache) latest() (EpochEntry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if len(c.entries) == 0 {
		return EpochEntry{}, false
	}
	return c.entries[len(c.entries)-1], true
}

// assign records that epoch starts at offset if epoch is newer than the
// latest one (Kafka assigns only on a strictly greater epoch). Entries at
// or after offset, which a new leader's history overrides, are dropped.
// It reports whether the cache changed; the caller persists.
func (c *epochCache) assign(epoch int32, offset int64) bool {
	if epoch < 0 {
		return false
	}
	if last, ok := c.latest(); ok && epoch <= last.Epoch {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.entries)
	for n > 0 && c.entries[n-1].StartOffset >= offset {
		n--
	}
	c.entries = append(c.entries[:n], EpochEntry{Epoch: epoch, StartOffset: offset})
	return true
}

// truncateFromEnd drops entries starting at or after end (the new log end
// offset after a truncation).
func (c *epochCache) truncateFromEnd(end int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.entries)
	for n > 0 && c.entries[n-1].StartOffset >= end {
		n--
	}
	changed := n != len(c.entries)
	c.entries = c.entries[:n]
	return changed
}

// truncateFromStart drops entries that start at or below start, keeping the
// last of them moved up to start: that epoch still covers the new first
// offset.
func (c *epochCache) truncateFromStart(start int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := 0
	for i < len(c.entries) && c.entries[i].StartOffset <= start {
		i++
	}
	if i == 0 || (i == 1 && c.entries[0].StartOffset == start) {
		return false
	}
	kept := EpochEntry{Epoch: c.entries[i-1].Epoch, StartOffset: start}
	c.entries = append([]EpochEntry{kept}, c.entries[i:]...)
	return true
}

// endOffsetFor answers OffsetForLeaderEpoch like Kafka's
// LeaderEpochFileCache.endOffsetFor: for the latest epoch, the log end
// offset; for an older known epoch, the start offset of the next higher
// epoch, reported with the largest known epoch <= the requested one; for an
// epoch older than every entry, the first entry's start offset with the
// requested epoch; for an unknown newer epoch or -1, (-1, -1).
func (c *epochCache) endOffsetFor(epoch int32, logEnd int64) (int32, int64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := len(c.entries)
	if epoch < 0 || n == 0 {
		return -1, -1
	}
	if c.entries[n-1].Epoch == epoch {
		return epoch, logEnd
	}
	// higher is the first entry with an epoch above the requested one.
	higher := 0
	for higher < n && c.entries[higher].Epoch <= epoch {
		higher++
	}
	if higher == n {
		return -1, -1
	}
	if higher == 0 {
		return epoch, c.entries[0].StartOffset
	}
	return c.entries[higher-1].Epoch, c.entries[higher].StartOffset
}

func (c *epochCache) snapshot() []EpochEntry {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]EpochEntry(nil), c.entries...)
}
