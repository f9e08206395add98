package broker

// Fetch, key 1, v0-v18.
//   v0-v3: message sets of magic 0 (v0-v1) or 1 (v2-v3), down-converted
//   from the stored v2 batches in memory (no sendfile for these versions;
//   Kafka 4 removed them, old clients still send them).
//   v3: response max bytes.
//   v4: isolation level, last stable offset, aborted transactions.
//   v5: log start offset.  v7: fetch sessions (KIP-227).
//   v9: current leader epoch (KIP-320).  v11: rack, preferred replica.
//   v12: flexible, last fetched epoch, diverging epoch.
//   v13: topics by id.  v15: replica state.  v16-v18: leader hints, no
//   change for consumers.
// ACLs: READ on each topic; a follower (replica id >= 0) CLUSTER_ACTION on
// the cluster instead, else every partition is TOPIC_AUTHORIZATION_FAILED.

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/partition"
	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/samsa-streaming/samsa/internal/storage"
)

func handleFetch(rc *reqCtx, p *pending, reqAny kmsg.Request) {
	req := reqAny.(*kmsg.FetchRequest)
	b := rc.broker()
	parts, forgotten, unknownIDs := b.fetchParts(req)
	plan := b.planFetch(req, parts, forgotten)
	plan.listener = rc.c.listener.Name
	plan.denied = fetchDenied(rc, req, plan.parts)
	if plan.errCode != 0 {
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		resp.ErrorCode = plan.errCode
		p.complete(resp)
		return
	}
	maxBytes := req.MaxBytes
	if req.Version < 3 || maxBytes <= 0 || maxBytes > b.cfg.FetchMaxBytes {
		maxBytes = b.cfg.FetchMaxBytes
	}
	if replicaID(req) < 0 {
		maxBytes = rc.fetchQuotaMax(maxBytes) // consumer_byte_rate (quota.go)
		b.metrics.advanced(rc.c, plan.parts)  // records out of earlier responses (metrics.go)
	}
	f := &fetch{b: b, rc: rc, req: req, p: p, plan: plan, maxBytes: maxBytes, unknownIDs: unknownIDs}
	if f.attempt(false) {
		return
	}
	go f.wait(time.Duration(req.MaxWaitMillis) * time.Millisecond)
}

// fetch is one fetch request in progress.
type fetch struct {
	b          *Broker
	rc         *reqCtx
	req        *kmsg.FetchRequest
	p          *pending
	plan       fetchPlan
	maxBytes   int32
	unknownIDs []kmsg.FetchResponseTopic
}

// attempt reads every partition and completes the response if it has
// MinBytes of data, an error, or final is set. It reports whether it
// completed.
func (f *fetch) attempt(final bool) bool {
	resp, slices, served, bytes, hasErr := f.b.readFetch(f.req, f.plan, f.maxBytes)
	if !final && !hasErr && bytes < int64(f.req.MinBytes) && f.req.MaxWaitMillis > 0 {
		releaseAll(slices)
		return false
	}
	select {
	case <-f.rc.c.done:
		releaseAll(slices) // nobody will send them
		f.plan.done()
		return true
	default:
	}
	if replicaID(f.req) < 0 {
		if d := f.rc.fetchThrottle(bytes); d > 0 {
			// Over consumer_byte_rate: answered empty with the throttle
			// time, and muted, as Kafka answers a throttled fetch.
			releaseAll(slices)
			slices, served = nil, nil
			resp = f.req.ResponseKind().(*kmsg.FetchResponse)
			f.p.throttle = d
		}
	}
	if f.plan.session != nil {
		resp.SessionID = f.plan.session.id
		f.plan.commit(resp)
	}
	resp.Topics = append(resp.Topics, f.unknownIDs...)
	f.plan.done()
	f.b.metrics.fetched(resp, f.req.Version, slices, replicaID(f.req) >= 0)
	f.b.metrics.served(f.rc.c, served)
	f.p.fetch = slices
	f.p.complete(resp)
	return true
}

// wait long-polls: it re-reads whenever a partition's high watermark moves
// until MinBytes are there or maxWait passes.
func (f *fetch) wait(maxWait time.Duration) {
	if hook := fetchWaitHook.Load(); hook != nil {
		(*hook)()
	}
	f.b.metrics.fetchWaiting.Add(1)
	defer f.b.metrics.fetchWaiting.Add(-1)
	w := partition.NewWaiter()
	var watched []*partition.Partition
	for _, fp := range f.plan.parts {
		if part, ok := f.b.parts.Get(fp.topic, fp.partition); ok {
			if replicaID(f.req) >= 0 {
				part.WatchEnd(w) // a follower waits for appends
			} else {
				part.Watch(w)
			}
			watched = append(watched, part)
		}
	}
	defer func() {
		for _, part := range watched {
			part.Unwatch(w)
		}
	}()
	// Records appended between the first attempt and the watches above
	// woke nobody: read once more now that any later append will.
	if f.attempt(false) {
		return
	}
	timer := time.NewTimer(maxWait)
	defer timer.Stop()
	for {
		select {
		case <-f.rc.c.done:
			// The client went away: answer nobody, but end the session
			// epoch so the session stays usable.
			f.plan.done()
			return
		case <-w.C:
			if f.attempt(false) {
				return
			}
		case <-timer.C:
			f.attempt(true)
			return
		}
	}
}

// fetchWaitHook, set by tests, runs when a fetch starts to long-poll,
// before it watches its partitions.
var fetchWaitHook atomic.Pointer[func()]

// fetchParts turns the request's topics into fetchParts, resolving topic
// ids (v13+). Unknown ids are answered with UNKNOWN_TOPIC_ID entries.
func (b *Broker) fetchParts(req *kmsg.FetchRequest) ([]*fetchPart, []partKey, []kmsg.FetchResponseTopic) {
	im := b.meta.Image()
	var parts []*fetchPart
	var unknown []kmsg.FetchResponseTopic
	for _, rt := range req.Topics {
		name := rt.Topic
		if req.Version >= 13 {
			t, ok := im.TopicByID(rt.TopicID)
			if !ok {
				ut := kmsg.NewFetchResponseTopic()
				ut.TopicID = rt.TopicID
				for _, rp := range rt.Partitions {
					up := kmsg.NewFetchResponseTopicPartition()
					up.Partition, up.ErrorCode = rp.Partition, kerr.UnknownTopicID.Code
					up.RecordBatches = []byte{}
					up.HighWatermark, up.LastStableOffset, up.LogStartOffset = -1, -1, -1
					ut.Partitions = append(ut.Partitions, up)
				}
				unknown = append(unknown, ut)
				continue
			}
			name = t.Name
		}
		for _, rp := range rt.Partitions {
			parts = append(parts, &fetchPart{
				topic: name, topicID: rt.TopicID, partition: rp.Partition, offset: rp.FetchOffset,
				maxBytes: rp.PartitionMaxBytes, leaderEpoch: rp.CurrentLeaderEpoch, sentHW: -1, sentLogStart: -1,
			})
		}
	}
	var forgotten []partKey
	for _, ft := range req.ForgottenTopics {
		name := ft.Topic
		if req.Version >= 13 {
			if t, ok := im.TopicByID(ft.TopicID); ok {
				name = t.Name
			}
		}
		for _, p := range ft.Partitions {
			forgotten = append(forgotten, partKey{name, p})
		}
	}
	return parts, forgotten, unknown
}

// readFetch reads every planned partition within the byte limits and builds
// the response. Record data is not copied: each non-empty partition gets a
// placeholder and a fileSlice. It returns the response, the slices, what
// each partition of a consumer's fetch carried (for records out), the
// record bytes found and whether any partition has an error.
func (b *Broker) readFetch(req *kmsg.FetchRequest, plan fetchPlan, maxBytes int32) (*kmsg.FetchResponse, []fileSlice, []servedRange, int64, bool) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	var slices []fileSlice
	var served []servedRange
	var total int64
	hasErr := false
	remaining := maxBytes
	var cur *kmsg.FetchResponseTopic
	hinted := map[int32]bool{} // leaders named in KIP-951 hints
	replica := replicaID(req)
	for _, fp := range plan.parts {
		rp := kmsg.NewFetchResponseTopicPartition()
		rp.Partition = fp.partition
		// Kafka sends an empty, never a null, record set: librdkafka
		// rejects a null one ("invalid MessageSetSize -1").
		rp.RecordBatches = []byte{}
		var slice fileSlice
		var err error
		if plan.denied[fp.topic] {
			rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = -1, -1, -1
			err = kerr.TopicAuthorizationFailed
		} else {
			slice, err = b.readPartition(req, fp, &rp, remaining, total == 0, replica)
		}
		if err == nil && req.Version < 4 && slice.size > 0 {
			var n int
			n, err = downConvert(&rp, slice, req.Version, remaining)
			total += int64(n)
			remaining -= int32(min(n, int(remaining)))
			slice = fileSlice{}
			if last, ok := lastMessageOffset(rp.RecordBatches); ok && err == nil && replica < 0 && last >= fp.offset {
				served = append(served, servedRange{topic: fp.topic, partition: fp.partition, from: fp.offset, end: last + 1})
			}
		}
		if err != nil {
			rp.ErrorCode = errCode(err)
			hasErr = true
		}
		if slice.size > 0 {
			if replica < 0 {
				served = append(served, servedRange{topic: fp.topic, partition: fp.partition, from: fp.offset, end: slice.end, bound: rp.HighWatermark})
			}
			rp.RecordBatches = marker(len(slices))
			slices = append(slices, slice)
			total += slice.size
			remaining -= int32(min(slice.size, int64(remaining)))
		}
		if rp.PreferredReadReplica >= 0 {
			hasErr = true // answered at once: the client moves to the replica
		}
		if plan.incremental && slice.size == 0 && err == nil && rp.PreferredReadReplica < 0 && rp.HighWatermark == fp.sentHW && rp.LogStartOffset == fp.sentLogStart {
			continue // nothing new for this partition
		}
		if cur == nil || cur.Topic != fp.topic {
			resp.Topics = append(resp.Topics, kmsg.NewFetchResponseTopic())
			cur = &resp.Topics[len(resp.Topics)-1]
			cur.Topic, cur.TopicID = fp.topic, fp.topicID
		}
		cur.Partitions = append(cur.Partitions, rp)
		if rp.ErrorCode == kerr.NotLeaderForPartition.Code && rp.CurrentLeader.LeaderID >= 0 {
			hinted[rp.CurrentLeader.LeaderID] = true
		}
	}
	if len(hinted) > 0 && req.Version >= 16 {
		resp.Brokers = b.fetchEndpoints(b.meta.Image(), hinted, plan.listener)
	}
	return resp, slices, served, total, hasErr
}

// replicaID is the fetching follower's broker id, or -1 for a consumer.
func replicaID(req *kmsg.FetchRequest) int32 {
	if req.Version >= 15 {
		return req.ReplicaState.ID
	}
	return req.ReplicaID
}

// readPartition fills rp's offsets and returns the record range to send.
//
// A follower's fetch (replica >= 0) reads up to the log end, not the high
// watermark, and its fetch offset tells the leader how far it has come:
// that may move the high watermark and bring it into the ISR.
//
// Follower fetching (KIP-392): a consumer's fetch of v11 or later is
// served by any replica, up to that replica's high watermark; a leader
// with replica.selector.class set to the rack-aware selector sends a
// consumer whose client.rack matches a caught-up follower's broker.rack
// to that follower (PreferredReadReplica, no records).
func (b *Broker) readPartition(req *kmsg.FetchRequest, fp *fetchPart, rp *kmsg.FetchResponseTopicPartition, remaining int32, first bool, replica int32) (fileSlice, error) {
	rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = -1, -1, -1
	im := b.meta.Image()
	part, code := b.leaderFor(im, fp.topic, fp.partition)
	if code == kerr.NotLeaderForPartition.Code && replica < 0 && req.Version >= 11 {
		if p, ok := b.parts.Get(fp.topic, fp.partition); ok && p.ServesFollowerReads() && b.meta.CaughtUp() {
			part, code = p, 0
		}
	}
	if code != 0 {
		if code == kerr.NotLeaderForPartition.Code {
			if l, e, ok := b.currentLeader(im, fp.topic, fp.partition); ok {
				rp.CurrentLeader.LeaderID, rp.CurrentLeader.LeaderEpoch = l, e
			}
		}
		return fileSlice{}, kerr.ErrorForCode(code)
	}
	if err := part.CheckEpoch(fp.leaderEpoch); err != nil {
		return fileSlice{}, err
	}
	throttled := false
	if replica >= 0 {
		if fp.offset > part.LocalEnd() {
			return fileSlice{}, kerr.OffsetOutOfRange
		}
		if err := part.FollowerFetched(replica, fp.offset, b.now()); err != nil {
			return fileSlice{}, err
		}
		// leader.replication.throttled.rate: a throttled replica out of
		// the ISR gets nothing while the leader is over the rate.
		quota := b.parts.LeaderQuota()
		if throttled = !quota.Unlimited() && part.LeaderThrottled(replica); throttled && quota.Exceeded(b.now()) {
			hw := part.HighWatermark()
			rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = hw, hw, part.Log().LogStartOffset()
			return fileSlice{}, nil
		}
	}
	hw := part.HighWatermark()
	rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = hw, part.LastStableOffset(), part.Log().LogStartOffset()
	if replica < 0 && req.Version >= 11 && b.cfg.RackAwareFetch {
		if to := b.preferredReadReplica(im, part, fp.offset, req.Rack); to >= 0 {
			rp.PreferredReadReplica = to
			return fileSlice{}, nil
		}
	}
	limit := min(fp.maxBytes, remaining)
	if limit <= 0 && !first {
		return fileSlice{}, nil
	}
	var s storage.Slice
	var err error
	switch {
	case replica >= 0:
		s, err = part.ReadReplica(fp.offset, max(limit, 0))
	case req.Version >= 4 && req.IsolationLevel == 1:
		// read_committed: up to the last stable offset, with the
		// aborted transactions the consumer must drop.
		var aborted []storage.AbortedTxn
		var lso int64
		s, aborted, lso, err = part.ReadCommitted(fp.offset, max(limit, 0), first)
		rp.LastStableOffset = lso
		if err == nil && s.Size > 0 {
			rp.AbortedTransactions = make([]kmsg.FetchResponseTopicPartitionAbortedTransaction, len(aborted))
			for i, a := range aborted {
				rp.AbortedTransactions[i] = kmsg.FetchResponseTopicPartitionAbortedTransaction{ProducerID: a.ProducerID, FirstOffset: a.FirstOffset}
			}
		}
	default:
		s, err = part.Read(fp.offset, max(limit, 0), first)
	}
	if errors.Is(err, storage.ErrCorrupt) {
		// A damaged batch at the fetch offset (found when bytes that
		// were on disk at start are first read, storage/verify.go):
		// CORRUPT_MESSAGE, as Kafka answers a read that raises
		// CorruptRecordException. Reads before it were served.
		return fileSlice{}, kerr.CorruptMessage
	}
	if err != nil {
		return fileSlice{}, err
	}
	if s.Size == 0 {
		s.Release()
		return fileSlice{}, nil
	}
	if throttled {
		b.parts.LeaderQuota().Record(s.Size, b.now())
	}
	fs := fileSlice{f: s.File, pos: s.Pos, size: s.Size, ref: s, end: -1}
	if replica < 0 {
		if end, ok := part.ServedTo(fp.offset, s, req.Version >= 4 && req.IsolationLevel == 1); ok {
			fs.end = end
		}
	}
	return fs, nil
}

// preferredReadReplica picks the replica a consumer in rack should read
// part from, as Kafka's RackAwareReplicaSelector does: the leader itself
// if it is in that rack (or the consumer names no rack), else a caught-up
// in-sync follower in that rack (the first in replica order, where Kafka
// takes the one with the longest log; all of them hold offset). -1 keeps
// the consumer on the leader.
func (b *Broker) preferredReadReplica(im *metadata.Image, part *partition.Partition, offset int64, rack string) int32 {
	if rack == "" || rack == b.cfg.Rack || !part.IsLeader() {
		return -1
	}
	for _, id := range part.ReadReplicas(offset, b.now(), b.cfg.ReplicaLagTimeMax) {
		if br, ok := im.Broker(id); ok && !br.Fenced && br.Rack == rack {
			return id
		}
	}
	return -1
}

// commit records, in the session, what this response told the client.
func (fp *fetchPlan) commit(resp *kmsg.FetchResponse) {
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if sp, ok := fp.session.index[partKey{t.Topic, p.Partition}]; ok {
				sp.sentHW, sp.sentLogStart = p.HighWatermark, p.LogStartOffset
			}
		}
	}
}

// downConvert turns a slice of stored v2 batches into the magic 0 or 1
// message set an old fetcher reads, in memory, and releases the slice.
func downConvert(rp *kmsg.FetchResponseTopicPartition, s fileSlice, version int16, limit int32) (int, error) {
	defer s.ref.Release()
	data, err := s.ref.Bytes()
	if err != nil {
		return 0, err
	}
	magic := int8(1)
	if version < 2 {
		magic = 0
	}
	set, err := record.ToMessageSet(data, magic, int(max(limit, 1)))
	if err != nil {
		return 0, err
	}
	rp.RecordBatches = set
	return len(set), nil
}
