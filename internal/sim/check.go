package sim

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/samsa-streaming/samsa/internal/metadata"
)

// view is what the checker reads of a metadata image: its Raft index, the
// brokers and every partition. It is extracted from a *metadata.Image (or
// written by hand in the checker's own tests).
type view struct {
	index   uint64
	offset  int64
	nextPID int64
	brokers []brokerView
	parts   []partView
}

type brokerView struct {
	id          int32
	incarnation string
	fenced      bool
}

type partView struct {
	topic       metadata.UUID
	name        string
	partition   int32
	replicas    []int32
	isr         []int32
	leader      int32
	leaderEpoch int32
	partEpoch   int32
}

func (p partView) key() partKey { return partKey{p.topic, p.partition} }

type partKey struct {
	topic     metadata.UUID
	partition int32
}

// viewOf reads im.
func viewOf(im *metadata.Image) view {
	v := view{index: im.Index, offset: im.Offset, nextPID: im.NextProducerID()}
	for _, b := range im.Brokers() {
		v.brokers = append(v.brokers, brokerView{b.ID, b.Incarnation, b.Fenced})
	}
	for _, name := range im.TopicNames() {
		t, _ := im.Topic(name)
		for i, p := range t.Partitions {
			v.parts = append(v.parts, partView{
				topic: t.ID, name: name, partition: int32(i),
				replicas: slices.Clone(p.Replicas), isr: slices.Clone(p.ISR),
				leader: p.Leader, leaderEpoch: p.LeaderEpoch, partEpoch: p.PartitionEpoch,
			})
		}
	}
	return v
}

// content hashes the view without its index: a node that installed a
// snapshot holds the snapshot's index, which may be an entry with no
// records (a new leader's empty entry), while one that applied the
// entries holds the last index with records.
func (v view) content() uint64 {
	v.index = 0
	return v.digest()
}

// digest hashes everything in the view.
func (v view) digest() uint64 {
	h := fnv.New64a()
	var b [8]byte
	num := func(x int64) {
		binary.LittleEndian.PutUint64(b[:], uint64(x))
		h.Write(b[:])
	}
	num(int64(v.index))
	num(v.offset)
	num(v.nextPID)
	for _, br := range v.brokers {
		num(int64(br.id))
		h.Write([]byte(br.incarnation))
		if br.fenced {
			num(1)
		} else {
			num(0)
		}
	}
	for _, p := range v.parts {
		h.Write(p.topic[:])
		h.Write([]byte(p.name))
		num(int64(p.partition))
		num(int64(len(p.replicas)))
		for _, r := range p.replicas {
			num(int64(r))
		}
		num(int64(len(p.isr)))
		for _, r := range p.isr {
			num(int64(r))
		}
		num(int64(p.leader))
		num(int64(p.leaderEpoch))
		num(int64(p.partEpoch))
	}
	return h.Sum64()
}

// fenced reports whether broker id is registered and fenced. (A leader
// that is not registered at all is allowed: before any broker has
// registered, the controller places a topic on the node that creates it,
// so a single node serves at once; that broker's registration follows.)
func (v view) fenced(id int32) bool {
	for _, b := range v.brokers {
		if b.id == id {
			return b.fenced
		}
	}
	return false
}

func (v view) part(k partKey) (partView, bool) {
	for _, p := range v.parts {
		if p.key() == k {
			return p, true
		}
	}
	return partView{}, false
}

// checker holds what the whole run has established and decides, from
// each observation, whether an invariant broke. Its methods return the
// first violation they find (nil if none).
type checker struct {
	// leaders is the leader of each Raft term seen so far.
	leaders map[uint64]uint64
	// committed is the hash of the entry applied at each index.
	committed map[uint64]uint64
	// images is the digest of the image as of each index.
	images map[uint64]uint64
	// epochLeader is the leader of each partition's leader epoch.
	epochLeader map[partKey]map[int32]int32
	// applied is each node's last applied index in its current life.
	applied map[uint64]uint64
}

func newChecker() *checker {
	return &checker{
		leaders: map[uint64]uint64{}, committed: map[uint64]uint64{}, images: map[uint64]uint64{},
		epochLeader: map[partKey]map[int32]int32{}, applied: map[uint64]uint64{},
	}
}

// leader: node believes it leads term.
func (c *checker) leader(node, term uint64) error {
	if l, ok := c.leaders[term]; ok && l != node {
		return fmt.Errorf("two leaders in Raft term %d: node %d and node %d", term, l, node)
	}
	c.leaders[term] = node
	return nil
}

// restarted: node starts a new life (its applied index starts over).
func (c *checker) restarted(node uint64) { delete(c.applied, node) }

// restored: node installed a snapshot at index.
func (c *checker) restored(node, index uint64) error {
	if last := c.applied[node]; index < last {
		return fmt.Errorf("node %d installed a snapshot at %d after applying %d", node, index, last)
	}
	c.applied[node] = index
	return nil
}

// apply: node applied the entry whose data hashes to h at index. Every
// node applies the same entry at each index (a committed entry never
// changes), in increasing index order.
func (c *checker) apply(node, index, h uint64) error {
	if last := c.applied[node]; index <= last {
		return fmt.Errorf("node %d applied index %d after %d", node, index, last)
	}
	c.applied[node] = index
	if prev, ok := c.committed[index]; ok && prev != h {
		return fmt.Errorf("node %d applied a different entry at index %d than another node did (hash %x, before %x): a committed entry changed", node, index, h, prev)
	}
	c.committed[index] = h
	return nil
}

// image checks the image a node holds after applying (stepwise: exactly
// one entry since prev) or restoring (prev is then nil):
//   - every node's image at one index is the same;
//   - each partition's ISR is not empty, within its replicas and without
//     repeats, holds a fenced broker only as its last member, and its
//     leader (if any) is in it and is not a fenced broker;
//   - one leader per partition leader epoch, cluster-wide;
//   - leader and partition epochs never go backwards;
//   - no fenced broker joins an ISR;
//   - a new leader comes from the previous ISR (no unclean election:
//     the simulation's topics never allow it).
func (c *checker) image(node uint64, prev *view, next view) error {
	d := next.digest()
	if seen, ok := c.images[next.index]; ok && seen != d {
		return fmt.Errorf("node %d's metadata image at index %d differs from another node's at the same index", node, next.index)
	}
	c.images[next.index] = d
	for _, p := range next.parts {
		where := fmt.Sprintf("node %d, index %d, %s-%d", node, next.index, p.name, p.partition)
		if len(p.isr) == 0 {
			return fmt.Errorf("%s: empty ISR (leader %d, epoch %d)", where, p.leader, p.leaderEpoch)
		}
		for i, r := range p.isr {
			if !slices.Contains(p.replicas, r) {
				return fmt.Errorf("%s: ISR %v holds %d, not a replica (%v)", where, p.isr, r, p.replicas)
			}
			if slices.Contains(p.isr[:i], r) {
				return fmt.Errorf("%s: ISR %v names %d twice", where, p.isr, r)
			}
		}
		for _, r := range p.isr {
			if len(p.isr) > 1 && next.fenced(r) {
				return fmt.Errorf("%s: fenced broker %d shares the ISR %v", where, r, p.isr)
			}
		}
		if p.leader >= 0 {
			if !slices.Contains(p.isr, p.leader) {
				return fmt.Errorf("%s: leader %d not in the ISR %v", where, p.leader, p.isr)
			}
			if next.fenced(p.leader) {
				return fmt.Errorf("%s: leader %d is fenced", where, p.leader)
			}
		}
		epochs := c.epochLeader[p.key()]
		if epochs == nil {
			epochs = map[int32]int32{}
			c.epochLeader[p.key()] = epochs
		}
		if l, ok := epochs[p.leaderEpoch]; ok && l != p.leader {
			return fmt.Errorf("%s: leader epoch %d has two leaders, %d and %d", where, p.leaderEpoch, l, p.leader)
		}
		epochs[p.leaderEpoch] = p.leader
		if prev == nil {
			continue
		}
		old, ok := prev.part(p.key())
		if !ok {
			continue
		}
		if p.leaderEpoch < old.leaderEpoch || p.partEpoch < old.partEpoch {
			return fmt.Errorf("%s: epochs went back from leader %d partition %d to leader %d partition %d",
				where, old.leaderEpoch, old.partEpoch, p.leaderEpoch, p.partEpoch)
		}
		if p.leader != old.leader && p.leaderEpoch == old.leaderEpoch {
			return fmt.Errorf("%s: leader changed from %d to %d within leader epoch %d", where, old.leader, p.leader, p.leaderEpoch)
		}
		for _, r := range p.isr {
			if next.fenced(r) && !slices.Contains(old.isr, r) {
				return fmt.Errorf("%s: fenced broker %d joined the ISR %v (was %v)", where, r, p.isr, old.isr)
			}
		}
		if p.leader >= 0 && p.leader != old.leader && !slices.Contains(old.isr, p.leader) {
			return fmt.Errorf("%s: unclean election: new leader %d was not in the ISR %v", where, p.leader, old.isr)
		}
	}
	return nil
}
