package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/record"
)

// This file damages every kind of file a log dir holds, one byte or one
// cut at a time, reopens the dir and checks what comes back
// (TestCorruptionMatrix). See docs/reliability.md, "Disk faults".

var corruptAll = flag.Bool("corrupt.all", false, "TestCorruptionMatrix: run every case, not a sample")

// corpusRecord is one data record as written.
type corpusRecord struct{ key, value string }

// corpus is a log dir written by buildCorpus, kept as a template that
// each case copies.
type corpus struct {
	path          string
	want          map[int64]corpusRecord // every data record of the log "c-0", by offset
	recoveryPoint int64                  // what recovery-point-offset-checkpoint says for c-0
	logEnd        int64
	otherWant     int64 // the log end of "d-0", which no case damages
}

// buildCorpus writes a log of several segments with idempotent batches,
// committed and aborted transactions (so .txnindex files), four leader
// epochs and producer snapshots, flushes and checkpoints it two thirds of
// the way, writes the rest, and either closes the dir cleanly or abandons
// it as a kill -9 would (crashed).
func buildCorpus(t *testing.T, crashed bool) corpus {
	t.Helper()
	c := corpus{path: t.TempDir(), want: map[int64]corpusRecord{}}
	cfg := smallConfig()
	d, err := OpenDir(c.path, cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	l, err := d.CreateLog("c", 0, [16]byte{0xc0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	other, err := d.CreateLog("d", 0, [16]byte{0xd0, 9}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		mustAppend(t, other, record.NewBatch(int64(i), kmsg.Record{Value: []byte("other")}), 0)
	}
	c.otherWant = other.LogEndOffset()
	seq := map[int64]int32{}
	data := func(i int, pid int64, txn bool, n int) []byte {
		b := &kmsg.RecordBatch{FirstTimestamp: 1000 + int64(i), MaxTimestamp: 1000 + int64(i), ProducerID: pid, ProducerEpoch: 0, FirstSequence: seq[pid]}
		if txn {
			b.Attributes = record.TransactionalBit
		}
		recs := make([]kmsg.Record, n)
		for j := range recs {
			recs[j] = kmsg.Record{OffsetDelta: int32(j), Key: fmt.Appendf(nil, "k%d", i%7),
				Value: fmt.Appendf(nil, "v%04d-%d-%s", i, j, strings.Repeat("x", 20+i%13))}
		}
		seq[pid] += int32(n)
		return record.EncodeBatch(b, recs)
	}
	const batches = 150
	for i := range batches {
		epoch := int32(i / 40)
		var b []byte
		switch i % 10 {
		case 6:
			b = data(i, 7, true, 2)
		case 7:
			b = data(i, 8, true, 2)
		case 8:
			b = markerBatch(t, 7, 0, false, 0)
		case 9:
			b = markerBatch(t, 8, 0, true, 0)
		default:
			b = data(i, 42, false, 1+i%4)
		}
		keep := append([]byte(nil), b...)
		res := mustAppend(t, l, b, epoch)
		h, err := record.ParseHeader(keep)
		if err != nil {
			t.Fatal(err)
		}
		if !h.IsControl() {
			for r := range batchRecords(t, keep) {
				c.want[res.BaseOffset+int64(r.OffsetDelta)] = corpusRecord{string(r.Key), string(r.Value)}
			}
		}
		if i == batches*2/3 {
			if _, err := l.Flush(); err != nil {
				t.Fatal(err)
			}
			if _, err := other.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := d.Checkpoint(); err != nil {
				t.Fatal(err)
			}
			c.recoveryPoint = l.RecoveryPoint()
		}
	}
	c.logEnd = l.LogEndOffset()
	if crashed {
		crash(d)
	} else {
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		c.recoveryPoint = c.logEnd
	}
	if len(l.Segments()) < 5 {
		t.Fatalf("the corpus has %d segments, want at least 5", len(l.Segments()))
	}
	return c
}

// batchRecords decodes the records of an uncompressed batch.
func batchRecords(t testing.TB, b []byte) func(func(kmsg.Record) bool) {
	return func(yield func(kmsg.Record) bool) {
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(b); err != nil {
			t.Fatalf("batch: %v", err)
		}
		rs := rb.Records
		for range rb.NumRecords {
			n, sz := binary.Varint(rs)
			if sz <= 0 || int64(len(rs)) < int64(sz)+n {
				t.Fatalf("record length %d of %d bytes", n, len(rs))
			}
			var r kmsg.Record
			if err := r.ReadFrom(rs[:int64(sz)+n]); err != nil {
				t.Fatalf("record: %v", err)
			}
			rs = rs[int64(sz)+n:]
			if !yield(r) {
				return
			}
		}
	}
}

// copyTree copies the template dir src (regular files and directories) to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// damage is one corruption: flip the byte at pos (xor with mask), or cut
// the file to pos bytes (cut).
type damage struct {
	file string // relative to the log dir
	pos  int64
	mask byte
	cut  bool
}

func (dm damage) String() string {
	if dm.cut {
		return fmt.Sprintf("%s cut to %d bytes", dm.file, dm.pos)
	}
	return fmt.Sprintf("%s byte %d ^ %#02x", dm.file, dm.pos, dm.mask)
}

func (dm damage) apply(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, dm.file)
	if dm.cut {
		if err := os.Truncate(path, dm.pos); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], dm.pos); err != nil {
		t.Fatal(err)
	}
	b[0] ^= dm.mask
	if _, err := f.WriteAt(b[:], dm.pos); err != nil {
		t.Fatal(err)
	}
}

// kind groups the files the matrix damages.
func fileKind(name string) string {
	base := filepath.Base(name)
	switch {
	case strings.HasSuffix(base, ".log"):
		return ".log"
	case strings.HasSuffix(base, ".timeindex"):
		return ".timeindex"
	case strings.HasSuffix(base, ".txnindex"):
		return ".txnindex"
	case strings.HasSuffix(base, ".index"):
		return ".index"
	case strings.HasSuffix(base, ".snapshot"):
		return ".snapshot"
	}
	return base
}

// damages lists the corruptions of one template: every byte of small
// files (bit pos%8 of byte pos), a seeded sample of
// 48 positions of each segment, and cuts at 0, 1, half, all but one and
// all but eight bytes (or one entry).
func damages(t *testing.T, dir string, rnd *rand.Rand) []damage {
	t.Helper()
	var out []damage
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		base := filepath.Base(rel)
		if base == cleanShutdownFile || base == bootFile {
			return nil // flags, not data: their presence is what counts
		}
		if strings.HasPrefix(rel, "d-0") {
			return nil // the bystander log
		}
		st, err := e.Info()
		if err != nil {
			return err
		}
		size := st.Size()
		if size == 0 {
			return nil
		}
		if fileKind(rel) == ".log" {
			for range 48 {
				out = append(out, damage{file: rel, pos: rnd.Int64N(size), mask: byte(1 << rnd.IntN(8))})
			}
		} else {
			for pos := range size {
				out = append(out, damage{file: rel, pos: pos, mask: byte(1) << (pos % 8)})
			}
		}
		cuts := map[int64]bool{0: true, 1: true, size / 2: true, size - 1: true, max(size-8, 0): true}
		for n := range cuts {
			if n < size {
				out = append(out, damage{file: rel, pos: n, cut: true})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].file < out[j].file })
	return out
}

// outcome is what one case showed.
type outcome struct {
	reported    bool // the log named the damaged file in a warning or error
	changed     bool // what is served differs from the undamaged log (records lost)
	lost        []int64
	badServed   int      // batches served that fail their CRC
	wrong       []string // records served with a valid CRC that differ from those written
	logStart    int64    // after the reopen
	quarantined bool     // a file was renamed aside (.corrupt)
}

// lockedBuffer is an io.Writer safe for the logger's concurrent writers.
type lockedBuffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

// reopen opens the damaged dir, reads the log c-0 from its start and
// checks it against the corpus. Mismatches fail the test; the rest is
// returned for the figures.
func reopen(t *testing.T, c corpus, dir string, dm damage, crashed bool) outcome {
	t.Helper()
	logBuf := &lockedBuffer{mu: make(chan struct{}, 1)}
	logger := slog.New(slog.NewTextHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if crashed {
		reboot(t, dir) // an OS crash: every batch past the recovery point is checked
	}
	d, err := OpenDir(dir, smallConfig(), logger)
	if err != nil {
		t.Fatalf("%v: the dir did not open: %v", dm, err)
	}
	defer d.Close()
	l, ok := d.Log("c", 0)
	if !ok {
		t.Fatalf("%v: log c-0 missing after the reopen", dm)
	}
	if o, ok := d.Log("d", 0); !ok || o.LogEndOffset() != c.otherWant {
		t.Fatalf("%v: the undamaged log d-0 is missing or changed", dm)
	}
	var out outcome
	out.logStart = l.LogStartOffset()
	seen := map[int64]bool{}
	segs := l.Segments()
	for off := l.LogStartOffset(); off < l.LogEndOffset(); {
		s, err := l.Read(off, 1<<20, true, NoLimit)
		var b []byte
		if err == nil {
			b, err = s.Bytes()
			s.Release()
		}
		next := int64(-1)
		var be *BatchCorruptionError
		if errors.As(err, &be) && be.LastOffset >= off {
			// A damaged batch found by the read (verify.go): a
			// consumer can seek past it.
			next = be.LastOffset + 1
		}
		for len(b) >= record.HeaderSize && err == nil {
			h, herr := record.ParseHeader(b)
			if herr != nil || h.TotalSize() > int64(len(b)) || h.LastOffset() < off {
				break
			}
			batch := b[:h.TotalSize()]
			b = b[h.TotalSize():]
			next = h.LastOffset() + 1
			if _, verr := record.Validate(batch); verr != nil {
				out.badServed++
				continue
			}
			if h.IsControl() {
				continue
			}
			for r := range batchRecords(t, batch) {
				o := h.BaseOffset + int64(r.OffsetDelta)
				w, ok := c.want[o]
				if !ok || w.key != string(r.Key) || w.value != string(r.Value) {
					// Only a damaged offset field (outside the CRC) can do this.
					out.wrong = append(out.wrong, fmt.Sprintf("offset %d served %q=%q with a valid CRC, written %q=%q", o, r.Key, r.Value, w.key, w.value))
					continue
				}
				seen[o] = true
			}
		}
		if next <= off {
			// Unreadable from off: go on at the next segment.
			next = l.LogEndOffset()
			for _, sg := range segs {
				if sg.BaseOffset > off {
					next = sg.BaseOffset
					break
				}
			}
		}
		off = next
	}
	for o := range c.want {
		if !seen[o] {
			out.lost = append(out.lost, o)
		}
	}
	sort.Slice(out.lost, func(i, j int) bool { return out.lost[i] < out.lost[j] })
	out.changed = len(out.lost) > 0 || out.badServed > 0 || len(out.wrong) > 0
	out.reported = strings.Contains(logBuf.buf.String(), filepath.Base(dm.file))
	if m, _ := filepath.Glob(filepath.Join(dir, "*", "*"+corruptSuffix)); len(m) > 0 {
		out.quarantined = true
	}
	if _, err := l.Append(record.NewBatch(1, kmsg.Record{Value: []byte("after")}), 9, testNow); err != nil {
		t.Fatalf("%v: append after the reopen: %v", dm, err)
	}
	return out
}

// TestCorruptionMatrix damages every file of a log dir (segments, offset,
// time and transaction indexes, producer snapshots, leader-epoch-checkpoint,
// partition.metadata, the dir's recovery point, log start and cleaner
// checkpoints) one byte flip or one cut at a time, after a clean shutdown
// and after an OS crash, reopens the dir each time and checks:
//
//   - it opens (no panic, no error: one damaged log never stops the
//     broker) and the undamaged log beside it is intact;
//   - every record served with a valid CRC is the one written at that
//     offset (same key and value);
//   - no record is lost when the damage is in anything but a segment
//     (indexes are rebuilt, a bad checkpoint is ignored, a bad snapshot is
//     replaced by replaying the log), and damage to a segment past the
//     recovery point loses nothing before the batch it hit (the log is
//     cut there, as Kafka's recovery does);
//   - damage that changes what is served is reported in the log with the
//     file's name.
//
// It logs the figures per file kind. It runs every 12th case (every 60th
// with -short); -corrupt.all runs them all (docs/reliability.md has the
// figures of a full run).
func TestCorruptionMatrix(t *testing.T) {
	type tally struct{ tried, reported, intact, lost, quarantined, readFound, served, offset int }
	for _, crashed := range []bool{false, true} {
		name := "clean"
		if crashed {
			name = "crash"
		}
		t.Run(name, func(t *testing.T) {
			c := buildCorpus(t, crashed)
			rnd := rand.New(rand.NewPCG(18, 3))
			cases := damages(t, c.path, rnd)
			layouts := segmentLayouts(t, c, crashed)
			byKind := map[string]*tally{}
			stride := 12
			if *corruptAll {
				stride = 1
			} else if testing.Short() {
				stride = 60
			}
			for i, dm := range cases {
				if i%stride != 0 {
					continue
				}
				dir := t.TempDir()
				copyTree(t, c.path, dir)
				dm.apply(t, dir)
				out := reopen(t, c, dir, dm, crashed)
				k := fileKind(dm.file)
				if byKind[k] == nil {
					byKind[k] = &tally{}
				}
				tl := byKind[k]
				tl.tried++
				if out.reported {
					tl.reported++
				}
				if out.quarantined {
					tl.quarantined++
				}
				switch v := verdict(t, c, layouts, dm, out); {
				case v == "served":
					tl.served++
				case v != "" && out.changed:
					if v == "read" {
						tl.readFound++
					} else {
						tl.offset++
					}
				case len(out.lost) > 0:
					tl.lost++
				default:
					tl.intact++
				}
				os.RemoveAll(dir)
			}
			kinds := make([]string, 0, len(byKind))
			for k := range byKind {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			total := tally{}
			line := func(k string, tl *tally) {
				t.Logf("%-34s tried %5d  reported %5d  all intact %5d  cut at the damage %4d  set aside %3d  found on first read %4d  served damaged %3d  base offset changed %3d",
					k, tl.tried, tl.reported, tl.intact, tl.lost, tl.quarantined, tl.readFound, tl.served, tl.offset)
			}
			for _, k := range kinds {
				tl := byKind[k]
				line(k, tl)
				total.tried += tl.tried
				total.reported += tl.reported
				total.intact += tl.intact
				total.lost += tl.lost
				total.quarantined += tl.quarantined
				total.readFound += tl.readFound
				total.served += tl.served
				total.offset += tl.offset
			}
			line("all", &total)
		})
	}
}

// layout is where the batches of one template segment lie.
type layout struct {
	base    int64
	checked func(pos int64) bool // whether an open validates the batch at pos (CRC included)
	// unflushed: past the recovery point of a crashed log, where losing
	// whole batches at the end is what a crash may do anyway.
	unflushed bool
	batches   []record.Header // in file order
	starts    []int64
}

// segmentLayouts walks the template's segments of c-0 and says which
// bytes an open checks: after a crash, every segment from the one holding
// the recovery point; after a clean shutdown, the active segment from its
// last offset index entry.
func segmentLayouts(t *testing.T, c corpus, crashed bool) map[string]*layout {
	t.Helper()
	dir := filepath.Join(c.path, "c-0")
	bases, err := listSegmentBases(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*layout{}
	for i, base := range bases {
		name := filepath.Join("c-0", segmentName(base, logSuffix))
		b, err := os.ReadFile(filepath.Join(c.path, name))
		if err != nil {
			t.Fatal(err)
		}
		ly := &layout{base: base}
		for pos := int64(0); pos < int64(len(b)); {
			h, err := record.ParseHeader(b[pos:])
			if err != nil {
				t.Fatal(err)
			}
			ly.batches, ly.starts = append(ly.batches, h), append(ly.starts, pos)
			pos += h.TotalSize()
		}
		last := i == len(bases)-1
		switch {
		case crashed:
			checked := last || bases[i+1] > c.recoveryPoint
			ly.checked = func(int64) bool { return checked }
			ly.unflushed = checked
		case last:
			idx, err := os.ReadFile(filepath.Join(c.path, "c-0", segmentName(base, indexSuffix)))
			if err != nil {
				t.Fatal(err)
			}
			from := int64(0)
			if n := len(idx); n >= offsetEntrySize {
				from = int64(binary.BigEndian.Uint32(idx[n-4:]))
			}
			ly.checked = func(pos int64) bool { return pos >= from }
		default:
			ly.checked = func(int64) bool { return false }
		}
		out[name] = ly
	}
	return out
}

// keepBelow is the first offset a damage at pos may cost: the base offset
// of the batch holding pos (for a cut, of the first batch cut).
func (ly *layout) keepBelow(pos int64) int64 {
	for i, start := range ly.starts {
		if pos < start+ly.batches[i].TotalSize() {
			return ly.batches[i].BaseOffset
		}
	}
	return math.MaxInt64
}

// inBaseOffset reports whether pos is in a batch's base offset field,
// which the batch CRC does not cover.
func (ly *layout) inBaseOffset(pos int64) bool {
	for _, start := range ly.starts {
		if pos >= start && pos < start+8 {
			return true
		}
	}
	return false
}

// verdict classifies one case and fails the test when the outcome breaks
// a promise: damage outside segments costs nothing; damage in checked
// segment bytes is reported and costs nothing below the batch it hit;
// nothing is ever served with a valid CRC but other content than written.
//
// It returns "trusted" for damage to segment bytes an open does not check
// (below the recovery point), "offset" for a damaged base offset that
// still looks right, and "" otherwise.
func verdict(t *testing.T, c corpus, layouts map[string]*layout, dm damage, out outcome) string {
	t.Helper()
	if fileKind(dm.file) != ".log" {
		if len(out.lost) > 0 {
			t.Errorf("%v: %d records lost (first %d) though no segment was damaged (reported: %v)", dm, len(out.lost), out.lost[0], out.reported)
		}
		if out.badServed > 0 || len(out.wrong) > 0 {
			t.Errorf("%v: %d batches with a bad CRC and %d wrong records served though no segment was damaged", dm, out.badServed, len(out.wrong))
		}
		return ""
	}
	ly := layouts[dm.file]
	if !ly.checked(dm.pos) && !dm.cut {
		// Bytes below the recovery point are not read at start, as in
		// Kafka; their first read checks them (verify.go): nothing
		// damaged is served, and what is not served is reported.
		if out.badServed > 0 {
			t.Errorf("%v: %d batches with a bad CRC served from below the recovery point", dm, out.badServed)
			return "served"
		}
		if len(out.wrong) > 0 {
			if ly.inBaseOffset(dm.pos) {
				return "offset"
			}
			t.Errorf("%v: %s", dm, out.wrong[0])
		}
		if out.changed && !out.reported {
			t.Errorf("%v: %d records not served, nothing reported", dm, len(out.lost))
		}
		if keep := ly.keepBelow(dm.pos); len(out.lost) > 0 && out.lost[0] < keep {
			t.Errorf("%v: offset %d lost, below the damaged batch at offset %d", dm, out.lost[0], keep)
		}
		return "read"
	}
	if len(out.wrong) > 0 {
		if !dm.cut && ly.inBaseOffset(dm.pos) {
			// A base offset that stays increasing and inside its
			// segment cannot be told from a true one (Kafka neither).
			return "offset"
		}
		t.Errorf("%v: %s", dm, out.wrong[0])
	}
	if !out.changed {
		return ""
	}
	if !out.reported && !(dm.cut && ly.unflushed && slices.Contains(ly.starts, dm.pos)) {
		// (A cut at a batch boundary past the recovery point leaves a
		// log an OS crash can leave: nothing tells it from one.)
		t.Errorf("%v: %d records lost, %d bad batches served, nothing reported", dm, len(out.lost), out.badServed)
	}
	if out.badServed > 0 {
		t.Errorf("%v: %d batches with a bad CRC served from a checked segment", dm, out.badServed)
	}
	if keep := ly.keepBelow(dm.pos); len(out.lost) > 0 && out.lost[0] < keep {
		t.Errorf("%v: offset %d lost, below the damaged batch at offset %d", dm, out.lost[0], keep)
	}
	return ""
}

// TestIndexEntryPointingElsewhere: an offset index entry moved to a later
// batch boundary keeps the index in order, so the open cannot see it; the
// first read through it finds the batch there ending after the entry's
// offset, reports it, reads the segment from its start (every offset is
// still found), and Close rebuilds the index, so the next open has it
// right.
func TestIndexEntryPointingElsewhere(t *testing.T) {
	path := t.TempDir()
	cfg := smallConfig()
	d, l := createTestLog(t, path, cfg)
	fillLog(t, l, 0, 40)
	seg := l.segs[0]
	if seg.idx.entries() < 3 {
		t.Fatalf("%d index entries, want at least 3", seg.idx.entries())
	}
	_, want := readAll(t, l, 0)
	idxPath := seg.idx.path
	good, err := os.ReadFile(idxPath)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	// Entry 1 takes the position of entry 2: still increasing.
	bad := append([]byte(nil), good...)
	copy(bad[offsetEntrySize+4:offsetEntrySize+8], good[2*offsetEntrySize+4:2*offsetEntrySize+8])
	bad[2*offsetEntrySize+7]++ // and entry 2 one byte further, so they stay increasing
	if err := os.WriteFile(idxPath, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{mu: make(chan struct{}, 1)}
	d, err = OpenDir(path, cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	l, _ = d.Log("topic", 0)
	if strings.Contains(logs.buf.String(), filepath.Base(idxPath)) {
		t.Fatalf("the open already saw the damage (the test needs one it cannot see): %s", logs.buf.String())
	}
	// Read offset by offset, as consumers at every position would.
	for off := int64(0); off < l.LogEndOffset(); off++ {
		s, err := l.Read(off, 1, true, NoLimit)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		b, err := s.Bytes()
		s.Release()
		if err != nil {
			t.Fatal(err)
		}
		h, err := record.ParseHeader(b)
		if err != nil || h.BaseOffset > off || h.LastOffset() < off {
			t.Fatalf("Read(%d) returned batch [%d, %d] (%v)", off, h.BaseOffset, h.LastOffset(), err)
		}
	}
	if !strings.Contains(logs.buf.String(), "offset index entry does not point at its batch") {
		t.Fatalf("the damaged entry was not reported: %s", logs.buf.String())
	}
	_, got := readAll(t, l, 0)
	if len(got) != len(want) {
		t.Fatalf("%d batches read, %d written", len(got), len(want))
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(idxPath); !bytes.Equal(b, good) {
		t.Fatalf("Close did not rebuild the index: %x, want %x", b, good)
	}
}

// TestTimeIndexMaxLoweredIsRebuilt: the last time index entry of an
// inactive segment holds its max timestamp, by which retention deletes
// it; damage that lowers it (keeping the entries increasing, so the
// shape checks pass) would let retention delete the segment early. The
// open's tail check sees a batch above it and rebuilds the indexes.
func TestTimeIndexMaxLoweredIsRebuilt(t *testing.T) {
	path := t.TempDir()
	cfg := smallConfig()
	d, l := createTestLog(t, path, cfg)
	for i := range 60 {
		mustAppend(t, l, makeBatch(t, spec{records: 2, valueSize: 90, ts: int64(1000 * i)}), 0)
	}
	if len(l.Segments()) < 2 {
		t.Fatal("want at least two segments")
	}
	want := l.Segments()[0].MaxTimestamp
	tidxPath := l.segs[0].tidx.path
	d.Close()
	b, err := os.ReadFile(tidxPath)
	if err != nil || len(b) < 2*timeEntrySize {
		t.Fatalf("time index of %d bytes: %v", len(b), err)
	}
	n := len(b) / timeEntrySize
	prev := int64(binary.BigEndian.Uint64(b[(n-2)*timeEntrySize:]))
	binary.BigEndian.PutUint64(b[(n-1)*timeEntrySize:], uint64(prev+1))
	if err := os.WriteFile(tidxPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if prev+1 >= want {
		t.Fatalf("the damage does not lower the max timestamp (%d, %d)", prev+1, want)
	}
	d, err = OpenDir(path, cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	l, _ = d.Log("topic", 0)
	if got := l.Segments()[0].MaxTimestamp; got != want {
		t.Fatalf("segment max timestamp %d after the reopen, want %d", got, want)
	}
}

// TestReadDoesNotAllocate holds the read path's zero allocations with the
// index check of find in it.
func TestReadDoesNotAllocate(t *testing.T) {
	_, l := newTestLog(t, smallConfig())
	fillLog(t, l, 0, 60)
	// Background flushes of rolled segments allocate; let them finish.
	l.rollFlushes.Wait()
	if _, err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	off := int64(0)
	n := testing.AllocsPerRun(200, func() {
		s, err := l.Read(off, 1<<10, true, NoLimit)
		if err != nil {
			t.Fatal(err)
		}
		s.Release()
		off = (off + 7) % l.LogEndOffset()
	})
	if n != 0 {
		t.Fatalf("Read allocates %.1f times a call", n)
	}
}
