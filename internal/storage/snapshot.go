package storage

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Producer snapshots use Kafka's ProducerStateManager snapshot format,
// version 1 (see docs/format/log.md):
//
//	version int16 | crc uint32 (CRC32C of everything after it) |
//	count int32 | count × entry (46 bytes)
//
// Kafka writes one entry per producer describing its last batch. We write
// one entry per remembered batch, oldest first, so the five-batch duplicate
// window survives a restart; Kafka reading our file keeps the last entry of
// each producer, which is exactly the entry it would have written itself.
const (
	snapshotVersion   = 1
	snapshotHeader    = 10 // version + crc + count
	snapshotEntrySize = 46
	// maxSnapshotBytes bounds what is read from a snapshot file.
	maxSnapshotBytes = 256 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func encodeSnapshot(entries []*producerEntry) []byte {
	count := 0
	for _, e := range entries {
		count += max(e.n, 1)
	}
	b := make([]byte, snapshotHeader, snapshotHeader+count*snapshotEntrySize)
	be := binary.BigEndian
	be.PutUint16(b[0:], snapshotVersion)
	be.PutUint32(b[6:], uint32(count))
	put := func(e *producerEntry, lastSeq int32, lastOffset int64, delta int32, ts int64) {
		var r [snapshotEntrySize]byte
		be.PutUint64(r[0:], uint64(e.id))
		be.PutUint16(r[8:], uint16(e.epoch))
		be.PutUint32(r[10:], uint32(lastSeq))
		be.PutUint64(r[14:], uint64(lastOffset))
		be.PutUint32(r[22:], uint32(delta))
		be.PutUint64(r[26:], uint64(ts))
		be.PutUint32(r[34:], uint32(e.coordinatorEpoch))
		be.PutUint64(r[38:], uint64(e.txnFirstOffset))
		b = append(b, r[:]...)
	}
	for _, e := range entries {
		if e.n == 0 {
			put(e, -1, -1, 0, e.lastTimestamp)
			continue
		}
		for i := 0; i < e.n; i++ {
			m := e.batches[i]
			ts := m.timestamp
			if i == e.n-1 {
				ts = e.lastTimestamp
			}
			put(e, m.lastSeq, m.lastOffset, m.offsetDelta, ts)
		}
	}
	be.PutUint32(b[2:], crc32.Checksum(b[6:], castagnoli))
	return b
}

// decodeSnapshot parses a snapshot, checking its size and CRC before
// trusting any count in it.
func decodeSnapshot(path string, b []byte) (map[int64]*producerEntry, error) {
	be := binary.BigEndian
	if len(b) < snapshotHeader {
		return nil, corruptf(path, 0, "snapshot of %d bytes is too short", len(b))
	}
	if v := int16(be.Uint16(b)); v != snapshotVersion {
		return nil, corruptf(path, 0, "unsupported snapshot version %d", v)
	}
	if crc32.Checksum(b[6:], castagnoli) != be.Uint32(b[2:]) {
		return nil, corruptf(path, 2, "snapshot crc mismatch")
	}
	count := int64(int32(be.Uint32(b[6:])))
	if count < 0 || int64(len(b)) != snapshotHeader+count*snapshotEntrySize {
		return nil, corruptf(path, 6, "snapshot count %d does not match its size %d", count, len(b))
	}
	out := make(map[int64]*producerEntry)
	for r := b[snapshotHeader:]; len(r) > 0; r = r[snapshotEntrySize:] {
		id := int64(be.Uint64(r[0:]))
		e := out[id]
		if e == nil {
			e = newProducerEntry(id)
			out[id] = e
		}
		if epoch := int16(be.Uint16(r[8:])); epoch != e.epoch {
			e.epoch, e.n = epoch, 0
		}
		lastSeq := int32(be.Uint32(r[10:]))
		delta := int32(be.Uint32(r[22:]))
		e.lastTimestamp = int64(be.Uint64(r[26:]))
		e.coordinatorEpoch = int32(be.Uint32(r[34:]))
		e.txnFirstOffset = int64(be.Uint64(r[38:]))
		if lastSeq < 0 || delta < 0 {
			continue
		}
		first := int64(lastSeq) - int64(delta)
		if first < 0 {
			first += 1 << 31
		}
		e.addBatch(batchMeta{
			firstSeq: int32(first), lastSeq: lastSeq, lastOffset: int64(be.Uint64(r[14:])),
			offsetDelta: delta, timestamp: e.lastTimestamp,
		})
	}
	return out, nil
}

// writeSnapshot writes the producer table as of offset (the log end offset
// at that moment) durably.
func writeSnapshot(dir string, offset int64, p *producerState) error {
	return writeFileAtomic(segmentPath(dir, offset, snapshotSuffix), encodeSnapshot(p.sortedEntries()))
}

func readSnapshot(path string) (map[int64]*producerEntry, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxSnapshotBytes {
		return nil, corruptf(path, 0, "snapshot of %d bytes is too large", st.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decodeSnapshot(path, b)
}

// readSnapshotIn reads the snapshot at path through d, the partition's
// directory opened by openLog (by path when d is nil).
func readSnapshotIn(d *partDir, path string) (map[int64]*producerEntry, error) {
	if d == nil {
		return readSnapshot(path)
	}
	b, err := d.readFile(filepath.Base(path), maxSnapshotBytes)
	if err != nil {
		return nil, err
	}
	return decodeSnapshot(path, b)
}

// listSnapshots returns the offsets of the snapshot files in dir, ascending.
func listSnapshots(dir string) ([]int64, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*"+snapshotSuffix))
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, n := range names {
		if off, ok := parseOffsetName(filepath.Base(n), snapshotSuffix); ok {
			out = append(out, off)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// deleteSnapshots removes snapshot files whose offset satisfies drop.
func deleteSnapshots(dir string, drop func(off int64) bool) error {
	offs, err := listSnapshots(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, off := range offs {
		if drop(off) {
			if err := os.Remove(segmentPath(dir, off, snapshotSuffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// parseOffsetName parses "<20 digits><suffix>".
func parseOffsetName(name, suffix string) (int64, bool) {
	digits, ok := strings.CutSuffix(name, suffix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	off, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || off < 0 {
		return 0, false
	}
	return off, true
}
