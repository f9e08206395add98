package partition

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/interbroker"
)

// Replica fetching as Kafka's ReplicaFetcherThread does it: one fetcher per
// leader broker, one connection, one Fetch (with this broker's replica id)
// at a time for every partition this broker follows there.
const (
	replicaFetchMaxWait       = 500 * time.Millisecond // replica.fetch.wait.max.ms
	replicaFetchPartitionMax  = 1 << 20                // replica.fetch.max.bytes
	replicaFetchResponseMax   = 10 << 20               // replica.fetch.response.max.bytes
	replicaRequestTimeout     = 30 * time.Second
	replicaDialTimeout        = 2 * time.Second
	replicaBackoffMax         = time.Second
	replicaFetchFetchVersion  = 12 // flexible, topic names, replica id field
	replicaEpochRequestVerion = 4
)

// fetcher copies the partitions this broker follows from one leader.
type fetcher struct {
	leader int32
	addr   string
	self   int32
	logger *slog.Logger
	quota  *Quota              // follower.replication.throttled.rate
	dialer *interbroker.Dialer // nil: plain TCP
	// refusedLog is when a refusal by the leader (TLS, SASL) was last
	// logged, to log one a minute while it lasts (owned by run).
	refusedLog time.Time

	mu     sync.Mutex // guards parts, conn and closed
	parts  map[TopicPartition]*Partition
	conn   *wireConn
	closed bool
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}
}

func newFetcher(leader int32, addr string, self int32, quota *Quota, dialer *interbroker.Dialer, logger *slog.Logger) *fetcher {
	f := &fetcher{leader: leader, addr: addr, self: self, logger: logger, quota: quota, dialer: dialer,
		parts: map[TopicPartition]*Partition{}, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go f.run()
	return f
}

func (f *fetcher) add(p *Partition) {
	f.mu.Lock()
	f.parts[TopicPartition{p.Topic, p.Index}] = p
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *fetcher) remove(tp TopicPartition) (empty bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.parts, tp)
	return len(f.parts) == 0
}

func (f *fetcher) snapshot() []*Partition {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*Partition, 0, len(f.parts))
	for _, p := range f.parts {
		out = append(out, p)
	}
	return out
}

// close stops the fetcher without waiting: a request in flight is cut by
// closing its connection. done is closed when the goroutine has ended.
func (f *fetcher) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.closed = true
	close(f.stop)
	if f.conn != nil {
		f.conn.close()
	}
}

// setConn publishes the connection so close can cut it; false if closed.
func (f *fetcher) setConn(c *wireConn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed && c != nil {
		c.close()
		return false
	}
	f.conn = c
	return true
}

func (f *fetcher) run() {
	defer close(f.done)
	var conn *wireConn
	defer func() {
		if conn != nil {
			conn.close()
		}
	}()
	var backoff time.Duration
	for {
		select {
		case <-f.stop:
			return
		default:
		}
		parts := f.snapshot()
		if len(parts) == 0 {
			select {
			case <-f.stop:
				return
			case <-f.wake:
				continue
			}
		}
		var err error
		if conn != nil && conn.expiring(time.Now()) {
			// Its SASL session ends: a new connection authenticates anew.
			conn.close()
			conn = nil
			f.setConn(nil)
		}
		if conn == nil {
			if conn, err = dialWire(f.dialer, f.addr, "samsa-replica-fetcher", replicaDialTimeout); err == nil && !f.setConn(conn) {
				return
			}
			if errors.Is(err, interbroker.ErrAuthentication) && time.Since(f.refusedLog) >= time.Minute {
				// Not a leader that is down: this broker's TLS or SASL
				// settings (or the leader's) are wrong, and stay wrong.
				f.refusedLog = time.Now()
				f.logger.Error("replica fetcher: the leader refused this broker; it cannot replicate from it until the inter-broker security settings are fixed",
					"leader", f.leader, "addr", f.addr, "err", err)
			}
		}
		if err == nil {
			err = f.round(conn, parts)
		}
		if err != nil {
			if conn != nil {
				conn.close()
				conn = nil
				f.setConn(nil)
			}
			backoff = min(max(backoff*2, 50*time.Millisecond), replicaBackoffMax)
			f.logger.Debug("replica fetch failed; retrying", "leader", f.leader, "addr", f.addr, "err", err, "retry_in", backoff)
			select {
			case <-f.stop:
				return
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
	}
}

// round truncates the partitions that need it, then fetches once for all.
func (f *fetcher) round(conn *wireConn, parts []*Partition) error {
	if err := f.truncate(conn, parts); err != nil {
		return err
	}
	req := kmsg.NewPtrFetchRequest()
	req.Version = replicaFetchFetchVersion
	req.ReplicaID = f.self
	req.MaxWaitMillis = int32(replicaFetchMaxWait / time.Millisecond)
	req.MinBytes = 1
	req.MaxBytes = replicaFetchResponseMax
	req.SessionEpoch = -1 // no fetch session: every partition every time
	byTopic := map[string]int{}
	want := map[TopicPartition]*Partition{}
	// Over follower.replication.throttled.rate, throttled replicas sit
	// out until the rate has caught up (as Kafka's ReplicaFetcherThread
	// leaves them out of the fetch).
	overQuota := f.quota != nil && !f.quota.Unlimited() && f.quota.Exceeded(time.Now())
	throttled := map[TopicPartition]bool{}
	for _, p := range parts {
		if trunc, _ := p.NeedsTruncation(); trunc {
			continue // its leader did not answer yet: not fetched this round
		}
		if p.log.Failed() != nil {
			continue // takes no appends until the broker restarts
		}
		if f.quota != nil && !f.quota.Unlimited() && p.FollowerThrottled() {
			if overQuota {
				continue
			}
			throttled[TopicPartition{p.Topic, p.Index}] = true
		}
		leader, epoch := p.Leader()
		if leader != f.leader {
			continue
		}
		i, ok := byTopic[p.Topic]
		if !ok {
			i = len(req.Topics)
			byTopic[p.Topic] = i
			t := kmsg.NewFetchRequestTopic()
			t.Topic = p.Topic
			req.Topics = append(req.Topics, t)
		}
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.CurrentLeaderEpoch = p.Index, p.LocalEnd(), epoch
		rp.LogStartOffset, rp.PartitionMaxBytes = p.log.LogStartOffset(), replicaFetchPartitionMax
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
		want[TopicPartition{p.Topic, p.Index}] = p
	}
	if len(want) == 0 {
		select { // nothing to fetch until metadata changes
		case <-f.stop:
		case <-f.wake:
		case <-time.After(replicaFetchMaxWait):
		}
		return nil
	}
	r, err := conn.request(req, replicaRequestTimeout)
	if err != nil {
		return err
	}
	resp := r.(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 {
		return kerr.ErrorForCode(resp.ErrorCode)
	}
	now := time.Now()
	for _, t := range resp.Topics {
		for _, rp := range t.Partitions {
			p := want[TopicPartition{t.Topic, rp.Partition}]
			if p == nil {
				continue
			}
			if throttled[TopicPartition{t.Topic, rp.Partition}] {
				f.quota.Record(int64(len(rp.RecordBatches)), now)
			}
			switch rp.ErrorCode {
			case 0:
				if _, err := p.AppendReplicated(rp.RecordBatches, rp.HighWatermark, now); err != nil {
					f.logger.Error("appending replicated records", "topic", p.Topic, "partition", p.Index, "err", err)
				} else if err := p.FollowLogStart(rp.LogStartOffset); err != nil {
					f.logger.Error("following the leader's log start", "topic", p.Topic, "partition", p.Index, "err", err)
				}
			case kerr.OffsetOutOfRange.Code:
				if rp.LogStartOffset > p.LocalEnd() {
					// The leader's log starts past our end: what we lack
					// is gone from it; start over at its log start.
					if err := p.StartAt(rp.LogStartOffset); err != nil {
						f.logger.Error("starting a follower at its leader's log start", "topic", p.Topic, "partition", p.Index, "offset", rp.LogStartOffset, "err", err)
					}
					continue
				}
				// Our end is not in the leader's log: find where the
				// histories part.
				p.Diverged()
			default:
				// NOT_LEADER_OR_FOLLOWER, FENCED/UNKNOWN_LEADER_EPOCH: the
				// metadata will move this partition; skip it till then.
				f.logger.Debug("replica fetch error", "topic", p.Topic, "partition", p.Index, "leader", f.leader, "err", kerr.ErrorForCode(rp.ErrorCode))
			}
		}
	}
	return nil
}

// truncate asks the leader where each partition that changed leader or
// epoch must be cut (OffsetForLeaderEpoch with this broker's latest epoch)
// and cuts it there.
func (f *fetcher) truncate(conn *wireConn, parts []*Partition) error {
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.Version = replicaEpochRequestVerion
	req.ReplicaID = f.self
	byTopic := map[string]int{}
	epochs := map[TopicPartition]int32{}
	for _, p := range parts {
		trunc, epoch := p.NeedsTruncation()
		if leader, _ := p.Leader(); !trunc || leader != f.leader {
			continue
		}
		i, ok := byTopic[p.Topic]
		if !ok {
			i = len(req.Topics)
			byTopic[p.Topic] = i
			t := kmsg.NewOffsetForLeaderEpochRequestTopic()
			t.Topic = p.Topic
			req.Topics = append(req.Topics, t)
		}
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = p.Index, epoch, p.log.LatestEpoch()
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
		epochs[TopicPartition{p.Topic, p.Index}] = epoch
	}
	if len(epochs) == 0 {
		return nil
	}
	r, err := conn.request(req, replicaRequestTimeout)
	if err != nil {
		return err
	}
	byTP := map[TopicPartition]*Partition{}
	for _, p := range parts {
		byTP[TopicPartition{p.Topic, p.Index}] = p
	}
	for _, t := range r.(*kmsg.OffsetForLeaderEpochResponse).Topics {
		for _, rp := range t.Partitions {
			tp := TopicPartition{t.Topic, rp.Partition}
			p, epoch := byTP[tp], epochs[tp]
			if p == nil || rp.ErrorCode != 0 {
				continue // the next round asks again
			}
			if err := p.TruncateAfterEpoch(epoch, rp.LeaderEpoch, rp.EndOffset); err != nil {
				f.logger.Error("truncating a follower", "topic", p.Topic, "partition", p.Index, "offset", rp.EndOffset, "err", err)
			}
		}
	}
	return nil
}
