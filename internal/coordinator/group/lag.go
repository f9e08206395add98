package group

import (
	"maps"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Lag of partitions led by other brokers.
//
// A group's lag is the partition's high watermark minus the committed
// offset. The coordinator has the committed offsets; the high watermark is
// exact only on the partition's leader. For partitions this node leads the
// metrics read it at scrape time. For the others the Runtime keeps the
// leaders' answers to a ListOffsets (latest, read_uncommitted: the high
// watermark) that it sends every EndsInterval, batched per leader, to the
// partitions some group coordinated here has committed on. A value is
// served while it is younger than EndsMaxAge: so a reported high
// watermark is at most EndsInterval plus one round trip old while the
// leaders answer, and a leader that stops answering loses its partitions'
// lag series after EndsMaxAge instead of showing a stale one.
//
// The high watermark only grows (short of an unclean election), so every
// value seen of it is a lower bound of the current one: a follower
// replica's own high watermark here is one too, often fresher, and the
// larger of the two is used (BestEnd).

// Refresh and expiry of the leaders' high watermarks.
const (
	EndsInterval = 5 * time.Second
	EndsMaxAge   = 3 * EndsInterval
	// endsBatch bounds the partitions of one ListOffsets request.
	endsBatch = 1000
	// endsRefusedFor is how long a topic whose high watermark a leader
	// refused (this broker lacks DESCRIBE on it) is not asked again: the
	// leader's authorizer logs every denial.
	endsRefusedFor = 5 * time.Minute
)

// A Requester sends req to broker node and returns its answer (the
// broker's inter-broker client, with its listener's TLS and SASL).
type Requester func(node int32, req kmsg.Request) (kmsg.Response, error)

type topicPartition struct {
	topic     string
	partition int32
}

type remoteEnd struct {
	hw int64
	at time.Time // when the request that learnt it was sent
}

// remoteEnds holds the leaders' high watermarks; run refreshes it.
type remoteEnds struct {
	request Requester

	mu   sync.Mutex // guards ends and asking
	ends map[topicPartition]remoteEnd
	// asking are the leaders with a request in flight: a slow or dead
	// leader is not asked again until it answers or times out, and does
	// not hold up the others' refreshes.
	asking map[int32]bool
	// refused are topics not to ask for until the time given.
	refused map[string]time.Time
	wg      sync.WaitGroup // the requests in flight

	buf []Committed // runEnds's Stats buffer (owned by runEnds)
}

// SetRequester makes the Runtime ask other brokers for the high
// watermarks of partitions they lead, for lag (see above). Call it
// before Start; without it lag covers only partitions hosted here.
func (r *Runtime) SetRequester(req Requester) {
	r.ends = &remoteEnds{request: req, ends: map[topicPartition]remoteEnd{}, asking: map[int32]bool{},
		refused: map[string]time.Time{}}
}

// RemoteEnd returns the high watermark of a partition led elsewhere as
// its leader last told it, if that is younger than EndsMaxAge.
func (r *Runtime) RemoteEnd(topic string, partition int32) (int64, bool) {
	e := r.ends
	if e == nil {
		return 0, false
	}
	e.mu.Lock()
	v, ok := e.ends[topicPartition{topic, partition}]
	e.mu.Unlock()
	if !ok || r.now().Sub(v.at) > EndsMaxAge {
		return 0, false
	}
	return v.hw, true
}

// runEnds refreshes the remote high watermarks every EndsInterval until
// stop closes.
func (r *Runtime) runEnds(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	defer r.ends.wg.Wait()
	t := time.NewTicker(EndsInterval)
	defer t.Stop()
	for {
		r.refreshEnds()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// refreshEnds asks each leader, in parallel and without waiting for the
// answers, for the high watermarks of the partitions groups coordinated
// here have committed on that this node does not lead, and forgets
// partitions nobody needs any more.
func (r *Runtime) refreshEnds() {
	e := r.ends
	im := r.meta.Image()
	byLeader := map[int32][]topicPartition{}
	wanted := map[topicPartition]bool{}
	now := r.now()
	e.mu.Lock()
	for t, until := range e.refused {
		if now.After(until) {
			delete(e.refused, t)
		}
	}
	refused := maps.Clone(e.refused)
	e.mu.Unlock()
	if len(im.Brokers()) > 1 { // alone, this node leads everything
		st := r.Stats(e.buf, true)
		e.buf = st.Offsets[:0]
		for _, o := range st.Offsets {
			tp := topicPartition{o.Topic, o.Partition}
			if wanted[tp] {
				continue
			}
			t, ok := im.Topic(o.Topic)
			if !ok || o.Partition < 0 || int(o.Partition) >= len(t.Partitions) {
				continue
			}
			leader := t.Partitions[o.Partition].Leader
			if leader < 0 || leader == r.nodeID || !refused[o.Topic].IsZero() {
				continue
			}
			wanted[tp] = true
			byLeader[leader] = append(byLeader[leader], tp)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for tp := range e.ends {
		if !wanted[tp] {
			delete(e.ends, tp)
		}
	}
	for leader, tps := range byLeader {
		if e.asking[leader] {
			continue
		}
		e.asking[leader] = true
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			for len(tps) > 0 {
				n := min(len(tps), endsBatch)
				r.askLeader(leader, tps[:n])
				tps = tps[n:]
			}
			e.mu.Lock()
			delete(e.asking, leader)
			e.mu.Unlock()
		}()
	}
}

// askLeader sends one ListOffsets for tps to leader and keeps the
// answers without an error.
func (r *Runtime) askLeader(leader int32, tps []topicPartition) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	idx := map[string]int{}
	for _, tp := range tps {
		i, ok := idx[tp.topic]
		if !ok {
			i = len(req.Topics)
			idx[tp.topic] = i
			t := kmsg.NewListOffsetsRequestTopic()
			t.Topic = tp.topic
			req.Topics = append(req.Topics, t)
		}
		p := kmsg.NewListOffsetsRequestTopicPartition()
		p.Partition, p.Timestamp, p.CurrentLeaderEpoch = tp.partition, -1, -1
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, p)
	}
	sent := r.now()
	resp, err := r.ends.request(leader, req)
	if err != nil {
		r.logger.Debug("consumer lag: ListOffsets to a partition leader failed", "leader", leader, "partitions", len(tps), "err", err)
		return
	}
	lr, ok := resp.(*kmsg.ListOffsetsResponse)
	if !ok {
		return
	}
	e := r.ends
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, t := range lr.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode == kerr.TopicAuthorizationFailed.Code {
				if _, ok := e.refused[t.Topic]; !ok {
					r.logger.Warn("consumer lag: a partition leader refused this broker the high watermark of a topic (it needs DESCRIBE on it); its lag on partitions led elsewhere is not reported", "topic", t.Topic, "leader", leader, "retry_in", endsRefusedFor)
				}
				e.refused[t.Topic] = sent.Add(endsRefusedFor)
			}
			if p.ErrorCode != 0 || p.Offset < 0 {
				continue
			}
			e.ends[topicPartition{t.Topic, p.Partition}] = remoteEnd{hw: p.Offset, at: sent}
		}
	}
}
