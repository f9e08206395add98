package metadata

import (
	"fmt"
	"slices"
	"strconv"
)

// ErrStaleLeader: an ISR change was planned by a leader whose epoch is no
// longer current (Kafka's FENCED_LEADER_EPOCH for AlterPartition).
var ErrStaleLeader = fmt.Errorf("leader epoch is no longer current")

// ErrIneligibleReplica: a partition record would make a fenced broker the
// leader or add one to an ISR (Kafka's INELIGIBLE_REPLICA).
var ErrIneligibleReplica = fmt.Errorf("a fenced broker cannot lead or join an ISR")

// eligible refuses a partition record that makes a fenced broker its
// leader or adds one to its ISR, which Kafka's controller never does. Any
// node plans against its own image, so a plan made before a broker was
// fenced (a topic placed on it, an ISR expanded to it) can commit after
// the fence; checked where the entry is applied, it conflicts there and
// its proposer plans again on the newer image. A fenced broker that was
// in the ISR already may stay (the last member keeps its place), and a
// fenced eligible leader replica may become an ISR's only member.
func (im *Image) eligible(r Record) error {
	if r.Type != TypePartition || r.Partition == nil {
		return nil
	}
	p := r.Partition
	fenced := func(id int32) bool {
		b, ok := im.brokers[id]
		return ok && b.Fenced
	}
	if p.Leader >= 0 && fenced(p.Leader) {
		return fmt.Errorf("%w: partition %d of %s led by fenced broker %d", ErrIneligibleReplica, p.Partition, p.TopicID, p.Leader)
	}
	var had, hadELR []int32
	if t, ok := im.byID[p.TopicID]; ok && p.Partition >= 0 && int(p.Partition) < len(t.Partitions) {
		had, hadELR = t.Partitions[p.Partition].ISR, t.Partitions[p.Partition].ELR
	}
	isr := p.ISR
	if isr == nil {
		isr = p.Replicas
	}
	for _, id := range isr {
		// An eligible leader replica may take the place of an ISR's last
		// member down (UncleanRecords) while it is fenced itself.
		if fenced(id) && !slices.Contains(had, id) && !(len(isr) == 1 && slices.Contains(hadELR, id)) {
			return fmt.Errorf("%w: fenced broker %d added to the ISR of partition %d of %s", ErrIneligibleReplica, id, p.Partition, p.TopicID)
		}
	}
	return nil
}

// fencedAway refuses an entry that fences a broker but leaves it leading
// a partition, or in an ISR beside other members: the partitions it moved
// away from were planned on an image from before a partition was created
// or changed (by another node, committed first). The entry conflicts and
// the controller plans the fence again on the newer image.
func (next *Image) fencedAway(prev *Image) error {
	for _, b := range next.Brokers() {
		if !b.Fenced {
			continue
		}
		if old, ok := prev.brokers[b.ID]; ok && old.Fenced {
			continue
		}
		for _, name := range next.TopicNames() {
			for i, p := range next.topics[name].Partitions {
				if p.Leader == b.ID || (len(p.ISR) > 1 && slices.Contains(p.ISR, b.ID)) {
					return fmt.Errorf("%w: broker %d fenced but still leads or shares the ISR of %s-%d", ErrIneligibleReplica, b.ID, name, i)
				}
			}
		}
	}
	return nil
}

// partitionChange returns the record that moves partition i of t to a new
// leader and ISR. The leader epoch grows when the leader changes; the
// partition epoch grows with every change.
func (im *Image) partitionChange(t *Topic, i int, leader int32, isr []int32) Record {
	pm := t.Partitions[i]
	return im.assignmentChange(t, i, pm.Replicas, pm.Adding, pm.Removing, leader, isr)
}

// assignmentChange is partitionChange that also sets the replicas and a
// reassignment's adding and removing sets.
func (im *Image) assignmentChange(t *Topic, i int, replicas, adding, removing []int32, leader int32, isr []int32) Record {
	pm := t.Partitions[i]
	epoch := pm.LeaderEpoch
	if leader != pm.Leader {
		epoch++
	}
	return Record{Type: TypePartition, Partition: &PartitionRecord{
		TopicID: t.ID, Partition: int32(i), Replicas: replicas, ISR: isr,
		Leader: leader, LeaderEpoch: epoch, PartitionEpoch: pm.PartitionEpoch + 1,
		Adding: adding, Removing: removing, ELR: nextELR(pm, replicas, isr, im.minISR(t.Name)),
	}}
}

// nextELR is a partition's ELR once its ISR becomes isr (KIP-966): while
// the ISR has at least minISR members the high watermark moves and there
// is none; below that, the members that leave the ISR join the ELR, since
// the high watermark stands still from then on and each of them has
// everything below it; a member that comes back into the ISR leaves it,
// as does a replica no longer assigned.
func nextELR(pm Partition, replicas, isr []int32, minISR int) []int32 {
	if len(isr) >= minISR {
		return nil
	}
	var elr []int32
	for _, ids := range [][]int32{pm.ELR, pm.ISR} {
		for _, id := range ids {
			if slices.Contains(replicas, id) && !slices.Contains(isr, id) && !slices.Contains(elr, id) {
				elr = append(elr, id)
			}
		}
	}
	return elr
}

// minISR is the min.insync.replicas the controller plans topic's ELR with:
// the topic's own setting, else the cluster-wide default stored in the
// metadata (kafka-configs --entity-type brokers --entity-default), else
// Kafka's default, 1. A value only in a node's server.properties is not
// seen here: set it on the topics or cluster-wide for the ELR to be kept.
func (im *Image) minISR(topic string) int {
	for _, cfg := range []map[string]string{im.Configs(ResourceTopic, topic), im.Configs(ResourceBroker, "")} {
		if v, ok := cfg["min.insync.replicas"]; ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return n
			}
		}
	}
	return 1
}

// UncleanRecords plans what broker id's registration after an unclean
// shutdown that lost its page cache (an OS crash or power cut: records it
// had acknowledged as an ISR member may be gone from its disk) changes:
// it leaves every ELR, and every ISR it shares; where it is an ISR's last
// member and the partition has an eligible leader replica, that replica
// takes its place (and leads if it can), as Kafka's controller removes an
// uncleanly shut down broker from ISRs and ELRs and elects from the ELR.
// Where no ELR member exists it stays the last member, the last resort
// Kafka keeps too (it may lead with less than was committed).
func UncleanRecords(im *Image, id int32) []Record {
	var recs []Record
	for _, name := range im.TopicNames() {
		t := im.topics[name]
		for i, pm := range t.Partitions {
			inISR, inELR := slices.Contains(pm.ISR, id), slices.Contains(pm.ELR, id)
			if !inISR && !inELR {
				continue
			}
			isr, leader := pm.ISR, pm.Leader
			if inISR && len(pm.ISR) > 1 {
				isr = without(pm.ISR, id)
			} else if inISR {
				var next int32 = -1
				for _, e := range pm.ELR {
					if e != id && (next < 0 || (im.usable(e) && !im.usable(next))) {
						next = e
					}
				}
				if next >= 0 {
					isr = []int32{next}
				}
			}
			if !slices.Contains(isr, leader) {
				leader = im.electLeader(pm, isr, id)
			}
			rec := im.partitionChange(t, i, leader, isr)
			elr := without(rec.Partition.ELR, id)
			if len(elr) == 0 {
				elr = nil
			}
			rec.Partition.ELR = elr
			if slices.Equal(isr, pm.ISR) && leader == pm.Leader && slices.Equal(elr, pm.ELR) {
				continue
			}
			recs = append(recs, rec)
		}
	}
	return recs
}

// usable reports whether broker id may lead or be in an ISR: registered
// and not fenced.
func (im *Image) usable(id int32) bool {
	b, ok := im.brokers[id]
	return ok && !b.Fenced
}

// electLeader picks the new leader among isr, in replica order (the first
// replica is the preferred leader), skipping unusable brokers and skip.
// It returns -1 if none can lead: unclean election (a replica outside the
// ISR) is never done, so nothing acknowledged can be lost by an election.
func (im *Image) electLeader(pm Partition, isr []int32, skip int32) int32 {
	for _, r := range pm.Replicas {
		if r != skip && slices.Contains(isr, r) && im.usable(r) {
			return r
		}
	}
	return -1
}

func without(ids []int32, id int32) []int32 {
	out := make([]int32, 0, len(ids))
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

// FenceBrokerRecords plans fencing broker id: it leads nothing any more
// (its partitions move to another ISR member, or go offline if there is
// none) and leaves every ISR where another member remains, so producers
// with acks=all do not wait for it. The last member of an ISR stays in it:
// it has everything acknowledged and may lead again when it returns.
func FenceBrokerRecords(im *Image, id int32) []Record {
	b, ok := im.brokers[id]
	if !ok || b.Fenced {
		return nil
	}
	recs := []Record{{Type: TypeFence, Fence: &FenceRecord{ID: id, Incarnation: b.Incarnation, Fenced: true}}}
	return append(recs, moveAway(im, id)...)
}

// UnregisterBrokerRecords plans removing broker id from the cluster
// (UnregisterBroker): it leads nothing and leaves every ISR it can, as
// when fenced, and its registration goes. Its replicas stay assigned
// (offline) until they are moved, as in Kafka. ok is false if id is not
// registered.
func UnregisterBrokerRecords(im *Image, id int32) (recs []Record, ok bool) {
	b, ok := im.brokers[id]
	if !ok {
		return nil, false
	}
	recs = moveAway(im, id)
	return append(recs, Record{Type: TypeUnregister, Unregister: &UnregisterRecord{ID: id, Incarnation: b.Incarnation}}), true
}

// ResignRecords plans broker id giving up partition p of topic because
// its log there failed (a full or failing disk): it leaves the ISR if
// another member remains, and if it leads, another ISR member leads (none:
// the partition is offline until the broker returns with its log). Nil if
// there is nothing to change.
func ResignRecords(im *Image, topic string, p int32, id int32) []Record {
	t, ok := im.topics[topic]
	if !ok || p < 0 || int(p) >= len(t.Partitions) {
		return nil
	}
	pm := t.Partitions[p]
	if !slices.Contains(pm.ISR, id) && pm.Leader != id {
		return nil
	}
	isr := pm.ISR
	if len(isr) > 1 {
		isr = without(isr, id)
	}
	leader := pm.Leader
	if leader == id {
		leader = im.electLeader(pm, isr, id)
	}
	if leader == pm.Leader && slices.Equal(isr, pm.ISR) {
		return nil
	}
	return []Record{im.partitionChange(t, int(p), leader, isr)}
}

// HandOffRecords plans broker id giving up the leadership of a partition
// and its ISR place only if another usable in-sync replica can lead (a
// leader whose disk is short of space: it refuses writes, and another
// replica can take them). With no such replica it plans nothing: the
// partition keeps its leader, which takes writes again when space returns.
func HandOffRecords(im *Image, topic string, p int32, id int32) []Record {
	t, ok := im.topics[topic]
	if !ok || p < 0 || int(p) >= len(t.Partitions) {
		return nil
	}
	pm := t.Partitions[p]
	if pm.Leader != id || im.electLeader(pm, without(pm.ISR, id), id) < 0 {
		return nil
	}
	return ResignRecords(im, topic, p, id)
}

// ShutdownRecords plans a controlled shutdown of broker id (SIGTERM): the
// same as fencing, planned by the broker itself before it exits, so its
// partitions have new leaders before its connections close.
func ShutdownRecords(im *Image, id int32) []Record { return FenceBrokerRecords(im, id) }

func moveAway(im *Image, id int32) []Record {
	var recs []Record
	for _, name := range im.TopicNames() {
		t := im.topics[name]
		for i, pm := range t.Partitions {
			if !slices.Contains(pm.ISR, id) && pm.Leader != id {
				continue
			}
			isr := pm.ISR
			if len(isr) > 1 {
				isr = without(isr, id)
			}
			leader := pm.Leader
			if leader == id || leader < 0 {
				leader = im.electLeader(pm, isr, id)
			}
			if leader == pm.Leader && slices.Equal(isr, pm.ISR) {
				continue
			}
			recs = append(recs, im.partitionChange(t, i, leader, isr))
		}
	}
	return recs
}

// UnfenceBrokerRecords plans unfencing broker id (the controller hears
// from it again) and electing it where a partition is offline with it in
// the ISR.
func UnfenceBrokerRecords(im *Image, id int32) []Record {
	b, ok := im.brokers[id]
	if !ok || !b.Fenced {
		return nil
	}
	return []Record{{Type: TypeFence, Fence: &FenceRecord{ID: id, Incarnation: b.Incarnation, Fenced: false}}}
}

// ElectOfflineRecords plans a leader for every partition that has none but
// has a usable ISR member. Where no ISR member is usable and unclean
// reports true for the topic (unclean.leader.election.enable), the first
// usable replica outside the ISR leads with an ISR of itself alone: the
// partition is available again, and what only the lost ISR had is gone
// (followers truncate to the new leader's log). unclean may be nil: never.
func ElectOfflineRecords(im *Image, unclean func(topic string) bool) []Record {
	var recs []Record
	for _, name := range im.TopicNames() {
		t := im.topics[name]
		for i, pm := range t.Partitions {
			if pm.Leader >= 0 && im.usable(pm.Leader) {
				continue
			}
			if l := im.electLeader(pm, pm.ISR, -1); l >= 0 {
				recs = append(recs, im.partitionChange(t, i, l, pm.ISR))
				continue
			}
			if unclean == nil || !unclean(name) {
				continue
			}
			for _, r := range pm.Replicas {
				if im.usable(r) {
					// What the lost ISR had is given up: none of it is
					// eligible to lead any more (Kafka clears the ELR too).
					rec := im.partitionChange(t, i, r, []int32{r})
					rec.Partition.ELR = nil
					recs = append(recs, rec)
					break
				}
			}
		}
	}
	return recs
}

// ChangeISRRecords plans an ISR change asked for by the leader of a
// partition (Kafka's AlterPartition): leaderEpoch is the epoch the leader
// holds; if leadership moved since, the change is refused.
//
// partitionEpoch is the partition epoch the leader's request is based on
// (-1: any). When the partition has changed since, nothing is planned: the
// leader learns the outcome from the image (Kafka answers
// INVALID_UPDATE_VERSION). When it has not, the change is planned even if
// it leaves the ISR as it is (a member asked in is fenced now): the new
// partition epoch settles the request, so that an earlier proposal of it
// still in flight conflicts when it is applied instead of changing the
// ISR after the leader has stopped counting on it.
func ChangeISRRecords(im *Image, topic string, partition int32, leader, leaderEpoch, partitionEpoch int32, isr []int32) ([]Record, error) {
	t, ok := im.topics[topic]
	if !ok || partition < 0 || int(partition) >= len(t.Partitions) {
		return nil, fmt.Errorf("%w: %s-%d", ErrUnknownTopic, topic, partition)
	}
	pm := t.Partitions[partition]
	if pm.Leader != leader || pm.LeaderEpoch != leaderEpoch {
		return nil, fmt.Errorf("%w: %s-%d leader %d epoch %d, now %d epoch %d", ErrStaleLeader, topic, partition, leader, leaderEpoch, pm.Leader, pm.LeaderEpoch)
	}
	if partitionEpoch >= 0 && pm.PartitionEpoch != partitionEpoch {
		return nil, nil
	}
	if !slices.Contains(isr, leader) {
		return nil, fmt.Errorf("ISR %v of %s-%d without its leader %d", isr, topic, partition, leader)
	}
	var keep []int32
	for _, r := range pm.Replicas { // replica order, usable brokers only
		if slices.Contains(isr, r) && (r == leader || im.usable(r)) {
			keep = append(keep, r)
		}
	}
	if slices.Equal(keep, pm.ISR) && partitionEpoch < 0 {
		return nil, nil
	}
	return []Record{im.partitionChange(t, int(partition), leader, keep)}, nil
}

// PreferredLeaderRecords plans moving leadership back to each partition's
// preferred replica (its first) where that replica is in the ISR and not
// fenced, for the brokers whose share of partitions led by someone else
// exceeds imbalancePercent (Kafka's auto leader rebalance,
// leader.imbalance.per.broker.percentage). Partitions being reassigned
// are left alone.
func PreferredLeaderRecords(im *Image, imbalancePercent int) []Record {
	type move struct {
		t *Topic
		i int
	}
	preferred := map[int32]int{}
	moves := map[int32][]move{}
	for _, name := range im.TopicNames() {
		t := im.topics[name]
		for i, pm := range t.Partitions {
			if len(pm.Replicas) == 0 || len(pm.Adding) > 0 || len(pm.Removing) > 0 {
				continue
			}
			pref := pm.Replicas[0]
			preferred[pref]++
			if pm.Leader != pref && slices.Contains(pm.ISR, pref) && im.usable(pref) {
				moves[pref] = append(moves[pref], move{t, i})
			}
		}
	}
	var recs []Record
	for b, ms := range moves {
		if len(ms)*100 <= imbalancePercent*preferred[b] {
			continue
		}
		for _, m := range ms {
			recs = append(recs, im.partitionChange(m.t, m.i, b, m.t.Partitions[m.i].ISR))
		}
	}
	return recs
}
