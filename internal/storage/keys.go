package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"sync"

	"github.com/zeebo/xxh3"

	"github.com/samsa-streaming/samsa/internal/record"
)

// A segment of a compacted log has a key file beside it, <base>.keys: one
// 16-byte entry per record of its data batches, in log order, holding the
// record's key digest and its position in its batch's records section
// (docs/format/keys.md). The writer fills it as it appends, from the key
// check compacted topics need anyway; the cleaner's key map pass then
// reads a few MiB of entries instead of walking every record of the log.
//
// The file is a hint, never a source of truth: it is finished (a trailer
// with the segment's size, the entry count and a CRC) when the segment
// stops being active, and the cleaner uses it only if the trailer matches
// the segment as it is. Anything else (a crash before the trailer, a
// truncated segment, a torn file) makes the cleaner walk the segment as it
// would without one, and the file is deleted.

const (
	keysSuffix      = ".keys"
	keysMagic       = 0x534b4559 // "SKEY"
	keysEndMagic    = 0x4b454e44 // "KEND"
	keysVersion     = 1
	keysHashXXH3    = 1 // digest: xxh3-128 of the key, high 64 bits then bits 32-63 of the low half
	keysHeaderSize  = 16
	keysEntrySize   = 16
	keysTrailerSize = 36
	// keyless marks an entry whose record has a null key (in the
	// position's top bit; a records section is shorter than 2 GiB).
	keyless = 1 << 31
)

// digestKey is the key digest the key map and key files share: fixed
// (the files outlive the process), 96 of xxh3's 128 bits.
func digestKey(key []byte) keyDigest {
	h := xxh3.Hash128(key)
	return keyDigest{h0: h.Hi, h1: uint32(h.Lo >> 32)}
}

// keysFile is the key file of the active segment, written under the Log's
// mu. After an error it is dropped (the segment then has none). Entries
// are gathered in memory and written keysPendingBytes at a time (and with
// the trailer), each write opening and closing the file, so the file holds
// no descriptor between writes.
type keysFile struct {
	path    string
	n       int64  // entries, written or pending
	written int64  // entries written to the file
	pending []byte // entries not yet written
	crc     uint32 // of the header and every entry
	// The position and CRC of the segment's last batch: the trailer keeps
	// them, and the cleaner compares them with the segment's.
	lastPos int64
	lastCRC uint32
}

// keysPendingBytes is how many entry bytes wait in memory before a write;
// keysMaxPendingBytes how many may pile up while the file cannot be
// opened (descriptors short) before the file is given up.
const (
	keysPendingBytes    = 4096
	keysMaxPendingBytes = 1 << 20
)

func keysHeader(base int64) []byte {
	b := make([]byte, keysHeaderSize)
	binary.BigEndian.PutUint32(b[0:], keysMagic)
	binary.BigEndian.PutUint16(b[4:], keysVersion)
	binary.BigEndian.PutUint16(b[6:], keysHashXXH3)
	binary.BigEndian.PutUint64(b[8:], uint64(base))
	return b
}

// createKeys starts an empty key file for a new segment at base.
func createKeys(dir string, base int64) (*keysFile, error) {
	path := segmentPath(dir, base, keysSuffix)
	h := keysHeader(base)
	k := &keysFile{path: path, crc: crc32.Checksum(h, castagnoli)}
	if err := k.writeAt(h, 0, os.O_WRONLY|os.O_CREATE|os.O_TRUNC); err != nil {
		os.Remove(path)
		return nil, err
	}
	return k, nil
}

// writeAt opens the file, writes b at off and closes it.
func (k *keysFile) writeAt(b []byte, off int64, flag int) error {
	f, err := files.openTransient(k.path, flag, 0o644)
	if err != nil {
		return fmt.Errorf("storage: open %s: %w", k.path, err)
	}
	_, err = f.WriteAt(b, off)
	if cerr := files.closeTransient(f); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("storage: write %s: %w", k.path, err)
	}
	return nil
}

// append adds the entries of one batch, written at pos with the given
// CRC (a control batch has none, but is the last batch until another).
func (k *keysFile) append(entries []byte, pos int64, crc uint32) error {
	k.lastPos, k.lastCRC = pos, crc
	if len(entries) == 0 {
		return nil
	}
	k.pending = append(k.pending, entries...)
	k.crc = crc32.Update(k.crc, castagnoli, entries)
	k.n += int64(len(entries) / keysEntrySize)
	if len(k.pending) < keysPendingBytes {
		return nil
	}
	err := k.writePending()
	if errors.Is(err, ErrTooManyOpenFiles) && len(k.pending) < keysMaxPendingBytes {
		return nil // the next batch tries again
	}
	return err
}

// writePending writes the entries gathered in memory.
func (k *keysFile) writePending() error {
	if len(k.pending) == 0 {
		return nil
	}
	if err := k.writeAt(k.pending, keysHeaderSize+k.written*keysEntrySize, os.O_WRONLY); err != nil {
		return err
	}
	k.written = k.n
	if cap(k.pending) > 2*keysPendingBytes {
		k.pending = nil
	} else {
		k.pending = k.pending[:0]
	}
	return nil
}

// finish writes the pending entries and the trailer for a segment of
// size bytes. It is not fsynced: a trailer that did not reach the disk
// with the entries fails the CRC after a crash, and the cleaner walks the
// segment.
func (k *keysFile) finish(size int64) error {
	t := make([]byte, keysTrailerSize)
	binary.BigEndian.PutUint64(t[0:], uint64(size))
	binary.BigEndian.PutUint64(t[8:], uint64(k.n))
	binary.BigEndian.PutUint64(t[16:], uint64(k.lastPos))
	binary.BigEndian.PutUint32(t[24:], k.lastCRC)
	binary.BigEndian.PutUint32(t[28:], k.crc)
	binary.BigEndian.PutUint32(t[32:], keysEndMagic)
	k.pending = append(k.pending, t...)
	return k.writePending()
}

// keysTrailer is what a finished key file says of its segment.
type keysTrailer struct {
	size, lastPos int64
	lastCRC, crc  uint32
}

// checkKeys validates a finished key file's bytes against its segment (base
// offset and size) and returns its entries and trailer. The caller checks
// the last batch (lastBatchMatches).
func checkKeys(b []byte, base, size int64) ([]byte, keysTrailer, error) {
	var tr keysTrailer
	if len(b) < keysHeaderSize+keysTrailerSize || (len(b)-keysHeaderSize-keysTrailerSize)%keysEntrySize != 0 {
		return nil, tr, fmt.Errorf("key file of %d bytes", len(b))
	}
	be := binary.BigEndian
	if be.Uint32(b) != keysMagic || be.Uint16(b[4:]) != keysVersion || be.Uint16(b[6:]) != keysHashXXH3 || int64(be.Uint64(b[8:])) != base {
		return nil, tr, errors.New("key file header does not match")
	}
	entries := b[keysHeaderSize : len(b)-keysTrailerSize]
	t := b[len(b)-keysTrailerSize:]
	tr = keysTrailer{size: int64(be.Uint64(t[0:])), lastPos: int64(be.Uint64(t[16:])), lastCRC: be.Uint32(t[24:]), crc: be.Uint32(t[28:])}
	switch {
	case be.Uint32(t[32:]) != keysEndMagic:
		return nil, tr, errors.New("key file not finished")
	case tr.size != size:
		return nil, tr, fmt.Errorf("key file for a segment of %d bytes, segment has %d", tr.size, size)
	case be.Uint64(t[8:]) != uint64(len(entries)/keysEntrySize):
		return nil, tr, errors.New("key file entry count does not match")
	case crc32.Checksum(b[:len(b)-keysTrailerSize], castagnoli) != tr.crc:
		return nil, tr, errors.New("key file CRC does not match")
	}
	return entries, tr, nil
}

// lastBatchMatches checks the trailer's last batch against the segment:
// a batch at lastPos with that CRC ending exactly at the segment's end.
func (s *segment) lastBatchMatches(tr keysTrailer) error {
	size := s.size.Load()
	if size == 0 {
		return nil
	}
	var buf [record.HeaderSize]byte
	h, err := s.readHeader(tr.lastPos, size, buf[:])
	if err != nil {
		return fmt.Errorf("key file's last batch: %w", err)
	}
	if h.CRC != tr.lastCRC || tr.lastPos+h.TotalSize() != size {
		return errors.New("key file's last batch is not the segment's")
	}
	return nil
}

// resumeKeys reopens the key file of the active segment after a clean
// shutdown (finished, matching the segment): the trailer is cut off and
// appends go on. Any other key file of the active segment is deleted, and
// the segment goes on without one.
func resumeKeys(s *segment) *keysFile {
	path := s.keysPath()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	_, tr, err := checkKeys(b, s.base, s.size.Load())
	if err == nil {
		err = s.lastBatchMatches(tr)
	}
	if err != nil {
		os.Remove(path)
		return nil
	}
	n := int64(len(b)-keysHeaderSize-keysTrailerSize) / keysEntrySize
	if err := os.Truncate(path, int64(len(b)-keysTrailerSize)); err != nil {
		os.Remove(path)
		return nil
	}
	return &keysFile{path: path, n: n, written: n, crc: tr.crc, lastPos: tr.lastPos, lastCRC: tr.lastCRC}
}

// keyEntryPool holds buffers for keyEntries: decompressed records and
// entries of one batch.
var keyEntryPool = sync.Pool{New: func() any { return new(keyEntryBufs) }}

type keyEntryBufs struct{ recs, entries []byte }

// keyEntries computes the key file entries of a data batch into bufs, and
// reports whether a record has a null key. A batch that cannot be decoded
// is an ErrCorrupt error.
func keyEntries(bufs *keyEntryBufs, batch []byte, h *record.Header) (entries []byte, nullKey bool, err error) {
	data, err := record.BatchRecords(bufs.recs, batch, h)
	if err != nil {
		return nil, false, err
	}
	if h.Compression() != record.CompressionNone {
		bufs.recs = data
	}
	if int(h.NumRecords) > len(data) || len(data) >= keyless {
		return nil, false, fmt.Errorf("%w: batch of %d records in %d bytes", record.ErrCorrupt, h.NumRecords, len(data))
	}
	out := bufs.entries[:0]
	var r record.Record
	for i, pos := int32(0), 0; i < h.NumRecords; i++ {
		n, err := record.DecodeRecordAt(data, pos, &r)
		if err != nil {
			return nil, false, fmt.Errorf("%w: record %d: %w", record.ErrCorrupt, i, err)
		}
		var d keyDigest
		p := uint32(pos)
		if r.Key == nil {
			nullKey, p = true, p|keyless
		} else {
			d = digestKey(r.Key)
		}
		out = binary.BigEndian.AppendUint64(out, d.h0)
		out = binary.BigEndian.AppendUint32(out, d.h1)
		out = binary.BigEndian.AppendUint32(out, p)
		pos += n
	}
	bufs.entries = out
	return out, nullKey, nil
}
