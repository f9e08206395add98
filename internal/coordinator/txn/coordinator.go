package txn

import (
	"regexp"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// state is a transaction's state, numbered as Kafka's TransactionState
// (the value stored in __transaction_state).
type state int8

const (
	stateEmpty state = iota
	stateOngoing
	statePrepareCommit
	statePrepareAbort
	stateCompleteCommit
	stateCompleteAbort
	stateDead
	statePrepareEpochFence
)

func (s state) String() string { return kmsg.TransactionState(s).String() }

// exhausted is Kafka's isEpochExhausted: the epoch cannot be bumped again
// without risking an overflow past math.MaxInt16.
func exhausted(epoch int16) bool { return epoch >= 1<<15-2 }

// txnState is one transactional id's metadata (Kafka's TransactionMetadata).
type txnState struct {
	id        string
	part      int32 // __transaction_state partition
	pid       int64
	prevPID   int64 // producer id before the last rotation
	nextPID   int64 // TV2: id to switch to once an overflowing end completes
	epoch     int16
	lastEpoch int16 // epoch before the last bump, for KIP-360 retries (memory only)
	timeoutMs int32
	state     state
	parts     map[string]map[int32]bool
	startMs   int64
	updateMs  int64
	tv        int16 // the client's transaction version (2: KIP-890 part 2)

	pending bool // a write of this transaction is in flight
}

func (t *txnState) add(topic string, p int32) {
	if t.parts == nil {
		t.parts = map[string]map[int32]bool{}
	}
	if t.parts[topic] == nil {
		t.parts[topic] = map[int32]bool{}
	}
	t.parts[topic][p] = true
}

func (t *txnState) has(topic string, p int32) bool { return t.parts[topic][p] }

func (t *txnState) numParts() int {
	n := 0
	for _, ps := range t.parts {
		n += len(ps)
	}
	return n
}

// clone copies t with its own partition set.
func (t *txnState) clone() *txnState {
	c := *t
	c.parts = map[string]map[int32]bool{}
	for topic, ps := range t.parts {
		for p := range ps {
			c.add(topic, p)
		}
	}
	return &c
}

// TopicPartition names one partition of a transaction.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Config is the coordinator's part of the broker configuration.
type Config struct {
	Partitions        int32         // transaction.state.log.num.partitions
	ReplicationFactor int16         // transaction.state.log.replication.factor
	MinISR            int           // transaction.state.log.min.isr
	ClusterSize       int           // brokers the cluster is configured with
	MaxTimeout        time.Duration // transaction.max.timeout.ms
	IDExpiration      time.Duration // transactional.id.expiration.ms
	AbortInterval     time.Duration // transaction.abort.timed.out.transaction.cleanup.interval.ms
	ExpireInterval    time.Duration // transaction.remove.expired.transaction.cleanup.interval.ms
}

// Append asks the runtime to append one record to a __transaction_state
// partition and to call AppendDone(ID) once it is durable. A nil Value is
// a tombstone.
type Append struct {
	ID         uint64
	Partition  int32
	Key, Value []byte
}

// Markers asks the runtime to write a transaction's markers to the
// leaders of its partitions and to call MarkersDone(ID) once every one is
// written (or its topic is gone).
type Markers struct {
	ID                 uint64
	TransactionalID    string
	ProducerID         int64
	ProducerEpoch      int16
	Commit             bool
	CoordinatorEpoch   int32
	TransactionVersion int8
	Partitions         []TopicPartition
	coordPart          int32
}

// CoordinatorPartition is the __transaction_state partition whose
// coordinator sends these markers.
func (m *Markers) CoordinatorPartition() int32 { return m.coordPart }

// Out is what one step of the Coordinator asks its runtime to do. Replies
// are closures that answer a request; the runtime calls them after
// releasing its lock.
type Out struct {
	Appends []Append
	Markers []Markers
	Replies []func()
}

func (o *Out) reply(f func()) { o.Replies = append(o.Replies, f) }

// Coordinator is the transaction coordinator's state machine: no
// goroutines, no clock, no I/O except producer id allocation (alloc),
// which may block.
type Coordinator struct {
	cfg     Config
	txns    map[string]*txnState
	partOf  func(id string) int32
	alloc   func() (int64, error)
	owned   map[int32]int32 // loaded partitions and their coordinator epochs
	loading map[int32]bool
	nextID  uint64
	waits   map[uint64]func(out *Out, now time.Time, err error)
	// marker jobs sent and not done, by id
	jobs map[uint64]*txnState

	nextAbort, nextExpire time.Time
}

// New returns an empty Coordinator. partOf maps a transactional id to its
// __transaction_state partition; alloc hands out a new producer id.
func New(cfg Config, partOf func(string) int32, alloc func() (int64, error)) *Coordinator {
	if cfg.AbortInterval <= 0 {
		cfg.AbortInterval = 10 * time.Second
	}
	if cfg.ExpireInterval <= 0 {
		cfg.ExpireInterval = time.Hour
	}
	return &Coordinator{
		cfg: cfg, txns: map[string]*txnState{}, partOf: partOf, alloc: alloc,
		owned: map[int32]int32{}, loading: map[int32]bool{},
		waits: map[uint64]func(*Out, time.Time, error){}, jobs: map[uint64]*txnState{},
	}
}

// BeginLoad marks partition p as loading at coordinator epoch epoch (the
// partition's leader epoch): its transactional ids get
// COORDINATOR_LOAD_IN_PROGRESS until FinishLoad.
func (c *Coordinator) BeginLoad(p, epoch int32) {
	c.dropPartition(p)
	c.loading[p] = true
	c.owned[p] = epoch
}

// Replay applies one record of partition p read during loading.
func (c *Coordinator) Replay(p int32, k, v []byte) error {
	id, err := decodeKey(k)
	if err != nil {
		return err
	}
	if v == nil {
		delete(c.txns, id)
		return nil
	}
	t := &txnState{id: id, part: p, lastEpoch: -1}
	if err := decodeValue(v, t); err != nil {
		return err
	}
	c.txns[id] = t
	return nil
}

// FinishLoad ends the loading of p: transactions found half-ended
// (PrepareCommit, PrepareAbort) get their markers sent again.
func (c *Coordinator) FinishLoad(now time.Time, p int32) Out {
	var out Out
	delete(c.loading, p)
	ids := make([]string, 0)
	for id, t := range c.txns {
		if t.part == p && (t.state == statePrepareCommit || t.state == statePrepareAbort) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		c.sendMarkers(&out, now, c.txns[id])
	}
	return out
}

// Unload forgets the transactions of partition p (leadership moved away).
func (c *Coordinator) Unload(p int32) { c.dropPartition(p) }

func (c *Coordinator) dropPartition(p int32) {
	delete(c.owned, p)
	delete(c.loading, p)
	for id, t := range c.txns {
		if t.part == p {
			delete(c.txns, id)
		}
	}
	for id, t := range c.jobs {
		if t.part == p {
			delete(c.jobs, id)
		}
	}
}

// Owns reports whether p is loaded here at coordinator epoch epoch.
func (c *Coordinator) Owns(p, epoch int32) bool {
	e, ok := c.owned[p]
	return ok && e == epoch && !c.loading[p]
}

// check answers whether this coordinator serves id now.
func (c *Coordinator) check(id string) int16 {
	p := c.partOf(id)
	if _, ok := c.owned[p]; !ok {
		return kerr.NotCoordinator.Code
	}
	if c.loading[p] {
		return kerr.CoordinatorLoadInProgress.Code
	}
	return 0
}

// write appends next as id's new state; once durable next replaces the
// current state and then runs (with err nil), else then runs with the
// error and the state is unchanged.
func (c *Coordinator) write(out *Out, t *txnState, next *txnState, then func(out *Out, now time.Time, err error)) {
	c.nextID++
	id := c.nextID
	t.pending = true
	out.Appends = append(out.Appends, Append{ID: id, Partition: t.part, Key: key(t.id), Value: value(next)})
	c.waits[id] = func(out *Out, now time.Time, err error) {
		cur := c.txns[t.id]
		if cur != t {
			// Unloaded (or expired) meanwhile: the new coordinator owns it.
			if err == nil {
				err = errNotCoordinator
			}
			then(out, now, err)
			return
		}
		t.pending = false
		if err == nil {
			parts := next.parts
			*t = *next
			t.parts = parts
			t.pending = false
		}
		then(out, now, err)
	}
}

// AppendDone reports that the append with id is durable (err nil) or
// failed.
func (c *Coordinator) AppendDone(now time.Time, id uint64, err error) Out {
	var out Out
	if f, ok := c.waits[id]; ok {
		delete(c.waits, id)
		f(&out, now, err)
	}
	return out
}

type coordError string

func (e coordError) Error() string { return string(e) }

const errNotCoordinator = coordError("no longer the coordinator")

// appendErrCode maps an append failure to what the client is told: retry
// with the (perhaps new) coordinator.
func appendErrCode(err error) int16 {
	if err == errNotCoordinator {
		return kerr.NotCoordinator.Code
	}
	return kerr.NotCoordinator.Code
}

// fenced is PRODUCER_FENCED, or INVALID_PRODUCER_EPOCH for request
// versions that predate it (as Kafka maps it).
func fenced(version, since int16) int16 {
	if version < since {
		return kerr.InvalidProducerEpoch.Code
	}
	return kerr.ProducerFenced.Code
}

// InitProducerID serves InitProducerId with a transactional id: a new
// producer id for a new id, else an epoch bump that fences every older
// producer with the same transactional id (an ongoing transaction is
// aborted first and the client told to retry). reply is called with the
// response.
func (c *Coordinator) InitProducerID(now time.Time, req *kmsg.InitProducerIDRequest, reply func(*kmsg.InitProducerIDResponse)) Out {
	var out Out
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	fail := func(code int16) Out {
		resp.ErrorCode = code
		out.reply(func() { reply(resp) })
		return out
	}
	id := *req.TransactionalID
	if id == "" {
		return fail(kerr.InvalidRequest.Code)
	}
	if req.TransactionTimeoutMillis <= 0 || time.Duration(req.TransactionTimeoutMillis)*time.Millisecond > c.cfg.MaxTimeout {
		return fail(kerr.InvalidTransactionTimeout.Code)
	}
	if code := c.check(id); code != 0 {
		return fail(code)
	}
	t := c.txns[id]
	if t == nil {
		pid, err := c.alloc()
		if err != nil {
			return fail(kerr.CoordinatorNotAvailable.Code)
		}
		t = &txnState{id: id, part: c.partOf(id), pid: pid, prevPID: -1, nextPID: -1, epoch: -1, lastEpoch: -1,
			timeoutMs: req.TransactionTimeoutMillis, state: stateEmpty, startMs: -1, updateMs: now.UnixMilli()}
		c.txns[id] = t
	}
	if t.pending {
		return fail(kerr.ConcurrentTransactions.Code)
	}
	expected := req.Version >= 3 && req.ProducerID >= 0
	if expected && !(t.epoch == -1 || req.ProducerID == t.pid || (req.ProducerID == t.prevPID && exhausted(req.ProducerEpoch))) {
		return fail(fenced(req.Version, 4))
	}
	switch t.state {
	case statePrepareAbort, statePrepareCommit:
		return fail(kerr.ConcurrentTransactions.Code)
	case stateOngoing:
		// Abort the transaction under a bumped epoch (which fences the
		// old producer) and have the client retry, which bumps again.
		c.fenceAndAbort(&out, now, t, func(out *Out, err error) {
			if err != nil {
				resp.ErrorCode = appendErrCode(err)
			} else {
				resp.ErrorCode = kerr.ConcurrentTransactions.Code
			}
			out.reply(func() { reply(resp) })
		})
		return out
	case stateEmpty, stateCompleteCommit, stateCompleteAbort:
	default:
		return fail(kerr.ConcurrentTransactions.Code)
	}
	next := t.clone()
	next.state, next.parts, next.startMs, next.updateMs = stateEmpty, nil, -1, now.UnixMilli()
	next.timeoutMs = req.TransactionTimeoutMillis
	if exhausted(t.epoch) && (!expected || req.ProducerEpoch == t.epoch) {
		pid, err := c.alloc()
		if err != nil {
			return fail(kerr.CoordinatorNotAvailable.Code)
		}
		next.prevPID, next.pid, next.epoch, next.lastEpoch = t.pid, pid, 0, -1
		if expected {
			next.lastEpoch = t.epoch
		}
	} else {
		switch {
		case !expected:
			next.epoch, next.lastEpoch = t.epoch+1, -1
		case t.epoch == -1 || req.ProducerEpoch == t.epoch:
			next.epoch, next.lastEpoch = t.epoch+1, t.epoch
		case req.ProducerEpoch == t.lastEpoch:
			// A retry of a bump whose answer was lost.
		default:
			return fail(fenced(req.Version, 4))
		}
	}
	next.nextPID = -1
	c.write(&out, t, next, func(out *Out, _ time.Time, err error) {
		if err != nil {
			resp.ErrorCode = appendErrCode(err)
		} else {
			resp.ProducerID, resp.ProducerEpoch = t.pid, t.epoch
		}
		out.reply(func() { reply(resp) })
	})
	return out
}

// fenceAndAbort aborts t's ongoing transaction under a bumped epoch
// (Kafka's PrepareEpochFence path): done runs once PrepareAbort is
// durable or failed.
func (c *Coordinator) fenceAndAbort(out *Out, now time.Time, t *txnState, done func(out *Out, err error)) {
	next := t.clone()
	if !exhausted(t.epoch) {
		next.epoch = t.epoch + 1
	}
	next.lastEpoch = -1
	next.state, next.updateMs = statePrepareAbort, now.UnixMilli()
	c.write(out, t, next, func(out *Out, now time.Time, err error) {
		if err == nil {
			c.sendMarkers(out, now, t)
		}
		done(out, err)
	})
}

// sendMarkers asks for t's markers (t is PrepareCommit or PrepareAbort);
// with no partitions the transaction completes at once.
func (c *Coordinator) sendMarkers(out *Out, now time.Time, t *txnState) {
	c.nextID++
	m := Markers{
		ID: c.nextID, TransactionalID: t.id, ProducerID: t.pid, ProducerEpoch: t.epoch,
		Commit: t.state == statePrepareCommit, CoordinatorEpoch: c.owned[t.part], coordPart: t.part,
	}
	if t.tv >= 2 {
		m.TransactionVersion = 2
	}
	for _, tp := range t.sortedTopics() {
		for _, p := range tp.parts {
			m.Partitions = append(m.Partitions, TopicPartition{tp.topic, p})
		}
	}
	c.jobs[m.ID] = t
	if len(m.Partitions) == 0 {
		o := c.MarkersDone(now, m.ID)
		out.Appends = append(out.Appends, o.Appends...)
		out.Replies = append(out.Replies, o.Replies...)
		return
	}
	out.Markers = append(out.Markers, m)
}

// MarkersDone reports that every marker of job id is written: the
// transaction completes (CompleteCommit or CompleteAbort is appended).
func (c *Coordinator) MarkersDone(now time.Time, id uint64) Out {
	var out Out
	t, ok := c.jobs[id]
	delete(c.jobs, id)
	if !ok || c.txns[t.id] != t || (t.state != statePrepareCommit && t.state != statePrepareAbort) {
		return out
	}
	next := t.clone()
	next.state = stateCompleteCommit
	if t.state == statePrepareAbort {
		next.state = stateCompleteAbort
	}
	next.parts, next.updateMs = nil, now.UnixMilli()
	next.lastEpoch = t.epoch
	if t.tv >= 2 && t.nextPID >= 0 {
		// The epoch overflowed at this end: switch to the new id now
		// that the markers (with the old one) are written.
		next.prevPID, next.pid, next.epoch = t.pid, t.nextPID, 0
	}
	next.nextPID = -1
	c.write(&out, t, next, func(*Out, time.Time, error) {})
	return out
}

// txnCheck validates a request's producer id and epoch against t.
func (c *Coordinator) txnCheck(t *txnState, pid int64, epoch int16, version, fencedSince int16) int16 {
	switch {
	case t == nil || t.pid != pid:
		return kerr.InvalidProducerIDMapping.Code
	case t.epoch != epoch:
		return fenced(version, fencedSince)
	}
	return 0
}

// AddPartitions adds partitions to id's transaction (starting one if none
// is ongoing); done gets the error code for all of them. tv2 marks an
// implicit add by a partition leader for a Produce v12+ (KIP-890 part 2).
func (c *Coordinator) AddPartitions(now time.Time, id string, pid int64, epoch int16, parts []TopicPartition, version int16, done func(code int16)) Out {
	var out Out
	fail := func(code int16) Out {
		out.reply(func() { done(code) })
		return out
	}
	if id == "" {
		return fail(kerr.InvalidRequest.Code)
	}
	if code := c.check(id); code != 0 {
		return fail(code)
	}
	t := c.txns[id]
	if code := c.txnCheck(t, pid, epoch, version, 2); code != 0 {
		return fail(code)
	}
	if t.pending || t.state == statePrepareCommit || t.state == statePrepareAbort {
		return fail(kerr.ConcurrentTransactions.Code)
	}
	if t.state == stateOngoing {
		all := true
		for _, tp := range parts {
			all = all && t.has(tp.Topic, tp.Partition)
		}
		if all {
			return fail(0)
		}
	}
	next := t.clone()
	if t.state != stateOngoing {
		next.parts, next.startMs = nil, now.UnixMilli()
	}
	for _, tp := range parts {
		next.add(tp.Topic, tp.Partition)
	}
	next.state, next.updateMs = stateOngoing, now.UnixMilli()
	c.write(&out, t, next, func(out *Out, _ time.Time, err error) {
		code := int16(0)
		if err != nil {
			code = appendErrCode(err)
		}
		out.reply(func() { done(code) })
	})
	return out
}

// VerifyPartitions answers a verify-only AddPartitionsToTxn (KIP-890 part
// 1): per partition NONE when it is in id's ongoing transaction, else
// TRANSACTION_ABORTABLE; or one code for all.
func (c *Coordinator) VerifyPartitions(id string, pid int64, epoch int16, parts []TopicPartition) (map[TopicPartition]int16, int16) {
	if id == "" {
		return nil, kerr.InvalidRequest.Code
	}
	if code := c.check(id); code != 0 {
		return nil, code
	}
	t := c.txns[id]
	if code := c.txnCheck(t, pid, epoch, 5, 0); code != 0 {
		return nil, code
	}
	if t.state == statePrepareCommit || t.state == statePrepareAbort {
		return nil, kerr.ConcurrentTransactions.Code
	}
	out := make(map[TopicPartition]int16, len(parts))
	for _, tp := range parts {
		if t.state == stateOngoing && t.has(tp.Topic, tp.Partition) {
			out[tp] = 0
		} else {
			out[tp] = kerr.TransactionAbortable.Code
		}
	}
	return out, 0
}

// EndTxn serves EndTxn: commit or abort the ongoing transaction. The
// answer comes once PrepareCommit/PrepareAbort is durable; markers follow.
// From v5 (transactions V2) every end bumps the epoch and the answer
// carries the producer id and epoch to use next.
func (c *Coordinator) EndTxn(now time.Time, req *kmsg.EndTxnRequest, reply func(*kmsg.EndTxnResponse)) Out {
	var out Out
	resp := req.ResponseKind().(*kmsg.EndTxnResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	fail := func(code int16) Out {
		resp.ErrorCode = code
		out.reply(func() { reply(resp) })
		return out
	}
	ok := func() Out {
		t := c.txns[req.TransactionalID]
		resp.ProducerID, resp.ProducerEpoch = t.pid, t.epoch
		if t.nextPID >= 0 {
			resp.ProducerID, resp.ProducerEpoch = t.nextPID, 0
		}
		return fail(0)
	}
	if req.TransactionalID == "" {
		return fail(kerr.InvalidRequest.Code)
	}
	if code := c.check(req.TransactionalID); code != 0 {
		return fail(code)
	}
	t := c.txns[req.TransactionalID]
	if t == nil {
		return fail(kerr.InvalidProducerIDMapping.Code)
	}
	tv2 := t.tv >= 2
	retryOnOverflow := tv2 && t.prevPID == req.ProducerID && req.ProducerEpoch == 1<<15-2 && t.epoch == 0
	retryOnBump := tv2 && t.epoch == req.ProducerEpoch+1
	valid := req.ProducerEpoch == t.epoch
	if tv2 {
		switch t.state {
		case statePrepareCommit, statePrepareAbort:
			valid = retryOnBump
		case stateCompleteCommit, stateCompleteAbort:
			// A retry of the end that completed, or (current epoch) a
			// V2 client ending a transaction it added nothing to.
			valid = retryOnBump || retryOnOverflow || req.ProducerEpoch == t.epoch
		}
	}
	switch {
	case t.pid != req.ProducerID && !retryOnOverflow:
		return fail(kerr.InvalidProducerIDMapping.Code)
	case !valid:
		return fail(fenced(req.Version, 2))
	case t.pending:
		return fail(kerr.ConcurrentTransactions.Code)
	}
	same := (t.state == stateCompleteCommit || t.state == statePrepareCommit) == req.Commit
	switch t.state {
	case stateCompleteCommit, stateCompleteAbort:
		if req.Version >= 5 && !req.Commit && req.ProducerEpoch == t.epoch {
			break // TV2: aborting a transaction with nothing in it
		}
		if same {
			return ok()
		}
		return fail(kerr.InvalidTxnState.Code)
	case statePrepareCommit, statePrepareAbort:
		if same {
			return fail(kerr.ConcurrentTransactions.Code)
		}
		return fail(kerr.InvalidTxnState.Code)
	case stateEmpty:
		if req.Version >= 5 && !req.Commit {
			break // TV2: the client may not know whether anything was added
		}
		return fail(kerr.InvalidTxnState.Code)
	case stateOngoing:
	default:
		return fail(kerr.ConcurrentTransactions.Code)
	}
	next := t.clone()
	next.state, next.updateMs = statePrepareAbort, now.UnixMilli()
	if req.Commit {
		next.state = statePrepareCommit
	}
	if req.Version >= 5 {
		next.tv = 2
		if exhausted(t.epoch) {
			pid, err := c.alloc()
			if err != nil {
				return fail(kerr.CoordinatorNotAvailable.Code)
			}
			next.nextPID = pid
		}
		next.epoch, next.lastEpoch = t.epoch+1, t.epoch
	}
	c.write(&out, t, next, func(out *Out, now time.Time, err error) {
		if err != nil {
			resp.ErrorCode = appendErrCode(err)
			out.reply(func() { reply(resp) })
			return
		}
		resp.ProducerID, resp.ProducerEpoch = t.pid, t.epoch
		if t.nextPID >= 0 {
			resp.ProducerID, resp.ProducerEpoch = t.nextPID, 0
		}
		out.reply(func() { reply(resp) })
		c.sendMarkers(out, now, t)
	})
	return out
}

// NextDeadline is when Tick next has work.
func (c *Coordinator) NextDeadline() time.Time {
	if len(c.owned) == 0 {
		return time.Time{}
	}
	if c.nextAbort.IsZero() {
		return time.Now() // first tick arms the timers
	}
	if c.nextExpire.Before(c.nextAbort) {
		return c.nextExpire
	}
	return c.nextAbort
}

// Tick aborts transactions past their timeout (fencing their producer,
// as Kafka does) and removes transactional ids idle for longer than
// transactional.id.expiration.ms.
func (c *Coordinator) Tick(now time.Time) Out {
	var out Out
	if c.nextAbort.IsZero() {
		c.nextAbort, c.nextExpire = now.Add(c.cfg.AbortInterval), now.Add(c.cfg.ExpireInterval)
		return out
	}
	ids := c.sortedIDs()
	if !now.Before(c.nextAbort) {
		c.nextAbort = now.Add(c.cfg.AbortInterval)
		for _, id := range ids {
			t := c.txns[id]
			if t.state != stateOngoing || t.pending || c.loading[t.part] {
				continue
			}
			if now.UnixMilli() > t.startMs+int64(t.timeoutMs) {
				c.fenceAndAbort(&out, now, t, func(*Out, error) {})
			}
		}
	}
	if !now.Before(c.nextExpire) {
		c.nextExpire = now.Add(c.cfg.ExpireInterval)
		for _, id := range ids {
			t := c.txns[id]
			idle := t.state == stateEmpty || t.state == stateCompleteCommit || t.state == stateCompleteAbort
			if !idle || t.pending || c.loading[t.part] || now.UnixMilli() < t.updateMs+c.cfg.IDExpiration.Milliseconds() {
				continue
			}
			c.expire(&out, t)
		}
	}
	return out
}

// expire writes t's tombstone and forgets it once durable.
func (c *Coordinator) expire(out *Out, t *txnState) {
	c.nextID++
	id := c.nextID
	t.pending = true
	out.Appends = append(out.Appends, Append{ID: id, Partition: t.part, Key: key(t.id)})
	c.waits[id] = func(_ *Out, _ time.Time, err error) {
		t.pending = false
		if err == nil && c.txns[t.id] == t {
			delete(c.txns, t.id)
		}
	}
}

func (c *Coordinator) sortedIDs() []string {
	ids := make([]string, 0, len(c.txns))
	for id := range c.txns {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Describe answers one id of DescribeTransactions.
func (c *Coordinator) Describe(now time.Time, id string) kmsg.DescribeTransactionsResponseTransactionState {
	s := kmsg.NewDescribeTransactionsResponseTransactionState()
	s.TransactionalID = id
	s.ProducerID, s.ProducerEpoch = -1, -1
	if id == "" {
		s.ErrorCode = kerr.InvalidRequest.Code
		return s
	}
	if code := c.check(id); code != 0 {
		s.ErrorCode = code
		return s
	}
	t := c.txns[id]
	if t == nil || t.state == stateDead {
		s.ErrorCode = kerr.TransactionalIDNotFound.Code
		return s
	}
	s.State = t.state.String()
	s.TimeoutMillis, s.StartTimestamp = t.timeoutMs, t.startMs
	s.ProducerID, s.ProducerEpoch = t.pid, t.epoch
	for _, tp := range t.sortedTopics() {
		s.Topics = append(s.Topics, kmsg.DescribeTransactionsResponseTransactionStateTopic{Topic: tp.topic, Partitions: tp.parts})
	}
	return s
}

// List answers ListTransactions over the transactions this node
// coordinates.
func (c *Coordinator) List(now time.Time, req *kmsg.ListTransactionsRequest) []kmsg.ListTransactionsResponseTransactionState {
	states := map[string]bool{}
	for _, s := range req.StateFilters {
		states[s] = true
	}
	pids := map[int64]bool{}
	for _, p := range req.ProducerIDFilters {
		pids[p] = true
	}
	var out []kmsg.ListTransactionsResponseTransactionState
	for _, id := range c.sortedIDs() {
		t := c.txns[id]
		if c.loading[t.part] || t.state == stateDead {
			continue
		}
		if len(states) > 0 && !states[t.state.String()] {
			continue
		}
		if len(pids) > 0 && !pids[t.pid] {
			continue
		}
		// Kafka's rule: running longer than the filter, by the start
		// timestamp whatever the state.
		if req.Version >= 1 && req.DurationFilterMillis >= 0 && now.UnixMilli()-t.startMs <= req.DurationFilterMillis {
			continue
		}
		if req.Version >= 2 && req.TransactionalIDPattern != nil && *req.TransactionalIDPattern != "" {
			if !matchPattern(*req.TransactionalIDPattern, id) {
				continue
			}
		}
		s := kmsg.NewListTransactionsResponseTransactionState()
		s.TransactionalID, s.ProducerID, s.TransactionState = id, t.pid, t.state.String()
		out = append(out, s)
	}
	return out
}

// Loading reports whether any owned partition is still loading.
func (c *Coordinator) Loading() bool { return len(c.loading) > 0 }

// Info is one transactional id's state, for tests and tools.
type Info struct {
	ProducerID int64
	Epoch      int16
	State      string
	Partitions int
}

// Info returns id's state.
func (c *Coordinator) Info(id string) (Info, bool) {
	t := c.txns[id]
	if t == nil {
		return Info{}, false
	}
	return Info{ProducerID: t.pid, Epoch: t.epoch, State: t.state.String(), Partitions: t.numParts()}, true
}

// matchPattern reports whether id matches a ListTransactions v2 pattern
// (a regular expression, RE2 syntax; one that does not compile matches
// nothing).
func matchPattern(pattern, id string) bool {
	re, err := regexp.Compile(pattern)
	return err == nil && re.MatchString(id)
}
