package broker

// OffsetCommit, key 8, v0-v10.
//   v0: group, topics, partitions, offset, metadata; no generation (as -1).
//   v1: generation and member id; a per-partition commit timestamp
//   (ignored, as Kafka 4 does).  v2-v4: retention time (ignored;
//   offsets.retention.minutes applies).  v3: throttle time.  v5: retention
//   time removed.  v6: leader epoch.  v7: group.instance.id (KIP-345).
//   v8: flexible.  v9: member epoch for KIP-848 groups (a generation for
//   classic groups).  v10: topics by id.
// The response is sent once the commit is durable under log.flush.mode.
// ACLs: READ on the group (GROUP_AUTHORIZATION_FAILED for every partition)
// and READ on each topic (TOPIC_AUTHORIZATION_FAILED; authorize_group.go).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func handleOffsetCommit(rc *reqCtx, p *pending, reqAny kmsg.Request) {
	req := reqAny.(*kmsg.OffsetCommitRequest)
	b := rc.broker()
	var unknownIDs map[[16]byte]bool
	if req.Version >= 10 {
		im := b.meta.Image()
		for i := range req.Topics {
			rt := &req.Topics[i]
			if t, ok := im.TopicByID(rt.TopicID); ok {
				rt.Topic = t.Name
			} else {
				if unknownIDs == nil {
					unknownIDs = map[[16]byte]bool{}
				}
				unknownIDs[rt.TopicID] = true
				rt.Topic = ""
			}
		}
	}
	offsetCommit(rc, req, b.partitionKnown, func(r kmsg.Response) {
		resp := r.(*kmsg.OffsetCommitResponse)
		for i := range resp.Topics {
			if !unknownIDs[resp.Topics[i].TopicID] {
				continue
			}
			for j := range resp.Topics[i].Partitions {
				resp.Topics[i].Partitions[j].ErrorCode = kerr.UnknownTopicID.Code
			}
		}
		p.complete(resp)
	})
}
