package txn

import (
	"errors"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Topic is the internal compacted topic holding transaction state.
const Topic = "__transaction_state"

// valueVersion is the TransactionLogValue version written: 1 (flexible,
// with the KIP-890 tagged fields), what Kafka 4 writes.
const valueVersion = 1

// ErrCorruptRecord is wrapped by errors about __transaction_state records
// that do not decode. Loading skips such records and logs them.
var ErrCorruptRecord = errors.New("corrupt __transaction_state record")

// key encodes Kafka's TransactionLogKey (version 0).
func key(id string) []byte {
	k := kmsg.TxnMetadataKey{Version: 0, TransactionalID: id}
	return k.AppendTo(nil)
}

// value encodes Kafka's TransactionLogValue for t's state.
func value(t *txnState) []byte {
	v := kmsg.NewTxnMetadataValue()
	v.Version = valueVersion
	v.ProducerID, v.ProducerEpoch = t.pid, t.epoch
	v.TimeoutMillis = t.timeoutMs
	v.State = kmsg.TransactionState(t.state)
	v.LastUpdateTimestamp, v.StartTimestamp = t.updateMs, t.startMs
	v.PreviousProducerID, v.NextProducerID = t.prevPID, t.nextPID
	v.ClientTransactionVersion = t.tv
	for _, tp := range t.sortedTopics() {
		v.Topics = append(v.Topics, kmsg.TxnMetadataValueTopic{Topic: tp.topic, Partitions: tp.parts})
	}
	if v.Topics == nil && t.state != stateEmpty && t.state != stateCompleteCommit && t.state != stateCompleteAbort {
		v.Topics = []kmsg.TxnMetadataValueTopic{}
	}
	return v.AppendTo(nil)
}

// decodeKey returns the transactional id of a record key.
func decodeKey(b []byte) (string, error) {
	var k kmsg.TxnMetadataKey
	if err := k.ReadFrom(b); err != nil {
		return "", fmt.Errorf("%w: key: %w", ErrCorruptRecord, err)
	}
	if k.Version != 0 {
		return "", fmt.Errorf("%w: key version %d", ErrCorruptRecord, k.Version)
	}
	return k.TransactionalID, nil
}

// decodeValue fills t from a record value.
func decodeValue(b []byte, t *txnState) error {
	// The version decides how kmsg reads the rest: refuse unknown ones
	// before decoding (a garbage version makes a garbage layout).
	if len(b) < 2 || b[0] != 0 || b[1] > 1 {
		return fmt.Errorf("%w: value version %x", ErrCorruptRecord, b[:min(len(b), 2)])
	}
	var v kmsg.TxnMetadataValue
	if err := v.ReadFrom(b); err != nil {
		return fmt.Errorf("%w: value: %w", ErrCorruptRecord, err)
	}
	if v.Version < 0 || v.Version > 1 {
		return fmt.Errorf("%w: value version %d", ErrCorruptRecord, v.Version)
	}
	if state(v.State) < stateEmpty || state(v.State) > statePrepareEpochFence {
		return fmt.Errorf("%w: state %d", ErrCorruptRecord, v.State)
	}
	t.pid, t.epoch, t.timeoutMs = v.ProducerID, v.ProducerEpoch, v.TimeoutMillis
	t.state = state(v.State)
	t.updateMs, t.startMs = v.LastUpdateTimestamp, v.StartTimestamp
	t.prevPID, t.nextPID, t.tv = v.PreviousProducerID, v.NextProducerID, v.ClientTransactionVersion
	if v.Version == 0 {
		t.prevPID, t.nextPID, t.tv = -1, -1, 0
	}
	t.parts = map[string]map[int32]bool{}
	for _, tp := range v.Topics {
		for _, p := range tp.Partitions {
			t.add(tp.Topic, p)
		}
	}
	return nil
}

type topicParts struct {
	topic string
	parts []int32
}

func (t *txnState) sortedTopics() []topicParts {
	out := make([]topicParts, 0, len(t.parts))
	for topic, ps := range t.parts {
		tp := topicParts{topic: topic}
		for p := range ps {
			tp.parts = append(tp.parts, p)
		}
		sort.Slice(tp.parts, func(i, j int) bool { return tp.parts[i] < tp.parts[j] })
		out = append(out, tp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].topic < out[j].topic })
	return out
}
