package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

func counts(parts []placement, moves []move) (replicas, leaders map[int32]int) {
	to := map[string][]int32{}
	for _, m := range moves {
		to[fmt.Sprintf("%s/%d", m.Topic, m.Partition)] = m.To
	}
	replicas, leaders = map[int32]int{}, map[int32]int{}
	for _, p := range parts {
		rs := p.Replicas
		if m, ok := to[fmt.Sprintf("%s/%d", p.Topic, p.Partition)]; ok {
			rs = m
		}
		seen := map[int32]bool{}
		for i, r := range rs {
			if seen[r] {
				panic("two replicas on one broker")
			}
			seen[r] = true
			replicas[r]++
			if i == 0 {
				leaders[r]++
			}
		}
	}
	return replicas, leaders
}

func TestPlanRebalance(t *testing.T) {
	var parts []placement
	for p := int32(0); p < 6; p++ {
		parts = append(parts, placement{Topic: "t", Partition: p, Replicas: []int32{1 + p%2, 2 - p%2}})
	}
	for _, tc := range []struct {
		name     string
		remove   []int32
		replicas map[int32]int
		leaders  map[int32]int
	}{
		{"a new broker gets its share", nil, map[int32]int{1: 4, 2: 4, 3: 4}, map[int32]int{1: 2, 2: 2, 3: 2}},
		{"a broker to remove is emptied", []int32{1}, map[int32]int{2: 6, 3: 6}, map[int32]int{2: 3, 3: 3}},
	} {
		moves := planRebalance(parts, []int32{1, 2, 3}, nil, tc.remove)
		r, l := counts(parts, moves)
		delete(r, 0)
		for b, want := range tc.replicas {
			if r[b] != want {
				t.Errorf("%s: broker %d has %d replicas, want %d (%v)", tc.name, b, r[b], want, moves)
			}
			if l[b] != tc.leaders[b] {
				t.Errorf("%s: broker %d prefers %d leaders, want %d (%v)", tc.name, b, l[b], tc.leaders[b], moves)
			}
		}
		for _, b := range tc.remove {
			if r[b] != 0 {
				t.Errorf("%s: removed broker %d keeps %d replicas", tc.name, b, r[b])
			}
		}
	}
	// Removing broker 4 when every broker below its share (only 2) is
	// already a replica of the partitions 4 leaves: a replica of 4 must
	// go to a full broker, which passes another replica on to broker 2.
	// (Found by TestRebalanceCommand: the plan kept broker 4 in one
	// partition.)
	tight := []placement{{"t", 0, []int32{4, 2}}, {"t", 1, []int32{2, 4}}, {"t", 2, []int32{2, 4}},
		{"t", 3, []int32{1, 3}}, {"t", 4, []int32{1, 3}}, {"t", 5, []int32{3, 1}}}
	moves := planRebalance(tight, []int32{1, 2, 3, 4}, nil, []int32{4})
	r, _ := counts(tight, moves)
	if r[4] != 0 || r[1] != 4 || r[2] != 4 || r[3] != 4 {
		t.Errorf("removing broker 4: replicas per broker %v, want 4 each on 1-3 (%v)", r, moves)
	}
	// Balanced already: nothing to do.
	even := []placement{{"t", 0, []int32{1, 2}}, {"t", 1, []int32{2, 3}}, {"t", 2, []int32{3, 1}}}
	if moves := planRebalance(even, []int32{1, 2, 3}, nil, nil); len(moves) != 0 {
		t.Errorf("balanced placement moved: %v", moves)
	}
}

// A broker added to a running cluster (a broker-only node) gets its share
// with `samsa cluster rebalance --execute`, the data moves with it, and
// the leaders follow; `--remove-broker` then empties it again before it
// is taken away. Every record is there throughout.
func TestRebalanceCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	c := brokertest.StartCluster(t, 3)
	seeds := c.Addrs()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.MetadataMinAge(10*time.Millisecond), kgo.MetadataMaxAge(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for {
		r, err := adm.CreateTopic(ctx, 6, 2, nil, "rb")
		if err == nil && r.Err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("create: %v %v", err, r.Err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := 0; i < 300; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "rb", Value: []byte(fmt.Sprint(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	c.AddBroker()
	addr := c.Node(1).Addr()
	for {
		bm, err := adm.BrokerMetadata(ctx)
		if err == nil && len(bm.Brokers) == 4 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("broker 4 did not join")
		}
		time.Sleep(50 * time.Millisecond)
	}
	placed := func() (reps, leads map[int32]int) {
		t.Helper()
		md, err := adm.Metadata(ctx, "rb")
		if err != nil {
			t.Fatal(err)
		}
		reps, leads = map[int32]int{}, map[int32]int{}
		for _, p := range md.Topics["rb"].Partitions {
			for _, r := range p.Replicas {
				reps[r]++
			}
			leads[p.Leader]++
		}
		return reps, leads
	}
	readBack := func() {
		t.Helper()
		rd, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("rb"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		n := 0
		for n < 300 {
			fs := rd.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("read %d of 300 after the rebalance", n)
			}
			n += fs.NumRecords()
		}
	}
	if reps, _ := placed(); reps[4] != 0 {
		t.Fatalf("broker 4 has replicas before the rebalance: %v", reps)
	}
	stdout, stderr, code := runCLI(t, "", "-b", addr, "--timeout", "60s", "cluster", "rebalance")
	if code != exitOK || !strings.Contains(stdout, "NEW-REPLICAS") {
		t.Fatalf("plan: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if reps, _ := placed(); reps[4] != 0 {
		t.Fatalf("the plan alone moved replicas: %v", reps)
	}
	stdout, stderr, code = runCLI(t, "", "-b", addr, "--timeout", "60s", "cluster", "rebalance", "--execute")
	if code != exitOK {
		t.Fatalf("execute: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var reps, leads map[int32]int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		reps, leads = placed()
		if reps[4] == 3 && leads[4] >= 1 || time.Now().After(deadline) {
			break
		}
	}
	for b := int32(1); b <= 4; b++ {
		if reps[b] != 3 || leads[b] < 1 || leads[b] > 2 {
			t.Errorf("after rebalance broker %d has %d replicas and leads %d (want 3 and 1-2): %v %v", b, reps[b], leads[b], reps, leads)
		}
	}
	readBack()

	stdout, stderr, code = runCLI(t, "", "-b", addr, "--timeout", "60s", "cluster", "rebalance", "--remove-broker", "4", "--execute")
	if code != exitOK {
		t.Fatalf("remove: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// Every broker applies the last elections a moment after the one that
	// answered: look until they show (or 10 s pass).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		reps, leads = placed()
		if leads[1] == 2 && leads[2] == 2 && leads[3] == 2 || time.Now().After(deadline) {
			break
		}
	}
	for b := int32(1); b <= 3; b++ {
		if reps[b] != 4 || leads[b] != 2 {
			t.Errorf("after removing broker 4, broker %d has %d replicas and leads %d (want 4 and 2): %v %v\n%s", b, reps[b], leads[b], reps, leads, stdout)
		}
	}
	if reps[4] != 0 || leads[4] != 0 {
		t.Errorf("broker 4 still has %d replicas, leads %d\n%s\n%s", reps[4], leads[4], stdout, stderr)
	}
	c.Node(4).Stop()
	readBack()
}
