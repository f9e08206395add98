package broker

// TxnOffsetCommit, key 28, v0-v5.
//   v0: transactional id, group, producer id and epoch, offsets and
//   metadata.  v1: no change.  v2: leader epoch per partition.  v3:
//   flexible; member id, generation and group.instance.id (KIP-447:
//   checked when given, UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
//   FENCED_INSTANCE_ID).  v4: TRANSACTION_ABORTABLE (KIP-890).  v5:
//   transactions V2 (KIP-890 part 2): the client sends no
//   AddOffsetsToTxn, the broker adds the group's __consumer_offsets
//   partition to the transaction itself.
// The offsets are written in one transactional batch of the producer on
// the group's partition and answered once durable; they stay pending
// (UNSTABLE_OFFSET_COMMIT to OffsetFetch with require_stable) until the
// transaction's marker commits or aborts them (WriteTxnMarkers calls
// groups.CompleteTxn). Before writing the first offsets of a transaction
// the partition is checked with the transaction coordinator as Produce
// does (produce_txn.go): added (v5) or verified (v0-v4). Unknown
// partitions get UNKNOWN_TOPIC_OR_PARTITION; v0-v1 get
// COORDINATOR_NOT_AVAILABLE instead of COORDINATOR_LOAD_IN_PROGRESS (as
// Kafka, for clients before 2.0).
// ACLs: WRITE on the transactional id and READ on the group (every
// partition TRANSACTIONAL_ID_ or GROUP_AUTHORIZATION_FAILED), READ on each
// topic (TOPIC_AUTHORIZATION_FAILED; authorize_txn.go).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/coordinator/group"
	"github.com/samsa-streaming/samsa/internal/coordinator/txn"
)

func handleTxnOffsetCommit(rc *reqCtx, p *pending, reqAny kmsg.Request) {
	req := reqAny.(*kmsg.TxnOffsetCommitRequest)
	b := rc.broker()
	complete, ok := txnOffsetCommitAuth(rc, req, p.complete)
	if !ok {
		return // answered
	}
	part, verify := b.txnOffsetsPartition(req)
	if !verify {
		b.groups.TxnOffsetCommit(req, complete)
		return
	}
	// Asking the transaction coordinator may take a round trip to
	// another broker (and retries): not on the connection's goroutine.
	go func() {
		tp := txn.TopicPartition{Topic: group.Topic, Partition: part}
		add := req.Version >= 5
		codes, code := retryAddToTxn(func() (map[txn.TopicPartition]int16, int16) {
			return b.addToTxn(req.TransactionalID, req.ProducerID, req.ProducerEpoch, []txn.TopicPartition{tp}, add)
		})
		if c, ok := codes[tp]; ok && code == 0 {
			code = c
		}
		if code == 0 {
			b.groups.TxnOffsetCommit(req, complete)
			return
		}
		complete(txnOffsetCommitError(req, b.partitionKnown, txnVerifyError(code, req.Version)))
	}()
}

// txnOffsetsPartition returns the group's __consumer_offsets partition
// and whether the transaction coordinator must be asked about it first:
// it is led here (else the coordinator answers NOT_COORDINATOR) and the
// producer has no transaction open in it at this epoch (the offsets of
// an open one were checked when it began).
func (b *Broker) txnOffsetsPartition(req *kmsg.TxnOffsetCommitRequest) (int32, bool) {
	if req.Group == "" || req.TransactionalID == "" || !anyKnown(req, b.partitionKnown) {
		return 0, false
	}
	if err := b.groups.EnsureTopic(); err != nil {
		return 0, false
	}
	pi := b.groups.PartitionOf(req.Group)
	part, ok := b.parts.Get(group.Topic, pi)
	if !ok || !part.IsLeader() || !b.groups.Coordinates(req.Group) {
		return 0, false
	}
	return pi, !part.Log().InTransaction(req.ProducerID, req.ProducerEpoch)
}

func anyKnown(req *kmsg.TxnOffsetCommitRequest, known func(string, int32) bool) bool {
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			if known(t.Topic, p.Partition) {
				return true
			}
		}
	}
	return false
}

// txnVerifyError maps the transaction coordinator's answer as Kafka
// does for a transactional offset commit: a fenced producer is
// INVALID_PRODUCER_EPOCH, TRANSACTION_ABORTABLE is INVALID_TXN_STATE
// before v4, a coordinator that is moving or busy
// COORDINATOR_NOT_AVAILABLE and one that cannot be reached
// COORDINATOR_LOAD_IN_PROGRESS (both retried by every client).
func txnVerifyError(code, version int16) int16 {
	switch {
	case code == kerr.ProducerFenced.Code:
		return kerr.InvalidProducerEpoch.Code
	case code == kerr.TransactionAbortable.Code && version < 4:
		return kerr.InvalidTxnState.Code
	case retriableTxnCode(code):
		return kerr.CoordinatorNotAvailable.Code
	case code == kerr.NetworkException.Code:
		if version < 2 {
			return kerr.CoordinatorNotAvailable.Code
		}
		return kerr.CoordinatorLoadInProgress.Code
	}
	return code
}

// txnOffsetCommitError answers every partition with code, unknown ones
// with UNKNOWN_TOPIC_OR_PARTITION.
func txnOffsetCommitError(req *kmsg.TxnOffsetCommitRequest, known func(string, int32) bool, code int16) *kmsg.TxnOffsetCommitResponse {
	resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	for _, rt := range req.Topics {
		t := kmsg.NewTxnOffsetCommitResponseTopic()
		t.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			p := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			p.Partition, p.ErrorCode = rp.Partition, code
			if !known(rt.Topic, rp.Partition) {
				p.ErrorCode = kerr.UnknownTopicOrPartition.Code
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}
