package metadata

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Errors the controller returns; the broker maps them to Kafka error codes.
var (
	ErrTopicExists          = errors.New("topic already exists")
	ErrUnknownTopic         = errors.New("unknown topic")
	ErrInvalidTopic         = errors.New("invalid topic name")
	ErrInvalidPartitions    = errors.New("invalid number of partitions")
	ErrInvalidReplication   = errors.New("invalid replication factor")
	ErrInvalidConfig        = errors.New("invalid config")
	ErrReservedTopic        = errors.New("topic name is reserved")
	ErrPartitionsNotGrowing = errors.New("partition count can only grow")
)

// MaxTopicNameLength is Kafka's limit on topic names.
const MaxTopicNameLength = 249

// MaxPartitions bounds how many partitions one request may create, so a
// single request cannot exhaust file descriptors or disk.
const MaxPartitions = 100000

// Internal topics reserved for coordinators that come later.
var internalTopics = map[string]bool{"__consumer_offsets": true, "__transaction_state": true}

// IsInternal reports whether a topic is one of Kafka's internal topics.
func IsInternal(name string) bool { return internalTopics[name] }

// ValidateTopicName applies Kafka's rules: 1 to 249 characters of
// [a-zA-Z0-9._-], and neither "." nor "..".
func ValidateTopicName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrInvalidTopic)
	}
	if name == "." || name == ".." {
		return fmt.Errorf("%w: %q is not allowed", ErrInvalidTopic, name)
	}
	if len(name) > MaxTopicNameLength {
		return fmt.Errorf("%w: longer than %d characters", ErrInvalidTopic, MaxTopicNameLength)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: %q contains %q; legal characters are ASCII letters, digits, '.', '_' and '-'", ErrInvalidTopic, name, c)
		}
	}
	return nil
}

// collisionKey maps '.' to '_' the way Kafka does to find topics whose
// names collide in metric names.
func collisionKey(name string) string { return strings.ReplaceAll(name, ".", "_") }

// CollidingTopic returns an existing topic whose name differs from name
// only by '.' versus '_' ("" if none).
func (im *Image) CollidingTopic(name string) string {
	k := collisionKey(name)
	for n := range im.topics {
		if n != name && collisionKey(n) == k {
			return n
		}
	}
	return ""
}

// CreateTopic describes a topic to create.
type CreateTopic struct {
	Name              string
	Partitions        int32
	ReplicationFactor int16
	Configs           map[string]string
	// Assignment, if set, places the replicas by hand (kafka-topics
	// --replica-assignment): Assignment[p] is partition p's replicas, the
	// first its preferred leader. Partitions and ReplicationFactor are
	// then taken from it.
	Assignment [][]int32
	// Internal allows the reserved internal topic names.
	Internal bool
}

// CreateTopicRecords plans the records that create t on broker nodeID. It
// checks the name, counts and collisions against im; config values must
// already be validated by the caller.
func CreateTopicRecords(im *Image, t CreateTopic, nodeID int32) ([]Record, error) {
	if err := ValidateTopicName(t.Name); err != nil {
		return nil, err
	}
	if IsInternal(t.Name) && !t.Internal {
		return nil, fmt.Errorf("%w: %s", ErrReservedTopic, t.Name)
	}
	if _, ok := im.topics[t.Name]; ok {
		return nil, fmt.Errorf("%w: %s", ErrTopicExists, t.Name)
	}
	if c := im.CollidingTopic(t.Name); c != "" {
		return nil, fmt.Errorf("%w: %q collides with existing topic %q (Kafka treats '.' and '_' alike in metric names)", ErrInvalidTopic, t.Name, c)
	}
	if t.Assignment != nil {
		if err := checkAssignment(im, t.Assignment, 0); err != nil {
			return nil, err
		}
		t.Partitions, t.ReplicationFactor = int32(len(t.Assignment)), int16(len(t.Assignment[0]))
	}
	if t.Partitions < 1 || t.Partitions > MaxPartitions {
		return nil, fmt.Errorf("%w: %d (must be 1 to %d)", ErrInvalidPartitions, t.Partitions, MaxPartitions)
	}
	if t.Assignment == nil {
		if err := checkReplicationFactor(im, t.ReplicationFactor, nodeID); err != nil {
			return nil, err
		}
	}
	var id UUID
	for id == (UUID{}) {
		if _, err := rand.Read(id[:]); err != nil {
			return nil, err
		}
	}
	recs := []Record{{Type: TypeTopic, Topic: &TopicRecord{Name: t.Name, ID: id}}}
	if t.Assignment != nil {
		recs = append(recs, assignedRecords(id, 0, t.Assignment)...)
	} else {
		recs = append(recs, partitionRecords(id, 0, t.Partitions, t.ReplicationFactor, placementBrokers(im, nodeID))...)
	}
	for k, v := range t.Configs {
		v := v
		recs = append(recs, Record{Type: TypeConfig, Config: &ConfigRecord{ResourceType: ResourceTopic, ResourceName: t.Name, Name: k, Value: &v}})
	}
	return recs, nil
}

// checkAssignment checks replicas placed by hand, as Kafka's controller
// does: every partition has the same number of replicas (want, or the
// first partition's if want is 0), no broker twice, every broker
// registered and not fenced. Errors are INVALID_REPLICA_ASSIGNMENT.
func checkAssignment(im *Image, assignment [][]int32, want int) error {
	if len(assignment) == 0 {
		return fmt.Errorf("%w: no partitions", ErrInvalidReplicaAssignment)
	}
	if want == 0 {
		want = len(assignment[0])
	}
	for p, replicas := range assignment {
		if len(replicas) == 0 {
			return fmt.Errorf("%w: partition %d has no replicas", ErrInvalidReplicaAssignment, p)
		}
		if len(replicas) != want {
			return fmt.Errorf("%w: partition %d has %d replicas, the others %d: every partition must have the same number", ErrInvalidReplicaAssignment, p, len(replicas), want)
		}
		seen := map[int32]bool{}
		for _, r := range replicas {
			if seen[r] {
				return fmt.Errorf("%w: partition %d names broker %d twice", ErrInvalidReplicaAssignment, p, r)
			}
			seen[r] = true
			b, ok := im.brokers[r]
			switch {
			case !ok:
				return fmt.Errorf("%w: partition %d names broker %d, which is not registered", ErrInvalidReplicaAssignment, p, r)
			case b.Fenced:
				return fmt.Errorf("%w: partition %d names broker %d, which is fenced (down)", ErrInvalidReplicaAssignment, p, r)
			}
		}
	}
	return nil
}

// assignedRecords creates partitions from, from+1, ... with the replicas
// of assignment, the first replica leading.
func assignedRecords(id UUID, from int32, assignment [][]int32) []Record {
	var recs []Record
	for i, replicas := range assignment {
		replicas := slices.Clone(replicas)
		recs = append(recs, Record{Type: TypePartition, Partition: &PartitionRecord{
			TopicID: id, Partition: from + int32(i), Replicas: replicas, ISR: replicas, Leader: replicas[0], LeaderEpoch: 0,
		}})
	}
	return recs
}

// checkReplicationFactor refuses a replication factor the cluster cannot
// give, with Kafka's INVALID_REPLICATION_FACTOR.
func checkReplicationFactor(im *Image, rf int16, nodeID int32) error {
	brokers := len(placementBrokers(im, nodeID))
	switch {
	case rf < 1:
		return fmt.Errorf("%w: %d (must be at least 1)", ErrInvalidReplication, rf)
	case int(rf) > brokers:
		return fmt.Errorf("%w: replication factor: %d larger than available brokers: %d", ErrInvalidReplication, rf, brokers)
	}
	return nil
}

// UsableBrokers is how many brokers new replicas can be placed on.
func UsableBrokers(im *Image, nodeID int32) int16 { return int16(len(placementBrokers(im, nodeID))) }

// placementBrokers are the brokers new partitions may be placed on: every
// registered broker, or this node alone before any registration.
//
// With broker.rack set, the list alternates racks (the first broker of
// each rack, then the second of each, ...), as Kafka's rack-aware
// placement does: consecutive brokers are in different racks, so the
// striped replicas of a partition land in as many racks as there are.
func placementBrokers(im *Image, nodeID int32) []int32 {
	byRack := map[string][]int32{}
	var racks []string
	for _, b := range im.Brokers() { // by id
		if b.Fenced {
			continue
		}
		if _, ok := byRack[b.Rack]; !ok {
			racks = append(racks, b.Rack)
		}
		byRack[b.Rack] = append(byRack[b.Rack], b.ID)
	}
	sort.Strings(racks)
	var ids []int32
	for i := 0; len(ids) < len(im.brokers); i++ {
		added := false
		for _, r := range racks {
			if i < len(byRack[r]) {
				ids = append(ids, byRack[r][i])
				added = true
			}
		}
		if !added {
			break
		}
	}
	if len(ids) == 0 {
		ids = []int32{nodeID}
	}
	return ids
}

// partitionRecords places partitions [from, to) with rf replicas each, as
// Kafka's striped placer does: partition p's replicas are brokers
// (start+p), (start+p+1), ... mod n from a random start, the first being
// the preferred leader, so leaders and replicas spread evenly and
// successive topics do not all begin on the same broker.
func partitionRecords(id UUID, from, to int32, rf int16, brokers []int32) []Record {
	var recs []Record
	start := 0
	if len(brokers) > 1 {
		var b [1]byte
		rand.Read(b[:])
		start = int(b[0]) % len(brokers)
	}
	for p := from; p < to; p++ {
		replicas := make([]int32, 0, rf)
		for j := 0; j < int(rf) && j < len(brokers); j++ {
			replicas = append(replicas, brokers[(start+int(p)+j)%len(brokers)])
		}
		recs = append(recs, Record{Type: TypePartition, Partition: &PartitionRecord{
			TopicID: id, Partition: p, Replicas: replicas, ISR: replicas, Leader: replicas[0], LeaderEpoch: 0,
		}})
	}
	return recs
}

// DeleteTopicRecords plans the deletion of a topic.
func DeleteTopicRecords(im *Image, name string) ([]Record, error) {
	t, ok := im.topics[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	return []Record{{Type: TypeRemoveTopic, RemoveTopic: &RemoveTopicRecord{ID: t.ID}}}, nil
}

// CreatePartitionsRecords plans growing a topic to total partitions.
//
// assignment, if given, places the new partitions by hand: one replica
// list per new partition, each as long as the topic's replication factor
// (INVALID_REPLICA_ASSIGNMENT otherwise).
func CreatePartitionsRecords(im *Image, name string, total int32, nodeID int32, assignment [][]int32) ([]Record, error) {
	t, ok := im.topics[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	have := int32(len(t.Partitions))
	if total <= have {
		return nil, fmt.Errorf("%w: topic %s has %d partitions, asked for %d", ErrPartitionsNotGrowing, name, have, total)
	}
	if total > MaxPartitions {
		return nil, fmt.Errorf("%w: %d exceeds %d", ErrInvalidPartitions, total, MaxPartitions)
	}
	rf := int16(len(t.Partitions[0].Replicas))
	if assignment != nil {
		if len(assignment) != int(total-have) {
			return nil, fmt.Errorf("%w: %d replica lists for %d new partitions", ErrInvalidReplicaAssignment, len(assignment), total-have)
		}
		if err := checkAssignment(im, assignment, int(rf)); err != nil {
			return nil, err
		}
		return assignedRecords(t.ID, have, assignment), nil
	}
	if err := checkReplicationFactor(im, rf, nodeID); err != nil {
		return nil, err
	}
	return partitionRecords(t.ID, have, total, rf, placementBrokers(im, nodeID)), nil
}

// ProducerIDBlockSize is how many producer ids one metadata record hands
// out; InitProducerId takes ids from the block without touching the log.
const ProducerIDBlockSize = 1000

// ProducerIDBlockRecords plans the allocation of the next block.
func ProducerIDBlockRecords(im *Image, nodeID int32) []Record {
	return []Record{{Type: TypeProducerIDs, ProducerIDs: &ProducerIDsRecord{BrokerID: nodeID, Start: im.nextProducerID, Size: ProducerIDBlockSize}}}
}
