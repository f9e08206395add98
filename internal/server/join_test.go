package server_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// TestBrokerJoins grows a running three-node cluster by a broker-only node
// (process.roles=broker), as a Kafka user adds a broker to a KRaft
// cluster: it registers by starting, new topics place replicas on it, a
// reassignment moves an existing partition onto it (the log is copied and
// nothing is lost), clients produce to and read from it, it keeps
// following the metadata when the active controller moves, and after a
// restart it rejoins with its data.
func TestBrokerJoins(t *testing.T) {
	c := brokertest.StartCluster(t, 3)
	adm := adminFor(t, c.Addrs()...)
	waitBrokers(t, adm, 3)
	createTopic(t, adm, "old", 1, 2, nil)
	waitFor(t, "full ISR", func() bool { return fullISR(t, adm, "old", 1, 2) })
	prod := client(t, kgo.SeedBrokers(c.Addrs()...), kgo.RequiredAcks(kgo.AllISRAcks()))
	var values []string
	for i := 0; i < 300; i++ {
		values = append(values, fmt.Sprintf("old-%03d", i))
	}
	produceAll(t, prod, "old", values)

	b4 := c.AddBroker("broker.rack", "r4")
	waitFor(t, "broker 4 registered", func() bool {
		md, err := adm.BrokerMetadata(ctxFor(t, 5*time.Second))
		if err != nil {
			return false
		}
		for _, b := range md.Brokers {
			if b.NodeID == 4 && b.Rack != nil && *b.Rack == "r4" {
				return true
			}
		}
		return false
	})
	// The quorum still has three voters; node 4 observes (asked through
	// node 4, which forwards to the quorum's leader).
	cl4 := client(t, kgo.SeedBrokers(b4.Addr()))
	dq := kmsg.NewPtrDescribeQuorumRequest()
	dqt := kmsg.NewDescribeQuorumRequestTopic()
	dqt.Topic = "__cluster_metadata"
	dqt.Partitions = []kmsg.DescribeQuorumRequestTopicPartition{kmsg.NewDescribeQuorumRequestTopicPartition()}
	dq.Topics = append(dq.Topics, dqt)
	var voters, observers []int32
	waitFor(t, "DescribeQuorum", func() bool {
		resp, err := dq.RequestWith(ctxFor(t, 5*time.Second), cl4)
		if err != nil || resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			return false
		}
		p := resp.Topics[0].Partitions[0]
		voters, observers = nil, nil
		for _, v := range p.CurrentVoters {
			voters = append(voters, v.ReplicaID)
		}
		for _, o := range p.Observers {
			observers = append(observers, o.ReplicaID)
		}
		return true
	})
	slices.Sort(voters)
	if fmt.Sprint(voters) != "[1 2 3]" || fmt.Sprint(observers) != "[4]" {
		t.Fatalf("quorum voters %v observers %v, want [1 2 3] and [4]", voters, observers)
	}

	// A new topic spreads over four brokers.
	createTopic(t, adm, "new", 4, 3, nil)
	waitFor(t, "full ISRs on new", func() bool { return fullISR(t, adm, "new", 4, 3) })
	md, err := adm.Metadata(ctxFor(t, 10*time.Second), "new")
	if err != nil {
		t.Fatal(err)
	}
	on4 := 0
	for _, p := range md.Topics["new"].Partitions {
		if slices.Contains(p.Replicas, 4) {
			on4++
		}
	}
	if on4 != 3 {
		t.Fatalf("broker 4 holds %d of 12 replicas of a new topic, want 3", on4)
	}

	// Move "old" onto broker 4: it copies the log and joins the ISR.
	md, err = adm.Metadata(ctxFor(t, 10*time.Second), "old")
	if err != nil {
		t.Fatal(err)
	}
	target := []int32{4, md.Topics["old"].Partitions[0].Replicas[0]}
	req := kadm.AlterPartitionAssignmentsReq{}
	req.Assign("old", 0, target)
	if r, err := adm.AlterPartitionAssignments(ctxFor(t, 20*time.Second), req); err != nil || r.Error() != nil {
		t.Fatalf("reassign: %v %v", err, r.Error())
	}
	waitFor(t, "old on broker 4, in sync", func() bool {
		md, err := adm.Metadata(ctxFor(t, 5*time.Second), "old")
		if err != nil {
			return false
		}
		p := md.Topics["old"].Partitions[0]
		return slices.Equal(p.Replicas, target) && len(p.ISR) == 2
	})
	// The active controller stops: broker 4 follows the new one, and a
	// preferred election makes it the leader of "old".
	leader := c.Node(1).QuorumLeader()
	c.Node(leader).Stop()
	var live []string
	for _, n := range c.Nodes {
		if n.Running() {
			live = append(live, n.Addr())
		}
	}
	adm = adminFor(t, live...)
	waitFor(t, "a new controller", func() bool {
		l := b4.QuorumLeader()
		return l > 0 && l != leader
	})
	waitFor(t, "broker 4 leads old", func() bool {
		_, _ = adm.ElectLeaders(ctxFor(t, 5*time.Second), kadm.ElectPreferredReplica, kadm.TopicsSet{"old": {0: {}}})
		return leaders(t, adm, "old")[0] == 4
	})
	more := []string{"after-0", "after-1", "after-2"}
	prod2 := client(t, kgo.SeedBrokers(b4.Addr()), kgo.RequiredAcks(kgo.AllISRAcks()))
	produceAll(t, prod2, "old", more)
	// Restarted, broker 4 rejoins with its log and its metadata.
	b4.Restart()
	seen := readAll(t, []string{b4.Addr()}, "old", len(values)+len(more))
	for _, v := range append(values, more...) {
		if !seen[v] {
			t.Fatalf("%s lost", v)
		}
	}
	c.Node(leader).StartAgain()
}

// TestUnregisterBroker: kafka-cluster.sh unregister (UnregisterBroker)
// removes a stopped broker-only node from the cluster: it is no longer
// listed, even among fenced brokers, and no longer counts for placement;
// asking again gets BROKER_ID_NOT_REGISTERED. A broker unregistered while
// it runs registers again, as in Kafka.
func TestUnregisterBroker(t *testing.T) {
	c := brokertest.StartCluster(t, 3)
	b4 := c.AddBroker()
	adm := adminFor(t, c.Addrs()...)
	raw := client(t, kgo.SeedBrokers(c.Node(1).Addr(), c.Node(2).Addr()))
	registered := func(all bool) []int32 {
		t.Helper()
		req := kmsg.NewPtrDescribeClusterRequest()
		req.IncludeFencedBrokers = all
		resp, err := req.RequestWith(ctxFor(t, 10*time.Second), raw)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int32
		for _, b := range resp.Brokers {
			ids = append(ids, b.NodeID)
		}
		slices.Sort(ids)
		return ids
	}
	waitFor(t, "four brokers", func() bool { return fmt.Sprint(registered(false)) == "[1 2 3 4]" })
	b4.Stop()
	waitFor(t, "broker 4 fenced", func() bool { return fmt.Sprint(registered(false)) == "[1 2 3]" })
	if got := registered(true); fmt.Sprint(got) != "[1 2 3 4]" {
		t.Fatalf("with fenced brokers: %v", got)
	}
	unregister := func(id int32) int16 {
		req := kmsg.NewPtrUnregisterBrokerRequest()
		req.BrokerID = id
		resp, err := req.RequestWith(ctxFor(t, 10*time.Second), raw)
		if err != nil {
			t.Fatal(err)
		}
		return resp.ErrorCode
	}
	if code := unregister(4); code != 0 {
		t.Fatalf("unregister 4: error %d", code)
	}
	// Every node applies it (the answer may come from another one).
	waitFor(t, "broker 4 gone, even among fenced brokers", func() bool { return fmt.Sprint(registered(true)) == "[1 2 3]" })
	if code := unregister(4); code != kerr.BrokerIDNotRegistered.Code {
		t.Fatalf("unregister 4 twice: error %d, want BROKER_ID_NOT_REGISTERED", code)
	}
	// RF 4 is no longer possible.
	if r, err := adm.CreateTopic(ctxFor(t, 10*time.Second), 1, 4, nil, "four"); err == nil && r.Err == nil {
		t.Fatal("RF 4 accepted with three brokers")
	}
	// A running broker unregistered comes back by itself.
	if code := unregister(3); code != 0 {
		t.Fatalf("unregister 3: error %d", code)
	}
	waitFor(t, "broker 3 registered again", func() bool { return fmt.Sprint(registered(false)) == "[1 2 3]" })
}

// TestGrowSingleNode: a node started as `samsa serve` runs it (no quorum
// settings) is restarted with a controller listener, naming itself as the
// one voter, and then takes a broker-only node: its data is all there and
// the cluster has two brokers for replicated topics.
func TestGrowSingleNode(t *testing.T) {
	b1 := brokertest.Start(t, "node.id", "1")
	prod, err := kgo.NewClient(kgo.SeedBrokers(b1.Addr()), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	produceAll(t, prod, "solo", []string{"a", "b", "c"})
	prod.Close()
	meta, err := os.ReadFile(filepath.Join(b1.Dir(), "meta.properties"))
	if err != nil {
		t.Fatal(err)
	}
	var clusterID string
	for _, line := range strings.Split(string(meta), "\n") {
		if v, ok := strings.CutPrefix(line, "cluster.id="); ok {
			clusterID = v
		}
	}
	ctrl := freeAddr(t)
	b1.Stop()
	b1.Set("listeners", "PLAINTEXT://"+b1.Addr()+",CONTROLLER://"+ctrl)
	b1.Set("controller.quorum.voters", "1@"+ctrl)
	b1.StartAgain()
	b2 := brokertest.Start(t, "node.id", "2", "process.roles", "broker", "cluster.id", clusterID,
		"controller.quorum.voters", "1@"+ctrl, "controller.quorum.election.timeout.ms", "500")
	adm := adminFor(t, b1.Addr(), b2.Addr())
	waitBrokers(t, adm, 2)
	createTopic(t, adm, "pair", 2, 2, nil)
	waitFor(t, "full ISRs", func() bool { return fullISR(t, adm, "pair", 2, 2) })
	seen := readAll(t, []string{b2.Addr()}, "solo", 3)
	if !seen["a"] || !seen["b"] || !seen["c"] {
		t.Fatalf("solo after the restart: %v", seen)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestStaleDataDirRejoins: a node's data directory is put back to an
// older copy (a restored backup, a disk swapped in from a node that was
// away) and the node starts: it catches up with the metadata it missed (a
// topic made, another deleted), deletes the deleted topic's logs, copies
// the records it lacks and rejoins the ISR, and nothing is lost.
func TestStaleDataDirRejoins(t *testing.T) {
	c := brokertest.StartCluster(t, 3)
	adm := adminFor(t, c.Addrs()...)
	waitBrokers(t, adm, 3)
	createTopic(t, adm, "gone", 1, 3, nil)
	createTopic(t, adm, "kept", 1, 3, nil)
	waitFor(t, "full ISRs", func() bool { return fullISR(t, adm, "gone", 1, 3) && fullISR(t, adm, "kept", 1, 3) })
	prod := client(t, kgo.SeedBrokers(c.Addrs()...), kgo.RequiredAcks(kgo.AllISRAcks()))
	var values []string
	add := func(prefix string, n int) []string {
		out := numbered(prefix, n)
		values = append(values, out...)
		return out
	}
	produceAll(t, prod, "kept", add("a", 100))
	produceAll(t, prod, "gone", []string{"x"})

	node := c.Node(3)
	node.Stop()
	backup := t.TempDir()
	if err := os.CopyFS(backup, os.DirFS(node.Dir())); err != nil {
		t.Fatal(err)
	}
	node.StartAgain()
	waitFor(t, "node 3 back in the ISRs", func() bool { return fullISR(t, adm, "kept", 1, 3) })
	// What the copy will lack: records, a new topic, a deletion.
	produceAll(t, prod, "kept", add("b", 100))
	createTopic(t, adm, "new", 1, 3, nil)
	if r, err := adm.DeleteTopics(ctxFor(t, 20*time.Second), "gone"); err != nil || r.Error() != nil {
		t.Fatalf("delete: %v %v", err, r.Error())
	}
	waitFor(t, "new with a full ISR", func() bool { return fullISR(t, adm, "new", 1, 3) })
	node.Stop()
	if err := os.RemoveAll(node.Dir()); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(node.Dir(), os.DirFS(backup)); err != nil {
		t.Fatal(err)
	}
	node.StartAgain()
	waitFor(t, "node 3 in every ISR", func() bool { return fullISR(t, adm, "kept", 1, 3) && fullISR(t, adm, "new", 1, 3) })
	waitFor(t, "the deleted topic's log gone from node 3", func() bool {
		_, err := os.Stat(filepath.Join(node.Dir(), "gone-0"))
		return os.IsNotExist(err)
	})
	// Node 3 alone has to serve it all: the others stop.
	produceAll(t, prod, "kept", add("c", 10))
	c.Node(1).Stop()
	adm3 := adminFor(t, c.Node(2).Addr(), node.Addr())
	waitFor(t, "kept led by 2 or 3", func() bool { l := leaders(t, adm3, "kept")[0]; return l == 2 || l == 3 })
	if leaders(t, adm3, "kept")[0] == 2 {
		_, _ = adm3.ElectLeaders(ctxFor(t, 5*time.Second), kadm.ElectPreferredReplica, kadm.TopicsSet{"kept": {0: {}}})
	}
	seen := readAll(t, []string{node.Addr()}, "kept", len(values))
	for _, v := range values {
		if !seen[v] {
			t.Fatalf("%s lost", v)
		}
	}
}

// TestReplacedDiskRejoins: a node whose data directory is lost altogether
// (a replaced disk) starts empty with the same node id: the quorum catches
// its metadata up from nothing, its replicas copy their logs from the
// leaders and rejoin the ISRs, and it can then serve everything alone.
func TestReplacedDiskRejoins(t *testing.T) {
	c := brokertest.StartCluster(t, 3)
	adm := adminFor(t, c.Addrs()...)
	waitBrokers(t, adm, 3)
	createTopic(t, adm, "disk", 2, 3, nil)
	waitFor(t, "full ISRs", func() bool { return fullISR(t, adm, "disk", 2, 3) })
	prod := client(t, kgo.SeedBrokers(c.Addrs()...), kgo.RequiredAcks(kgo.AllISRAcks()))
	var values []string
	for i := 0; i < 200; i++ {
		values = append(values, fmt.Sprintf("disk-%03d", i))
	}
	produceAll(t, prod, "disk", values)
	node := c.Node(3)
	node.Stop()
	if err := os.RemoveAll(node.Dir()); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(node.Dir(), 0o755); err != nil {
		t.Fatal(err)
	}
	node.StartAgain()
	waitFor(t, "node 3 in every ISR", func() bool { return fullISR(t, adm, "disk", 2, 3) })
	// Node 3 leads both partitions and serves them alone.
	adm2 := adminFor(t, c.Addrs()...)
	for _, p := range []int32{0, 1} {
		req := kadm.AlterPartitionAssignmentsReq{}
		req.Assign("disk", p, []int32{3, 1, 2})
		if r, err := adm2.AlterPartitionAssignments(ctxFor(t, 20*time.Second), req); err != nil || r.Error() != nil {
			t.Fatalf("reorder: %v %v", err, r.Error())
		}
	}
	waitFor(t, "node 3 leads both partitions", func() bool {
		_, _ = adm2.ElectLeaders(ctxFor(t, 5*time.Second), kadm.ElectPreferredReplica, kadm.TopicsSet{"disk": {0: {}, 1: {}}})
		l := leaders(t, adm2, "disk")
		return l[0] == 3 && l[1] == 3
	})
	seen := readAll(t, []string{node.Addr()}, "disk", len(values))
	for _, v := range values {
		if !seen[v] {
			t.Fatalf("%s lost", v)
		}
	}
}
