package group

import (
	"encoding/binary"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Coordinator is the deterministic state machine of every consumer group
// this node coordinates. It is not safe for concurrent use: its runtime
// serializes calls. Every method takes the current time; none reads a
// clock, starts a goroutine or does I/O. Records to append and responses to
// send are returned in an Out.
type Coordinator struct {
	cfg     Config
	nonce   string // makes member ids unique across restarts
	seq     uint64 // member id and append id counter
	loading bool
	groups  map[string]*group
	// owns reports whether this node coordinates a group: in a cluster, the
	// leader of the group's __consumer_offsets partition does. Nil: every
	// group (one node).
	owns func(group string) bool
	// partOf maps a group to its __consumer_offsets partition; partLoading
	// holds the partitions being loaded after this node became their
	// leader (their groups answer COORDINATOR_LOAD_IN_PROGRESS).
	partOf      func(group string) int32
	partLoading map[int32]bool
	// loaded reports whether the group's partition is loaded here (nil:
	// always); until it is, its groups answer COORDINATOR_LOAD_IN_PROGRESS.
	loaded func(group string) bool

	// inflight maps an Append's ID to its partition and what to do once
	// it is durable; tails maps a partition to its last Append in flight.
	inflight map[uint64]*inflightAppend
	tails    map[int32]uint64

	// openTxns indexes the groups holding transactional offsets of a
	// producer not yet decided, by partition and producer id (txn.go);
	// endedWhileLoading holds the transaction ends CompleteTxn reported
	// for a partition being loaded, applied when its load finishes.
	openTxns          map[int32]map[int64]map[string]bool
	endedWhileLoading map[int32][]txnEnd

	nextExpiry time.Time
}

type inflightAppend struct {
	id        uint64
	partition int32
	base      int64 // offset of its first record in the log (Appended); -1 until known
	then      []func(now time.Time, err error, out *Out)
}

// recordOffset is the log offset of the append's i-th record, -1 if the
// runtime did not say (Appended).
func (a *inflightAppend) recordOffset(i int) int64 {
	if a.base < 0 {
		return -1
	}
	return a.base + int64(i)
}

// New returns a Coordinator that answers COORDINATOR_LOAD_IN_PROGRESS until
// FinishLoad. nonce is mixed into member ids so that ids handed out by an
// earlier run of the broker are never reused.
func New(cfg Config, nonce string) *Coordinator {
	return &Coordinator{cfg: cfg, nonce: nonce, loading: true, groups: map[string]*group{},
		inflight: map[uint64]*inflightAppend{}, tails: map[int32]uint64{},
		openTxns: map[int32]map[int64]map[string]bool{}, endedWhileLoading: map[int32][]txnEnd{}}
}

// SetOwner sets how the coordinator tells its own groups from other
// nodes'; requests for other groups get NOT_COORDINATOR.
func (c *Coordinator) SetOwner(owns func(group string) bool) { c.owns = owns }

func (c *Coordinator) coordinates(group string) bool { return c.owns == nil || c.owns(group) }

// SetPartitioner sets how groups map to __consumer_offsets partitions, for
// loading and unloading one partition's groups as leadership moves.
func (c *Coordinator) SetPartitioner(partOf func(group string) int32) { c.partOf = partOf }

func (c *Coordinator) groupLoading(id string) bool {
	return c.loading || (c.partOf != nil && c.partLoading[c.partOf(id)]) || (c.loaded != nil && c.coordinates(id) && !c.loaded(id))
}

// SetLoaded sets how the coordinator learns that a group's partition has
// been loaded since this node became its leader.
func (c *Coordinator) SetLoaded(loaded func(group string) bool) { c.loaded = loaded }

// Unload forgets the groups of partition p: this node no longer leads it,
// and the new leader rebuilds them from the log.
func (c *Coordinator) Unload(p int32) {
	delete(c.partLoading, p)
	if c.partOf != nil {
		delete(c.openTxns, p)
		delete(c.endedWhileLoading, p)
	}
	for id := range c.groups {
		if c.partOf != nil && c.partOf(id) == p {
			delete(c.groups, id)
		}
	}
}

// BeginLoad marks partition p as loading: this node became its leader and
// replays it (Replay) before FinishLoadPartition.
func (c *Coordinator) BeginLoad(p int32) {
	c.Unload(p)
	if c.partLoading == nil {
		c.partLoading = map[int32]bool{}
	}
	c.partLoading[p] = true
}

// FinishLoadPartition ends the load of partition p: its groups start
// their members' session timers from now, as FinishLoad does for all.
func (c *Coordinator) FinishLoadPartition(now time.Time, p int32) {
	delete(c.partLoading, p)
	c.applyEndedWhileLoading(p)
	for id, g := range c.groups {
		if c.partOf == nil || c.partOf(id) != p {
			continue
		}
		for _, m := range g.members {
			m.expiresAt = now.Add(m.sessionTimeout)
		}
		if g.cg != nil {
			c.finishConsumerLoad(g, now)
			continue
		}
		if len(g.members) == 0 && len(g.offsets) == 0 && !g.hasTxn() {
			delete(c.groups, g.id)
		}
	}
}

// Loading reports whether the state is still being rebuilt.
func (c *Coordinator) Loading() bool { return c.loading }

func (c *Coordinator) newID(prefix string) string {
	c.seq++
	return fmt.Sprintf("%s-%s-%d", prefix, c.nonce, c.seq)
}

// append queues records for the group's partition and registers then to run
// when they are durable.
func (c *Coordinator) append(out *Out, groupID string, recs []Record, then func(now time.Time, err error, out *Out)) *inflightAppend {
	return c.appendAs(out, groupID, recs, nil, then)
}

// appendAs is append for a producer's transactional batch (nil: none).
func (c *Coordinator) appendAs(out *Out, groupID string, recs []Record, producer *Producer, then func(now time.Time, err error, out *Out)) *inflightAppend {
	c.seq++
	id := c.seq
	p := PartitionFor(groupID, c.cfg.Partitions)
	out.Appends = append(out.Appends, Append{ID: id, Partition: p, Records: recs, Producer: producer})
	a := &inflightAppend{id: id, partition: p, base: -1}
	if then != nil {
		a.then = append(a.then, then)
	}
	c.inflight[id] = a
	c.tails[p] = id
	return a
}

// Appended tells the Coordinator where the log put the Append with this
// ID (the offset of its first record), once the log took it and before
// AppendDone. Offsets are compared when a transaction commits: a
// transaction's offset replaces a committed one only if written after it.
func (c *Coordinator) Appended(id uint64, baseOffset int64) {
	if a, ok := c.inflight[id]; ok {
		a.base = baseOffset
	}
}

// afterDurable runs then once every append to the group's partition made
// so far is durable: at once if none is in flight, else with the
// completion of the last one (the log makes a partition's appends durable
// in order), passing on its error. A step that writes nothing but answers
// from state another step wrote uses it, as Kafka completes a write with
// no records only once the partition's earlier records are committed.
func (c *Coordinator) afterDurable(now time.Time, out *Out, groupID string, then func(now time.Time, err error, out *Out)) {
	if id, ok := c.tails[PartitionFor(groupID, c.cfg.Partitions)]; ok {
		a := c.inflight[id]
		a.then = append(a.then, then)
		return
	}
	then(now, nil, out)
}

// AppendDone tells the Coordinator that the Append with this ID is durable
// (err nil) or failed.
func (c *Coordinator) AppendDone(now time.Time, id uint64, err error) Out {
	var out Out
	if a, ok := c.inflight[id]; ok {
		delete(c.inflight, id)
		if c.tails[a.partition] == id {
			delete(c.tails, a.partition)
		}
		for _, then := range a.then {
			then(now, err, &out)
		}
	}
	return out
}

// Replay applies one record read back from __consumer_offsets while
// loading. Records must be replayed in log order. topics resolves the
// topic ids of KIP-848 assignments; partitions of topics that no longer
// exist are dropped.
func (c *Coordinator) Replay(now time.Time, key, value []byte, topics Topics) error {
	return c.replay(now, key, value, topics, -1, -1)
}

// ReplayEntry applies one entry of a __consumer_offsets partition read
// back while loading (WalkLog), in log order: records of transactional
// batches stay pending for their producer until its marker, and a marker
// commits or aborts them. partition is the partition being loaded.
func (c *Coordinator) ReplayEntry(now time.Time, partition int32, e *Entry, topics Topics) error {
	if e.Control {
		c.endTxn(partition, e.ProducerID, e.Commit)
		return nil
	}
	pid := int64(-1)
	if e.Transactional {
		pid = e.ProducerID
	}
	return c.replay(now, e.Key, e.Value, topics, e.Offset, pid)
}

// replay applies one record at logOffset (-1: unknown); pid >= 0 marks an
// offset commit of that producer's open transaction.
func (c *Coordinator) replay(now time.Time, key, value []byte, topics Topics, logOffset, pid int64) error {
	if len(key) >= 2 && isConsumerKey(binary.BigEndian.Uint16(key)) {
		r, ok, err := decodeConsumerRecord(key, value)
		if err != nil || !ok {
			return err
		}
		c.replayConsumer(now, &r, topics)
		return nil
	}
	d, ok, err := decodeRecord(key, value)
	if err != nil || !ok {
		return err
	}
	g := c.groups[d.group]
	if d.isOffset {
		t := tp{d.topic, d.partition}
		if d.offset == nil {
			if g != nil {
				delete(g.offsets, t)
				g.dropTxnOffsets(t) // as Kafka: a tombstone ends pending ones too
			}
			return nil
		}
		if g == nil {
			g = newGroup(d.group, now)
			c.groups[d.group] = g
		}
		o := offset{offset: d.offset.Offset, leaderEpoch: d.offset.LeaderEpoch, metadata: d.offset.Metadata, commitMs: d.offset.CommitTimestamp, logOffset: logOffset}
		if pid >= 0 {
			c.addTxnOffset(g, pid, t, o)
			return nil
		}
		g.offsets[t] = o
		return nil
	}
	if d.meta == nil {
		if g != nil {
			g.members, g.order, g.static, g.leader = map[string]*member{}, nil, map[string]string{}, ""
			g.protocol, g.generation = "", 0
			if g.cg == nil {
				g.protocolType = ""
			}
			g.transition(Empty, now)
		}
		return nil
	}
	old := g
	g = newGroup(d.group, now)
	if old != nil {
		g.offsets, g.txnOffsets = old.offsets, old.txnOffsets
	}
	c.groups[d.group] = g
	v := d.meta
	g.protocolType, g.generation = v.ProtocolType, v.Generation
	if v.Protocol != nil {
		g.protocol = *v.Protocol
	}
	if v.CurrentStateTimestamp > 0 {
		g.stateSince = time.UnixMilli(v.CurrentStateTimestamp)
	}
	for _, vm := range v.Members {
		m := &member{id: vm.MemberID, clientID: vm.ClientID, clientHost: vm.ClientHost,
			sessionTimeout: time.Duration(vm.SessionTimeoutMillis) * time.Millisecond, rebalanceTimeout: time.Duration(vm.RebalanceTimeoutMillis) * time.Millisecond,
			protocols: []protocol{{g.protocol, vm.Subscription}}, assignment: vm.Assignment}
		if vm.InstanceID != nil {
			m.instanceID = *vm.InstanceID
		}
		g.addMember(m)
	}
	if v.Leader != nil && g.members[*v.Leader] != nil {
		g.leader = *v.Leader
	}
	if len(g.members) > 0 {
		g.state = Stable
	} else {
		g.state = Empty
	}
	return nil
}

// FinishLoad ends loading: members loaded from group metadata get a full
// session from now to heartbeat, as Kafka gives them after a failover
// (KIP-848 members also a full rebalance timeout to finish revoking).
func (c *Coordinator) FinishLoad(now time.Time) {
	c.loading = false
	for p := range c.endedWhileLoading {
		if !c.partLoading[p] {
			c.applyEndedWhileLoading(p)
		}
	}
	for _, g := range c.groups {
		for _, m := range g.members {
			m.expiresAt = now.Add(m.sessionTimeout)
		}
		if g.cg != nil {
			c.finishConsumerLoad(g, now)
			continue
		}
		if len(g.members) == 0 && len(g.offsets) == 0 && !g.hasTxn() {
			delete(c.groups, g.id)
		}
	}
	c.nextExpiry = now.Add(c.cfg.RetentionCheck)
}

// NextDeadline is the earliest time Tick has something to do; zero if
// nothing is scheduled.
func (c *Coordinator) NextDeadline() time.Time {
	var next time.Time
	take := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if c.loading {
		return next
	}
	take(c.nextExpiry)
	for _, g := range c.groups {
		switch g.state {
		case PreparingRebalance:
			take(g.joinDeadline)
		case CompletingRebalance:
			take(g.syncDeadline)
		}
		for _, m := range g.members {
			take(m.expiresAt)
		}
		for _, t := range g.pending {
			take(t)
		}
		if g.cg != nil {
			g.cg.nextDeadline(take)
		}
	}
	return next
}

// Tick runs every timer due at now: session expiry, join and sync
// deadlines, offset retention.
func (c *Coordinator) Tick(now time.Time) Out {
	var out Out
	if c.loading {
		return out
	}
	for _, id := range c.sortedGroups() {
		g := c.groups[id]
		c.expireMembers(g, now, &out)
		c.expireConsumers(g, now, &out)
		switch {
		case g.state == PreparingRebalance && !now.Before(g.joinDeadline):
			c.joinDeadlinePassed(g, now, &out)
		case g.state == CompletingRebalance && !g.syncDeadline.IsZero() && !now.Before(g.syncDeadline):
			c.syncDeadlinePassed(g, now, &out)
		}
	}
	if !c.nextExpiry.IsZero() && !now.Before(c.nextExpiry) {
		c.expireOffsets(now, &out)
		c.nextExpiry = now.Add(c.cfg.RetentionCheck)
	}
	return out
}

func (c *Coordinator) sortedGroups() []string {
	ids := make([]string, 0, len(c.groups))
	for id := range c.groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// expireMembers removes members whose session ran out. Members waiting in
// a join or sync are kept (their deadline is the rebalance's), except new
// members, which get NewMemberJoinTimeout.
func (c *Coordinator) expireMembers(g *group, now time.Time, out *Out) {
	for id, deadline := range g.pending {
		if !now.Before(deadline) {
			delete(g.pending, id)
			if g.state == PreparingRebalance && g.allJoined() && !g.initialDelay {
				c.completeJoin(g, now, out)
			}
		}
	}
	var expired []string
	for _, id := range g.order {
		m := g.members[id]
		if m.expiresAt.IsZero() || now.Before(m.expiresAt) {
			continue
		}
		if (m.join != nil && !m.isNew) || m.sync != nil {
			continue
		}
		expired = append(expired, id)
	}
	for _, id := range expired {
		m := g.members[id]
		if m.join != nil {
			out.reply(m.join, joinError(m.joinReq, kerr.UnknownMemberID.Code, id))
		}
		c.removeMemberAndUpdate(g, id, now, out)
	}
}

// removeMemberAndUpdate removes a member and moves the group along:
// a stable group rebalances, a rebalancing one may now be complete.
func (c *Coordinator) removeMemberAndUpdate(g *group, id string, now time.Time, out *Out) {
	g.removeMember(id)
	switch g.state {
	case Stable, CompletingRebalance:
		c.prepareRebalance(g, now, out)
	case PreparingRebalance:
		if g.allJoined() && !g.initialDelay {
			c.completeJoin(g, now, out)
		}
	}
}

// expireOffsets deletes the offsets of groups without members that have
// been empty, and not committed to, for the retention period; a group left
// with nothing is deleted too.
func (c *Coordinator) expireOffsets(now time.Time, out *Out) {
	for _, id := range c.sortedGroups() {
		g := c.groups[id]
		if g.state != Empty || len(g.members) > 0 || g.isConsumer() {
			continue
		}
		var tomb []Record
		for t, o := range g.offsets {
			base := max(o.commitMs, g.stateSince.UnixMilli())
			if now.UnixMilli()-base >= c.cfg.OffsetsRetention.Milliseconds() && g.pendingCommits[t] == 0 && !g.txnPending(t) {
				delete(g.offsets, t)
				tomb = append(tomb, Record{Key: offsetKey(g.id, t.topic, t.partition)})
			}
		}
		if len(g.offsets) == 0 && len(g.pendingCommits) == 0 && !g.hasTxn() {
			tomb = append(tomb, groupTombstones(g)...)
			g.transition(Dead, now)
			delete(c.groups, g.id)
		}
		if len(tomb) > 0 {
			c.append(out, g.id, tomb, nil)
		}
	}
}

// DropTopic deletes every committed offset of a deleted topic.
func (c *Coordinator) DropTopic(now time.Time, topic string) Out {
	var out Out
	for _, id := range c.sortedGroups() {
		g := c.groups[id]
		var tomb []Record
		var parts []tp
		for _, t := range g.offsetPartitions() {
			if t.topic == topic {
				delete(g.offsets, t)
				g.dropTxnOffsets(t)
				tomb = append(tomb, Record{Key: offsetKey(g.id, t.topic, t.partition)})
				parts = append(parts, t)
			}
		}
		if len(tomb) > 0 {
			g.tombstoned(parts, c.append(&out, g.id, tomb, nil))
		}
	}
	return out
}

// OffsetTopics lists the topics any group has committed offsets for.
func (c *Coordinator) OffsetTopics() []string {
	seen := map[string]bool{}
	var out []string
	for _, g := range c.groups {
		for t := range g.offsets {
			if !seen[t.topic] {
				seen[t.topic] = true
				out = append(out, t.topic)
			}
		}
	}
	sort.Strings(out)
	return out
}

// checkGroupID is the common first check of every group request.
func (c *Coordinator) checkGroupID(id string) int16 {
	switch {
	case c.groupLoading(id):
		return kerr.CoordinatorLoadInProgress.Code
	case id == "":
		return kerr.InvalidGroupID.Code
	case !c.coordinates(id):
		return kerr.NotCoordinator.Code
	}
	return 0
}

func joinError(req *kmsg.JoinGroupRequest, code int16, memberID string) *kmsg.JoinGroupResponse {
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	resp.ErrorCode = code
	resp.Generation = -1
	resp.MemberID = memberID
	if req.Version >= 7 {
		resp.ProtocolType, resp.Protocol = nil, nil
	}
	return resp
}

func syncError(req *kmsg.SyncGroupRequest, code int16) *kmsg.SyncGroupResponse {
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	resp.ErrorCode = code
	return resp
}

// storeError maps a failed append of __consumer_offsets to what Kafka
// answers: the coordinator cannot serve right now.
func storeError(err error) int16 {
	if err == nil {
		return 0
	}
	return kerr.CoordinatorNotAvailable.Code
}
