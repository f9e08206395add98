package broker

// AddOffsetsToTxn, key 25, v0-v4.
//   v1: no change.  v2: PRODUCER_FENCED (older versions get
//   INVALID_PRODUCER_EPOCH).  v3: flexible.  v4: TRANSACTION_ABORTABLE.
// Adds the group's __consumer_offsets partition to the transaction, so
// the offsets the producer commits with TxnOffsetCommit get its marker.
// ACLs: WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
// READ on the group (GROUP_AUTHORIZATION_FAILED).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/coordinator/group"
	"github.com/samsa-streaming/samsa/internal/coordinator/txn"
)

func handleAddOffsetsToTxn(rc *reqCtx, p *pending, reqAny kmsg.Request) {
	req := reqAny.(*kmsg.AddOffsetsToTxnRequest)
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	if code := addOffsetsDenied(rc, req); code != 0 {
		resp.ErrorCode = code
		p.complete(resp)
		return
	}
	if err := b.groups.EnsureTopic(); err != nil {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		p.complete(resp)
		return
	}
	part := b.groups.PartitionOf(req.Group)
	tp := txn.TopicPartition{Topic: group.Topic, Partition: part}
	b.txns.AddPartitions(req.TransactionalID, req.ProducerID, req.ProducerEpoch, []txn.TopicPartition{tp}, req.Version, func(code int16) {
		resp.ErrorCode = code
		p.complete(resp)
	})
}
