package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// TestReassignment moves a partition's replicas with
// AlterPartitionReassignments (what kafka-reassign-partitions sends): the
// new replica copies the log from the leader, joins the ISR, the replica it
// replaces leaves and its log is deleted, and every record is still there.
func TestReassignment(t *testing.T) {
	c := brokertest.StartCluster(t, 3)
	adm := adminFor(t, c.Addrs()...)
	waitBrokers(t, adm, 3)
	createTopic(t, adm, "mv", 1, 2, nil)
	waitFor(t, "full ISR", func() bool { return fullISR(t, adm, "mv", 1, 2) })
	prod := client(t, kgo.SeedBrokers(c.Addrs()...), kgo.RequiredAcks(kgo.AllISRAcks()))
	var values []string
	for i := 0; i < 500; i++ {
		values = append(values, fmt.Sprintf("mv-%03d", i))
	}
	produceAll(t, prod, "mv", values)

	md, err := adm.Metadata(ctxFor(t, 10*time.Second), "mv")
	if err != nil {
		t.Fatal(err)
	}
	before := md.Topics["mv"].Partitions[0].Replicas
	var spare int32
	for _, id := range []int32{1, 2, 3} {
		if !slices.Contains(before, id) {
			spare = id
		}
	}
	gone := before[1]
	target := []int32{before[0], spare}
	req := kadm.AlterPartitionAssignmentsReq{}
	req.Assign("mv", 0, target)
	resps, err := adm.AlterPartitionAssignments(ctxFor(t, 20*time.Second), req)
	if err != nil || resps.Error() != nil {
		t.Fatalf("reassign: %v %v", err, resps.Error())
	}
	waitFor(t, "the reassignment to complete", func() bool {
		l, err := adm.ListPartitionReassignments(ctxFor(t, 5*time.Second), nil)
		if err != nil || len(l) != 0 {
			return false
		}
		md, err := adm.Metadata(ctxFor(t, 5*time.Second), "mv")
		if err != nil {
			return false
		}
		p := md.Topics["mv"].Partitions[0]
		return slices.Equal(p.Replicas, target) && len(p.ISR) == 2
	})
	waitFor(t, "the removed replica's log deleted", func() bool {
		_, err := os.Stat(filepath.Join(c.Node(gone).Dir(), "mv-0"))
		return os.IsNotExist(err)
	})
	// Every record, read from the new replica set (the spare leads after
	// the old leader stops).
	c.Node(before[0]).Stop()
	var others []string
	for _, n := range c.Nodes {
		if n.Running() {
			others = append(others, n.Addr())
		}
	}
	seen := readAll(t, others, "mv", len(values))
	for _, v := range values {
		if !seen[v] {
			t.Fatalf("%s lost in the move", v)
		}
	}

	// Bad assignments get Kafka's error.
	bad := kadm.AlterPartitionAssignmentsReq{}
	bad.Assign("mv", 0, []int32{spare, spare})
	resps, err = adminFor(t, others...).AlterPartitionAssignments(ctxFor(t, 20*time.Second), bad)
	if err != nil || resps.Error() == nil {
		t.Fatalf("a broker named twice was accepted: %v %v", err, resps.Error())
	}
}

// TestAutoLeaderRebalance: after a broker's restart its partitions are led
// by others; the controller moves leadership back to the preferred
// replicas once they are in sync (auto.leader.rebalance.enable).
func TestAutoLeaderRebalance(t *testing.T) {
	c := brokertest.StartCluster(t, 3, "leader.imbalance.check.interval.seconds", "1")
	adm := adminFor(t, c.Addrs()...)
	waitBrokers(t, adm, 3)
	createTopic(t, adm, "bal", 3, 3, nil)
	waitFor(t, "full ISRs", func() bool { return fullISR(t, adm, "bal", 3, 3) })
	preferredLeaders := func(a *kadm.Client) bool {
		md, err := a.Metadata(ctxFor(t, 5*time.Second), "bal")
		if err != nil {
			return false
		}
		for _, p := range md.Topics["bal"].Partitions {
			if len(p.Replicas) == 0 || p.Leader != p.Replicas[0] {
				return false
			}
		}
		return true
	}
	if !preferredLeaders(adm) {
		t.Fatal("a new topic's leaders are not its preferred replicas")
	}
	c.Node(1).Stop()
	adm2 := adminFor(t, c.Node(2).Addr(), c.Node(3).Addr())
	waitFor(t, "node 1 to lead nothing", func() bool {
		md, err := adm2.Metadata(ctxFor(t, 5*time.Second), "bal")
		if err != nil {
			return false
		}
		for _, p := range md.Topics["bal"].Partitions {
			if p.Leader == 1 {
				return false
			}
		}
		return true
	})
	c.Node(1).StartAgain()
	waitFor(t, "leadership back on the preferred replicas", func() bool { return fullISR(t, adm2, "bal", 3, 3) && preferredLeaders(adm2) })
}

// TestNewReplicaAfterLogStart: a replica added to a partition whose
// leader's log no longer starts at 0 (DeleteRecords here; retention does
// the same) starts at the leader's log start, catches up, joins the ISR,
// and serves the records from there once it leads.
func TestNewReplicaAfterLogStart(t *testing.T) {
	c := brokertest.StartCluster(t, 3)
	adm := adminFor(t, c.Addrs()...)
	waitBrokers(t, adm, 3)
	raw := client(t, kgo.SeedBrokers(c.Addrs()...))
	createOn(t, raw, "trimmed", 1)
	var values []string
	for i := 0; i < 300; i++ {
		values = append(values, fmt.Sprintf("t-%03d", i))
	}
	produceAll(t, raw, "trimmed", values)
	del, err := adm.DeleteRecords(ctxFor(t, 10*time.Second), kadm.Offsets{"trimmed": {0: kadm.Offset{Topic: "trimmed", Partition: 0, At: 150}}})
	if err != nil || del.Error() != nil {
		t.Fatalf("delete records: %v %v", err, del.Error())
	}
	req := kadm.AlterPartitionAssignmentsReq{}
	req.Assign("trimmed", 0, []int32{2, 1})
	if r, err := adm.AlterPartitionAssignments(ctxFor(t, 20*time.Second), req); err != nil || r.Error() != nil {
		t.Fatalf("reassign: %v %v", err, r.Error())
	}
	waitFor(t, "broker 2 in the ISR", func() bool { return fullISR(t, adm, "trimmed", 1, 2) })
	c.Node(1).Stop()
	adm2 := adminFor(t, c.Node(2).Addr(), c.Node(3).Addr())
	waitFor(t, "broker 2 leads", func() bool { return leaders(t, adm2, "trimmed")[0] == 2 })
	starts, err := adm2.ListStartOffsets(ctxFor(t, 10*time.Second), "trimmed")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := starts.Lookup("trimmed", 0); o.Offset != 150 {
		t.Fatalf("log start on the new replica %d, want 150", o.Offset)
	}
	seen := readAll(t, []string{c.Node(2).Addr()}, "trimmed", 150)
	for i, v := range values {
		if seen[v] != (i >= 150) {
			t.Fatalf("record %s: read %v", v, seen[v])
		}
	}
}

// TestDeleteRecordsReplicated: DeleteRecords on a leader moves its
// followers' log start too, so after a failover the deleted records stay
// deleted.
func TestDeleteRecordsReplicated(t *testing.T) {
	c := brokertest.StartCluster(t, 3)
	adm := adminFor(t, c.Addrs()...)
	waitBrokers(t, adm, 3)
	createTopic(t, adm, "del", 1, 3, nil)
	waitFor(t, "full ISR", func() bool { return fullISR(t, adm, "del", 1, 3) })
	prod := client(t, kgo.SeedBrokers(c.Addrs()...), kgo.RequiredAcks(kgo.AllISRAcks()))
	var values []string
	for i := 0; i < 100; i++ {
		values = append(values, fmt.Sprintf("d-%03d", i))
	}
	produceAll(t, prod, "del", values)
	del, err := adm.DeleteRecords(ctxFor(t, 10*time.Second), kadm.Offsets{"del": {0: kadm.Offset{Topic: "del", Partition: 0, At: 40}}})
	if err != nil || del.Error() != nil {
		t.Fatalf("delete records: %v %v", err, del.Error())
	}
	produceAll(t, prod, "del", []string{"after"}) // a fetch round carries the new log start
	leader := leaders(t, adm, "del")[0]
	time.Sleep(time.Second)
	c.Node(leader).Stop()
	var others []string
	for _, n := range c.Nodes {
		if n.Running() {
			others = append(others, n.Addr())
		}
	}
	adm2 := adminFor(t, others...)
	waitFor(t, "a new leader", func() bool { l := leaders(t, adm2, "del")[0]; return l >= 0 && l != leader })
	starts, err := adm2.ListStartOffsets(ctxFor(t, 10*time.Second), "del")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := starts.Lookup("del", 0); o.Offset != 40 {
		t.Fatalf("log start after failover %d, want 40", o.Offset)
	}
}
