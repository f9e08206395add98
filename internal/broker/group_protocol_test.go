package broker_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// request sends one request at exactly the given version (kgo would pick
// its own) on a fresh connection and decodes the response.
func request[R kmsg.Response](t *testing.T, cl *kgo.Client, req kmsg.Request, version int16) R {
	t.Helper()
	req.SetVersion(version)
	var body []byte
	if req.IsFlexible() {
		body = append(body, 0) // no tagged fields in the request header
	}
	body = req.AppendTo(body)
	raw, err := rawRequest(t, cl.OptValue(kgo.SeedBrokers).([]string)[0], frame(req.Key(), version, 7, body))
	if err != nil {
		t.Fatalf("%T v%d: %v", req, version, err)
	}
	raw = raw[4:] // correlation id
	if req.IsFlexible() {
		raw = raw[1:] // response header tags
	}
	resp := req.ResponseKind()
	if err := resp.ReadFrom(raw); err != nil {
		t.Fatalf("%T v%d: decoding response: %v", req, version, err)
	}
	return resp.(R)
}

func TestFindCoordinatorVersions(t *testing.T) {
	b := startGroupBroker(t)
	cl := newClient(t, b.Addr())
	for v := int16(0); v <= 3; v++ {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorKey = "g"
		resp := request[*kmsg.FindCoordinatorResponse](t, cl, req, v)
		if resp.ErrorCode != 0 || resp.NodeID != 1 || resp.Port == 0 {
			t.Fatalf("v%d: %+v", v, resp)
		}
	}
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorKeys = []string{"a", "b", "c"}
	resp := request[*kmsg.FindCoordinatorResponse](t, cl, req, 6)
	if len(resp.Coordinators) != 3 || resp.Coordinators[2].Key != "c" || resp.Coordinators[2].ErrorCode != 0 {
		t.Fatalf("batched: %+v", resp.Coordinators)
	}
	req.CoordinatorType = 1 // transactions: this node, once __transaction_state exists
	resp = request[*kmsg.FindCoordinatorResponse](t, cl, req, 6)
	if c := resp.Coordinators[0]; c.ErrorCode != 0 || c.NodeID != 1 || c.Port == 0 {
		t.Fatalf("transaction coordinator: %+v", resp.Coordinators[0])
	}
	req.CoordinatorType = 2 // share groups: not yet
	resp = request[*kmsg.FindCoordinatorResponse](t, cl, req, 6)
	if resp.Coordinators[0].ErrorCode != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("share group coordinator: %+v", resp.Coordinators[0])
	}
	req.CoordinatorType = 9
	resp = request[*kmsg.FindCoordinatorResponse](t, cl, req, 6)
	if resp.Coordinators[0].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("bad key type: %+v", resp.Coordinators[0])
	}
	// __consumer_offsets now exists as an internal topic.
	md := request[*kmsg.MetadataResponse](t, cl, kmsg.NewPtrMetadataRequest(), 12)
	found := false
	for _, tp := range md.Topics {
		if tp.Topic != nil && *tp.Topic == "__consumer_offsets" {
			found = tp.IsInternal && len(tp.Partitions) == 5
		}
	}
	if !found {
		t.Fatal("__consumer_offsets missing or not internal with 5 partitions")
	}
}

func TestGroupErrorCodes(t *testing.T) {
	b := startGroupBroker(t)
	createTopic(t, b.Addr(), "e", 2, nil)
	cl := newClient(t, b.Addr())
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{"e"}
	join := func(version int16, group, member string, session int32, protocol string) *kmsg.JoinGroupResponse {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.MemberID, req.SessionTimeoutMillis, req.RebalanceTimeoutMillis, req.ProtocolType = group, member, session, 10000, "consumer"
		req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: protocol, Metadata: meta.AppendTo(nil)}}
		return request[*kmsg.JoinGroupResponse](t, cl, req, version)
	}
	if r := join(9, "g", "", 100, "range"); r.ErrorCode != kerr.InvalidSessionTimeout.Code {
		t.Fatalf("short session: %d", r.ErrorCode)
	}
	if r := join(9, "", "", 10000, "range"); r.ErrorCode != kerr.InvalidGroupID.Code {
		t.Fatalf("empty group id: %d", r.ErrorCode)
	}
	r := join(9, "g", "", 10000, "range")
	if r.ErrorCode != kerr.MemberIDRequired.Code {
		t.Fatalf("first join: %d", r.ErrorCode)
	}
	r = join(9, "g", r.MemberID, 10000, "range")
	if r.ErrorCode != 0 || r.Generation != 1 || r.LeaderID != r.MemberID || *r.Protocol != "range" {
		t.Fatalf("second join: %+v", r)
	}
	id, gen := r.MemberID, r.Generation
	if r := join(9, "g", "", 10000, "roundrobin"); r.ErrorCode != kerr.InconsistentGroupProtocol.Code {
		t.Fatalf("inconsistent protocol: %d", r.ErrorCode)
	}

	sync := func(member string, gen int32, assign bool) int16 {
		req := kmsg.NewPtrSyncGroupRequest()
		req.Group, req.MemberID, req.Generation = "g", member, gen
		if assign {
			req.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: member, MemberAssignment: []byte{0, 0, 0, 0, 0, 0, 0, 0}}}
		}
		return request[*kmsg.SyncGroupResponse](t, cl, req, 5).ErrorCode
	}
	if c := sync("ghost", gen, false); c != kerr.UnknownMemberID.Code {
		t.Fatalf("sync unknown member: %d", c)
	}
	if c := sync(id, gen+5, false); c != kerr.IllegalGeneration.Code {
		t.Fatalf("sync wrong generation: %d", c)
	}
	if c := sync(id, gen, true); c != 0 {
		t.Fatalf("sync: %d", c)
	}
	hb := func(member string, gen int32) int16 {
		req := kmsg.NewPtrHeartbeatRequest()
		req.Group, req.MemberID, req.Generation = "g", member, gen
		return request[*kmsg.HeartbeatResponse](t, cl, req, 4).ErrorCode
	}
	if c := hb(id, gen); c != 0 {
		t.Fatalf("heartbeat: %d", c)
	}
	if c := hb(id, gen-1); c != kerr.IllegalGeneration.Code {
		t.Fatalf("heartbeat stale generation: %d", c)
	}
	commit := func(version int16, member string, gen int32, topic string) int16 {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Group, req.MemberID, req.Generation = "g", member, gen
		req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: topic, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 1, Offset: 7, LeaderEpoch: -1}}}}
		return request[*kmsg.OffsetCommitResponse](t, cl, req, version).Topics[0].Partitions[0].ErrorCode
	}
	if c := commit(8, id, gen, "nope"); c != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("commit unknown topic: %d", c)
	}
	if c := commit(8, id, gen+1, "e"); c != kerr.IllegalGeneration.Code {
		t.Fatalf("commit wrong generation: %d", c)
	}
	if c := commit(8, "", -1, "e"); c != kerr.UnknownMemberID.Code {
		t.Fatalf("simple commit to a live group: %d", c)
	}
	for _, v := range []int16{2, 8} {
		if c := commit(v, id, gen, "e"); c != 0 {
			t.Fatalf("commit v%d: %d", v, c)
		}
	}
	// v10 names topics by id: commit and fetch by id; an unknown id is
	// UNKNOWN_TOPIC_ID.
	md := request[*kmsg.MetadataResponse](t, cl, kmsg.NewPtrMetadataRequest(), 12)
	var eID [16]byte
	for _, tp := range md.Topics {
		if tp.Topic != nil && *tp.Topic == "e" {
			eID = tp.TopicID
		}
	}
	c10 := kmsg.NewPtrOffsetCommitRequest()
	c10.Group, c10.MemberID, c10.Generation = "g", id, gen
	c10.Topics = []kmsg.OffsetCommitRequestTopic{
		{TopicID: eID, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 3, LeaderEpoch: -1}}},
		{TopicID: [16]byte{9}, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 3, LeaderEpoch: -1}}},
	}
	r10 := request[*kmsg.OffsetCommitResponse](t, cl, c10, 10)
	if r10.Topics[0].TopicID != eID || r10.Topics[0].Partitions[0].ErrorCode != 0 || r10.Topics[1].Partitions[0].ErrorCode != kerr.UnknownTopicID.Code {
		t.Fatalf("commit v10: %+v", r10.Topics)
	}
	f10 := kmsg.NewPtrOffsetFetchRequest()
	f10.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g", Topics: []kmsg.OffsetFetchRequestGroupTopic{{TopicID: eID, Partitions: []int32{0}}}}}
	if r := request[*kmsg.OffsetFetchResponse](t, cl, f10, 10); r.Groups[0].Topics[0].TopicID != eID || r.Groups[0].Topics[0].Partitions[0].Offset != 3 {
		t.Fatalf("fetch v10: %+v", r.Groups[0].Topics)
	}
	// OffsetFetch: old single-group form, multi-group form with
	// RequireStable, and "all topics".
	of := kmsg.NewPtrOffsetFetchRequest()
	of.Group = "g"
	of.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "e", Partitions: []int32{0, 1}}}
	old := request[*kmsg.OffsetFetchResponse](t, cl, of, 1)
	if len(old.Topics) != 1 || old.Topics[0].Partitions[0].Offset != 3 || old.Topics[0].Partitions[1].Offset != 7 {
		t.Fatalf("offset fetch v1: %+v", old.Topics)
	}
	of2 := kmsg.NewPtrOffsetFetchRequest()
	of2.RequireStable = true
	of2.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g"}, {Group: "unknown", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "e", Partitions: []int32{0}}}}}
	multi := request[*kmsg.OffsetFetchResponse](t, cl, of2, 9)
	if len(multi.Groups) != 2 || len(multi.Groups[0].Topics) != 1 || multi.Groups[0].Topics[0].Partitions[1].Offset != 7 ||
		multi.Groups[1].Topics[0].Partitions[0].Offset != -1 || multi.Groups[1].ErrorCode != 0 {
		t.Fatalf("offset fetch v9: %+v", multi.Groups)
	}
	// OffsetDelete of a subscribed topic while the member is there.
	od := kmsg.NewPtrOffsetDeleteRequest()
	od.Group = "g"
	od.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "e", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 1}}}}
	odr := request[*kmsg.OffsetDeleteResponse](t, cl, od, 0)
	if odr.ErrorCode != 0 || odr.Topics[0].Partitions[0].ErrorCode != kerr.GroupSubscribedToTopic.Code {
		t.Fatalf("offset delete subscribed: %+v", odr)
	}
	od.Group = "unknown"
	if odr := request[*kmsg.OffsetDeleteResponse](t, cl, od, 0); odr.ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("offset delete unknown group: %+v", odr)
	}
	// LeaveGroup v0 (one member) and v3+ (batch, per-member errors).
	lv := kmsg.NewPtrLeaveGroupRequest()
	lv.Group = "g"
	lv.Members = []kmsg.LeaveGroupRequestMember{{MemberID: "ghost"}, {MemberID: id}}
	lr := request[*kmsg.LeaveGroupResponse](t, cl, lv, 5)
	if lr.ErrorCode != 0 || lr.Members[0].ErrorCode != kerr.UnknownMemberID.Code || lr.Members[1].ErrorCode != 0 {
		t.Fatalf("leave v5: %+v", lr)
	}
	lv0 := kmsg.NewPtrLeaveGroupRequest()
	lv0.Group, lv0.MemberID = "g", id
	if lr := request[*kmsg.LeaveGroupResponse](t, cl, lv0, 0); lr.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("leave v0 twice: %+v", lr)
	}
	// DescribeGroups of an unknown group: Dead before v6, GROUP_ID_NOT_FOUND from v6.
	dg := kmsg.NewPtrDescribeGroupsRequest()
	dg.Groups = []string{"unknown", "g"}
	if d := request[*kmsg.DescribeGroupsResponse](t, cl, dg, 5); d.Groups[0].ErrorCode != 0 || d.Groups[0].State != "Dead" || d.Groups[1].State != "Empty" {
		t.Fatalf("describe v5: %+v", d.Groups)
	}
	if d := request[*kmsg.DescribeGroupsResponse](t, cl, dg, 6); d.Groups[0].ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("describe v6: %+v", d.Groups[0])
	}
	// ListGroups v0 and v5 with filters.
	if l := request[*kmsg.ListGroupsResponse](t, cl, kmsg.NewPtrListGroupsRequest(), 0); len(l.Groups) != 1 || l.Groups[0].ProtocolType != "consumer" {
		t.Fatalf("list v0: %+v", l.Groups)
	}
	lg := kmsg.NewPtrListGroupsRequest()
	lg.StatesFilter, lg.TypesFilter = []string{"empty"}, []string{"Classic"}
	if l := request[*kmsg.ListGroupsResponse](t, cl, lg, 5); len(l.Groups) != 1 || l.Groups[0].GroupState != "Empty" || l.Groups[0].GroupType != "classic" {
		t.Fatalf("list v5: %+v", l.Groups)
	}
}
