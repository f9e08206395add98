package partition

import (
	"fmt"
	"slices"
	"time"

	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/record"
)

// applyMetadata brings the replica in line with the partition's entry in a
// new metadata image: leader, leader epoch, replicas and ISR. It reports
// whether this replica is now a follower that must (re)start fetching
// from a new leader or epoch.
func (p *Partition) applyMetadata(pm metadata.Partition, now time.Time) (follow bool) {
	p.mu.Lock()
	if pm.PartitionEpoch < p.partEpoch {
		// An older image than one already applied (a large topic created
		// in the background syncs from the image it read): nothing new.
		follow = p.leader >= 0 && p.leader != p.nodeID
		p.mu.Unlock()
		return follow
	}
	wasLeader := p.leader == p.nodeID
	newEpoch := pm.LeaderEpoch != p.leaderEpoch
	if pm.PartitionEpoch > p.partEpoch || newEpoch {
		// The partition changed: a pending ISR change is settled (applied,
		// or refused for good, since a proposal based on an older
		// partition epoch conflicts). An image that changed something
		// else (a broker registered) settles nothing.
		p.isrPending, p.maximalISR = false, nil
	}
	p.replicas, p.isr, p.partEpoch = slices.Clone(pm.Replicas), slices.Clone(pm.ISR), pm.PartitionEpoch
	p.leader, p.leaderEpoch = pm.Leader, pm.LeaderEpoch
	if p.reopened && pm.Leader == p.nodeID {
		p.reopened = false
		if len(pm.ISR) > 1 {
			// The log end a replica reopened with is no high watermark
			// when other replicas are in sync: the followers may never
			// have had its tail, and the image that makes it the leader
			// may be one its node has not caught up past (another leader
			// took over while it was down). Nothing past the log start is
			// shown until the followers' fetches move the high watermark
			// again. Alone in the ISR, everything it has is committed.
			// (A reopened follower keeps the mark until it has taken a
			// leader's high watermark: it may come to lead before.)
			if pos, ok := p.log.PositionOf(p.log.LogStartOffset()); ok && pos.Offset < p.hw.Offset {
				p.hw = pos
			}
		}
	}
	if pm.Leader == p.nodeID {
		if !wasLeader || newEpoch || p.followers == nil {
			// A new term as leader: every follower is unknown until it
			// fetches; ISR members get the full lag time to do so.
			p.followers = map[int32]*follower{}
			for _, r := range pm.Replicas {
				if r != p.nodeID {
					p.followers[r] = &follower{leo: -1, caughtUp: now, prevLeaderEnd: -1}
				}
			}
			if p.flusher == nil {
				p.localEnd = p.log.EndPosition()
			}
			p.epochStart = p.log.LogEndOffset()
			// The epoch starts here in the leader epoch cache too, so a
			// follower asking where an older epoch ended is told (Kafka's
			// leader assigns it as its term begins).
			p.log.AssignLeaderEpoch(pm.LeaderEpoch)
		}
		// A reassignment adds and removes replicas within a term.
		for _, r := range pm.Replicas {
			if _, ok := p.followers[r]; !ok && r != p.nodeID {
				p.followers[r] = &follower{leo: -1, caughtUp: now, prevLeaderEnd: -1}
			}
		}
		for r := range p.followers {
			if !slices.Contains(pm.Replicas, r) {
				delete(p.followers, r)
			}
		}
		p.truncate = false
		p.advanceLocked() // a smaller ISR can move the high watermark
		return false
	}
	// A follower (or a replica with no leader): acks waiting for this
	// replica's leadership will not be answered by it.
	acks := p.acks
	p.acks, p.followers = nil, nil
	if wasLeader || newEpoch {
		p.truncate = true
		p.followerSynced = false
	}
	follow = pm.Leader >= 0
	p.mu.Unlock()
	for _, a := range acks {
		a.done(ErrNotLeader)
	}
	return follow
}

// FollowerFetched records a follower's fetch at fetchOffset (its log end)
// on the leader, as Kafka's Partition.updateFollowerFetchState does: it
// may move the high watermark, and a follower that caught up is asked into
// the ISR.
func (p *Partition) FollowerFetched(id int32, fetchOffset int64, now time.Time) error {
	p.mu.Lock()
	if p.leader != p.nodeID {
		p.mu.Unlock()
		return ErrNotLeader
	}
	f := p.followers[id]
	if f == nil {
		p.mu.Unlock()
		return fmt.Errorf("%w: node %d is not a replica of %s-%d", ErrNotLeader, id, p.Topic, p.Index)
	}
	end := p.log.LogEndOffset()
	switch {
	case fetchOffset >= end:
		f.caughtUp = now
	case f.prevLeaderEnd >= 0 && fetchOffset >= f.prevLeaderEnd:
		if f.prevFetch.After(f.caughtUp) {
			f.caughtUp = f.prevFetch
		}
	}
	f.prevFetch, f.prevLeaderEnd = now, end
	f.leo = fetchOffset
	var expand []int32
	// A follower joins the ISR once it has the high watermark and
	// everything this leader had when its term began (Kafka's leader
	// epoch start offset): a new leader's high watermark can lag what the
	// previous leader had committed (it moves when the followers fetch),
	// so a follower level with it alone may lack committed records.
	if !slices.Contains(p.isr, id) && !p.isrPending && fetchOffset >= p.hw.Offset && fetchOffset >= p.epochStart && p.alterISR != nil {
		expand = append(slices.Clone(p.isr), id)
		p.maximalISR = expand
		p.askISRLocked(expand, now)
	}
	req := p.isrAsk
	p.advanceLocked()
	if expand != nil {
		p.alterISR(p, req)
	}
	return nil
}

// askISRLocked makes isr the pending ISR change. Called with mu held; the
// caller then passes p.isrAsk to alterISR without it.
func (p *Partition) askISRLocked(isr []int32, now time.Time) {
	p.isrPending, p.isrAsked = true, now
	p.isrAsk = ISRRequest{LeaderEpoch: p.leaderEpoch, PartitionEpoch: p.partEpoch, ISR: isr}
}

// checkLaggards drops from the ISR the followers that have not caught up
// for maxLag (replica.lag.time.max.ms), and asks again for a pending ISR
// change that has not shown in the image for isrAskAgain. Called
// periodically on leaders.
func (p *Partition) checkLaggards(now time.Time, maxLag time.Duration) {
	p.mu.Lock()
	if p.leader != p.nodeID || p.alterISR == nil {
		p.mu.Unlock()
		return
	}
	if p.isrPending {
		if now.Sub(p.isrAsked) < isrAskAgain {
			p.mu.Unlock()
			return
		}
		p.isrAsked = now
		req := p.isrAsk
		p.mu.Unlock()
		p.alterISR(p, req)
		return
	}
	var keep []int32
	for _, r := range p.isr {
		if f := p.followers[r]; r != p.nodeID && f != nil && now.Sub(f.caughtUp) > maxLag {
			continue
		}
		keep = append(keep, r)
	}
	if len(keep) == len(p.isr) {
		p.mu.Unlock()
		return
	}
	p.askISRLocked(keep, now)
	req := p.isrAsk
	p.mu.Unlock()
	p.alterISR(p, req)
}

// NeedsTruncation reports whether this follower must ask its leader where
// its log diverges before fetching, and the epoch to ask about.
func (p *Partition) NeedsTruncation() (bool, int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.truncate, p.leaderEpoch
}

// TruncateAfterEpoch cuts the follower's log where it parts from its
// leader's, from the leader's answer to OffsetForLeaderEpoch for the
// follower's latest epoch (KIP-101, with KIP-279's refinement): the
// leader's history has leaderEpoch as the largest epoch at or below the
// one asked about, ending at leaderEnd (leaderEpoch < 0: the leader could
// not say; the follower keeps what its high watermark covers, as Kafka's
// does). What follows the cut was never acknowledged under the leader's
// history.
//
// When the follower has records of leaderEpoch too, its own records of
// that epoch may end earlier than the leader's (it led a later epoch the
// leader never saw, and wrote its own records after them): the cut is the
// earlier of the two ends. When the follower has no record of leaderEpoch,
// it cuts at the end of its own largest epoch below it and asks again
// (the truncation is not done). Cutting at the leader's end alone kept a
// follower's records of an epoch the new leader never had, below records
// the leader had at the same offsets (found by the simulation: the logs
// of two in-sync replicas differed).
func (p *Partition) TruncateAfterEpoch(epoch, leaderEpoch int32, leaderEnd int64) error {
	p.mu.Lock()
	if p.leaderEpoch != epoch || p.leader == p.nodeID {
		p.mu.Unlock()
		return nil // leadership changed meanwhile: the next round asks again
	}
	hw := p.hw.Offset
	p.mu.Unlock()
	end, done := leaderEnd, true
	if leaderEpoch < 0 || leaderEnd < 0 {
		end = hw
	} else if fe, fend := p.log.EndOffsetForEpoch(leaderEpoch); fe >= 0 && fend >= 0 {
		if fe == leaderEpoch {
			end = min(fend, leaderEnd)
		} else {
			end, done = fend, false
		}
	}
	if end <= p.log.LogEndOffset() {
		// At the log end too: epochs with no record there go.
		if err := p.log.TruncateTo(max(end, p.log.LogStartOffset())); err != nil {
			return err
		}
	}
	p.mu.Lock()
	p.localEnd = p.log.EndPosition()
	if p.hw.Offset > p.localEnd.Offset {
		// Cannot happen when the leader's history holds everything below
		// the high watermark; kept within the log all the same.
		p.hw = p.localEnd
	}
	if p.leaderEpoch == epoch && done {
		p.truncate = false
	}
	p.mu.Unlock()
	return nil
}

// FollowLogStart raises this follower's log start to its leader's (what
// DeleteRecords moved on the leader is deleted here too, so a failover
// does not bring it back), as far as this replica's high watermark.
func (p *Partition) FollowLogStart(leaderStart int64) error {
	p.mu.Lock()
	start := min(leaderStart, p.hw.Offset)
	follower := p.leader != p.nodeID
	p.mu.Unlock()
	if !follower || start <= p.log.LogStartOffset() {
		return nil
	}
	return p.log.DeleteRecordsBefore(start)
}

// StartAt empties this follower's log and starts it at offset, the
// leader's log start, when the leader no longer has the records after this
// replica's end (retention or DeleteRecords removed them): a new replica
// of an old topic starts where the leader's log does, as in Kafka.
func (p *Partition) StartAt(offset int64) error {
	p.mu.Lock()
	follower := p.leader != p.nodeID
	p.mu.Unlock()
	if !follower || offset <= p.log.LogEndOffset() {
		return nil
	}
	if err := p.log.TruncateFullyAndStartAt(offset); err != nil {
		return err
	}
	p.mu.Lock()
	p.localEnd = p.log.EndPosition()
	p.hw = p.localEnd
	p.truncate = false
	p.mu.Unlock()
	return nil
}

// AppendReplicated appends the complete batches of data, fetched from the
// leader, and takes the leader's high watermark (capped by this replica's
// end). A batch cut short at the end of data (Kafka sends the last one
// partially) is left for the next fetch. It returns how many bytes it
// appended.
func (p *Partition) AppendReplicated(data []byte, leaderHW int64, now time.Time) (int, error) {
	n := 0
	for len(data) > 0 {
		h, err := record.ParseHeader(data)
		if err != nil || h.TotalSize() > int64(len(data)) {
			break // partial batch
		}
		size := int(h.TotalSize())
		batch := data[:size]
		if _, err := record.Validate(batch); err != nil {
			return n, fmt.Errorf("replicated batch at offset %d: %w", h.BaseOffset, err)
		}
		if end := p.log.LogEndOffset(); h.BaseOffset < end && h.LastOffset() >= end && end == p.log.LogStartOffset() {
			// An empty log started at the leader's log start, which falls
			// inside this batch (DeleteRecords cuts batches): the log
			// starts at the batch instead, as in Kafka; the log start
			// follows the leader's again after the append.
			if err := p.log.TruncateFullyAndStartAt(h.BaseOffset); err != nil {
				return n, err
			}
		}
		if _, err := p.log.AppendFollower(batch, now); err != nil {
			return n, err
		}
		data, n = data[size:], n+size
	}
	if n > 0 && p.flusher != nil {
		// group-commit: what a follower reports having must be durable,
		// or acks=all would count a copy a power loss takes back.
		if _, err := p.log.Flush(); err != nil {
			return n, err
		}
	}
	p.mu.Lock()
	p.localEnd = p.log.EndPosition()
	p.advanceFollowerLocked(leaderHW)
	return n, nil
}

// advanceFollowerLocked sets a follower's high watermark to the leader's,
// capped by its own end. Called with mu held; releases it.
func (p *Partition) advanceFollowerLocked(leaderHW int64) {
	hw := min(leaderHW, p.localEnd.Offset)
	var ws []*Waiter
	if !p.followerSynced && hw >= 0 {
		// The first answer from this leader: the high watermark a restart
		// or an old leadership left may be above what this leader has
		// committed (its tail may yet be truncated); take the leader's.
		// (If it falls inside a batch here, reads wait for a later one.)
		if hw >= p.hw.Offset {
			p.followerSynced = true
		} else if pos, ok := p.log.PositionOf(hw); ok {
			p.hw, p.followerSynced = pos, true
		}
		if p.followerSynced {
			p.reopened = false // its high watermark is a leader's now
		}
	}
	if hw > p.hw.Offset {
		pos := p.localEnd
		ok := true
		if hw != pos.Offset {
			pos, ok = p.log.PositionOf(hw)
		}
		if ok {
			p.hw = pos
			for w := range p.waiters {
				ws = append(ws, w)
			}
		}
	}
	p.mu.Unlock()
	for _, w := range ws {
		w.wake()
	}
}

// LocalEnd is this replica's log end offset, the fetch offset a follower
// sends.
func (p *Partition) LocalEnd() int64 { return p.log.LogEndOffset() }

// Leader returns the leader's node id and epoch as this replica knows them.
func (p *Partition) Leader() (int32, int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leader, p.leaderEpoch
}

// ISR is the in-sync replica set as this replica last applied it.
func (p *Partition) ISR() []int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.isr)
}

// ReadReplicas lists, in replica order, the followers a consumer reading
// from offset may be sent to instead of the leader (KIP-392): in the ISR,
// holding offset already, and caught up with the leader within maxLag.
// Leader only; nil otherwise.
func (p *Partition) ReadReplicas(offset int64, now time.Time, maxLag time.Duration) []int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.leader != p.nodeID {
		return nil
	}
	var out []int32
	for _, id := range p.replicas {
		f, ok := p.followers[id]
		if !ok || id == p.nodeID || !slices.Contains(p.isr, id) {
			continue
		}
		if f.leo >= offset && now.Sub(f.caughtUp) <= maxLag {
			out = append(out, id)
		}
	}
	return out
}

// ServesFollowerReads reports whether this follower may answer a
// consumer's fetch (KIP-392): it has heard its current leader's high
// watermark since it became a follower or restarted, so nothing it shows
// can still be truncated.
func (p *Partition) ServesFollowerReads() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leader != p.nodeID && p.followerSynced && slices.Contains(p.replicas, p.nodeID)
}

// FollowerThrottled reports whether this broker's replica counts against
// the follower throttle: named in the topic's
// follower.replication.throttled.replicas and not in the ISR (as in Kafka,
// an in-sync replica is never throttled, so acks=all never waits on one).
func (p *Partition) FollowerThrottled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg.FollowerThrottled.Has(p.Index, p.nodeID) && !slices.Contains(p.isr, p.nodeID)
}

// LeaderThrottled reports whether replica's fetching from this leader
// counts against the leader throttle: named in the topic's
// leader.replication.throttled.replicas and not in the ISR.
func (p *Partition) LeaderThrottled(replica int32) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg.LeaderThrottled.Has(p.Index, replica) && !slices.Contains(p.isr, replica)
}

// ReadLocal calls fn with this replica's log, from its start to its end
// (a new leader reads past its high watermark: what lies there came from
// the previous leader and is its log now), at most 1 MiB at a time. fn
// returns the offset after the last whole batch it took; reading goes on
// from there. Coordinators rebuild their state from their internal topics
// this way when they come to lead a partition.
func (p *Partition) ReadLocal(fn func(data []byte) (next int64, err error)) error {
	off := p.log.LogStartOffset()
	end := p.LocalEnd()
	for off < end {
		s, err := p.ReadReplica(off, 1<<20)
		if err != nil {
			return err
		}
		data, err := s.Bytes()
		s.Release()
		if err != nil {
			return err
		}
		if len(data) == 0 {
			return nil
		}
		next, err := fn(data)
		if err != nil {
			return err
		}
		if next <= off {
			return fmt.Errorf("no progress reading %s-%d at offset %d", p.Topic, p.Index, off)
		}
		off = next
	}
	return nil
}
