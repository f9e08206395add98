package broker

// OffsetForLeaderEpoch, key 23, v0-v4.
//   v1: leader epoch in the answer.  v2: current leader epoch (KIP-320).
//   v3: replica id.  v4: flexible.
// Consumers use it after a leader change to detect log truncation;
// followers use it (with their replica id) to find where to truncate.
// ACLs: CLUSTER_ACTION on the cluster, or else DESCRIBE on each topic
// (TOPIC_AUTHORIZATION_FAILED).

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
)

func handleOffsetForLeaderEpoch(rc *reqCtx, req *kmsg.OffsetForLeaderEpochRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	var ta *topicAuthorizer // nil: every topic allowed
	if b.authz != nil && !rc.authorizeClusterQuiet(acl.OpClusterAction) {
		ta = rc.topicAuthorizer(acl.OpDescribe)
	}
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		allowed := ta == nil || ta.allowed(rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			sp.Partition, sp.LeaderEpoch, sp.EndOffset = rp.Partition, -1, -1
			part, code := b.leaderFor(b.meta.Image(), rt.Topic, rp.Partition)
			switch {
			case !allowed:
				sp.ErrorCode = errTopicAuth
			case code != 0:
				sp.ErrorCode = code
			case part.CheckEpoch(rp.CurrentLeaderEpoch) != nil:
				sp.ErrorCode = errCode(part.CheckEpoch(rp.CurrentLeaderEpoch))
			default:
				// The end of the epoch in the leader's log, for followers and
				// consumers alike, as Kafka answers. Capping a consumer's
				// answer at the high watermark would be wrong after a
				// failover: the new leader's high watermark can lag the
				// old one's for a moment, and a consumer positioned at the
				// old one would take the lower answer for truncation and
				// read records again.
				sp.LeaderEpoch, sp.EndOffset = part.Log().EndOffsetForEpoch(rp.LeaderEpoch)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
