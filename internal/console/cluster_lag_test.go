package console_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/brokertest"
	"github.com/samsa-streaming/samsa/internal/coordinator/group"
	"github.com/samsa-streaming/samsa/internal/metrics"
)

// groupLags scrapes url's /metrics and returns samsa_consumer_group_lag
// of group by "topic/partition".
func groupLags(t *testing.T, url, grp string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	fams, err := metrics.Parse(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	f, ok := fams["samsa_consumer_group_lag"]
	if !ok {
		return out
	}
	for _, m := range f.Metric {
		l := map[string]string{}
		for _, lp := range m.Label {
			l[lp.GetName()] = lp.GetValue()
		}
		if l["group"] == grp {
			out[l["topic"]+"/"+l["partition"]] = m.GetGauge().GetValue()
		}
	}
	return out
}

// TestClusterGroupLag: in a cluster of three, the coordinator of a group
// reports its lag on every partition, those led by the two other brokers
// (not hosted there at all, or hosted as a follower) as well as its own,
// and follows new records within the documented bound; the console's
// group page shows the same lag on any node.
func TestClusterGroupLag(t *testing.T) {
	c := brokertest.StartCluster(t, 3, "metrics.listener", "127.0.0.1:0")
	urls := map[int32]string{}
	for i, n := range c.Nodes {
		urls[int32(i+1)] = "http://" + n.MetricsAddr()
		waitReady(t, urls[int32(i+1)])
	}
	cl := client(t, c.Node(1).Addr(), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	adm := kadm.NewClient(cl)
	waitFor(t, func() bool {
		md, err := adm.BrokerMetadata(ctxT(t))
		return err == nil && len(md.Brokers) == 3
	})
	c.WaitUnfenced(3)
	// spread: 6 partitions with one replica, 2 per broker; mirrored: 3
	// partitions on every broker (the coordinator hosts followers).
	topics := map[string]struct {
		parts int32
		rf    int16
	}{"spread": {6, 1}, "mirrored": {3, 3}}
	for name, tc := range topics {
		if r, err := adm.CreateTopic(ctxT(t), tc.parts, tc.rf, nil, name); err != nil || r.Err != nil {
			t.Fatalf("create %s: %v %v", name, err, r.Err)
		}
	}
	produce := func(n int) {
		var recs []*kgo.Record
		for name, tc := range topics {
			for p := int32(0); p < tc.parts; p++ {
				for i := 0; i < n; i++ {
					recs = append(recs, &kgo.Record{Topic: name, Partition: p, Value: []byte("v")})
				}
			}
		}
		if err := cl.ProduceSync(ctxT(t), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce(100)
	// The group commits 10 x partition on each partition.
	commit := kadm.Offsets{}
	for name, tc := range topics {
		for p := int32(0); p < tc.parts; p++ {
			commit.Add(kadm.Offset{Topic: name, Partition: p, At: int64(10 * p), LeaderEpoch: -1})
		}
	}
	if r, err := adm.CommitOffsets(ctxT(t), "watchers", commit); err != nil || r.Error() != nil {
		t.Fatalf("commit: %v %v", err, r.Error())
	}
	described, err := adm.DescribeGroups(ctxT(t), "watchers")
	if err != nil {
		t.Fatal(err)
	}
	coord := described["watchers"].Coordinator.NodeID
	md, err := adm.Metadata(ctxT(t), "spread")
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := 0
	for _, p := range md.Topics["spread"].Partitions {
		if p.Leader != coord {
			elsewhere++
		}
	}
	if elsewhere != 4 {
		t.Fatalf("%d partitions of spread led by other brokers than the coordinator %d, want 4", elsewhere, coord)
	}

	want := func(end int) map[string]float64 {
		w := map[string]float64{}
		for name, tc := range topics {
			for p := int32(0); p < tc.parts; p++ {
				w[fmt.Sprintf("%s/%d", name, p)] = float64(end - 10*int(p))
			}
		}
		return w
	}
	equal := func(a, b map[string]float64) bool {
		if len(a) != len(b) {
			return false
		}
		for k, v := range a {
			if b[k] != v {
				return false
			}
		}
		return true
	}
	var got map[string]float64
	waitFor(t, func() bool { got = groupLags(t, urls[coord], "watchers"); return equal(got, want(100)) })

	// New records: the lag follows within the refresh interval and a
	// round trip.
	produce(50)
	start := time.Now()
	deadline := start.Add(group.EndsMaxAge)
	for got = groupLags(t, urls[coord], "watchers"); !equal(got, want(150)); got = groupLags(t, urls[coord], "watchers") {
		if time.Now().After(deadline) {
			t.Fatalf("lag after 50 more records, %v later: %v, want %v", group.EndsMaxAge, got, want(150))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("lag on the coordinator (node %d) caught up with new records in %v (refresh every %v)", coord, time.Since(start).Round(time.Millisecond), group.EndsInterval)

	// The other nodes do not coordinate the group: no series of it.
	for id, url := range urls {
		if id != coord {
			if l := groupLags(t, url, "watchers"); len(l) != 0 {
				t.Errorf("node %d reports lag of a group it does not coordinate: %v", id, l)
			}
		}
	}

	// The console's group page, on every node, asks the leaders itself.
	defer func() {
		// A broker that stops: its single-replica partitions go offline
		// and lose their lag series rather than keep a stale one; the
		// others' (re-led) stay right.
		var gone int32
		for id := range urls {
			if id != coord {
				gone = id
				break
			}
		}
		offline := map[string]bool{}
		for _, p := range md.Topics["spread"].Partitions {
			if p.Leader == gone {
				offline[fmt.Sprintf("spread/%d", p.Partition)] = true
			}
		}
		c.Node(gone).Stop()
		rest := want(150)
		for k := range offline {
			delete(rest, k)
		}
		deadline := time.Now().Add(group.EndsMaxAge + 10*time.Second)
		for got = groupLags(t, urls[coord], "watchers"); !equal(got, rest); got = groupLags(t, urls[coord], "watchers") {
			if time.Now().After(deadline) {
				t.Fatalf("lag after node %d stopped: %v, want %v", gone, got, rest)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	for id, url := range urls {
		var g struct {
			Lag     int64
			Offsets []struct {
				Topic     string
				Partition int32
				Lag       int64
			}
		}
		mustCall(t, "GET", url+"/api/v1/groups/watchers", nil, &g)
		shown := map[string]float64{}
		for _, o := range g.Offsets {
			shown[fmt.Sprintf("%s/%d", o.Topic, o.Partition)] = float64(o.Lag)
		}
		if !equal(shown, want(150)) || g.Lag != 150*9-10*(15+3) {
			t.Errorf("node %d's console shows lag %d: %v, want %v", id, g.Lag, shown, want(150))
		}
	}
}
