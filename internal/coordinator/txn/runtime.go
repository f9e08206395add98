package txn

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/coordinator/group"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/partition"
	"github.com/samsa-streaming/samsa/internal/record"
)

var (
	errNoPartition      = errors.New("__transaction_state partition is not hosted")
	errNotEnoughBrokers = errors.New("not enough brokers for __transaction_state")
)

// MarkerSender writes transaction markers: it sends req to node's
// WriteTxnMarkers (or handles it locally when node is this broker).
type MarkerSender func(node int32, req *kmsg.WriteTxnMarkersRequest) (*kmsg.WriteTxnMarkersResponse, error)

// markerRetry is the pause before markers that could not be written are
// sent again (leader moving, broker down).
const markerRetry = 100 * time.Millisecond

// Runtime runs the Coordinator for a broker, as group.Runtime does for
// groups: one mutex (mu) serializes the state machine and its appends to
// __transaction_state, one goroutine (run) follows the leadership of that
// topic's partitions (loading them), runs timers and applies append
// completions; each marker job runs on a goroutine of its own until every
// partition has its marker, then reports to the state machine.
type Runtime struct {
	logger *slog.Logger
	meta   *metadata.Store
	parts  *partition.Manager
	nodeID int32
	cfg    Config
	send   MarkerSender
	now    func() time.Time

	mu    sync.Mutex // guards co and the order of appends
	co    *Coordinator
	armed time.Time

	qmu         sync.Mutex
	completions []completion

	createMu   sync.Mutex
	topicReady atomic.Bool

	led  map[int32]int32 // partitions loaded here → leader epoch (owned by run)
	wake chan struct{}
	stop chan struct{}
	done chan struct{}
	jobs sync.WaitGroup

	started bool
}

type completion struct {
	id  uint64
	err error
}

// NewRuntime builds the runtime; alloc hands out producer ids, send
// writes markers.
func NewRuntime(cfg Config, meta *metadata.Store, parts *partition.Manager, nodeID int32, alloc func() (int64, error), send MarkerSender, logger *slog.Logger) *Runtime {
	if t, ok := meta.Image().Topic(Topic); ok {
		cfg.Partitions = int32(len(t.Partitions))
	}
	cfg.Partitions = max(cfg.Partitions, 1)
	r := &Runtime{
		logger: logger, meta: meta, parts: parts, nodeID: nodeID, cfg: cfg, send: send, now: time.Now,
		led: map[int32]int32{}, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	r.co = New(cfg, r.partitionOf, alloc)
	meta.OnCommit(func(_, _ *metadata.Image, recs []metadata.Record) {
		for _, rec := range recs {
			if rec.Type == metadata.TypePartition || rec.Type == metadata.TypeTopic || rec.Type == metadata.TypeRemoveTopic {
				r.poke()
				return
			}
		}
	})
	meta.OnCaughtUp(r.poke)
	return r
}

// PartitionFor is the __transaction_state partition of a transactional id.
func (r *Runtime) partitionOf(id string) int32 {
	if t, ok := r.meta.Image().Topic(Topic); ok && len(t.Partitions) > 0 {
		return group.PartitionFor(id, int32(len(t.Partitions)))
	}
	return group.PartitionFor(id, r.cfg.Partitions)
}

// Leader returns the node coordinating id: the leader of its
// __transaction_state partition (-1 while the topic does not exist or the
// partition has no leader).
func (r *Runtime) Leader(id string) int32 {
	t, ok := r.meta.Image().Topic(Topic)
	if !ok || len(t.Partitions) == 0 {
		return -1
	}
	return t.Partitions[group.PartitionFor(id, int32(len(t.Partitions)))].Leader
}

// Start starts following __transaction_state's leadership.
func (r *Runtime) Start() {
	r.started = true
	go r.run()
}

// Close stops the runtime and waits for marker jobs to give up.
func (r *Runtime) Close() {
	if !r.started {
		return
	}
	close(r.stop)
	<-r.done
	r.jobs.Wait()
}

func (r *Runtime) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Runtime) run() {
	defer close(r.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		r.followLeadership()
		r.mu.Lock()
		now := r.now()
		r.performLocked(now, r.co.Tick(now))
		r.armed = r.co.NextDeadline()
		wait := time.Hour
		if !r.armed.IsZero() {
			wait = max(r.armed.Sub(now), 0)
		}
		r.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-r.stop:
			return
		case <-r.wake:
		case <-timer.C:
		}
	}
}

// followLeadership loads the partitions this node came to lead (or leads
// at a new epoch) and forgets the others, so the coordinator of a
// transactional id is always the leader of its partition. A node that has
// not caught up with the cluster's metadata since it started leads
// nothing yet: its image may be one the cluster has left behind.
func (r *Runtime) followLeadership() {
	want := map[int32]int32{}
	if t, ok := r.meta.Image().Topic(Topic); ok && r.meta.CaughtUp() {
		r.topicReady.Store(true)
		for p, pm := range t.Partitions {
			if pm.Leader == r.nodeID {
				want[int32(p)] = pm.LeaderEpoch
			}
		}
	}
	for p, e := range r.led {
		if we, ok := want[p]; !ok || we != e {
			r.mu.Lock()
			r.co.Unload(p)
			r.mu.Unlock()
			delete(r.led, p)
			r.logger.Info("no longer coordinating the transactions of a __transaction_state partition", "partition", p)
		}
	}
	for p, e := range want {
		if _, ok := r.led[p]; ok {
			continue
		}
		part, ok := r.parts.Get(Topic, p)
		if !ok || !part.IsLeader() || part.LeaderEpoch() != e {
			continue // leadership not applied here yet: next wake
		}
		start := r.now()
		r.mu.Lock()
		r.co.BeginLoad(p, e)
		r.mu.Unlock()
		err := r.loadPartition(part)
		r.mu.Lock()
		r.performLocked(r.now(), r.co.FinishLoad(r.now(), p))
		r.mu.Unlock()
		if err != nil {
			r.logger.Error("loading a __transaction_state partition; some transactions may be missing", "partition", p, "err", err)
		}
		r.led[p] = e
		r.logger.Info("coordinating the transactions of a __transaction_state partition", "partition", p, "epoch", e, "took", r.now().Sub(start).Round(time.Millisecond))
	}
}

func (r *Runtime) loadPartition(part *partition.Partition) error {
	return part.ReadLocal(func(data []byte) (int64, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		return group.WalkBatches(data, func(o int64, k, v []byte) {
			if err := r.co.Replay(part.Index, k, v); err != nil {
				r.logger.Warn("skipping bad __transaction_state record", "partition", part.Index, "offset", o, "err", err)
			}
		})
	})
}

// performLocked appends, starts marker jobs and applies completions until
// nothing is left, then delivers the replies (mu is held; replies only
// write to connections' response slots, which never take mu).
func (r *Runtime) performLocked(now time.Time, out Out) {
	replies := out.Replies
	appends, markers := out.Appends, out.Markers
	for {
		for _, a := range appends {
			r.appendLocked(now, a)
		}
		for _, m := range markers {
			r.jobs.Add(1)
			go r.writeMarkers(m)
		}
		appends, markers = nil, nil
		r.qmu.Lock()
		cs := r.completions
		r.completions = nil
		r.qmu.Unlock()
		if len(cs) == 0 {
			break
		}
		for _, c := range cs {
			o := r.co.AppendDone(now, c.id, c.err)
			replies = append(replies, o.Replies...)
			appends = append(appends, o.Appends...)
			markers = append(markers, o.Markers...)
		}
	}
	for _, f := range replies {
		f()
	}
}

func (r *Runtime) appendLocked(now time.Time, a Append) {
	id := a.ID
	done := func(err error) {
		r.qmu.Lock()
		r.completions = append(r.completions, completion{id, err})
		r.qmu.Unlock()
		r.poke()
	}
	part, ok := r.parts.Get(Topic, a.Partition)
	if !ok || !part.IsLeader() {
		done(errNoPartition)
		return
	}
	batch := group.EncodeBatch([]group.Record{{Key: a.Key, Value: a.Value}}, now.UnixMilli())
	if _, err := part.Append(batch, now, done); err != nil {
		r.logger.Warn("appending to __transaction_state", "partition", a.Partition, "err", err)
		done(err)
	}
}

// writeMarkers sends one job's markers to the partitions' leaders until
// each is written, its topic is gone, or this node stops coordinating.
func (r *Runtime) writeMarkers(m Markers) {
	defer r.jobs.Done()
	left := map[TopicPartition]bool{}
	for _, tp := range m.Partitions {
		left[tp] = true
	}
	for len(left) > 0 {
		r.mu.Lock()
		owns := r.co.Owns(m.coordPart, m.CoordinatorEpoch)
		r.mu.Unlock()
		if !owns {
			return // the next coordinator sends them again
		}
		im := r.meta.Image()
		byLeader := map[int32][]TopicPartition{}
		for tp := range left {
			t, ok := im.Topic(tp.Topic)
			if !ok || int(tp.Partition) >= len(t.Partitions) {
				delete(left, tp) // deleted: nothing to mark
				continue
			}
			byLeader[t.Partitions[tp.Partition].Leader] = append(byLeader[t.Partitions[tp.Partition].Leader], tp)
		}
		for leader, tps := range byLeader {
			if leader < 0 {
				continue
			}
			req := kmsg.NewPtrWriteTxnMarkersRequest()
			mk := kmsg.NewWriteTxnMarkersRequestMarker()
			mk.ProducerID, mk.ProducerEpoch, mk.Committed = m.ProducerID, m.ProducerEpoch, m.Commit
			mk.CoordinatorEpoch, mk.TransactionVersion = m.CoordinatorEpoch, m.TransactionVersion
			byTopic := map[string]int{}
			for _, tp := range tps {
				i, ok := byTopic[tp.Topic]
				if !ok {
					i = len(mk.Topics)
					byTopic[tp.Topic] = i
					mk.Topics = append(mk.Topics, kmsg.WriteTxnMarkersRequestMarkerTopic{Topic: tp.Topic})
				}
				mk.Topics[i].Partitions = append(mk.Topics[i].Partitions, tp.Partition)
			}
			req.Markers = []kmsg.WriteTxnMarkersRequestMarker{mk}
			resp, err := r.send(leader, req)
			if err != nil || len(resp.Markers) != 1 {
				continue
			}
			for _, rt := range resp.Markers[0].Topics {
				for _, rp := range rt.Partitions {
					tp := TopicPartition{rt.Topic, rp.Partition}
					switch rp.ErrorCode {
					case 0:
						delete(left, tp)
					case kerr.InvalidProducerEpoch.Code:
						// The partition has seen a newer epoch of this
						// producer: the transaction is over there.
						r.logger.Warn("transaction marker refused: newer producer epoch on the partition", "transactional_id", m.TransactionalID, "partition", tp)
						delete(left, tp)
					case kerr.TransactionCoordinatorFenced.Code:
						return // a newer coordinator owns it
					}
				}
			}
		}
		if len(left) == 0 {
			break
		}
		select {
		case <-r.stop:
			return
		case <-time.After(markerRetry):
		}
	}
	r.mu.Lock()
	r.performLocked(r.now(), r.co.MarkersDone(r.now(), m.ID))
	r.mu.Unlock()
}

// EnsureTopic creates __transaction_state if it does not exist yet, as
// Kafka does on the first FindCoordinator for a transactional id.
func (r *Runtime) EnsureTopic() error {
	if r.topicReady.Load() {
		return nil
	}
	r.createMu.Lock()
	defer r.createMu.Unlock()
	if r.topicReady.Load() {
		return nil
	}
	_, err := r.meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
		if _, ok := im.Topic(Topic); ok {
			return nil, nil
		}
		rf := min(max(r.cfg.ReplicationFactor, 1), int16(max(r.cfg.ClusterSize, 1)))
		if have := metadata.UsableBrokers(im, r.nodeID); have < rf {
			return nil, fmt.Errorf("%w: %d of the %d brokers __transaction_state needs are up", errNotEnoughBrokers, have, rf)
		}
		minISR := min(max(r.cfg.MinISR, 1), int(rf))
		return metadata.CreateTopicRecords(im, metadata.CreateTopic{
			Name: Topic, Partitions: r.cfg.Partitions, ReplicationFactor: rf, Internal: true,
			Configs: map[string]string{
				"cleanup.policy": "compact", "segment.bytes": "104857600",
				"min.insync.replicas": fmt.Sprint(minISR), "compression.type": "uncompressed",
			},
		}, r.nodeID)
	})
	if err != nil {
		return fmt.Errorf("creating %s: %w", Topic, err)
	}
	r.topicReady.Store(true)
	r.waitLoaded(10 * time.Second)
	return nil
}

// waitLoaded waits (up to timeout) until this node coordinates every
// __transaction_state partition it leads: a topic just created has
// nothing to load, and the first transactional request should not be
// told NOT_COORDINATOR by the node FindCoordinator named.
func (r *Runtime) waitLoaded(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		r.poke()
		all := true
		if t, ok := r.meta.Image().Topic(Topic); ok && r.meta.CaughtUp() {
			r.mu.Lock()
			for p, pm := range t.Partitions {
				if pm.Leader == r.nodeID && !r.co.Owns(int32(p), pm.LeaderEpoch) {
					all = false
				}
			}
			r.mu.Unlock()
		}
		if all {
			return
		}
		select {
		case <-r.stop:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// do runs one step of the Coordinator and performs its output.
func (r *Runtime) do(step func(co *Coordinator, now time.Time) Out) {
	r.mu.Lock()
	now := r.now()
	r.performLocked(now, step(r.co, now))
	if next := r.co.NextDeadline(); !next.IsZero() && (r.armed.IsZero() || next.Before(r.armed)) {
		r.armed = next
		r.poke()
	}
	r.mu.Unlock()
}

// InitProducerID answers through reply (see Coordinator.InitProducerID).
func (r *Runtime) InitProducerID(req *kmsg.InitProducerIDRequest, reply func(*kmsg.InitProducerIDResponse)) {
	r.do(func(co *Coordinator, now time.Time) Out { return co.InitProducerID(now, req, reply) })
}

// AddPartitions adds partitions to a transaction; done gets one code.
func (r *Runtime) AddPartitions(id string, pid int64, epoch int16, parts []TopicPartition, version int16, done func(int16)) {
	r.do(func(co *Coordinator, now time.Time) Out {
		return co.AddPartitions(now, id, pid, epoch, parts, version, done)
	})
}

// VerifyPartitions answers a verify-only AddPartitionsToTxn at once.
func (r *Runtime) VerifyPartitions(id string, pid int64, epoch int16, parts []TopicPartition) (codes map[TopicPartition]int16, code int16) {
	r.do(func(co *Coordinator, _ time.Time) Out {
		codes, code = co.VerifyPartitions(id, pid, epoch, parts)
		return Out{}
	})
	return codes, code
}

// EndTxn answers through reply once the decision is durable.
func (r *Runtime) EndTxn(req *kmsg.EndTxnRequest, reply func(*kmsg.EndTxnResponse)) {
	r.do(func(co *Coordinator, now time.Time) Out { return co.EndTxn(now, req, reply) })
}

// Describe answers one id of DescribeTransactions.
func (r *Runtime) Describe(id string) (s kmsg.DescribeTransactionsResponseTransactionState) {
	r.do(func(co *Coordinator, now time.Time) Out { s = co.Describe(now, id); return Out{} })
	return s
}

// List answers ListTransactions for the transactions coordinated here.
func (r *Runtime) List(req *kmsg.ListTransactionsRequest) (out []kmsg.ListTransactionsResponseTransactionState) {
	r.do(func(co *Coordinator, now time.Time) Out { out = co.List(now, req); return Out{} })
	return out
}

// Info returns a transactional id's state (tests and tools).
func (r *Runtime) Info(id string) (Info, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.co.Info(id)
}

// Marker is a control batch for one transaction: the producer's id and
// epoch, and a single control record (Kafka's EndTransactionMarker).
func Marker(pid int64, epoch int16, commit bool, coordinatorEpoch int32, nowMs int64) []byte {
	typ := kmsg.ControlRecordKeyTypeAbort
	if commit {
		typ = kmsg.ControlRecordKeyTypeCommit
	}
	k := kmsg.ControlRecordKey{Version: 0, Type: typ}
	v := kmsg.EndTxnMarker{Version: 0, CoordinatorEpoch: coordinatorEpoch}
	b := &kmsg.RecordBatch{
		FirstTimestamp: nowMs, MaxTimestamp: nowMs, ProducerID: pid, ProducerEpoch: epoch, FirstSequence: -1,
		Attributes: record.TransactionalBit | record.ControlBit,
	}
	return record.EncodeBatch(b, []kmsg.Record{{Key: k.AppendTo(nil), Value: v.AppendTo(nil)}})
}
