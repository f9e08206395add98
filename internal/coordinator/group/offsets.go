package group

import (
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Known reports whether a topic partition exists; offsets are only
// committed for partitions that do.
type Known func(topic string, partition int32) bool

// OffsetCommit handles an OffsetCommit request. The response is given only
// once the commit is durable (from AppendDone), so an acknowledged commit
// survives a crash.
func (c *Coordinator) OffsetCommit(now time.Time, req *kmsg.OffsetCommitRequest, known Known, to Caller) Out {
	var out Out
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	for _, rt := range req.Topics {
		t := kmsg.NewOffsetCommitResponseTopic()
		t.Topic, t.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			p := kmsg.NewOffsetCommitResponseTopicPartition()
			p.Partition = rp.Partition
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	fail := func(code int16) Out {
		for i := range resp.Topics {
			for j := range resp.Topics[i].Partitions {
				resp.Topics[i].Partitions[j].ErrorCode = code
			}
		}
		out.reply(to, resp)
		return out
	}
	if code := c.checkGroupID(req.Group); code != 0 {
		return fail(code)
	}
	g := c.groups[req.Group]
	if code := c.validateCommit(g, req); code != 0 {
		return fail(code)
	}
	if g == nil {
		g = newGroup(req.Group, now) // a group used only to store offsets
		c.groups[req.Group] = g
	}
	var recs []Record
	type done struct {
		t   tp
		o   offset
		ptr *int16
		i   int // index of its record in the append
	}
	var commits []done
	for i, rt := range req.Topics {
		for j, rp := range rt.Partitions {
			code := &resp.Topics[i].Partitions[j].ErrorCode
			meta := deref(rp.Metadata)
			switch {
			case !known(rt.Topic, rp.Partition):
				*code = kerr.UnknownTopicOrPartition.Code
				continue
			case len(meta) > c.cfg.MaxMetadataBytes:
				*code = kerr.OffsetMetadataTooLarge.Code
				continue
			}
			o := offset{offset: rp.Offset, leaderEpoch: rp.LeaderEpoch, metadata: meta, commitMs: now.UnixMilli()}
			if req.Version < 6 {
				o.leaderEpoch = -1
			}
			t := tp{rt.Topic, rp.Partition}
			commits = append(commits, done{t, o, code, len(recs)})
			recs = append(recs, Record{offsetKey(g.id, t.topic, t.partition), offsetValue(o)})
			g.pendingCommits[t]++
		}
	}
	if len(recs) == 0 {
		out.reply(to, resp)
		return out
	}
	var a *inflightAppend
	a = c.append(&out, g.id, recs, func(now time.Time, err error, out *Out) {
		for _, d := range commits {
			if g.pendingCommits[d.t]--; g.pendingCommits[d.t] <= 0 {
				delete(g.pendingCommits, d.t)
			}
			if err != nil {
				*d.ptr = storeError(err)
				continue
			}
			d.o.logOffset = a.recordOffset(d.i)
			g.offsets[d.t] = d.o
		}
		if err == nil && c.groups[g.id] == nil {
			c.groups[g.id] = g // deleted while the commit was in flight
		}
		out.reply(to, resp)
	})
	return out
}

// validateCommit applies Kafka's rules for who may commit: anyone to an
// empty or unknown group with generation -1 (admin clients, manual
// assignment), otherwise only a current member of the current generation.
func (c *Coordinator) validateCommit(g *group, req *kmsg.OffsetCommitRequest) int16 {
	instance := deref(req.InstanceID)
	managed := req.Generation >= 0 || req.MemberID != "" || instance != ""
	if g == nil {
		if managed {
			return kerr.IllegalGeneration.Code
		}
		return 0
	}
	if g.state == Dead {
		return kerr.CoordinatorNotAvailable.Code
	}
	if g.cg != nil && len(g.members) == 0 {
		return validateConsumerCommit(g.cg, req.MemberID, req.Generation, managed)
	}
	if !managed {
		if g.state == Empty {
			return 0
		}
		return kerr.UnknownMemberID.Code
	}
	if code := g.validateMember(req.MemberID, instance); code != 0 {
		return code
	}
	if req.Generation != g.generation {
		return kerr.IllegalGeneration.Code
	}
	if g.state == CompletingRebalance {
		return kerr.RebalanceInProgress.Code
	}
	return 0
}

// FetchTopic is one topic of an offset fetch; nil Partitions is not
// allowed here (a nil []FetchTopic means every committed offset).
type FetchTopic struct {
	Topic      string
	Partitions []int32
}

// FetchedOffset is one partition's committed offset; Offset -1 means none.
type FetchedOffset struct {
	Topic       string
	Partition   int32
	Offset      int64
	LeaderEpoch int32
	Metadata    string
	ErrorCode   int16
}

// FetchOffsets returns a group's committed offsets for topics (all of them
// if topics is nil). With requireStable, partitions with a commit not yet
// durable or transactional offsets of an undecided transaction answer
// UNSTABLE_OFFSET_COMMIT (without it, they get the last committed
// offset). The error is group-wide.
func (c *Coordinator) FetchOffsets(group string, topics []FetchTopic, requireStable bool) ([]FetchedOffset, int16) {
	if code := c.checkGroupID(group); code != 0 {
		return nil, code
	}
	g := c.groups[group]
	var out []FetchedOffset
	one := func(t tp) FetchedOffset {
		f := FetchedOffset{Topic: t.topic, Partition: t.partition, Offset: -1, LeaderEpoch: -1}
		if g == nil {
			return f
		}
		if requireStable && (g.pendingCommits[t] > 0 || g.txnPending(t)) {
			f.ErrorCode = kerr.UnstableOffsetCommit.Code
			return f
		}
		if o, ok := g.offsets[t]; ok {
			f.Offset, f.LeaderEpoch, f.Metadata = o.offset, o.leaderEpoch, o.metadata
		}
		return f
	}
	if topics == nil {
		if g == nil {
			return nil, 0
		}
		var all []tp
		for t := range g.offsets {
			all = append(all, t)
		}
		sort.Slice(all, func(i, j int) bool {
			if all[i].topic != all[j].topic {
				return all[i].topic < all[j].topic
			}
			return all[i].partition < all[j].partition
		})
		for _, t := range all {
			out = append(out, one(t))
		}
		return out, 0
	}
	for _, ft := range topics {
		for _, p := range ft.Partitions {
			out = append(out, one(tp{ft.Topic, p}))
		}
	}
	return out, 0
}

// OffsetDelete handles an OffsetDelete request: offsets of topics the group
// no longer subscribes to may be deleted; the answer comes once the
// tombstones are durable.
func (c *Coordinator) OffsetDelete(now time.Time, req *kmsg.OffsetDeleteRequest, to Caller) Out {
	var out Out
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	if code := c.checkGroupID(req.Group); code != 0 {
		resp.ErrorCode = code
		out.reply(to, resp)
		return out
	}
	g := c.groups[req.Group]
	if g == nil || g.state == Dead {
		resp.ErrorCode = kerr.GroupIDNotFound.Code
		out.reply(to, resp)
		return out
	}
	var subscribed map[string]bool
	if g.isConsumer() {
		subscribed = map[string]bool{}
		for _, m := range g.cg.members {
			for _, t := range m.subscribed {
				subscribed[t] = true
			}
			for t := range m.assigned {
				subscribed[t.topic] = true
			}
		}
	} else if len(g.members) > 0 {
		if g.protocolType != "consumer" {
			resp.ErrorCode = kerr.NonEmptyGroup.Code
			out.reply(to, resp)
			return out
		}
		subscribed = g.subscribedTopics()
	}
	var recs []Record
	var parts []tp
	for _, rt := range req.Topics {
		t := kmsg.NewOffsetDeleteResponseTopic()
		t.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			p := kmsg.NewOffsetDeleteResponseTopicPartition()
			p.Partition = rp.Partition
			k := tp{rt.Topic, rp.Partition}
			if subscribed[rt.Topic] {
				p.ErrorCode = kerr.GroupSubscribedToTopic.Code
			} else if _, ok := g.offsets[k]; ok || g.txnPending(k) {
				// As Kafka: a tombstone also ends pending transactional
				// offsets of the partition.
				delete(g.offsets, k)
				g.dropTxnOffsets(k)
				recs = append(recs, Record{Key: offsetKey(g.id, rt.Topic, rp.Partition)})
				parts = append(parts, k)
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	if len(recs) == 0 {
		out.reply(to, resp)
		return out
	}
	a := c.append(&out, g.id, recs, func(now time.Time, err error, out *Out) {
		if err != nil {
			resp.ErrorCode = storeError(err)
		}
		out.reply(to, resp)
	})
	g.tombstoned(parts, a)
	return out
}

// subscribedTopics decodes the consumer protocol subscriptions of every
// member.
func (g *group) subscribedTopics() map[string]bool {
	out := map[string]bool{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			if g.protocol != "" && p.name != g.protocol {
				continue
			}
			var s kmsg.ConsumerMemberMetadata
			if err := s.ReadFrom(p.metadata); err == nil {
				for _, t := range s.Topics {
					out[t] = true
				}
			}
		}
	}
	return out
}
