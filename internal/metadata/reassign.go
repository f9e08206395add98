package metadata

import (
	"errors"
	"fmt"
	"slices"
)

// Errors of reassignment planning.
var (
	// ErrInvalidReplicaAssignment: a target that names a broker twice, an
	// unknown broker, or no broker (Kafka's INVALID_REPLICA_ASSIGNMENT).
	ErrInvalidReplicaAssignment = errors.New("invalid replica assignment")
	// ErrNoReassignment: cancelling a partition that has none running
	// (Kafka's NO_REASSIGNMENT_IN_PROGRESS).
	ErrNoReassignment = errors.New("no reassignment in progress")
)

// Reassignment moves a partition's replicas as Kafka does (KIP-455): the
// new replicas are added to the replica set (Adding) and copy the log from
// the leader as followers; once every one of them is in the ISR, the
// controller completes it (CompleteReassignmentRecords): the replica set
// becomes the target, the replicas no longer in it (Removing) leave, and
// if the leader was one of them another in-sync target replica leads.

// ReassignRecords plans moving partition p of topic to the target
// replicas (first is the preferred leader); nil target cancels a running
// reassignment, going back to the replicas from before it.
func ReassignRecords(im *Image, topic string, p int32, target []int32) ([]Record, error) {
	t, ok := im.topics[topic]
	if !ok || p < 0 || int(p) >= len(t.Partitions) {
		return nil, fmt.Errorf("%w: %s-%d", ErrUnknownTopic, topic, p)
	}
	pm := t.Partitions[p]
	orig := pm.Replicas
	if len(pm.Adding) > 0 || len(pm.Removing) > 0 {
		orig = nil // the replicas from before the running reassignment
		for _, r := range pm.Replicas {
			if !slices.Contains(pm.Adding, r) {
				orig = append(orig, r)
			}
		}
	}
	if target == nil {
		if len(pm.Adding) == 0 && len(pm.Removing) == 0 {
			return nil, fmt.Errorf("%w: %s-%d", ErrNoReassignment, topic, p)
		}
		return finish(im, t, int(p), orig), nil
	}
	if len(target) == 0 {
		return nil, fmt.Errorf("%w: %s-%d: no replicas", ErrInvalidReplicaAssignment, topic, p)
	}
	seen := map[int32]bool{}
	for _, r := range target {
		if seen[r] {
			return nil, fmt.Errorf("%w: %s-%d: broker %d twice", ErrInvalidReplicaAssignment, topic, p, r)
		}
		seen[r] = true
		if _, ok := im.brokers[r]; !ok {
			return nil, fmt.Errorf("%w: %s-%d: broker %d is not registered", ErrInvalidReplicaAssignment, topic, p, r)
		}
	}
	var adding, removing []int32
	replicas := slices.Clone(target)
	for _, r := range target {
		if !slices.Contains(orig, r) {
			adding = append(adding, r)
		}
	}
	for _, r := range orig {
		if !slices.Contains(target, r) {
			removing = append(removing, r)
			replicas = append(replicas, r)
		}
	}
	if len(adding) == 0 {
		// Nothing to copy: only replicas leave, or the order changes.
		return finish(im, t, int(p), target), nil
	}
	// A reassignment that replaces a running one drops the replicas the
	// old one was adding and the new one does not name: they leave the
	// ISR too (and the leadership, if one of them had it), so the ISR
	// stays within the replicas.
	var isr []int32
	for _, r := range pm.ISR {
		if slices.Contains(replicas, r) {
			isr = append(isr, r)
		}
	}
	leader := pm.Leader
	if !slices.Contains(isr, leader) {
		leader = im.electLeader(Partition{Replicas: replicas}, isr, -1)
	}
	if len(isr) == 0 || (pm.Leader >= 0 && leader < 0) {
		return nil, fmt.Errorf("%w: %s-%d: no in-sync replica of %v would remain", ErrInvalidReplicaAssignment, topic, p, replicas)
	}
	return []Record{im.assignmentChange(t, int(p), replicas, adding, removing, leader, isr)}, nil
}

// finish sets partition i's replicas to final, keeping the ISR members
// among them and a leader among those.
func finish(im *Image, t *Topic, i int, final []int32) []Record {
	pm := t.Partitions[i]
	var isr []int32
	for _, r := range pm.ISR {
		if slices.Contains(final, r) {
			isr = append(isr, r)
		}
	}
	if len(isr) == 0 {
		return nil // no target replica is in sync yet: cannot finish
	}
	leader := pm.Leader
	if !slices.Contains(isr, leader) {
		leader = im.electLeader(Partition{Replicas: final}, isr, -1)
	}
	if leader < 0 {
		return nil
	}
	return []Record{im.assignmentChange(t, i, slices.Clone(final), nil, nil, leader, isr)}
}

// CompleteReassignmentRecords plans completing every reassignment whose
// added replicas are all in the ISR.
func CompleteReassignmentRecords(im *Image) []Record {
	var recs []Record
	for _, name := range im.TopicNames() {
		t := im.topics[name]
		for i, pm := range t.Partitions {
			if len(pm.Adding) == 0 && len(pm.Removing) == 0 {
				continue
			}
			done := true
			for _, r := range pm.Adding {
				done = done && slices.Contains(pm.ISR, r)
			}
			if !done {
				continue
			}
			var final []int32
			for _, r := range pm.Replicas {
				if !slices.Contains(pm.Removing, r) {
					final = append(final, r)
				}
			}
			recs = append(recs, finish(im, t, i, final)...)
		}
	}
	return recs
}

// Reassigning lists the partitions with a reassignment running, by topic.
func (im *Image) Reassigning() map[string][]int32 {
	out := map[string][]int32{}
	for _, name := range im.TopicNames() {
		for i, pm := range im.topics[name].Partitions {
			if len(pm.Adding) > 0 || len(pm.Removing) > 0 {
				out[name] = append(out[name], int32(i))
			}
		}
	}
	return out
}
