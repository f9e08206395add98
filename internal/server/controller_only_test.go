package server_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// TestControllerOnlyNodes: three controller-only nodes
// (process.roles=controller) form the metadata quorum and two broker-only
// nodes join it, as Kafka's isolated mode runs. Topics are made and used
// through the brokers; DescribeQuorum through a broker reaches the
// quorum's leader on its controller listener; the controller listener
// answers Kafka's controller APIs (what --bootstrap-controller uses) and
// nothing else; the cluster goes on when the active controller stops.
func TestControllerOnlyNodes(t *testing.T) {
	c := brokertest.StartClusterEach(t, 3, func(int32) []string { return []string{"process.roles", "controller"} })
	b4 := c.AddBroker()
	b5 := c.AddBroker()
	seeds := []string{b4.Addr(), b5.Addr()}
	adm := adminFor(t, seeds...)
	waitBrokers(t, adm, 2)
	createTopic(t, adm, "iso", 2, 2, nil)
	waitFor(t, "full ISRs", func() bool { return fullISR(t, adm, "iso", 2, 2) })
	prod := client(t, kgo.SeedBrokers(seeds...), kgo.RequiredAcks(kgo.AllISRAcks()))
	var values []string
	for i := 0; i < 100; i++ {
		values = append(values, fmt.Sprintf("iso-%03d", i))
	}
	produceAll(t, prod, "iso", values[:50])

	cl := client(t, kgo.SeedBrokers(b4.Addr()))
	waitFor(t, "DescribeQuorum through a broker", func() bool {
		v, o, ok := quorumMembers(t, cl)
		return ok && fmt.Sprint(v, o) == "[1 2 3] [4 5]"
	})

	// The controller listener: controller APIs only.
	ctl := client(t, kgo.SeedBrokers(c.Node(1).ControllerAddr()))
	av, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctxFor(t, 10*time.Second), ctl)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[int16]bool{}
	for _, k := range av.ApiKeys {
		keys[k.ApiKey] = true
	}
	if !keys[kmsg.DescribeQuorum.Int16()] || !keys[kmsg.CreateTopics.Int16()] || keys[kmsg.Produce.Int16()] || keys[kmsg.Fetch.Int16()] {
		t.Fatalf("controller listener offers %v", keys)
	}
	dc := kmsg.NewPtrDescribeClusterRequest()
	dc.EndpointType = 2
	dcr, err := dc.RequestWith(ctxFor(t, 10*time.Second), ctl)
	if err != nil || dcr.ErrorCode != 0 || len(dcr.Brokers) != 3 {
		t.Fatalf("DescribeCluster (controllers) on the controller listener: %v %+v", err, dcr)
	}
	// The active controller stops; the other two elect one and the
	// brokers carry on.
	leader := c.Node(1).QuorumLeader()
	c.Node(leader).Stop()
	produceAll(t, prod, "iso", values[50:])
	createTopic(t, adm, "after", 1, 2, nil)
	seen := readAll(t, seeds, "iso", len(values))
	for _, v := range values {
		if !seen[v] {
			t.Fatalf("%s lost", v)
		}
	}
}
