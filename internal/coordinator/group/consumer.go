package group

import (
	"bytes"
	"hash/fnv"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// This file is the KIP-848 consumer group protocol: ConsumerGroupHeartbeat
// and ConsumerGroupDescribe, with server-side assignment. A group is
// either classic (JoinGroup/SyncGroup members) or consumer
// (ConsumerGroupHeartbeat members); an empty group can become either.
// Both kinds share committed offsets.

// TopicMeta is what the coordinator needs to know of a topic.
type TopicMeta struct {
	Name       string
	ID         [16]byte
	Partitions int32
}

// Topics is a read-only view of the cluster's topics at the time of a call.
type Topics interface {
	ByName(name string) (TopicMeta, bool)
	ByID(id [16]byte) (TopicMeta, bool)
	Names() []string // sorted
}

// Assignors are the server-side assignors, the first being the default.
var Assignors = []string{"uniform", "range"}

type cmember struct {
	id, instanceID, rackID string
	clientID, clientHost   string
	epoch, prevEpoch       int32
	rebalanceTimeout       time.Duration
	subscribed             []string // topic names, sorted
	regex                  string
	assignor               string
	assigned               map[tp]bool // partitions the member may own now
	revoking               map[tp]bool // partitions it must give up first
	revokeDeadline         time.Time
	expiresAt              time.Time
	sent                   bool // the current assignment was sent
}

// cgroup is the KIP-848 part of a group.
type cgroup struct {
	epoch, assignmentEpoch int32
	members                map[string]*cmember
	target                 map[string]map[tp]bool // member id -> target assignment
	metadataHash           int64                  // of the subscribed topics, see metadataHash
}

func newCGroup() *cgroup {
	return &cgroup{members: map[string]*cmember{}, target: map[string]map[tp]bool{}}
}

// isConsumer reports whether g is a KIP-848 group with members.
func (g *group) isConsumer() bool { return g.cg != nil && len(g.cg.members) > 0 }

// consumerState is the group state as KIP-848 names it.
func (cg *cgroup) state() string {
	switch {
	case len(cg.members) == 0:
		return "Empty"
	case cg.assignmentEpoch < cg.epoch:
		return "Assigning"
	}
	for _, m := range cg.members {
		if m.epoch != cg.assignmentEpoch || len(m.revoking) > 0 || len(m.assigned) != len(cg.target[m.id]) {
			return "Reconciling"
		}
	}
	return "Stable"
}

// ConsumerGroupHeartbeat handles a KIP-848 heartbeat: join (epoch 0),
// heartbeat, or leave (epoch -1, or -2 for a static member). Like Kafka it
// answers once the records the heartbeat wrote are durable; one that wrote
// nothing waits for the appends to the group's partition still in flight,
// whose state it may have answered from.
func (c *Coordinator) ConsumerGroupHeartbeat(now time.Time, req *kmsg.ConsumerGroupHeartbeatRequest, clientID, clientHost string, topics Topics, to Caller) Out {
	var out Out
	resp, recs := c.consumerHeartbeat(now, req, clientID, clientHost, topics)
	if resp.ErrorCode != 0 {
		out.reply(to, resp)
		return out
	}
	answer := func(now time.Time, err error, out *Out) {
		if err != nil {
			// The state is not rolled back (a failed append stops the
			// log, see partition.Append); the member gets its whole
			// assignment again with its next heartbeat.
			if g := c.groups[req.Group]; g != nil && g.cg != nil && resp.MemberID != nil {
				if m := g.cg.members[*resp.MemberID]; m != nil {
					m.sent = false
				}
			}
			resp = req.ResponseKind().(*kmsg.ConsumerGroupHeartbeatResponse)
			resp.ErrorCode = storeError(err)
		}
		out.reply(to, resp)
	}
	if len(recs) > 0 {
		c.append(&out, req.Group, recs, answer)
	} else {
		c.afterDurable(now, &out, req.Group, answer)
	}
	return out
}

// consumerHeartbeat applies a heartbeat and returns the response and the
// records that store what it changed, in Kafka's order: tombstones of
// members it removed, the member's metadata, the group epoch, the target
// assignment, the member's current assignment. An unchanged heartbeat
// writes nothing.
func (c *Coordinator) consumerHeartbeat(now time.Time, req *kmsg.ConsumerGroupHeartbeatRequest, clientID, clientHost string, topics Topics) (*kmsg.ConsumerGroupHeartbeatResponse, []Record) {
	resp := req.ResponseKind().(*kmsg.ConsumerGroupHeartbeatResponse)
	fail := func(err *kerr.Error, msg string) (*kmsg.ConsumerGroupHeartbeatResponse, []Record) {
		resp.ErrorCode = err.Code
		if msg != "" {
			resp.ErrorMessage = &msg
		}
		return resp, nil
	}
	if c.groupLoading(req.Group) {
		return fail(kerr.CoordinatorLoadInProgress, "")
	}
	if !c.coordinates(req.Group) {
		return fail(kerr.NotCoordinator, "")
	}
	if msg := validateHeartbeat(req); msg != "" {
		return fail(kerr.InvalidRequest, msg)
	}
	if req.ServerAssignor != nil && !slices.Contains(Assignors, *req.ServerAssignor) {
		return fail(kerr.UnsupportedAssignor, "assignor "+*req.ServerAssignor+" is not one of uniform, range")
	}
	if req.SubscribedTopicRegex != nil {
		if _, err := regexp.Compile(*req.SubscribedTopicRegex); err != nil {
			return fail(kerr.InvalidRegularExpression, err.Error())
		}
	}
	g := c.groups[req.Group]
	if g != nil && len(g.members) > 0 {
		return fail(kerr.GroupIDNotFound, "Group "+req.Group+" is not a consumer group.")
	}
	if req.MemberEpoch < 0 {
		return c.consumerLeave(now, g, req, resp)
	}
	memberID := req.MemberID
	if memberID == "" && req.MemberEpoch == 0 {
		memberID = c.newID(clientID) // v0: the coordinator names the member
	}
	var m *cmember
	if g != nil && g.cg != nil {
		m = g.cg.members[memberID]
	}
	switch {
	case req.MemberEpoch == 0:
		n := 0
		if g != nil && g.cg != nil {
			n = len(g.cg.members)
		}
		if m != nil {
			n-- // a rejoin replaces the member
		}
		if n >= c.cfg.MaxSize {
			return fail(kerr.GroupMaxSizeReached, "")
		}
	case m == nil:
		return fail(kerr.UnknownMemberID, "")
	case req.MemberEpoch != m.epoch && !(req.MemberEpoch == m.prevEpoch && ownedSubset(req, m, topics)):
		return fail(kerr.FencedMemberEpoch, "")
	}
	if g == nil {
		g = newGroup(req.Group, now)
		c.groups[req.Group] = g
	}
	var recs []Record
	if g.cg == nil {
		if g.generation > 0 {
			// An empty classic group turns into a consumer group: its
			// classic metadata goes, as Kafka deletes the group it
			// replaces.
			recs = append(recs, Record{Key: groupKey(g.id)})
			g.generation, g.protocol, g.leader = 0, "", ""
		}
		g.cg = newCGroup()
		g.protocolType = "consumer"
	}
	cg := g.cg
	startEpoch, startHash := cg.epoch, cg.metadataHash
	var oldMeta, oldCurrent []byte // nil for a new member: always written
	bump := false                  // the group epoch moves once per heartbeat, whatever changed
	if req.MemberEpoch == 0 {
		if m != nil {
			// A rejoin: the member starts over, giving up what it had.
			recs = append(recs, c.removeConsumer(g, m.id, now)...)
		}
		m = &cmember{id: memberID, assigned: map[tp]bool{}, revoking: map[tp]bool{}}
		if req.InstanceID != nil {
			m.instanceID = *req.InstanceID
			for _, id := range cg.sortedMembers() {
				if cg.members[id].instanceID == m.instanceID {
					recs = append(recs, c.removeConsumer(g, id, now)...) // the static member restarted
				}
			}
		}
		cg.members[m.id] = m
		bump = true
		g.transition(Stable, now)
	} else {
		oldMeta = memberMetadataValue(m).encode()
		oldCurrent = currentAssignmentValue(cg, m, topics).encode()
	}
	m.clientID, m.clientHost = clientID, clientHost
	m.expiresAt = now.Add(c.cfg.ConsumerSessionTimeout)
	if req.RebalanceTimeoutMillis > 0 {
		m.rebalanceTimeout = msDuration(req.RebalanceTimeoutMillis)
	}
	if req.RackID != nil {
		m.rackID = *req.RackID
	}
	if req.ServerAssignor != nil && *req.ServerAssignor != m.assignor {
		m.assignor = *req.ServerAssignor
		bump = true // the group may now prefer another assignor
	}
	if req.SubscribedTopicNames != nil {
		subs := slices.Clone(req.SubscribedTopicNames)
		sort.Strings(subs)
		subs = slices.Compact(subs)
		if !slices.Equal(subs, m.subscribed) {
			m.subscribed = subs
			bump = true
		}
	}
	if req.SubscribedTopicRegex != nil && *req.SubscribedTopicRegex != m.regex {
		m.regex = *req.SubscribedTopicRegex
		bump = true
	}
	if h := metadataHash(cg, topics); h != cg.metadataHash {
		cg.metadataHash = h
		bump = true
	}
	if bump {
		cg.epoch++
	}
	if v := memberMetadataValue(m).encode(); !bytes.Equal(v, oldMeta) {
		recs = append(recs, Record{consumerMemberKey(keyConsumerGroupMember, g.id, m.id), v})
	}
	if cg.epoch != startEpoch || cg.metadataHash != startHash {
		recs = append(recs, groupEpochRecord(g))
	}
	if cg.assignmentEpoch < cg.epoch {
		old := cg.target
		c.computeTarget(cg, topics)
		recs = append(recs, targetRecords(g, old, topics, now)...)
	}
	if req.Topics != nil && len(m.revoking) > 0 {
		owned := ownedSet(req, topics)
		done := true
		for p := range m.revoking {
			if owned[p] {
				done = false
			}
		}
		if done {
			m.revoking = map[tp]bool{}
			m.revokeDeadline = time.Time{}
		}
	}
	changed := c.reconcile(cg, m, now)
	if v := currentAssignmentValue(cg, m, topics).encode(); !bytes.Equal(v, oldCurrent) {
		recs = append(recs, Record{consumerMemberKey(keyConsumerGroupCurrent, g.id, m.id), v})
	}
	resp.MemberID = &m.id
	resp.MemberEpoch = m.epoch
	resp.HeartbeatIntervalMillis = int32(c.cfg.ConsumerHeartbeatInterval.Milliseconds())
	if changed || !m.sent || req.Topics != nil && !sameOwned(ownedSet(req, topics), m.assigned) {
		resp.Assignment = assignmentOf(m.assigned, topics)
		m.sent = true
	}
	return resp, recs
}

func validateHeartbeat(req *kmsg.ConsumerGroupHeartbeatRequest) string {
	switch {
	case req.Group == "":
		return "GroupId can't be empty."
	case req.MemberID == "" && req.Version >= 1:
		return "MemberId can't be empty."
	case req.MemberEpoch < -2:
		return "MemberEpoch is invalid."
	case req.InstanceID != nil && *req.InstanceID == "":
		return "InstanceId can't be empty."
	case req.MemberEpoch == 0 && req.RebalanceTimeoutMillis <= 0:
		return "RebalanceTimeoutMs must be provided in first request."
	case req.MemberEpoch == 0 && len(req.Topics) > 0:
		return "TopicPartitions must be empty when (re-)joining."
	case req.MemberEpoch == 0 && req.SubscribedTopicNames == nil && req.SubscribedTopicRegex == nil:
		return "SubscribedTopicNames or SubscribedTopicRegex must be set in first request."
	}
	return ""
}

func (c *Coordinator) consumerLeave(now time.Time, g *group, req *kmsg.ConsumerGroupHeartbeatRequest, resp *kmsg.ConsumerGroupHeartbeatResponse) (*kmsg.ConsumerGroupHeartbeatResponse, []Record) {
	if g == nil || g.cg == nil || g.cg.members[req.MemberID] == nil {
		resp.ErrorCode = kerr.UnknownMemberID.Code
		return resp, nil
	}
	recs := c.removeConsumer(g, req.MemberID, now)
	recs = append(recs, groupEpochRecord(g))
	resp.MemberID, resp.MemberEpoch = &req.MemberID, req.MemberEpoch
	return resp, recs
}

// removeConsumer removes a KIP-848 member and bumps the group epoch; its
// partitions go to the others at the next assignment. It returns the
// member's tombstones in the order Kafka writes them (current assignment,
// target assignment, metadata); the caller writes the new group epoch.
func (c *Coordinator) removeConsumer(g *group, id string, now time.Time) []Record {
	cg := g.cg
	delete(cg.members, id)
	delete(cg.target, id)
	cg.epoch++
	if len(cg.members) == 0 {
		g.transition(Empty, now)
	}
	return []Record{
		{Key: consumerMemberKey(keyConsumerGroupCurrent, g.id, id)},
		{Key: consumerMemberKey(keyConsumerGroupTargetMember, g.id, id)},
		{Key: consumerMemberKey(keyConsumerGroupMember, g.id, id)},
	}
}

// expireConsumers removes members whose session ran out or that did not
// give up revoked partitions within their rebalance timeout.
func (c *Coordinator) expireConsumers(g *group, now time.Time, out *Out) {
	if g.cg == nil {
		return
	}
	var recs []Record
	for _, id := range g.cg.sortedMembers() {
		m := g.cg.members[id]
		if !now.Before(m.expiresAt) || (!m.revokeDeadline.IsZero() && !now.Before(m.revokeDeadline)) {
			recs = append(recs, c.removeConsumer(g, id, now)...)
		}
	}
	if len(recs) > 0 {
		recs = append(recs, groupEpochRecord(g))
		c.append(out, g.id, recs, nil)
	}
}

func (cg *cgroup) sortedMembers() []string {
	ids := make([]string, 0, len(cg.members))
	for id := range cg.members {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (cg *cgroup) nextDeadline(take func(time.Time)) {
	for _, m := range cg.members {
		take(m.expiresAt)
		take(m.revokeDeadline)
	}
}

// subscribedTopics resolves a member's subscription: names plus regex
// matches (the whole name must match, as Java's RE2J matches()).
func subscribedTopics(m *cmember, topics Topics) []string {
	out := slices.Clone(m.subscribed)
	if m.regex != "" {
		if re, err := regexp.Compile("^(?:" + m.regex + ")$"); err == nil {
			for _, n := range topics.Names() {
				if re.MatchString(n) {
					out = append(out, n)
				}
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// metadataHash summarizes the subscribed topics (id, name, partition
// count) of every member: a new topic matching a regex, a topic recreated
// or given more partitions change it, and the group rebalances. It is
// stored with the group epoch (ConsumerGroupMetadataValue.MetadataHash,
// Kafka 4.1+) so that a restart does not look like a change. It is
// FNV-1a, not Kafka's hash: a group moved between Kafka and Samsa
// rebalances once. 0 means no subscribed topic exists.
func metadataHash(cg *cgroup, topics Topics) int64 {
	seen := map[string]bool{}
	h := fnv.New64a()
	var buf []byte
	for _, id := range cg.sortedMembers() {
		for _, t := range subscribedTopics(cg.members[id], topics) {
			if seen[t] {
				continue
			}
			seen[t] = true
			tm, ok := topics.ByName(t)
			if !ok {
				continue
			}
			buf = append(buf[:0], tm.ID[:]...)
			buf = append(buf, t...)
			buf = append(buf, 0, byte(tm.Partitions>>24), byte(tm.Partitions>>16), byte(tm.Partitions>>8), byte(tm.Partitions))
			h.Write(buf)
		}
	}
	if buf == nil {
		return 0
	}
	return int64(h.Sum64())
}

// computeTarget runs the group's assignor for the current epoch.
func (c *Coordinator) computeTarget(cg *cgroup, topics Topics) {
	subs := map[string][]string{}
	for id, m := range cg.members {
		subs[id] = subscribedTopics(m, topics)
	}
	current := map[string]map[tp]bool{}
	for id := range cg.members {
		current[id] = cg.target[id]
	}
	counts := func(t string) int32 {
		tm, _ := topics.ByName(t)
		return tm.Partitions
	}
	if cg.preferredAssignor() == "range" {
		cg.target = assignRange(subs, counts)
	} else {
		cg.target = assignUniform(subs, counts, current)
	}
	cg.assignmentEpoch = cg.epoch
}

// preferredAssignor is the assignor most members ask for (the default on
// a tie with none), which the group uses and describes, as Kafka's does.
func (cg *cgroup) preferredAssignor() string {
	votes := map[string]int{}
	for _, m := range cg.members {
		if m.assignor != "" {
			votes[m.assignor]++
		}
	}
	best := Assignors[0]
	for _, a := range Assignors {
		if votes[a] > votes[best] {
			best = a
		}
	}
	return best
}

// reconcile moves a member towards its target assignment, KIP-848 style:
// partitions leaving it are revoked first (its epoch stays until it
// acknowledges by no longer reporting them); then it gets its new epoch
// and the partitions of its target that no other member still holds;
// the rest follow on later heartbeats as they are released. It reports
// whether the member's assignment changed.
func (c *Coordinator) reconcile(cg *cgroup, m *cmember, now time.Time) bool {
	target := cg.target[m.id]
	if len(m.revoking) > 0 {
		return false
	}
	var revoke []tp
	for p := range m.assigned {
		if !target[p] {
			revoke = append(revoke, p)
		}
	}
	if len(revoke) > 0 {
		for _, p := range revoke {
			delete(m.assigned, p)
			m.revoking[p] = true
		}
		m.revokeDeadline = now.Add(max(m.rebalanceTimeout, time.Second))
		return true
	}
	changed := false
	if m.epoch != cg.assignmentEpoch {
		m.prevEpoch, m.epoch = m.epoch, cg.assignmentEpoch
		changed = true
	}
	held := map[tp]bool{}
	for id, o := range cg.members {
		if id == m.id {
			continue
		}
		for p := range o.assigned {
			held[p] = true
		}
		for p := range o.revoking {
			held[p] = true
		}
	}
	for p := range target {
		if !m.assigned[p] && !held[p] {
			m.assigned[p] = true
			changed = true
		}
	}
	if changed {
		m.sent = false
	}
	return changed
}

func ownedSet(req *kmsg.ConsumerGroupHeartbeatRequest, topics Topics) map[tp]bool {
	out := map[tp]bool{}
	for _, t := range req.Topics {
		tm, ok := topics.ByID(t.TopicID)
		if !ok {
			continue
		}
		for _, p := range t.Partitions {
			out[tp{tm.Name, p}] = true
		}
	}
	return out
}

func sameOwned(a, b map[tp]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for p := range a {
		if !b[p] {
			return false
		}
	}
	return true
}

// ownedSubset allows a heartbeat with the previous epoch (its response was
// lost) if it owns nothing the member was not given.
func ownedSubset(req *kmsg.ConsumerGroupHeartbeatRequest, m *cmember, topics Topics) bool {
	if req.Topics == nil {
		return false
	}
	for p := range ownedSet(req, topics) {
		if !m.assigned[p] && !m.revoking[p] {
			return false
		}
	}
	return true
}

func assignmentOf(parts map[tp]bool, topics Topics) *kmsg.ConsumerGroupHeartbeatResponseAssignment {
	a := kmsg.NewConsumerGroupHeartbeatResponseAssignment()
	a.Topics = []kmsg.ConsumerGroupHeartbeatResponseAssignmentTopic{}
	for _, t := range groupByTopic(parts) {
		tm, ok := topics.ByName(t.topic)
		if !ok {
			continue
		}
		at := kmsg.NewConsumerGroupHeartbeatResponseAssignmentTopic()
		at.TopicID, at.Partitions = tm.ID, t.partitions
		a.Topics = append(a.Topics, at)
	}
	return &a
}

type topicParts struct {
	topic      string
	partitions []int32
}

func groupByTopic(parts map[tp]bool) []topicParts {
	by := map[string][]int32{}
	for p := range parts {
		by[p.topic] = append(by[p.topic], p.partition)
	}
	out := make([]topicParts, 0, len(by))
	for t, ps := range by {
		slices.Sort(ps)
		out = append(out, topicParts{t, ps})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].topic < out[j].topic })
	return out
}

// ConsumerGroupDescribe handles a ConsumerGroupDescribe request.
func (c *Coordinator) ConsumerGroupDescribe(req *kmsg.ConsumerGroupDescribeRequest, topics Topics) *kmsg.ConsumerGroupDescribeResponse {
	resp := req.ResponseKind().(*kmsg.ConsumerGroupDescribeResponse)
	for _, id := range req.Groups {
		dg := kmsg.NewConsumerGroupDescribeResponseGroup()
		dg.Group = id
		if req.IncludeAuthorizedOperations {
			dg.AuthorizedOperations = groupOperations
		}
		g := c.groups[id]
		switch {
		case c.groupLoading(id):
			dg.ErrorCode = kerr.CoordinatorLoadInProgress.Code
		case !c.coordinates(id):
			dg.ErrorCode = kerr.NotCoordinator.Code
		case g == nil || g.state == Dead:
			dg.ErrorCode = kerr.GroupIDNotFound.Code
			msg := "Group " + id + " not found."
			dg.ErrorMessage = &msg
		case len(g.members) > 0 || g.cg == nil:
			// Kafka describes an empty classic group as an empty consumer
			// group; one with classic members is not a consumer group.
			if len(g.members) > 0 {
				dg.ErrorCode = kerr.GroupIDNotFound.Code
				msg := "Group " + id + " is not a consumer group."
				dg.ErrorMessage = &msg
				break
			}
			dg.State, dg.AssignorName = "Empty", Assignors[0]
		default:
			cg := g.cg
			dg.State, dg.Epoch, dg.AssignmentEpoch, dg.AssignorName = cg.state(), cg.epoch, cg.assignmentEpoch, cg.preferredAssignor()
			ids := make([]string, 0, len(cg.members))
			for mid := range cg.members {
				ids = append(ids, mid)
			}
			sort.Strings(ids)
			for _, mid := range ids {
				m := cg.members[mid]
				dm := kmsg.NewConsumerGroupDescribeResponseGroupMember()
				dm.MemberID, dm.InstanceID, dm.RackID = m.id, strPtr(m.instanceID), strPtr(m.rackID)
				dm.MemberEpoch, dm.ClientID, dm.ClientHost = m.epoch, m.clientID, m.clientHost
				dm.SubscribedTopics = slices.Clone(m.subscribed)
				if dm.SubscribedTopics == nil {
					dm.SubscribedTopics = []string{}
				}
				dm.SubscribedTopicRegex = strPtr(m.regex)
				dm.Assignment = describeAssignment(m.assigned, topics)
				dm.TargetAssignment = describeAssignment(cg.target[m.id], topics)
				dm.MemberType = 1 // consumer protocol
				dg.Members = append(dg.Members, dm)
			}
		}
		resp.Groups = append(resp.Groups, dg)
	}
	return resp
}

func describeAssignment(parts map[tp]bool, topics Topics) kmsg.Assignment {
	a := kmsg.NewAssignment()
	a.TopicPartitions = []kmsg.AssignmentTopicPartition{}
	for _, t := range groupByTopic(parts) {
		tm, _ := topics.ByName(t.topic)
		atp := kmsg.NewAssignmentTopicPartition()
		atp.TopicID, atp.Topic, atp.Partitions = tm.ID, t.topic, t.partitions
		a.TopicPartitions = append(a.TopicPartitions, atp)
	}
	return a
}

// validateConsumerCommit applies KIP-848's rules to an OffsetCommit: the
// generation field carries the member epoch.
func validateConsumerCommit(cg *cgroup, memberID string, epoch int32, managed bool) int16 {
	if !managed {
		if len(cg.members) == 0 {
			return 0
		}
		return kerr.UnknownMemberID.Code
	}
	m := cg.members[memberID]
	switch {
	case m == nil:
		return kerr.UnknownMemberID.Code
	case epoch > m.epoch:
		return kerr.StaleMemberEpoch.Code
	case epoch != m.epoch && epoch != m.prevEpoch:
		return kerr.StaleMemberEpoch.Code
	}
	return 0
}
