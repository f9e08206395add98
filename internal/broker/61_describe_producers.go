package broker

// DescribeProducers, key 61, v0: the active idempotent producers of each
// partition (what kafka-transactions.sh describe-producers prints), with
// the coordinator epoch of each one's last marker and the first offset of
// its open transaction (-1: none).
// ACLs: READ on each topic (TOPIC_AUTHORIZATION_FAILED).

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
)

func handleDescribeProducers(rc *reqCtx, req *kmsg.DescribeProducersRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.DescribeProducersResponse)
	ta := rc.topicAuthorizer(acl.OpRead)
	for _, rt := range req.Topics {
		st := kmsg.NewDescribeProducersResponseTopic()
		st.Topic = rt.Topic
		allowed := ta.allowed(rt.Topic)
		for _, p := range rt.Partitions {
			sp := kmsg.NewDescribeProducersResponseTopicPartition()
			sp.Partition = p
			part, code := b.leaderFor(b.meta.Image(), rt.Topic, p)
			if !allowed {
				code = errTopicAuth
			}
			if code != 0 {
				sp.ErrorCode = code
			} else {
				for _, ps := range part.Log().ProducerStates() {
					ap := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
					ap.ProducerID, ap.ProducerEpoch = ps.ProducerID, int32(ps.ProducerEpoch)
					ap.LastSequence, ap.LastTimestamp = ps.LastSequence, ps.LastTimestamp
					ap.CoordinatorEpoch, ap.CurrentTxnStartOffset = ps.CoordinatorEpoch, ps.CurrentTxnStartOffset
					sp.ActiveProducers = append(sp.ActiveProducers, ap)
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
