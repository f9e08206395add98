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
// increasing epochs and start offsets. The recovery point may only pass an
// epoch's first batch once the entry for it is durable, or a crash could
// lose the entry while recovery (which starts at the recovery point) never
// sees that batch again: truncations and retention persist it at once; an
// append that starts an epoch leaves it to the Log's next Flush or Close,
// which write it before they move the recovery point.
type epochCache struct {
	path    string
	mu      sync.RWMutex // guards entries; writers are also serialized by Log.mu
	entries []EpochEntry
	// fileMu serializes writing the checkpoint (a Flush beside a
	// truncation): each write takes its copy of the entries under it, so
	// the file ends with the newest.
	fileMu sync.Mutex
}

// loadEpochCache reads the checkpoint; a missing file is an empty cache.
// exists false (the directory listing has no checkpoint) skips the read.
func loadEpochCache(dir string, exists bool) (*epochCache, error) {
	c := &epochCache{path: filepath.Join(dir, leaderEpochFile)}
	if !exists {
		return c, nil
	}
	rows, at, err := readCheckpoint(c.path, 2)
	if err != nil {
		return c, err
	}
	for i, r := range rows {
		e, err1 := strconv.ParseInt(r[0], 10, 32)
		off, err2 := strconv.ParseInt(r[1], 10, 64)
		if err1 != nil || err2 != nil || e < 0 || off < 0 {
			return c, corruptf(c.path, at[i], "bad leader epoch line %d", i+3)
		}
		n := len(c.entries)
		if n > 0 && (int32(e) <= c.entries[n-1].Epoch || off < c.entries[n-1].StartOffset) {
			return c, corruptf(c.path, at[i], "leader epoch line %d is not increasing", i+3)
		}
		c.entries = append(c.entries, EpochEntry{Epoch: int32(e), StartOffset: off})
	}
	return c, nil
}

// persist writes the entries as the checkpoint, durably. It runs beside
// appends and truncations (a Flush), so it copies the entries under the
// read lock, and beside other persists, which fileMu orders.
func (c *epochCache) persist() error {
	c.fileMu.Lock()
	defer c.fileMu.Unlock()
	c.mu.RLock()
	data := encodeEpochs(c.entries)
	c.mu.RUnlock()
	return writeFileAtomic(c.path, data)
}

func encodeEpochs(entries []EpochEntry) []byte {
	lines := make([]string, len(entries))
	for i, e := range entries {
		lines[i] = fmt.Sprintf("%d %d", e.Epoch, e.StartOffset)
	}
	return formatCheckpoint(lines)
}

// starts reports whether a batch of epoch would start a new entry (what
// assign does with it changes the cache).
func (c *epochCache) starts(epoch int32) bool {
	if epoch < 0 {
		return false
	}
	last, ok := c.latest()
	return !ok || epoch > last.Epoch
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
