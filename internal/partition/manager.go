package partition

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/interbroker"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/storage"
)

var errFlusherClosed = errors.New("broker is shutting down")

// TopicPartition names a partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Manager owns every hosted partition and keeps the set in step with the
// metadata image.
type Manager struct {
	logger  *slog.Logger
	cfg     *config.Config
	dir     *storage.Dir
	flusher *Flusher

	mu    sync.RWMutex // guards parts
	parts map[TopicPartition]*Partition

	// caughtUp is set once the node has caught up with the cluster's
	// metadata (Attach): the replicas follow the images from then on.
	caughtUp atomic.Bool

	// timed holds the partitions with a finite flush.ms, the only ones
	// the background flusher looks at (it used to visit every partition
	// ten times a second: 15% of a core with 100,000 idle partitions).
	tmu   sync.Mutex
	timed map[*Partition]struct{}

	// cleanerSettings are the broker-level cleaner settings with the
	// dynamic ones applied; cleanerWake tells the cleaner they changed.
	cleanerSettings atomic.Pointer[cleanerSettings]
	cleanerWake     chan struct{}

	// Replication: the fetchers copying from each leader this broker
	// follows, and the ISR changes this broker's leaderships ask for.
	fmu      sync.Mutex // guards fetchers
	fetchers map[int32]*fetcher
	meta     Committer
	isrQueue chan isrChange
	// dialer reaches leaders' inter-broker listeners (TLS, SASL); nil:
	// plain TCP. Set by SetDialer before Attach.
	dialer *interbroker.Dialer

	// Replication throttles: bytes this broker sends as a leader and
	// fetches as a follower for throttled replicas.
	leaderQuota, followerQuota *Quota

	stop chan struct{}
	wg   sync.WaitGroup

	// Large creations (asyncCreateMin partitions or more to make here)
	// run on a goroutine of their own instead of inside Apply, which runs
	// in the metadata quorum's apply loop: making thousands of log files
	// there would stall the quorum (heartbeats, elections). latest is the
	// newest image Apply saw; createMu serializes a creation with the
	// removal of its topic.
	latest   atomic.Pointer[metadata.Image]
	createMu sync.Mutex
	creating sync.Map // topic id -> struct{}: a creation is queued or running

	stats Stats // background work, for metrics (metrics.go)
}

// asyncCreateMin is the number of partitions to create here from which
// Apply hands the work to a goroutine (see Manager.latest).
const asyncCreateMin = 1000

// Committer commits metadata changes: *metadata.Store.
type Committer interface {
	CommitContext(ctx context.Context, plan func(im *metadata.Image) ([]metadata.Record, error)) (*metadata.Image, error)
	// CaughtUp reports whether this node has caught up with the cluster's
	// metadata since it started; OnCaughtUp registers a function called
	// once when it does (metadata.Store).
	CaughtUp() bool
	OnCaughtUp(fn func())
	Image() *metadata.Image
}

type isrChange struct {
	p   *Partition
	req ISRRequest
}

// NewManager opens the log directory, adopts the logs of every partition in
// im, and deletes logs whose topic is gone (a deletion interrupted by a
// crash).
func NewManager(cfg *config.Config, im *metadata.Image, logger *slog.Logger) (*Manager, error) {
	dcfg := storageConfig(cfg.ResolveTopic(nil))
	dcfg.MaxOpenFiles = cfg.MaxOpenFiles
	dcfg.MinFreeBytes = cfg.MinFreeBytes
	dir, err := storage.OpenDir(cfg.DataDir, dcfg, logger)
	if err != nil {
		return nil, err
	}
	m := &Manager{logger: logger, cfg: cfg, dir: dir, parts: map[TopicPartition]*Partition{}, stop: make(chan struct{}),
		cleanerWake: make(chan struct{}, 1), fetchers: map[int32]*fetcher{}, isrQueue: make(chan isrChange, 4096),
		leaderQuota: NewQuota(cfg.LeaderThrottleRate), followerQuota: NewQuota(cfg.FollowerThrottleRate)}
	if cfg.FlushMode == "group-commit" {
		m.flusher = NewFlusher(logger)
	}
	for tp, l := range dir.Logs() {
		if im.Index == 0 {
			// An image that has applied nothing (a fresh node catching up
			// with its cluster, or a single-node log waiting to be
			// imported) is no evidence that a topic is gone.
			break
		}
		t, ok := im.Topic(tp.Topic)
		if ok && int(tp.Partition) < len(t.Partitions) && l.TopicID() != t.ID && damagedTopicID(l.TopicID(), t.ID) {
			// partition.metadata was missing or damaged (set aside at
			// open), not a log of an older topic of the same name.
			logger.Warn("partition.metadata missing or damaged; writing it again from the cluster metadata",
				"topic", tp.Topic, "partition", tp.Partition, "stored", uuidString(l.TopicID()), "metadata", uuidString(t.ID))
			if err := l.SetTopicID(t.ID); err != nil {
				return nil, err
			}
		}
		if !ok || int(tp.Partition) >= len(t.Partitions) || l.TopicID() != t.ID {
			logger.Info("deleting log of a deleted topic", "topic", tp.Topic, "partition", tp.Partition)
			if err := dir.DeleteLog(tp.Topic, tp.Partition); err != nil {
				return nil, err
			}
		} else if !slices.Contains(t.Partitions[tp.Partition].Replicas, cfg.NodeID) {
			logger.Info("deleting log of a replica moved to other brokers", "topic", tp.Topic, "partition", tp.Partition)
			if err := dir.DeleteLog(tp.Topic, tp.Partition); err != nil {
				return nil, err
			}
		}
	}
	for _, name := range im.TopicNames() {
		t, _ := im.Topic(name)
		if err := m.ensureTopic(im, t); err != nil {
			return nil, err
		}
	}
	m.wg.Add(1)
	go m.backgroundFlush()
	if cfg.ScrubRate > 0 {
		m.wg.Add(1)
		go m.backgroundScrub(cfg.ScrubRate)
	}
	m.reconfigureThrottles(im)
	m.reconfigureCleaner(im)
	cs := m.cleanerSettings.Load()
	m.wg.Add(1)
	go m.backgroundRetention(*cs)
	if cs.enabled {
		m.wg.Add(1)
		go m.backgroundCleaner()
	}
	return m, nil
}

// reconfigureThrottles applies the broker's replication throttle rates
// (static or dynamic) from im.
func (m *Manager) reconfigureThrottles(im *metadata.Image) {
	c := m.cfg.WithDynamic(im.BrokerConfigs(m.cfg.NodeID))
	m.leaderQuota.SetRate(c.LeaderThrottleRate)
	m.followerQuota.SetRate(c.FollowerThrottleRate)
}

// LeaderQuota is the leader.replication.throttled.rate quota: the Fetch
// handler counts what it sends to followers of throttled replicas.
func (m *Manager) LeaderQuota() *Quota { return m.leaderQuota }

func (m *Manager) topicConfig(im *metadata.Image, name string) config.Topic {
	return m.cfg.WithDynamic(im.BrokerConfigs(m.cfg.NodeID)).ResolveTopic(im.Configs(metadata.ResourceTopic, name))
}

func storageConfig(t config.Topic) storage.Config {
	return storage.Config{
		SegmentBytes:       t.SegmentBytes,
		WritebackBytes:     t.WritebackBytes,
		SegmentRoll:        t.SegmentRoll,
		IndexIntervalBytes: t.IndexIntervalBytes,
		SegmentIndexBytes:  t.SegmentIndexBytes,
		FlushMessages:      t.FlushMessages,
		FlushInterval:      t.FlushInterval,
		CleanupDelete:      t.CleanupDelete,
		CleanupCompact:     t.CleanupCompact,
		RetentionTime:      t.Retention,
		RetentionBytes:     t.RetentionBytes,
		FileDeleteDelay:    t.FileDeleteDelay,
		DeleteRetention:    t.DeleteRetention,
		MinCompactionLag:   t.MinCompactionLag,
		MaxCompactionLag:   t.MaxCompactionLag,
		MinCleanableRatio:  t.MinCleanableRatio,
	}
}

// ensureTopic opens or creates the logs of the partitions of t that have a
// replica on this broker.
// missing counts the partitions of t this broker should host and does not.
func (m *Manager) missing(t *metadata.Topic) int {
	n := 0
	m.mu.RLock()
	defer m.mu.RUnlock()
	for i, pm := range t.Partitions {
		if slices.Contains(pm.Replicas, m.cfg.NodeID) {
			if _, ok := m.parts[TopicPartition{t.Name, int32(i)}]; !ok {
				n++
			}
		}
	}
	return n
}

// createAsync makes the logs of a large topic off the metadata apply
// loop, then applies the newest image to each of its partitions. Until a
// partition exists here, requests for it get NOT_LEADER_OR_FOLLOWER or
// UNKNOWN_TOPIC_OR_PARTITION, which clients retry, as with Kafka while a
// broker is still creating logs.
func (m *Manager) createAsync(id metadata.UUID) {
	defer m.wg.Done()
	defer m.creating.Delete(id)
	start := time.Now()
	m.createMu.Lock()
	defer m.createMu.Unlock()
	im := m.latest.Load()
	t0, ok := im.TopicByID(id)
	if !ok {
		return // deleted meanwhile
	}
	if err := m.ensureTopic(im, t0); err != nil {
		m.logger.Error("cannot host partition", "topic", t0.Name, "err", err)
	}
	// Apply may have moved on while the files were made: sync from the
	// newest image (a partition never goes back to an older epoch).
	im = m.latest.Load()
	t, ok := im.TopicByID(id)
	if !ok {
		// Deleted while created (before Apply waited for us): remove what
		// was made, as Apply's removal would have.
		for i := range t0.Partitions {
			m.removeReplica(t0.Name, int32(i))
		}
		return
	}
	if !m.caughtUp.Load() {
		return // Attach syncs every replica once the node has caught up
	}
	for i := range t.Partitions {
		m.syncReplica(im, t, int32(i))
	}
	m.logger.Info("created the logs of a large topic", "topic", t.Name, "partitions", len(t.Partitions), "took", time.Since(start).Round(time.Millisecond))
}

// createWorkers bounds the logs created at once for a new topic: creating
// one is a few file creations and fsyncs, mostly waiting on the disk, so
// a topic of thousands of partitions is created by several at a time.
const createWorkers = 16

func (m *Manager) ensureTopic(im *metadata.Image, t *metadata.Topic) error {
	tc := m.topicConfig(im, t.Name)
	var missing []int32
	m.mu.RLock()
	for i, pm := range t.Partitions {
		if !slices.Contains(pm.Replicas, m.cfg.NodeID) {
			continue // another broker's
		}
		if _, ok := m.parts[TopicPartition{t.Name, int32(i)}]; !ok {
			missing = append(missing, int32(i))
		}
	}
	m.mu.RUnlock()
	var (
		wg   sync.WaitGroup
		next atomic.Int64
		emu  sync.Mutex
		errs []error
	)
	host := func(i int32) error {
		l, ok := m.dir.Log(t.Name, i)
		if ok {
			l.SetConfig(storageConfig(tc))
		} else {
			var err error
			if l, err = m.dir.CreateLog(t.Name, i, t.ID, storageConfig(tc)); err != nil {
				return fmt.Errorf("creating log %s-%d: %w", t.Name, i, err)
			}
		}
		p := newPartition(t.Name, i, t.ID, l, tc, t.Partitions[i].LeaderEpoch, m.flusher, m.cfg.NodeID)
		p.alterISR = m.alterISR
		p.logFailed = m.logFailed
		p.spaceLow = m.spaceLow
		p.stats = &m.stats
		m.mu.Lock()
		m.parts[TopicPartition{t.Name, i}] = p
		m.mu.Unlock()
		m.noteFlushTimer(p, tc)
		return nil
	}
	for range min(createWorkers, len(missing)) {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= len(missing) {
					return
				}
				if err := host(missing[k]); err != nil {
					emu.Lock()
					errs = append(errs, err)
					emu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d partitions: %w", len(errs), len(missing), errs[0])
	}
	return nil
}

// Apply brings the hosted partitions in line with a new image: it is
// registered as a metadata commit observer.
func (m *Manager) Apply(prev, next *metadata.Image, recs []metadata.Record) {
	for _, r := range recs {
		switch r.Type {
		case metadata.TypeRemoveTopic:
			t, ok := prev.TopicByID(r.RemoveTopic.ID)
			if ok {
				m.removeTopic(t)
			}
		case metadata.TypeConfig:
			if r.Config.ResourceType == metadata.ResourceTopic {
				m.reconfigure(next, r.Config.ResourceName)
			} else {
				for _, n := range next.TopicNames() {
					m.reconfigure(next, n)
				}
				m.reconfigureThrottles(next)
				m.reconfigureCleaner(next)
			}
		}
	}
	brokersChanged := false
	// Each topic's logs are made once per change, however many of its
	// partitions it touches: a topic of 100,000 partitions arrives as
	// 100,000 records.
	m.latest.Store(next)
	ensured := map[metadata.UUID]bool{}
	for _, r := range recs {
		switch r.Type {
		case metadata.TypePartition:
			if t, ok := next.TopicByID(r.Partition.TopicID); ok {
				if !ensured[t.ID] {
					ensured[t.ID] = true
					if _, busy := m.creating.Load(t.ID); busy {
						// Being created in the background: it syncs every
						// partition from the newest image when done.
					} else if m.missing(t) >= asyncCreateMin {
						m.creating.Store(t.ID, struct{}{})
						m.wg.Add(1)
						go m.createAsync(t.ID)
					} else if err := m.ensureTopic(next, t); err != nil {
						m.logger.Error("cannot host partition", "topic", t.Name, "err", err)
					}
				}
				if m.caughtUp.Load() {
					m.syncReplica(next, t, r.Partition.Partition)
				}
			}
		case metadata.TypeBroker, metadata.TypeFence:
			brokersChanged = true
		}
	}
	if brokersChanged && m.caughtUp.Load() {
		// A leader may have come back at another address.
		for _, p := range m.All() {
			if t, ok := next.Topic(p.Topic); ok {
				m.syncReplica(next, t, p.Index)
			}
		}
	}
}

// syncReplica applies partition i of t from im to its hosted replica, if
// any, and moves it to the fetcher of its leader when it follows. A
// replica this broker no longer has (a reassignment moved it away) is
// deleted.
func (m *Manager) syncReplica(im *metadata.Image, t *metadata.Topic, i int32) {
	p, ok := m.Get(t.Name, i)
	if !ok || int(i) >= len(t.Partitions) {
		return
	}
	pm := t.Partitions[i]
	if !slices.Contains(pm.Replicas, m.cfg.NodeID) {
		m.removeReplica(t.Name, i)
		return
	}
	follow := p.applyMetadata(pm, time.Now())
	tp := TopicPartition{t.Name, i}
	addr := ""
	if b, ok := im.Broker(pm.Leader); ok && follow {
		addr = net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
	}
	m.fmu.Lock()
	defer m.fmu.Unlock()
	if m.fetchers == nil {
		return // closing
	}
	for id, f := range m.fetchers {
		if id == pm.Leader && f.addr == addr {
			continue
		}
		// Not this partition's fetcher (any more). One left with nothing
		// to fetch, or for a leader now at another address, goes.
		if f.remove(tp) || id == pm.Leader {
			f.close()
			delete(m.fetchers, id)
		}
	}
	if addr == "" {
		return
	}
	f := m.fetchers[pm.Leader]
	if f == nil {
		f = newFetcher(pm.Leader, addr, m.cfg.NodeID, m.followerQuota, m.dialer, m.logger)
		m.fetchers[pm.Leader] = f
	}
	f.add(p)
}

// SetDialer makes followers reach their leaders with d (the inter-broker
// listener's TLS and SASL). Call it before Attach.
func (m *Manager) SetDialer(d *interbroker.Dialer) { m.dialer = d }

// Attach gives the manager the metadata store its leaders propose ISR
// changes to, syncs every hosted replica with its newest image (followers start
// fetching), and starts the ISR maintenance.
//
// The replicas take their leaders, ISRs and epochs from the metadata only
// once the node has caught up with the cluster's (metadata.Store's
// CaughtUp): the image a restarted node opens with may be one the cluster
// has left behind, and a leader that counted an ISR from it could move
// its high watermark past records a member of the real ISR never had.
func (m *Manager) Attach(meta Committer) {
	m.meta = meta
	sync := func() {
		im := meta.Image()
		m.caughtUp.Store(true)
		for _, p := range m.All() {
			if t, ok := im.Topic(p.Topic); ok {
				m.syncReplica(im, t, p.Index)
			}
		}
	}
	meta.OnCaughtUp(sync)
	if meta.CaughtUp() {
		sync()
	}
	m.wg.Add(1)
	go m.maintainISR()
}

// alterISR queues an ISR change asked for by a leader (never blocks: a
// full queue drops it and the leader asks again later).
// logFailed is told that p's log failed a write or an fsync (a full or
// failing disk): the log takes no appends until the broker restarts, so
// this broker gives up p's leadership and its ISR place, and another
// in-sync replica leads (Kafka's controller does the same when a broker
// reports an offline log directory). It retries until the change is
// committed or the broker closes.
func (m *Manager) logFailed(p *Partition) {
	m.logger.Error("a log failed; giving up its leadership and ISR place until restart",
		"topic", p.Topic, "partition", p.Index, "err", p.log.Failed())
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			if m.meta != nil {
				ctx, cancel := context.WithTimeout(context.Background(), isrCommitTimeout)
				_, err := m.meta.CommitContext(ctx, func(im *metadata.Image) ([]metadata.Record, error) {
					return metadata.ResignRecords(im, p.Topic, p.Index, m.cfg.NodeID), nil
				})
				cancel()
				if err == nil {
					return
				}
				m.logger.Warn("giving up a failed log's leadership not committed; retrying", "topic", p.Topic, "partition", p.Index, "err", err)
			}
			select {
			case <-m.stop:
				return
			case <-time.After(time.Second):
			}
		}
	}()
}

// spaceLow is told that a leader append of p was refused for want of
// space (log.dir.min.free.bytes, or a full disk): if another in-sync
// replica can lead, this broker hands it p's leadership and leaves the
// ISR, so producers carry on there; it catches up as a follower once its
// space returns. With no other replica it keeps the leadership and
// refuses writes until space returns.
func (m *Manager) spaceLow(p *Partition) {
	if m.meta == nil {
		p.handingOff.Store(false)
		return
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer func() {
			// At most one attempt a second per partition, however many
			// appends are refused meanwhile.
			select {
			case <-m.stop:
			case <-time.After(time.Second):
			}
			p.handingOff.Store(false)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), isrCommitTimeout)
		defer cancel()
		var moved bool
		_, err := m.meta.CommitContext(ctx, func(im *metadata.Image) ([]metadata.Record, error) {
			recs := metadata.HandOffRecords(im, p.Topic, p.Index, m.cfg.NodeID)
			moved = len(recs) > 0
			return recs, nil
		})
		switch {
		case err != nil:
			m.logger.Warn("handing off the leadership of a partition short of space not committed", "topic", p.Topic, "partition", p.Index, "err", err)
		case moved:
			m.logger.Warn("log dir short of space: handed the partition's leadership to another in-sync replica", "topic", p.Topic, "partition", p.Index)
		}
	}()
}

func (m *Manager) alterISR(p *Partition, req ISRRequest) {
	select {
	case m.isrQueue <- isrChange{p, req}:
	default: // the leader asks again after isrAskAgain
	}
}

// maintainISR commits the queued ISR changes, all queued ones in one
// metadata change, and every half replica.lag.time.max.ms drops laggards.
func (m *Manager) maintainISR() {
	defer m.wg.Done()
	lag := m.cfg.ReplicaLagTimeMax
	tick := time.NewTicker(max(lag/2, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case now := <-tick.C:
			for _, p := range m.All() {
				p.checkLaggards(now, lag)
			}
		case c := <-m.isrQueue:
			batch := []isrChange{c}
			for more := true; more && len(batch) < 1000; {
				select {
				case c := <-m.isrQueue:
					batch = append(batch, c)
				default:
					more = false
				}
			}
			m.commitISR(batch)
		}
	}
}

// isrCommitTimeout bounds one ISR change's wait for the quorum. The
// leader learns the outcome from the image, not from the commit: one that
// timed out may still commit, and it asks again after isrAskAgain.
const isrCommitTimeout = 5 * time.Second

func (m *Manager) commitISR(batch []isrChange) {
	if m.meta == nil {
		return
	}
	// One change per partition: the latest a leader asked for wins.
	latest := map[*Partition]isrChange{}
	for _, c := range batch {
		latest[c.p] = c
	}
	ctx, cancel := context.WithTimeout(context.Background(), isrCommitTimeout)
	defer cancel()
	_, err := m.meta.CommitContext(ctx, func(im *metadata.Image) ([]metadata.Record, error) {
		var recs []metadata.Record
		for _, c := range latest {
			r, err := metadata.ChangeISRRecords(im, c.p.Topic, c.p.Index, m.cfg.NodeID, c.req.LeaderEpoch, c.req.PartitionEpoch, c.req.ISR)
			if err != nil {
				continue // leadership moved on: nothing to ask any more
			}
			recs = append(recs, r...)
		}
		return recs, nil
	})
	if err != nil {
		m.logger.Warn("ISR change not committed; the leaders will ask again", "partitions", len(batch), "err", err)
	}
}

func (m *Manager) reconfigure(im *metadata.Image, topic string) {
	tc := m.topicConfig(im, topic)
	m.mu.RLock()
	defer m.mu.RUnlock()
	for tp, p := range m.parts {
		if tp.Topic == topic {
			p.SetConfig(tc)
			p.log.SetConfig(storageConfig(tc))
			m.noteFlushTimer(p, tc)
		}
	}
}

func (m *Manager) removeTopic(t *metadata.Topic) {
	if t == nil {
		return
	}
	if _, busy := m.creating.Load(t.ID); busy {
		m.createMu.Lock() // wait for its creation to end first
		defer m.createMu.Unlock()
	}
	for i := range t.Partitions {
		m.removeReplica(t.Name, int32(i))
	}
}

// removeReplica stops hosting a partition and deletes its log.
func (m *Manager) removeReplica(topic string, i int32) {
	tp := TopicPartition{topic, i}
	m.mu.Lock()
	p, ok := m.parts[tp]
	delete(m.parts, tp)
	m.mu.Unlock()
	if !ok {
		return
	}
	m.noteFlushTimer(p, config.Topic{})
	m.unfollow(tp)
	p.applyMetadata(metadata.Partition{Leader: -1, LeaderEpoch: p.LeaderEpoch() + 1, PartitionEpoch: p.partitionEpoch() + 1}, time.Now()) // answers waiting acks
	if err := m.dir.DeleteLog(topic, i); err != nil {
		m.logger.Error("deleting log", "topic", topic, "partition", i, "err", err)
	}
}

// unfollow takes a partition out of every fetcher.
func (m *Manager) unfollow(tp TopicPartition) {
	m.fmu.Lock()
	defer m.fmu.Unlock()
	for id, f := range m.fetchers {
		if f.remove(tp) {
			f.close()
			delete(m.fetchers, id)
		}
	}
}

// Get returns a hosted partition.
func (m *Manager) Get(topic string, partition int32) (*Partition, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.parts[TopicPartition{topic, partition}]
	return p, ok
}

// All returns every hosted partition.
func (m *Manager) All() []*Partition {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*Partition, 0, len(m.parts))
	for _, p := range m.parts {
		out = append(out, p)
	}
	return out
}

// Checkpoint writes the log directory's recovery-point and log-start
// checkpoints now (DeleteRecords must be durable before it is answered).
func (m *Manager) Checkpoint() error { return m.dir.Checkpoint() }

// DataDir is the log directory's path.
func (m *Manager) DataDir() string { return m.cfg.DataDir }

// Space reports the log directory's space and its free-space guard.
func (m *Manager) Space() storage.SpaceInfo { return m.dir.Space() }

// CheckSpaceFor refuses (storage.ErrNoSpace) n more partitions on this
// broker if they would take its log dir below log.dir.min.free.bytes.
func (m *Manager) CheckSpaceFor(n int) error { return m.dir.CheckSpaceFor(n) }

// backgroundFlush fsyncs partitions whose flush.ms has elapsed and writes
// the directory checkpoints once a minute.
// noteFlushTimer records whether p has a finite flush.ms (cfg).
func (m *Manager) noteFlushTimer(p *Partition, cfg config.Topic) {
	m.tmu.Lock()
	defer m.tmu.Unlock()
	if cfg.FlushInterval > 0 {
		if m.timed == nil {
			m.timed = map[*Partition]struct{}{}
		}
		m.timed[p] = struct{}{}
	} else {
		delete(m.timed, p)
	}
}

func (m *Manager) backgroundFlush() {
	defer m.wg.Done()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastCheckpoint := time.Now()
	for {
		select {
		case <-m.stop:
			return
		case now := <-tick.C:
			m.tmu.Lock()
			timed := make([]*Partition, 0, len(m.timed))
			for p := range m.timed {
				timed = append(timed, p)
			}
			m.tmu.Unlock()
			for _, p := range timed {
				if err := p.flushIfDue(now); err != nil {
					m.logger.Error("scheduled flush failed", "topic", p.Topic, "partition", p.Index, "err", err)
				}
			}
			if now.Sub(lastCheckpoint) >= time.Minute {
				lastCheckpoint = now
				if err := m.dir.Checkpoint(); err != nil {
					m.logger.Error("writing checkpoints", "err", err)
				}
			}
		}
	}
}

// Close stops background work, drains group commit, and closes every log
// cleanly.
func (m *Manager) Close() error {
	close(m.stop)
	m.wg.Wait()
	m.fmu.Lock()
	fs := m.fetchers
	m.fetchers = nil
	m.fmu.Unlock()
	for _, f := range fs {
		f.close()
	}
	for _, f := range fs {
		<-f.done
	}
	if m.flusher != nil {
		m.flusher.Close()
	}
	return m.dir.Close()
}
