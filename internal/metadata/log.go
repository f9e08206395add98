package metadata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// ErrCorrupt is wrapped by errors about unreadable metadata records.
var ErrCorrupt = errors.New("corrupt metadata")

// maxRecordBytes bounds one metadata record, so a corrupt length read from
// disk cannot make the broker allocate without limit.
const maxRecordBytes = 1 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fileLog is the single-node metadata log: a file of frames
//
//	length uint32 | crc32c uint32 (of payload) | payload (JSON Record)
//
// appended and fsynced one change at a time. See docs/format/metadata.md.
type fileLog struct {
	f    *os.File
	size int64
}

// openLog reads every intact frame of the log at path, truncating a torn
// or corrupt tail (a crash mid-append), and returns them in order.
func openLog(path string) (*fileLog, []Record, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	recs, good := parseFrames(data)
	if good != int64(len(data)) {
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, nil, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, nil, err
		}
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, err
	}
	return &fileLog{f: f, size: good}, recs, nil
}

// parseFrames decodes frames until the first bad one and returns the
// records and the byte length of the good prefix.
func parseFrames(data []byte) ([]Record, int64) {
	var recs []Record
	var pos int64
	for int64(len(data))-pos >= 8 {
		n := binary.BigEndian.Uint32(data[pos:])
		sum := binary.BigEndian.Uint32(data[pos+4:])
		if n > maxRecordBytes || int64(n) > int64(len(data))-pos-8 {
			break
		}
		payload := data[pos+8 : pos+8+int64(n)]
		if crc32.Checksum(payload, castagnoli) != sum {
			break
		}
		r, err := decode(payload)
		if err != nil {
			break
		}
		recs = append(recs, r)
		pos += 8 + int64(n)
	}
	return recs, pos
}

// append writes records as one write and fsyncs. On error the file may hold
// a torn tail, which the next open truncates; the caller must stop.
func (l *fileLog) append(recs []Record) error {
	var buf []byte
	for _, r := range recs {
		p, err := encode(r)
		if err != nil {
			return err
		}
		if len(p) > maxRecordBytes {
			return fmt.Errorf("metadata record of %d bytes exceeds %d", len(p), maxRecordBytes)
		}
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(p)))
		buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(p, castagnoli))
		buf = append(buf, p...)
	}
	if _, err := l.f.Write(buf); err != nil {
		return err
	}
	if err := l.f.Sync(); err != nil {
		return err
	}
	l.size += int64(len(buf))
	return nil
}

func (l *fileLog) close() error { return l.f.Close() }
