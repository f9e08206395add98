package group

import (
	"bytes"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func msDuration(v int32) time.Duration { return time.Duration(v) * time.Millisecond }

// JoinGroup handles a JoinGroup request. The response usually comes later,
// when the rebalance completes (in an Out of Tick, JoinGroup, LeaveGroup or
// another member's call).
func (c *Coordinator) JoinGroup(now time.Time, req *kmsg.JoinGroupRequest, clientID, clientHost string, to Caller) Out {
	var out Out
	fail := func(code int16) Out {
		out.reply(to, joinError(req, code, req.MemberID))
		return out
	}
	if code := c.checkGroupID(req.Group); code != 0 {
		return fail(code)
	}
	session := msDuration(req.SessionTimeoutMillis)
	if session < c.cfg.MinSessionTimeout || session > c.cfg.MaxSessionTimeout {
		return fail(kerr.InvalidSessionTimeout.Code)
	}
	g := c.groups[req.Group]
	if g == nil {
		if req.MemberID != "" {
			return fail(kerr.UnknownMemberID.Code)
		}
		g = newGroup(req.Group, now)
		c.groups[req.Group] = g
	}
	if g.isConsumer() {
		return fail(kerr.InconsistentGroupProtocol.Code) // KIP-848 members own it
	}
	if g.cg != nil {
		// An empty consumer group turns classic: its KIP-848 records go,
		// as Kafka deletes the consumer group it replaces.
		c.append(&out, g.id, consumerGroupTombstones(g.id), nil)
		g.cg, g.protocolType = nil, ""
	}
	protos := make([]protocol, len(req.Protocols))
	for i, p := range req.Protocols {
		// Copy: the request's bytes live in a pooled frame that is reused
		// once the response is written.
		protos[i] = protocol{p.Name, bytes.Clone(p.Metadata)}
	}
	if !g.supportsProtocols(req.ProtocolType, protos) {
		if len(g.members) == 0 && len(g.offsets) == 0 && len(g.pending) == 0 && !g.hasTxn() {
			delete(c.groups, g.id) // do not keep a group this join created
		}
		return fail(kerr.InconsistentGroupProtocol.Code)
	}
	m := &member{
		clientID: clientID, clientHost: clientHost, sessionTimeout: session,
		rebalanceTimeout: msDuration(req.RebalanceTimeoutMillis), protocols: protos,
	}
	if req.Version == 0 {
		m.rebalanceTimeout = session
	}
	if req.InstanceID != nil {
		m.instanceID = *req.InstanceID
	}
	if req.MemberID == "" {
		c.joinNewMember(g, m, req, to, now, &out)
	} else {
		c.joinKnownMember(g, m, req, to, now, &out)
	}
	return out
}

func (c *Coordinator) full(g *group) bool { return len(g.members) >= c.cfg.MaxSize }

// joinNewMember handles a join without a member id.
func (c *Coordinator) joinNewMember(g *group, m *member, req *kmsg.JoinGroupRequest, to Caller, now time.Time, out *Out) {
	if m.instanceID != "" {
		if old, ok := g.static[m.instanceID]; ok {
			c.replaceStatic(g, old, m, req, to, now, out)
			return
		}
	}
	if c.full(g) {
		out.reply(to, joinError(req, kerr.GroupMaxSizeReached.Code, ""))
		return
	}
	if m.instanceID == "" && req.Version >= 4 {
		// KIP-394: hand out an id and expect the member to join with it,
		// so a client that times out does not leave an orphan behind.
		id := c.newID(m.clientID)
		g.pending[id] = now.Add(m.sessionTimeout)
		out.reply(to, joinError(req, kerr.MemberIDRequired.Code, id))
		return
	}
	prefix := m.clientID
	if m.instanceID != "" {
		prefix = m.instanceID
	}
	m.id = c.newID(prefix)
	c.addAndJoin(g, m, req, to, now, out)
}

// replaceStatic gives a known group.instance.id a new member id (KIP-345):
// the old member's waiting requests are fenced.
func (c *Coordinator) replaceStatic(g *group, oldID string, m *member, req *kmsg.JoinGroupRequest, to Caller, now time.Time, out *Out) {
	old := g.members[oldID]
	if old.join != nil {
		out.reply(old.join, joinError(old.joinReq, kerr.FencedInstanceID.Code, oldID))
		old.join, old.joinReq = nil, nil
		g.awaitingJoin--
	}
	if old.sync != nil {
		out.reply(old.sync, syncError(old.syncReq, kerr.FencedInstanceID.Code))
		old.sync, old.syncReq = nil, nil
	}
	newID := c.newID(m.instanceID)
	changed := !sameProtocols(old.protocols, m.protocols)
	delete(g.members, oldID)
	old.id = newID
	g.members[newID] = old
	for i, x := range g.order {
		if x == oldID {
			g.order[i] = newID
		}
	}
	g.static[m.instanceID] = newID
	if g.leader == oldID {
		g.leader = newID
	}
	old.clientID, old.clientHost, old.sessionTimeout, old.rebalanceTimeout = m.clientID, m.clientHost, m.sessionTimeout, m.rebalanceTimeout
	old.expiresAt = now.Add(old.sessionTimeout)
	switch g.state {
	case Stable:
		if changed || (g.leader == newID && req.Version < 9) {
			old.protocols = m.protocols
			c.awaitJoin(g, old, req, to, out)
			c.prepareRebalance(g, now, out)
			return
		}
		// Same subscription: the member gets its assignment back without a
		// rebalance once the new id is stored.
		gen := g.generation
		c.append(out, g.id, []Record{{groupKey(g.id), groupValue(g)}}, func(now time.Time, err error, out *Out) {
			if err != nil {
				out.reply(to, joinError(req, storeError(err), newID))
				return
			}
			resp := c.joinResponse(g, req, newID, g.leader == newID && req.Version >= 9)
			resp.Generation = gen
			resp.SkipAssignment = g.leader == newID
			out.reply(to, resp)
		})
	case CompletingRebalance:
		old.protocols = m.protocols
		c.awaitJoin(g, old, req, to, out)
		c.prepareRebalance(g, now, out)
	default: // PreparingRebalance
		old.protocols = m.protocols
		c.awaitJoin(g, old, req, to, out)
		c.maybeCompleteJoin(g, now, out)
	}
}

// joinKnownMember handles a join with a member id: the second join of
// KIP-394, or a rejoin.
func (c *Coordinator) joinKnownMember(g *group, m *member, req *kmsg.JoinGroupRequest, to Caller, now time.Time, out *Out) {
	if _, ok := g.pending[req.MemberID]; ok {
		delete(g.pending, req.MemberID)
		if c.full(g) {
			out.reply(to, joinError(req, kerr.GroupMaxSizeReached.Code, req.MemberID))
			return
		}
		m.id = req.MemberID
		c.addAndJoin(g, m, req, to, now, out)
		return
	}
	if code := g.validateMember(req.MemberID, m.instanceID); code != 0 {
		out.reply(to, joinError(req, code, req.MemberID))
		return
	}
	cur := g.members[req.MemberID]
	cur.clientID, cur.clientHost, cur.sessionTimeout, cur.rebalanceTimeout = m.clientID, m.clientHost, m.sessionTimeout, m.rebalanceTimeout
	cur.expiresAt = now.Add(cur.sessionTimeout)
	same := sameProtocols(cur.protocols, m.protocols)
	switch g.state {
	case PreparingRebalance:
		cur.protocols = m.protocols
		c.awaitJoin(g, cur, req, to, out)
		c.maybeCompleteJoin(g, now, out)
	case CompletingRebalance:
		if same {
			// A retry of a join whose response was lost.
			out.reply(to, c.joinResponse(g, req, cur.id, cur.id == g.leader))
			return
		}
		cur.protocols = m.protocols
		c.awaitJoin(g, cur, req, to, out)
		c.prepareRebalance(g, now, out)
	case Stable:
		if same && cur.id != g.leader {
			out.reply(to, c.joinResponse(g, req, cur.id, false))
			return
		}
		cur.protocols = m.protocols
		c.awaitJoin(g, cur, req, to, out)
		c.prepareRebalance(g, now, out)
	default:
		out.reply(to, joinError(req, kerr.UnknownMemberID.Code, req.MemberID))
	}
}

func (g *group) validateMember(memberID, instanceID string) int16 {
	if instanceID != "" {
		id, ok := g.static[instanceID]
		switch {
		case !ok:
			return kerr.UnknownMemberID.Code
		case id != memberID:
			return kerr.FencedInstanceID.Code
		}
		return 0
	}
	if _, ok := g.members[memberID]; !ok {
		return kerr.UnknownMemberID.Code
	}
	return 0
}

func (c *Coordinator) addAndJoin(g *group, m *member, req *kmsg.JoinGroupRequest, to Caller, now time.Time, out *Out) {
	if len(g.members) == 0 {
		g.protocolType = req.ProtocolType
	}
	m.isNew = true
	m.expiresAt = now.Add(c.cfg.NewMemberJoinTimeout)
	g.addMember(m)
	if g.state == PreparingRebalance && g.initialDelay {
		g.newMemberAdded = true
	}
	c.awaitJoin(g, m, req, to, out)
	if g.state == PreparingRebalance {
		c.maybeCompleteJoin(g, now, out)
	} else {
		c.prepareRebalance(g, now, out)
	}
}

// awaitJoin parks a member's JoinGroup until the join completes. An
// earlier JoinGroup still parked is answered so that it is not lost.
func (c *Coordinator) awaitJoin(g *group, m *member, req *kmsg.JoinGroupRequest, to Caller, out *Out) {
	if m.join != nil {
		out.reply(m.join, joinError(m.joinReq, kerr.RebalanceInProgress.Code, m.id))
	} else {
		g.awaitingJoin++
	}
	m.join, m.joinReq = to, req
}

func (g *group) maxRebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		d = max(d, m.rebalanceTimeout)
	}
	return d
}

// prepareRebalance moves the group to PreparingRebalance. Members waiting
// for an assignment are told to rejoin. An empty group waits the initial
// rebalance delay for more members.
func (c *Coordinator) prepareRebalance(g *group, now time.Time, out *Out) {
	if g.state == CompletingRebalance {
		for _, id := range g.order {
			m := g.members[id]
			m.assignment = nil
			if m.sync != nil {
				out.reply(m.sync, syncError(m.syncReq, kerr.RebalanceInProgress.Code))
				m.sync, m.syncReq = nil, nil
			}
		}
	}
	g.syncDeadline = time.Time{}
	g.syncStoreAppID = 0
	rt := g.maxRebalanceTimeout()
	if g.state == Empty {
		delay := c.cfg.InitialRebalanceDelay
		g.initialDelay, g.newMemberAdded = true, false
		g.initialLeft = max(rt-delay, 0)
		g.joinDeadline = now.Add(delay)
	} else {
		g.initialDelay = false
		g.joinDeadline = now.Add(rt)
	}
	g.transition(PreparingRebalance, now)
	c.maybeCompleteJoin(g, now, out)
}

func (c *Coordinator) maybeCompleteJoin(g *group, now time.Time, out *Out) {
	if g.state == PreparingRebalance && !g.initialDelay && g.allJoined() {
		c.completeJoin(g, now, out)
	}
}

// joinDeadlinePassed ends the join phase: the initial delay is extended
// while new members keep arriving (up to the rebalance timeout); otherwise
// the join completes without the members that did not rejoin.
func (c *Coordinator) joinDeadlinePassed(g *group, now time.Time, out *Out) {
	if g.initialDelay {
		d := min(c.cfg.InitialRebalanceDelay, g.initialLeft)
		if g.newMemberAdded && d > 0 {
			g.initialLeft -= d
			g.newMemberAdded = false
			g.joinDeadline = now.Add(d)
			return
		}
		g.initialDelay = false
	}
	c.completeJoin(g, now, out)
}

// completeJoin starts the next generation: members that did not rejoin are
// removed, a protocol is chosen, the leader gets every member's metadata
// and everyone waits for the leader's assignment in SyncGroup.
func (c *Coordinator) completeJoin(g *group, now time.Time, out *Out) {
	for _, id := range append([]string(nil), g.order...) {
		if g.members[id].join == nil {
			g.removeMember(id)
		}
	}
	g.initialDelay = false
	g.generation++
	if len(g.members) == 0 {
		g.protocol, g.leader = "", ""
		g.transition(Empty, now)
		c.append(out, g.id, []Record{{groupKey(g.id), groupValue(g)}}, nil)
		return
	}
	g.protocol = g.selectProtocol()
	if _, ok := g.members[g.leader]; !ok {
		g.leader = g.order[0]
	}
	g.transition(CompletingRebalance, now)
	g.syncDeadline = now.Add(g.maxRebalanceTimeout())
	for _, id := range g.order {
		m := g.members[id]
		out.reply(m.join, c.joinResponse(g, m.joinReq, id, id == g.leader))
		m.join, m.joinReq = nil, nil
		m.isNew = false
		m.expiresAt = now.Add(m.sessionTimeout)
	}
	g.awaitingJoin = 0
}

// joinResponse is the successful JoinGroup answer for the current
// generation; withMembers lists every member's metadata (for the leader).
func (c *Coordinator) joinResponse(g *group, req *kmsg.JoinGroupRequest, memberID string, withMembers bool) *kmsg.JoinGroupResponse {
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	resp.Generation = g.generation
	pt, p := g.protocolType, g.protocol
	resp.ProtocolType, resp.Protocol = &pt, &p
	resp.LeaderID, resp.MemberID = g.leader, memberID
	if withMembers {
		for _, id := range g.order {
			m := g.members[id]
			rm := kmsg.NewJoinGroupResponseMember()
			rm.MemberID, rm.InstanceID, rm.ProtocolMetadata = id, strPtr(m.instanceID), m.metadataFor(g.protocol)
			resp.Members = append(resp.Members, rm)
		}
	}
	return resp
}

// syncDeadlinePassed removes the members that never sent SyncGroup in time
// and rebalances without them.
func (c *Coordinator) syncDeadlinePassed(g *group, now time.Time, out *Out) {
	var late []string
	for _, id := range g.order {
		if g.members[id].sync == nil {
			late = append(late, id)
		}
	}
	for _, id := range late {
		g.removeMember(id)
	}
	if len(g.members) == 0 {
		g.generation++
		g.protocol, g.leader = "", ""
		g.transition(Empty, now)
		g.syncDeadline = time.Time{}
		c.append(out, g.id, []Record{{groupKey(g.id), groupValue(g)}}, nil)
		return
	}
	c.prepareRebalance(g, now, out)
}

// SyncGroup handles a SyncGroup request: the leader's carries the
// assignment, which is stored before anyone is answered.
func (c *Coordinator) SyncGroup(now time.Time, req *kmsg.SyncGroupRequest, to Caller) Out {
	var out Out
	fail := func(code int16) Out {
		out.reply(to, syncError(req, code))
		return out
	}
	if code := c.checkGroupID(req.Group); code != 0 {
		return fail(code)
	}
	g := c.groups[req.Group]
	if g == nil {
		return fail(kerr.UnknownMemberID.Code)
	}
	if code := g.validateMember(req.MemberID, deref(req.InstanceID)); code != 0 {
		return fail(code)
	}
	if req.Generation != g.generation {
		return fail(kerr.IllegalGeneration.Code)
	}
	if (req.ProtocolType != nil && *req.ProtocolType != g.protocolType) || (req.Protocol != nil && *req.Protocol != g.protocol) {
		return fail(kerr.InconsistentGroupProtocol.Code)
	}
	m := g.members[req.MemberID]
	m.expiresAt = now.Add(m.sessionTimeout)
	switch g.state {
	case PreparingRebalance:
		return fail(kerr.RebalanceInProgress.Code)
	case Stable:
		out.reply(to, c.syncResponse(g, req, m.assignment))
		return out
	case CompletingRebalance:
	default:
		return fail(kerr.UnknownMemberID.Code)
	}
	if m.sync != nil {
		out.reply(m.sync, syncError(m.syncReq, kerr.RebalanceInProgress.Code))
	}
	m.sync, m.syncReq = to, req
	if m.id != g.leader || g.syncStoreAppID != 0 {
		return out
	}
	assigned := map[string][]byte{}
	for _, a := range req.GroupAssignment {
		assigned[a.MemberID] = bytes.Clone(a.MemberAssignment) // the frame is reused
	}
	for _, id := range g.order {
		g.members[id].assignment = assigned[id]
		if g.members[id].assignment == nil {
			g.members[id].assignment = []byte{}
		}
	}
	gen := g.generation
	c.append(&out, g.id, []Record{{groupKey(g.id), groupValue(g)}}, func(now time.Time, err error, out *Out) {
		if g.generation != gen || g.state != CompletingRebalance || c.groups[g.id] != g {
			return // a rebalance started meanwhile and answered the waiters
		}
		g.syncStoreAppID = 0
		if err != nil {
			for _, id := range g.order {
				if mm := g.members[id]; mm.sync != nil {
					out.reply(mm.sync, syncError(mm.syncReq, storeError(err)))
					mm.sync, mm.syncReq = nil, nil
				}
			}
			c.prepareRebalance(g, now, out)
			return
		}
		for _, id := range g.order {
			mm := g.members[id]
			if mm.sync != nil {
				out.reply(mm.sync, c.syncResponse(g, mm.syncReq, mm.assignment))
				mm.sync, mm.syncReq = nil, nil
			}
			mm.expiresAt = now.Add(mm.sessionTimeout)
		}
		g.syncDeadline = time.Time{}
		g.transition(Stable, now)
	})
	g.syncStoreAppID = out.Appends[len(out.Appends)-1].ID
	return out
}

func (c *Coordinator) syncResponse(g *group, req *kmsg.SyncGroupRequest, assignment []byte) *kmsg.SyncGroupResponse {
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	pt, p := g.protocolType, g.protocol
	resp.ProtocolType, resp.Protocol = &pt, &p
	resp.MemberAssignment = assignment
	if resp.MemberAssignment == nil {
		resp.MemberAssignment = []byte{}
	}
	return resp
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Heartbeat handles a Heartbeat request.
func (c *Coordinator) Heartbeat(now time.Time, req *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	resp.ErrorCode = c.heartbeat(now, req)
	return resp
}

func (c *Coordinator) heartbeat(now time.Time, req *kmsg.HeartbeatRequest) int16 {
	if code := c.checkGroupID(req.Group); code != 0 {
		return code
	}
	g := c.groups[req.Group]
	if g == nil {
		return kerr.UnknownMemberID.Code
	}
	if code := g.validateMember(req.MemberID, deref(req.InstanceID)); code != 0 {
		return code
	}
	if req.Generation != g.generation {
		return kerr.IllegalGeneration.Code
	}
	m := g.members[req.MemberID]
	m.expiresAt = now.Add(m.sessionTimeout)
	if g.state == PreparingRebalance {
		return kerr.RebalanceInProgress.Code
	}
	return 0
}

// LeaveGroup handles a LeaveGroup request (one member before v3, a batch
// from v3).
func (c *Coordinator) LeaveGroup(now time.Time, req *kmsg.LeaveGroupRequest) (*kmsg.LeaveGroupResponse, Out) {
	var out Out
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	leaving := req.Members
	if req.Version < 3 {
		leaving = []kmsg.LeaveGroupRequestMember{{MemberID: req.MemberID}}
	}
	if code := c.checkGroupID(req.Group); code != 0 {
		resp.ErrorCode = code
		return resp, out
	}
	g := c.groups[req.Group]
	for _, l := range leaving {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID = l.MemberID, l.InstanceID
		rm.ErrorCode = c.leaveOne(g, l, now, &out)
		resp.Members = append(resp.Members, rm)
	}
	if req.Version < 3 {
		resp.ErrorCode = resp.Members[0].ErrorCode
		resp.Members = nil
	}
	return resp, out
}

func (c *Coordinator) leaveOne(g *group, l kmsg.LeaveGroupRequestMember, now time.Time, out *Out) int16 {
	if g == nil {
		return kerr.UnknownMemberID.Code
	}
	id := l.MemberID
	if l.InstanceID != nil {
		sid, ok := g.static[*l.InstanceID]
		switch {
		case !ok:
			return kerr.UnknownMemberID.Code
		case id != "" && id != sid:
			return kerr.FencedInstanceID.Code
		}
		id = sid
	} else if _, ok := g.pending[id]; ok {
		delete(g.pending, id)
		c.maybeCompleteJoin(g, now, out)
		return 0
	}
	m, ok := g.members[id]
	if !ok {
		return kerr.UnknownMemberID.Code
	}
	if m.join != nil {
		out.reply(m.join, joinError(m.joinReq, kerr.UnknownMemberID.Code, id))
	}
	if m.sync != nil {
		out.reply(m.sync, syncError(m.syncReq, kerr.UnknownMemberID.Code))
		m.sync = nil
	}
	c.removeMemberAndUpdate(g, id, now, out)
	return 0
}
