package partition

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/record"
)

func testBatch(n int) []byte {
	recs := make([]kmsg.Record, n)
	for i := range recs {
		recs[i].Value = []byte("value")
	}
	return record.NewBatch(1, recs...)
}

func newManager(t *testing.T, mode string) (*Manager, *Partition) {
	t.Helper()
	m, p, _ := newManagerMeta(t, mode)
	return m, p
}

func newManagerMeta(t *testing.T, mode string) (*Manager, *Partition, *metadata.Store) {
	t.Helper()
	cfg, err := config.New(map[string]string{"log.dirs": t.TempDir(), "log.flush.mode": mode})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	meta, err := metadata.Open(cfg.DataDir, logger)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewManager(cfg, meta.Image(), logger)
	if err != nil {
		t.Fatal(err)
	}
	meta.OnCommit(m.Apply)
	t.Cleanup(func() { m.Close(); meta.Close() })
	if _, err := meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
		return metadata.CreateTopicRecords(im, metadata.CreateTopic{Name: "t", Partitions: 1, ReplicationFactor: 1}, cfg.NodeID)
	}); err != nil {
		t.Fatal(err)
	}
	p, ok := m.Get("t", 0)
	if !ok {
		t.Fatal("partition not created from the metadata commit")
	}
	return m, p, meta
}

func TestPageCacheModeAdvancesAtOnce(t *testing.T) {
	_, p := newManager(t, "page-cache")
	called := false
	res, err := p.Append(testBatch(3), time.Now(), func(err error) { called = err == nil })
	if err != nil || !called {
		t.Fatalf("append: %v, done called: %v", err, called)
	}
	if p.HighWatermark() != 3 || res.LastOffset != 2 {
		t.Fatalf("high watermark %d after appending 3 records", p.HighWatermark())
	}
}

// TestGroupCommit appends from many goroutines and checks that every
// waiter is answered after a flush that covers its batch, that the high
// watermark never passes the flushed offset, and that it reaches the end.
func TestGroupCommit(t *testing.T) {
	_, p := newManager(t, "group-commit")
	w := NewWaiter()
	p.Watch(w)
	defer p.Unwatch(w)
	const writers, perWriter = 8, 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				ack := make(chan error, 1)
				res, err := p.Append(testBatch(2), time.Now(), func(err error) { ack <- err })
				if err != nil {
					t.Error(err)
					return
				}
				if err := <-ack; err != nil {
					t.Error(err)
					return
				}
				// Acknowledged means durable: the recovery point and the
				// high watermark cover the batch.
				if rp := p.Log().RecoveryPoint(); rp <= res.LastOffset {
					mu.Lock()
					failures = append(failures, "acknowledged before fsync")
					mu.Unlock()
				}
				if hw := p.HighWatermark(); hw <= res.LastOffset {
					mu.Lock()
					failures = append(failures, "acknowledged before the high watermark covered it")
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d violations, first: %s", len(failures), failures[0])
	}
	if hw, leo := p.HighWatermark(), p.Log().LogEndOffset(); hw != leo || leo != writers*perWriter*2 {
		t.Fatalf("high watermark %d, log end %d", hw, leo)
	}
	select {
	case <-w.C:
	default:
		t.Fatal("watcher never woken")
	}
}

// A replica that becomes a follower keeps a high watermark it had as a
// leader (or from a restart: its log end) that may cover records its new
// leader never committed. It serves no consumer (KIP-392) until its leader's
// first answer, which sets the high watermark to the leader's even if that
// is lower.
func TestFollowerHighWatermarkFromItsLeader(t *testing.T) {
	_, p := newManager(t, "page-cache")
	for i := 0; i < 10; i++ { // one record a batch: every offset is a batch boundary
		if _, err := p.Append(testBatch(1), time.Now(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if p.HighWatermark() != 10 || p.ServesFollowerReads() {
		t.Fatalf("as leader: high watermark %d, serves follower reads %v", p.HighWatermark(), p.ServesFollowerReads())
	}
	// Node 2 leads now, in a new epoch, and has committed only 4 records.
	p.applyMetadata(metadata.Partition{Replicas: []int32{1, 2}, ISR: []int32{2}, Leader: 2, LeaderEpoch: 1, PartitionEpoch: 1}, time.Now())
	if p.ServesFollowerReads() {
		t.Fatal("a follower that has not heard its leader serves consumers")
	}
	if _, err := p.AppendReplicated(nil, 4, time.Now()); err != nil {
		t.Fatal(err)
	}
	if p.HighWatermark() != 4 || !p.ServesFollowerReads() {
		t.Fatalf("after the leader's answer: high watermark %d, serves follower reads %v", p.HighWatermark(), p.ServesFollowerReads())
	}
	// Later answers only move it forward.
	if _, err := p.AppendReplicated(nil, 3, time.Now()); err != nil || p.HighWatermark() != 4 {
		t.Fatalf("high watermark %d after a lower answer, %v", p.HighWatermark(), err)
	}
}

// TestFlushMsFlushesOnlyTimedTopics: a topic with flush.ms is fsynced by
// the background flusher within about its interval (its recovery point
// reaches the end); once flush.ms is removed it is no longer visited.
func TestFlushMsFlushesOnlyTimedTopics(t *testing.T) {
	m, p, meta := newManagerMeta(t, "page-cache")
	if _, err := p.Append(testBatch(2), time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	m.tmu.Lock()
	n := len(m.timed)
	m.tmu.Unlock()
	if n != 0 || p.Log().RecoveryPoint() != 0 {
		t.Fatalf("without flush.ms: %d timed partitions, recovery point %d", n, p.Log().RecoveryPoint())
	}
	setFlushMs := func(v *string) {
		t.Helper()
		if _, err := meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
			return []metadata.Record{{Type: metadata.TypeConfig, Config: &metadata.ConfigRecord{
				ResourceType: metadata.ResourceTopic, ResourceName: "t", Name: "flush.ms", Value: v}}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	ms := "50"
	setFlushMs(&ms)
	deadline := time.Now().Add(5 * time.Second)
	for p.Log().RecoveryPoint() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("flush.ms=50: recovery point %d after 5 s, want 2", p.Log().RecoveryPoint())
		}
		time.Sleep(20 * time.Millisecond)
	}
	setFlushMs(nil)
	m.tmu.Lock()
	n = len(m.timed)
	m.tmu.Unlock()
	if n != 0 {
		t.Fatalf("flush.ms removed: %d timed partitions", n)
	}
}
