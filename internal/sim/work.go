package sim

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/metadata/quorum"
)

// maxTopics bounds the topics a run creates, so images stay small.
const maxTopics = 8

// work has a running node propose one controller operation, as brokers
// and admin clients issue them: create or delete a topic, shrink or
// expand an ISR (AlterPartition, sent by the partition's leader), give up
// a partition whose log failed, reassign a partition, allocate producer
// ids, add a partition, unregister a broker that is down, or shut down in
// a controlled way (and then stop).
func (s *sim) work() {
	up := s.up()
	if len(up) == 0 {
		return
	}
	n := up[s.rng.IntN(len(up))]
	im := n.store.Image()
	if s.cfg.Dir != "" && (s.ensureOffsetsTopic(n, im) || s.ensureTxnTopic(n, im)) {
		return // the coordinators' topics first, as a client's first request makes them
	}
	switch k := s.rng.IntN(22); {
	case k < 4:
		s.createTopic(n, im)
	case k < 5:
		s.deleteTopic(n, im)
	case k < 11 && s.cfg.Dir != "":
		s.produceSome(n, im)
	case k < 12 && s.cfg.Dir != "":
		for range 1 + s.rng.IntN(3) {
			s.commitOffset(n, n.store.Image())
		}
	case k < 14 && s.cfg.Dir != "":
		s.txnSteps(n)
	case k < 14:
		s.alterPartition(n, im)
	case k < 16:
		s.resign(n, im)
	case k < 17:
		s.reassign(n, im)
	case k < 18:
		s.producerIDs(n, im)
	case k < 19:
		s.createPartitions(n, im)
	case k < 20:
		s.unregister(n, im)
	default:
		s.shutdown(n, im)
	}
}

// createTopic: a client creates a topic (with a random partition count and
// replication factor).
func (s *sim) createTopic(n *node, im *metadata.Image) {
	if len(im.TopicNames()) >= maxTopics {
		return
	}
	s.topics++
	name := fmt.Sprintf("topic%d", s.topics)
	ct := metadata.CreateTopic{Name: name, Partitions: int32(1 + s.rng.IntN(3)), ReplicationFactor: int16(1 + s.rng.IntN(len(s.nodes)))}
	s.propose(n, "create topic", func(im *metadata.Image) ([]metadata.Record, error) {
		return metadata.CreateTopicRecords(im, ct, int32(n.id))
	})
}

// deleteTopic: a client deletes a topic.
func (s *sim) deleteTopic(n *node, im *metadata.Image) {
	names := im.TopicNames()
	if len(names) < maxTopics/2 {
		return
	}
	name := names[s.rng.IntN(len(names))]
	if strings.HasPrefix(name, "__") {
		return // the offsets topic stays, as Kafka's internal topics do
	}
	s.propose(n, "delete topic", func(im *metadata.Image) ([]metadata.Record, error) {
		return metadata.DeleteTopicRecords(im, name)
	})
}

// produceSome: with replication, clients produce; the replicas' leaders ask
// for ISR changes themselves.
func (s *sim) produceSome(n *node, im *metadata.Image) {
	for range 1 + s.rng.IntN(4) {
		s.produce(n)
	}
}

// alterPartition: AlterPartition, the leader of a partition shrinks or
// grows its ISR (without replication, where nothing decides who caught up).
func (s *sim) alterPartition(n *node, im *metadata.Image) {
	parts := viewOf(im).parts
	var led []partView
	for _, p := range parts {
		if p.leader >= 0 && s.byID(uint64(p.leader)).up {
			led = append(led, p)
		}
	}
	if len(led) == 0 {
		return
	}
	p := led[s.rng.IntN(len(led))]
	leader := s.byID(uint64(p.leader))
	isr := slices.Clone(p.isr)
	if out := without(isr, p.leader); len(out) > 0 && s.rng.IntN(2) == 0 {
		isr = without(isr, out[s.rng.IntN(len(out))])
	} else if in := notIn(p.replicas, isr); len(in) > 0 {
		isr = append(isr, in[s.rng.IntN(len(in))])
	} else {
		return
	}
	epoch := p.leaderEpoch
	s.propose(leader, "alter partition", func(im *metadata.Image) ([]metadata.Record, error) {
		return metadata.ChangeISRRecords(im, p.name, p.partition, p.leader, epoch, -1, isr)
	})
}

// resign: a replica's log failed: it resigns the partition.
func (s *sim) resign(n *node, im *metadata.Image) {
	parts := viewOf(im).parts
	if len(parts) == 0 {
		return
	}
	p := parts[s.rng.IntN(len(parts))]
	r := p.replicas[s.rng.IntN(len(p.replicas))]
	if rn := s.byID(uint64(r)); rn.up {
		s.propose(rn, "resign partition", func(im *metadata.Image) ([]metadata.Record, error) {
			return metadata.ResignRecords(im, p.name, p.partition, r), nil
		})
	}
}

// reassign: kafka-reassign-partitions moves a partition to other brokers;
// the active controller completes it once they are in the ISR.
func (s *sim) reassign(n *node, im *metadata.Image) {
	parts := viewOf(im).parts
	if len(parts) == 0 {
		return
	}
	p := parts[s.rng.IntN(len(parts))]
	var target []int32
	for _, b := range s.rng.Perm(len(s.nodes))[:len(p.replicas)] {
		target = append(target, int32(b+1))
	}
	s.propose(n, "reassign partition", func(im *metadata.Image) ([]metadata.Record, error) {
		return metadata.ReassignRecords(im, p.name, p.partition, target)
	})
}

// producerIDs: a broker takes a block of producer ids.
func (s *sim) producerIDs(n *node, im *metadata.Image) {
	s.propose(n, "producer ids", func(im *metadata.Image) ([]metadata.Record, error) {
		return metadata.ProducerIDBlockRecords(im, int32(n.id)), nil
	})
}

// createPartitions: kafka-topics --alter --partitions adds one.
func (s *sim) createPartitions(n *node, im *metadata.Image) {
	names := im.TopicNames()
	if len(names) == 0 {
		return
	}
	name := names[s.rng.IntN(len(names))]
	t, _ := im.Topic(name)
	if len(t.Partitions) >= 4 || strings.HasPrefix(name, "__") { // their ids are hashed over their partition counts
		return
	}
	total := int32(len(t.Partitions) + 1)
	s.propose(n, "create partitions", func(im *metadata.Image) ([]metadata.Record, error) {
		return metadata.CreatePartitionsRecords(im, name, total, int32(n.id), nil)
	})
}

// unregister: kafka-cluster unregister takes out a broker that is down
// (it registers again when it starts).
func (s *sim) unregister(n *node, im *metadata.Image) {
	var down []*node
	for _, m := range s.nodes {
		if !m.up {
			down = append(down, m)
		}
	}
	if len(down) == 0 {
		return
	}
	id := int32(down[s.rng.IntN(len(down))].id)
	s.propose(n, "unregister broker", func(im *metadata.Image) ([]metadata.Record, error) {
		recs, _ := metadata.UnregisterBrokerRecords(im, id)
		return recs, nil
	})
}

// shutdown: a controlled shutdown: the broker moves its leaderships away
// and fences itself, then stops a little later.
func (s *sim) shutdown(n *node, im *metadata.Image) {
	if s.rng.IntN(4) != 0 {
		return
	}
	s.res.Faults["controlled shutdown"]++
	s.propose(n, "controlled shutdown", func(im *metadata.Image) ([]metadata.Record, error) {
		return metadata.ShutdownRecords(im, int32(n.id)), nil
	})
	if !n.up {
		return
	}
	// A leader hands the quorum's leadership to a voter it heard from
	// within an election timeout, as Store.Shutdown does.
	if n.q.Basic().Leader == n.id {
		for _, m := range s.nodes {
			if heard := n.q.LastHeard(m.id); m != n && !heard.IsZero() && s.nodeClock(n).Sub(heard) < electionTimeout {
				s.res.Faults["leadership transfer"]++
				s.tracef("node %d hands the quorum's leadership to node %d", n.id, m.id)
				n.q.TransferStep(m.id)
				s.afterStep(n)
				break
			}
		}
	}
	s.at(150*time.Millisecond, &event{kind: evStop, node: n.id, life: n.life})
	s.at(time.Second+s.jitter(3*time.Second), &event{kind: evRestart, node: n.id})
}

func without(ids []int32, id int32) []int32 {
	var out []int32
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

func notIn(all, some []int32) []int32 {
	var out []int32
	for _, x := range all {
		if !slices.Contains(some, x) {
			out = append(out, x)
		}
	}
	return out
}

// fault injects one fault: a process crash (kill -9: the page cache
// survives), a power cut (only what was synced survives), a crash in the
// middle of a disk operation (with a torn write), a network partition, an
// isolated node, a paused process, a membership change, a clock jump, or a
// stretch of lossy network.
func (s *sim) fault() {
	n := s.nodes[s.rng.IntN(len(s.nodes))]
	switch k := s.rng.IntN(16); {
	case k < 2:
		if !n.up {
			return
		}
		s.res.Faults["process crash"]++
		s.stop(n, "killed")
		s.at(100*time.Millisecond+s.jitter(4*time.Second), &event{kind: evRestart, node: n.id})
	case k < 4:
		if !n.up {
			return
		}
		s.stop(n, "power cut")
		s.at(100*time.Millisecond+s.jitter(4*time.Second), &event{kind: evRestart, node: n.id, powerCut: true})
	case k < 7:
		if !n.up || n.fs.crashIn > 0 {
			return
		}
		s.res.Faults["crash inside a disk operation"]++
		n.fs.arm(1 + s.rng.IntN(12))
		s.tracef("node %d will crash inside its disk operation %d from now", n.id, n.fs.crashIn)
	case k < 9:
		// A partition between a random side and the rest.
		side := map[uint64]bool{}
		for _, m := range s.nodes {
			side[m.id] = s.rng.IntN(2) == 0
		}
		side[n.id] = !side[s.nodes[(int(n.id)%len(s.nodes))].id] // never one side alone
		for _, a := range s.nodes {
			for _, b := range s.nodes {
				if a.id < b.id && side[a.id] != side[b.id] {
					s.cut[pair(a.id, b.id)] = true
				}
			}
		}
		s.res.Faults["network partition"]++
		var a, b []uint64
		for _, m := range s.nodes {
			if side[m.id] {
				a = append(a, m.id)
			} else {
				b = append(b, m.id)
			}
		}
		s.tracef("network partition %v | %v", a, b)
		s.at(500*time.Millisecond+s.jitter(6*time.Second), &event{kind: evHeal})
	case k < 11:
		for _, m := range s.nodes {
			if m != n {
				s.cut[pair(n.id, m.id)] = true
			}
		}
		s.res.Faults["node isolated"]++
		s.tracef("node %d isolated", n.id)
		s.at(500*time.Millisecond+s.jitter(6*time.Second), &event{kind: evHeal})
	case k < 13:
		if !n.up {
			return
		}
		n.paused = s.now + 200*time.Millisecond + s.jitter(4*time.Second)
		s.res.Faults["process paused"]++
		s.tracef("node %d paused until %.3fs", n.id, n.paused.Seconds())
	case k < 14:
		s.changeMembers(n)
	case k < 15:
		// The node's clock jumps forward: every timer it has fires at
		// once (its leader's lease, the brokers' sessions if it runs the
		// controller, its followers' ISR lag), while the others carry
		// on. Clocks only jump forward: the production code measures
		// with the monotonic clock.
		jump := 100*time.Millisecond + s.jitter(10*time.Second)
		n.skew += jump
		s.res.Faults["clock jump"]++
		s.tracef("node %d's clock jumps %.3fs forward", n.id, jump.Seconds())
	default:
		s.res.Faults["lossy network"]++
		s.loss = []float64{0.01, 0.1, 0.3, 0.6}[s.rng.IntN(4)]
		s.tracef("message loss now %.2f", s.loss)
	}
}

// changeMembers has node n propose one step of a voter's removal and
// return (RemoveRaftVoter and AddRaftVoter, KIP-853): with every node a
// voter, one is removed; otherwise a learner (an observer: a removed
// voter is admitted as one again, see admit) is made a voter.
func (s *sim) changeMembers(n *node) {
	if !n.up || s.now < n.paused {
		return
	}
	st, _ := n.q.Status(context.Background())
	var id uint64
	typ := pb.ConfChangeRemoveNode
	if len(st.Voters) == len(s.nodes) {
		id = st.Voters[s.rng.IntN(len(st.Voters))]
	} else if id = s.missingVoter(st); id == 0 || !slices.Contains(st.Learners, id) {
		return
	} else {
		typ = pb.ConfChangeAddNode
	}
	s.proposeMember(n, id, typ)
}

// admit has node n, if it leads, add a node that is neither a voter nor
// a learner as a learner, as the leader admits an observer connected to
// it: a removed voter follows the quorum as an observer (quorum's
// membershipChanged) and is admitted again within an election timeout.
func (s *sim) admit(n *node) {
	st, _ := n.q.Status(context.Background())
	for _, m := range s.nodes {
		if !slices.Contains(st.Voters, m.id) && !slices.Contains(st.Learners, m.id) {
			s.proposeMember(n, m.id, pb.ConfChangeAddLearnerNode)
			return
		}
	}
}

func (s *sim) proposeMember(n *node, id uint64, typ pb.ConfChangeType) {
	err := n.q.ConfChangeStep(id, typ)
	s.outcome("membership change", err)
	s.res.Faults["membership change"]++
	s.tracef("node %d proposes %v of node %d: %v", n.id, typ, id, err)
	s.afterStep(n)
}

// missingVoter is a node the membership st lacks as a voter (0: none).
func (s *sim) missingVoter(st quorum.Status) uint64 {
	for _, m := range s.nodes {
		if !slices.Contains(st.Voters, m.id) {
			return m.id
		}
	}
	return 0
}
