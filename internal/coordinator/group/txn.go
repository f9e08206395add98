package group

import (
	"errors"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/partition"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// Transactional offset commits (TxnOffsetCommit, KIP-98 and KIP-447), as
// Kafka's OffsetMetadataManager keeps them: the offsets are written in one
// transactional batch of the producer; once durable they are pending for
// (group, producer id), invisible to OffsetFetch (UNSTABLE_OFFSET_COMMIT
// with require_stable), until the transaction's marker on the group's
// partition commits them (CompleteTxn, or the marker met while replaying)
// or aborts them.

// txnEnd is a transaction marker reported while its partition loads.
type txnEnd struct {
	producerID int64
	commit     bool
}

// TxnOffsetCommit handles a TxnOffsetCommit request. The response is given
// once the transactional batch is durable (from AppendDone); the offsets
// are then pending until CompleteTxn.
func (c *Coordinator) TxnOffsetCommit(now time.Time, req *kmsg.TxnOffsetCommitRequest, known Known, to Caller) Out {
	var out Out
	resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	unknown := 0
	for _, rt := range req.Topics {
		t := kmsg.NewTxnOffsetCommitResponseTopic()
		t.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			p := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			p.Partition = rp.Partition
			// Kafka checks the partitions before the coordinator sees
			// the request: an unknown one answers this whatever else.
			if !known(rt.Topic, rp.Partition) {
				p.ErrorCode = kerr.UnknownTopicOrPartition.Code
				unknown++
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	reply := func(out *Out) {
		if req.Version < 2 {
			// Kafka: clients before 2.0 (v0-v1) do not retry a loading
			// coordinator (KAFKA-7296); they get a retriable error they
			// know.
			setCodes(resp, kerr.CoordinatorLoadInProgress.Code, kerr.CoordinatorNotAvailable.Code)
		}
		out.reply(to, resp)
	}
	fail := func(code int16) Out {
		setCodes(resp, 0, code)
		reply(&out)
		return out
	}
	n := 0
	for _, rt := range req.Topics {
		n += len(rt.Partitions)
	}
	if n == unknown {
		reply(&out)
		return out
	}
	if code := c.checkGroupID(req.Group); code != 0 {
		return fail(code)
	}
	g := c.groups[req.Group]
	if code := validateTxnCommit(g, req); code != 0 {
		return fail(code)
	}
	if g == nil {
		g = newGroup(req.Group, now) // a simple group, as Kafka creates
		c.groups[req.Group] = g
	}
	var recs []Record
	type done struct {
		t tp
		o offset
		i int // index of its record in the batch
	}
	var commits []done
	for i, rt := range req.Topics {
		for j, rp := range rt.Partitions {
			p := &resp.Topics[i].Partitions[j]
			if p.ErrorCode != 0 {
				continue
			}
			meta := deref(rp.Metadata)
			if len(meta) > c.cfg.MaxMetadataBytes {
				p.ErrorCode = kerr.OffsetMetadataTooLarge.Code
				continue
			}
			o := offset{offset: rp.Offset, leaderEpoch: rp.LeaderEpoch, metadata: meta, commitMs: now.UnixMilli(), logOffset: -1}
			if req.Version < 2 {
				o.leaderEpoch = -1
			}
			t := tp{rt.Topic, rp.Partition}
			commits = append(commits, done{t, o, len(recs)})
			recs = append(recs, Record{offsetKey(g.id, t.topic, t.partition), offsetValue(o)})
			g.pendingCommits[t]++
			g.txnInflight[t]++
		}
	}
	if len(recs) == 0 {
		reply(&out)
		return out
	}
	pid := req.ProducerID
	var a *inflightAppend
	a = c.appendAs(&out, g.id, recs, &Producer{ID: pid, Epoch: req.ProducerEpoch}, func(now time.Time, err error, o *Out) {
		for _, d := range commits {
			if g.pendingCommits[d.t]--; g.pendingCommits[d.t] <= 0 {
				delete(g.pendingCommits, d.t)
			}
		}
		tombAfter := map[tp]bool{}
		for _, d := range commits {
			if id, ok := g.tombAfter[d.t]; ok && id > a.id {
				tombAfter[d.t] = true
			}
			if g.txnInflight[d.t]--; g.txnInflight[d.t] <= 0 {
				delete(g.txnInflight, d.t)
				delete(g.tombAfter, d.t)
			}
		}
		switch {
		case err != nil:
			setCodes(resp, 0, txnStoreError(err))
		case c.groups[g.id] != g:
			// Deleted meanwhile: its tombstones follow this batch in
			// the log and drop these offsets on replay; so here.
		default:
			for _, d := range commits {
				if tombAfter[d.t] {
					continue
				}
				d.o.logOffset = a.recordOffset(d.i)
				c.addTxnOffset(g, pid, d.t, d.o)
			}
		}
		reply(o)
	})
	return out
}

// setCodes sets every partition's error code that is from to to.
func setCodes(resp *kmsg.TxnOffsetCommitResponse, from, to int16) {
	for i := range resp.Topics {
		for j := range resp.Topics[i].Partitions {
			if p := &resp.Topics[i].Partitions[j]; p.ErrorCode == from {
				p.ErrorCode = to
			}
		}
	}
}

// validateTxnCommit applies Kafka's checks of a TxnOffsetCommit's group
// fields (KIP-447, v3+; older versions carry none and are never checked):
// without a member id, generation and instance id anyone may commit, to
// any group (producers that are not members, older clients); with them,
// they must name a current member and its generation, as for OffsetCommit
// but without REBALANCE_IN_PROGRESS (Kafka does not enforce the state for
// transactional commits). For a KIP-848 group the generation is the
// member epoch, and a stale one is ILLEGAL_GENERATION, as Kafka maps it
// for this API. A group that does not exist is created empty unless a
// generation is given (ILLEGAL_GENERATION).
func validateTxnCommit(g *group, req *kmsg.TxnOffsetCommitRequest) int16 {
	memberID, instance, gen := "", "", int32(-1)
	if req.Version >= 3 {
		memberID, instance, gen = req.MemberID, deref(req.InstanceID), req.Generation
	}
	managed := gen >= 0 || memberID != "" || instance != ""
	switch {
	case g == nil:
		if gen >= 0 {
			return kerr.IllegalGeneration.Code
		}
		return 0
	case g.state == Dead:
		return kerr.CoordinatorNotAvailable.Code
	case g.cg != nil && len(g.members) == 0:
		if (gen < 0 && len(g.cg.members) == 0) || !managed {
			return 0
		}
		code := validateConsumerCommit(g.cg, memberID, gen, true)
		if code == kerr.StaleMemberEpoch.Code {
			code = kerr.IllegalGeneration.Code
		}
		return code
	case gen < 0 && g.state == Empty, !managed:
		return 0
	}
	if code := g.validateMember(memberID, instance); code != 0 {
		return code
	}
	if gen != g.generation {
		return kerr.IllegalGeneration.Code
	}
	return 0
}

// txnStoreError maps a failed append of a transactional batch: the log
// refuses an old producer epoch (the producer was fenced) or a batch the
// producer's transaction state does not allow; a lost leadership moves
// the coordinator (Kafka: NOT_LEADER_OR_FOLLOWER answers NOT_COORDINATOR).
func txnStoreError(err error) int16 {
	switch {
	case errors.Is(err, storage.ErrInvalidProducerEpoch):
		return kerr.InvalidProducerEpoch.Code
	case errors.Is(err, storage.ErrInvalidTxnState):
		return kerr.InvalidTxnState.Code
	case errors.Is(err, partition.ErrNotLeader):
		return kerr.NotCoordinator.Code
	}
	return storeError(err)
}

// addTxnOffset records a durable transactional offset of producer pid.
func (c *Coordinator) addTxnOffset(g *group, pid int64, t tp, o offset) {
	m := g.txnOffsets[pid]
	if m == nil {
		m = map[tp]offset{}
		g.txnOffsets[pid] = m
	}
	m[t] = o
	p := PartitionFor(g.id, c.cfg.Partitions)
	byPID := c.openTxns[p]
	if byPID == nil {
		byPID = map[int64]map[string]bool{}
		c.openTxns[p] = byPID
	}
	if byPID[pid] == nil {
		byPID[pid] = map[string]bool{}
	}
	byPID[pid][g.id] = true
}

// CompleteTxn applies a transaction marker of producer producerID that is
// durable on __consumer_offsets partition p: commit makes the producer's
// pending offsets of that partition's groups committed (each unless the
// committed offset was written later in the log), abort drops them.
// While p is being loaded the marker is kept and applied when the load
// finishes (the replay may or may not have reached it; applying it twice
// is harmless since nothing of the producer can be written in between).
func (c *Coordinator) CompleteTxn(p int32, producerID int64, commit bool) {
	if c.loading || c.partLoading[p] {
		c.endedWhileLoading[p] = append(c.endedWhileLoading[p], txnEnd{producerID, commit})
		return
	}
	c.endTxn(p, producerID, commit)
}

func (c *Coordinator) applyEndedWhileLoading(p int32) {
	ends := c.endedWhileLoading[p]
	delete(c.endedWhileLoading, p)
	for _, e := range ends {
		c.endTxn(p, e.producerID, e.commit)
	}
}

// endTxn commits or aborts producer pid's pending offsets in partition p.
func (c *Coordinator) endTxn(p int32, pid int64, commit bool) {
	groups := c.openTxns[p][pid]
	if groups == nil {
		return
	}
	delete(c.openTxns[p], pid)
	if len(c.openTxns[p]) == 0 {
		delete(c.openTxns, p)
	}
	for id := range groups {
		g := c.groups[id]
		if g == nil {
			continue
		}
		pend := g.txnOffsets[pid]
		delete(g.txnOffsets, pid)
		if !commit {
			continue
		}
		for t, o := range pend {
			// Kafka keeps the most recent record: a plain commit written
			// after the transactional one wins.
			if cur, ok := g.offsets[t]; !ok || o.logOffset > cur.logOffset {
				g.offsets[t] = o
			}
		}
	}
}

// forgetTxns drops a deleted group's pending transactional offsets.
func (c *Coordinator) forgetTxns(g *group) {
	p := PartitionFor(g.id, c.cfg.Partitions)
	for pid := range g.txnOffsets {
		if gs := c.openTxns[p][pid]; gs != nil {
			delete(gs, g.id)
			if len(gs) == 0 {
				delete(c.openTxns[p], pid)
			}
		}
	}
	if len(c.openTxns[p]) == 0 {
		delete(c.openTxns, p)
	}
	g.txnOffsets = map[int64]map[tp]offset{}
}

// txnPending reports whether a transaction not yet decided holds offsets
// of t (durable or still being written).
func (g *group) txnPending(t tp) bool {
	if g.txnInflight[t] > 0 {
		return true
	}
	for _, m := range g.txnOffsets {
		if _, ok := m[t]; ok {
			return true
		}
	}
	return false
}

// tombstoned notes the tombstones of parts written by append a, for the
// transactional commits in flight (tombAfter).
func (g *group) tombstoned(parts []tp, a *inflightAppend) {
	for _, t := range parts {
		if g.txnInflight[t] > 0 {
			if g.tombAfter == nil {
				g.tombAfter = map[tp]uint64{}
			}
			g.tombAfter[t] = a.id
		}
	}
}

// hasTxn reports whether any transaction of the group is undecided; such
// a group is not deleted when empty nor expired (Kafka keeps it).
func (g *group) hasTxn() bool { return len(g.txnOffsets) > 0 || len(g.txnInflight) > 0 }

// dropTxnOffsets removes t from every pending transaction (a tombstone
// for t was written or replayed).
func (g *group) dropTxnOffsets(t tp) {
	for pid, m := range g.txnOffsets {
		delete(m, t)
		if len(m) == 0 {
			delete(g.txnOffsets, pid)
		}
	}
}

// offsetPartitions lists, sorted, the partitions with a committed or a
// pending transactional offset.
func (g *group) offsetPartitions() []tp {
	seen := map[tp]bool{}
	var out []tp
	add := func(t tp) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for t := range g.offsets {
		add(t)
	}
	for _, m := range g.txnOffsets {
		for t := range m {
			add(t)
		}
	}
	sortTPs(out)
	return out
}

func sortTPs(ts []tp) {
	sort.Slice(ts, func(i, j int) bool {
		if ts[i].topic != ts[j].topic {
			return ts[i].topic < ts[j].topic
		}
		return ts[i].partition < ts[j].partition
	})
}
