package broker

// DeleteRecords, key 21, v0-v2.
//   v1: no change.  v2: flexible.
// Offset -1 means the high watermark.
// ACLs: DELETE on each topic (TOPIC_AUTHORIZATION_FAILED).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
)

func handleDeleteRecords(rc *reqCtx, req *kmsg.DeleteRecordsRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	ta := rc.topicAuthorizer(acl.OpDelete)
	for _, rt := range req.Topics {
		st := kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		allowed := ta.allowed(rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition, sp.LowWatermark = rp.Partition, -1
			if !allowed {
				sp.ErrorCode = errTopicAuth
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			part, code := b.leaderFor(b.meta.Image(), rt.Topic, rp.Partition)
			switch {
			case code != 0:
				sp.ErrorCode = code
			default:
				hw := part.HighWatermark()
				off := rp.Offset
				if off == -1 {
					off = hw
				}
				if off < 0 || off > hw {
					sp.ErrorCode = kerr.OffsetOutOfRange.Code
					break
				}
				if err := part.Log().DeleteRecordsBefore(off); err != nil {
					sp.ErrorCode = errCode(err)
					break
				}
				// The new log start offset lives in the directory's
				// checkpoint; write it before answering.
				if err := b.parts.Checkpoint(); err != nil {
					sp.ErrorCode = errCode(err)
					break
				}
				sp.LowWatermark = part.Log().LogStartOffset()
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
