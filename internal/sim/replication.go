package sim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/partition"
	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// Partition replication. With Config.Dir set, every node hosts the
// replicas its metadata image gives it, as the partition Manager does:
// real storage.Log files in the node's directory, wrapped by the real
// partition.Partition (leader and follower state, the high watermark, the
// ISR it asks the controller to change, truncation by leader epoch).
// What the simulation does itself is the part that is network code in
// the server: the follower's fetcher (fetcher.go) and the leader's side of
// Fetch and OffsetForLeaderEpoch (broker 01 and 23), cut to what they do
// for replication, over the simulated network. A crash closes the node's
// logs without a clean shutdown: the files keep what was written (a
// process crash, the page cache survives); power cuts are not simulated
// for the logs (page-cache mode promises nothing across one).

const (
	replicaFetchBytes   = 64 << 10
	replicaRequestAfter = time.Second // a request unanswered this long is sent again
	replicaLagMax       = 3 * time.Second
)

// replica is one hosted partition replica.
type replica struct {
	p         *partition.Partition
	key       partKey
	partEpoch int32 // the image's partition epoch applied (-1: none)
	// inflight is when the request reqID went out (0: none): as on the
	// fetcher's connection, one request at a time, and the answer to an
	// older one (given up, its connection closed) is not taken.
	inflight time.Duration
	reqID    uint64
	// lastEpoch and lastHW: the high watermark this replica showed as the
	// leader of lastEpoch (it never goes back within a leadership).
	lastEpoch int32
	lastHW    int64
}

type replKind int

const (
	fetchReq replKind = iota
	fetchResp
	epochReq
	epochResp
)

// replMsg is a replica fetch or an OffsetForLeaderEpoch, or its answer.
type replMsg struct {
	kind      replKind
	id        uint64 // the request's number; its answer carries it
	key       partKey
	name      string
	index     int32
	epoch     int32 // the follower's current leader epoch
	offset    int64 // fetch offset
	askEpoch  int32 // OffsetForLeaderEpoch: the follower's latest epoch
	err       error
	data      []byte
	hw        int64
	logStart  int64
	endEpoch  int32
	endOffset int64
}

// ackedRecord is a record the leader acknowledged with acks=all.
type ackedRecord struct {
	offset int64
	crc    uint32
}

// repl is the run's replication state and what the checker knows of it.
type repl struct {
	// committed is the batch (its CRC) at each base offset below some
	// leader's high watermark, per partition.
	committed map[partKey]map[int64]uint32
	acked     map[partKey][]ackedRecord
	produced  int
}

var errOutOfRange = errors.New("offset out of range")

// openReplicas opens node n's log directory (recovering it, after a
// crash, as a restart does).
func (s *sim) openReplicas(n *node) error {
	if s.cfg.Dir == "" {
		return nil
	}
	d, err := storage.OpenDir(filepath.Join(s.cfg.Dir, fmt.Sprintf("node%d", n.id)), storage.Config{}, s.logger.With("node", n.id))
	if err != nil {
		return fmt.Errorf("node %d cannot open its log directory: %w", n.id, err)
	}
	n.dir, n.parts = d, map[partKey]*replica{}
	return nil
}

// closeReplicas closes node n's logs as a crash leaves them: no clean
// shutdown marker, so the next start recovers them.
func (s *sim) closeReplicas(n *node) {
	if n.dir == nil {
		return
	}
	n.dir.Close()
	removeCleanMarker(n.dir.Path())
	n.dir, n.parts, n.coord, n.txn = nil, nil, nil, nil
}

// syncReplicas hosts the replicas node n's image gives it and applies
// their changes, as the Manager does on every image.
//
// Only once the node has caught up with the cluster's metadata, as the
// Manager's Attach waits for: a restarted node's image may be one the
// cluster has left behind (until then, as the broker's leaderFor refuses
// them, nothing is served from its logs and they follow no leader).
func (s *sim) syncReplicas(n *node) {
	if n.dir == nil || !n.up || !n.store.CaughtUp() {
		return
	}
	im := n.store.Image()
	seen := map[partKey]bool{}
	for _, v := range viewOf(im).parts {
		if !containsID(v.replicas, int32(n.id)) {
			continue
		}
		k := v.key()
		seen[k] = true
		rep := n.parts[k]
		if rep == nil {
			l, ok := n.dir.Log(v.name, v.partition)
			if !ok {
				var err error
				if l, err = n.dir.CreateLog(v.name, v.partition, v.topic, storage.Config{}); err != nil {
					s.fail(fmt.Errorf("node %d cannot create the log of %s-%d: %v", n.id, v.name, v.partition, err))
					return
				}
			}
			cfg := config.Topic{MinInsyncReplicas: min(2, len(v.replicas))}
			rep = &replica{key: k, partEpoch: -1, lastEpoch: -1}
			rep.p = partition.NewReplica(v.name, v.partition, v.topic, l, cfg, v.leaderEpoch, int32(n.id),
				func(p *partition.Partition, req partition.ISRRequest) {
					n.isrQueue = append(n.isrQueue, isrAsk{rep, req})
				})
			n.parts[k] = rep
		}
		if v.partEpoch != rep.partEpoch {
			t, _ := im.TopicByID(v.topic)
			rep.p.ApplyMetadata(t.Partitions[v.partition], s.nodeClock(n))
			s.tracef("node %d: %s-%d leader %d epoch %d isr %v (log end %d, hw %d)", n.id, v.name, v.partition, v.leader, v.leaderEpoch, v.isr, rep.p.LocalEnd(), rep.p.HighWatermark())
			rep.partEpoch = v.partEpoch
		}
	}
	for _, k := range sortedKeys(n.parts) {
		if !seen[k] {
			n.dir.DeleteLog(n.parts[k].p.Topic, n.parts[k].p.Index)
			delete(n.parts, k)
		}
	}
	s.askISR(n)
}

type isrAsk struct {
	rep *replica
	req partition.ISRRequest
}

// askISR proposes the ISR changes node n's leaders asked for
// (AlterPartition), as the Manager's maintainISR does.
func (s *sim) askISR(n *node) {
	for len(n.isrQueue) > 0 && n.up {
		a := n.isrQueue[0]
		n.isrQueue = n.isrQueue[1:]
		p := a.rep.p
		err := n.store.ProposeStep(func(im *metadata.Image) ([]metadata.Record, error) {
			return metadata.ChangeISRRecords(im, p.Topic, p.Index, int32(n.id), a.req.LeaderEpoch, a.req.PartitionEpoch, a.req.ISR)
		})
		s.outcome("alter partition (replica)", err)
		s.tracef("node %d asks ISR %v for %s-%d (partition epoch %d): %v", n.id, a.req.ISR, p.Topic, p.Index, a.req.PartitionEpoch, err)
		// Whatever the outcome, the leader learns it from the image and
		// asks again while its partition epoch does not move.
		s.afterStep(n)
	}
}

// replicaDuties run on every tick of node n: followers fetch, leaders
// drop laggards from the ISR and ask again for ISR changes that did not
// show in the image.
func (s *sim) replicaDuties(n *node) {
	if n.dir == nil {
		return
	}
	for _, k := range sortedKeys(n.parts) {
		rep := n.parts[k]
		p := rep.p
		if p.IsLeader() {
			p.CheckLaggards(s.nodeClock(n), replicaLagMax)
			continue
		}
		leader, epoch := p.Leader()
		if leader < 0 || (rep.inflight > 0 && s.now-rep.inflight < replicaRequestAfter) {
			continue
		}
		s.seq++
		rep.inflight, rep.reqID = s.now, s.seq
		m := &replMsg{id: rep.reqID, key: k, name: p.Topic, index: p.Index, epoch: epoch}
		if trunc, e := p.NeedsTruncation(); trunc {
			m.kind, m.epoch, m.askEpoch = epochReq, e, p.Log().LatestEpoch()
		} else {
			m.kind, m.offset = fetchReq, p.LocalEnd()
		}
		s.sendRepl(n.id, uint64(leader), m)
	}
	s.askISR(n)
}

// sendRepl puts a replication message on the network.
func (s *sim) sendRepl(from, to uint64, m *replMsg) {
	if s.cut[pair(from, to)] || s.rng.Float64() < s.loss {
		return
	}
	s.at(s.delay(), &event{kind: evRepl, node: to, from: from, repl: m})
}

// handleRepl is a replication message arriving at node n.
func (s *sim) handleRepl(n *node, from uint64, m *replMsg) {
	if n.dir == nil {
		return
	}
	rep := n.parts[m.key]
	switch m.kind {
	case fetchReq, epochReq:
		out := &replMsg{id: m.id, key: m.key, name: m.name, index: m.index, epoch: m.epoch, offset: m.offset}
		out.kind = fetchResp
		if m.kind == epochReq {
			out.kind = epochResp
		}
		switch {
		case rep == nil || !rep.p.IsLeader():
			out.err = partition.ErrNotLeader
		default:
			out.err = rep.p.CheckEpoch(m.epoch)
		}
		if out.err == nil {
			s.serve(n, rep, from, m, out)
		}
		s.sendRepl(n.id, from, out)
	case fetchResp, epochResp:
		if rep == nil || m.id != rep.reqID || rep.inflight == 0 {
			return
		}
		rep.inflight = 0
		if leader, epoch := rep.p.Leader(); leader != int32(from) || epoch != m.epoch || m.err != nil && !errors.Is(m.err, errOutOfRange) {
			return
		}
		s.follow(n, rep, m)
	}
	s.askISR(n)
}

// serve is the leader's side of a follower's fetch or epoch request.
func (s *sim) serve(n *node, rep *replica, from uint64, m, out *replMsg) {
	p := rep.p
	out.logStart = p.Log().LogStartOffset()
	if m.kind == epochReq {
		out.endEpoch, out.endOffset = p.Log().EndOffsetForEpoch(m.askEpoch)
		return
	}
	if m.offset > p.LocalEnd() {
		out.err = errOutOfRange
		return
	}
	if err := p.FollowerFetched(int32(from), m.offset, s.nodeClock(n)); err != nil {
		out.err = err
		return
	}
	out.hw = p.HighWatermark()
	sl, err := p.ReadReplica(m.offset, replicaFetchBytes)
	if err != nil {
		out.err = err
		return
	}
	data, err := sl.Bytes()
	sl.Release()
	if err != nil {
		out.err = err
		return
	}
	out.data = append([]byte(nil), data...)
}

// follow is the follower's side of an answer.
func (s *sim) follow(n *node, rep *replica, m *replMsg) {
	p := rep.p
	switch {
	case m.kind == epochResp:
		s.tracef("node %d: %s-%d told epoch %d ends at %d (log end %d)", n.id, p.Topic, p.Index, m.endEpoch, m.endOffset, p.LocalEnd())
		endEpoch, end := m.endEpoch, m.endOffset
		if s.cfg.breakTruncation { // as if the leader's history were the follower's own
			endEpoch, end = p.Log().LatestEpoch(), p.LocalEnd()
		}
		if err := p.TruncateAfterEpoch(m.epoch, endEpoch, end); err != nil {
			s.fail(fmt.Errorf("node %d truncating %s-%d at %d: %v", n.id, p.Topic, p.Index, end, err))
		}
	case errors.Is(m.err, errOutOfRange):
		if m.logStart > p.LocalEnd() {
			if err := p.StartAt(m.logStart); err != nil {
				s.fail(fmt.Errorf("node %d starting %s-%d at %d: %v", n.id, p.Topic, p.Index, m.logStart, err))
			}
			return
		}
		p.Diverged()
	default:
		if _, err := p.AppendReplicated(m.data, m.hw, s.nodeClock(n)); err != nil {
			s.fail(fmt.Errorf("node %d appending replicated records to %s-%d: %v", n.id, p.Topic, p.Index, err))
			return
		}
		if err := p.FollowLogStart(m.logStart); err != nil {
			s.fail(fmt.Errorf("node %d following the log start of %s-%d: %v", n.id, p.Topic, p.Index, err))
		}
	}
}

// produce sends one record with acks=all to the leader of a random
// partition, as a client that knows the leader from node n's metadata.
func (s *sim) produce(n *node) {
	parts := viewOf(n.store.Image()).parts
	if len(parts) == 0 {
		return
	}
	v := parts[s.rng.IntN(len(parts))]
	if v.leader < 0 || v.name == offsetsTopic || v.name == txnTopic { // only their coordinators write there
		return
	}
	ln := s.byID(uint64(v.leader))
	if !ln.up || ln.dir == nil || s.cut[pair(n.id, ln.id)] || s.now < ln.paused {
		return
	}
	rep := ln.parts[v.key()]
	if rep == nil {
		return
	}
	s.repl.produced++
	batch := record.NewBatch(s.now.Milliseconds(), kmsg.Record{Value: fmt.Appendf(nil, "seed %d record %d", s.cfg.Seed, s.repl.produced)})
	h, _ := record.ParseHeader(batch)
	crc := h.CRC
	type pending struct {
		done, placed bool
		err          error
		offset       int64
	}
	pd := &pending{}
	settle := func() {
		if !pd.done || !pd.placed {
			return
		}
		if pd.err != nil {
			s.res.Ops["produce failed after append"]++
			return
		}
		s.res.Ops["produce acknowledged"]++
		s.repl.acked[v.key()] = append(s.repl.acked[v.key()], ackedRecord{pd.offset, crc})
	}
	res, err := rep.p.Append(batch, s.nodeClock(n), func(err error) { pd.done, pd.err = true, err; settle() })
	if err != nil {
		s.res.Ops["produce refused"]++
		return
	}
	pd.offset, pd.placed = res.BaseOffset, true
	settle()
	s.tracef("produce to node %d %s-%d offset %d", ln.id, v.name, v.partition, res.BaseOffset)
	s.askISR(ln)
}

// checkReplicas checks node n's leaders: the high watermark never goes
// back within a leadership, and every batch below it is the batch any
// leader ever had below its high watermark at that offset (a committed
// record never changes or disappears). A new leadership checks its whole
// committed log; later, what the high watermark passes.
func (s *sim) checkReplicas(n *node) {
	if n.dir == nil || !n.up {
		return
	}
	for _, k := range sortedKeys(n.parts) {
		rep := n.parts[k]
		p := rep.p
		if !p.IsLeader() {
			continue
		}
		epoch, hw := p.LeaderEpoch(), p.HighWatermark()
		from := rep.lastHW
		if epoch != rep.lastEpoch {
			from = p.Log().LogStartOffset()
		} else if hw < rep.lastHW {
			s.fail(fmt.Errorf("node %d, %s-%d: the high watermark went back from %d to %d in leader epoch %d", n.id, p.Topic, p.Index, rep.lastHW, hw, epoch))
			return
		}
		if hw > from || epoch != rep.lastEpoch {
			if err := s.checkCommitted(n, p, from, hw, true); err != nil {
				s.fail(err)
				return
			}
		}
		rep.lastEpoch, rep.lastHW = epoch, hw
	}
}

// checkCommitted compares node n's batches in [from, to) with the
// committed ones (record: remember those not seen yet).
func (s *sim) checkCommitted(n *node, p *partition.Partition, from, to int64, remember bool) error {
	k := partKey{p.TopicID, p.Index}
	seen := s.repl.committed[k]
	if seen == nil {
		seen = map[int64]uint32{}
		s.repl.committed[k] = seen
	}
	return readBatches(p, from, to, func(h record.Header) error {
		if c, ok := seen[h.BaseOffset]; ok && c != h.CRC {
			return fmt.Errorf("node %d, %s-%d: the committed batch at offset %d changed (crc %08x, was %08x)", n.id, p.Topic, p.Index, h.BaseOffset, h.CRC, c)
		} else if !ok && remember {
			seen[h.BaseOffset] = h.CRC
		}
		return nil
	})
}

// readBatches calls fn with the header of each batch of p's log that
// starts in [from, to).
func readBatches(p *partition.Partition, from, to int64, fn func(record.Header) error) error {
	for off := from; off < to; {
		sl, err := p.ReadReplica(off, replicaFetchBytes)
		if err != nil {
			return fmt.Errorf("reading %s-%d at %d: %v", p.Topic, p.Index, off, err)
		}
		data, err := sl.Bytes()
		sl.Release()
		if err != nil {
			return err
		}
		if len(data) == 0 {
			return nil
		}
		next := off
		for len(data) > 0 {
			h, err := record.ParseHeader(data)
			if err != nil || h.TotalSize() > int64(len(data)) {
				break
			}
			if h.BaseOffset >= to {
				return nil
			}
			if h.BaseOffset >= from {
				if err := fn(h); err != nil {
					return err
				}
			}
			next = h.LastOffset() + 1
			data = data[h.TotalSize():]
		}
		if next <= off {
			return nil
		}
		off = next
	}
	return nil
}

// replicasConverged reports whether, after healing, every partition's
// replicas are all in sync: in the ISR, with the leader's log end, and
// the leader's high watermark at its log end.
func (s *sim) replicasConverged(im *metadata.Image) bool {
	if s.cfg.Dir == "" {
		return true
	}
	for _, v := range viewOf(im).parts {
		if v.leader < 0 || len(v.isr) != len(v.replicas) {
			return false
		}
		lrep := s.byID(uint64(v.leader)).parts[v.key()]
		if lrep == nil || !lrep.p.IsLeader() {
			return false
		}
		end := lrep.p.LocalEnd()
		if lrep.p.HighWatermark() != end {
			return false
		}
		for _, r := range v.replicas {
			rep := s.byID(uint64(r)).parts[v.key()]
			if rep == nil || rep.p.LocalEnd() != end || rep.p.HighWatermark() != end {
				return false
			}
		}
	}
	return true
}

// finalReplicaCheck runs once the cluster converged: every acknowledged
// record is in its partition's leader's log at its offset, and every
// replica's log is the leader's, batch for batch.
func (s *sim) finalReplicaCheck(im *metadata.Image) {
	if s.cfg.Dir == "" {
		return
	}
	for _, v := range viewOf(im).parts {
		lrep := s.byID(uint64(v.leader)).parts[v.key()]
		leader := map[int64]uint32{}
		end := lrep.p.LocalEnd()
		if err := readBatches(lrep.p, lrep.p.Log().LogStartOffset(), end, func(h record.Header) error {
			leader[h.BaseOffset] = h.CRC
			return nil
		}); err != nil {
			s.fail(err)
			return
		}
		for _, a := range s.repl.acked[v.key()] {
			if leader[a.offset] != a.crc {
				s.fail(fmt.Errorf("%s-%d: the record acknowledged at offset %d (crc %08x) is lost: the leader, node %d, has %08x there", v.name, v.partition, a.offset, a.crc, v.leader, leader[a.offset]))
				return
			}
			s.res.AckedChecked++
		}
		for _, r := range v.replicas {
			rep := s.byID(uint64(r)).parts[v.key()]
			n := 0
			if err := readBatches(rep.p, lrep.p.Log().LogStartOffset(), end, func(h record.Header) error {
				n++
				if leader[h.BaseOffset] != h.CRC {
					return fmt.Errorf("%s-%d: node %d's batch at %d differs from the leader's (node %d)", v.name, v.partition, r, h.BaseOffset, v.leader)
				}
				return nil
			}); err != nil {
				s.fail(err)
				return
			}
			if n != len(leader) {
				s.fail(fmt.Errorf("%s-%d: node %d has %d batches below the high watermark, the leader %d", v.name, v.partition, r, n, len(leader)))
				return
			}
		}
	}
}

func containsID(ids []int32, id int32) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// sortedKeys lists m's keys in a fixed order (map order is random).
func sortedKeys(m map[partKey]*replica) []partKey {
	out := make([]partKey, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && keyLess(out[j], out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func keyLess(a, b partKey) bool {
	for i := range a.topic {
		if a.topic[i] != b.topic[i] {
			return a.topic[i] < b.topic[i]
		}
	}
	return a.partition < b.partition
}

// removeCleanMarker makes a closed log directory look like one a crash
// left: its next open recovers the logs.
func removeCleanMarker(dir string) { os.Remove(filepath.Join(dir, ".kafka_cleanshutdown")) }
