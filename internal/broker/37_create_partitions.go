package broker

// CreatePartitions, key 37, v0-v3.
//   v1: no change.  v2: flexible.  v3: no change.
// ACLs: ALTER on each topic (TOPIC_AUTHORIZATION_FAILED).

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

func handleCreatePartitions(rc *reqCtx, req *kmsg.CreatePartitionsRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
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
		_, err := b.meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
			recs, err := metadata.CreatePartitionsRecords(im, rt.Topic, rt.Count, b.cfg.NodeID, assignment)
			if err == nil {
				err = b.checkSpaceFor(recs)
			}
			if req.ValidateOnly {
				return nil, err
			}
			return recs, err
		})
		st.ErrorCode, st.ErrorMessage = errCode(err), errMessage(err)
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
