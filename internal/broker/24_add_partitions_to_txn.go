package broker

// AddPartitionsToTxn, key 24, v0-v5.
//   v1: no change.  v2: PRODUCER_FENCED (older versions get
//   INVALID_PRODUCER_EPOCH).  v3: flexible.  v4: several transactions
//   per request and verify_only (KIP-890 part 1: brokers asking the
//   coordinator whether a partition is in a transaction).  v5:
//   TRANSACTION_ABORTABLE.  Versions 0-3 come from clients, 4+ from
//   brokers.
// A partition of an unknown topic fails the whole request: it gets
// UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED.
// ACLs: v0-v3 WRITE on the transactional id (every partition
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED) and on each topic but the
// internal ones (TOPIC_AUTHORIZATION_FAILED, the others
// OPERATION_NOT_ATTEMPTED); v4+ (from brokers) CLUSTER_ACTION on the
// cluster (CLUSTER_AUTHORIZATION_FAILED).

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
	"github.com/samsa-streaming/samsa/internal/coordinator/txn"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

func handleAddPartitionsToTxn(rc *reqCtx, p *pending, reqAny kmsg.Request) {
	req := reqAny.(*kmsg.AddPartitionsToTxnRequest)
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	im := b.meta.Image()
	if req.Version < 4 {
		var parts []txn.TopicPartition
		for _, t := range req.Topics {
			for _, pt := range t.Partitions {
				parts = append(parts, txn.TopicPartition{Topic: t.Topic, Partition: pt})
			}
		}
		answer := func(codes map[txn.TopicPartition]int16, all int16) {
			for _, t := range req.Topics {
				rt := kmsg.NewAddPartitionsToTxnResponseTopic()
				rt.Topic = t.Topic
				for _, pt := range t.Partitions {
					rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
					rp.Partition, rp.ErrorCode = pt, all
					if c, ok := codes[txn.TopicPartition{Topic: t.Topic, Partition: pt}]; ok {
						rp.ErrorCode = c
					}
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
			p.complete(resp)
		}
		if codes, all, ok := addPartitionsDenied(rc, im, req.TransactionalID, parts); !ok {
			answer(codes, all)
			return
		}
		if codes := unknownTxnPartitions(im, parts); codes != nil {
			answer(codes, kerr.OperationNotAttempted.Code)
			return
		}
		b.txns.AddPartitions(req.TransactionalID, req.ProducerID, req.ProducerEpoch, parts, req.Version, func(code int16) {
			answer(nil, code)
		})
		return
	}
	// v4+: one result per transaction, answered when all are in.
	if b.authz != nil && !rc.authorizeCluster(acl.OpClusterAction) {
		resp.ErrorCode = errClusterAuth
		p.complete(resp)
		return
	}
	resp.Transactions = make([]kmsg.AddPartitionsToTxnResponseTransaction, len(req.Transactions))
	var wg sync.WaitGroup
	for i := range req.Transactions {
		t := &req.Transactions[i]
		rt := &resp.Transactions[i]
		rt.TransactionalID = t.TransactionalID
		var parts []txn.TopicPartition
		for _, tt := range t.Topics {
			for _, pt := range tt.Partitions {
				parts = append(parts, txn.TopicPartition{Topic: tt.Topic, Partition: pt})
			}
		}
		fill := func(codes map[txn.TopicPartition]int16, all int16) {
			for _, tt := range t.Topics {
				top := kmsg.NewAddPartitionsToTxnResponseTransactionTopic()
				top.Topic = tt.Topic
				for _, pt := range tt.Partitions {
					rp := kmsg.NewAddPartitionsToTxnResponseTransactionTopicPartition()
					rp.Partition, rp.ErrorCode = pt, all
					if c, ok := codes[txn.TopicPartition{Topic: tt.Topic, Partition: pt}]; ok {
						rp.ErrorCode = c
					}
					if rp.ErrorCode == kerr.TransactionAbortable.Code && req.Version < 5 {
						rp.ErrorCode = kerr.InvalidTxnState.Code
					}
					top.Partitions = append(top.Partitions, rp)
				}
				rt.Topics = append(rt.Topics, top)
			}
		}
		if codes := unknownTxnPartitions(im, parts); codes != nil {
			fill(codes, kerr.OperationNotAttempted.Code)
			continue
		}
		if t.VerifyOnly {
			codes, all := b.txns.VerifyPartitions(t.TransactionalID, t.ProducerID, t.ProducerEpoch, parts)
			fill(codes, all)
			continue
		}
		wg.Add(1)
		b.txns.AddPartitions(t.TransactionalID, t.ProducerID, t.ProducerEpoch, parts, req.Version, func(code int16) {
			fill(nil, code)
			wg.Done()
		})
	}
	go func() {
		wg.Wait()
		p.complete(resp)
	}()
}

// unknownTxnPartitions returns UNKNOWN_TOPIC_OR_PARTITION for each
// partition that does not exist, or nil when all do.
func unknownTxnPartitions(im *metadata.Image, parts []txn.TopicPartition) map[txn.TopicPartition]int16 {
	var out map[txn.TopicPartition]int16
	for _, tp := range parts {
		t, ok := im.Topic(tp.Topic)
		if ok && tp.Partition >= 0 && int(tp.Partition) < len(t.Partitions) {
			continue
		}
		if out == nil {
			out = map[txn.TopicPartition]int16{}
		}
		out[tp] = kerr.UnknownTopicOrPartition.Code
	}
	return out
}
