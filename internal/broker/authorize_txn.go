package broker

// Authorization of the transaction APIs, as Kafka's KafkaApis.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
	"github.com/samsa-streaming/samsa/internal/coordinator/txn"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

// txnIDAllowed checks WRITE on a transactional id.
func (rc *reqCtx) txnIDAllowed(id string) bool {
	return rc.authorize(acl.OpWrite, acl.ResourceTransactionalID, id)
}

// addPartitionsDenied is AddPartitionsToTxn v0-v3's check: WRITE on the
// transactional id (every partition TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
// then WRITE on each topic but the internal ones: if one is refused, its
// partitions are TOPIC_AUTHORIZATION_FAILED, unknown ones
// UNKNOWN_TOPIC_OR_PARTITION, and the rest OPERATION_NOT_ATTEMPTED. It
// returns the codes and the code of the partitions not in them; ok when
// the request may go on.
func addPartitionsDenied(rc *reqCtx, im *metadata.Image, id string, parts []txn.TopicPartition) (codes map[txn.TopicPartition]int16, all int16, ok bool) {
	if rc.c.b.authz == nil {
		return nil, 0, true
	}
	if !rc.txnIDAllowed(id) {
		return nil, errTxnAuth, false
	}
	ta := rc.topicAuthorizer(acl.OpWrite)
	for _, tp := range parts {
		if metadata.IsInternal(tp.Topic) || ta.allowed(tp.Topic) {
			continue
		}
		if codes == nil {
			codes = unknownTxnPartitions(im, parts)
			if codes == nil {
				codes = map[txn.TopicPartition]int16{}
			}
		}
		codes[tp] = errTopicAuth
	}
	if codes != nil {
		return codes, kerr.OperationNotAttempted.Code, false
	}
	return nil, 0, true
}

// addOffsetsDenied is AddOffsetsToTxn's check: WRITE on the transactional
// id, then READ on the group. 0: allowed.
func addOffsetsDenied(rc *reqCtx, req *kmsg.AddOffsetsToTxnRequest) int16 {
	switch {
	case rc.c.b.authz == nil:
		return 0
	case !rc.txnIDAllowed(req.TransactionalID):
		return errTxnAuth
	case !rc.groupAllowed(acl.OpRead, req.Group):
		return errGroupAuth
	}
	return 0
}

// writeMarkersDenied is WriteTxnMarkers' check, an inter-broker request:
// ALTER or CLUSTER_ACTION on the cluster. It returns the answer when
// refused (every partition CLUSTER_AUTHORIZATION_FAILED), else nil.
func writeMarkersDenied(rc *reqCtx, req *kmsg.WriteTxnMarkersRequest) *kmsg.WriteTxnMarkersResponse {
	if rc.c.b.authz == nil || rc.authorizeClusterQuiet(acl.OpAlter) || rc.authorizeCluster(acl.OpClusterAction) {
		return nil
	}
	resp := req.ResponseKind().(*kmsg.WriteTxnMarkersResponse)
	for _, m := range req.Markers {
		rm := kmsg.NewWriteTxnMarkersResponseMarker()
		rm.ProducerID = m.ProducerID
		for _, t := range m.Topics {
			rt := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
				rp.Partition, rp.ErrorCode = p, errClusterAuth
				rt.Partitions = append(rt.Partitions, rp)
			}
			rm.Topics = append(rm.Topics, rt)
		}
		resp.Markers = append(resp.Markers, rm)
	}
	return resp
}

// txnOffsetCommitAuth is TxnOffsetCommit's check: WRITE on the
// transactional id and READ on the group (else every partition has that
// error), and READ on each topic: refused topics are taken out of req
// and answered TOPIC_AUTHORIZATION_FAILED alongside the rest. It returns
// the reply to use for the rest, or false once it has answered.
func txnOffsetCommitAuth(rc *reqCtx, req *kmsg.TxnOffsetCommitRequest, reply func(kmsg.Response)) (func(kmsg.Response), bool) {
	if rc.c.b.authz == nil {
		return reply, true
	}
	all := func(code int16) {
		resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
		for _, rt := range req.Topics {
			resp.Topics = append(resp.Topics, txnOffsetCommitErrors(rt, code))
		}
		reply(resp)
	}
	if !rc.txnIDAllowed(req.TransactionalID) {
		all(errTxnAuth)
		return nil, false
	}
	if !rc.groupAllowed(acl.OpRead, req.Group) {
		all(errGroupAuth)
		return nil, false
	}
	var denied []kmsg.TxnOffsetCommitResponseTopic
	ta := rc.topicAuthorizer(acl.OpRead)
	kept := req.Topics[:0:0]
	for _, rt := range req.Topics {
		if ta.allowed(rt.Topic) {
			kept = append(kept, rt)
		} else {
			denied = append(denied, txnOffsetCommitErrors(rt, errTopicAuth))
		}
	}
	if denied == nil {
		return reply, true
	}
	if len(kept) == 0 {
		resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
		resp.Topics = denied
		reply(resp)
		return nil, false
	}
	req.Topics = kept
	return func(r kmsg.Response) {
		resp := r.(*kmsg.TxnOffsetCommitResponse)
		resp.Topics = append(resp.Topics, denied...)
		reply(resp)
	}, true
}

func txnOffsetCommitErrors(rt kmsg.TxnOffsetCommitRequestTopic, code int16) kmsg.TxnOffsetCommitResponseTopic {
	t := kmsg.NewTxnOffsetCommitResponseTopic()
	t.Topic = rt.Topic
	for _, p := range rt.Partitions {
		rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
		rp.Partition, rp.ErrorCode = p.Partition, code
		t.Partitions = append(t.Partitions, rp)
	}
	return t
}

// describeTransactionsAuth applies DescribeTransactions' checks to an
// answer: a transactional id without DESCRIBE is
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED (nothing else about it is sent),
// and only the topics with DESCRIBE are listed in a transaction.
func describeTransactionsAuth(rc *reqCtx, resp *kmsg.DescribeTransactionsResponse) {
	if rc.c.b.authz == nil {
		return
	}
	for i := range resp.TransactionStates {
		s := &resp.TransactionStates[i]
		if !rc.authorize(acl.OpDescribe, acl.ResourceTransactionalID, s.TransactionalID) {
			d := kmsg.NewDescribeTransactionsResponseTransactionState()
			d.TransactionalID, d.ErrorCode = s.TransactionalID, errTxnAuth
			*s = d
			continue
		}
		kept := s.Topics[:0]
		for _, t := range s.Topics {
			if rc.authorize(acl.OpDescribe, acl.ResourceTopic, t.Topic) {
				kept = append(kept, t)
			}
		}
		s.Topics = kept
	}
}

// listTransactionsAuth leaves out of a ListTransactions answer the
// transactional ids the principal may not DESCRIBE.
func listTransactionsAuth(rc *reqCtx, resp *kmsg.ListTransactionsResponse) {
	if rc.c.b.authz == nil {
		return
	}
	kept := resp.TransactionStates[:0]
	for _, s := range resp.TransactionStates {
		if rc.authorizeQuiet(acl.OpDescribe, acl.ResourceTransactionalID, s.TransactionalID) {
			kept = append(kept, s)
		}
	}
	resp.TransactionStates = kept
}
