package partition

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

// notCaughtUp is a metadata store that has not caught up with its cluster
// yet, until catchUp.
type notCaughtUp struct {
	im     *metadata.Image
	caught bool
	fns    []func()
}

func (c *notCaughtUp) CommitContext(context.Context, func(*metadata.Image) ([]metadata.Record, error)) (*metadata.Image, error) {
	return c.im, errors.New("not in this test")
}
func (c *notCaughtUp) CaughtUp() bool         { return c.caught }
func (c *notCaughtUp) OnCaughtUp(fn func())   { c.fns = append(c.fns, fn) }
func (c *notCaughtUp) Image() *metadata.Image { return c.im }
func (c *notCaughtUp) catchUp() {
	c.caught = true
	for _, fn := range c.fns {
		fn()
	}
}

// TestReplicasWaitForCatchUp: the Manager applies the metadata to its
// replicas only once the node has caught up with the cluster's. A
// restarted leader that took its ISR from the image it stopped with (a
// smaller one than the cluster's by now) moved its high watermark past
// records a member of the real ISR never had (found by the simulation,
// replication soak seed 8515).
func TestReplicasWaitForCatchUp(t *testing.T) {
	cfg, err := config.New(map[string]string{"log.dirs": t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	meta, err := metadata.Open(cfg.DataDir, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	if _, err := meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
		return []metadata.Record{
			{Type: metadata.TypeBroker, Broker: &metadata.BrokerRecord{ID: cfg.NodeID, Host: "127.0.0.1", Port: 9092, Incarnation: "a"}},
			{Type: metadata.TypeBroker, Broker: &metadata.BrokerRecord{ID: cfg.NodeID + 1, Host: "127.0.0.1", Port: 9093, Incarnation: "b"}},
		}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
		return metadata.CreateTopicRecords(im, metadata.CreateTopic{Name: "t", Assignment: [][]int32{{cfg.NodeID, cfg.NodeID + 1}}}, cfg.NodeID)
	}); err != nil {
		t.Fatal(err)
	}
	m, err := NewManager(cfg, meta.Image(), logger)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p, ok := m.Get("t", 0)
	if !ok {
		t.Fatal("no replica of t-0")
	}
	want := []int32{cfg.NodeID, cfg.NodeID + 1}
	c := &notCaughtUp{im: meta.Image()}
	m.Attach(c)
	if got := p.ISR(); slices.Equal(got, want) {
		t.Fatalf("ISR %v taken from the metadata before the node caught up", got)
	}
	m.Apply(c.Image(), c.Image(), nil)
	if got := p.ISR(); slices.Equal(got, want) {
		t.Fatalf("ISR %v taken from a commit before the node caught up", got)
	}
	c.catchUp()
	if got := p.ISR(); !slices.Equal(got, want) {
		t.Fatalf("ISR %v once caught up, want the metadata's %v", got, want)
	}
}
