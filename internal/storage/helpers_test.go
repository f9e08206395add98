package storage

import (
	"encoding/binary"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/record"
)

// spec describes a test batch.
type spec struct {
	records   int   // number of records (default 1)
	valueSize int   // bytes per record value
	ts        int64 // timestamp of the first record; record i gets ts+i*tsStep
	tsStep    int64
	producer  bool // set pid/epoch/seq
	pid       int64
	epoch     int16
	seq       int32
	attrs     int16 // extra attribute bits (compression codec, transactional, control)
}

// makeBatch encodes a valid v2 batch with kmsg and a correct CRC32C.
func makeBatch(t testing.TB, s spec) []byte {
	t.Helper()
	if s.records == 0 {
		s.records = 1
	}
	var recs []byte
	for i := 0; i < s.records; i++ {
		r := kmsg.Record{
			TimestampDelta64: int64(i) * s.tsStep,
			OffsetDelta:      int32(i),
			Key:              []byte("k"),
			Value:            make([]byte, s.valueSize),
		}
		body := r.AppendTo(nil)
		r.Length = int32(len(body) - 1) // Length 0 encodes as one varint byte
		recs = r.AppendTo(recs)
	}
	b := kmsg.RecordBatch{
		FirstOffset:          0,
		PartitionLeaderEpoch: -1,
		Magic:                2,
		Attributes:           s.attrs,
		LastOffsetDelta:      int32(s.records - 1),
		FirstTimestamp:       s.ts,
		MaxTimestamp:         s.ts + int64(s.records-1)*s.tsStep,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           int32(s.records),
		Records:              recs,
	}
	if s.producer {
		b.ProducerID, b.ProducerEpoch, b.FirstSequence = s.pid, s.epoch, s.seq
	}
	b.Length = int32(record.HeaderSize - record.LengthOffset + len(recs))
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli)))
	if _, err := record.Validate(out); err != nil {
		t.Fatalf("test batch invalid: %v", err)
	}
	return out
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// smallConfig rolls often and indexes densely so tests cross many segments.
func smallConfig() Config {
	return Config{SegmentBytes: 4096, IndexIntervalBytes: 256, SegmentIndexBytes: 1024}
}

var testNow = time.Unix(1_700_000_000, 0)

func openTestDir(t testing.TB, path string) *Dir {
	t.Helper()
	d, err := OpenDir(path, smallConfig(), testLogger(t))
	if err != nil {
		t.Fatalf("OpenDir: %v", err)
	}
	return d
}

func newTestLog(t testing.TB, cfg Config) (*Dir, *Log) {
	t.Helper()
	path := t.TempDir()
	d, err := OpenDir(path, cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	l, err := d.CreateLog("topic", 0, [16]byte{1, 2, 3}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, l
}

// createTestLog opens the Dir at path and creates topic-0 in it; closing
// (or crashing) it is the caller's.
func createTestLog(t testing.TB, path string, cfg Config) (*Dir, *Log) {
	t.Helper()
	d, err := OpenDir(path, cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	l, err := d.CreateLog("topic", 0, [16]byte{1}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d, l
}

func mustAppend(t testing.TB, l *Log, b []byte, epoch int32) AppendResult {
	t.Helper()
	res, err := l.Append(b, epoch, testNow)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return res
}

// crash abandons the Dir as a kill -9 would: no flush, no snapshot, no
// checkpoint, no clean-shutdown marker. Only descriptors are closed.
// reboot makes the next open of the log dir at path see a different boot
// than the one that wrote it: an unclean open then checks CRCs, as after
// an OS crash, the only way torn or corrupt batches other than a short
// last one come about.
func reboot(t testing.TB, path string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(path, bootFile), []byte("a boot before\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func crash(d *Dir) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	for _, l := range d.logs {
		// A flush under way (a roll's, in the background) finishes
		// first: its writes are part of the state the crash leaves, and
		// none may land after the next open started.
		l.flushMu.Lock()
		l.mu.Lock()
		l.closed = true
		for _, s := range l.segs {
			s.close()
		}
		l.mu.Unlock()
		l.flushMu.Unlock()
	}
}

// readAll reads the whole log from offset from with Read and returns the
// headers and bytes of every batch, in order.
func readAll(t testing.TB, l *Log, from int64) ([]record.Header, [][]byte) {
	t.Helper()
	var hs []record.Header
	var bs [][]byte
	off := from
	for off < l.LogEndOffset() {
		s, err := l.Read(off, 1<<20, true, NoLimit)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		b, err := s.Bytes()
		s.Release()
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			t.Fatalf("Read(%d) empty below log end %d", off, l.LogEndOffset())
		}
		for len(b) >= record.HeaderSize {
			h, err := record.ParseHeader(b)
			if err != nil || h.TotalSize() > int64(len(b)) {
				break
			}
			if _, err := record.Validate(b[:h.TotalSize()]); err != nil {
				t.Fatalf("batch at offset %d invalid: %v", h.BaseOffset, err)
			}
			hs, bs = append(hs, h), append(bs, b[:h.TotalSize()])
			off = h.LastOffset() + 1
			b = b[h.TotalSize():]
		}
	}
	return hs, bs
}
