package broker

// OffsetForLeaderEpoch, key 23, v0-v4.
//   v1: leader epoch in the answer.  v2: current leader epoch (KIP-320).
//   v3: replica id.  v4: flexible.
// Consumers use it after a leader change to detect log truncation;
// followers use it (with their replica id) to find where to truncate.

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

func handleOffsetForLeaderEpoch(rc *reqCtx, req *kmsg.OffsetForLeaderEpochRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			sp.Partition, sp.LeaderEpoch, sp.EndOffset = rp.Partition, -1, -1
			part, code := b.leaderFor(b.meta.Image(), rt.Topic, rp.Partition)
			switch {
			case code != 0:
				sp.ErrorCode = code
			case part.CheckEpoch(rp.CurrentLeaderEpoch) != nil:
				sp.ErrorCode = errCode(part.CheckEpoch(rp.CurrentLeaderEpoch))
			default:
				sp.LeaderEpoch, sp.EndOffset = part.Log().EndOffsetForEpoch(rp.LeaderEpoch)
				// A follower (replica id >= 0) truncates to the leader's
				// log; a consumer is told only about committed records.
				if hw := part.HighWatermark(); sp.EndOffset > hw && req.ReplicaID < 0 {
					sp.EndOffset = hw
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
