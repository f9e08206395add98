package metadata

import (
	"encoding/json"
	"fmt"
)

// Record types, as stored in the "type" field of each log entry.
const (
	TypeTopic       = "topic"
	TypePartition   = "partition"
	TypeRemoveTopic = "remove_topic"
	TypeConfig      = "config"
	TypeProducerIDs = "producer_ids"
	TypeBroker      = "broker"
	TypeFence       = "fence"
	TypeUnregister  = "unregister"
	TypeController  = "controller"
	TypeACL         = "acl"
	TypeRemoveACL   = "remove_acl"
	TypeScram       = "scram"
	TypeRemoveScram = "remove_scram"
	TypeQuota       = "quota"
)

// Resource types of ConfigRecord, Kafka's ConfigResource codes.
const (
	ResourceTopic  int8 = 2
	ResourceBroker int8 = 4
)

// UUID is a topic id.
type UUID [16]byte

// Record is one metadata change. Exactly one of the pointer fields is set,
// matching Type.
type Record struct {
	Type        string             `json:"type"`
	Topic       *TopicRecord       `json:"topic,omitempty"`
	Partition   *PartitionRecord   `json:"partition,omitempty"`
	RemoveTopic *RemoveTopicRecord `json:"remove_topic,omitempty"`
	Config      *ConfigRecord      `json:"config,omitempty"`
	ProducerIDs *ProducerIDsRecord `json:"producer_ids,omitempty"`
	Broker      *BrokerRecord      `json:"broker,omitempty"`
	Fence       *FenceRecord       `json:"fence,omitempty"`
	Unregister  *UnregisterRecord  `json:"unregister,omitempty"`
	Controller  *ControllerRecord  `json:"controller,omitempty"`
	ACL         *ACLRecord         `json:"acl,omitempty"`
	RemoveACL   *RemoveACLRecord   `json:"remove_acl,omitempty"`
	Scram       *ScramRecord       `json:"scram,omitempty"`
	RemoveScram *RemoveScramRecord `json:"remove_scram,omitempty"`
	Quota       *QuotaRecord       `json:"quota,omitempty"`
}

// ControllerRecord registers a node with the controller role: where the
// other controllers reach its controller listener, and its metadata
// directory's id (meta.properties' directory.id), which Kafka's tools show
// and ask for when a voter is removed (KIP-853). Kafka keeps the same in
// its VotersRecord.
type ControllerRecord struct {
	ID          int32  `json:"id"`
	Host        string `json:"host"`
	Port        int32  `json:"port"`
	DirectoryID string `json:"directory_id"`
}

// UnregisterRecord removes a broker's registration (Kafka's
// UnregisterBrokerRecord, kafka-cluster.sh unregister): a broker taken out
// of the cluster for good. It applies only to the incarnation it names; a
// process of that id that is still running registers again.
type UnregisterRecord struct {
	ID          int32  `json:"id"`
	Incarnation string `json:"incarnation"`
}

// FenceRecord fences a broker (the controller stopped hearing from it) or
// unfences it. It applies only to the incarnation it names, so a fence
// planned before the broker restarted cannot fence its new process.
type FenceRecord struct {
	ID          int32  `json:"id"`
	Incarnation string `json:"incarnation"`
	Fenced      bool   `json:"fenced"`
}

// BrokerRecord registers a broker (or updates its registration when it
// restarts): where clients reach it and in which rack it is. It is Kafka's
// RegisterBrokerRecord, cut to what Samsa uses.
type BrokerRecord struct {
	ID int32 `json:"id"`
	// Host and Port are the inter-broker listener's endpoint.
	Host string `json:"host"`
	Port int32  `json:"port"`
	Rack string `json:"rack,omitempty"`
	// Incarnation is random per process start (Kafka's incarnation id).
	Incarnation string `json:"incarnation"`
	// Endpoints are every broker listener's advertised endpoint (none in
	// records written before several listeners existed).
	Endpoints []Endpoint `json:"endpoints,omitempty"`
}

// Endpoint is one listener of a broker, as clients connecting through the
// listener of that name are told to reach it.
type Endpoint struct {
	Listener string `json:"listener"`
	Protocol string `json:"protocol"`
	Host     string `json:"host"`
	Port     int32  `json:"port"`
}

// TopicRecord creates a topic.
type TopicRecord struct {
	Name string `json:"name"`
	ID   UUID   `json:"id"`
}

// PartitionRecord creates a partition or changes it (leader, ISR,
// replicas). A change must carry the partition epoch after the one in the
// image (Kafka's partition epoch): planned against an older image, it
// conflicts and is not applied.
type PartitionRecord struct {
	TopicID   UUID    `json:"topic_id"`
	Partition int32   `json:"partition"`
	Replicas  []int32 `json:"replicas"`
	// ISR is the in-sync replica set; nil (records before replication)
	// means every replica.
	ISR            []int32 `json:"isr,omitempty"`
	Leader         int32   `json:"leader"`
	LeaderEpoch    int32   `json:"leader_epoch"`
	PartitionEpoch int32   `json:"partition_epoch,omitempty"`
	// Adding and Removing are the replicas a reassignment adds and
	// removes (both among Replicas while it runs), as in Kafka.
	Adding   []int32 `json:"adding,omitempty"`
	Removing []int32 `json:"removing,omitempty"`
	// ELR are the eligible leader replicas (KIP-966): replicas that left
	// the ISR when it was smaller than min.insync.replicas, so that the
	// high watermark has not moved since; each has every committed record.
	ELR []int32 `json:"elr,omitempty"`
}

// RemoveTopicRecord deletes a topic with all its partitions and configs.
type RemoveTopicRecord struct {
	ID UUID `json:"id"`
}

// ConfigRecord sets (Value non-nil) or removes (nil) one config override.
type ConfigRecord struct {
	ResourceType int8    `json:"resource_type"`
	ResourceName string  `json:"resource_name"`
	Name         string  `json:"name"`
	Value        *string `json:"value"`
}

// ProducerIDsRecord hands the block of producer ids [Start, Start+Size) to
// a broker; the next block starts at Start+Size.
type ProducerIDsRecord struct {
	BrokerID int32 `json:"broker_id"`
	Start    int64 `json:"start"`
	Size     int64 `json:"size"`
}

func (r *Record) validate() error {
	n := 0
	for _, set := range []bool{r.Topic != nil, r.Partition != nil, r.RemoveTopic != nil, r.Config != nil, r.ProducerIDs != nil, r.Broker != nil, r.Fence != nil, r.Unregister != nil, r.Controller != nil, r.ACL != nil, r.RemoveACL != nil, r.Scram != nil, r.RemoveScram != nil, r.Quota != nil} {
		if set {
			n++
		}
	}
	ok := n == 1
	switch r.Type {
	case TypeTopic:
		ok = ok && r.Topic != nil
	case TypePartition:
		ok = ok && r.Partition != nil
	case TypeRemoveTopic:
		ok = ok && r.RemoveTopic != nil
	case TypeConfig:
		ok = ok && r.Config != nil
	case TypeProducerIDs:
		ok = ok && r.ProducerIDs != nil
	case TypeBroker:
		ok = ok && r.Broker != nil
	case TypeFence:
		ok = ok && r.Fence != nil
	case TypeUnregister:
		ok = ok && r.Unregister != nil
	case TypeController:
		ok = ok && r.Controller != nil
	case TypeACL:
		ok = ok && r.ACL != nil
	case TypeRemoveACL:
		ok = ok && r.RemoveACL != nil
	case TypeScram:
		ok = ok && r.Scram != nil
	case TypeRemoveScram:
		ok = ok && r.RemoveScram != nil
	case TypeQuota:
		ok = ok && r.Quota != nil
	default:
		ok = false
	}
	if !ok {
		return fmt.Errorf("%w: malformed %q record", ErrCorrupt, r.Type)
	}
	return nil
}

func encode(r Record) ([]byte, error) { return json.Marshal(r) }

func decode(b []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return r, r.validate()
}
