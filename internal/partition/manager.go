package partition

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-streaming/samsa/internal/config"
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

	// cleanerSettings are the broker-level cleaner settings with the
	// dynamic ones applied; cleanerWake tells the cleaner they changed.
	cleanerSettings atomic.Pointer[cleanerSettings]
	cleanerWake     chan struct{}

	stop chan struct{}
	wg   sync.WaitGroup
}

// NewManager opens the log directory, adopts the logs of every partition in
// im, and deletes logs whose topic is gone (a deletion interrupted by a
// crash).
func NewManager(cfg *config.Config, im *metadata.Image, logger *slog.Logger) (*Manager, error) {
	dir, err := storage.OpenDir(cfg.DataDir, storageConfig(cfg.ResolveTopic(nil)), logger)
	if err != nil {
		return nil, err
	}
	m := &Manager{logger: logger, cfg: cfg, dir: dir, parts: map[TopicPartition]*Partition{}, stop: make(chan struct{}),
		cleanerWake: make(chan struct{}, 1)}
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
		if !ok || int(tp.Partition) >= len(t.Partitions) || l.TopicID() != t.ID {
			logger.Info("deleting log of a deleted topic", "topic", tp.Topic, "partition", tp.Partition)
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
func (m *Manager) ensureTopic(im *metadata.Image, t *metadata.Topic) error {
	tc := m.topicConfig(im, t.Name)
	for i, pm := range t.Partitions {
		if !slices.Contains(pm.Replicas, m.cfg.NodeID) {
			continue // another broker's
		}
		tp := TopicPartition{t.Name, int32(i)}
		m.mu.RLock()
		_, ok := m.parts[tp]
		m.mu.RUnlock()
		if ok {
			continue
		}
		l, ok := m.dir.Log(t.Name, int32(i))
		if ok {
			l.SetConfig(storageConfig(tc))
		} else {
			var err error
			if l, err = m.dir.CreateLog(t.Name, int32(i), t.ID, storageConfig(tc)); err != nil {
				return fmt.Errorf("creating log %s-%d: %w", t.Name, i, err)
			}
		}
		p := newPartition(t.Name, int32(i), t.ID, l, tc, pm.LeaderEpoch, m.flusher)
		m.mu.Lock()
		m.parts[tp] = p
		m.mu.Unlock()
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
				m.reconfigureCleaner(next)
			}
		}
	}
	for _, r := range recs {
		if r.Type == metadata.TypePartition {
			if t, ok := next.TopicByID(r.Partition.TopicID); ok {
				if err := m.ensureTopic(next, t); err != nil {
					m.logger.Error("cannot host partition", "topic", t.Name, "err", err)
				}
			}
		}
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
		}
	}
}

func (m *Manager) removeTopic(t *metadata.Topic) {
	for i := range t.Partitions {
		tp := TopicPartition{t.Name, int32(i)}
		m.mu.Lock()
		_, ok := m.parts[tp]
		delete(m.parts, tp)
		m.mu.Unlock()
		if !ok {
			continue
		}
		if err := m.dir.DeleteLog(t.Name, int32(i)); err != nil {
			m.logger.Error("deleting log", "topic", t.Name, "partition", i, "err", err)
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

// backgroundFlush fsyncs partitions whose flush.ms has elapsed and writes
// the directory checkpoints once a minute.
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
			for _, p := range m.All() {
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
	if m.flusher != nil {
		m.flusher.Close()
	}
	return m.dir.Close()
}
