package history

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// checkProduces looks every produce attempt up in the final read: an
// acknowledged record must be there at its offset (lost, moved), and no
// idempotent producer's record may be there twice (duplicate).
func (c *checker) checkProduces() {
	counts := &c.r.Counts
	var buf []loc
	for i := range c.h.Produces {
		p := &c.h.Produces[i]
		counts.Produced++
		if p.Outcome == OK {
			counts.Acknowledged++
		}
		if !c.hasFinal {
			continue
		}
		t := tp{p.Topic, p.Partition}
		locs := c.locations(p.Value, buf[:0])
		buf = locs
		if len(locs) > 1 {
			if p.Idempotent {
				c.duplicate(p, locs)
			} else {
				counts.DuplicatesNonIdempotent += len(locs) - 1
			}
		}
		if p.Outcome != OK {
			if len(locs) > 0 {
				counts.UnackFound++
			}
			continue
		}
		if !c.committed(p) {
			counts.AckNotCommitted++
			continue
		}
		f := c.finals[t]
		if p.Offset < f.start() {
			counts.AckBelowLogStart++
			continue
		}
		counts.AckChecked++
		if slices.Contains(locs, loc{t, p.Offset}) {
			continue
		}
		c.lostOrMoved(p, f, locs)
	}
}

func (c *checker) duplicate(p *Produce, locs []loc) {
	offsets := make([]int64, len(locs))
	where := make([]string, len(locs))
	for i, l := range locs {
		offsets[i] = l.offset
		where[i] = fmt.Sprintf("%s offset %d", tpName(l.tp.topic, l.tp.partition), l.offset)
	}
	c.r.add(Anomaly{
		Kind: KindDuplicate, Topic: p.Topic, Partition: p.Partition, Offsets: offsets, Events: []Event{*p},
		Text: fmt.Sprintf("record %s of idempotent producer %s (seq %d, outcome %s) is in the final read %d times: %s",
			quote(p.Value), p.Producer, p.Seq, p.Outcome, len(locs), strings.Join(where, ", ")),
	})
}

func (c *checker) lostOrMoved(p *Produce, f *finalLog, locs []loc) {
	t := tp{p.Topic, p.Partition}
	there := f.describe()
	if v, ok := c.valueAt(t, p.Offset); ok {
		there = "offset " + fmt.Sprint(p.Offset) + " holds " + quote(v)
	} else if f != nil && f.last >= 0 {
		there = fmt.Sprintf("the final read has no offset %d (it holds %d to %d)", p.Offset, f.first, f.last)
	}
	what := fmt.Sprintf("%s offset %d: record %s acknowledged to producer %s (seq %d) at %s",
		tpName(p.Topic, p.Partition), p.Offset, quote(p.Value), p.Producer, p.Seq, fmtTime(p.End))
	if len(locs) == 0 {
		c.r.add(Anomaly{
			Kind: KindLost, Topic: p.Topic, Partition: p.Partition, Offsets: []int64{p.Offset}, Events: []Event{*p},
			Text: what + " is not in the final read; " + there,
		})
		return
	}
	l := locs[0]
	c.r.add(Anomaly{
		Kind: KindMoved, Topic: p.Topic, Partition: p.Partition, Offsets: []int64{p.Offset, l.offset}, Events: []Event{*p},
		Text: fmt.Sprintf("%s is at %s offset %d in the final read; %s", what, tpName(l.tp.topic, l.tp.partition), l.offset, there),
	})
}

// orderKey groups the acknowledged sends of one producer to one partition.
type orderKey struct {
	producer string
	tp       tp
}

// checkOrder compares the acknowledged offsets of each producer's sends to
// one partition in the order it sent them. Only idempotent producers
// promise that order (their sequence numbers make the broker refuse a
// batch out of order); a producer without idempotence that retries may
// land a later batch first, so its inversions are counted, not flagged.
// Consecutive pairs are compared, so one record out of place is one
// anomaly, not one per record after it.
func (c *checker) checkOrder() {
	groups := map[orderKey][]int32{}
	for i := range c.h.Produces {
		p := &c.h.Produces[i]
		if p.Outcome != OK {
			continue
		}
		k := orderKey{p.Producer, tp{p.Topic, p.Partition}}
		groups[k] = append(groups[k], int32(i))
	}
	keys := make([]orderKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b orderKey) int {
		return cmp.Or(cmp.Compare(a.producer, b.producer), cmp.Compare(a.tp.topic, b.tp.topic), cmp.Compare(a.tp.partition, b.tp.partition))
	})
	ps := c.h.Produces
	bySeq := func(a, b int32) int { return cmp.Compare(ps[a].Seq, ps[b].Seq) }
	for _, k := range keys {
		idx := groups[k]
		if !slices.IsSortedFunc(idx, bySeq) {
			slices.SortStableFunc(idx, bySeq)
		}
		for j := 1; j < len(idx); j++ {
			prev, cur := &ps[idx[j-1]], &ps[idx[j]]
			if !cur.Idempotent {
				if cur.Offset <= prev.Offset {
					c.r.Counts.ReorderedNonIdempotent++
				}
				continue
			}
			c.r.Counts.OrderPairs++
			if cur.Offset > prev.Offset {
				continue
			}
			c.r.add(Anomaly{
				Kind: KindOrder, Topic: cur.Topic, Partition: cur.Partition,
				Offsets: []int64{prev.Offset, cur.Offset}, Events: []Event{*prev, *cur},
				Text: fmt.Sprintf("%s: idempotent producer %s sent seq %d before seq %d, but they were acknowledged at offsets %d and %d",
					tpName(cur.Topic, cur.Partition), cur.Producer, prev.Seq, cur.Seq, prev.Offset, cur.Offset),
			})
		}
	}
}

// checkPhantoms flags every record of the final read that no produce
// attempt sent: the broker made it up or corrupted a record.
func (c *checker) checkPhantoms() {
	for i := range c.h.Consumes {
		e := &c.h.Consumes[i]
		if !e.Final {
			continue
		}
		// Only the event that holds the offset in the index: a record read
		// twice by final reads is one record.
		if j, _ := c.finals[tp{e.Topic, e.Partition}].get(e.Offset); j != int32(i) {
			continue
		}
		if _, ok := c.produceByValue[e.Value]; ok {
			continue
		}
		c.r.add(Anomaly{
			Kind: KindPhantom, Topic: e.Topic, Partition: e.Partition, Offsets: []int64{e.Offset}, Events: []Event{*e},
			Text: fmt.Sprintf("%s offset %d: the final read holds %s, which no producer sent",
				tpName(e.Topic, e.Partition), e.Offset, quote(e.Value)),
		})
	}
}
