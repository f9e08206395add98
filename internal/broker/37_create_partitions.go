package broker

// CreatePartitions, key 37, v0-v3.
//   v1: no change.  v2: flexible.  v3: THROTTLING_QUOTA_EXCEEDED (KIP-599).
// ACLs: ALTER on each topic (TOPIC_AUTHORIZATION_FAILED).
// Quotas: the partitions added count against controller_mutation_rate
// (quota_mutation.go), strictly from v3.

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

func handleCreatePartitions(rc *reqCtx, req *kmsg.CreatePartitionsRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	mq := rc.mutationQuota(req.Version >= 3)
	defer mq.done()
	for _, rt := range req.Topics {
		st := kmsg.NewCreatePartitionsResponseTopic()
		st.Topic = rt.Topic
		if !rc.authorize(acl.OpAlter, acl.ResourceTopic, rt.Topic) {
			st.ErrorCode = errTopicAuth
			resp.Topics = append(resp.Topics, st)
			continue
		}
		var assignment [][]int32
		for _, a := range rt.Assignment {
			assignment = append(assignment, append([]int32{}, a.Replicas...))
		}
		added := 0
		_, err := b.meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
			recs, err := metadata.CreatePartitionsRecords(im, rt.Topic, rt.Count, b.cfg.NodeID, assignment)
			if err == nil {
				err = b.checkSpaceFor(recs)
			}
			if req.ValidateOnly {
				return nil, err
			}
			if err == nil {
				err = mq.admit()
			}
			if t, ok := im.Topic(rt.Topic); ok {
				added = int(rt.Count) - len(t.Partitions)
			}
			return recs, err
		})
		if err == nil && !req.ValidateOnly {
			mq.record(added)
		}
		st.ErrorCode, st.ErrorMessage = errCode(err), errMessage(err)
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
