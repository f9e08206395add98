package broker

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/coordinator/txn"
	"github.com/samsa-streaming/samsa/internal/record"
)

// Server-side transaction checks on Produce (KIP-890). The first
// transactional batch of a producer in a partition (the partition has no
// open transaction of that producer and epoch) is checked with the
// transaction coordinator before it is written:
//
//   - Produce v12+ (transactions V2): the leader adds the partition to the
//     transaction itself (AddPartitionsToTxn v5 on the client's behalf);
//   - older versions: the leader asks whether the client added it
//     (verify_only), so a late write from an aborted or timed-out
//     transaction cannot open a transaction that never ends (a "hanging
//     transaction").
//
// Coordinator errors that mean "try again" (moving, loading, markers of
// the previous transaction still being written) are retried here for up
// to addToTxnRetryMax and then answered NOT_ENOUGH_REPLICAS, which every
// client retries, as Kafka does. The pause starts at 1 ms and doubles up
// to 20 ms: the usual wait is for the previous transaction's markers,
// which take about a millisecond, and a V2 producer that commits every
// 100 ms meets it at the start of every transaction (Kafka's fixed 20 ms,
// add.partitions.to.txn.retry.backoff.ms, cost it a fifth of its time).

const (
	addToTxnBackoffMin = time.Millisecond
	addToTxnBackoffMax = 20 * time.Millisecond
	addToTxnRetryMax   = 500 * time.Millisecond
)

// retryAddToTxn calls try until it answers something other than a
// retriable coordinator error or addToTxnRetryMax has passed.
func retryAddToTxn(try func() (map[txn.TopicPartition]int16, int16)) (map[txn.TopicPartition]int16, int16) {
	deadline := time.Now().Add(addToTxnRetryMax)
	backoff := addToTxnBackoffMin
	for {
		codes, code := try()
		if !retriableTxnCode(code) || time.Now().After(deadline) {
			return codes, code
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, addToTxnBackoffMax)
	}
}

// verifyTransactional checks the transactional batches of a produce
// request and returns the jobs that may be appended; the others are
// answered with their error here.
func verifyTransactional(b *Broker, req *kmsg.ProduceRequest, jobs []appendJob, anyErr interface{ Store(bool) }) []appendJob {
	type need struct {
		i  int
		tp txn.TopicPartition
	}
	var needs []need
	var pid int64
	var epoch int16
	fail := func(j *appendJob, code int16) {
		j.rp.ErrorCode, j.rp.BaseOffset = code, -1
		anyErr.Store(true)
		if j.done != nil {
			j.done(nil)
		}
	}
	var failed map[int]bool // made on the first failure: none on the usual path
	for i := range jobs {
		j := &jobs[i]
		h, err := record.ParseHeader(j.records)
		if err != nil || !h.IsTransactional() || h.IsControl() {
			continue // produceOne answers what is malformed
		}
		if req.TransactionID == nil || *req.TransactionID == "" {
			fail(j, kerr.InvalidRecord.Code)
			if failed == nil {
				failed = map[int]bool{}
			}
			failed[i] = true
			continue
		}
		if j.part.Log().InTransaction(h.ProducerID, h.ProducerEpoch) {
			continue
		}
		pid, epoch = h.ProducerID, h.ProducerEpoch
		needs = append(needs, need{i, txn.TopicPartition{Topic: j.part.Topic, Partition: j.part.Index}})
	}
	if len(needs) > 0 {
		parts := make([]txn.TopicPartition, len(needs))
		for k, n := range needs {
			parts[k] = n.tp
		}
		add := req.Version >= 12
		codes, all := retryAddToTxn(func() (map[txn.TopicPartition]int16, int16) {
			return b.addToTxn(*req.TransactionID, pid, epoch, parts, add)
		})
		for _, n := range needs {
			code := all
			if c, ok := codes[n.tp]; ok && code == 0 {
				code = c
			}
			switch {
			case code == 0:
				continue
			case code == kerr.ProducerFenced.Code:
				code = kerr.InvalidProducerEpoch.Code
			case code == kerr.TransactionAbortable.Code && req.Version <= 10:
				code = kerr.InvalidTxnState.Code
			case retriableTxnCode(code) || code == kerr.NetworkException.Code:
				code = kerr.NotEnoughReplicas.Code
			}
			fail(&jobs[n.i], code)
			if failed == nil {
				failed = map[int]bool{}
			}
			failed[n.i] = true
		}
	}
	if len(failed) == 0 {
		return jobs
	}
	out := jobs[:0:0]
	for i := range jobs {
		if !failed[i] {
			out = append(out, jobs[i])
		}
	}
	return out
}

func retriableTxnCode(code int16) bool {
	switch code {
	case kerr.NotCoordinator.Code, kerr.CoordinatorNotAvailable.Code, kerr.CoordinatorLoadInProgress.Code, kerr.ConcurrentTransactions.Code:
		return true
	}
	return false
}
