package history

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrInvalid is wrapped by Check's error for a history the checker cannot
// judge: one whose events contradict each other in ways no broker could
// cause (a value produced twice, a transaction both committed and aborted).
var ErrInvalid = errors.New("invalid history")

// Check runs every check on h and returns what it found. h is not
// modified. The error is for an invalid history only; anomalies are in
// the Report.
//
// The work is linear in the number of events, apart from sorting the
// events of each producer, group and partition, so that histories of ten
// million events check in seconds: every lookup is a map keyed by value or
// a slice indexed by offset.
func Check(h *History) (*Report, error) {
	c := &checker{
		h: h,
		r: &Report{AnomalyCounts: map[Kind]int{}, Anomalies: []Anomaly{}},
	}
	c.r.Counts.Events = h.Len()
	if err := c.indexProduces(); err != nil {
		return nil, err
	}
	if err := c.indexTxns(); err != nil {
		return nil, err
	}
	c.indexFinal()
	c.r.FinalRead = c.hasFinal
	if !c.hasFinal {
		c.r.Notes = append(c.r.Notes, "the history has no final read (consume or hw events with final set): "+
			"lost, duplicate, corruption and truncation checks were skipped")
	}
	c.checkProduces()
	c.checkOrder()
	c.checkPhantoms()
	c.checkConsumes()
	c.checkHighWatermarks()
	c.checkCommits()
	c.checkOwnership()
	slices.SortStableFunc(c.r.Anomalies, func(a, b Anomaly) int {
		return cmp.Compare(slices.Index(Kinds, a.Kind), slices.Index(Kinds, b.Kind))
	})
	c.r.Checks = c.r.checks()
	return c.r, nil
}

// tp is a topic-partition.
type tp struct {
	topic     string
	partition int32
}

// loc is where a value is in the final read.
type loc struct {
	tp     tp
	offset int64
}

// txnKey names one transaction of one producer.
type txnKey struct {
	producer string
	seq      int64
}

type checker struct {
	h *History
	r *Report

	// produceByValue maps each produced value to its event's index.
	produceByValue map[string]int32
	// txns is how each transaction ended, as far as its producer knew.
	txns map[txnKey]TxnOutcome

	hasFinal bool
	finals   map[tp]*finalLog
	// finalByValue maps each value of the final read to its first
	// location; finalMore holds every location of the few values that
	// have more than one, so the common case costs one map entry.
	finalByValue map[string]loc
	finalMore    map[string][]loc
}

func (c *checker) indexProduces() error {
	// Events are indexed by int32 to halve the indexes' memory.
	if len(c.h.Produces) > math.MaxInt32 || len(c.h.Consumes) > math.MaxInt32 {
		return fmt.Errorf("%w: more than %d produce or consume events", ErrInvalid, math.MaxInt32)
	}
	c.produceByValue = make(map[string]int32, len(c.h.Produces))
	for i := range c.h.Produces {
		p := &c.h.Produces[i]
		if j, ok := c.produceByValue[p.Value]; ok {
			q := &c.h.Produces[j]
			return fmt.Errorf("%w: value %s is sent by two produce attempts (producer %s seq %d and producer %s seq %d); "+
				"the checker finds records by value, so every attempt needs its own", ErrInvalid, quote(p.Value), q.Producer, q.Seq, p.Producer, p.Seq)
		}
		c.produceByValue[p.Value] = int32(i)
	}
	return nil
}

func (c *checker) indexTxns() error {
	c.txns = make(map[txnKey]TxnOutcome, len(c.h.Txns))
	for _, t := range c.h.Txns {
		k := txnKey{t.Producer, t.TxnSeq}
		prev, ok := c.txns[k]
		switch {
		case !ok || prev == TxnUnknown:
			c.txns[k] = t.Outcome
		case t.Outcome != TxnUnknown && t.Outcome != prev:
			return fmt.Errorf("%w: transaction %d of producer %s both committed and aborted", ErrInvalid, t.TxnSeq, t.Producer)
		}
	}
	return nil
}

// produceOf returns the produce attempt that sent value, or nil.
func (c *checker) produceOf(value string) *Produce {
	if i, ok := c.produceByValue[value]; ok {
		return &c.h.Produces[i]
	}
	return nil
}

// committed reports whether p's record must be visible to every reader:
// it is not transactional, or its transaction committed.
func (c *checker) committed(p *Produce) bool {
	return p.Txn == "" || c.txns[txnKey{p.Producer, p.TxnSeq}] == TxnCommit
}

// finalLog is the final read of one partition: which consume event holds
// each offset, and the log's start and end when the final read recorded
// them.
type finalLog struct {
	first, last int64 // lowest and highest offset read; first > last when none
	events      int   // final consume events, duplicates included

	// Offsets are dense unless compaction or aborted transactions left
	// large gaps, so a slice indexed by offset-first is the usual index;
	// a sparse partition uses a map instead.
	dense  []int32 // consume event index + 1; 0 = no record
	sparse map[int64]int32

	logStart int64 // from final hw events; 0 when none was recorded
	end      int64 // from final hw events; -1 when none was recorded
}

func newFinalLog() *finalLog {
	return &finalLog{first: math.MaxInt64, last: -1, end: -1}
}

// get returns the index of the consume event at offset in the final read.
func (f *finalLog) get(offset int64) (int32, bool) {
	if f == nil || offset < f.first || offset > f.last {
		return 0, false
	}
	if f.dense != nil {
		i := f.dense[offset-f.first]
		return i - 1, i != 0
	}
	i, ok := f.sparse[offset]
	return i, ok
}

func (f *finalLog) set(offset int64, i int32) {
	if f.dense != nil {
		f.dense[offset-f.first] = i + 1
		return
	}
	f.sparse[offset] = i
}

// start returns the log start offset of a partition, nil meaning a
// partition the final read found empty.
func (f *finalLog) start() int64 {
	if f == nil {
		return 0
	}
	return f.logStart
}

// describe says what the final read of a partition holds, for sentences.
func (f *finalLog) describe() string {
	if f == nil || f.last < 0 {
		return "the final read of the partition is empty"
	}
	return fmt.Sprintf("the final read holds offsets %d to %d", f.first, f.last)
}

func (c *checker) finalLogOf(t tp) *finalLog {
	f := c.finals[t]
	if f == nil {
		f = newFinalLog()
		c.finals[t] = f
	}
	return f
}

// indexFinal builds the index of the final read: per partition, offset to
// event; and value to location.
func (c *checker) indexFinal() {
	h := c.h
	c.finals = map[tp]*finalLog{}
	for i := range h.Consumes {
		e := &h.Consumes[i]
		if !e.Final {
			continue
		}
		f := c.finalLogOf(tp{e.Topic, e.Partition})
		f.first = min(f.first, e.Offset)
		f.last = max(f.last, e.Offset)
		f.events++
		c.r.Counts.FinalEvents++
	}
	for _, hw := range h.HighWatermarks {
		if !hw.Final {
			continue
		}
		f := c.finalLogOf(tp{hw.Topic, hw.Partition})
		// Several final reads may have recorded the partition: the
		// smallest log start skips the fewest records, the largest end
		// is the furthest the log is known to have reached.
		if f.end < 0 {
			f.logStart = hw.LogStart
		} else {
			f.logStart = min(f.logStart, hw.LogStart)
		}
		f.end = max(f.end, hw.Value)
	}
	c.hasFinal = len(c.finals) > 0
	c.r.Counts.FinalPartitions = len(c.finals)
	for _, f := range c.finals {
		if f.events == 0 {
			continue
		}
		// The subtraction cannot overflow: offsets are not negative.
		if span := f.last - f.first; span < int64(4*f.events+1024) {
			f.dense = make([]int32, span+1)
		} else {
			f.sparse = make(map[int64]int32, f.events)
		}
	}
	c.finalByValue = make(map[string]loc, c.r.Counts.FinalEvents)
	c.finalMore = map[string][]loc{}
	for i := range h.Consumes {
		e := &h.Consumes[i]
		if !e.Final {
			continue
		}
		t := tp{e.Topic, e.Partition}
		f := c.finals[t]
		if j, ok := f.get(e.Offset); ok {
			if other := &h.Consumes[j]; other.Value != e.Value {
				c.r.add(Anomaly{
					Kind: KindFinalConflict, Topic: e.Topic, Partition: e.Partition,
					Offsets: []int64{e.Offset}, Events: []Event{*other, *e},
					Text: fmt.Sprintf("%s offset %d: the final read holds both %s and %s (consumers %s and %s)",
						tpName(e.Topic, e.Partition), e.Offset, quote(other.Value), quote(e.Value), other.Consumer, e.Consumer),
				})
			}
			continue
		}
		f.set(e.Offset, int32(i))
		c.r.Counts.FinalRecords++
		l := loc{t, e.Offset}
		first, ok := c.finalByValue[e.Value]
		if !ok {
			c.finalByValue[e.Value] = l
			continue
		}
		if more := c.finalMore[e.Value]; more != nil {
			c.finalMore[e.Value] = append(more, l)
		} else {
			c.finalMore[e.Value] = []loc{first, l}
		}
	}
}

// locations returns where value is in the final read, appending to buf.
func (c *checker) locations(value string, buf []loc) []loc {
	if more, ok := c.finalMore[value]; ok {
		return append(buf, more...)
	}
	if l, ok := c.finalByValue[value]; ok {
		return append(buf, l)
	}
	return buf
}

// valueAt returns the value the final read holds at an offset.
func (c *checker) valueAt(t tp, offset int64) (string, bool) {
	i, ok := c.finals[t].get(offset)
	if !ok {
		return "", false
	}
	return c.h.Consumes[i].Value, true
}
