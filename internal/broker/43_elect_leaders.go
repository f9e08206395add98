package broker

// ElectLeaders, key 43, v0-v2 (KIP-183, KIP-460).
//   v1: election type (0 preferred, 1 unclean) and a top-level error code.
//   v2: flexible.
// A null topic list means every partition; then, as in Kafka, partitions
// whose election is not needed are left out of the answer.
//
// PREFERRED makes a partition's first replica its leader when that replica
// is in the ISR and on a live (registered, unfenced) broker:
// ELECTION_NOT_NEEDED if it leads already, PREFERRED_LEADER_NOT_AVAILABLE
// if it cannot. With auto.leader.rebalance.enable (the default) the
// controller does the same by itself every
// leader.imbalance.check.interval.seconds; this is the way to do it at once
// (kafka-leader-election.sh --election-type preferred).
//
// UNCLEAN elects only for partitions without a live leader
// (ELECTION_NOT_NEEDED otherwise): an ISR member if one is live, which is
// a clean election; otherwise the first live replica, and the ISR becomes
// that replica alone. Such a replica may lack records that were
// acknowledged to producers (acks=all waits only for the ISR), and its
// log becomes the partition's history: the acknowledged records it lacks
// are lost and the other replicas truncate to it when they return, as in
// Kafka. ELIGIBLE_LEADERS_NOT_AVAILABLE if no replica is live.
//
// Any node may take the request: the new leaders are proposed to the
// metadata quorum like every other change, and the answer is sent once
// they are applied. TimeoutMillis is not used; the quorum's commit timeout
// bounds the wait (REQUEST_TIMED_OUT).
// ACLs: ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED).

import (
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

// Election types (ElectLeadersRequest.ElectionType).
const (
	electionPreferred int8 = 0
	electionUnclean   int8 = 1
)

// electTarget is one partition to elect a leader for.
type electTarget struct {
	topic     string
	partition int32
}

// electResult is the outcome of one target's election: nil if a new
// leader is planned, else why not (a *kerr.Error, wrapped).
type electResult struct {
	electTarget
	err error
}

func handleElectLeaders(rc *reqCtx, req *kmsg.ElectLeadersRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.ElectLeadersResponse)
	var targets []electTarget // nil: every partition
	var topics []string       // the topics to answer, in order
	if req.Topics != nil {
		targets = []electTarget{}
		for _, t := range req.Topics {
			topics = append(topics, t.Topic)
			for _, p := range t.Partitions {
				targets = append(targets, electTarget{t.Topic, p})
			}
		}
	}
	if !rc.authorizeCluster(acl.OpAlter) {
		resp.ErrorCode = errClusterAuth
		var results []electResult
		for _, t := range targets {
			results = append(results, electResult{t, kerr.ClusterAuthorizationFailed})
		}
		resp.Topics = electResponseTopics(topics, results)
		return resp
	}
	if req.ElectionType != electionPreferred && req.ElectionType != electionUnclean {
		err := fmt.Errorf("%w: unknown election type %d", kerr.InvalidRequest, req.ElectionType)
		resp.ErrorCode = errCode(err)
		var results []electResult
		for _, t := range targets {
			results = append(results, electResult{t, err})
		}
		resp.Topics = electResponseTopics(topics, results)
		return resp
	}
	if targets != nil && len(targets) == 0 {
		return resp // nothing asked for
	}
	var results []electResult
	im, err := b.meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
		var recs []metadata.Record
		recs, results = planElections(im, req.ElectionType, targets)
		return recs, nil
	})
	if err != nil {
		// The planned elections may or may not have happened.
		for i := range results {
			if results[i].err == nil {
				results[i].err = err
			}
		}
	}
	if targets == nil {
		// Every topic has an entry, even with no partition to report.
		topics = im.TopicNames()
	}
	resp.Topics = electResponseTopics(topics, results)
	return resp
}

// electResponseTopics answers topics, in order, each with the outcomes of
// its partitions; a result for a topic not in topics adds it at the end.
func electResponseTopics(topics []string, results []electResult) []kmsg.ElectLeadersResponseTopic {
	var out []kmsg.ElectLeadersResponseTopic
	index := map[string]int{}
	entry := func(topic string) int {
		i, ok := index[topic]
		if !ok {
			i = len(out)
			index[topic] = i
			rt := kmsg.NewElectLeadersResponseTopic()
			rt.Topic = topic
			out = append(out, rt)
		}
		return i
	}
	for _, t := range topics {
		entry(t)
	}
	for _, r := range results {
		i := entry(r.topic)
		rp := kmsg.NewElectLeadersResponseTopicPartition()
		rp.Partition, rp.ErrorCode, rp.ErrorMessage = r.partition, errCode(r.err), errMessage(r.err)
		out[i].Partitions = append(out[i].Partitions, rp)
	}
	return out
}

// planElections plans the elections of the given type for targets (nil:
// every partition of every topic) against im. It returns one partition
// record per new leader and each target's outcome; with targets nil, only
// the partitions whose election was needed are in the outcomes. A target
// named twice is planned once and reported twice.
func planElections(im *metadata.Image, typ int8, targets []electTarget) ([]metadata.Record, []electResult) {
	all := targets == nil
	if all {
		for _, name := range im.TopicNames() {
			t, _ := im.Topic(name)
			for i := range t.Partitions {
				targets = append(targets, electTarget{name, int32(i)})
			}
		}
	}
	var recs []metadata.Record
	var results []electResult
	done := map[electTarget]error{}
	for _, target := range targets {
		err, seen := done[target]
		if !seen {
			var rec *metadata.Record
			rec, err = electOne(im, typ, target)
			done[target] = err
			if rec != nil {
				recs = append(recs, *rec)
			}
		}
		if all && isElectionNotNeeded(err) {
			continue
		}
		results = append(results, electResult{target, err})
	}
	return recs, results
}

func isElectionNotNeeded(err error) bool {
	return err != nil && errCode(err) == kerr.ElectionNotNeeded.Code
}

// electOne plans one partition's election: the record that makes the
// chosen replica its leader, or the reason there is none.
func electOne(im *metadata.Image, typ int8, target electTarget) (*metadata.Record, error) {
	t, ok := im.Topic(target.topic)
	if !ok || target.partition < 0 || int(target.partition) >= len(t.Partitions) {
		return nil, fmt.Errorf("%w: no partition %s-%d", kerr.UnknownTopicOrPartition, target.topic, target.partition)
	}
	pm := t.Partitions[target.partition]
	live := func(id int32) bool {
		br, ok := im.Broker(id)
		return ok && !br.Fenced
	}
	switch typ {
	case electionPreferred:
		if len(pm.Replicas) == 0 {
			return nil, fmt.Errorf("%w: %s-%d has no replicas", kerr.PreferredLeaderNotAvailable, target.topic, target.partition)
		}
		preferred := pm.Replicas[0]
		if pm.Leader == preferred {
			return nil, fmt.Errorf("%w: %s-%d is led by its preferred replica %d", kerr.ElectionNotNeeded, target.topic, target.partition, preferred)
		}
		if !slices.Contains(pm.ISR, preferred) || !live(preferred) {
			return nil, fmt.Errorf("%w: the preferred replica %d of %s-%d is not a live member of the ISR %v", kerr.PreferredLeaderNotAvailable, preferred, target.topic, target.partition, pm.ISR)
		}
		return leaderChange(t, target.partition, preferred, pm.ISR), nil
	default: // electionUnclean
		if pm.Leader >= 0 && live(pm.Leader) {
			return nil, fmt.Errorf("%w: %s-%d has a live leader %d", kerr.ElectionNotNeeded, target.topic, target.partition, pm.Leader)
		}
		for _, r := range pm.Replicas { // an ISR member first: a clean election
			if slices.Contains(pm.ISR, r) && live(r) {
				return leaderChange(t, target.partition, r, pm.ISR), nil
			}
		}
		for _, r := range pm.Replicas {
			if live(r) {
				return leaderChange(t, target.partition, r, []int32{r}), nil
			}
		}
		return nil, fmt.Errorf("%w: no replica of %s-%d is live", kerr.EligibleLeadersNotAvailable, target.topic, target.partition)
	}
}

// leaderChange is the record that moves partition p of t to leader with
// isr: the leader epoch grows because the leader changes, the partition
// epoch grows with every change (as metadata's own partition changes do).
func leaderChange(t *metadata.Topic, p int32, leader int32, isr []int32) *metadata.Record {
	pm := t.Partitions[p]
	return &metadata.Record{Type: metadata.TypePartition, Partition: &metadata.PartitionRecord{
		TopicID: t.ID, Partition: p, Replicas: pm.Replicas, ISR: isr,
		Leader: leader, LeaderEpoch: pm.LeaderEpoch + 1, PartitionEpoch: pm.PartitionEpoch + 1,
	}}
}
