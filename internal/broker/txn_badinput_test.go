package broker_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/brokertest"
	"github.com/samsa-streaming/samsa/internal/record"
)

// txnBatch is a transactional batch of n records.
func txnBatch(n int, pid int64, epoch int16, seq int32) []byte {
	recs := make([]kmsg.Record, n)
	for i := range recs {
		recs[i] = kmsg.Record{OffsetDelta: int32(i), Value: []byte("v")}
	}
	return record.EncodeBatch(&kmsg.RecordBatch{FirstTimestamp: 1, MaxTimestamp: 1, Attributes: record.TransactionalBit,
		ProducerID: pid, ProducerEpoch: epoch, FirstSequence: seq}, recs)
}

// Requests that break the transaction protocol get Kafka's error codes,
// and the transaction goes on afterwards.
func TestTxnBadInput(t *testing.T) {
	b := brokertest.Start(t, "transaction.state.log.num.partitions", "1", "transaction.max.timeout.ms", "60000")
	createTopic(t, b.Addr(), "bad", 2, nil)
	cl := newClient(t, b.Addr())
	id := "bad-tx"

	find := kmsg.NewPtrFindCoordinatorRequest()
	find.CoordinatorKey, find.CoordinatorType = id, 1
	if r := request[*kmsg.FindCoordinatorResponse](t, cl, find, 3); r.ErrorCode != 0 {
		t.Fatalf("find coordinator: %+v", r)
	}
	initReq := func(timeout int32) *kmsg.InitProducerIDResponse {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID, req.TransactionTimeoutMillis = &id, timeout
		return request[*kmsg.InitProducerIDResponse](t, cl, req, 4)
	}
	if r := initReq(120000); r.ErrorCode != kerr.InvalidTransactionTimeout.Code {
		t.Fatalf("timeout over transaction.max.timeout.ms: %+v", r)
	}
	empty := ""
	{
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID, req.TransactionTimeoutMillis = &empty, 1000
		if r := request[*kmsg.InitProducerIDResponse](t, cl, req, 4); r.ErrorCode != kerr.InvalidRequest.Code {
			t.Fatalf("empty transactional id: %+v", r)
		}
	}
	init := initReq(30000)
	if init.ErrorCode != 0 {
		t.Fatalf("init: %+v", init)
	}
	pid, epoch := init.ProducerID, init.ProducerEpoch

	end := func(version int16, pid int64, epoch int16, commit bool) int16 {
		req := kmsg.NewPtrEndTxnRequest()
		req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = id, pid, epoch, commit
		return request[*kmsg.EndTxnResponse](t, cl, req, version).ErrorCode
	}
	if code := end(3, pid, epoch, true); code != kerr.InvalidTxnState.Code {
		t.Errorf("commit with nothing begun: %d", code)
	}
	if code := end(3, pid+1, epoch, true); code != kerr.InvalidProducerIDMapping.Code {
		t.Errorf("commit with another producer id: %d", code)
	}
	{
		req := kmsg.NewPtrEndTxnRequest()
		req.TransactionalID, req.ProducerID, req.ProducerEpoch = "nobody", pid, epoch
		if r := request[*kmsg.EndTxnResponse](t, cl, req, 3); r.ErrorCode != kerr.InvalidProducerIDMapping.Code {
			t.Errorf("commit of an unknown id: %d", r.ErrorCode)
		}
	}

	add := func(version int16, epoch int16, topic string, p int32) int16 {
		req := kmsg.NewPtrAddPartitionsToTxnRequest()
		req.TransactionalID, req.ProducerID, req.ProducerEpoch = id, pid, epoch
		req.Topics = []kmsg.AddPartitionsToTxnRequestTopic{{Topic: topic, Partitions: []int32{p}}}
		r := request[*kmsg.AddPartitionsToTxnResponse](t, cl, req, version)
		return r.Topics[0].Partitions[0].ErrorCode
	}
	if code := add(3, epoch-1, "bad", 0); code != kerr.ProducerFenced.Code {
		t.Errorf("add with an old epoch (v3): %d", code)
	}
	if code := add(1, epoch-1, "bad", 0); code != kerr.InvalidProducerEpoch.Code {
		t.Errorf("add with an old epoch (v1): %d", code)
	}
	if code := add(3, epoch, "nosuch", 0); code != kerr.UnknownTopicOrPartition.Code {
		t.Errorf("add of an unknown topic: %d", code)
	}

	produce := func(version int16, txnID *string, p int32, records []byte) int16 {
		req := kmsg.NewPtrProduceRequest()
		req.TransactionID, req.Acks, req.TimeoutMillis = txnID, -1, 5000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "bad"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = p, records
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return request[*kmsg.ProduceResponse](t, cl, req, version).Topics[0].Partitions[0].ErrorCode
	}
	// V1: a transactional write to a partition not added is refused.
	if code := produce(9, &id, 0, txnBatch(1, pid, epoch, 0)); code != kerr.InvalidTxnState.Code {
		t.Errorf("v9 write to a partition not added: %d", code)
	}
	if code := produce(11, &id, 0, txnBatch(1, pid, epoch, 0)); code != kerr.TransactionAbortable.Code {
		t.Errorf("v11 write to a partition not added: %d", code)
	}
	// A transactional batch needs the transactional id.
	if code := produce(9, nil, 0, txnBatch(1, pid, epoch, 0)); code != kerr.InvalidRecord.Code {
		t.Errorf("transactional batch without a transactional id: %d", code)
	}
	// Once added, the write goes in; a fenced epoch does not.
	if code := add(3, epoch, "bad", 0); code != 0 {
		t.Fatalf("add: %d", code)
	}
	if code := produce(9, &id, 0, txnBatch(2, pid, epoch, 0)); code != 0 {
		t.Fatalf("write after add: %d", code)
	}
	if code := produce(9, &id, 1, txnBatch(1, pid, epoch-1, 0)); code == 0 {
		t.Errorf("write with an old epoch accepted")
	}
	// V2 (Produce v12): the leader adds partition 1 itself.
	if code := produce(12, &id, 1, txnBatch(1, pid, epoch, 0)); code != 0 {
		t.Errorf("v12 write that adds its partition: %d", code)
	}
	// A second InitProducerId while the transaction is open aborts it and
	// says to retry.
	if r := initReq(30000); r.ErrorCode != kerr.ConcurrentTransactions.Code {
		t.Errorf("init during a transaction: %+v", r)
	}
	// The old producer is now fenced.
	if code := end(3, pid, epoch, true); code != kerr.ProducerFenced.Code && code != kerr.ConcurrentTransactions.Code {
		t.Errorf("commit by the fenced producer: %d", code)
	}
	// WriteTxnMarkers for a partition that does not exist.
	{
		req := kmsg.NewPtrWriteTxnMarkersRequest()
		m := kmsg.NewWriteTxnMarkersRequestMarker()
		m.ProducerID, m.ProducerEpoch, m.Topics = pid, epoch+5, []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: "nosuch", Partitions: []int32{0}}}
		req.Markers = append(req.Markers, m)
		r := request[*kmsg.WriteTxnMarkersResponse](t, cl, req, 1)
		if code := r.Markers[0].Topics[0].Partitions[0].ErrorCode; code != kerr.UnknownTopicOrPartition.Code {
			t.Errorf("marker for an unknown topic: %d", code)
		}
	}
	// DescribeTransactions of an unknown id.
	{
		req := kmsg.NewPtrDescribeTransactionsRequest()
		req.TransactionalIDs = []string{"nobody"}
		r := request[*kmsg.DescribeTransactionsResponse](t, cl, req, 0)
		if code := r.TransactionStates[0].ErrorCode; code != kerr.TransactionalIDNotFound.Code {
			t.Errorf("describe of an unknown id: %d", code)
		}
	}
	stillServes(t, b.Addr())
}
