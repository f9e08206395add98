package history

import (
	"fmt"
)

// sessionKey names one uninterrupted read of one partition by one
// consumer. Final reads are kept apart from the consumer's other reads, so
// a harness may reuse a consumer's name for the final read.
type sessionKey struct {
	consumer string
	session  int64
	tp       tp
	final    bool
}

// checkConsumes walks the consume events in history order, which is the
// order each consumer read them in, and checks three things per event:
// offsets rise within a session (offset-order); the record agrees with
// the final read (read-uncommitted-data); a read_committed consumer does
// not see an aborted record (aborted-read).
//
// A session may skip offsets: compaction removes records, transaction
// markers take offsets no consumer sees, and read_committed consumers skip
// aborted records. It may not repeat one or go back, which a consumer does
// only when it starts reading anew, and then it records a new session.
func (c *checker) checkConsumes() {
	counts := &c.r.Counts
	last := map[sessionKey]int32{}
	for i := range c.h.Consumes {
		e := &c.h.Consumes[i]
		t := tp{e.Topic, e.Partition}
		k := sessionKey{e.Consumer, e.Session, t, e.Final}
		if j, ok := last[k]; !ok {
			counts.Sessions++
		} else if prev := &c.h.Consumes[j]; e.Offset <= prev.Offset {
			c.r.add(Anomaly{
				Kind: KindOffsetOrder, Topic: e.Topic, Partition: e.Partition,
				Offsets: []int64{prev.Offset, e.Offset}, Events: []Event{*prev, *e},
				Text: fmt.Sprintf("%s: consumer %s read offset %d after offset %d in session %d",
					tpName(e.Topic, e.Partition), e.Consumer, e.Offset, prev.Offset, e.Session),
			})
		}
		last[k] = int32(i)
		if e.Isolation == ReadCommitted {
			c.checkReadCommitted(e)
		}
		if e.Final {
			continue
		}
		counts.Consumed++
		if c.hasFinal {
			c.compareWithFinal(e)
		}
	}
}

// compareWithFinal checks that a consumed record is what the final read
// holds at its offset. A record that is gone, or was replaced, was read
// above a high watermark that a failover or crash later truncated: the
// broker let a consumer see data it had not made safe.
func (c *checker) compareWithFinal(e *Consume) {
	counts := &c.r.Counts
	t := tp{e.Topic, e.Partition}
	f := c.finals[t]
	if e.Offset < f.start() {
		counts.ConsumedBelowLogStart++
		return
	}
	v, ok := c.valueAt(t, e.Offset)
	if ok && v == e.Value {
		counts.ConsumedChecked++
		return
	}
	if !ok {
		// A read_committed final read leaves out the records of
		// transactions that did not commit; a read_uncommitted consumer
		// may have seen them before.
		if p := c.produceOf(e.Value); p != nil && !c.committed(p) {
			counts.ConsumedNotCommitted++
			return
		}
	}
	counts.ConsumedChecked++
	there := f.describe()
	if ok {
		there = "the final read holds " + quote(v) + " there"
	} else if f != nil && f.last >= 0 {
		there = fmt.Sprintf("the final read has no offset %d (it holds %d to %d)", e.Offset, f.first, f.last)
	}
	c.r.add(Anomaly{
		Kind: KindReadUncommitted, Topic: e.Topic, Partition: e.Partition, Offsets: []int64{e.Offset}, Events: []Event{*e},
		Text: fmt.Sprintf("%s offset %d: consumer %s read %s at %s, but %s",
			tpName(e.Topic, e.Partition), e.Offset, e.Consumer, quote(e.Value), fmtTime(e.Time), there),
	})
}

// checkReadCommitted flags a read_committed read of a record whose
// transaction aborted. Records of transactions whose outcome is unknown
// prove nothing either way and are not counted.
func (c *checker) checkReadCommitted(e *Consume) {
	p := c.produceOf(e.Value)
	if p == nil || p.Txn == "" {
		return
	}
	switch c.txns[txnKey{p.Producer, p.TxnSeq}] {
	case TxnCommit:
		c.r.Counts.ReadCommitted++
	case TxnAbort:
		c.r.Counts.ReadCommitted++
		c.r.add(Anomaly{
			Kind: KindAbortedRead, Topic: e.Topic, Partition: e.Partition, Offsets: []int64{e.Offset}, Events: []Event{*e, *p},
			Text: fmt.Sprintf("%s offset %d: read_committed consumer %s read %s of transaction %d of producer %s (%s), which aborted",
				tpName(e.Topic, e.Partition), e.Offset, e.Consumer, quote(e.Value), p.TxnSeq, p.Producer, p.Txn),
		})
	}
}

// checkHighWatermarks compares every high watermark a consumer observed
// with the end of the final read, where the final read recorded one. A
// high watermark only moves forward while no data is lost, so one above the
// final end means records every in-sync replica had were truncated, even if
// nobody acknowledged or read them.
func (c *checker) checkHighWatermarks() {
	for _, hw := range c.h.HighWatermarks {
		if hw.Final {
			continue
		}
		f := c.finals[tp{hw.Topic, hw.Partition}]
		if f == nil || f.end < 0 {
			continue
		}
		c.r.Counts.HighWatermarks++
		if hw.Value <= f.end {
			continue
		}
		c.r.add(Anomaly{
			Kind: KindTruncatedHW, Topic: hw.Topic, Partition: hw.Partition, Offsets: []int64{hw.Value, f.end}, Events: []Event{hw},
			Text: fmt.Sprintf("%s: consumer %s saw high watermark %d at %s, but the final read ends at %d",
				tpName(hw.Topic, hw.Partition), hw.Consumer, hw.Value, fmtTime(hw.Time), f.end),
		})
	}
}
