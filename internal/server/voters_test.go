package server_test

import (
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// directoryID reads a node's directory.id from its meta.properties.
func directoryID(t *testing.T, b *brokertest.Broker) [16]byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(b.Dir(), "meta.properties"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "directory.id="); ok {
			b, err := base64.RawURLEncoding.DecodeString(v)
			if err != nil || len(b) != 16 {
				t.Fatalf("directory.id %q", v)
			}
			return [16]byte(b)
		}
	}
	t.Fatal("no directory.id")
	return [16]byte{}
}

// quorumMembers asks node for the quorum's voters and observers.
func quorumMembers(t *testing.T, cl *kgo.Client) (voters, observers []int32, ok bool) {
	t.Helper()
	req := kmsg.NewPtrDescribeQuorumRequest()
	rt := kmsg.NewDescribeQuorumRequestTopic()
	rt.Topic = "__cluster_metadata"
	rt.Partitions = []kmsg.DescribeQuorumRequestTopicPartition{kmsg.NewDescribeQuorumRequestTopicPartition()}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctxFor(t, 5*time.Second), cl)
	if err != nil || resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return nil, nil, false
	}
	p := resp.Topics[0].Partitions[0]
	for _, v := range p.CurrentVoters {
		voters = append(voters, v.ReplicaID)
	}
	for _, o := range p.Observers {
		observers = append(observers, o.ReplicaID)
	}
	slices.Sort(voters)
	slices.Sort(observers)
	return voters, observers, true
}

// TestAddRemoveController: the metadata quorum's voters change while it
// runs (KIP-853), as kafka-metadata-quorum add-controller and
// remove-controller ask. A fourth node with the controller role starts as
// an observer, is made a voter, and counts: once node 1 has been removed
// from the voters and nodes 1 and 2 are down, nodes 3 and 4 are a
// majority of the voters 2, 3, 4 and metadata still changes. Bad requests
// get Kafka's errors. A restart keeps the new voter a voter.
func TestAddRemoveController(t *testing.T) {
	c := brokertest.StartCluster(t, 3)
	n4 := c.AddController()
	cl := client(t, kgo.SeedBrokers(c.Node(2).Addr(), c.Node(3).Addr(), n4.Addr()))
	members := func() string {
		v, o, ok := quorumMembers(t, cl)
		if !ok {
			return "?"
		}
		return fmt.Sprint(v, o)
	}
	waitFor(t, "node 4 observing", func() bool { return members() == "[1 2 3] [4]" })
	// Every node that may take the request has node 4's registration.
	for _, n := range []*brokertest.Broker{c.Node(2), c.Node(3), n4} {
		adm := adminFor(t, n.Addr())
		waitFor(t, "node 4 registered on "+n.Addr(), func() bool {
			md, err := adm.BrokerMetadata(ctxFor(t, 5*time.Second))
			return err == nil && len(md.Brokers) == 4
		})
	}

	add := func(id int32, dir [16]byte, cluster *string) int16 {
		req := kmsg.NewPtrAddRaftVoterRequest()
		req.ClusterID, req.VoterID, req.VoterDirectoryID, req.TimeoutMillis = cluster, id, dir, 15000
		host, port, _ := net.SplitHostPort(n4.ControllerAddr())
		p, _ := strconv.Atoi(port)
		l := kmsg.NewAddRaftVoterRequestListener()
		l.Name, l.Host, l.Port = "CONTROLLER", host, uint16(p)
		req.Listeners = append(req.Listeners, l)
		resp, err := req.RequestWith(ctxFor(t, 20*time.Second), cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.ErrorCode
	}
	remove := func(id int32, dir [16]byte) int16 {
		req := kmsg.NewPtrRemoveRaftVoterRequest()
		req.VoterID, req.VoterDirectoryID = id, dir
		resp, err := req.RequestWith(ctxFor(t, 20*time.Second), cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.ErrorCode
	}
	dir4 := directoryID(t, n4)
	other := "another-cluster"
	for _, tc := range []struct {
		what string
		code int16
		want int16
	}{
		{"another cluster", add(4, dir4, &other), kerr.InconsistentClusterID.Code},
		{"a wrong directory id", add(4, [16]byte{1}, nil), kerr.InvalidRequest.Code},
		{"an unknown node", add(9, dir4, nil), kerr.InvalidRequest.Code},
		{"a voter already", add(2, directoryID(t, c.Node(2)), nil), kerr.DuplicateVoter.Code},
		{"removing a non-voter", remove(4, dir4), kerr.VoterNotFound.Code},
	} {
		if tc.code != tc.want {
			t.Errorf("%s: error %d, want %d", tc.what, tc.code, tc.want)
		}
	}
	if code := add(4, dir4, nil); code != 0 {
		t.Fatalf("add node 4: error %d", code)
	}
	waitFor(t, "four voters", func() bool { return members() == "[1 2 3 4] []" })

	if code := remove(1, directoryID(t, c.Node(1))); code != 0 {
		t.Fatalf("remove node 1: error %d", code)
	}
	waitFor(t, "voters 2, 3, 4", func() bool { v, _, ok := quorumMembers(t, cl); return ok && fmt.Sprint(v) == "[2 3 4]" })
	c.Node(1).Stop()
	c.Node(2).Stop()
	adm := adminFor(t, c.Node(3).Addr(), n4.Addr())
	createTopic(t, adm, "after", 1, 2, nil)
	n4.Restart()
	cl3 := client(t, kgo.SeedBrokers(c.Node(3).Addr(), n4.Addr()))
	waitFor(t, "node 4 still a voter after its restart", func() bool {
		v, _, ok := quorumMembers(t, cl3)
		return ok && fmt.Sprint(v) == "[2 3 4]"
	})
	// As node 3 sees it (a restarting node lists itself at once).
	adm3 := adminFor(t, c.Node(3).Addr())
	waitBrokers(t, adm3, 2)
	createTopic(t, adm3, "after-restart", 1, 2, nil)
}
