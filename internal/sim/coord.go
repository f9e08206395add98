package sim

import (
	"fmt"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/coordinator/group"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

// Group coordinators. With replication, the cluster gets an offsets topic
// (offsetsTopic, offsetsPartitions partitions on every node), and every
// node runs the real group.Coordinator for the partitions of it that it
// leads, as the group Runtime does: a node that comes to lead a partition
// (and has caught up with the metadata) replays its local log into the
// coordinator, one that stops leading it forgets its groups, and the
// coordinator's appends go through the partition's leader replica with
// acks=all, the commit answered once the high watermark passes it.
// Clients commit offsets (simple commits: generation -1, no member) for a
// few groups, each group's offsets increasing, to the node that leads the
// group's partition in their node's image.
//
// Checked: an acknowledged commit is never lost. Whenever a node loaded
// as coordinator holds the leadership that the newest image names, its
// committed offset of every group it coordinates is at least the highest
// one acknowledged to a client so far, whatever crashed or failed over in
// between; and once the cluster converged, every group's offset is read
// back from its coordinator at the end.
const (
	offsetsTopic      = "__consumer_offsets"
	offsetsPartitions = 2
	simGroups         = 4
)

// nodeCoord is one node's group coordinator and the offsets partitions it
// leads, by the leader epoch it loaded them at.
type nodeCoord struct {
	co   *group.Coordinator
	led  map[int32]int32
	done []coordDone // appends the partitions completed, to hand to co
}

type coordDone struct {
	id  uint64
	err error
}

// groups is what the clients were told.
type groups struct {
	next   map[string]int64 // the next offset each group commits
	acked  map[string]int64 // the highest offset acknowledged per group
	checks int              // coordinator reads that were checked
}

func (s *sim) coordsOn() bool { return s.cfg.Dir != "" }

// ensureOffsetsTopic creates the offsets topic once enough brokers are
// registered for a replica on each node.
func (s *sim) ensureOffsetsTopic(n *node, im *metadata.Image) bool {
	return s.coordsOn() && s.ensureInternalTopic(n, im, offsetsTopic, offsetsPartitions, "create offsets topic")
}

// ensureInternalTopic proposes a coordinator's topic (a replica on every
// node) if im lacks it and every node is a usable broker; it reports
// whether it proposed.
func (s *sim) ensureInternalTopic(n *node, im *metadata.Image, name string, partitions int32, what string) bool {
	if _, ok := im.Topic(name); ok || metadata.UsableBrokers(im, int32(n.id)) < int16(len(s.nodes)) {
		return false
	}
	ct := metadata.CreateTopic{Name: name, Partitions: partitions, ReplicationFactor: int16(len(s.nodes)), Internal: true}
	s.propose(n, what, func(im *metadata.Image) ([]metadata.Record, error) {
		return metadata.CreateTopicRecords(im, ct, int32(n.id))
	})
	return true
}

// ledNow returns the partitions of topic that node n's replicas lead, by
// leader epoch: none before it has caught up with the metadata, as the
// coordinator runtimes do.
func (s *sim) ledNow(n *node, topic string) map[int32]int32 {
	want := map[int32]int32{}
	t, ok := n.store.Image().Topic(topic)
	if !ok || !n.store.CaughtUp() {
		return want
	}
	for i := range int32(len(t.Partitions)) {
		if rep := n.parts[partKey{t.ID, i}]; rep != nil && rep.p.IsLeader() {
			want[i] = rep.p.LeaderEpoch()
		}
	}
	return want
}

// followCoordinators loads the offsets partitions node n has come to lead
// into its coordinator and forgets those it lost (Runtime.followLeadership),
// then hands the coordinator the appends its partitions completed.
func (s *sim) followCoordinators(n *node) {
	if !s.coordsOn() || n.dir == nil || !n.up {
		return
	}
	now := s.nodeClock(n)
	if n.coord == nil {
		cfg := group.DefaultConfig()
		cfg.Partitions = offsetsPartitions
		co := group.New(cfg, fmt.Sprintf("node%d-%d", n.id, n.life))
		nc := &nodeCoord{co: co, led: map[int32]int32{}}
		co.SetPartitioner(func(g string) int32 { return group.PartitionFor(g, offsetsPartitions) })
		co.SetOwner(func(g string) bool { _, ok := nc.led[group.PartitionFor(g, offsetsPartitions)]; return ok })
		co.FinishLoad(now)
		n.coord = nc
	}
	nc := n.coord
	want := s.ledNow(n, offsetsTopic)
	im := n.store.Image()
	s.forgetLost(n, nc.led, want, nc.co.Unload, "offsets partition")
	for _, p := range gained(nc.led, want) {
		t, _ := im.Topic(offsetsTopic)
		rep := n.parts[partKey{t.ID, p}]
		nc.co.BeginLoad(p)
		read := rep.p.ReadLocal
		if s.cfg.breakOffsetLoad {
			read = func(func([]byte) (int64, error)) error { return nil }
		}
		err := read(func(data []byte) (int64, error) {
			return group.WalkLog(data, func(e *group.Entry) {
				if err := nc.co.ReplayEntry(now, p, e, noTopics{}); err != nil {
					s.fail(fmt.Errorf("node %d cannot replay offsets partition %d at %d: %v", n.id, p, e.Offset, err))
				}
			})
		})
		if err != nil {
			s.fail(fmt.Errorf("node %d cannot load offsets partition %d: %v", n.id, p, err))
			return
		}
		nc.co.FinishLoadPartition(now, p)
		nc.led[p] = want[p]
		s.tracef("node %d coordinates offsets partition %d (leader epoch %d)", n.id, p, want[p])
	}
	s.perform(n, nc.co.Tick(now))
	for len(nc.done) > 0 {
		d := nc.done[0]
		nc.done = nc.done[1:]
		s.perform(n, nc.co.AppendDone(now, d.id, d.err))
	}
}

// perform appends what the coordinator asks for through node n's leader
// replicas and delivers its replies (Runtime.performLocked).
func (s *sim) perform(n *node, out group.Out) {
	nc := n.coord
	for _, a := range out.Appends {
		id := a.ID
		done := func(err error) {
			if err != nil {
				s.tracef("node %d: append %d to offsets partition %d failed: %v", n.id, id, a.Partition, err)
			}
			nc.done = append(nc.done, coordDone{id, err})
		}
		if base := s.appendInternal(n, offsetsTopic, a.Partition, group.EncodeBatch(a.Records, s.nodeClock(n).UnixMilli()), done); base >= 0 {
			nc.co.Appended(id, base)
		}
	}
	for _, r := range out.Replies {
		if r.To != nil {
			r.To.Complete(r.Resp)
		}
	}
}

// forgetLost unloads the partitions in led that want no longer holds at
// the same leader epoch (the coordinator runtimes' followLeadership).
func (s *sim) forgetLost(n *node, led, want map[int32]int32, unload func(int32), what string) {
	for _, p := range slices.Sorted(maps.Keys(led)) {
		if e, ok := want[p]; !ok || e != led[p] {
			unload(p)
			delete(led, p)
			s.tracef("node %d no longer coordinates %s %d", n.id, what, p)
		}
	}
}

// gained lists, in order, the partitions of want not in led.
func gained(led, want map[int32]int32) []int32 {
	var out []int32
	for _, p := range slices.Sorted(maps.Keys(want)) {
		if _, ok := led[p]; !ok {
			out = append(out, p)
		}
	}
	return out
}

// appendInternal appends batch to partition p of a coordinator's topic
// through node n's replica with acks=all, done called once it is durable
// or failed; it returns the batch's base offset, -1 if the append failed
// at once (done was called).
func (s *sim) appendInternal(n *node, topic string, p int32, batch []byte, done func(error)) int64 {
	var rep *replica
	if t, ok := n.store.Image().Topic(topic); ok {
		rep = n.parts[partKey{t.ID, p}]
	}
	if rep == nil {
		done(fmt.Errorf("no replica of %s-%d", topic, p))
		return -1
	}
	res, err := rep.p.Append(batch, s.nodeClock(n), done)
	if err != nil {
		done(err)
		return -1
	}
	return res.BaseOffset
}

// commitOffset: a client commits the next offset of a random group to the
// node that leads the group's partition in node n's image.
func (s *sim) commitOffset(n *node, im *metadata.Image) {
	t, ok := im.Topic(offsetsTopic)
	if !ok {
		return
	}
	g := fmt.Sprintf("group%d", s.rng.IntN(simGroups))
	pm := t.Partitions[group.PartitionFor(g, int32(len(t.Partitions)))]
	if pm.Leader < 0 {
		return
	}
	cn := s.byID(uint64(pm.Leader))
	if !cn.up || cn.coord == nil || s.cut[pair(n.id, cn.id)] || s.now < cn.paused {
		return
	}
	offset := s.groups.next[g]
	s.groups.next[g]++
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.Generation = g, -1
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset = 0, offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	reply := group.ReplyFunc(func(r kmsg.Response) {
		code := r.(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode
		s.tracef("node %d answers the commit of %s offset %d: %v", cn.id, g, offset, kerr.ErrorForCode(code))
		if code != 0 {
			s.res.Ops["offset commit refused ("+kerr.ErrorForCode(code).(*kerr.Error).Message+")"]++
			return
		}
		s.res.Ops["offset commit acknowledged"]++
		if offset > s.groups.acked[g] {
			s.groups.acked[g] = offset
		}
	})
	known := func(string, int32) bool { return true }
	s.perform(cn, cn.coord.co.OffsetCommit(s.nodeClock(cn), req, known, reply))
	s.afterStep(cn)
}

// checkCoordinators checks the coordinators that hold the leadership the
// newest image names: each has every group's acknowledged commits.
func (s *sim) checkCoordinators() {
	if !s.coordsOn() {
		return
	}
	var newest *metadata.Image
	for _, n := range s.nodes {
		if n.up && (newest == nil || n.store.Image().Index > newest.Index) {
			newest = n.store.Image()
		}
	}
	if newest == nil {
		return
	}
	t, ok := newest.Topic(offsetsTopic)
	if !ok {
		return
	}
	for _, g := range slices.Sorted(maps.Keys(s.groups.acked)) {
		p := group.PartitionFor(g, int32(len(t.Partitions)))
		pm := t.Partitions[p]
		if pm.Leader < 0 {
			continue
		}
		cn := s.byID(uint64(pm.Leader))
		if !cn.up || cn.coord == nil {
			continue
		}
		if e, ok := cn.coord.led[p]; !ok || e != pm.LeaderEpoch {
			continue
		}
		got, code := cn.coord.co.FetchOffsets(g, []group.FetchTopic{{Topic: "t", Partitions: []int32{0}}}, false)
		s.groups.checks++
		if code != 0 || len(got) != 1 || got[0].ErrorCode != 0 {
			s.fail(fmt.Errorf("node %d, coordinator of %s (offsets partition %d, leader epoch %d), cannot read its offsets: %v %+v", cn.id, g, p, pm.LeaderEpoch, kerr.ErrorForCode(code), got))
			return
		}
		if got[0].Offset < s.groups.acked[g] {
			s.fail(fmt.Errorf("node %d, coordinator of %s (offsets partition %d, leader epoch %d): committed offset %d, but %d was acknowledged", cn.id, g, p, pm.LeaderEpoch, got[0].Offset, s.groups.acked[g]))
			return
		}
	}
}

// coordsConverged reports whether every group with an acknowledged commit
// has a loaded coordinator at the leadership the image names.
func (s *sim) coordsConverged(im *metadata.Image) bool {
	if !s.coordsOn() || len(s.groups.acked) == 0 {
		return true
	}
	t, ok := im.Topic(offsetsTopic)
	if !ok {
		return false
	}
	for _, g := range slices.Sorted(maps.Keys(s.groups.acked)) {
		p := group.PartitionFor(g, int32(len(t.Partitions)))
		pm := t.Partitions[p]
		cn := s.byID(uint64(pm.Leader))
		if pm.Leader < 0 || !cn.up || cn.coord == nil {
			return false
		}
		if e, ok := cn.coord.led[p]; !ok || e != pm.LeaderEpoch {
			return false
		}
	}
	return true
}

// noTopics is the topic view the coordinator replays with: the simulation
// has no consumer groups of KIP-848, which are all it is used for.
type noTopics struct{}

func (noTopics) ByName(string) (group.TopicMeta, bool) { return group.TopicMeta{}, false }
func (noTopics) ByID([16]byte) (group.TopicMeta, bool) { return group.TopicMeta{}, false }
func (noTopics) Names() []string                       { return nil }
