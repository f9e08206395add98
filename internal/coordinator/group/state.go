package group

import (
	"bytes"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Config holds the broker settings the coordinator obeys.
type Config struct {
	InitialRebalanceDelay time.Duration // group.initial.rebalance.delay.ms
	MinSessionTimeout     time.Duration // group.min.session.timeout.ms
	MaxSessionTimeout     time.Duration // group.max.session.timeout.ms
	MaxSize               int           // group.max.size
	Partitions            int32         // partitions of __consumer_offsets
	ReplicationFactor     int16         // its replication factor (at most the live brokers)
	ClusterSize           int           // brokers the cluster is configured with (controller.quorum.voters)
	OffsetsRetention      time.Duration // offsets.retention.minutes
	RetentionCheck        time.Duration // offsets.retention.check.interval.ms
	MaxMetadataBytes      int           // offset.metadata.max.bytes
	// KIP-848 consumer groups.
	ConsumerHeartbeatInterval time.Duration // group.consumer.heartbeat.interval.ms
	ConsumerSessionTimeout    time.Duration // group.consumer.session.timeout.ms
	// NewMemberJoinTimeout bounds how long a member that joined for the
	// first time may wait in a rebalance without heartbeating (Kafka's
	// 5 minutes).
	NewMemberJoinTimeout time.Duration
}

// DefaultConfig is Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		InitialRebalanceDelay: 3 * time.Second,
		MinSessionTimeout:     6 * time.Second,
		MaxSessionTimeout:     30 * time.Minute,
		MaxSize:               1<<31 - 1,
		Partitions:            50,
		OffsetsRetention:      7 * 24 * time.Hour,
		RetentionCheck:        10 * time.Minute,
		MaxMetadataBytes:      4096,
		NewMemberJoinTimeout:  5 * time.Minute,

		ConsumerHeartbeatInterval: 5 * time.Second,
		ConsumerSessionTimeout:    45 * time.Second,
	}
}

// State is a classic group's state, named as DescribeGroups reports it.
type State string

// The states of Kafka's ClassicGroupState.
const (
	Empty               State = "Empty"
	PreparingRebalance  State = "PreparingRebalance"
	CompletingRebalance State = "CompletingRebalance"
	Stable              State = "Stable"
	Dead                State = "Dead"
)

// Caller receives a response. The Coordinator never calls it; it hands
// callers back in Out.Replies for the runtime to complete.
type Caller interface{ Complete(kmsg.Response) }

// ReplyFunc adapts a function to Caller.
type ReplyFunc func(kmsg.Response)

// Complete calls f.
func (f ReplyFunc) Complete(r kmsg.Response) { f(r) }

// Reply is a response to deliver.
type Reply struct {
	To   Caller
	Resp kmsg.Response
}

// Append is a batch of records to append to one partition of
// __consumer_offsets. The runtime appends the Appends of one Out in order
// and calls AppendDone(ID) once each is durable (or failed).
type Append struct {
	ID        uint64
	Partition int32
	Records   []Record
	// Producer, when set, makes the append a transactional offset commit:
	// the records go in one transactional batch of that producer id and
	// epoch (no sequence), appended as a coordinator write
	// (partition.AppendCoordinator), so the log checks the epoch.
	Producer *Producer
}

// Producer is the transactional producer an Append writes for.
type Producer struct {
	ID    int64
	Epoch int16
}

// Out is what a step of the Coordinator asks its runtime to do.
type Out struct {
	Appends []Append
	Replies []Reply
}

func (o *Out) reply(to Caller, resp kmsg.Response) {
	if to != nil {
		o.Replies = append(o.Replies, Reply{to, resp})
	}
}

type protocol struct {
	name     string
	metadata []byte
}

type member struct {
	id, instanceID       string
	clientID, clientHost string
	sessionTimeout       time.Duration
	rebalanceTimeout     time.Duration
	protocols            []protocol
	assignment           []byte

	join       Caller // non-nil while awaiting a JoinGroup response
	joinReq    *kmsg.JoinGroupRequest
	sync       Caller // non-nil while awaiting a SyncGroup response
	syncReq    *kmsg.SyncGroupRequest
	isNew      bool      // joined for the first time in this rebalance
	expiresAt  time.Time // session deadline
	lastJoinMs int64
}

func (m *member) metadataFor(name string) []byte {
	for _, p := range m.protocols {
		if p.name == name {
			return p.metadata
		}
	}
	return nil
}

func (m *member) supports(name string) bool {
	for _, p := range m.protocols {
		if p.name == name {
			return true
		}
	}
	return false
}

func sameProtocols(a, b []protocol) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].name != b[i].name || !bytes.Equal(a[i].metadata, b[i].metadata) {
			return false
		}
	}
	return true
}

type tp struct {
	topic     string
	partition int32
}

type offset struct {
	offset      int64
	leaderEpoch int32
	metadata    string
	commitMs    int64
	// logOffset is the position of the record in __consumer_offsets (-1:
	// unknown). A transaction's offsets replace a committed one only if
	// they were written after it, as Kafka compares record offsets.
	logOffset int64
}

type group struct {
	id           string
	state        State
	stateSince   time.Time
	protocolType string
	protocol     string
	generation   int32
	leader       string

	members map[string]*member
	order   []string             // member ids in join order (leader choice, output order)
	pending map[string]time.Time // KIP-394 member ids handed out, with deadlines
	static  map[string]string    // group.instance.id -> member id

	// Rebalance timers.
	joinDeadline   time.Time     // PreparingRebalance: complete the join by then
	initialDelay   bool          // the join is the delayed first one
	newMemberAdded bool          // a member joined during the initial delay
	initialLeft    time.Duration // rebalance time left for initial delay extensions
	syncDeadline   time.Time     // CompletingRebalance: members must sync by then
	awaitingJoin   int
	syncStoreAppID uint64 // the append of the leader's assignment in flight

	offsets        map[tp]offset
	pendingCommits map[tp]int // commits appended but not yet durable (transactional ones too)

	// Transactional offset commits (txn.go): txnOffsets holds, per
	// producer id, the durable offsets of a transaction not yet decided;
	// txnInflight counts the transactional commits appended but not yet
	// durable, per partition.
	txnOffsets  map[int64]map[tp]offset
	txnInflight map[tp]int
	// tombAfter holds, for partitions with a transactional commit in
	// flight, the append of the last tombstone written since: the
	// commit's offsets of those partitions are dropped when it completes,
	// as replaying the log drops them.
	tombAfter map[tp]uint64

	cg *cgroup // KIP-848 state; nil for a classic group (consumer.go)
}

func newGroup(id string, now time.Time) *group {
	return &group{
		id: id, state: Empty, stateSince: now,
		members: map[string]*member{}, pending: map[string]time.Time{}, static: map[string]string{},
		offsets: map[tp]offset{}, pendingCommits: map[tp]int{},
		txnOffsets: map[int64]map[tp]offset{}, txnInflight: map[tp]int{},
	}
}

func (g *group) transition(s State, now time.Time) {
	g.state = s
	g.stateSince = now
}

func (g *group) addMember(m *member) {
	g.members[m.id] = m
	g.order = append(g.order, m.id)
	if m.instanceID != "" {
		g.static[m.instanceID] = m.id
	}
	if g.leader == "" {
		g.leader = m.id
	}
}

func (g *group) removeMember(id string) {
	m, ok := g.members[id]
	if !ok {
		return
	}
	if m.join != nil {
		g.awaitingJoin--
	}
	delete(g.members, id)
	for i, x := range g.order {
		if x == id {
			g.order = append(g.order[:i], g.order[i+1:]...)
			break
		}
	}
	if m.instanceID != "" && g.static[m.instanceID] == id {
		delete(g.static, m.instanceID)
	}
	if g.leader == id {
		g.leader = ""
		if len(g.order) > 0 {
			g.leader = g.order[0]
		}
	}
}

// candidates are the protocols every member supports, in the order the
// first member listed them.
func (g *group) candidates() []string {
	if len(g.order) == 0 {
		return nil
	}
	var out []string
	for _, p := range g.members[g.order[0]].protocols {
		all := true
		for _, id := range g.order[1:] {
			if !g.members[id].supports(p.name) {
				all = false
				break
			}
		}
		if all {
			out = append(out, p.name)
		}
	}
	return out
}

// selectProtocol is Kafka's vote: each member votes for the first of its
// protocols that every member supports; the most votes win, ties going to
// the candidate listed first.
func (g *group) selectProtocol() string {
	cands := g.candidates()
	votes := map[string]int{}
	for _, id := range g.order {
		for _, p := range g.members[id].protocols {
			if contains(cands, p.name) {
				votes[p.name]++
				break
			}
		}
	}
	best := ""
	for _, c := range cands {
		if best == "" || votes[c] > votes[best] {
			best = c
		}
	}
	return best
}

// supportsProtocols reports whether a member with these protocols may join:
// the group is empty, or the type matches and at least one protocol is
// supported by every current member.
func (g *group) supportsProtocols(ptype string, ps []protocol) bool {
	if len(g.members) == 0 {
		return ptype != "" && len(ps) > 0
	}
	if ptype != g.protocolType {
		return false
	}
	for _, c := range g.candidates() {
		for _, p := range ps {
			if p.name == c {
				return true
			}
		}
	}
	return false
}

func (g *group) allJoined() bool {
	return g.awaitingJoin == len(g.members) && len(g.pending) == 0
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
