package partition

import (
	"errors"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// Errors of this package; the broker maps them to Kafka error codes.
var (
	ErrFencedLeaderEpoch  = errors.New("fenced leader epoch")
	ErrUnknownLeaderEpoch = errors.New("unknown leader epoch")
	// ErrNotLeader: this replica does not lead the partition (any more).
	ErrNotLeader = errors.New("this broker is not the partition's leader")
	// ErrNotEnoughReplicas: an acks=all produce while the ISR is smaller
	// than min.insync.replicas; nothing was appended.
	ErrNotEnoughReplicas = errors.New("fewer in-sync replicas than min.insync.replicas")
	// ErrNotEnoughReplicasAfterAppend: the records were appended, but the
	// ISR shrank below min.insync.replicas before they were replicated.
	ErrNotEnoughReplicasAfterAppend = errors.New("the in-sync replicas fell below min.insync.replicas after the append")
)

// Partition is one hosted replica of a partition, leader or follower. Its
// methods are safe for concurrent use.
type Partition struct {
	Topic   string
	Index   int32
	TopicID [16]byte

	log     *storage.Log
	flusher *Flusher // nil in page-cache mode
	nodeID  int32
	// alterISR asks the controller for an ISR change (set by the Manager;
	// nil in tests without one). It must not block, and need not report
	// the outcome: the leader learns it from the image, and asks again
	// every isrAskAgain until the partition epoch moves.
	alterISR func(p *Partition, req ISRRequest)
	// logFailed tells the Manager the log failed a write or an fsync, so
	// this replica gives up its leadership and its ISR place (set by the
	// Manager; nil in tests without one). It must not block; called once.
	logFailed     func(p *Partition)
	logFailedOnce sync.Once
	// spaceLow tells the Manager a leader append was refused for want of
	// space, so that another in-sync replica may lead; handingOff is set
	// while that change is being committed.
	spaceLow   func(p *Partition)
	handingOff atomic.Bool
	stats      *Stats // the Manager's (nil in tests without one)

	mu          sync.Mutex // guards the fields below
	cfg         config.Topic
	leaderEpoch int32
	hw          storage.Position
	lastFlush   time.Time
	waiters     map[*Waiter]struct{} // woken when the high watermark moves
	endWaiters  map[*Waiter]struct{} // woken by appends (followers' fetches)

	// Replication state, from the metadata image and the followers.
	leader    int32 // the leader's node id (-1: none)
	replicas  []int32
	isr       []int32
	partEpoch int32
	localEnd  storage.Position    // this replica's end as it counts for the HW: durable end in group-commit mode
	followers map[int32]*follower // leader only: each other replica's state
	acks      []pendingAck        // leader only: acks=all appends waiting for the HW, by offset
	// isrPending: an ISR change (isrAsk, last asked at isrAsked) is asked
	// for and the partition epoch has not moved since. It stays pending
	// until it does, whatever the controller's answer: a change whose
	// commit timed out may still commit later, and one that committed may
	// not be applied here yet.
	isrPending bool
	isrAsk     ISRRequest
	isrAsked   time.Time
	// maximalISR is the ISR with the follower this leader asked to add,
	// while that change is pending (nil otherwise): the high watermark and
	// acks=all count the new member at once (Kafka's maximal ISR,
	// KIP-497), since the controller may elect it as soon as the change
	// commits, before this leader has applied it.
	maximalISR []int32
	truncate   bool // follower only: must truncate to the leader's epoch end before fetching
	// followerSynced: this follower has taken its current leader's high
	// watermark at least once (until then its own, from a restart or an
	// old leadership, may show records still to be truncated).
	followerSynced bool
	// epochStart is the log end when this replica's current leadership
	// began (leader only): a follower joins the ISR only past it.
	epochStart int64
	// reopened: the high watermark is still the log end the log was
	// opened with (not yet lowered as a leader's, nor replaced by a
	// leader's as a follower's).
	reopened bool
}

// ISRRequest is an ISR change a leader asks the controller for (Kafka's
// AlterPartition request for one partition).
type ISRRequest struct {
	LeaderEpoch    int32
	PartitionEpoch int32 // the partition epoch the leader has applied
	ISR            []int32
}

// isrAskAgain is how long a leader waits for a pending ISR change to show
// in the image before it asks again (Kafka's leader retries AlterPartition
// until it is answered).
const isrAskAgain = 5 * time.Second

// follower is the leader's view of one other replica.
type follower struct {
	leo int64 // its log end as its last fetch said (-1: not known yet)
	// caughtUp is the last time it had everything the leader had (Kafka's
	// lastCaughtUpTimeMs); the ISR drops it after replica.lag.time.max.ms.
	caughtUp      time.Time
	prevFetch     time.Time
	prevLeaderEnd int64
}

// pendingAck is an acks=all append waiting for the high watermark.
type pendingAck struct {
	need int64 // the HW that covers it: last offset + 1
	done func(error)
}

// Waiter is woken (without blocking the notifier) when any partition it
// watches moves its high watermark (or, for followers' fetches, its end).
type Waiter struct{ C chan struct{} }

// NewWaiter returns a waiter with a one-slot wake-up channel.
func NewWaiter() *Waiter { return &Waiter{C: make(chan struct{}, 1)} }

func (w *Waiter) wake() {
	select {
	case w.C <- struct{}{}:
	default:
	}
}

// newPartition wraps an opened log. The replica starts as its own leader
// with itself as the only replica; applyMetadata sets the real state.
func newPartition(topic string, index int32, id [16]byte, log *storage.Log, cfg config.Topic, epoch int32, fl *Flusher, nodeID int32) *Partition {
	end := log.EndPosition()
	// Everything recovered from disk survived a restart; an unclean
	// restart has already truncated what was torn.
	return &Partition{
		Topic: topic, Index: index, TopicID: id, log: log, flusher: fl, nodeID: nodeID, cfg: cfg,
		leaderEpoch: epoch, hw: end, localEnd: end, lastFlush: time.Now(),
		waiters: map[*Waiter]struct{}{}, endWaiters: map[*Waiter]struct{}{},
		leader: nodeID, replicas: []int32{nodeID}, isr: []int32{nodeID}, reopened: true,
	}
}

// Log returns the partition's log.
func (p *Partition) Log() *storage.Log { return p.log }

// Config returns the topic configuration in effect.
func (p *Partition) Config() config.Topic {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg
}

// SetConfig applies a changed topic configuration.
func (p *Partition) SetConfig(c config.Topic) {
	p.mu.Lock()
	p.cfg = c
	p.mu.Unlock()
}

// partitionEpoch is the partition epoch of the image last applied.
func (p *Partition) partitionEpoch() int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.partEpoch
}

// LeaderEpoch is the current leader epoch.
func (p *Partition) LeaderEpoch() int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leaderEpoch
}

// IsLeader reports whether this replica leads the partition.
func (p *Partition) IsLeader() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leader == p.nodeID
}

// CheckEpoch validates a client's view of the leader epoch; -1 means the
// client does not say.
func (p *Partition) CheckEpoch(current int32) error {
	if current < 0 {
		return nil
	}
	e := p.LeaderEpoch()
	switch {
	case current < e:
		return ErrFencedLeaderEpoch
	case current > e:
		return ErrUnknownLeaderEpoch
	}
	return nil
}

// HighWatermark is the offset below which records are visible.
func (p *Partition) HighWatermark() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hw.Offset
}

func (p *Partition) hwPosition() storage.Position {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hw
}

// Append writes one validated batch as the leader and returns where it
// went. done, if not nil, is called exactly once, possibly before Append
// returns, when the append may be acknowledged with acks=all: every
// in-sync replica has it (and, in group-commit mode, it is fsynced). err is
// non-nil if that cannot happen (leadership lost, the ISR fell below
// min.insync.replicas, the flush failed). A caller that passes done asks
// for acks=all: with fewer in-sync replicas than min.insync.replicas the
// batch is refused (ErrNotEnoughReplicas) and done is not called.
func (p *Partition) Append(batch []byte, now time.Time, done func(error)) (storage.AppendResult, error) {
	return p.append(batch, now, done, p.log.Append)
}

// AppendCoordinator is Append for batches a coordinator writes for a
// producer: transaction markers, and the group coordinator's
// transactional offset commits. The log checks producer epochs (and the
// coordinator epoch of markers) but not sequence numbers (Kafka's
// AppendOrigin.COORDINATOR).
func (p *Partition) AppendCoordinator(batch []byte, now time.Time, done func(error)) (storage.AppendResult, error) {
	return p.append(batch, now, done, p.log.AppendCoordinator)
}

// LastStableOffset is the offset below which every transaction is
// decided (committed or aborted) and replicated: what read_committed
// consumers may read up to (Kafka's LSO). It is the high watermark when no
// transaction is open below it.
func (p *Partition) LastStableOffset() int64 { return p.lastStable().Offset }

func (p *Partition) lastStable() storage.Position { return p.log.LastStable(p.hwPosition()) }

// ReadCommitted reads like Read but only below the last stable offset,
// and returns the aborted transactions that overlap what was read (for
// the fetch response's aborted_transactions), with the last stable offset.
func (p *Partition) ReadCommitted(offset int64, maxBytes int32, minOneBatch bool) (storage.Slice, []storage.AbortedTxn, int64, error) {
	lso := p.lastStable()
	s, err := p.log.Read(offset, maxBytes, minOneBatch, lso)
	if err != nil || s.Size == 0 {
		return s, nil, lso.Offset, err
	}
	// The read ends inside or at the end of what it returned; the
	// aborted list may cover more than needed, which clients ignore.
	return s, p.log.AbortedTransactions(offset, lso.Offset), lso.Offset, nil
}

func (p *Partition) append(batch []byte, now time.Time, done func(error), write func([]byte, int32, time.Time) (storage.AppendResult, error)) (storage.AppendResult, error) {
	p.mu.Lock()
	if p.leader != p.nodeID {
		p.mu.Unlock()
		return storage.AppendResult{}, ErrNotLeader
	}
	if done != nil && len(p.isr) < p.cfg.MinInsyncReplicas {
		p.mu.Unlock()
		return storage.AppendResult{}, ErrNotEnoughReplicas
	}
	epoch := p.leaderEpoch
	p.mu.Unlock()
	res, err := write(batch, epoch, now)
	if err != nil {
		if errors.Is(err, storage.ErrLogFailed) {
			p.failed()
		} else if errors.Is(err, storage.ErrNoSpace) && p.spaceLow != nil && p.handingOff.CompareAndSwap(false, true) {
			p.spaceLow(p)
		}
		return res, err
	}
	p.mu.Lock()
	// Alone in the ISR in page-cache mode (one node, or every follower
	// out of sync): the high watermark moves to this append now, so the
	// ack is answered here without queuing.
	isr := p.countedISR()
	direct := done != nil && p.flusher == nil && len(isr) == 1 && isr[0] == p.nodeID
	if done != nil && !direct {
		p.addAckLocked(res.LastOffset+1, done)
	}
	if !res.Duplicate && len(p.endWaiters) > 0 {
		p.wakeEndLocked()
	}
	if p.flusher == nil {
		if !res.Duplicate && res.End.Offset > p.localEnd.Offset {
			p.localEnd = res.End
		}
		p.advanceLocked() // unlocks
		if direct {
			done(nil)
		}
	} else {
		p.mu.Unlock()
		// A duplicate was appended (and flushed) when it first arrived;
		// asking for a flush is harmless and keeps one path.
		p.flusher.enqueue(p, nil)
	}
	return res, nil
}

// failed reports this replica's log failure to the Manager, once.
func (p *Partition) failed() {
	p.logFailedOnce.Do(func() {
		if p.logFailed != nil {
			p.logFailed(p)
		}
	})
}

// addAckLocked queues an acks=all completion, in offset order.
func (p *Partition) addAckLocked(need int64, done func(error)) {
	n := len(p.acks)
	if n == 0 || p.acks[n-1].need <= need {
		p.acks = append(p.acks, pendingAck{need, done})
		return
	}
	i := sort.Search(n, func(i int) bool { return p.acks[i].need > need })
	p.acks = slices.Insert(p.acks, i, pendingAck{need, done})
}

// flushed is called by the flusher with the end position an fsync
// covered (or the error it failed with).
func (p *Partition) flushed(end storage.Position, err error) {
	p.mu.Lock()
	if err != nil {
		acks := p.acks
		p.acks = nil
		p.mu.Unlock()
		for _, a := range acks {
			a.done(err)
		}
		if errors.Is(err, storage.ErrLogFailed) {
			p.failed()
		}
		return
	}
	if end.Offset > p.localEnd.Offset {
		p.localEnd = end
	}
	p.advanceLocked()
}

// advanceLocked moves the high watermark as far as the replicas allow,
// answers the acks=all appends it covers and wakes consumers. Called with
// mu held; it releases it.
//
// On the leader the high watermark is the smallest log end among the
// in-sync replicas (the leader's own counted as durable in group-commit
// mode); a follower takes the leader's, capped by its own end.
func (p *Partition) advanceLocked() {
	hw := p.localEnd.Offset
	if p.leader == p.nodeID {
		// Strict min.insync.replicas (KIP-966): with fewer in-sync
		// replicas than that, a replicated partition's high watermark
		// stands still, so the replicas that left the ISR meanwhile (its
		// eligible leader replicas) have everything committed.
		if len(p.replicas) > 1 && len(p.countedISR()) < p.cfg.MinInsyncReplicas {
			hw = p.hw.Offset
		}
		for _, r := range p.countedISR() {
			if r == p.nodeID {
				continue
			}
			f := p.followers[r]
			if f == nil || f.leo < 0 {
				hw = min(hw, p.hw.Offset) // not heard from yet: no progress
				continue
			}
			hw = min(hw, f.leo)
		}
	}
	var ws []*Waiter
	if hw > p.hw.Offset {
		pos := p.localEnd
		if hw != pos.Offset {
			var ok bool
			if pos, ok = p.log.PositionOf(hw); !ok {
				hw = p.hw.Offset // not a batch boundary here (yet): wait
			}
		}
		if hw > p.hw.Offset {
			p.hw = pos
			ws = make([]*Waiter, 0, len(p.waiters))
			for w := range p.waiters {
				ws = append(ws, w)
			}
		}
	}
	var ready []pendingAck
	var short bool
	if n := sort.Search(len(p.acks), func(i int) bool { return p.acks[i].need > p.hw.Offset }); n > 0 {
		ready = slices.Clone(p.acks[:n])
		p.acks = slices.Delete(p.acks, 0, n)
		short = len(p.isr) < p.cfg.MinInsyncReplicas
	}
	p.mu.Unlock()
	for _, w := range ws {
		w.wake()
	}
	for _, a := range ready {
		if short {
			a.done(ErrNotEnoughReplicasAfterAppend)
		} else {
			a.done(nil)
		}
	}
}

// countedISR is the ISR the high watermark waits for: the applied one,
// with the follower asked into it while that change is pending. Called
// with mu held.
func (p *Partition) countedISR() []int32 {
	if p.maximalISR != nil {
		return p.maximalISR
	}
	return p.isr
}

func (p *Partition) wakeEndLocked() {
	for w := range p.endWaiters {
		w.wake()
	}
}

// Watch registers w to be woken when the high watermark moves.
func (p *Partition) Watch(w *Waiter) {
	p.mu.Lock()
	p.waiters[w] = struct{}{}
	p.mu.Unlock()
}

// Unwatch removes w.
func (p *Partition) Unwatch(w *Waiter) {
	p.mu.Lock()
	delete(p.waiters, w)
	delete(p.endWaiters, w)
	p.mu.Unlock()
}

// WatchEnd registers w to be woken by appends (a follower's fetch waits
// for new records, not for the high watermark, which it moves itself).
func (p *Partition) WatchEnd(w *Waiter) {
	p.mu.Lock()
	p.endWaiters[w] = struct{}{}
	p.mu.Unlock()
}

// Read returns up to maxBytes of visible record data starting at offset.
func (p *Partition) Read(offset int64, maxBytes int32, minOneBatch bool) (storage.Slice, error) {
	return p.log.Read(offset, maxBytes, minOneBatch, p.hwPosition())
}

// ReadReplica returns up to maxBytes from offset up to the log end, for a
// follower's fetch: followers copy what the leader has, committed or not.
func (p *Partition) ReadReplica(offset int64, maxBytes int32) (storage.Slice, error) {
	return p.log.Read(offset, maxBytes, true, storage.Position{Offset: -1})
}

// flushIfDue fsyncs the log if its flush.ms has elapsed (page-cache mode
// background flushing).
func (p *Partition) flushIfDue(now time.Time) error {
	p.mu.Lock()
	interval := p.cfg.FlushInterval
	due := interval > 0 && now.Sub(p.lastFlush) >= interval
	if due {
		p.lastFlush = now
	}
	p.mu.Unlock()
	if !due {
		return nil
	}
	defer p.observeFlush(time.Now())
	_, err := p.log.Flush()
	return err
}
