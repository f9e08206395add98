package broker_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// agreedQuorumLeader waits until every running node names the same
// metadata quorum leader and returns it.
func agreedQuorumLeader(t *testing.T, c *brokertest.Cluster) int32 {
	t.Helper()
	var leader int32 = -1
	eventually(t, "the nodes to agree on a quorum leader", func() bool {
		leader = -1
		for _, n := range c.Nodes {
			l := n.QuorumLeader()
			if l < 0 || leader >= 0 && l != leader {
				return false
			}
			leader = l
		}
		return true
	})
	return leader
}

// describeQuorum sends DescribeQuorum at version v to node's Kafka listener
// only (no other seed, so no other node answers it).
func describeQuorum(t *testing.T, node *brokertest.Broker, v int16) *kmsg.DescribeQuorumResponse {
	t.Helper()
	req := kmsg.NewPtrDescribeQuorumRequest()
	rt := kmsg.NewDescribeQuorumRequestTopic()
	rt.Topic = "__cluster_metadata"
	rt.Partitions = []kmsg.DescribeQuorumRequestTopicPartition{kmsg.NewDescribeQuorumRequestTopicPartition()}
	req.Topics = append(req.Topics, rt)
	return request[*kmsg.DescribeQuorumResponse](t, newClient(t, node.Addr()), req, v)
}

// describeTopicPartitions sends one DescribeTopicPartitions to node.
func describeTopicPartitions(t *testing.T, node *brokertest.Broker, limit int32, cursor *kmsg.DescribeTopicPartitionsRequestCursor, topics ...string) *kmsg.DescribeTopicPartitionsResponse {
	t.Helper()
	req := kmsg.NewPtrDescribeTopicPartitionsRequest()
	req.ResponsePartitionLimit, req.Cursor = limit, cursor
	for _, name := range topics {
		rt := kmsg.NewDescribeTopicPartitionsRequestTopic()
		rt.Topic = name
		req.Topics = append(req.Topics, rt)
	}
	return request[*kmsg.DescribeTopicPartitionsResponse](t, newClient(t, node.Addr()), req, 0)
}

// TestClusterDescribeQuorum asks every node of a three-node cluster, at
// every version: each answer is the leader's view (a follower forwards),
// with the leader all nodes agree on, three voters that have replicated
// the log, and the voters' controller endpoints.
func TestClusterDescribeQuorum(t *testing.T) {
	c := brokertest.StartCluster(t, 3)
	leader := agreedQuorumLeader(t, c)
	// A topic makes the log grow past the registrations.
	createTopicRF(t, c, "dq", 1, 3)

	for _, node := range c.Nodes {
		for v := int16(0); v <= 2; v++ {
			var resp *kmsg.DescribeQuorumResponse
			var p kmsg.DescribeQuorumResponseTopicPartition
			// Followers apply and acknowledge within a heartbeat or two:
			// wait until the leader has seen all three at its log end.
			eventually(t, "every voter at the leader's log end", func() bool {
				resp = describeQuorum(t, node, v)
				if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
					return false
				}
				p = resp.Topics[0].Partitions[0]
				if len(p.CurrentVoters) != 3 {
					return false
				}
				for _, rs := range p.CurrentVoters {
					if rs.LogEndOffset != p.CurrentVoters[0].LogEndOffset {
						return false
					}
				}
				return true
			})
			what := fmt.Sprintf("node %s v%d", node.Addr(), v)
			if resp.Topics[0].Topic != "__cluster_metadata" || p.Partition != 0 || p.ErrorCode != 0 {
				t.Fatalf("%s: topic %q partition %d error %d", what, resp.Topics[0].Topic, p.Partition, p.ErrorCode)
			}
			if p.LeaderID != leader {
				t.Errorf("%s: leader %d, the nodes agree on %d", what, p.LeaderID, leader)
			}
			if p.LeaderEpoch < 1 || p.HighWatermark < 1 {
				t.Errorf("%s: leader epoch %d, high watermark %d; want both positive", what, p.LeaderEpoch, p.HighWatermark)
			}
			var ids []int32
			for _, rs := range p.CurrentVoters {
				ids = append(ids, rs.ReplicaID)
				if rs.LogEndOffset < p.HighWatermark {
					t.Errorf("%s: voter %d log end %d below the high watermark %d", what, rs.ReplicaID, rs.LogEndOffset, p.HighWatermark)
				}
				if v >= 1 {
					now := time.Now().UnixMilli()
					if rs.LastCaughtUpTimestamp < now-60_000 || rs.LastCaughtUpTimestamp > now {
						t.Errorf("%s: voter %d caught up at %d, now is %d", what, rs.ReplicaID, rs.LastCaughtUpTimestamp, now)
					}
					if rs.ReplicaID == leader && rs.LastFetchTimestamp != rs.LastCaughtUpTimestamp {
						t.Errorf("%s: the leader's last fetch %d, caught up %d; want both now", what, rs.LastFetchTimestamp, rs.LastCaughtUpTimestamp)
					}
				}
			}
			slices.Sort(ids)
			if !slices.Equal(ids, []int32{1, 2, 3}) {
				t.Errorf("%s: voters %v, want [1 2 3]", what, ids)
			}
			if len(p.Observers) != 0 {
				t.Errorf("%s: observers %v, want none (every node votes)", what, p.Observers)
			}
			if v < 2 {
				continue
			}
			ports := map[uint16]bool{}
			for _, n := range resp.Nodes {
				if len(n.Listeners) != 1 || n.Listeners[0].Name != "CONTROLLER" || n.Listeners[0].Host != "127.0.0.1" {
					t.Fatalf("%s: node %d listeners %+v, want one CONTROLLER on 127.0.0.1", what, n.NodeID, n.Listeners)
				}
				ports[n.Listeners[0].Port] = true
			}
			if len(resp.Nodes) != 3 || len(ports) != 3 {
				t.Errorf("%s: %d nodes on %d distinct ports, want 3 and 3", what, len(resp.Nodes), len(ports))
			}
		}
	}

	// A partition other than __cluster_metadata-0 is unknown, as in Kafka.
	req := kmsg.NewPtrDescribeQuorumRequest()
	req.Topics = []kmsg.DescribeQuorumRequestTopic{{Topic: "other", Partitions: []kmsg.DescribeQuorumRequestTopicPartition{{Partition: 0}}}}
	resp := request[*kmsg.DescribeQuorumResponse](t, newClient(t, c.Node(leader).Addr()), req, 2)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || resp.Topics[0].Partitions[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Errorf("DescribeQuorum of another topic: %+v, want UNKNOWN_TOPIC_OR_PARTITION", resp.Topics)
	}
}

// createTopicRF creates a topic through node 1 and waits until every
// partition has its full ISR as node 1 sees it.
func createTopicRF(t *testing.T, c *brokertest.Cluster, topic string, partitions int32, rf int16) {
	t.Helper()
	adm := kadm.NewClient(newClient(t, c.Node(1).Addr(), kgo.MetadataMinAge(10*time.Millisecond), kgo.MetadataMaxAge(time.Second)))
	eventually(t, "three registered brokers", func() bool {
		md, err := adm.BrokerMetadata(ctxT(t))
		return err == nil && len(md.Brokers) == 3
	})
	c.WaitUnfenced(3)
	resp, err := adm.CreateTopic(ctxT(t), partitions, rf, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
	// Every node applies the topic on its own: wait for each, since tests
	// ask any of them.
	for _, n := range c.Nodes {
		waitFullISR(t, n, topic, int(partitions), int(rf))
	}
}

// waitFullISR waits until DescribeTopicPartitions on node shows every
// partition of topic with a leader and an ISR of rf replicas.
func waitFullISR(t *testing.T, node *brokertest.Broker, topic string, partitions, rf int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s with a full ISR", topic), func() bool {
		resp := describeTopicPartitions(t, node, 2000, nil, topic)
		if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 || len(resp.Topics[0].Partitions) != partitions {
			return false
		}
		for _, p := range resp.Topics[0].Partitions {
			if p.LeaderID < 0 || len(p.ISR) != rf {
				return false
			}
		}
		return true
	})
}

// TestClusterDescribeTopicPartitions checks replicas, ISR, leaders, topic
// ids, unknown and invalid topics, and paging with a cursor on a
// replicated topic, against Metadata's view of the same partitions.
func TestClusterDescribeTopicPartitions(t *testing.T) {
	c := brokertest.StartCluster(t, 3)
	createTopicRF(t, c, "dtp", 5, 3)
	createTopicRF(t, c, "dtp-other", 1, 3)
	adm := kadm.NewClient(newClient(t, c.Node(2).Addr()))
	md, err := adm.Metadata(ctxT(t), "dtp")
	if err != nil {
		t.Fatal(err)
	}
	mt := md.Topics["dtp"]

	resp := describeTopicPartitions(t, c.Node(2), 2000, nil, "dtp", "no-such-topic", "bad/name")
	if len(resp.Topics) != 3 || resp.NextCursor != nil {
		t.Fatalf("%d topics, cursor %+v; want 3 topics and no cursor", len(resp.Topics), resp.NextCursor)
	}
	// Answered in name order: "bad/name", "dtp", "no-such-topic".
	bad, dtp, unknown := resp.Topics[0], resp.Topics[1], resp.Topics[2]
	if bad.ErrorCode != kerr.InvalidTopicException.Code || unknown.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Errorf("invalid name: error %d, unknown topic: error %d", bad.ErrorCode, unknown.ErrorCode)
	}
	if unknown.TopicID != [16]byte{} || *unknown.Topic != "no-such-topic" {
		t.Errorf("unknown topic answered as %q id %x", *unknown.Topic, unknown.TopicID)
	}
	if dtp.ErrorCode != 0 || *dtp.Topic != "dtp" || dtp.TopicID != mt.ID || dtp.TopicID == [16]byte{} || dtp.IsInternal {
		t.Fatalf("dtp: error %d name %q id %x internal %v; Metadata's id %x", dtp.ErrorCode, *dtp.Topic, dtp.TopicID, dtp.IsInternal, mt.ID)
	}
	if len(dtp.Partitions) != 5 {
		t.Fatalf("dtp: %d partitions, want 5", len(dtp.Partitions))
	}
	for i, p := range dtp.Partitions {
		mp := mt.Partitions[int32(i)]
		if p.Partition != int32(i) || len(p.Replicas) != 3 || len(p.ISR) != 3 || len(p.OfflineReplicas) != 0 ||
			!slices.Equal(p.Replicas, mp.Replicas) || p.LeaderID != mp.Leader || p.LeaderEpoch != mp.LeaderEpoch ||
			!slices.Contains(p.Replicas, p.LeaderID) {
			t.Errorf("partition %d: %+v; Metadata: %+v", i, p, mp)
		}
		// Empty lists, not null ones: Kafka's admin client fails on null.
		if p.EligibleLeaderReplicas == nil || p.LastKnownELR == nil || len(p.EligibleLeaderReplicas) != 0 || len(p.LastKnownELR) != 0 || p.ErrorCode != 0 {
			t.Errorf("partition %d: ELR %#v, last known ELR %#v, error %d; want empty lists and no error", i, p.EligibleLeaderReplicas, p.LastKnownELR, p.ErrorCode)
		}
	}

	// Pages of two partitions: dtp 0-1, dtp 2-3, dtp 4 + dtp-other 0.
	var got []string
	var cursor *kmsg.DescribeTopicPartitionsRequestCursor
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatalf("paging does not end: %v", got)
		}
		resp := describeTopicPartitions(t, c.Node(3), 2, cursor, "dtp-other", "dtp")
		n := 0
		for _, rt := range resp.Topics {
			for _, p := range rt.Partitions {
				got = append(got, fmt.Sprintf("%s-%d", *rt.Topic, p.Partition))
				n++
			}
		}
		if n > 2 {
			t.Fatalf("page %d has %d partitions, limit 2", page, n)
		}
		if resp.NextCursor == nil {
			break
		}
		cursor = &kmsg.DescribeTopicPartitionsRequestCursor{Topic: resp.NextCursor.Topic, Partition: resp.NextCursor.Partition}
	}
	if want := []string{"dtp-0", "dtp-1", "dtp-2", "dtp-3", "dtp-4", "dtp-other-0"}; !slices.Equal(got, want) {
		t.Errorf("pages gave %v, want %v", got, want)
	}

	// No topics named: every topic, unknown ones never invented.
	resp = describeTopicPartitions(t, c.Node(1), 2000, nil)
	var names []string
	for _, rt := range resp.Topics {
		names = append(names, *rt.Topic)
	}
	if !slices.Contains(names, "dtp") || !slices.Contains(names, "dtp-other") || !slices.IsSorted(names) {
		t.Errorf("all topics: %v", names)
	}
	// A cursor outside the topics named is an invalid request.
	resp = describeTopicPartitions(t, c.Node(1), 2000, &kmsg.DescribeTopicPartitionsRequestCursor{Topic: "zzz"}, "dtp")
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != kerr.InvalidRequest.Code {
		t.Errorf("cursor outside the topic list: %+v, want INVALID_REQUEST", resp.Topics)
	}
}

// TestClusterElectPreferredLeader stops the preferred leader of a
// partition, produces while it is away, starts it again and waits until it
// is back in the ISR: it does not lead again by itself, a preferred
// election makes it lead, and every record produced is still there.
func TestClusterElectPreferredLeader(t *testing.T) {
	c := brokertest.StartCluster(t, 3)
	const topic = "elect"
	createTopicRF(t, c, topic, 3, 3)
	before := describeTopicPartitions(t, c.Node(1), 2000, nil, topic).Topics[0].Partitions[0]
	preferred := before.Replicas[0]
	if before.LeaderID != preferred {
		t.Fatalf("a new partition is led by %d, not its first replica %d", before.LeaderID, preferred)
	}
	var other *brokertest.Broker // a node that stays up, for the clients
	for _, n := range c.Nodes {
		if n != c.Node(preferred) {
			other = n
			break
		}
	}

	c.Node(preferred).Stop()
	eventually(t, "partition 0 to move off the stopped node", func() bool {
		p := describeTopicPartitions(t, other, 2000, nil, topic).Topics[0].Partitions[0]
		return p.LeaderID >= 0 && p.LeaderID != preferred
	})
	prod := newClient(t, other.Addr(), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()))
	const n = 300
	for i := 0; i < n; i++ {
		r := &kgo.Record{Partition: 0, Value: []byte(fmt.Sprintf("v%03d", i))}
		if err := prod.ProduceSync(ctxT(t), r).FirstErr(); err != nil {
			t.Fatalf("produce %d while node %d is away: %v", i, preferred, err)
		}
	}
	c.Node(preferred).StartAgain()
	waitFullISR(t, other, topic, 3, 3)
	p := describeTopicPartitions(t, other, 2000, nil, topic).Topics[0].Partitions[0]
	if p.LeaderID == preferred {
		t.Fatalf("node %d leads partition 0 again without an election", preferred)
	}

	adm := kadm.NewClient(newClient(t, other.Addr()))
	// Unclean elections are for leaderless partitions only.
	res, err := adm.ElectLeaders(ctxT(t), kadm.ElectLiveReplica, kadm.TopicsSet{topic: {0: {}}})
	if err != nil || !errors.Is(res[topic][0].Err, kerr.ElectionNotNeeded) {
		t.Fatalf("unclean election with a live leader: %v %+v, want ELECTION_NOT_NEEDED", err, res)
	}
	// Every partition: partition 0 gets its preferred leader back (the
	// others, whichever node led them, are answered only if they changed).
	res, err = adm.ElectLeaders(ctxT(t), kadm.ElectPreferredReplica, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := res[topic][0]; !ok || r.Err != nil {
		t.Fatalf("preferred election of partition 0: %+v (present %v)", r, ok)
	}
	for _, n := range c.Nodes {
		eventually(t, "every node to see the preferred leaders", func() bool {
			for _, p := range describeTopicPartitions(t, n, 2000, nil, topic).Topics[0].Partitions {
				if p.LeaderID != p.Replicas[0] || len(p.ISR) != 3 {
					return false
				}
			}
			return true
		})
	}
	after := describeTopicPartitions(t, c.Node(preferred), 2000, nil, topic).Topics[0].Partitions[0]
	if after.LeaderEpoch <= p.LeaderEpoch {
		t.Errorf("leader epoch %d after the election, %d before", after.LeaderEpoch, p.LeaderEpoch)
	}
	// Asked again, or for a partition that does not exist.
	res, err = adm.ElectLeaders(ctxT(t), kadm.ElectPreferredReplica, kadm.TopicsSet{topic: {0: {}, 7: {}}})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res[topic][0].Err, kerr.ElectionNotNeeded) || !errors.Is(res[topic][7].Err, kerr.UnknownTopicOrPartition) {
		t.Errorf("second election: partition 0 %v, partition 7 %v; want ELECTION_NOT_NEEDED, UNKNOWN_TOPIC_OR_PARTITION", res[topic][0].Err, res[topic][7].Err)
	}

	// The records produced while the preferred leader was away are all
	// read from it now that it leads.
	cons := newClient(t, c.Node(preferred).Addr(), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	var values []string
	for len(values) < n {
		fs := cons.PollFetches(ctxT(t))
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume after %d records: %v", len(values), err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset != int64(len(values)) {
				t.Fatalf("record at offset %d, want %d", r.Offset, len(values))
			}
			values = append(values, string(r.Value))
		})
	}
	for i, v := range values {
		if v != fmt.Sprintf("v%03d", i) {
			t.Fatalf("offset %d holds %q", i, v)
		}
	}
}

// TestDescribeQuorumSingleNode: a broker started alone is a quorum of one
// voter, itself, leading.
func TestDescribeQuorumSingleNode(t *testing.T) {
	b := brokertest.Start(t)
	resp := describeQuorum(t, b, 2)
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("error %d, topics %+v", resp.ErrorCode, resp.Topics)
	}
	p := resp.Topics[0].Partitions[0]
	if p.LeaderID != 1 || len(p.CurrentVoters) != 1 || p.CurrentVoters[0].ReplicaID != 1 ||
		p.CurrentVoters[0].LogEndOffset < p.HighWatermark || p.HighWatermark < 1 {
		t.Errorf("single node: %+v", p)
	}
}

// TestCreateTopicsReplicaAssignment: replicas placed by hand, as
// `kafka-topics --create --replica-assignment 2:3,3:1` sends them, land
// where asked with the first replica leading; a bad assignment gets
// Kafka's error and creates nothing.
func TestCreateTopicsReplicaAssignment(t *testing.T) {
	c := brokertest.StartCluster(t, 3)
	createTopicRF(t, c, "warmup", 1, 3) // all three brokers registered
	cl := newClient(t, c.Node(1).Addr())
	create := func(name string, parts, rf int32, assignment ...[]int32) kmsg.CreateTopicsResponseTopic {
		t.Helper()
		req := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, parts, int16(rf)
		for p, replicas := range assignment {
			ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
			ra.Partition, ra.Replicas = int32(p), replicas
			rt.ReplicaAssignment = append(rt.ReplicaAssignment, ra)
		}
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctxT(t), cl)
		if err != nil || len(resp.Topics) != 1 {
			t.Fatalf("create %s: %v", name, err)
		}
		return resp.Topics[0]
	}
	if r := create("placed", -1, -1, []int32{2, 3}, []int32{3, 1}); r.ErrorCode != 0 || r.NumPartitions != 2 || r.ReplicationFactor != 2 {
		t.Fatalf("placed: %+v", r)
	}
	waitFullISR(t, c.Node(1), "placed", 2, 2)
	resp := describeTopicPartitions(t, c.Node(1), 2000, nil, "placed")
	for i, want := range [][]int32{{2, 3}, {3, 1}} {
		p := resp.Topics[0].Partitions[i]
		if fmt.Sprint(p.Replicas) != fmt.Sprint(want) || p.LeaderID != want[0] {
			t.Errorf("partition %d: replicas %v leader %d, want %v led by %d", i, p.Replicas, p.LeaderID, want, want[0])
		}
	}
	// kafka-topics --alter --partitions 3 --replica-assignment ...,1:2
	grow := func(count int32, assignment ...[]int32) int16 {
		t.Helper()
		req := kmsg.NewPtrCreatePartitionsRequest()
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic, rt.Count = "placed", count
		for _, a := range assignment {
			ra := kmsg.NewCreatePartitionsRequestTopicAssignment()
			ra.Replicas = a
			rt.Assignment = append(rt.Assignment, ra)
		}
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctxT(t), cl)
		if err != nil || len(resp.Topics) != 1 {
			t.Fatalf("create partitions: %v", err)
		}
		return resp.Topics[0].ErrorCode
	}
	if code := grow(3, []int32{1}); code != kerr.InvalidReplicaAssignment.Code {
		t.Errorf("one replica for a topic of two: error %d", code)
	}
	if code := grow(4, []int32{1, 2}); code != kerr.InvalidReplicaAssignment.Code {
		t.Errorf("one list for two new partitions: error %d", code)
	}
	if code := grow(3, []int32{1, 2}); code != 0 {
		t.Fatalf("grow by hand: error %d", code)
	}
	waitFullISR(t, c.Node(1), "placed", 3, 2)
	if p := describeTopicPartitions(t, c.Node(1), 2000, nil, "placed").Topics[0].Partitions[2]; fmt.Sprint(p.Replicas) != "[1 2]" {
		t.Errorf("new partition 2 on %v, want [1 2]", p.Replicas)
	}
	for _, tc := range []struct {
		name       string
		parts, rf  int32
		assignment [][]int32
		want       int16
	}{
		{"twice", -1, -1, [][]int32{{1, 1}}, kerr.InvalidReplicaAssignment.Code},
		{"unknown", -1, -1, [][]int32{{1, 9}}, kerr.InvalidReplicaAssignment.Code},
		{"uneven", -1, -1, [][]int32{{1, 2}, {3}}, kerr.InvalidReplicaAssignment.Code},
		{"empty", -1, -1, [][]int32{{}}, kerr.InvalidReplicaAssignment.Code},
		{"counts", 2, -1, [][]int32{{1}, {2}}, kerr.InvalidRequest.Code},
	} {
		if r := create(tc.name, tc.parts, tc.rf, tc.assignment...); r.ErrorCode != tc.want {
			t.Errorf("%s: error %d, want %d", tc.name, r.ErrorCode, tc.want)
		}
		if r := describeTopicPartitions(t, c.Node(1), 2000, nil, tc.name); r.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
			t.Errorf("%s was created", tc.name)
		}
	}
}
