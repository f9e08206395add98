package storage

import (
	"errors"
	"os"

	"github.com/samsa-streaming/samsa/internal/record"
)

// Transaction markers and the log cleaner, as Kafka's LogCleaner does it
// (CleanedTransactionMetadata, cleanInto's checkBatchRetention, KIP-534):
//
//   - The rewriting pass walks every batch from the first segment on, in
//     offset order. A marker is "empty" when the pass walked no
//     transactional data batch of its producer since that producer's
//     previous marker: no record of its transaction is left anywhere in
//     the log (the transaction's batches all precede its marker, and the
//     walk starts at the first segment). Aborted data is dropped by the
//     pass that first sees it, so an ABORT marker becomes empty at the
//     next pass; a committed transaction's once compaction has removed
//     all its batches. A batch kept as an empty header (its producer's
//     last) still counts as data.
//   - An empty marker without a delete horizon is stamped with one, now +
//     delete.retention.ms, as a batch with tombstones is; a later pass
//     that finds it empty again past that horizon drops it. Consumers
//     that were reading the transaction meanwhile see the marker.
//   - The .txnindex entry of an empty ABORT marker goes as soon as the
//     marker is found empty: an entry must never outlive its marker (a
//     read_committed consumer given the entry skips the producer's
//     transactional batches until it sees an ABORT marker).
//   - A producer's last marker is kept, as Kafka keeps it (it holds the
//     producer's epoch should the state be rebuilt from the log). The
//     producer table knows the last marker of every producer that wrote
//     one since the table was loaded; for the others (loaded from a
//     snapshot) every marker of the producer's current epoch is kept if
//     it has no remembered data batch (Kafka's rule), until a pass that
//     walked the whole log past the load point tells the table.
//   - Nothing at or past the pass's limit (the first unstable offset, the
//     high watermark) is judged, and once a group was not swapped in (a
//     segment went while it was read) no marker is judged empty for the
//     rest of the pass: the walk may have missed data.
//   - A producer snapshot taken inside a transaction whose marker is
//     dropped would, if recovery ever replayed from it, leave that
//     transaction open forever. Such snapshots are deleted (and the
//     directory fsynced) before the swap that drops the marker commits
//     (dropStaleSnapshots); recovery then starts from an older snapshot,
//     or from the first segment.

// producerView is what the cleaner knows of a producer from the table.
type producerView struct {
	epoch      int16
	lastMarker int64 // -1 when unknown
	batches    bool  // the table remembers a data batch of the producer
}

// removedMarker is a marker a group drops: prev is the last offset of the
// previous batch of its producer the pass walked (-1 if none), so the
// dropped marker's transaction began after prev.
type removedMarker struct {
	pid, prev, marker int64
}

// markerTracker follows the producers' transactions over the rewriting
// pass (Kafka's ongoingCommittedTxns and lastObservedBatchOffset).
type markerTracker struct {
	data     map[int64]bool  // producer id -> a transactional data batch walked since its last marker
	lastSeen map[int64]int64 // producer id -> last offset of its last batch walked
	// Of the group being written: the empty markers (offset -> producer
	// id) and the markers dropped.
	empty   map[int64]int64
	removed []removedMarker
}

func newMarkerTracker() markerTracker {
	return markerTracker{data: make(map[int64]bool), lastSeen: make(map[int64]int64), empty: make(map[int64]int64)}
}

func (t *markerTracker) startGroup() {
	clear(t.empty)
	t.removed = t.removed[:0]
}

// dataBatch notes a data batch walked by the rewriting pass, whatever
// becomes of it.
func (t *markerTracker) dataBatch(h *record.Header) {
	if h.ProducerID < 0 {
		return
	}
	t.lastSeen[h.ProducerID] = h.LastOffset()
	if h.IsTransactional() {
		t.data[h.ProducerID] = true
	}
}

// filterMarker decides the fate of a control batch: kept as it is,
// stamped with a delete horizon, or dropped (nil).
func (c *cleaner) filterMarker(h *record.Header, batch []byte, path string, pos int64) ([]byte, error) {
	pid := h.ProducerID
	if pid < 0 {
		return batch, nil
	}
	t := &c.markers
	prev, ok := t.lastSeen[pid]
	if !ok {
		prev = -1
	}
	t.lastSeen[pid] = h.LastOffset()
	c.walkedMarkers[pid] = h.BaseOffset
	if _, err := decodeMarker(batch, h); err != nil {
		// Not a marker the cleaner can judge: kept, and its producer's
		// transaction still counts as having data.
		return batch, nil
	}
	hasData := t.data[pid]
	delete(t.data, pid)
	if hasData || c.skipped || h.LastOffset() >= c.limit {
		return batch, nil
	}
	t.empty[h.BaseOffset] = pid
	if !h.HasDeleteHorizon() {
		return c.stampMarker(h, batch, path, pos)
	}
	if c.now.UnixMilli() < h.FirstTimestamp || c.lastOfProducer(h) {
		return batch, nil
	}
	t.removed = append(t.removed, removedMarker{pid: pid, prev: prev, marker: h.BaseOffset})
	c.stats.MarkersRemoved++
	c.stats.RecordsRead += int64(h.NumRecords)
	return nil, nil
}

// stampMarker rewrites a marker batch with a delete horizon.
func (c *cleaner) stampMarker(h *record.Header, batch []byte, path string, pos int64) ([]byte, error) {
	data, err := record.BatchRecords(c.recs, batch, h)
	if err != nil {
		return nil, &CorruptionError{Path: path, Pos: pos, Err: err}
	}
	if h.Compression() != record.CompressionNone {
		c.recs = data
	}
	c.kept = c.kept[:0]
	err = record.WalkRecords(data, h.NumRecords, func(r *record.Record) error {
		c.kept = append(c.kept, *r)
		return nil
	})
	if err != nil {
		return nil, &CorruptionError{Path: path, Pos: pos, Err: err}
	}
	c.stats.RecordsRead += int64(h.NumRecords)
	c.stats.MarkersStamped++
	return c.finishBatch(h, batch, true)
}

// lastOfProducer reports whether a marker may be its producer's last
// (Kafka's isBatchLastRecordOfProducer for markers).
func (c *cleaner) lastOfProducer(h *record.Header) bool {
	v, ok := c.producers[h.ProducerID]
	switch {
	case !ok:
		return false
	case v.lastMarker >= 0:
		return v.lastMarker == h.BaseOffset
	default:
		return !v.batches && v.epoch == h.ProducerEpoch
	}
}

// learnLastMarkers gives the producers whose last marker is unknown the
// last marker a cleaning pass walked, if the pass walked every batch
// below end, end is at or past the offset the table was loaded at (an
// unknown last marker lies below it), and the table was not reloaded
// since the pass began (loads).
func (p *producerState) learnLastMarkers(loads uint64, end int64, walked map[int64]int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.loads != loads || end < p.loadedAt {
		return
	}
	for id, e := range p.producers {
		if off, ok := walked[id]; ok && e.lastMarker < 0 && off < p.loadedAt {
			e.lastMarker = off
		}
	}
}

// dropStaleSnapshots deletes the producer snapshots that hold open the
// transaction of a marker about to be dropped: a snapshot at S records
// the state before offset S, so the transaction of a marker at M that
// began after prev is open in the snapshots in (prev, M] that show its
// producer with an open transaction. Unreadable snapshots in those ranges
// go too (recovery would discard them). The directory is fsynced, so the
// deletions are durable before the swap that drops the markers commits.
func (l *Log) dropStaleSnapshots(removed []removedMarker) error {
	if len(removed) == 0 {
		return nil
	}
	offs, err := listSnapshots(l.dir)
	if err != nil {
		return err
	}
	deleted := false
	for _, off := range offs {
		var check []removedMarker
		for _, r := range removed {
			if off > r.prev && off <= r.marker {
				check = append(check, r)
			}
		}
		if len(check) == 0 {
			continue
		}
		path := segmentPath(l.dir, off, snapshotSuffix)
		m, err := readSnapshot(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		stale := err != nil
		for _, r := range check {
			if e := m[r.pid]; e != nil && e.txnFirstOffset >= 0 {
				stale = true
			}
		}
		if !stale {
			continue
		}
		l.logger.Debug("deleting a producer snapshot that holds open a transaction whose marker the cleaner drops", "partition", l.tp, "path", path)
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		l.snapAt.CompareAndSwap(off, -1)
		deleted = true
	}
	if deleted {
		return syncDir(l.dir)
	}
	return nil
}
