package storage

import (
	"sort"
	"sync"

	"github.com/samsa-streaming/samsa/internal/record"
)

// maxBatchesPerProducer is how many recent batches are remembered per
// producer for duplicate detection, matching the five in-flight requests an
// idempotent Kafka producer may have.
const maxBatchesPerProducer = 5

// batchMeta is what is remembered of one idempotent batch.
type batchMeta struct {
	firstSeq, lastSeq int32
	lastOffset        int64
	offsetDelta       int32
	timestamp         int64
}

// producerEntry is one producer id's state, as Kafka's ProducerStateEntry.
type producerEntry struct {
	id               int64
	epoch            int16 // -1 when unknown: any sequence is then accepted
	batches          [maxBatchesPerProducer]batchMeta
	n                int // batches[:n] are valid, oldest first
	lastTimestamp    int64
	coordinatorEpoch int32
	txnFirstOffset   int64 // first offset of the open transaction, -1 if none
	// lastMarker is the offset of the producer's last transaction marker,
	// -1 when unknown: snapshots do not hold it, so a producer loaded
	// from one that wrote no marker since has every marker below the
	// offset the state was loaded at (producerState.loadedAt).
	lastMarker int64
}

func newProducerEntry(id int64) *producerEntry {
	return &producerEntry{id: id, epoch: -1, coordinatorEpoch: -1, txnFirstOffset: -1, lastMarker: -1}
}

func (e *producerEntry) lastSeq() int32 {
	if e.n == 0 {
		return -1
	}
	return e.batches[e.n-1].lastSeq
}

func (e *producerEntry) addBatch(b batchMeta) {
	if e.n == maxBatchesPerProducer {
		copy(e.batches[:], e.batches[1:])
		e.n--
	}
	e.batches[e.n] = b
	e.n++
}

// duplicate returns the remembered batch with the same epoch and sequence
// range as h, if any.
func (e *producerEntry) duplicate(h *record.Header) (batchMeta, bool) {
	if h.ProducerEpoch != e.epoch {
		return batchMeta{}, false
	}
	last := h.LastSequence()
	for i := 0; i < e.n; i++ {
		if e.batches[i].firstSeq == h.BaseSequence && e.batches[i].lastSeq == last {
			return e.batches[i], true
		}
	}
	return batchMeta{}, false
}

// ProducerInfo describes one producer for DescribeProducers.
type ProducerInfo struct {
	ProducerID            int64
	ProducerEpoch         int16
	LastSequence          int32
	LastTimestamp         int64
	CoordinatorEpoch      int32 // of the producer's last marker, -1 if none
	CurrentTxnStartOffset int64 // -1 when no transaction is open
}

// producerState is the partition's producer table (Kafka's
// ProducerStateManager; the Log keeps the transaction list and index).
type producerState struct {
	mu        sync.RWMutex // guards producers for ProducerStates; writers hold Log.mu too
	producers map[int64]*producerEntry
	// loadedAt is the offset the table was last loaded at (a snapshot's,
	// or the first segment's when replayed from the start); loads counts
	// the loads, so the cleaner can tell its view of the table is current.
	loadedAt int64
	loads    uint64
}

func newProducerState() *producerState {
	return &producerState{producers: make(map[int64]*producerEntry)}
}

// inSequence reports whether next follows last, with Kafka's wrap from
// math.MaxInt32 to 0.
func inSequence(last, next int32) bool {
	return int64(next) == int64(last)+1 || (next == 0 && last == 1<<31-1)
}

// appendOrigin is where a batch comes from, as Kafka's AppendOrigin: it
// decides which producer checks apply.
type appendOrigin uint8

const (
	// originClient: a producer's batch; every check.
	originClient appendOrigin = iota
	// originCoordinator: a batch written by a coordinator (transaction
	// markers, transactional offset commits): epochs and transaction
	// state are checked, sequences are not.
	originCoordinator
	// originReplication: a follower's copy or a replayed batch; no checks.
	originReplication
)

// check applies Kafka's producer rules to a batch with a producer id
// appended as leader. For a client batch it returns the original batch
// when h is a retry of one of the last five batches. Errors:
// ErrInvalidProducerEpoch, ErrOutOfOrderSequence (client batches only),
// ErrTransactionCoordinatorFenced (a marker with an older coordinator
// epoch) and ErrInvalidTxnState (a non-transactional batch while the
// producer has a transaction open). It only reads; update commits the
// batch after it is written.
func (p *producerState) check(h *record.Header, m txnMarker, origin appendOrigin) (dup batchMeta, isDup bool, err error) {
	e := p.producers[h.ProducerID]
	if e == nil {
		// An unknown producer (new, or forgotten after retention) may start
		// at any sequence.
		return batchMeta{}, false, nil
	}
	if h.IsControl() {
		if h.ProducerEpoch < e.epoch {
			return batchMeta{}, false, ErrInvalidProducerEpoch
		}
		if m.valid && m.coordinatorEpoch < e.coordinatorEpoch {
			return batchMeta{}, false, ErrTransactionCoordinatorFenced
		}
		return batchMeta{}, false, nil
	}
	if origin == originClient {
		if d, ok := e.duplicate(h); ok {
			return d, true, nil
		}
	}
	if h.ProducerEpoch < e.epoch {
		return batchMeta{}, false, ErrInvalidProducerEpoch
	}
	if origin == originClient && e.epoch >= 0 {
		if h.ProducerEpoch != e.epoch {
			if h.BaseSequence != 0 {
				return batchMeta{}, false, ErrOutOfOrderSequence
			}
		} else if !inSequence(e.lastSeq(), h.BaseSequence) {
			return batchMeta{}, false, ErrOutOfOrderSequence
		}
	}
	if e.txnFirstOffset >= 0 && !h.IsTransactional() {
		return batchMeta{}, false, ErrInvalidTxnState
	}
	return batchMeta{}, false, nil
}

// txnChange is what a batch did to its producer's transaction.
type txnChange struct {
	began bool  // a transactional data batch opened a transaction
	ended bool  // a marker (control batch)
	first int64 // for a marker: the first offset of the transaction it ended, -1 if none was open
}

// update records a written batch (client, coordinator, follower or
// replayed). A batch from a newer epoch resets the remembered batches; a
// marker ends the producer's transaction and, when decoded, sets its
// coordinator epoch. Batches without a sequence (a coordinator's) are not
// remembered for duplicate detection, so a client's next sequence still
// follows its own last batch.
func (p *producerState) update(h *record.Header, m txnMarker) txnChange {
	if h.ProducerID < 0 {
		return txnChange{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.producers[h.ProducerID]
	if e == nil {
		e = newProducerEntry(h.ProducerID)
		p.producers[h.ProducerID] = e
	}
	if h.ProducerEpoch != e.epoch {
		e.epoch = h.ProducerEpoch
		e.n = 0
	}
	e.lastTimestamp = h.MaxTimestamp
	if h.IsControl() {
		ch := txnChange{ended: true, first: e.txnFirstOffset}
		e.txnFirstOffset = -1
		e.lastMarker = h.BaseOffset
		if m.valid {
			e.coordinatorEpoch = m.coordinatorEpoch
		}
		return ch
	}
	if h.BaseSequence >= 0 {
		e.addBatch(batchMeta{
			firstSeq:    h.BaseSequence,
			lastSeq:     h.LastSequence(),
			lastOffset:  h.LastOffset(),
			offsetDelta: h.LastOffsetDelta,
			timestamp:   h.MaxTimestamp,
		})
	}
	if h.IsTransactional() && e.txnFirstOffset < 0 {
		e.txnFirstOffset = h.BaseOffset
		return txnChange{began: true}
	}
	return txnChange{}
}

func (p *producerState) reset() { p.replace(make(map[int64]*producerEntry)) }

// loaded records that the table was just loaded to offset from (replay
// starts there).
func (p *producerState) loaded(from int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.loadedAt = from
	p.loads++
}

func (p *producerState) replace(m map[int64]*producerEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.producers = m
}

// infos lists producers sorted by id.
func (p *producerState) infos() []ProducerInfo {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]ProducerInfo, 0, len(p.producers))
	for _, e := range p.producers {
		out = append(out, ProducerInfo{
			ProducerID:            e.id,
			ProducerEpoch:         e.epoch,
			LastSequence:          e.lastSeq(),
			LastTimestamp:         e.lastTimestamp,
			CoordinatorEpoch:      e.coordinatorEpoch,
			CurrentTxnStartOffset: e.txnFirstOffset,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ProducerID < out[j].ProducerID })
	return out
}

// sortedEntries returns the entries sorted by producer id, for snapshots.
func (p *producerState) sortedEntries() []*producerEntry {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]*producerEntry, 0, len(p.producers))
	for _, e := range p.producers {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}
