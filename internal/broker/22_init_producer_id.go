package broker

// InitProducerID, key 22, v0-v5.
//   v1: throttle.  v2: flexible.  v3: producer id and epoch in the request
//   (KIP-360, bumping the epoch of a known producer).  v4-v5: no change
//   for idempotent producers.
// With a transactional id the request goes to the transaction coordinator
// (internal/coordinator/txn): a producer id bound to that id, its epoch
// bumped at every call, which fences older producers with the same id.
// ACLs: WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
// without one IDEMPOTENT_WRITE on the cluster or WRITE on some topic
// (CLUSTER_AUTHORIZATION_FAILED), as Kafka.

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
)

// producerIDs hands out producer ids from blocks reserved in the metadata
// log, so an id is never reused, even across restarts.
type producerIDs struct {
	meta   *metadata.Store
	nodeID int32

	mu        sync.Mutex // guards next and end
	next, end int64
}

func newProducerIDs(meta *metadata.Store, nodeID int32) *producerIDs {
	return &producerIDs{meta: meta, nodeID: nodeID}
}

func (p *producerIDs) allocate() (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next >= p.end {
		var start int64
		_, err := p.meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
			recs := metadata.ProducerIDBlockRecords(im, p.nodeID)
			start = recs[0].ProducerIDs.Start
			return recs, nil
		})
		if err != nil {
			return -1, err
		}
		p.next, p.end = start, start+metadata.ProducerIDBlockSize
	}
	id := p.next
	p.next++
	return id, nil
}

func handleInitProducerID(rc *reqCtx, p *pending, reqAny kmsg.Request) {
	req := reqAny.(*kmsg.InitProducerIDRequest)
	if code := initProducerIDDenied(rc, req); code != 0 {
		resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
		resp.ErrorCode, resp.ProducerID, resp.ProducerEpoch = code, -1, -1
		p.complete(resp)
		return
	}
	if req.TransactionalID != nil {
		rc.broker().txns.InitProducerID(req, func(resp *kmsg.InitProducerIDResponse) { p.complete(resp) })
		return
	}
	p.complete(initIdempotent(rc, req))
}

func initIdempotent(rc *reqCtx, req *kmsg.InitProducerIDRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	// KIP-360: an idempotent producer re-initialising with its old id and
	// epoch gets a fresh id (epoch bumping is only kept for transactional
	// producers, whose id is tied to the transactional id).
	id, err := b.pids.allocate()
	if err != nil {
		b.logger.Error("allocating producer id block", "err", err)
		resp.ErrorCode = kerr.KafkaStorageError.Code
		return resp
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return resp
}
