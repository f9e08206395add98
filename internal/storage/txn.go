package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/samsa-streaming/samsa/internal/record"
)

// Control record types of transaction markers (Kafka's ControlRecordType).
const (
	controlAbort  = 0
	controlCommit = 1
)

// txnMarker is the decoded control record of a transaction marker, Kafka's
// EndTransactionMarker: key = version int16 + type int16, value = version
// int16 + coordinatorEpoch int32.
type txnMarker struct {
	valid            bool // decoded; false for a follower's or replayed batch that did not decode
	abort            bool
	coordinatorEpoch int32
}

// errBadMarker describes a control batch whose record is not a transaction
// marker.
var errBadMarker = errors.New("control batch without a transaction marker record")

// maxControlBatchBytes bounds what is read of a control batch during
// replay: a marker batch is about 80 bytes.
const maxControlBatchBytes = 64 << 10

// decodeMarker decodes the first record of a control batch.
func decodeMarker(batch []byte, h *record.Header) (txnMarker, error) {
	if h.NumRecords < 1 {
		return txnMarker{}, errBadMarker
	}
	data, err := record.BatchRecords(nil, batch, h)
	if err != nil {
		return txnMarker{}, err
	}
	var r record.Record
	if _, err := record.DecodeRecordAt(data, 0, &r); err != nil {
		return txnMarker{}, fmt.Errorf("%w: %w", errBadMarker, err)
	}
	be := binary.BigEndian
	if len(r.Key) < 4 || int16(be.Uint16(r.Key)) < 0 {
		return txnMarker{}, fmt.Errorf("%w: key of %d bytes", errBadMarker, len(r.Key))
	}
	m := txnMarker{valid: true}
	switch t := int16(be.Uint16(r.Key[2:])); t {
	case controlAbort:
		m.abort = true
	case controlCommit:
	default:
		return txnMarker{}, fmt.Errorf("%w: control type %d", errBadMarker, t)
	}
	if len(r.Value) < 6 || int16(be.Uint16(r.Value)) < 0 {
		return txnMarker{}, fmt.Errorf("%w: value of %d bytes", errBadMarker, len(r.Value))
	}
	m.coordinatorEpoch = int32(be.Uint32(r.Value[2:]))
	return m, nil
}

// txnEntry is a transaction the Log tracks for the last stable offset:
// open, or ended by a marker that may not be below the high watermark yet
// (Kafka's ongoingTxns and unreplicatedTxns).
type txnEntry struct {
	pid         int64
	firstOffset int64    // the transaction's first offset
	first       Position // its first batch; Offset is firstOffset raised to the log start
	marker      int64    // offset of its marker, -1 while open
}

// txnBegan tracks a transaction whose first batch is at first. mu must be
// held.
func (l *Log) txnBegan(pid int64, first Position) {
	l.txnMu.Lock()
	l.txns = append(l.txns, txnEntry{pid: pid, firstOffset: first.Offset, first: first, marker: -1})
	l.txnMu.Unlock()
}

// txnEnded records the marker of pid's open transaction and returns the
// last stable offset Kafka stores with an aborted transaction: the first
// offset of the earliest other open transaction, or the marker offset + 1.
// mu must be held.
func (l *Log) txnEnded(pid, marker int64) (lso int64) {
	l.txnMu.Lock()
	defer l.txnMu.Unlock()
	lso = marker + 1
	found := false
	for i := range l.txns {
		t := &l.txns[i]
		if t.marker >= 0 {
			continue
		}
		if t.pid == pid {
			if !found {
				t.marker, found = marker, true
			}
			continue
		}
		lso = min(lso, t.firstOffset)
	}
	return lso
}

// LastStable returns the last stable offset as a Position, for a high
// watermark hw: the start of the first batch of the earliest transaction
// that is still unstable (open, or ended by a marker at or above
// hw.Offset), or hw when there is none below hw. Transactions whose marker
// is below hw are forgotten. It never waits for a write.
func (l *Log) LastStable(hw Position) Position {
	l.txnMu.Lock()
	defer l.txnMu.Unlock()
	for len(l.txns) > 0 {
		t := l.txns[0]
		if t.marker >= 0 && t.marker < hw.Offset {
			l.txns[0] = txnEntry{}
			l.txns = l.txns[1:]
			continue
		}
		if t.first.Offset < hw.Offset {
			return t.first
		}
		break
	}
	if len(l.txns) == 0 {
		l.txns = nil
	}
	return hw
}

// FirstUnstableOffset is the first offset of the earliest transaction
// that is open or whose marker was not yet below the high watermark last
// given to LastStable, raised to the log start; ok is false when there is
// none.
func (l *Log) FirstUnstableOffset() (offset int64, ok bool) {
	l.txnMu.Lock()
	defer l.txnMu.Unlock()
	if len(l.txns) == 0 {
		return 0, false
	}
	return l.txns[0].first.Offset, true
}

// unstableBelow is the first offset of the earliest transaction that is
// open or ended at or after hw (math.MaxInt64 when none), for the cleaner.
func (l *Log) unstableBelow(hw int64) int64 {
	l.txnMu.Lock()
	defer l.txnMu.Unlock()
	for _, t := range l.txns {
		if t.marker < 0 || t.marker >= hw {
			return t.firstOffset
		}
	}
	return math.MaxInt64
}

// OpenTransaction describes an open transaction of the partition, for
// DescribeProducers and ListTransactions.
type OpenTransaction struct {
	ProducerID  int64
	FirstOffset int64
}

// OpenTransactions lists the open transactions, oldest first.
func (l *Log) OpenTransactions() []OpenTransaction {
	l.txnMu.Lock()
	defer l.txnMu.Unlock()
	var out []OpenTransaction
	for _, t := range l.txns {
		if t.marker < 0 {
			out = append(out, OpenTransaction{ProducerID: t.pid, FirstOffset: t.firstOffset})
		}
	}
	return out
}

// AbortedTxn is an aborted transaction a read_committed consumer must
// skip: the producer's batches from FirstOffset up to its ABORT marker.
type AbortedTxn struct {
	ProducerID, FirstOffset int64
}

// AbortedTransactions lists every aborted transaction with data in
// [from, upTo): its marker at or after from and its first offset below
// upTo, in marker order (Kafka's collectAbortedTransactions). It reads
// the in-memory transaction indexes of the segments from the one holding
// from, never files, and stops at the first entry whose last stable offset
// reaches upTo.
func (l *Log) AbortedTransactions(from, upTo int64) []AbortedTxn {
	all := l.abortedTxns(from, upTo)
	if len(all) == 0 {
		return nil
	}
	out := make([]AbortedTxn, len(all))
	for i, e := range all {
		out[i] = AbortedTxn{ProducerID: e.pid, FirstOffset: e.first}
	}
	return out
}

func (l *Log) abortedTxns(from, upTo int64) []abortedTxn {
	segs, _, _ := l.snapshotState()
	i := max(sort.Search(len(segs), func(i int) bool { return segs[i].base > from })-1, 0)
	var out []abortedTxn
	for _, s := range segs[i:] {
		var complete bool
		if out, complete = s.txn.collect(out, from, upTo); complete {
			break
		}
	}
	return out
}

// positionAt returns the start of the batch holding offset (the first
// batch whose last offset is >= offset) as a Position whose Offset is
// offset. If the segment cannot be read, the start of the segment stands
// in: a limit there only shows a reader less. mu must be held.
func (l *Log) positionAt(offset int64) Position {
	if offset >= l.leo {
		return l.end
	}
	i := max(sort.Search(len(l.segs), func(i int) bool { return l.segs[i].base > offset })-1, 0)
	for ; i < len(l.segs); i++ {
		seg := l.segs[i]
		pos, _, found, err := seg.find(offset, seg.size.Load())
		if err != nil {
			l.logger.Warn("locating a transaction's first batch", "partition", l.tp, "offset", offset, "err", err)
			return Position{Offset: offset, SegmentBase: seg.base}
		}
		if found {
			return Position{Offset: offset, SegmentBase: seg.base, FilePos: pos}
		}
	}
	return Position{Offset: offset, SegmentBase: l.end.SegmentBase, FilePos: l.end.FilePos}
}

// txnsFromProducers starts the transaction list over from the producer
// table (after a snapshot was loaded): every open transaction, located
// with the offset index. mu must be held (or the log not yet shared).
func (l *Log) txnsFromProducers() {
	var txns []txnEntry
	l.producers.mu.RLock()
	for _, e := range l.producers.producers {
		if e.txnFirstOffset >= 0 {
			txns = append(txns, txnEntry{pid: e.id, firstOffset: e.txnFirstOffset, marker: -1})
		}
	}
	l.producers.mu.RUnlock()
	slices.SortFunc(txns, func(a, b txnEntry) int { return compareTxns(&a, &b) })
	for i := range txns {
		txns[i].first = l.positionAt(max(txns[i].firstOffset, l.logStart))
	}
	l.txnMu.Lock()
	l.txns = txns
	l.txnMu.Unlock()
}

func compareTxns(a, b *txnEntry) int {
	if a.firstOffset != b.firstOffset {
		if a.firstOffset < b.firstOffset {
			return -1
		}
		return 1
	}
	if a.pid < b.pid {
		return -1
	}
	if a.pid > b.pid {
		return 1
	}
	return 0
}

// mergeEndedTxns adds to the transaction list the ended transactions of
// before (the list as it was before a truncation reloaded it) whose
// markers are still in the log: the reload only knows transactions that
// ended after its snapshot. mu must be held.
func (l *Log) mergeEndedTxns(before []txnEntry) {
	l.txnMu.Lock()
	defer l.txnMu.Unlock()
	n := len(l.txns)
	for _, t := range before {
		if t.marker < 0 || t.marker >= l.leo {
			continue
		}
		dup := false
		for _, u := range l.txns[:n] {
			if u.pid == t.pid && u.firstOffset == t.firstOffset {
				dup = true
				break
			}
		}
		if !dup {
			l.txns = append(l.txns, t)
		}
	}
	if len(l.txns) > n {
		slices.SortFunc(l.txns, func(a, b txnEntry) int { return compareTxns(&a, &b) })
	}
}

// relocateTxns recomputes the Positions of tracked transactions whose
// first batch is below the log start (raised to it) or lies in
// [from, to) (segments a cleaner swap rewrote). mu must be held.
func (l *Log) relocateTxns(from, to int64) {
	type key struct{ pid, first int64 }
	var keys []key
	l.txnMu.Lock()
	for _, t := range l.txns {
		if t.first.Offset < l.logStart || (t.first.SegmentBase >= from && t.first.SegmentBase < to) {
			keys = append(keys, key{t.pid, t.firstOffset})
		}
	}
	l.txnMu.Unlock()
	if len(keys) == 0 {
		return
	}
	// Files are read without txnMu, so LastStable never waits for them;
	// LastStable may drop entries meanwhile, hence the keys.
	pos := make(map[key]Position, len(keys))
	for _, k := range keys {
		pos[k] = l.positionAt(max(k.first, l.logStart))
	}
	l.txnMu.Lock()
	for i := range l.txns {
		if p, ok := pos[key{l.txns[i].pid, l.txns[i].firstOffset}]; ok {
			l.txns[i].first = p
		}
	}
	l.txnMu.Unlock()
}

// trackTxn updates the transaction list and the txn index after the
// producer table took batch h, written at pos in seg. mu must be held.
func (l *Log) trackTxn(seg *segment, pos int64, h *record.Header, m txnMarker, ch txnChange) error {
	if ch.began {
		l.txnBegan(h.ProducerID, Position{Offset: h.BaseOffset, SegmentBase: seg.base, FilePos: pos})
	}
	if !ch.ended || ch.first < 0 {
		return nil
	}
	lso := l.txnEnded(h.ProducerID, h.BaseOffset)
	if !m.valid || !m.abort {
		return nil
	}
	if seg.txn.append(abortedTxn{pid: h.ProducerID, first: ch.first, last: h.BaseOffset, lso: lso}) {
		l.dirDirty.Store(true) // the file is created with its first entry
	}
	// Entries are rare: each is written at once. Short of descriptors, it
	// waits in memory for the next write (flush, roll, close).
	if err := seg.txn.writePending(); err != nil && !errors.Is(err, ErrTooManyOpenFiles) {
		return err
	}
	return nil
}

// abortTracker follows, over batches read in offset order, which
// producers are inside an aborted transaction (Kafka's
// CleanedTransactionMetadata), from the aborted transactions sorted by
// first offset.
type abortTracker struct {
	txns    []abortedTxn
	next    int
	ongoing map[int64]int64 // producer id -> marker offset of its aborted transaction
}

func newAbortTracker(txns []abortedTxn) *abortTracker {
	s := slices.Clone(txns)
	slices.SortFunc(s, func(a, b abortedTxn) int {
		switch {
		case a.first < b.first:
			return -1
		case a.first > b.first:
			return 1
		}
		return 0
	})
	return &abortTracker{txns: s, ongoing: make(map[int64]int64)}
}

// aborted reports whether h is data of an aborted transaction. Batches
// must come in offset order (some may be skipped).
func (t *abortTracker) aborted(h *record.Header) bool {
	for t.next < len(t.txns) && t.txns[t.next].first <= h.LastOffset() {
		e := t.txns[t.next]
		t.ongoing[e.pid] = e.last
		t.next++
	}
	if len(t.ongoing) == 0 || !h.IsTransactional() || h.ProducerID < 0 {
		return false
	}
	last, ok := t.ongoing[h.ProducerID]
	if !ok {
		return false
	}
	if h.BaseOffset >= last {
		delete(t.ongoing, h.ProducerID)
		return false
	}
	return !h.IsControl()
}
