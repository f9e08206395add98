package group

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/partition"
	"github.com/samsa-streaming/samsa/internal/storage"
)

var (
	errNoPartition      = errors.New("__consumer_offsets partition is not hosted")
	errNotEnoughBrokers = errors.New("not enough brokers for __consumer_offsets")
)

// Runtime runs the Coordinator for a broker.
//
// Threading: one mutex (mu) serializes every call into the Coordinator and
// every append to __consumer_offsets, so records reach the log in the
// order the state machine produced them. Handlers call in on their own
// goroutines. One goroutine (run) owns the timer: it loads the state at
// start, then calls Tick when the earliest deadline passes and applies
// append completions that arrive from the group-commit flusher. Append
// callbacks never take mu (they may run inside Append, under mu); they
// queue a completion and wake run. Replies are delivered after mu is
// released. Metadata observers likewise only queue (they run under the
// metadata commit lock, and Runtime calls metadata.Commit).
type Runtime struct {
	logger *slog.Logger
	meta   *metadata.Store
	parts  *partition.Manager
	nodeID int32
	now    func() time.Time
	n      int32 // partitions of __consumer_offsets
	rf     int16 // its replication factor when created
	size   int   // brokers the cluster is configured with

	mu    sync.Mutex // guards co and the order of appends
	co    *Coordinator
	armed time.Time // deadline run sleeps until (guarded by mu)

	qmu         sync.Mutex // guards completions and deleted
	completions []completion
	deleted     []string

	createMu   sync.Mutex // serializes creating __consumer_offsets
	topicReady atomic.Bool

	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	started bool

	// led holds the __consumer_offsets partitions whose groups this node
	// has loaded (owned by run); loadedSet is a copy for request
	// goroutines, passDone is closed after every followLeadership pass.
	led       map[int32]bool
	ledMu     sync.Mutex // guards loadedSet and passDone
	loadedSet map[int32]bool
	passDone  chan struct{}

	// ends are other leaders' high watermarks, for lag (lag.go); nil
	// without SetRequester. endsDone is closed when runEnds returns.
	ends     *remoteEnds
	endsDone chan struct{}
}

// completion is an append's completion, or (txn set) a transaction
// marker made durable on a __consumer_offsets partition (CompleteTxn).
type completion struct {
	id  uint64
	err error
	txn *txnMarker
}

type txnMarker struct {
	partition  int32
	producerID int64
	commit     bool
}

// NewRuntime builds the runtime; Start loads the state and starts timers.
func NewRuntime(cfg Config, meta *metadata.Store, parts *partition.Manager, nodeID int32, logger *slog.Logger) *Runtime {
	if t, ok := meta.Image().Topic(Topic); ok {
		// Hashing must match the partitions the topic really has.
		cfg.Partitions = int32(len(t.Partitions))
	}
	var nonce [4]byte
	rand.Read(nonce[:])
	r := &Runtime{
		logger: logger, meta: meta, parts: parts, nodeID: nodeID, now: time.Now, n: cfg.Partitions, rf: max(cfg.ReplicationFactor, 1), size: max(cfg.ClusterSize, 1),
		co:   New(cfg, hex.EncodeToString(nonce[:])),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	r.co.SetOwner(r.Coordinates)
	r.co.SetPartitioner(r.partitionOf)
	r.co.SetLoaded(r.isLoaded)
	r.passDone = make(chan struct{})
	meta.OnCommit(r.onMetadata)
	meta.OnCaughtUp(r.poke)
	return r
}

// Leader returns the node that coordinates group: the leader of its
// __consumer_offsets partition (-1 while that topic does not exist).
func (r *Runtime) Leader(group string) int32 {
	t, ok := r.meta.Image().Topic(Topic)
	if !ok || len(t.Partitions) == 0 {
		return -1
	}
	return t.Partitions[PartitionFor(group, int32(len(t.Partitions)))].Leader
}

// partitionOf is the __consumer_offsets partition of group.
func (r *Runtime) partitionOf(group string) int32 {
	t, ok := r.meta.Image().Topic(Topic)
	if !ok || len(t.Partitions) == 0 {
		return PartitionFor(group, r.n)
	}
	return PartitionFor(group, int32(len(t.Partitions)))
}

// isLoaded reports whether group's partition has been loaded here since
// this node became its leader. Before __consumer_offsets exists every group
// counts as loaded (there is nothing to load).
func (r *Runtime) isLoaded(group string) bool {
	if _, ok := r.meta.Image().Topic(Topic); !ok {
		return true
	}
	p := r.partitionOf(group)
	r.ledMu.Lock()
	defer r.ledMu.Unlock()
	return r.loadedSet[p]
}

// publishLed copies led for request goroutines and ends a pass.
func (r *Runtime) publishLed() {
	cp := make(map[int32]bool, len(r.led))
	for p := range r.led {
		cp[p] = true
	}
	r.ledMu.Lock()
	r.loadedSet = cp
	close(r.passDone)
	r.passDone = make(chan struct{})
	r.ledMu.Unlock()
}

// waitLoaded waits (up to timeout) until every __consumer_offsets partition
// this node leads is loaded: a topic just created has nothing to load,
// and its first group request should not be told to come back later.
func (r *Runtime) waitLoaded(timeout time.Duration) {
	deadline := time.After(timeout)
	for {
		want := r.ledNow()
		r.ledMu.Lock()
		done, all := r.passDone, true
		for p := range want {
			all = all && r.loadedSet[p]
		}
		r.ledMu.Unlock()
		if all || !r.started {
			return
		}
		r.poke()
		select {
		case <-done:
		case <-deadline:
			return
		case <-r.stop:
			return
		}
	}
}

// Coordinates reports whether this node coordinates group. Before
// __consumer_offsets exists, a node answers for every group (it creates
// the topic on the group's first request, as on one node).
//
// A node that has not caught up with the cluster's metadata since it
// started coordinates nothing: its image may name it the leader of
// partitions another broker leads now.
func (r *Runtime) Coordinates(group string) bool {
	if !r.meta.CaughtUp() {
		return false
	}
	l := r.Leader(group)
	return l < 0 || l == r.nodeID
}

// Start loads the groups from __consumer_offsets in the background; until
// that is done, group requests get COORDINATOR_LOAD_IN_PROGRESS.
func (r *Runtime) Start() {
	r.started = true
	go r.run()
	if r.ends != nil {
		r.endsDone = make(chan struct{})
		go r.runEnds(r.stop, r.endsDone)
	}
}

// Close stops the timer goroutine. Appends already issued complete on
// their own; their replies go to connections that are closing anyway.
func (r *Runtime) Close() {
	if !r.started {
		return
	}
	close(r.stop)
	<-r.done
	if r.endsDone != nil {
		<-r.endsDone
	}
}

// onMetadata queues the deletion of offsets of deleted topics, and wakes
// run when leadership of __consumer_offsets partitions may have moved.
func (r *Runtime) onMetadata(prev, _ *metadata.Image, recs []metadata.Record) {
	for _, rec := range recs {
		if rec.Type == metadata.TypePartition || rec.Type == metadata.TypeTopic {
			r.poke()
		}
		if rec.Type != metadata.TypeRemoveTopic {
			continue
		}
		if t, ok := prev.TopicByID(rec.RemoveTopic.ID); ok {
			if t.Name == Topic {
				r.topicReady.Store(false)
			}
			r.qmu.Lock()
			r.deleted = append(r.deleted, t.Name)
			r.qmu.Unlock()
			r.poke()
		}
	}
}

func (r *Runtime) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Runtime) run() {
	defer close(r.done)
	start := r.now()
	if err := r.load(); err != nil {
		r.logger.Error("loading consumer groups; offsets committed before this start may be missing", "err", err)
	}
	r.mu.Lock()
	r.co.FinishLoad(r.now())
	r.led = r.ledNow()
	r.publishLed()
	for _, t := range r.co.OffsetTopics() {
		if _, ok := r.meta.Image().Topic(t); !ok {
			r.qmu.Lock()
			r.deleted = append(r.deleted, t)
			r.qmu.Unlock()
		}
	}
	r.mu.Unlock()
	r.logger.Info("consumer groups loaded", "took", r.now().Sub(start).Round(time.Millisecond))
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		r.mu.Lock()
		now := r.now()
		replies := r.performLocked(now, r.co.Tick(now))
		r.armed = r.co.NextDeadline()
		wait := time.Hour
		if !r.armed.IsZero() {
			wait = max(r.armed.Sub(now), 0)
		}
		r.mu.Unlock()
		deliver(replies)
		r.followLeadership()
		timer.Reset(wait)
		select {
		case <-r.stop:
			return
		case <-r.wake:
		case <-timer.C:
		}
	}
}

// ledNow returns the __consumer_offsets partitions this node leads now.
func (r *Runtime) ledNow() map[int32]bool {
	out := map[int32]bool{}
	t, ok := r.meta.Image().Topic(Topic)
	if !ok || !r.meta.CaughtUp() {
		return out
	}
	for p, pm := range t.Partitions {
		if pm.Leader == r.nodeID {
			out[int32(p)] = true
		}
	}
	return out
}

// followLeadership loads the groups of the __consumer_offsets partitions
// this node has come to lead and forgets those of partitions it lost, so
// the coordinator moves with partition leadership (a group's coordinator
// is its partition's leader, rebuilt from the log on failover).
func (r *Runtime) followLeadership() {
	if r.led == nil {
		return
	}
	defer r.publishLed()
	want := r.ledNow()
	for p := range r.led {
		if !want[p] {
			r.mu.Lock()
			r.co.Unload(p)
			r.mu.Unlock()
			delete(r.led, p)
			r.logger.Info("no longer coordinating the groups of a __consumer_offsets partition", "partition", p)
		}
	}
	for p := range want {
		if r.led[p] {
			continue
		}
		part, ok := r.parts.Get(Topic, p)
		if !ok || !part.IsLeader() {
			continue // not hosted yet, or its leadership not applied yet: next wake
		}
		start := r.now()
		r.mu.Lock()
		r.co.BeginLoad(p)
		r.mu.Unlock()
		err := r.loadPartition(part)
		r.mu.Lock()
		r.co.FinishLoadPartition(r.now(), p)
		r.mu.Unlock()
		if err != nil {
			r.logger.Error("loading a __consumer_offsets partition; its groups may miss offsets", "partition", p, "err", err)
		}
		r.led[p] = true
		r.logger.Info("coordinating the groups of a __consumer_offsets partition", "partition", p, "took", r.now().Sub(start).Round(time.Millisecond))
	}
}

// load replays every partition of __consumer_offsets, one read (up to
// 1 MiB) per lock hold so that requests are answered meanwhile.
func (r *Runtime) load() error {
	t, ok := r.meta.Image().Topic(Topic)
	if !ok || !r.meta.CaughtUp() {
		return nil // followLeadership loads what it leads once caught up
	}
	r.topicReady.Store(true)
	var errs []error
	for p := range int32(len(t.Partitions)) {
		if t.Partitions[p].Leader != r.nodeID {
			continue // another node coordinates its groups
		}
		part, ok := r.parts.Get(Topic, p)
		if !ok {
			errs = append(errs, fmt.Errorf("partition %d: %w", p, errNoPartition))
			continue
		}
		if err := r.loadPartition(part); err != nil {
			errs = append(errs, fmt.Errorf("partition %d: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

func (r *Runtime) loadPartition(part *partition.Partition) error {
	return part.ReadLocal(func(data []byte) (int64, error) {
		topics := &imageTopics{im: r.meta.Image()}
		r.mu.Lock()
		defer r.mu.Unlock()
		now := r.now()
		return WalkLog(data, func(e *Entry) {
			if err := r.co.ReplayEntry(now, part.Index, e, topics); err != nil {
				r.logger.Warn("skipping bad __consumer_offsets record", "partition", part.Index, "offset", e.Offset, "err", err)
			}
		})
	})
}

// performLocked appends what out asks for, in order, and applies every
// completion that is already in (page-cache mode completes inside Append).
// It returns the replies to deliver once mu is released.
func (r *Runtime) performLocked(now time.Time, out Out) []Reply {
	replies := out.Replies
	appends := out.Appends
	for {
		for _, a := range appends {
			r.appendLocked(now, a)
		}
		appends = nil
		r.qmu.Lock()
		cs := r.completions
		r.completions = nil
		var del []string
		if !r.co.Loading() {
			del, r.deleted = r.deleted, nil
		}
		r.qmu.Unlock()
		if len(cs) == 0 && len(del) == 0 {
			return replies
		}
		for _, c := range cs {
			if c.txn != nil {
				r.co.CompleteTxn(c.txn.partition, c.txn.producerID, c.txn.commit)
				continue
			}
			o := r.co.AppendDone(now, c.id, c.err)
			replies = append(replies, o.Replies...)
			appends = append(appends, o.Appends...)
		}
		for _, t := range del {
			o := r.co.DropTopic(now, t)
			appends = append(appends, o.Appends...)
		}
	}
}

func (r *Runtime) appendLocked(now time.Time, a Append) {
	id := a.ID
	done := func(err error) {
		r.qmu.Lock()
		r.completions = append(r.completions, completion{id: id, err: err})
		r.qmu.Unlock()
		r.poke()
	}
	part, ok := r.parts.Get(Topic, a.Partition)
	if !ok {
		done(errNoPartition)
		return
	}
	var res storage.AppendResult
	var err error
	if a.Producer != nil {
		res, err = part.AppendCoordinator(EncodeTxnBatch(a.Records, *a.Producer, now.UnixMilli()), now, done)
	} else {
		res, err = part.Append(EncodeBatch(a.Records, now.UnixMilli()), now, done)
	}
	if err != nil {
		if a.Producer == nil || !expectedTxnError(err) {
			r.logger.Error("appending to __consumer_offsets", "partition", a.Partition, "err", err)
		}
		done(err)
		return
	}
	r.co.Appended(id, res.BaseOffset)
}

// expectedTxnError reports refusals of a transactional commit that are
// the producer's business (fenced, no transaction), not the broker's.
func expectedTxnError(err error) bool {
	return errors.Is(err, storage.ErrInvalidProducerEpoch) || errors.Is(err, storage.ErrInvalidTxnState)
}

func deliver(replies []Reply) {
	for _, rep := range replies {
		if rep.To != nil {
			rep.To.Complete(rep.Resp)
		}
	}
}

// EnsureTopic creates __consumer_offsets if it does not exist yet, as
// Kafka does on the first FindCoordinator for a group.
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
		// offsets.topic.replication.factor, but no more than the cluster
		// is configured to have (one node works alone). Until that many
		// brokers are up the topic is not created, as in Kafka: a topic
		// made with fewer replicas would keep them forever.
		rf := min(r.rf, int16(r.size))
		if have := metadata.UsableBrokers(im, r.nodeID); have < rf {
			return nil, fmt.Errorf("%w: %d of the %d brokers __consumer_offsets needs are up", errNotEnoughBrokers, have, rf)
		}
		return metadata.CreateTopicRecords(im, metadata.CreateTopic{
			Name: Topic, Partitions: r.n, ReplicationFactor: rf, Internal: true,
			Configs: map[string]string{"cleanup.policy": "compact", "segment.bytes": "104857600"},
		}, r.nodeID)
	})
	if err != nil {
		return fmt.Errorf("creating %s: %w", Topic, err)
	}
	r.topicReady.Store(true)
	r.waitLoaded(10 * time.Second)
	return nil
}

// do runs one step of the Coordinator and performs its output.
func (r *Runtime) do(step func(co *Coordinator, now time.Time) Out) {
	if err := r.EnsureTopic(); err != nil {
		r.logger.Error("consumer groups cannot store state", "err", err)
	}
	r.mu.Lock()
	now := r.now()
	replies := r.performLocked(now, step(r.co, now))
	next := r.co.NextDeadline()
	if !next.IsZero() && (r.armed.IsZero() || next.Before(r.armed)) {
		r.armed = next
		r.poke()
	}
	r.mu.Unlock()
	deliver(replies)
}

// JoinGroup answers through reply, usually once the rebalance completes.
func (r *Runtime) JoinGroup(req *kmsg.JoinGroupRequest, clientID, clientHost string, reply func(kmsg.Response)) {
	r.do(func(co *Coordinator, now time.Time) Out {
		return co.JoinGroup(now, req, clientID, clientHost, ReplyFunc(reply))
	})
}

// SyncGroup answers through reply once the leader's assignment is stored.
func (r *Runtime) SyncGroup(req *kmsg.SyncGroupRequest, reply func(kmsg.Response)) {
	r.do(func(co *Coordinator, now time.Time) Out { return co.SyncGroup(now, req, ReplyFunc(reply)) })
}

// Heartbeat answers at once.
func (r *Runtime) Heartbeat(req *kmsg.HeartbeatRequest) (resp *kmsg.HeartbeatResponse) {
	r.read(func(co *Coordinator, now time.Time) { resp = co.Heartbeat(now, req) })
	return resp
}

// LeaveGroup answers at once; members it removes may complete a rebalance.
func (r *Runtime) LeaveGroup(req *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse {
	var resp *kmsg.LeaveGroupResponse
	r.do(func(co *Coordinator, now time.Time) Out {
		var out Out
		resp, out = co.LeaveGroup(now, req)
		return out
	})
	return resp
}

// OffsetCommit answers through reply once the commit is durable.
func (r *Runtime) OffsetCommit(req *kmsg.OffsetCommitRequest, known Known, reply func(kmsg.Response)) {
	r.do(func(co *Coordinator, now time.Time) Out { return co.OffsetCommit(now, req, known, ReplyFunc(reply)) })
}

// TxnOffsetCommit answers through reply once the transactional batch is
// durable; its offsets become visible when CompleteTxn commits them.
func (r *Runtime) TxnOffsetCommit(req *kmsg.TxnOffsetCommitRequest, reply func(kmsg.Response)) {
	im := r.meta.Image()
	known := func(topic string, p int32) bool {
		t, ok := im.Topic(topic)
		return ok && p >= 0 && int(p) < len(t.Partitions)
	}
	r.do(func(co *Coordinator, now time.Time) Out { return co.TxnOffsetCommit(now, req, known, ReplyFunc(reply)) })
}

// CompleteTxn tells the coordinator that a transaction marker (commit or
// abort) of producerID is durable on __consumer_offsets partition
// partition: the producer's pending transactional offsets of that
// partition's groups are committed or dropped. The broker calls it from
// the marker append's completion; like append completions it only
// queues (it may run inside an append, or on the flusher), and the step
// runs under mu before any later request is served, after the
// completions queued before it.
func (r *Runtime) CompleteTxn(partition int32, producerID int64, commit bool) {
	r.qmu.Lock()
	r.completions = append(r.completions, completion{txn: &txnMarker{partition, producerID, commit}})
	r.qmu.Unlock()
	r.poke()
}

// read runs a step that only reads the state, after applying whatever is
// queued (completions, deleted topics), so that it sees every change that
// happened before it was called.
func (r *Runtime) read(step func(co *Coordinator, now time.Time)) {
	r.mu.Lock()
	now := r.now()
	replies := r.performLocked(now, Out{})
	step(r.co, now)
	r.mu.Unlock()
	deliver(replies)
}

// FetchOffsets returns committed offsets (see Coordinator.FetchOffsets).
func (r *Runtime) FetchOffsets(group string, topics []FetchTopic, requireStable bool) (out []FetchedOffset, code int16) {
	r.read(func(co *Coordinator, _ time.Time) { out, code = co.FetchOffsets(group, topics, requireStable) })
	return out, code
}

// OffsetDelete answers through reply once the tombstones are durable.
func (r *Runtime) OffsetDelete(req *kmsg.OffsetDeleteRequest, reply func(kmsg.Response)) {
	r.do(func(co *Coordinator, now time.Time) Out { return co.OffsetDelete(now, req, ReplyFunc(reply)) })
}

// DeleteGroups answers through reply once the tombstones are durable.
func (r *Runtime) DeleteGroups(req *kmsg.DeleteGroupsRequest, reply func(kmsg.Response)) {
	r.do(func(co *Coordinator, now time.Time) Out { return co.DeleteGroups(now, req, ReplyFunc(reply)) })
}

// ListGroups answers at once.
func (r *Runtime) ListGroups(req *kmsg.ListGroupsRequest) (resp *kmsg.ListGroupsResponse) {
	r.read(func(co *Coordinator, _ time.Time) { resp = co.ListGroups(req) })
	return resp
}

// DescribeGroups answers at once.
func (r *Runtime) DescribeGroups(req *kmsg.DescribeGroupsRequest) (resp *kmsg.DescribeGroupsResponse) {
	r.read(func(co *Coordinator, _ time.Time) { resp = co.DescribeGroups(req) })
	return resp
}

// Info summarizes one group (for tests and tools).
func (r *Runtime) Info(id string) (GroupInfo, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.co.Info(id)
}

// imageTopics is the Topics view of a metadata image.
type imageTopics struct {
	im    *metadata.Image
	names []string
}

func (t *imageTopics) ByName(name string) (TopicMeta, bool) {
	tt, ok := t.im.Topic(name)
	if !ok {
		return TopicMeta{}, false
	}
	return TopicMeta{Name: tt.Name, ID: tt.ID, Partitions: int32(len(tt.Partitions))}, true
}

func (t *imageTopics) ByID(id [16]byte) (TopicMeta, bool) {
	tt, ok := t.im.TopicByID(metadata.UUID(id))
	if !ok {
		return TopicMeta{}, false
	}
	return TopicMeta{Name: tt.Name, ID: tt.ID, Partitions: int32(len(tt.Partitions))}, true
}

func (t *imageTopics) Names() []string {
	if t.names == nil {
		t.names = t.im.TopicNames()
	}
	return t.names
}

// ConsumerGroupHeartbeat answers a KIP-848 heartbeat through reply, once
// the records it wrote (and those before it) are durable.
func (r *Runtime) ConsumerGroupHeartbeat(req *kmsg.ConsumerGroupHeartbeatRequest, clientID, clientHost string, reply func(kmsg.Response)) {
	topics := &imageTopics{im: r.meta.Image()}
	r.do(func(co *Coordinator, now time.Time) Out {
		return co.ConsumerGroupHeartbeat(now, req, clientID, clientHost, topics, ReplyFunc(reply))
	})
}

// ConsumerGroupDescribe answers at once.
func (r *Runtime) ConsumerGroupDescribe(req *kmsg.ConsumerGroupDescribeRequest) (resp *kmsg.ConsumerGroupDescribeResponse) {
	topics := &imageTopics{im: r.meta.Image()}
	r.read(func(co *Coordinator, _ time.Time) { resp = co.ConsumerGroupDescribe(req, topics) })
	return resp
}
