package group

import (
	"slices"
	"sort"
	"time"
)

// This file maps the KIP-848 state (cgroup, cmember) to the records of
// records_consumer.go and back: what a heartbeat writes, and how Replay
// and FinishLoad rebuild the state after a restart.
//
// Not written: ConsumerGroupPartitionMetadata (type 4), which Kafka 4.1
// replaced by the metadata hash stored with the group epoch, and
// ConsumerGroupRegularExpression (type 16), Kafka's cache of the topics a
// regex matched: Samsa matches regexes against the metadata image on
// every heartbeat, so there is nothing to cache. Both are read past.

func memberMetadataValue(m *cmember) *consumerMemberMetadata {
	return &consumerMemberMetadata{
		instanceID: strPtr(m.instanceID), rackID: strPtr(m.rackID),
		clientID: m.clientID, clientHost: m.clientHost,
		subscribedTopicNames: m.subscribed, subscribedTopicRegex: strPtr(m.regex),
		rebalanceTimeoutMillis: int32(m.rebalanceTimeout.Milliseconds()),
		serverAssignor:         strPtr(m.assignor),
	}
}

// memberState is the member's reconciliation state as Kafka's MemberState
// names it.
func (cg *cgroup) memberState(m *cmember) int8 {
	switch {
	case len(m.revoking) > 0:
		return memberUnrevokedPartitions
	case len(m.assigned) != len(cg.target[m.id]):
		return memberUnreleasedPartitions
	}
	return memberStable
}

func currentAssignmentValue(cg *cgroup, m *cmember, topics Topics) *consumerCurrentAssignment {
	return &consumerCurrentAssignment{
		memberEpoch: m.epoch, previousMemberEpoch: m.prevEpoch, state: cg.memberState(m),
		assigned: toIDParts(m.assigned, topics), pendingRevocation: toIDParts(m.revoking, topics),
	}
}

func groupEpochRecord(g *group) Record {
	v := consumerGroupMetadata{epoch: g.cg.epoch, metadataHash: g.cg.metadataHash}
	return Record{consumerKey(keyConsumerGroupMetadata, g.id), v.encode()}
}

// targetRecords stores a newly computed target assignment: the members
// whose target changed, then the assignment epoch.
func targetRecords(g *group, old map[string]map[tp]bool, topics Topics, now time.Time) []Record {
	cg := g.cg
	var recs []Record
	for _, id := range cg.sortedMembers() {
		if sameOwned(old[id], cg.target[id]) {
			continue
		}
		v := consumerTargetMember{partitions: toIDParts(cg.target[id], topics)}
		recs = append(recs, Record{consumerMemberKey(keyConsumerGroupTargetMember, g.id, id), v.encode()})
	}
	v := consumerTargetMetadata{assignmentEpoch: cg.assignmentEpoch, timestampMillis: now.UnixMilli()}
	return append(recs, Record{consumerKey(keyConsumerGroupTargetMeta, g.id), v.encode()})
}

// consumerGroupTombstones delete an empty consumer group: its target
// assignment epoch, then its group epoch.
func consumerGroupTombstones(id string) []Record {
	return []Record{{Key: consumerKey(keyConsumerGroupTargetMeta, id)}, {Key: consumerKey(keyConsumerGroupMetadata, id)}}
}

// groupTombstones delete an empty group of either kind.
func groupTombstones(g *group) []Record {
	if g.cg != nil {
		return consumerGroupTombstones(g.id)
	}
	return []Record{{Key: groupKey(g.id)}}
}

// toIDParts lists partitions by topic id, in topic name order; topics that
// no longer exist are left out.
func toIDParts(parts map[tp]bool, topics Topics) []idPartitions {
	var out []idPartitions
	for _, t := range groupByTopic(parts) {
		if tm, ok := topics.ByName(t.topic); ok {
			out = append(out, idPartitions{topicID: tm.ID, partitions: t.partitions})
		}
	}
	return out
}

// fromIDParts resolves stored partitions to names, dropping those of
// topics that no longer exist (or partitions beyond a topic's count).
func fromIDParts(parts []idPartitions, topics Topics) map[tp]bool {
	out := map[tp]bool{}
	for _, p := range parts {
		tm, ok := topics.ByID(p.topicID)
		if !ok {
			continue
		}
		for _, n := range p.partitions {
			if n >= 0 && n < tm.Partitions {
				out[tp{tm.Name, n}] = true
			}
		}
	}
	return out
}

// replayConsumer applies one consumer group record. A value creates the
// group and member it names if needed (records of one member may come in
// any order); tombstones delete.
func (c *Coordinator) replayConsumer(now time.Time, r *consumerRecord, topics Topics) {
	g := c.groups[r.group]
	if r.metadata == nil && r.memberMD == nil && r.target == nil && r.targetMember == nil && r.current == nil {
		if g == nil || g.cg == nil {
			return
		}
		cg := g.cg
		switch r.typ {
		case keyConsumerGroupMetadata: // deleted, or turned classic
			g.cg = nil
			if len(g.members) == 0 {
				g.protocolType = ""
			}
		case keyConsumerGroupMember:
			delete(cg.members, r.member)
			delete(cg.target, r.member)
		case keyConsumerGroupTargetMeta:
			cg.assignmentEpoch = 0
		case keyConsumerGroupTargetMember:
			delete(cg.target, r.member)
		case keyConsumerGroupCurrent:
			if m := cg.members[r.member]; m != nil {
				m.epoch, m.prevEpoch = 0, 0
				m.assigned, m.revoking = map[tp]bool{}, map[tp]bool{}
			}
		}
		return
	}
	if g == nil {
		g = newGroup(r.group, now)
		c.groups[r.group] = g
	}
	if g.cg == nil {
		g.cg = newCGroup()
		g.protocolType = "consumer"
	}
	cg := g.cg
	member := func() *cmember {
		m := cg.members[r.member]
		if m == nil {
			m = &cmember{id: r.member, assigned: map[tp]bool{}, revoking: map[tp]bool{}}
			cg.members[r.member] = m
		}
		return m
	}
	switch {
	case r.metadata != nil:
		cg.epoch, cg.metadataHash = r.metadata.epoch, r.metadata.metadataHash
	case r.target != nil:
		cg.assignmentEpoch = r.target.assignmentEpoch
	case r.targetMember != nil:
		cg.target[r.member] = fromIDParts(r.targetMember.partitions, topics)
	case r.current != nil:
		m := member()
		m.epoch, m.prevEpoch = r.current.memberEpoch, r.current.previousMemberEpoch
		m.assigned = fromIDParts(r.current.assigned, topics)
		m.revoking = fromIDParts(r.current.pendingRevocation, topics)
	case r.memberMD != nil:
		v, m := r.memberMD, member()
		m.instanceID, m.rackID = deref(v.instanceID), deref(v.rackID)
		m.clientID, m.clientHost = v.clientID, v.clientHost
		m.subscribed = nil
		if len(v.subscribedTopicNames) > 0 {
			m.subscribed = slices.Clone(v.subscribedTopicNames)
			sort.Strings(m.subscribed)
			m.subscribed = slices.Compact(m.subscribed)
		}
		m.regex, m.assignor = deref(v.subscribedTopicRegex), deref(v.serverAssignor)
		m.rebalanceTimeout = msDuration(v.rebalanceTimeoutMillis)
	}
}

// finishConsumerLoad readies a replayed consumer group: every member gets
// a full session from now to heartbeat, and one still revoking partitions
// its rebalance timeout to finish (Kafka's timers after a failover); the
// assignment is sent in full with the next heartbeat.
func (c *Coordinator) finishConsumerLoad(g *group, now time.Time) {
	cg := g.cg
	for id := range cg.target {
		if cg.members[id] == nil {
			delete(cg.target, id)
		}
	}
	for _, m := range cg.members {
		m.expiresAt = now.Add(c.cfg.ConsumerSessionTimeout)
		if len(m.revoking) > 0 {
			m.revokeDeadline = now.Add(max(m.rebalanceTimeout, time.Second))
		}
	}
	if len(cg.members) > 0 {
		g.transition(Stable, now)
	} else if len(g.members) == 0 {
		g.transition(Empty, now)
	}
}
