package group

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// harness drives a Coordinator with a manual clock and an in-memory
// "log": appends are durable when the test says (or at once, if auto).
type harness struct {
	t       *testing.T
	c       *Coordinator
	now     time.Time
	log     []Record           // every record appended, in order
	pending []Append           // appends not yet completed
	batches map[int32][][]byte // each partition's log as batches (base offsets set), markers too
	next    map[int32]int64    // each partition's log end offset
	auto    bool               // complete appends as soon as they are made
	tv      Topics             // topics for KIP-848 heartbeats; nil: topicsT
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	cfg := DefaultConfig()
	cfg.InitialRebalanceDelay = 0
	cfg.MinSessionTimeout = time.Second
	cfg.Partitions = 3
	if mod != nil {
		mod(&cfg)
	}
	h := &harness{t: t, c: New(cfg, "n"), now: time.UnixMilli(1_700_000_000_000), auto: true,
		batches: map[int32][][]byte{}, next: map[int32]int64{}}
	h.c.FinishLoad(h.now)
	return h
}

// box records the responses a Caller got.
type box struct{ got []kmsg.Response }

func (b *box) Complete(r kmsg.Response) { b.got = append(b.got, r) }

func (b *box) last(t *testing.T) kmsg.Response {
	t.Helper()
	if len(b.got) == 0 {
		t.Fatal("no response yet")
	}
	return b.got[len(b.got)-1]
}

func (h *harness) apply(out Out) {
	for _, r := range out.Replies {
		r.To.Complete(r.Resp)
	}
	for _, a := range out.Appends {
		h.c.Appended(a.ID, h.next[a.Partition])
		var b []byte
		if a.Producer != nil {
			b = EncodeTxnBatch(a.Records, *a.Producer, h.now.UnixMilli())
		} else {
			b = EncodeBatch(a.Records, h.now.UnixMilli())
		}
		h.addBatch(a.Partition, b, len(a.Records))
		h.log = append(h.log, a.Records...)
		h.pending = append(h.pending, a)
	}
	if h.auto {
		h.flush(nil)
	}
}

// flush completes every pending append with err.
func (h *harness) flush(err error) {
	for len(h.pending) > 0 {
		a := h.pending[0]
		h.pending = h.pending[1:]
		h.apply(h.c.AppendDone(h.now, a.ID, err))
	}
}

func (h *harness) advance(d time.Duration) {
	h.now = h.now.Add(d)
	h.apply(h.c.Tick(h.now))
}

func consumerMeta(topics ...string) []byte {
	m := kmsg.NewConsumerMemberMetadata()
	m.Topics = topics
	return m.AppendTo(nil)
}

func joinReq(group, member string, version int16, protocols ...string) *kmsg.JoinGroupRequest {
	r := kmsg.NewPtrJoinGroupRequest()
	r.Version = version
	r.Group, r.MemberID, r.SessionTimeoutMillis, r.RebalanceTimeoutMillis, r.ProtocolType = group, member, 10000, 30000, "consumer"
	if len(protocols) == 0 {
		protocols = []string{"range"}
	}
	for _, p := range protocols {
		r.Protocols = append(r.Protocols, kmsg.JoinGroupRequestProtocol{Name: p, Metadata: consumerMeta("t")})
	}
	return r
}

func (h *harness) join(req *kmsg.JoinGroupRequest) *box {
	b := &box{}
	h.apply(h.c.JoinGroup(h.now, req, "client", "/127.0.0.1", b))
	return b
}

// joinNew joins with KIP-394's two steps and returns the parked second join.
func (h *harness) joinNew(group string) (*box, string) {
	h.t.Helper()
	b := h.join(joinReq(group, "", 9))
	r := b.last(h.t).(*kmsg.JoinGroupResponse)
	if r.ErrorCode != kerr.MemberIDRequired.Code || r.MemberID == "" {
		h.t.Fatalf("first join: code %d id %q", r.ErrorCode, r.MemberID)
	}
	return h.join(joinReq(group, r.MemberID, 9)), r.MemberID
}

func (h *harness) sync(group, member string, gen int32, assign map[string][]byte) *box {
	r := kmsg.NewPtrSyncGroupRequest()
	r.Version = 5
	r.Group, r.MemberID, r.Generation = group, member, gen
	for id, a := range assign {
		r.GroupAssignment = append(r.GroupAssignment, kmsg.SyncGroupRequestGroupAssignment{MemberID: id, MemberAssignment: a})
	}
	b := &box{}
	h.apply(h.c.SyncGroup(h.now, r, b))
	return b
}

func (h *harness) heartbeat(group, member string, gen int32, instance *string) int16 {
	r := kmsg.NewPtrHeartbeatRequest()
	r.Version = 4
	r.Group, r.MemberID, r.Generation, r.InstanceID = group, member, gen, instance
	return h.c.Heartbeat(h.now, r).ErrorCode
}

func (h *harness) state(group string) State {
	info, ok := h.c.Info(group)
	if !ok {
		return Dead
	}
	return info.State
}

func code(t *testing.T, b *box) int16 {
	t.Helper()
	switch r := b.last(t).(type) {
	case *kmsg.JoinGroupResponse:
		return r.ErrorCode
	case *kmsg.SyncGroupResponse:
		return r.ErrorCode
	}
	t.Fatalf("unexpected %T", b.last(t))
	return 0
}

// stableGroup makes a Stable group of n members and returns their ids
// (leader first) and the generation.
func (h *harness) stableGroup(group string, n int) ([]string, int32) {
	h.t.Helper()
	var boxes []*box
	var ids []string
	for range n {
		b, id := h.joinNew(group)
		boxes = append(boxes, b)
		ids = append(ids, id)
	}
	h.advance(0) // the (zero) initial delay passes
	var gen int32
	var leader string
	for i, b := range boxes {
		r := b.last(h.t).(*kmsg.JoinGroupResponse)
		if r.ErrorCode != 0 {
			h.t.Fatalf("member %d join: %d", i, r.ErrorCode)
		}
		gen, leader = r.Generation, r.LeaderID
	}
	assign := map[string][]byte{}
	for _, id := range ids {
		assign[id] = []byte("a-" + id)
	}
	var syncs []*box
	for _, id := range ids {
		if id != leader {
			syncs = append(syncs, h.sync(group, id, gen, nil))
		}
	}
	syncs = append(syncs, h.sync(group, leader, gen, assign))
	for _, s := range syncs {
		if c := code(h.t, s); c != 0 {
			h.t.Fatalf("sync: %d", c)
		}
	}
	if s := h.state(group); s != Stable {
		h.t.Fatalf("state %s", s)
	}
	out := []string{leader}
	for _, id := range ids {
		if id != leader {
			out = append(out, id)
		}
	}
	return out, gen
}

func TestJoinSyncLifecycle(t *testing.T) {
	h := newHarness(t, nil)
	ids, gen := h.stableGroup("g", 3)
	if gen != 1 {
		t.Fatalf("generation %d", gen)
	}
	// Every member got its own assignment.
	for _, id := range ids {
		s := h.sync("g", id, gen, nil)
		if got := string(s.last(t).(*kmsg.SyncGroupResponse).MemberAssignment); got != "a-"+id {
			t.Fatalf("assignment of %s: %q", id, got)
		}
	}
	// The group's metadata record was written once the assignment came.
	if len(h.log) == 0 {
		t.Fatal("nothing appended")
	}
	// A heartbeat with a stale generation is ILLEGAL_GENERATION; an
	// unknown member UNKNOWN_MEMBER_ID.
	if c := h.heartbeat("g", ids[1], gen-1, nil); c != kerr.IllegalGeneration.Code {
		t.Fatalf("stale generation: %d", c)
	}
	if c := h.heartbeat("g", "nobody", gen, nil); c != kerr.UnknownMemberID.Code {
		t.Fatalf("unknown member: %d", c)
	}
	// A new member triggers a rebalance: heartbeats say so, and the join
	// completes when everyone rejoined.
	nb, nid := h.joinNew("g")
	if h.state("g") != PreparingRebalance {
		t.Fatalf("state %s", h.state("g"))
	}
	if c := h.heartbeat("g", ids[1], gen, nil); c != kerr.RebalanceInProgress.Code {
		t.Fatalf("heartbeat during rebalance: %d", c)
	}
	var boxes []*box
	for _, id := range ids {
		boxes = append(boxes, h.join(joinReq("g", id, 9)))
	}
	if h.state("g") != CompletingRebalance {
		t.Fatalf("state after all rejoined: %s", h.state("g"))
	}
	leaderResp := boxes[0].last(t).(*kmsg.JoinGroupResponse)
	if leaderResp.Generation != 2 || len(leaderResp.Members) != 4 {
		t.Fatalf("leader response: gen %d, %d members", leaderResp.Generation, len(leaderResp.Members))
	}
	if r := nb.last(t).(*kmsg.JoinGroupResponse); r.MemberID != nid || len(r.Members) != 0 {
		t.Fatalf("follower response: %+v", r)
	}
	// Offset commits in CompletingRebalance are REBALANCE_IN_PROGRESS.
	if c := h.commit("g", ids[1], 2, "t", 0, 5).Topics[0].Partitions[0].ErrorCode; c != kerr.RebalanceInProgress.Code {
		t.Fatalf("commit while completing: %d", c)
	}
}

func TestInitialDelayExtends(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.InitialRebalanceDelay = 3 * time.Second })
	b1, _ := h.joinNew("g")
	h.advance(2 * time.Second)
	b2, _ := h.joinNew("g") // a new member within the delay extends it
	h.advance(1 * time.Second)
	if len(b1.got) != 0 || len(b2.got) != 0 {
		t.Fatalf("join completed before the extended delay: %d %d", len(b1.got), len(b2.got))
	}
	h.advance(3 * time.Second)
	if len(b1.got) != 1 || len(b2.got) != 1 || code(t, b2) != 0 {
		t.Fatalf("join did not complete after the delay")
	}
	if r := b1.last(t).(*kmsg.JoinGroupResponse); r.Generation != 1 {
		t.Fatalf("generation %d", r.Generation)
	}
}

func TestSessionTimeoutRemovesMember(t *testing.T) {
	h := newHarness(t, nil)
	ids, gen := h.stableGroup("g", 2)
	// Member 0 heartbeats, member 1 goes silent.
	for range 4 {
		h.advance(3 * time.Second)
		if c := h.heartbeat("g", ids[0], gen, nil); c != 0 && c != kerr.RebalanceInProgress.Code {
			t.Fatalf("heartbeat: %d", c)
		}
	}
	if h.state("g") != PreparingRebalance {
		t.Fatalf("state after member 1 expired: %s", h.state("g"))
	}
	info, _ := h.c.Info("g")
	if len(info.Members) != 1 || info.Members[0] != ids[0] {
		t.Fatalf("members: %v", info.Members)
	}
	b := h.join(joinReq("g", ids[0], 9))
	if code(t, b) != 0 || b.last(t).(*kmsg.JoinGroupResponse).Generation != gen+1 {
		t.Fatalf("rejoin: %+v", b.last(t))
	}
}

func TestRebalanceTimeoutDropsLaggards(t *testing.T) {
	h := newHarness(t, nil)
	ids, _ := h.stableGroup("g", 2)
	b := h.join(joinReq("g", ids[0], 9)) // the leader rejoins: rebalance
	if len(b.got) != 0 {
		t.Fatal("join answered before the other member rejoined")
	}
	// Member 1 keeps heartbeating but never rejoins: after the rebalance
	// timeout (30 s) the join completes without it.
	for range 11 {
		h.advance(3 * time.Second)
		h.heartbeat("g", ids[1], 1, nil)
	}
	if code(t, b) != 0 {
		t.Fatalf("join: %d", code(t, b))
	}
	if info, _ := h.c.Info("g"); len(info.Members) != 1 {
		t.Fatalf("members: %v", info.Members)
	}
	if c := h.heartbeat("g", ids[1], 1, nil); c != kerr.UnknownMemberID.Code {
		t.Fatalf("dropped member heartbeat: %d", c)
	}
}

func TestStaticMemberReplacement(t *testing.T) {
	h := newHarness(t, nil)
	inst := "i-1"
	req := joinReq("g", "", 9)
	req.InstanceID = &inst
	b := h.join(req) // static members skip MEMBER_ID_REQUIRED
	h.advance(0)
	r := b.last(t).(*kmsg.JoinGroupResponse)
	if r.ErrorCode != 0 {
		t.Fatalf("static join: %d", r.ErrorCode)
	}
	old := r.MemberID
	sr := kmsg.NewPtrSyncGroupRequest()
	sr.Version, sr.Group, sr.MemberID, sr.Generation, sr.InstanceID = 5, "g", old, r.Generation, &inst
	sr.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: old, MemberAssignment: []byte("mine")}}
	sb := &box{}
	h.apply(h.c.SyncGroup(h.now, sr, sb))
	if code(t, sb) != 0 {
		t.Fatal("sync")
	}
	// The instance restarts: same instance id, no member id. It gets a new
	// id and its assignment back without a rebalance (it is the leader:
	// skip_assignment with v9).
	b2 := h.join(req)
	r2 := b2.last(t).(*kmsg.JoinGroupResponse)
	if r2.ErrorCode != 0 || r2.MemberID == old || !r2.SkipAssignment || r2.Generation != r.Generation {
		t.Fatalf("rejoin: %+v", r2)
	}
	if h.state("g") != Stable {
		t.Fatalf("state %s", h.state("g"))
	}
	// The old incarnation is fenced.
	if c := h.heartbeat("g", old, r.Generation, &inst); c != kerr.FencedInstanceID.Code {
		t.Fatalf("old heartbeat: %d", c)
	}
	if c := h.heartbeat("g", r2.MemberID, r.Generation, &inst); c != 0 {
		t.Fatalf("new heartbeat: %d", c)
	}
}

func TestJoinErrors(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxSize = 1 })
	short := joinReq("g", "", 9)
	short.SessionTimeoutMillis = 10
	if c := code(t, h.join(short)); c != kerr.InvalidSessionTimeout.Code {
		t.Fatalf("short session: %d", c)
	}
	if c := code(t, h.join(joinReq("", "", 9))); c != kerr.InvalidGroupID.Code {
		t.Fatalf("empty group: %d", c)
	}
	if c := code(t, h.join(joinReq("g", "ghost", 9))); c != kerr.UnknownMemberID.Code {
		t.Fatalf("unknown member of unknown group: %d", c)
	}
	h.stableGroup("g", 1)
	other := joinReq("g", "", 9, "roundrobin")
	if c := code(t, h.join(other)); c != kerr.InconsistentGroupProtocol.Code {
		t.Fatalf("inconsistent protocol: %d", c)
	}
	if c := code(t, h.join(joinReq("g", "", 9))); c != kerr.GroupMaxSizeReached.Code {
		t.Fatalf("max size: %d", c)
	}
	// v3 has no KIP-394 round trip: the member is added at once.
	h2 := newHarness(t, nil)
	b := h2.join(joinReq("g3", "", 3))
	h2.advance(0)
	if r := b.last(t).(*kmsg.JoinGroupResponse); r.ErrorCode != 0 || r.MemberID == "" {
		t.Fatalf("v3 join: %+v", r)
	}
	// While loading, everything is COORDINATOR_LOAD_IN_PROGRESS.
	h3 := &harness{t: t, c: New(DefaultConfig(), "n"), now: h.now, auto: true}
	if c := code(t, h3.join(joinReq("g", "", 9))); c != kerr.CoordinatorLoadInProgress.Code {
		t.Fatalf("loading: %d", c)
	}
}

func TestLeaveGroupBatch(t *testing.T) {
	h := newHarness(t, nil)
	ids, _ := h.stableGroup("g", 3)
	r := kmsg.NewPtrLeaveGroupRequest()
	r.Version, r.Group = 5, "g"
	r.Members = []kmsg.LeaveGroupRequestMember{{MemberID: ids[1]}, {MemberID: ids[2]}, {MemberID: "ghost"}}
	resp, out := h.c.LeaveGroup(h.now, r)
	h.apply(out)
	if resp.Members[0].ErrorCode != 0 || resp.Members[1].ErrorCode != 0 || resp.Members[2].ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("leave: %+v", resp.Members)
	}
	if info, _ := h.c.Info("g"); len(info.Members) != 1 || info.State != PreparingRebalance {
		t.Fatalf("after leave: %+v", info)
	}
	// The last member rejoins alone, then leaves (v0 form): Empty.
	b := h.join(joinReq("g", ids[0], 9))
	if code(t, b) != 0 {
		t.Fatal("rejoin")
	}
	r0 := kmsg.NewPtrLeaveGroupRequest()
	r0.Group, r0.MemberID = "g", ids[0]
	resp, out = h.c.LeaveGroup(h.now, r0)
	h.apply(out)
	if resp.ErrorCode != 0 || h.state("g") != Empty {
		t.Fatalf("leave v0: %d %s", resp.ErrorCode, h.state("g"))
	}
}

func (h *harness) commit(group, member string, gen int32, topic string, partition int32, off int64) *kmsg.OffsetCommitResponse {
	r := kmsg.NewPtrOffsetCommitRequest()
	r.Version = 9
	r.Group, r.MemberID, r.Generation = group, member, gen
	r.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: topic, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: partition, Offset: off, LeaderEpoch: 3}}}}
	b := &box{}
	h.apply(h.c.OffsetCommit(h.now, r, func(t string, p int32) bool { return t != "missing" }, b))
	if len(b.got) == 0 {
		return nil
	}
	return b.last(h.t).(*kmsg.OffsetCommitResponse)
}

func (h *harness) fetched(group, topic string, partition int32, stable bool) FetchedOffset {
	got, code := h.c.FetchOffsets(group, []FetchTopic{{topic, []int32{partition}}}, stable)
	if code != 0 || len(got) != 1 {
		h.t.Fatalf("fetch: %d %v", code, got)
	}
	return got[0]
}

func TestOffsetCommitDurability(t *testing.T) {
	h := newHarness(t, nil)
	h.auto = false
	// A simple (generation -1) commit to an unknown group creates it.
	if resp := h.commit("g", "", -1, "t", 0, 42); resp != nil {
		t.Fatal("commit answered before it was durable")
	}
	if f := h.fetched("g", "t", 0, true); f.ErrorCode != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("require stable while pending: %+v", f)
	}
	if f := h.fetched("g", "t", 0, false); f.Offset != -1 {
		t.Fatalf("visible before durable: %+v", f)
	}
	h.flush(nil)
	if f := h.fetched("g", "t", 0, true); f.Offset != 42 || f.LeaderEpoch != 3 {
		t.Fatalf("after durable: %+v", f)
	}
	// A failed append is COORDINATOR_NOT_AVAILABLE and not applied.
	h.commit("g", "", -1, "t", 0, 50)
	var resp *kmsg.OffsetCommitResponse
	for len(h.pending) > 0 {
		a := h.pending[0]
		h.pending = h.pending[1:]
		out := h.c.AppendDone(h.now, a.ID, errTest)
		resp = out.Replies[0].Resp.(*kmsg.OffsetCommitResponse)
	}
	if resp.Topics[0].Partitions[0].ErrorCode != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("failed append: %+v", resp)
	}
	if f := h.fetched("g", "t", 0, false); f.Offset != 42 {
		t.Fatalf("after failed append: %+v", f)
	}
	h.auto = true
	// Unknown partitions and member checks.
	if c := h.commit("g", "", -1, "missing", 0, 1).Topics[0].Partitions[0].ErrorCode; c != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("missing topic: %d", c)
	}
	if c := h.commit("g", "ghost", 1, "t", 0, 1).Topics[0].Partitions[0].ErrorCode; c != kerr.UnknownMemberID.Code {
		t.Fatalf("unknown member: %d", c)
	}
	if c := h.commit("nogroup", "m", 3, "t", 0, 1).Topics[0].Partitions[0].ErrorCode; c != kerr.IllegalGeneration.Code {
		t.Fatalf("managed commit to unknown group: %d", c)
	}
	ids, gen := h.stableGroup("s", 2)
	if c := h.commit("s", ids[0], gen+1, "t", 0, 1).Topics[0].Partitions[0].ErrorCode; c != kerr.IllegalGeneration.Code {
		t.Fatalf("wrong generation: %d", c)
	}
	if c := h.commit("s", "", -1, "t", 0, 1).Topics[0].Partitions[0].ErrorCode; c != kerr.UnknownMemberID.Code {
		t.Fatalf("simple commit to a live group: %d", c)
	}
	if c := h.commit("s", ids[1], gen, "t", 1, 7).Topics[0].Partitions[0].ErrorCode; c != 0 {
		t.Fatalf("member commit: %d", c)
	}
}

// TestReplayRebuildsState replays the log of one coordinator into a fresh
// one and compares what clients can observe.
func TestReplayRebuildsState(t *testing.T) {
	h := newHarness(t, nil)
	ids, gen := h.stableGroup("g", 2)
	h.commit("g", ids[0], gen, "t", 0, 10)
	h.commit("g", ids[0], gen, "t", 1, 11)
	h.commit("g", ids[0], gen, "t", 0, 12)
	h.commit("other", "", -1, "t", 2, 5)
	h.commit("gone", "", -1, "t", 0, 1)
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{"gone"}
	db := &box{}
	h.apply(h.c.DeleteGroups(h.now, del, db))
	if c := db.last(t).(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode; c != 0 {
		t.Fatalf("delete: %d", c)
	}
	h.apply(h.c.DropTopic(h.now, "t2"))

	c2 := New(DefaultConfig(), "m")
	for _, r := range h.log {
		if err := c2.Replay(h.now, r.Key, r.Value, topicsT); err != nil {
			t.Fatal(err)
		}
	}
	c2.FinishLoad(h.now)
	for _, want := range []struct {
		group string
		p     int32
		off   int64
	}{{"g", 0, 12}, {"g", 1, 11}, {"other", 2, 5}, {"gone", 0, -1}} {
		got, _ := c2.FetchOffsets(want.group, []FetchTopic{{"t", []int32{want.p}}}, false)
		if got[0].Offset != want.off {
			t.Errorf("%s/%d: %d, want %d", want.group, want.p, got[0].Offset, want.off)
		}
	}
	info, ok := c2.Info("g")
	if !ok || info.State != Stable || info.Generation != gen || len(info.Members) != 2 || info.Leader != ids[0] {
		t.Fatalf("replayed group: %+v", info)
	}
	if _, ok := c2.Info("gone"); ok {
		t.Fatal("deleted group came back")
	}
	// Members loaded from the log must heartbeat within a session.
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation = "g", ids[1], gen
	if c := c2.Heartbeat(h.now, hb).ErrorCode; c != 0 {
		t.Fatalf("heartbeat after load: %d", c)
	}
}

func TestOffsetRetention(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.OffsetsRetention = time.Hour; c.RetentionCheck = time.Minute })
	h.commit("g", "", -1, "t", 0, 1)
	h.advance(30 * time.Minute)
	if _, ok := h.c.Info("g"); !ok {
		t.Fatal("expired too early")
	}
	h.advance(31 * time.Minute)
	if _, ok := h.c.Info("g"); ok {
		t.Fatal("offsets of an empty group did not expire")
	}
}

func TestListDescribeDelete(t *testing.T) {
	h := newHarness(t, nil)
	h.stableGroup("live", 1)
	h.commit("idle", "", -1, "t", 0, 1)
	lr := kmsg.NewPtrListGroupsRequest()
	lr.Version = 5
	lr.StatesFilter = []string{"stable"}
	if resp := h.c.ListGroups(lr); len(resp.Groups) != 1 || resp.Groups[0].Group != "live" || resp.Groups[0].GroupType != "classic" {
		t.Fatalf("list stable: %+v", resp.Groups)
	}
	lr.StatesFilter, lr.TypesFilter = nil, []string{"consumer"}
	if resp := h.c.ListGroups(lr); len(resp.Groups) != 0 {
		t.Fatalf("list consumer type: %+v", resp.Groups)
	}
	dr := kmsg.NewPtrDescribeGroupsRequest()
	dr.Version = 6
	dr.Groups = []string{"live", "nope"}
	resp := h.c.DescribeGroups(dr)
	if resp.Groups[0].State != "Stable" || resp.Groups[0].Protocol != "range" || len(resp.Groups[0].Members) != 1 {
		t.Fatalf("describe live: %+v", resp.Groups[0])
	}
	if resp.Groups[1].ErrorCode != kerr.GroupIDNotFound.Code || resp.Groups[1].State != "Dead" {
		t.Fatalf("describe unknown: %+v", resp.Groups[1])
	}
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{"live", "idle", "nope"}
	b := &box{}
	h.apply(h.c.DeleteGroups(h.now, del, b))
	got := b.last(t).(*kmsg.DeleteGroupsResponse).Groups
	if got[0].ErrorCode != kerr.NonEmptyGroup.Code || got[1].ErrorCode != 0 || got[2].ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("delete: %+v", got)
	}
}

func TestPartitionFor(t *testing.T) {
	// Values computed with Java: Math.abs("...".hashCode()) % 50 with
	// Kafka's Utils.abs (sign bit masked).
	for _, c := range []struct {
		group string
		want  int32
	}{{"", 0}, {"a", 47}, {"my-group", javaMod("my-group")}, {"console-consumer-12345", javaMod("console-consumer-12345")}} {
		if got := PartitionFor(c.group, 50); got != c.want {
			t.Errorf("%q: %d, want %d", c.group, got, c.want)
		}
	}
	if h := javaStringHash("hello"); h != 99162322 {
		t.Errorf("hash(hello) = %d", h)
	}
	if h := javaStringHash("polygenelubricants"); h != -2147483648 {
		t.Errorf("hash(polygenelubricants) = %d", h) // Integer.MIN_VALUE
	}
	if got := PartitionFor("polygenelubricants", 50); got != 0 {
		t.Errorf("MIN_VALUE hash: %d", got)
	}
}

func javaMod(s string) int32 { return (javaStringHash(s) & 0x7fffffff) % 50 }

var errTest = errTestType{}

type errTestType struct{}

func (errTestType) Error() string { return "injected append failure" }

// TestRecordBytes pins the example in docs/format/consumer-offsets.md.
func TestRecordBytes(t *testing.T) {
	key := offsetKey("g", "t", 0)
	val := offsetValue(offset{offset: 42, leaderEpoch: 0, commitMs: 1795305600000})
	if got := fmt.Sprintf("% x", key); got != "00 01 00 01 67 00 01 74 00 00 00 00" {
		t.Errorf("key: %s", got)
	}
	if got := fmt.Sprintf("% x", val); got != "00 03 00 00 00 00 00 00 00 2a 00 00 00 00 00 00 00 00 01 a2 00 8d 74 00" {
		t.Errorf("value: %s", got)
	}
	// A batch of them walks back to the same records, tombstones included.
	batch := EncodeBatch([]Record{{key, val}, {Key: groupKey("g")}}, 1795305600000)
	var got []Record
	next, err := WalkBatches(append(batch, batch[:20]...), func(_ int64, k, v []byte) { got = append(got, Record{k, v}) })
	if err != nil || next != 2 || len(got) != 2 || !bytes.Equal(got[0].Value, val) || got[1].Value != nil {
		t.Fatalf("walk: next %d, err %v, %d records", next, err, len(got))
	}
}

// TestPendingMemberHoldsRebalance: a KIP-394 member id that was handed out
// keeps a rebalance waiting until it joins, leaves or its session runs out.
func TestPendingMemberHoldsRebalance(t *testing.T) {
	h := newHarness(t, nil)
	ids, _ := h.stableGroup("g", 1)
	pending := h.join(joinReq("g", "", 9)).last(t).(*kmsg.JoinGroupResponse).MemberID
	b := h.join(joinReq("g", ids[0], 9)) // the leader rejoins: rebalance
	h.advance(5 * time.Second)
	if len(b.got) != 0 {
		t.Fatal("join completed while a handed-out member id was outstanding")
	}
	h.heartbeat("g", ids[0], 1, nil)
	h.advance(6 * time.Second) // the pending id's session (10 s) runs out
	if code(t, b) != 0 || b.last(t).(*kmsg.JoinGroupResponse).Generation != 2 {
		t.Fatalf("join after the pending id expired: %+v", b.last(t))
	}
	// An expired pending id is unknown.
	if c := code(t, h.join(joinReq("g", pending, 9))); c != kerr.UnknownMemberID.Code {
		t.Fatalf("join with the expired id: %d", c)
	}

	// A pending id that leaves lets a waiting join complete at once.
	h2 := newHarness(t, nil)
	ids2, _ := h2.stableGroup("g", 1)
	p2 := h2.join(joinReq("g", "", 9)).last(t).(*kmsg.JoinGroupResponse).MemberID
	b2 := h2.join(joinReq("g", ids2[0], 9))
	lr := kmsg.NewPtrLeaveGroupRequest()
	lr.Version, lr.Group = 3, "g"
	lr.Members = []kmsg.LeaveGroupRequestMember{{MemberID: p2}}
	_, out := h2.c.LeaveGroup(h2.now, lr)
	h2.apply(out)
	if code(t, b2) != 0 {
		t.Fatal("join did not complete when the pending id left")
	}
}

// TestSyncDeadline: members that do not send SyncGroup within the
// rebalance timeout after the join completed are removed, and the group
// rebalances without them.
func TestSyncDeadline(t *testing.T) {
	h := newHarness(t, nil)
	ids, gen := h.stableGroup("g", 2)
	b0 := h.join(joinReq("g", ids[0], 9))
	b1 := h.join(joinReq("g", ids[1], 9))
	if code(t, b0) != 0 || code(t, b1) != 0 || h.state("g") != CompletingRebalance {
		t.Fatalf("rejoin: %s", h.state("g"))
	}
	gen++
	// The follower syncs and waits; the leader never does.
	s1 := h.sync("g", ids[1], gen, nil)
	for range 10 {
		h.advance(3 * time.Second)
		h.heartbeat("g", ids[1], gen, nil)
	}
	h.advance(3 * time.Second)
	if c := code(t, s1); c != kerr.RebalanceInProgress.Code {
		t.Fatalf("waiting follower: %d", c)
	}
	info, _ := h.c.Info("g")
	if len(info.Members) != 1 || info.Members[0] != ids[1] || info.State != PreparingRebalance {
		t.Fatalf("after the sync deadline: %+v", info)
	}
}

// TestStaticMemberRejoinsDuringRebalance: the old incarnation's parked
// JoinGroup is fenced and the new one takes its place in the rebalance.
func TestStaticMemberRejoinsDuringRebalance(t *testing.T) {
	h := newHarness(t, nil)
	inst := "i-1"
	static := joinReq("g", "", 9)
	static.InstanceID = &inst
	sb := h.join(static)
	db, did := h.joinNew("g")
	h.advance(0)
	old := sb.last(t).(*kmsg.JoinGroupResponse).MemberID
	gen := db.last(t).(*kmsg.JoinGroupResponse).Generation
	h.sync("g", did, gen, nil)
	sr := kmsg.NewPtrSyncGroupRequest()
	sr.Version, sr.Group, sr.MemberID, sr.Generation, sr.InstanceID = 5, "g", old, gen, &inst
	h.apply(h.c.SyncGroup(h.now, sr, &box{}))
	if h.state("g") != Stable {
		t.Fatalf("state %s", h.state("g"))
	}
	h.joinNew("g") // a third member: everyone must rejoin
	rejoin := joinReq("g", old, 9)
	rejoin.InstanceID = &inst
	parked := h.join(rejoin) // the static member rejoins; the other has not yet
	fresh := h.join(static)  // then the static instance restarts
	if code(t, parked) != kerr.FencedInstanceID.Code {
		t.Fatalf("old incarnation: %d", code(t, parked))
	}
	h.join(joinReq("g", did, 9)) // the last member rejoins: the join completes
	if code(t, fresh) != 0 || fresh.last(t).(*kmsg.JoinGroupResponse).MemberID == old {
		t.Fatalf("new incarnation: %+v", fresh.last(t))
	}
	if c := h.heartbeat("g", old, gen+1, &inst); c != kerr.FencedInstanceID.Code {
		t.Fatalf("old id after the rebalance: %d", c)
	}
}
