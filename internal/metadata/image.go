package metadata

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
)

// Image is the metadata at one point of the log. It is immutable once
// published: Apply returns a new Image sharing unchanged parts.
type Image struct {
	topics  map[string]*Topic
	byID    map[UUID]*Topic
	configs map[configKey]map[string]string
	// nextProducerID is the first id of the next unallocated block.
	nextProducerID int64
	brokers        map[int32]*Broker
	controllers    map[int32]ControllerRecord
	acls           *ACLSet // nil: none
	// batch is set while one entry's records are applied (applyBatch):
	// what this entry already copied from the published image is its own
	// and changed in place, so an entry of n partition records costs O(n)
	// instead of copying the topic maps and the topic's partitions n times.
	batch *batchOwned
	scram map[scramKey]ScramRecord
	// quotas are the client quotas (quota.go); nil: none.
	quotas *Quotas
	// Offset is the number of records applied so far.
	Offset int64
	// Index is the Raft index of the last entry applied (0: none yet).
	Index uint64
	// proposals is each node's last applied entry: a node proposes one
	// entry at a time, numbered, so an entry proposed again after it
	// seemed lost is recognised and applied once.
	proposals map[int32]proposalMark
}

type proposalMark struct {
	Incarnation uint64 `json:"inc"`
	Req         uint64 `json:"req"`
}

// proposed reports whether node's entry req of incarnation inc was applied.
func (im *Image) proposed(node int32, inc, req uint64) bool {
	m, ok := im.proposals[node]
	return ok && m.Incarnation == inc && req <= m.Req
}

// withProposal records node's entry as applied.
func (im *Image) withProposal(node int32, inc, req uint64) *Image {
	next := *im
	next.proposals = cloneMap(im.proposals)
	next.proposals[node] = proposalMark{inc, req}
	return &next
}

// Broker is a registered broker.
type Broker struct {
	ID   int32
	Host string
	Port int32
	Rack string
	// Incarnation changes with every process start.
	Incarnation string
	// Fenced brokers lead nothing and are not in any ISR; the controller
	// fences a broker it has not heard from for broker.session.timeout.ms.
	Fenced bool
	// Endpoints are its listeners (empty: registered before listeners
	// had names; Host and Port serve every listener then).
	Endpoints []Endpoint
}

// Endpoint returns where clients of listener reach b: its endpoint of
// that name, or (a registration without endpoints) Host and Port.
func (b *Broker) Endpoint(listener string) (host string, port int32, ok bool) {
	if len(b.Endpoints) == 0 {
		return b.Host, b.Port, true
	}
	for _, e := range b.Endpoints {
		if e.Listener == listener {
			return e.Host, e.Port, true
		}
	}
	return "", 0, false
}

type configKey struct {
	typ  int8
	name string
}

// Topic is one topic in an Image.
type Topic struct {
	Name       string
	ID         UUID
	Partitions []Partition
}

// Partition is one partition's assignment and leadership.
type Partition struct {
	Replicas []int32
	// ISR is the in-sync replica set: the replicas that have everything
	// up to the high watermark. The leader is always in it.
	ISR []int32
	// Leader is -1 when no replica can lead (every ISR member fenced).
	Leader         int32
	LeaderEpoch    int32
	PartitionEpoch int32
	// Adding and Removing are set while a reassignment runs: Replicas
	// holds the old and the new replicas, Adding those being added,
	// Removing those that go once every added one is in the ISR.
	Adding, Removing []int32
	// ELR are the eligible leader replicas (KIP-966): replicas that left
	// the ISR while it was smaller than min.insync.replicas (the high
	// watermark stands still then), so each has every committed record.
	// One takes the place of an ISR's last member that comes back from an
	// unclean shutdown with its page cache lost (UncleanRecords).
	ELR []int32
}

// String formats a UUID the way Kafka prints topic ids in logs (hex).
func (u UUID) String() string { return hex.EncodeToString(u[:]) }

func emptyImage() *Image {
	return &Image{
		topics:  map[string]*Topic{},
		byID:    map[UUID]*Topic{},
		configs: map[configKey]map[string]string{},
		brokers: map[int32]*Broker{},

		controllers: map[int32]ControllerRecord{},
	}
}

// hasData reports whether the image holds anything besides broker
// registrations: topics, configs or producer-id blocks.
func (im *Image) hasData() bool {
	return len(im.topics) > 0 || len(im.configs) > 0 || im.nextProducerID > 0 || im.ACLs().Len() > 0
}

// withIndex returns the image marked as of Raft index i.
func (im *Image) withIndex(i uint64) *Image {
	next := *im
	next.Index = i
	return &next
}

// Brokers returns the registered brokers, by id.
func (im *Image) Brokers() []*Broker {
	out := make([]*Broker, 0, len(im.brokers))
	for _, b := range im.brokers {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Controller returns a registered controller (a node with the controller
// role): its controller listener and directory id.
func (im *Image) Controller(id int32) (ControllerRecord, bool) {
	c, ok := im.controllers[id]
	return c, ok
}

// Broker returns a registered broker.
func (im *Image) Broker(id int32) (*Broker, bool) { b, ok := im.brokers[id]; return b, ok }

// records returns records that rebuild the image from empty (a snapshot).
func (im *Image) records() []Record {
	var out []Record
	ids := make([]int32, 0, len(im.controllers))
	for id := range im.controllers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		c := im.controllers[id]
		out = append(out, Record{Type: TypeController, Controller: &c})
	}
	for _, b := range im.Brokers() {
		out = append(out, Record{Type: TypeBroker, Broker: &BrokerRecord{ID: b.ID, Host: b.Host, Port: b.Port, Rack: b.Rack, Incarnation: b.Incarnation, Endpoints: b.Endpoints}})
		if b.Fenced {
			out = append(out, Record{Type: TypeFence, Fence: &FenceRecord{ID: b.ID, Incarnation: b.Incarnation, Fenced: true}})
		}
	}
	for _, name := range im.TopicNames() {
		t := im.topics[name]
		out = append(out, Record{Type: TypeTopic, Topic: &TopicRecord{Name: t.Name, ID: t.ID}})
		for i, p := range t.Partitions {
			out = append(out, Record{Type: TypePartition, Partition: &PartitionRecord{
				TopicID: t.ID, Partition: int32(i), Replicas: p.Replicas, ISR: p.ISR, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch,
				Adding: p.Adding, Removing: p.Removing, ELR: p.ELR}})
		}
	}
	keys := make([]configKey, 0, len(im.configs))
	for k := range im.configs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].typ != keys[j].typ {
			return keys[i].typ < keys[j].typ
		}
		return keys[i].name < keys[j].name
	})
	for _, k := range keys {
		names := make([]string, 0, len(im.configs[k]))
		for n := range im.configs[k] {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			v := im.configs[k][n]
			out = append(out, Record{Type: TypeConfig, Config: &ConfigRecord{ResourceType: k.typ, ResourceName: k.name, Name: n, Value: &v}})
		}
	}
	out = append(out, im.ACLs().records()...)
	out = append(out, im.scramRecords()...)
	out = append(out, im.quotaRecords()...)
	if im.nextProducerID > 0 {
		out = append(out, Record{Type: TypeProducerIDs, ProducerIDs: &ProducerIDsRecord{BrokerID: -1, Start: 0, Size: im.nextProducerID}})
	}
	return out
}

// Topic returns a topic by name.
func (im *Image) Topic(name string) (*Topic, bool) { t, ok := im.topics[name]; return t, ok }

// TopicByID returns a topic by id.
func (im *Image) TopicByID(id UUID) (*Topic, bool) { t, ok := im.byID[id]; return t, ok }

// TopicNames returns every topic name, sorted.
func (im *Image) TopicNames() []string {
	out := make([]string, 0, len(im.topics))
	for n := range im.topics {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Configs returns the overrides of a resource. The map must not be
// modified.
func (im *Image) Configs(resourceType int8, name string) map[string]string {
	return im.configs[configKey{resourceType, name}]
}

// NextProducerID is where the next producer-id block starts.
func (im *Image) NextProducerID() int64 { return im.nextProducerID }

// batchOwned records what an entry being applied has copied already.
type batchOwned struct {
	topicMaps bool          // topics and byID are this entry's copies
	topics    map[UUID]bool // Topic structs (with their Partitions) copied in this entry
}

// beginBatch returns a copy of im that applies records into structures it
// owns; endBatch drops the ownership before the image is published.
func (im *Image) beginBatch() *Image {
	next := *im
	next.batch = &batchOwned{topics: map[UUID]bool{}}
	return &next
}

func (im *Image) endBatch() *Image {
	if im.batch == nil {
		return im
	}
	next := *im
	next.batch = nil
	return &next
}

// ownTopicMaps makes next's topic maps its own to change: copies of im's,
// once per batch.
func (next *Image) ownTopicMaps(im *Image) {
	if next.batch != nil && next.batch.topicMaps {
		return
	}
	next.topics = cloneMap(im.topics)
	next.byID = cloneMap(im.byID)
	if next.batch != nil {
		next.batch.topicMaps = true
	}
}

// apply returns the image after r. It fails on records that contradict the
// image (a partition for an unknown topic, say), which means the log is
// corrupt or the controller has a bug.
func (im *Image) apply(r Record) (*Image, error) {
	next := *im
	next.Offset++
	switch r.Type {
	case TypeTopic:
		if _, ok := im.topics[r.Topic.Name]; ok {
			return nil, fmt.Errorf("topic %q already exists", r.Topic.Name)
		}
		t := &Topic{Name: r.Topic.Name, ID: r.Topic.ID}
		next.ownTopicMaps(im)
		next.topics[t.Name], next.byID[t.ID] = t, t
		if next.batch != nil {
			next.batch.topics[t.ID] = true // new: this entry's own
		}
	case TypePartition:
		p := r.Partition
		old, ok := im.byID[p.TopicID]
		if !ok || p.Partition < 0 || int(p.Partition) > len(old.Partitions) {
			return nil, fmt.Errorf("partition %d of unknown topic %s", p.Partition, p.TopicID)
		}
		// A topic this entry already copied is changed in place; else
		// it is copied (with its partitions) before the change.
		owned := next.batch != nil && next.batch.topics[old.ID]
		t := old
		if !owned {
			c := *old
			c.Partitions = append([]Partition(nil), old.Partitions...)
			t = &c
		}
		isr := p.ISR
		if isr == nil {
			isr = p.Replicas
		}
		np := Partition{Replicas: p.Replicas, ISR: isr, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch,
			Adding: p.Adding, Removing: p.Removing, ELR: p.ELR}
		if int(p.Partition) == len(t.Partitions) {
			t.Partitions = append(t.Partitions, np)
		} else {
			if cur := t.Partitions[p.Partition]; p.PartitionEpoch != cur.PartitionEpoch+1 || p.LeaderEpoch < cur.LeaderEpoch {
				return nil, fmt.Errorf("partition %d of %s: change to partition epoch %d (leader epoch %d) planned against epoch %d (leader epoch %d)",
					p.Partition, old.Name, p.PartitionEpoch, p.LeaderEpoch, cur.PartitionEpoch, cur.LeaderEpoch)
			}
			t.Partitions[p.Partition] = np
		}
		if !owned {
			next.ownTopicMaps(im)
			next.topics[t.Name], next.byID[t.ID] = t, t
			if next.batch != nil {
				next.batch.topics[t.ID] = true
			}
		}
	case TypeRemoveTopic:
		t, ok := im.byID[r.RemoveTopic.ID]
		if !ok {
			return nil, fmt.Errorf("removing unknown topic %s", r.RemoveTopic.ID)
		}
		next.ownTopicMaps(im)
		delete(next.topics, t.Name)
		delete(next.byID, t.ID)
		next.configs = cloneMap(im.configs)
		delete(next.configs, configKey{ResourceTopic, t.Name})
	case TypeConfig:
		c := r.Config
		key := configKey{c.ResourceType, c.ResourceName}
		next.configs = cloneMap(im.configs)
		m := cloneMap(im.configs[key])
		if c.Value == nil {
			delete(m, c.Name)
		} else {
			m[c.Name] = *c.Value
		}
		next.configs[key] = m
	case TypeProducerIDs:
		if r.ProducerIDs.Start != im.nextProducerID {
			return nil, fmt.Errorf("producer id block at %d, expected %d", r.ProducerIDs.Start, im.nextProducerID)
		}
		next.nextProducerID = r.ProducerIDs.Start + r.ProducerIDs.Size
	case TypeBroker:
		b := r.Broker
		next.brokers = cloneMap(im.brokers)
		next.brokers[b.ID] = &Broker{ID: b.ID, Host: b.Host, Port: b.Port, Rack: b.Rack, Incarnation: b.Incarnation, Endpoints: b.Endpoints}
	case TypeFence:
		f := r.Fence
		cur, ok := im.brokers[f.ID]
		if !ok || cur.Incarnation != f.Incarnation {
			return nil, fmt.Errorf("fencing broker %d incarnation %s: not registered with it", f.ID, f.Incarnation)
		}
		nb := *cur
		nb.Fenced = f.Fenced
		next.brokers = cloneMap(im.brokers)
		next.brokers[f.ID] = &nb
	case TypeController:
		next.controllers = cloneMap(im.controllers)
		next.controllers[r.Controller.ID] = *r.Controller
	case TypeUnregister:
		u := r.Unregister
		cur, ok := im.brokers[u.ID]
		if !ok || cur.Incarnation != u.Incarnation {
			return nil, fmt.Errorf("unregistering broker %d incarnation %s: not registered with it", u.ID, u.Incarnation)
		}
		next.brokers = cloneMap(im.brokers)
		delete(next.brokers, u.ID)
	case TypeACL:
		acls, err := im.applyACL(r.ACL)
		if err != nil {
			return nil, err
		}
		next.acls = acls
	case TypeRemoveACL:
		acls, err := im.applyRemoveACL(r.RemoveACL)
		if err != nil {
			return nil, err
		}
		next.acls = acls
	case TypeScram:
		sc, err := im.applyScram(r.Scram)
		if err != nil {
			return nil, err
		}
		next.scram = sc
	case TypeRemoveScram:
		sc, err := im.applyRemoveScram(r.RemoveScram)
		if err != nil {
			return nil, err
		}
		next.scram = sc
	case TypeQuota:
		q, err := im.applyQuota(r.Quota)
		if err != nil {
			return nil, err
		}
		next.quotas = q
	default:
		return nil, fmt.Errorf("unknown record type %q", r.Type)
	}
	return &next, nil
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// BrokerConfigs returns the dynamic broker settings: the cluster-wide
// defaults (resource name "") and nodeID's own.
func (im *Image) BrokerConfigs(nodeID int32) (def, own map[string]string) {
	return im.configs[configKey{ResourceBroker, ""}], im.configs[configKey{ResourceBroker, strconv.Itoa(int(nodeID))}]
}
