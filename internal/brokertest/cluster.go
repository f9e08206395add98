package brokertest

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// Cluster is a set of in-process brokers forming one cluster: the nodes
// StartCluster starts are combined brokers and controllers, as `samsa
// serve` runs them; AddBroker adds broker-only nodes.
type Cluster struct {
	Nodes  []*Broker
	voters string
	t      testing.TB
}

// StartCluster starts n nodes with node ids 1..n on loopback, each with its
// own data directory, a Kafka listener and a controller listener, sharing
// one cluster id and controller.quorum.voters. props are extra property
// overrides for every node. The nodes are closed when the test ends.
func StartCluster(t testing.TB, n int, props ...string) *Cluster {
	t.Helper()
	return StartClusterEach(t, n, nil, props...)
}

// StartClusterEach is StartCluster with per-node overrides: each(id)
// returns property pairs for node id (broker.rack, say).
func StartClusterEach(t testing.TB, n int, each func(id int32) []string, props ...string) *Cluster {
	t.Helper()
	ports := freeAddrs(t, 2*n)
	var voters []string
	for i := 0; i < n; i++ {
		voters = append(voters, fmt.Sprintf("%d@%s", i+1, ports[n+i]))
	}
	c := &Cluster{voters: strings.Join(voters, ","), t: t}
	for i := 0; i < n; i++ {
		b := &Broker{t: t, dir: t.TempDir(), props: map[string]string{
			"node.id":                  fmt.Sprint(i + 1),
			"cluster.id":               "samsa-test-cluster",
			"controller.quorum.voters": strings.Join(voters, ","),
			// The controller listener is listed after the Kafka one; the
			// Kafka listener's address is set by start.
			"controller.listener.names":             "CONTROLLER",
			"controller.quorum.election.timeout.ms": "500",
		}}
		b.controllerAddr = ports[n+i]
		for j := 0; j+1 < len(props); j += 2 {
			b.props[props[j]] = props[j+1]
		}
		if each != nil {
			own := each(int32(i + 1))
			for j := 0; j+1 < len(own); j += 2 {
				b.props[own[j]] = own[j+1]
			}
		}
		b.start(ports[i])
		c.Nodes = append(c.Nodes, b)
		t.Cleanup(b.Stop)
	}
	return c
}

// AddBroker starts a broker-only node (process.roles=broker) with the next
// node id: it joins the running cluster as an observer of the metadata
// quorum, as a Kafka broker added to a KRaft cluster does. props are extra
// property overrides.
func (c *Cluster) AddBroker(props ...string) *Broker {
	c.t.Helper()
	id := len(c.Nodes) + 1
	b := &Broker{t: c.t, dir: c.t.TempDir(), props: map[string]string{
		"node.id":                               fmt.Sprint(id),
		"process.roles":                         "broker",
		"cluster.id":                            "samsa-test-cluster",
		"controller.quorum.voters":              c.voters,
		"controller.listener.names":             "CONTROLLER",
		"controller.quorum.election.timeout.ms": "500",
	}}
	for j := 0; j+1 < len(props); j += 2 {
		b.props[props[j]] = props[j+1]
	}
	b.start(freeAddrs(c.t, 1)[0])
	c.Nodes = append(c.Nodes, b)
	c.t.Cleanup(b.Stop)
	return b
}

// AddController starts a node with the broker and controller roles that is
// not among controller.quorum.voters: it joins as an observer with a
// controller listener of its own, ready to be made a voter (AddRaftVoter,
// kafka-metadata-quorum add-controller).
func (c *Cluster) AddController(props ...string) *Broker {
	c.t.Helper()
	id := len(c.Nodes) + 1
	addrs := freeAddrs(c.t, 2)
	b := &Broker{t: c.t, dir: c.t.TempDir(), controllerAddr: addrs[1], props: map[string]string{
		"node.id":                               fmt.Sprint(id),
		"cluster.id":                            "samsa-test-cluster",
		"controller.quorum.voters":              c.voters,
		"controller.listener.names":             "CONTROLLER",
		"controller.quorum.election.timeout.ms": "500",
	}}
	for j := 0; j+1 < len(props); j += 2 {
		b.props[props[j]] = props[j+1]
	}
	b.start(addrs[0])
	c.Nodes = append(c.Nodes, b)
	c.t.Cleanup(b.Stop)
	return b
}

// ControllerAddr is a node's controller listener ("" for a broker-only
// node or a single broker).
func (b *Broker) ControllerAddr() string { return b.controllerAddr }

// Node returns the node with the given id (1-based).
func (c *Cluster) Node(id int32) *Broker { return c.Nodes[id-1] }

// Addrs returns every node's Kafka address, for a client's seed list.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, b := range c.Nodes {
		out = append(out, b.Addr())
	}
	return out
}

// Leader returns the node id of the metadata quorum's leader as node from
// sees it (-1 if none).
func (b *Broker) QuorumLeader() int32 {
	if b.srv == nil {
		return -1
	}
	return b.srv.QuorumLeader()
}

// WaitUnfenced waits (up to 30 s) until every running node's metadata
// image holds n unfenced brokers, so the controller places replicas on
// all of them. A node lists itself in Metadata even while fenced, so a
// Metadata answer naming n brokers does not yet mean that.
func (c *Cluster) WaitUnfenced(n int) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		all := true
		for _, b := range c.Nodes {
			if b.srv != nil && b.UnfencedBrokers() != n {
				all = false
			}
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("brokertest: the nodes do not see %d unfenced brokers after 30s", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// UnfencedBrokers is how many unfenced brokers the node's metadata image
// holds (0 while it is stopped).
func (b *Broker) UnfencedBrokers() int {
	if b.srv == nil {
		return 0
	}
	return b.srv.UnfencedBrokers()
}

// CaughtUp reports whether the node has caught up with the cluster's
// metadata since it started (metadata.Store.CaughtUp).
func (b *Broker) CaughtUp() bool { return b.srv != nil && b.srv.CaughtUp() }

// Running reports whether the node is started.
func (b *Broker) Running() bool { return b.srv != nil }

func freeAddrs(t testing.TB, n int) []string {
	t.Helper()
	var lns []net.Listener
	var out []string
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}
