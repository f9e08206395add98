package broker

// WriteTxnMarkers, key 27, v0-v1 (sent by transaction coordinators to
// partition leaders).
//   v1: flexible.
// Each partition's leader appends a control batch (COMMIT or ABORT, with
// the coordinator epoch) for the producer and answers once the marker is
// replicated to the in-sync replicas, as Kafka does (acks=all). A marker
// with an older producer epoch than the partition has seen is
// INVALID_PRODUCER_EPOCH; an older coordinator epoch
// TRANSACTION_COORDINATOR_FENCED. A marker on a __consumer_offsets
// partition also completes the producer's transactional offset commits.
// ACLs (an inter-broker request): ALTER or CLUSTER_ACTION on the cluster
// (every partition CLUSTER_AUTHORIZATION_FAILED).

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/coordinator/group"
	"github.com/samsa-streaming/samsa/internal/coordinator/txn"
)

func handleWriteTxnMarkers(rc *reqCtx, p *pending, req kmsg.Request) {
	b := rc.broker()
	if resp := writeMarkersDenied(rc, req.(*kmsg.WriteTxnMarkersRequest)); resp != nil {
		p.complete(resp)
		return
	}
	go func() { p.complete(b.writeMarkers(req.(*kmsg.WriteTxnMarkersRequest))) }()
}

// writeMarkers appends the markers of req on the partitions this node
// leads and returns once each is replicated (or failed).
func (b *Broker) writeMarkers(req *kmsg.WriteTxnMarkersRequest) *kmsg.WriteTxnMarkersResponse {
	resp := req.ResponseKind().(*kmsg.WriteTxnMarkersResponse)
	im := b.meta.Image()
	now := b.now()
	var wg sync.WaitGroup
	resp.Markers = make([]kmsg.WriteTxnMarkersResponseMarker, len(req.Markers))
	for i := range req.Markers {
		m := &req.Markers[i]
		rm := &resp.Markers[i]
		rm.ProducerID = m.ProducerID
		rm.Topics = make([]kmsg.WriteTxnMarkersResponseMarkerTopic, len(m.Topics))
		for j := range m.Topics {
			rt := &rm.Topics[j]
			rt.Topic = m.Topics[j].Topic
			rt.Partitions = make([]kmsg.WriteTxnMarkersResponseMarkerTopicPartition, len(m.Topics[j].Partitions))
			for k, pi := range m.Topics[j].Partitions {
				rp := &rt.Partitions[k]
				rp.Partition = pi
				part, code := b.leaderFor(im, rt.Topic, pi)
				if code != 0 {
					rp.ErrorCode = code
					continue
				}
				batch := txn.Marker(m.ProducerID, m.ProducerEpoch, m.Committed, m.CoordinatorEpoch, now.UnixMilli())
				topic, pid, commit := rt.Topic, m.ProducerID, m.Committed
				wg.Add(1)
				done := func(err error) {
					if err != nil {
						rp.ErrorCode = errCode(err)
					} else if topic == group.Topic {
						b.groups.CompleteTxn(pi, pid, commit)
					}
					wg.Done()
				}
				if _, err := part.AppendCoordinator(batch, now, done); err != nil {
					rp.ErrorCode = errCode(err)
					wg.Done()
				}
			}
		}
	}
	wg.Wait()
	return resp
}
