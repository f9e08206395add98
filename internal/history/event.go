package history

import (
	"encoding/json"
)

// Event is one line of a history. The concrete types are Produce, Consume,
// Commit, Assign, Revoke, HighWatermark and Txn; Type returns the value of
// the line's "type" field. The interface is closed (appendJSON is not
// exported) because Read must be able to parse every line a Recorder
// writes.
type Event interface {
	Type() string
	json.Marshaler
	appendJSON(dst []byte) ([]byte, error)
}

// Outcome is what a client learned about a produce or commit attempt.
type Outcome string

const (
	// OK means the broker acknowledged the attempt.
	OK Outcome = "ok"
	// Error means the broker or the client reported a failure. The attempt
	// may still have taken effect (a timeout after the write, for example),
	// so an errored record found in the log is not an anomaly.
	Error Outcome = "error"
	// Unknown means no answer came: the request timed out or the client was
	// closed or killed while it was in flight.
	Unknown Outcome = "unknown"
)

func (o Outcome) valid() bool { return o == OK || o == Error || o == Unknown }

// TxnOutcome is how a transaction ended, as its producer saw it.
type TxnOutcome string

const (
	// TxnCommit means EndTxn(commit) succeeded.
	TxnCommit TxnOutcome = "commit"
	// TxnAbort means EndTxn(abort) succeeded, or the producer was fenced
	// and the coordinator aborted the transaction.
	TxnAbort TxnOutcome = "abort"
	// TxnUnknown means the producer does not know: EndTxn timed out or the
	// producer died. The checker makes no claim about such records.
	TxnUnknown TxnOutcome = "unknown"
)

func (o TxnOutcome) valid() bool { return o == TxnCommit || o == TxnAbort || o == TxnUnknown }

// Isolation is a consumer's isolation level, as in the Fetch request.
type Isolation string

const (
	// ReadUncommitted reads up to the high watermark; it is the default
	// when a consume event has no isolation.
	ReadUncommitted Isolation = "read_uncommitted"
	// ReadCommitted reads up to the last stable offset and skips records
	// of aborted transactions.
	ReadCommitted Isolation = "read_committed"
)

func (i Isolation) valid() bool { return i == "" || i == ReadUncommitted || i == ReadCommitted }

// Produce is one attempt to produce one record. Value must be unique among
// all produce attempts of a history: it is how the checker finds the record
// in the log. A retry inside the client library is the same attempt; a retry
// by the test itself is a new attempt with a new value.
type Produce struct {
	// Client names the Kafka client instance (its client.id, say).
	Client string `json:"client,omitempty"`
	// Producer names the logical producer: one producer id and epoch
	// sequence on the broker. A test that restarts a producer client
	// starts a new logical producer.
	Producer   string `json:"producer"`
	Idempotent bool   `json:"idempotent"`
	Topic      string `json:"topic"`
	Partition  int32  `json:"partition"`
	Key        string `json:"key,omitempty"`
	Value      string `json:"value"`
	// Seq numbers the producer's sends in the order it made them; the
	// order check compares acknowledged offsets in this order.
	Seq int64 `json:"seq"`
	// Start and End are unix nanoseconds: when the record was handed to
	// the client and when its outcome was known.
	Start   int64   `json:"start"`
	End     int64   `json:"end"`
	Outcome Outcome `json:"outcome"`
	// Offset is the acknowledged offset. It means something only when
	// Outcome is OK; the recorder writes -1 otherwise.
	Offset int64  `json:"offset"`
	Err    string `json:"error,omitempty"`
	// Txn is the transactional id of a transactional producer and TxnSeq
	// numbers its transactions; a Txn event with the same Producer and
	// TxnSeq says how the transaction ended.
	Txn    string `json:"txn,omitempty"`
	TxnSeq int64  `json:"txn_seq,omitempty"`
}

// Consume is one record a consumer received.
type Consume struct {
	Consumer  string    `json:"consumer"`
	Group     string    `json:"group,omitempty"`
	Isolation Isolation `json:"isolation,omitempty"`
	Topic     string    `json:"topic"`
	Partition int32     `json:"partition"`
	Offset    int64     `json:"offset"`
	Key       string    `json:"key,omitempty"`
	Value     string    `json:"value"`
	// Time is when the record was received, in unix nanoseconds.
	Time int64 `json:"time"`
	// Session numbers the consumer's uninterrupted reads of this
	// partition: the client starts a new session whenever it may read
	// from an earlier offset again (it is assigned the partition, seeks,
	// or restarts), because offsets need increase only within one.
	Session int64 `json:"session,omitempty"`
	// Final marks the events of the full read of every partition, from
	// the earliest offset to the end, made after the test's faults
	// ended. The final read is taken as what the log holds.
	Final bool `json:"final,omitempty"`
}

// Commit is one attempt to commit a group's offset for one partition.
type Commit struct {
	Group     string  `json:"group"`
	Member    string  `json:"member,omitempty"`
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Offset    int64   `json:"offset"`
	Outcome   Outcome `json:"outcome"`
	Start     int64   `json:"start"`
	End       int64   `json:"end"`
	Err       string  `json:"error,omitempty"`
}

// Assign records that a group member was given a partition, at the moment
// the client's assignment callback ran.
type Assign struct {
	Group      string `json:"group"`
	Member     string `json:"member"`
	Generation int32  `json:"generation,omitempty"`
	Topic      string `json:"topic"`
	Partition  int32  `json:"partition"`
	Time       int64  `json:"time"`
}

// Revoke records that a group member gave up a partition (it was revoked
// or lost), at the moment the client's callback ran. A member that dies
// without a callback must have a Revoke recorded for it by the test at
// the time of its death, or it owns its partitions to the end.
type Revoke Assign

// HighWatermark is a high watermark a consumer observed in a fetch
// response. Recorded with Final set by the final read, Value is the end of
// the log and LogStart its first offset, which lets the checker tell
// records removed by retention from records lost.
type HighWatermark struct {
	Consumer  string `json:"consumer,omitempty"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Value     int64  `json:"value"`
	LogStart  int64  `json:"log_start,omitempty"`
	Time      int64  `json:"time"`
	Final     bool   `json:"final,omitempty"`
}

// Txn records how a producer's transaction ended.
type Txn struct {
	Producer string     `json:"producer"`
	Txn      string     `json:"txn,omitempty"`
	TxnSeq   int64      `json:"txn_seq"`
	Outcome  TxnOutcome `json:"outcome"`
	Start    int64      `json:"start,omitempty"`
	End      int64      `json:"end,omitempty"`
}

// Event type names, as written in the "type" field.
const (
	typeProduce = "produce"
	typeConsume = "consume"
	typeCommit  = "commit"
	typeAssign  = "assign"
	typeRevoke  = "revoke"
	typeHW      = "hw"
	typeTxn     = "txn"
)

func (Produce) Type() string       { return typeProduce }
func (Consume) Type() string       { return typeConsume }
func (Commit) Type() string        { return typeCommit }
func (Assign) Type() string        { return typeAssign }
func (Revoke) Type() string        { return typeRevoke }
func (HighWatermark) Type() string { return typeHW }
func (Txn) Type() string           { return typeTxn }

// The appendJSON methods add the "type" field, so an event marshals to the
// same line whether the Recorder writes it or it appears inside a Report.
// The local types drop the methods to avoid recursion.

func (p Produce) appendJSON(dst []byte) ([]byte, error) {
	type plain Produce
	if p.Outcome != OK {
		p.Offset = -1
	}
	return appendTyped(dst, typeProduce, plain(p))
}

func (c Consume) appendJSON(dst []byte) ([]byte, error) {
	type plain Consume
	return appendTyped(dst, typeConsume, plain(c))
}

func (c Commit) appendJSON(dst []byte) ([]byte, error) {
	type plain Commit
	return appendTyped(dst, typeCommit, plain(c))
}

func (a Assign) appendJSON(dst []byte) ([]byte, error) {
	type plain Assign
	return appendTyped(dst, typeAssign, plain(a))
}

func (r Revoke) appendJSON(dst []byte) ([]byte, error) {
	type plain Assign
	return appendTyped(dst, typeRevoke, plain(r))
}

func (h HighWatermark) appendJSON(dst []byte) ([]byte, error) {
	type plain HighWatermark
	return appendTyped(dst, typeHW, plain(h))
}

func (t Txn) appendJSON(dst []byte) ([]byte, error) {
	type plain Txn
	return appendTyped(dst, typeTxn, plain(t))
}

func (p Produce) MarshalJSON() ([]byte, error)       { return p.appendJSON(nil) }
func (c Consume) MarshalJSON() ([]byte, error)       { return c.appendJSON(nil) }
func (c Commit) MarshalJSON() ([]byte, error)        { return c.appendJSON(nil) }
func (a Assign) MarshalJSON() ([]byte, error)        { return a.appendJSON(nil) }
func (r Revoke) MarshalJSON() ([]byte, error)        { return r.appendJSON(nil) }
func (h HighWatermark) MarshalJSON() ([]byte, error) { return h.appendJSON(nil) }
func (t Txn) MarshalJSON() ([]byte, error)           { return t.appendJSON(nil) }

// appendTyped appends v's JSON object to dst with a leading "type" field.
// Putting the type first lets Read find it without decoding the line twice.
func appendTyped(dst []byte, typ string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	dst = append(dst, `{"type":"`...)
	dst = append(dst, typ...)
	dst = append(dst, '"')
	if len(b) > 2 { // b is "{...}"; "{}" has no fields to follow the type
		dst = append(dst, ',')
	}
	return append(dst, b[1:]...), nil
}
