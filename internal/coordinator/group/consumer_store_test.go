package group

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// client is a well-behaved KIP-848 consumer: it reports what it owns and
// takes whatever assignment it is sent (giving up revoked partitions at
// once).
type client struct {
	id    string
	epoch int32
	owned []kmsg.ConsumerGroupHeartbeatRequestTopic
	join  func(*kmsg.ConsumerGroupHeartbeatRequest) // extra fields of the join
}

// beat sends one heartbeat (a join at epoch 0) and applies the answer.
func (h *harness) beat(cl *client, mod ...func(*kmsg.ConsumerGroupHeartbeatRequest)) *kmsg.ConsumerGroupHeartbeatResponse {
	h.t.Helper()
	r := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	r.Version = 1
	r.Group, r.MemberID, r.MemberEpoch, r.RebalanceTimeoutMillis = "cg", cl.id, cl.epoch, 5000
	if cl.epoch == 0 {
		r.SubscribedTopicNames = []string{"t"}
		r.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		if cl.join != nil {
			cl.join(r)
		}
	} else {
		r.Topics = append([]kmsg.ConsumerGroupHeartbeatRequestTopic{}, cl.owned...)
	}
	for _, f := range mod {
		f(r)
	}
	b := &box{}
	h.apply(h.c.ConsumerGroupHeartbeat(h.now, r, "client-"+cl.id, "/10.0.0.1", h.topics(), b))
	resp := b.last(h.t).(*kmsg.ConsumerGroupHeartbeatResponse)
	if resp.ErrorCode != 0 {
		h.t.Fatalf("heartbeat of %s: %v", cl.id, kerr.ErrorForCode(resp.ErrorCode))
	}
	if r.MemberEpoch >= 0 {
		cl.epoch = resp.MemberEpoch
	}
	if resp.Assignment != nil {
		cl.owned = nil
		for _, t := range resp.Assignment.Topics {
			cl.owned = append(cl.owned, kmsg.ConsumerGroupHeartbeatRequestTopic{TopicID: t.TopicID, Partitions: t.Partitions})
		}
	}
	return resp
}

// cgSnapshot is everything of a consumer group that must survive a
// restart, in comparable form (timers and the sent flag excluded).
type cgSnapshot struct {
	State                  State
	Epoch, AssignmentEpoch int32
	MetadataHash           int64
	Members                []string
}

func snapshot(c *Coordinator, id string) *cgSnapshot {
	g := c.groups[id]
	if g == nil || g.cg == nil {
		return nil
	}
	cg := g.cg
	s := &cgSnapshot{State: g.state, Epoch: cg.epoch, AssignmentEpoch: cg.assignmentEpoch, MetadataHash: cg.metadataHash}
	for _, mid := range cg.sortedMembers() {
		m := cg.members[mid]
		s.Members = append(s.Members, fmt.Sprintf("%s inst=%q rack=%q client=%s@%s epoch=%d prev=%d rt=%v subs=%s re=%q asg=%q assigned=%s revoking=%s target=%s",
			m.id, m.instanceID, m.rackID, m.clientID, m.clientHost, m.epoch, m.prevEpoch, m.rebalanceTimeout,
			strings.Join(m.subscribed, ","), m.regex, m.assignor, describeParts(m.assigned), describeParts(m.revoking), describeParts(cg.target[mid])))
	}
	return s
}

// replayed rebuilds a Coordinator from everything h's has appended, as a
// broker restart does.
func (h *harness) replayed(topics Topics) *Coordinator {
	h.t.Helper()
	c := New(h.c.cfg, "restarted")
	for _, r := range h.log {
		if err := c.Replay(h.now, r.Key, r.Value, topics); err != nil {
			h.t.Fatal(err)
		}
	}
	c.FinishLoad(h.now)
	return c
}

// checkReplay asserts that replaying the log rebuilds the consumer group
// exactly: internal state and what ConsumerGroupDescribe shows.
func (h *harness) checkReplay(step string) *Coordinator {
	h.t.Helper()
	c2 := h.replayed(h.topics())
	want, got := snapshot(h.c, "cg"), snapshot(c2, "cg")
	if !reflect.DeepEqual(want, got) {
		h.t.Fatalf("%s: replayed state differs\n got %+v\nwant %+v", step, got, want)
	}
	req := &kmsg.ConsumerGroupDescribeRequest{Groups: []string{"cg"}}
	if d1, d2 := h.c.ConsumerGroupDescribe(req, h.topics()), c2.ConsumerGroupDescribe(req, h.topics()); !reflect.DeepEqual(d1, d2) {
		h.t.Fatalf("%s: replayed describe differs\n got %+v\nwant %+v", step, d2.Groups, d1.Groups)
	}
	return c2
}

// TestConsumerReplayEveryStep drives a consumer group through joins,
// revocations, subscription and topic changes, assignor votes, a static
// member's restart, a leave and a session expiry, and after every step
// replays the log into a fresh Coordinator and compares.
func TestConsumerReplayEveryStep(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ConsumerSessionTimeout = 10 * time.Second })
	tv := fakeTopics{"t": topicsT["t"], "u": topicsT["u"]}
	h.tv = tv
	a := &client{id: "a"}
	b := &client{id: "b", join: func(r *kmsg.ConsumerGroupHeartbeatRequest) {
		r.SubscribedTopicNames, r.SubscribedTopicRegex = nil, kmsg.StringPtr("t|u")
		r.InstanceID, r.RackID, r.RebalanceTimeoutMillis = kmsg.StringPtr("ib"), kmsg.StringPtr("rack1"), 7000
	}}
	c := &client{id: "c", join: func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.ServerAssignor = kmsg.StringPtr("range") }}
	d := &client{id: "d", join: func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.ServerAssignor = kmsg.StringPtr("range") }}
	steps := []struct {
		name string
		do   func()
	}{
		{"a joins", func() { h.beat(a) }},
		{"b joins", func() { h.beat(b) }},
		{"a told to revoke", func() { h.beat(a, func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.Topics = nil }) }},
		{"b waits for a", func() { h.beat(b) }},
		{"a revokes", func() { h.beat(a) }},
		{"b gets its share", func() { h.beat(b) }},
		{"a subscribes to u too", func() {
			h.beat(a, func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.SubscribedTopicNames = []string{"t", "u"} })
		}},
		{"t grows", func() {
			t2 := tv["t"]
			t2.Partitions = 6
			tv["t"] = t2
			h.beat(b)
		}},
		{"c and d vote range", func() { h.beat(c); h.beat(d) }},
		{"everyone settles", func() {
			for range 4 {
				for _, cl := range []*client{a, b, c, d} {
					h.beat(cl)
				}
			}
		}},
		{"d leaves", func() { h.beat(d, func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberEpoch = -1 }) }},
		{"c's session runs out", func() {
			h.now = h.now.Add(6 * time.Second)
			h.beat(a)
			h.beat(b)
			h.advance(5 * time.Second)
		}},
		{"b restarts as b2", func() {
			b.id, b.epoch, b.owned = "b2", 0, nil
			h.beat(b)
		}},
		{"a heartbeats", func() { h.beat(a) }},
	}
	for _, s := range steps {
		s.do()
		h.checkReplay(s.name)
	}
	snap := snapshot(h.c, "cg")
	if len(snap.Members) != 2 || !strings.HasPrefix(snap.Members[0], "a ") || !strings.HasPrefix(snap.Members[1], "b2 ") {
		t.Fatalf("members at the end: %v", snap.Members)
	}
}

// TestConsumerRestartCarriesOn: after a replay the members go on with the
// same ids and epochs; an unchanged heartbeat writes nothing, before and
// after; a member that was revoking still must finish within its
// rebalance timeout from the load.
func TestConsumerRestartCarriesOn(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ConsumerSessionTimeout = 10 * time.Second })
	a, b := &client{id: "a"}, &client{id: "b"}
	h.beat(a)
	h.beat(a)
	n := len(h.log)
	h.beat(a)
	if len(h.log) != n {
		t.Fatalf("an unchanged heartbeat wrote %d records", len(h.log)-n)
	}
	h.beat(b)
	h.beat(a, func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.Topics = nil }) // a must revoke half
	if len(h.c.groups["cg"].cg.members["a"].revoking) != 2 {
		t.Fatal("a is not revoking")
	}
	epochA := a.epoch

	h.now = h.now.Add(time.Hour) // the restart takes a while: timers start at the load
	h.c = h.replayed(topicsT)
	// An OffsetCommit with the member's epoch is accepted at once.
	oc := kmsg.NewPtrOffsetCommitRequest()
	oc.Version = 9
	oc.Group, oc.MemberID, oc.Generation = "cg", "b", b.epoch
	oc.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 5}}}}
	cb := &box{}
	h.apply(h.c.OffsetCommit(h.now, oc, func(string, int32) bool { return true }, cb))
	if code := cb.last(t).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("commit after the restart: %v", kerr.ErrorForCode(code))
	}
	// b heartbeats: same epoch, nothing written, its assignment resent.
	n = len(h.log)
	r := h.beat(b)
	if r.MemberEpoch != b.epoch || len(h.log) != n || r.Assignment == nil {
		t.Fatalf("b after the restart: epoch %d, %d records, assignment %v", r.MemberEpoch, len(h.log)-n, r.Assignment)
	}
	// a does not acknowledge the revocation: it is fenced a rebalance
	// timeout (5 s) after the load, not after its last heartbeat.
	h.advance(4 * time.Second)
	if h.c.groups["cg"].cg.members["a"] == nil {
		t.Fatal("a fenced before its rebalance timeout from the load")
	}
	h.advance(2 * time.Second)
	if h.c.groups["cg"].cg.members["a"] != nil {
		t.Fatal("a not fenced after its rebalance timeout")
	}
	if a.epoch != epochA {
		t.Fatal("a's epoch moved")
	}
	h.checkReplay("after fencing")
}

// TestConsumerTombstones: leaving writes the member's tombstones in
// Kafka's order, then the new group epoch; replay yields no member; and
// deleting the empty group leaves nothing behind.
func TestConsumerTombstones(t *testing.T) {
	h := newHarness(t, nil)
	a := &client{id: "a"}
	h.beat(a)
	n := len(h.log)
	h.beat(a, func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberEpoch = -1 })
	var got []string
	for _, r := range h.log[n:] {
		cr, _, err := decodeConsumerRecord(r.Key, r.Value)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d/%s tomb=%v", cr.typ, cr.member, r.Value == nil))
	}
	want := []string{"8/a tomb=true", "7/a tomb=true", "5/a tomb=true", "3/ tomb=false"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("leave wrote %v, want %v", got, want)
	}
	c2 := h.checkReplay("after leave")
	d := c2.ConsumerGroupDescribe(&kmsg.ConsumerGroupDescribeRequest{Groups: []string{"cg"}}, topicsT).Groups[0]
	if d.ErrorCode != 0 || d.State != "Empty" || len(d.Members) != 0 || d.Epoch != 2 {
		t.Fatalf("replayed empty group: %+v", d)
	}
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{"cg"}
	db := &box{}
	h.apply(h.c.DeleteGroups(h.now, del, db))
	if code := db.last(t).(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode; code != 0 {
		t.Fatalf("delete: %v", kerr.ErrorForCode(code))
	}
	if _, ok := h.replayed(topicsT).groups["cg"]; ok {
		t.Fatal("deleted consumer group came back")
	}
}

// TestConsumerGroupExpiresAndConverts: an empty consumer group without
// offsets is deleted by the retention check with tombstones; a classic
// group that becomes a consumer group (and back) leaves only the records
// of what it is now.
func TestConsumerGroupExpiresAndConverts(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RetentionCheck = time.Minute })
	a := &client{id: "a"}
	h.beat(a)
	h.beat(a, func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberEpoch = -1 })
	h.advance(2 * time.Minute)
	if _, ok := h.c.groups["cg"]; ok {
		t.Fatal("empty consumer group not expired")
	}
	if _, ok := h.replayed(topicsT).groups["cg"]; ok {
		t.Fatal("expired consumer group came back")
	}

	// Classic, emptied, then consumer.
	ids, gen := h.stableGroup("cg", 1)
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Version, leave.Group, leave.MemberID = 0, "cg", ids[0]
	_, out := h.c.LeaveGroup(h.now, leave)
	h.apply(out) // the empty rebalance writes the classic group
	if g := h.c.groups["cg"]; g.state != Empty || g.generation != gen+1 {
		t.Fatalf("classic group after the leave: %s generation %d", g.state, g.generation)
	}
	b := &client{id: "b"}
	h.beat(b)
	c2 := h.checkReplay("classic turned consumer")
	if g := c2.groups["cg"]; g.generation != 0 || g.cg == nil {
		t.Fatalf("replayed converted group: generation %d, consumer %v", g.generation, g.cg != nil)
	}
	// Consumer, emptied, then classic.
	h.beat(b, func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberEpoch = -1 })
	ids, _ = h.stableGroup("cg", 1)
	if g := h.replayed(topicsT).groups["cg"]; g == nil || g.cg != nil || g.protocolType != "consumer" || len(g.members) != 1 || g.members[ids[0]] == nil {
		t.Fatalf("replayed group turned classic: %+v", g)
	}
}

// TestConsumerHeartbeatWaitsForDurability: the answer comes once the
// records are durable; a heartbeat that writes nothing still waits for
// appends to its partition in flight; a failed append answers
// COORDINATOR_NOT_AVAILABLE and the assignment is sent again.
func TestConsumerHeartbeatWaitsForDurability(t *testing.T) {
	h := newHarness(t, nil)
	h.auto = false
	send := func(epoch int32, owned []int32) *box {
		r := kmsg.NewPtrConsumerGroupHeartbeatRequest()
		r.Version = 1
		r.Group, r.MemberID, r.MemberEpoch, r.RebalanceTimeoutMillis = "cg", "a", epoch, 5000
		switch {
		case epoch == 0:
			r.SubscribedTopicNames, r.Topics = []string{"t"}, []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		case owned != nil:
			r.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{{TopicID: topicsT["t"].ID, Partitions: owned}}
		}
		b := &box{}
		h.apply(h.c.ConsumerGroupHeartbeat(h.now, r, "client", "/10.0.0.1", topicsT, b))
		return b
	}
	join := send(0, nil)
	if len(join.got) != 0 || len(h.pending) != 1 {
		t.Fatalf("join answered before its records are durable: %d answers, %d appends", len(join.got), len(h.pending))
	}
	h.flush(nil)
	if r := join.last(t).(*kmsg.ConsumerGroupHeartbeatResponse); r.ErrorCode != 0 || r.MemberEpoch != 1 {
		t.Fatalf("join: %+v", r)
	}
	// A commit of another group in the same partition is in flight: the
	// steady heartbeat waits for it.
	other := "x"
	for PartitionFor(other, h.c.cfg.Partitions) != PartitionFor("cg", h.c.cfg.Partitions) {
		other += "x"
	}
	h.commit(other, "", -1, "t", 0, 1)
	hb := send(1, []int32{0, 1, 2, 3})
	if len(hb.got) != 0 {
		t.Fatal("heartbeat answered before the partition's earlier append is durable")
	}
	h.flush(nil)
	if r := hb.last(t).(*kmsg.ConsumerGroupHeartbeatResponse); r.ErrorCode != 0 || r.Assignment != nil {
		t.Fatalf("steady heartbeat: %+v", r)
	}
	// With nothing in flight it is answered at once.
	if hb := send(1, nil); len(hb.got) != 1 {
		t.Fatal("steady heartbeat with nothing in flight not answered at once")
	}
	// A failed append: the member is told to retry and then gets its
	// assignment again.
	h.commit(other, "", -1, "t", 0, 2)
	hb = send(1, nil)
	h.flush(errors.New("disk gone"))
	if r := hb.last(t).(*kmsg.ConsumerGroupHeartbeatResponse); r.ErrorCode != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("heartbeat after a failed append: %+v", r)
	}
	hb = send(1, nil)
	if r := hb.last(t).(*kmsg.ConsumerGroupHeartbeatResponse); r.ErrorCode != 0 || r.Assignment == nil {
		t.Fatalf("heartbeat after the retry: %+v", r)
	}
}

// TestConsumerReplayDropsDeletedTopics: partitions of a topic deleted while
// the broker was down are dropped from assignments on load.
func TestConsumerReplayDropsDeletedTopics(t *testing.T) {
	h := newHarness(t, nil)
	a := &client{id: "a", join: func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.SubscribedTopicNames = []string{"t", "u"} }}
	h.beat(a)
	c2 := h.replayed(fakeTopics{"t": topicsT["t"]})
	m := c2.groups["cg"].cg.members["a"]
	if got := describeParts(m.assigned); got != "t[0 1 2 3]" {
		t.Fatalf("assigned after u was deleted: %s", got)
	}
	if got := describeParts(c2.groups["cg"].cg.target["a"]); got != "t[0 1 2 3]" {
		t.Fatalf("target after u was deleted: %s", got)
	}
}

// TestConsumerV0MemberIDs: a v0 join without a member id is named by the
// coordinator, so v0 members do not collide (in memory or in the log).
func TestConsumerV0MemberIDs(t *testing.T) {
	h := newHarness(t, nil)
	ids := map[string]bool{}
	for range 2 {
		r := h.cgh("", 0, nil, func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.Version = 0 })
		if r.ErrorCode != 0 || r.MemberID == nil || *r.MemberID == "" {
			t.Fatalf("v0 join: %+v", r)
		}
		ids[*r.MemberID] = true
	}
	if len(ids) != 2 || len(h.c.groups["cg"].cg.members) != 2 {
		t.Fatalf("v0 members: %v", ids)
	}
	h.checkReplay("v0 joins")
}
