package broker

// Authorization of the group APIs, as Kafka's KafkaApis: each wrapper makes
// the checks and hands the coordinator what is allowed, then merges the
// refusals into its answer. Without an authorizer they call the
// coordinator directly.

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
	"github.com/samsa-streaming/samsa/internal/coordinator/group"
)

// groupAllowed checks op on a group.
func (rc *reqCtx) groupAllowed(op acl.Operation, id string) bool {
	return rc.authorize(op, acl.ResourceGroup, id)
}

// offsetCommit is groups.OffsetCommit after OffsetCommit's checks: READ on
// the group (else every partition is GROUP_AUTHORIZATION_FAILED) and READ
// on each topic (TOPIC_AUTHORIZATION_FAILED, whether it exists or not).
func offsetCommit(rc *reqCtx, req *kmsg.OffsetCommitRequest, known group.Known, reply func(kmsg.Response)) {
	b := rc.broker()
	if b.authz == nil {
		b.groups.OffsetCommit(req, known, reply)
		return
	}
	if !rc.groupAllowed(acl.OpRead, req.Group) {
		resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
		for _, rt := range req.Topics {
			resp.Topics = append(resp.Topics, offsetCommitErrors(rt, errGroupAuth))
		}
		reply(resp)
		return
	}
	var denied []kmsg.OffsetCommitResponseTopic
	ta := rc.topicAuthorizer(acl.OpRead)
	kept := req.Topics[:0:0]
	for _, rt := range req.Topics {
		// An unknown topic id (v10) resolved to "": answered by the
		// handler as UNKNOWN_TOPIC_ID.
		if rt.Topic != "" && !ta.allowed(rt.Topic) {
			denied = append(denied, offsetCommitErrors(rt, errTopicAuth))
			continue
		}
		kept = append(kept, rt)
	}
	if denied == nil {
		b.groups.OffsetCommit(req, known, reply)
		return
	}
	req.Topics = kept
	b.groups.OffsetCommit(req, known, func(r kmsg.Response) {
		resp := r.(*kmsg.OffsetCommitResponse)
		resp.Topics = append(resp.Topics, denied...)
		reply(resp)
	})
}

func offsetCommitErrors(rt kmsg.OffsetCommitRequestTopic, code int16) kmsg.OffsetCommitResponseTopic {
	t := kmsg.NewOffsetCommitResponseTopic()
	t.Topic, t.TopicID = rt.Topic, rt.TopicID
	for _, p := range rt.Partitions {
		rp := kmsg.NewOffsetCommitResponseTopicPartition()
		rp.Partition, rp.ErrorCode = p.Partition, code
		t.Partitions = append(t.Partitions, rp)
	}
	return t
}

// fetchOffsets is groups.FetchOffsets after OffsetFetch's checks: DESCRIBE
// on the group (GROUP_AUTHORIZATION_FAILED) and DESCRIBE on each topic: a
// named topic without it is answered TOPIC_AUTHORIZATION_FAILED, and an
// all-topics answer leaves it out.
func fetchOffsets(rc *reqCtx, groupID string, topics []group.FetchTopic, requireStable bool) ([]group.FetchedOffset, int16) {
	b := rc.broker()
	if b.authz == nil {
		return b.groups.FetchOffsets(groupID, topics, requireStable)
	}
	if !rc.groupAllowed(acl.OpDescribe, groupID) {
		return nil, errGroupAuth
	}
	var denied []group.FetchedOffset
	if topics != nil {
		ta := rc.topicAuthorizer(acl.OpDescribe)
		kept := []group.FetchTopic{}
		for _, t := range topics {
			if ta.allowed(t.Topic) {
				kept = append(kept, t)
				continue
			}
			for _, p := range t.Partitions {
				denied = append(denied, group.FetchedOffset{Topic: t.Topic, Partition: p, Offset: -1, LeaderEpoch: -1, ErrorCode: errTopicAuth})
			}
		}
		topics = kept
	}
	out, code := b.groups.FetchOffsets(groupID, topics, requireStable)
	if code != 0 {
		return out, code
	}
	if topics == nil { // all topics: leave out what may not be described
		kept := out[:0:0]
		for _, o := range out {
			if rc.authorizeQuiet(acl.OpDescribe, acl.ResourceTopic, o.Topic) {
				kept = append(kept, o)
			}
		}
		out = kept
	}
	return append(out, denied...), 0
}

// describeGroups is groups.DescribeGroups after DESCRIBE on each group
// (GROUP_AUTHORIZATION_FAILED), with the authorized operations (v3+) when
// asked for.
func describeGroups(rc *reqCtx, req *kmsg.DescribeGroupsRequest) *kmsg.DescribeGroupsResponse {
	b := rc.broker()
	all := req.Groups
	denied := map[string]bool{}
	if b.authz != nil {
		allowed := []string{}
		for _, g := range all {
			if rc.groupAllowed(acl.OpDescribe, g) {
				allowed = append(allowed, g)
			} else {
				denied[g] = true
			}
		}
		req.Groups = allowed
	}
	resp := b.groups.DescribeGroups(req)
	req.Groups = all
	if len(denied) > 0 {
		// In the request's order: the coordinator answers the allowed
		// groups in theirs.
		var out []kmsg.DescribeGroupsResponseGroup
		i := 0
		for _, g := range all {
			if denied[g] {
				d := kmsg.NewDescribeGroupsResponseGroup()
				d.Group, d.ErrorCode = g, errGroupAuth
				out = append(out, d)
			} else if i < len(resp.Groups) {
				out = append(out, resp.Groups[i])
				i++
			}
		}
		resp.Groups = append(out, resp.Groups[i:]...)
	}
	if b.authz != nil && req.Version >= 3 && req.IncludeAuthorizedOperations { // else the coordinator's: everything
		for i := range resp.Groups {
			if g := &resp.Groups[i]; g.ErrorCode == 0 {
				g.AuthorizedOperations = rc.authorizedOperations(acl.ResourceGroup, g.Group)
			}
		}
	}
	return resp
}

// listGroups is groups.ListGroups after ListGroups' check: with DESCRIBE on
// the cluster every group is listed, otherwise only those the principal
// may DESCRIBE.
func listGroups(rc *reqCtx, req *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse {
	resp := rc.broker().groups.ListGroups(req)
	if rc.broker().authz == nil || rc.authorizeClusterQuiet(acl.OpDescribe) {
		return resp
	}
	kept := resp.Groups[:0]
	for _, g := range resp.Groups {
		if rc.authorizeQuiet(acl.OpDescribe, acl.ResourceGroup, g.Group) {
			kept = append(kept, g)
		}
	}
	resp.Groups = kept
	return resp
}

// deleteGroups is groups.DeleteGroups after DELETE on each group
// (GROUP_AUTHORIZATION_FAILED).
func deleteGroups(rc *reqCtx, req *kmsg.DeleteGroupsRequest, reply func(kmsg.Response)) {
	b := rc.broker()
	if b.authz == nil {
		b.groups.DeleteGroups(req, reply)
		return
	}
	var denied []kmsg.DeleteGroupsResponseGroup
	allowed := []string{}
	for _, g := range req.Groups {
		if rc.groupAllowed(acl.OpDelete, g) {
			allowed = append(allowed, g)
			continue
		}
		d := kmsg.NewDeleteGroupsResponseGroup()
		d.Group, d.ErrorCode = g, errGroupAuth
		denied = append(denied, d)
	}
	if denied == nil {
		b.groups.DeleteGroups(req, reply)
		return
	}
	if len(allowed) == 0 {
		resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
		resp.Groups = denied
		reply(resp)
		return
	}
	req.Groups = allowed
	b.groups.DeleteGroups(req, func(r kmsg.Response) {
		resp := r.(*kmsg.DeleteGroupsResponse)
		resp.Groups = append(resp.Groups, denied...)
		reply(resp)
	})
}

// offsetDelete is groups.OffsetDelete after DELETE on the group
// (GROUP_AUTHORIZATION_FAILED) and READ on each topic
// (TOPIC_AUTHORIZATION_FAILED).
func offsetDelete(rc *reqCtx, req *kmsg.OffsetDeleteRequest, reply func(kmsg.Response)) {
	b := rc.broker()
	if b.authz == nil {
		b.groups.OffsetDelete(req, reply)
		return
	}
	if !rc.groupAllowed(acl.OpDelete, req.Group) {
		resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
		resp.ErrorCode = errGroupAuth
		reply(resp)
		return
	}
	var denied []kmsg.OffsetDeleteResponseTopic
	ta := rc.topicAuthorizer(acl.OpRead)
	kept := req.Topics[:0:0]
	for _, rt := range req.Topics {
		if ta.allowed(rt.Topic) {
			kept = append(kept, rt)
			continue
		}
		t := kmsg.NewOffsetDeleteResponseTopic()
		t.Topic = rt.Topic
		for _, p := range rt.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, errTopicAuth
			t.Partitions = append(t.Partitions, rp)
		}
		denied = append(denied, t)
	}
	if denied == nil {
		b.groups.OffsetDelete(req, reply)
		return
	}
	req.Topics = kept
	b.groups.OffsetDelete(req, func(r kmsg.Response) {
		resp := r.(*kmsg.OffsetDeleteResponse)
		if resp.ErrorCode == 0 {
			resp.Topics = append(resp.Topics, denied...)
		}
		reply(resp)
	})
}

// consumerGroupDescribe is groups.ConsumerGroupDescribe after DESCRIBE on
// each group (GROUP_AUTHORIZATION_FAILED), with the authorized operations
// when asked for.
func consumerGroupDescribe(rc *reqCtx, req *kmsg.ConsumerGroupDescribeRequest) *kmsg.ConsumerGroupDescribeResponse {
	b := rc.broker()
	var denied []kmsg.ConsumerGroupDescribeResponseGroup
	if b.authz != nil {
		allowed := []string{}
		for _, g := range req.Groups {
			if rc.groupAllowed(acl.OpDescribe, g) {
				allowed = append(allowed, g)
				continue
			}
			d := kmsg.NewConsumerGroupDescribeResponseGroup()
			d.Group, d.ErrorCode = g, errGroupAuth
			denied = append(denied, d)
		}
		req.Groups = allowed
	}
	resp := b.groups.ConsumerGroupDescribe(req)
	if b.authz != nil && req.IncludeAuthorizedOperations {
		for i := range resp.Groups {
			if g := &resp.Groups[i]; g.ErrorCode == 0 {
				g.AuthorizedOperations = rc.authorizedOperations(acl.ResourceGroup, g.Group)
			}
		}
	}
	resp.Groups = append(denied, resp.Groups...)
	return resp
}
