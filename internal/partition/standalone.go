package partition

import (
	"time"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// A replica can be run without a Manager, by a caller that hosts it
// itself: the deterministic simulation (internal/sim) drives the replicas
// of several simulated brokers on one goroutine, carrying the followers'
// fetches between them as the fetcher and the Fetch handler do. These are
// the Manager's own entry points into a Partition, exported for it.

// NewReplica wraps an opened log as a page-cache mode replica of node
// nodeID that asks for ISR changes through alterISR (which must not
// block; nil: never). It starts as its own leader until ApplyMetadata.
func NewReplica(topic string, index int32, id [16]byte, log *storage.Log, cfg config.Topic, epoch, nodeID int32,
	alterISR func(p *Partition, req ISRRequest)) *Partition {
	p := newPartition(topic, index, id, log, cfg, epoch, nil, nodeID)
	p.alterISR = alterISR
	return p
}

// ApplyMetadata brings the replica in line with its partition in a new
// metadata image (what the Manager does on every image); it reports
// whether the replica now follows a leader.
func (p *Partition) ApplyMetadata(pm metadata.Partition, now time.Time) (follow bool) {
	return p.applyMetadata(pm, now)
}

// CheckLaggards drops the followers that have not caught up for maxLag
// from the ISR (a leader's periodic check).
func (p *Partition) CheckLaggards(now time.Time, maxLag time.Duration) { p.checkLaggards(now, maxLag) }

// Diverged makes the follower ask its leader where their logs part before
// it fetches again: the leader answered a fetch with OFFSET_OUT_OF_RANGE
// for an end this replica has and the leader does not.
func (p *Partition) Diverged() {
	p.mu.Lock()
	p.truncate = true
	p.mu.Unlock()
}
