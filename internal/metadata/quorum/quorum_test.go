package quorum

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// listFSM records applied entries in order.
type listFSM struct {
	mu    sync.Mutex
	items []string
}

func (f *listFSM) Apply(_ uint64, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items = append(f.items, string(data))
}

func (f *listFSM) Snapshot() ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return json.Marshal(f.items)
}

func (f *listFSM) Restore(_ uint64, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items = nil
	return json.Unmarshal(data, &f.items)
}

func (f *listFSM) get() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.items...)
}

func freePorts(t *testing.T, n int) []string {
	var out []string
	var lns []net.Listener
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

type testNode struct {
	q   *Quorum
	fsm *listFSM
	cfg Config
}

func startNode(t *testing.T, cfg Config) *testNode {
	t.Helper()
	n := &testNode{fsm: &listFSM{}, cfg: cfg}
	cfg.FSM = n.fsm
	q, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(); err != nil {
		t.Fatal(err)
	}
	n.q = q
	return n
}

func cluster(t *testing.T, snapshotEntries uint64) []*testNode {
	addrs := freePorts(t, 3)
	voters := map[uint64]string{1: addrs[0], 2: addrs[1], 3: addrs[2]}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var nodes []*testNode
	for i := uint64(1); i <= 3; i++ {
		nodes = append(nodes, startNode(t, Config{
			NodeID: i, ClusterID: "test-cluster", Voters: voters, Listen: voters[i], Dir: t.TempDir(),
			ElectionTimeout: 300 * time.Millisecond, SnapshotEntries: snapshotEntries, Logger: logger,
			LearnerExpiry: time.Second,
		}))
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			n.q.Close()
		}
	})
	return nodes
}

// propose retries through leader elections until the entry is taken.
func propose(t *testing.T, n *testNode, data string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := n.q.Propose(context.Background(), []byte(data))
		if err == nil {
			return
		}
		if !errors.Is(err, ErrNoLeader) || time.Now().After(deadline) {
			t.Fatalf("propose %q: %v", data, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitApplied(t *testing.T, n *testNode, want []string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := n.fsm.get()
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %d applied %v, want %v", n.cfg.NodeID, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func leaderOf(t *testing.T, nodes []*testNode, skip uint64) *testNode {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range nodes {
			if n.cfg.NodeID != skip && n.q.Basic().Leader == n.cfg.NodeID {
				return n
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no leader elected")
	return nil
}

func TestQuorumReplicatesFailsOverAndCatchesUp(t *testing.T) {
	nodes := cluster(t, 5) // small snapshot interval: snapshots are taken and sent
	leader := leaderOf(t, nodes, 0)
	var want []string
	for i := 0; i < 8; i++ {
		want = append(want, fmt.Sprintf("a%d", i))
		propose(t, nodes[i%3], want[i]) // followers forward to the leader
		for _, n := range nodes {
			waitApplied(t, n, want)
		}
	}

	// The leader goes away; the other two elect one and go on.
	leader.q.Close()
	next := leaderOf(t, nodes, leader.cfg.NodeID)
	for i := 0; i < 8; i++ {
		want = append(want, fmt.Sprintf("b%d", i))
		propose(t, next, want[len(want)-1])
	}
	for _, n := range nodes {
		if n != leader {
			waitApplied(t, n, want)
		}
	}

	// The old leader restarts from its disk and catches up (by snapshot,
	// since the others compacted their logs).
	restarted := startNode(t, leader.cfg)
	defer restarted.q.Close()
	waitApplied(t, restarted, want)
	st, err := next.q.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Leader != next.cfg.NodeID || len(st.Voters) != 3 || len(st.Progress) != 3 {
		t.Errorf("leader status %+v", st)
	}
}

func TestSingleVoterRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := Config{NodeID: 1, Dir: dir, SnapshotEntries: 3, Logger: logger}
	n := startNode(t, cfg)
	var want []string
	for i := 0; i < 7; i++ {
		want = append(want, fmt.Sprint(i))
		propose(t, n, want[i])
	}
	waitApplied(t, n, want)
	n.q.Close()

	// Open alone (before Start) must already hold everything committed.
	fsm := &listFSM{}
	cfg.FSM = fsm
	q, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := fsm.get(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after reopen %v, want %v", got, want)
	}
	q.Close()
}

// A node's stored membership wins over a changed voter list (only the
// quorum changes it), and a node of another cluster is refused by the
// others.
func TestVotersAndClusterChecks(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	n := startNode(t, Config{NodeID: 1, Dir: dir, Logger: logger})
	propose(t, n, "x")
	waitApplied(t, n, []string{"x"})
	n.q.Close()
	q, err := Open(Config{NodeID: 1, Dir: dir, Logger: logger, FSM: &listFSM{},
		Voters: map[uint64]string{1: "127.0.0.1:1", 2: "127.0.0.1:2", 3: "127.0.0.1:3"}})
	if err != nil {
		t.Fatalf("reopened with other voters: %v", err)
	}
	if v := q.Basic().Voters; fmt.Sprint(v) != "[1]" {
		t.Fatalf("reopened with other voters configured: voters %v, want the stored [1]", v)
	}
	q.Close()

	addrs := freePorts(t, 3)
	voters := map[uint64]string{1: addrs[0], 2: addrs[1], 3: addrs[2]}
	var nodes []*testNode
	for i := uint64(1); i <= 3; i++ {
		cluster := "a"
		if i == 3 {
			cluster = "b" // a node of another cluster with the same addresses
		}
		nodes = append(nodes, startNode(t, Config{NodeID: i, ClusterID: cluster, Voters: voters, Listen: voters[i],
			Dir: t.TempDir(), ElectionTimeout: 300 * time.Millisecond, Logger: logger}))
	}
	defer func() {
		for _, n := range nodes {
			n.q.Close()
		}
	}()
	leader := leaderOf(t, nodes[:2], 0)
	propose(t, leader, "y")
	waitApplied(t, nodes[0], []string{"y"})
	waitApplied(t, nodes[1], []string{"y"})
	time.Sleep(500 * time.Millisecond)
	if got := nodes[2].fsm.get(); len(got) != 0 {
		t.Fatalf("the other cluster's node applied %v", got)
	}
}

// A second process started with a node id already in use is refused by
// the others while the first one is alive, so it can neither vote nor be
// given entries.
func TestDuplicateNodeIDRefused(t *testing.T) {
	nodes := cluster(t, 0)
	leader := leaderOf(t, nodes, 0)
	propose(t, leader, "a")
	for _, n := range nodes {
		waitApplied(t, n, []string{"a"})
	}
	impostorCfg := nodes[1].cfg
	impostorCfg.Listen = freePorts(t, 1)[0]
	impostorCfg.Dir = t.TempDir()
	impostor := startNode(t, impostorCfg)
	defer impostor.q.Close()
	time.Sleep(time.Second) // its hellos arrive and are refused
	propose(t, leaderOf(t, nodes, 0), "b")
	for _, n := range nodes {
		waitApplied(t, n, []string{"a", "b"})
	}
	if got := impostor.fsm.get(); len(got) != 0 {
		t.Fatalf("the impostor with node id %d applied %v", impostorCfg.NodeID, got)
	}
	// The leader hears from every live voter, so it knows the real node
	// is alive and refuses the impostor. (A follower that has not heard
	// from node 2 lately cannot tell which process is the real one.)
	// If node 2 is the leader, both others hear from it and refuse.
	l := leaderOf(t, nodes, 0)
	for _, n := range nodes {
		judges := n == l || l.cfg.NodeID == impostorCfg.NodeID
		if judges && n.cfg.NodeID != impostorCfg.NodeID && n.q.tr.duplicates.Load() == 0 {
			t.Fatalf("node %d (leader %d) did not refuse the impostor", n.cfg.NodeID, l.cfg.NodeID)
		}
	}
}

// A broker-only node (a learner) joins a running quorum by connecting to
// it: the leader admits it, it catches up (by snapshot: the voters
// compacted their log), applies every later entry, and its proposals are
// forwarded and committed. It never votes: the quorum's majority is still
// two of the three voters. Restarted, it keeps its membership and catches
// up again. A learner of another cluster, or with a voter's node id, is
// refused.
func TestLearnerJoinsAndFollows(t *testing.T) {
	nodes := cluster(t, 4)
	leader := leaderOf(t, nodes, 0)
	var want []string
	for i := 0; i < 10; i++ {
		want = append(want, fmt.Sprintf("a%d", i))
		propose(t, leader, want[i])
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	voters := nodes[0].cfg.Voters
	lcfg := Config{NodeID: 4, ClusterID: "test-cluster", Voters: voters, Learner: true, Dir: t.TempDir(),
		ElectionTimeout: 300 * time.Millisecond, Logger: logger}
	learner := startNode(t, lcfg)
	waitApplied(t, learner, want)

	want = append(want, "from-learner")
	propose(t, learner, "from-learner")
	for _, n := range append(nodes, learner) {
		waitApplied(t, n, want)
	}
	st, err := leaderOf(t, nodes, 0).q.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(st.Voters) != "[1 2 3]" || fmt.Sprint(st.Learners) != "[4]" {
		t.Fatalf("voters %v learners %v, want [1 2 3] and [4]", st.Voters, st.Learners)
	}

	// Gone for longer than LearnerExpiry, it leaves the membership.
	learner.q.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := leaderOf(t, nodes, 0).q.Status(context.Background())
		if err == nil && len(st.Learners) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("learners %v after the learner left, want none", st.Learners)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Restarted from its disk (the voters given by address only, as
	// controller.quorum.bootstrap.servers does), it is admitted again and
	// catches up.
	want = append(want, "b")
	propose(t, leaderOf(t, nodes, 0), "b")
	lcfg.Voters = nil
	for _, a := range voters {
		lcfg.Bootstrap = append(lcfg.Bootstrap, a)
	}
	learner = startNode(t, lcfg)
	defer learner.q.Close()
	waitApplied(t, learner, want)

	// Wrong cluster id, or a voter's id: refused, nothing applied.
	for _, bad := range []Config{
		{NodeID: 5, ClusterID: "other", Voters: voters, Learner: true, Dir: t.TempDir(), Logger: logger},
		{NodeID: 6, ClusterID: "test-cluster", Bootstrap: []string{voters[1]}, Learner: true, Dir: t.TempDir(), Logger: logger},
	} {
		if bad.NodeID == 6 {
			bad.NodeID = 2 // a voter's id
		}
		n := startNode(t, bad)
		time.Sleep(time.Second)
		if got := n.fsm.get(); len(got) != 0 {
			t.Errorf("learner %d of cluster %s applied %v", bad.NodeID, bad.ClusterID, got)
		}
		n.q.Close()
	}
	st, _ = leaderOf(t, nodes, 0).q.Status(context.Background())
	if fmt.Sprint(st.Learners) != "[4]" {
		t.Fatalf("learners %v after refused joins, want [4]", st.Learners)
	}
}

// A controller joins as a learner with a listener of its own, is made a
// voter (AddRaftVoter's change), counts for the majority, stays a voter
// across a restart, and is removed again (RemoveRaftVoter's): it then
// follows the quorum as a learner.
func TestVoterAddedAndRemoved(t *testing.T) {
	addrs := freePorts(t, 4)
	all := map[uint64]string{1: addrs[0], 2: addrs[1], 3: addrs[2], 4: addrs[3]}
	voters := map[uint64]string{1: addrs[0], 2: addrs[1], 3: addrs[2]}
	resolve := func(id uint64) string { return all[id] } // the metadata's registrations
	logger := testLogger()
	var nodes []*testNode
	for i := uint64(1); i <= 3; i++ {
		nodes = append(nodes, startNode(t, Config{NodeID: i, ClusterID: "c", Voters: voters, Listen: voters[i], Dir: t.TempDir(),
			ElectionTimeout: 300 * time.Millisecond, Logger: logger, Resolve: resolve, LearnerExpiry: time.Minute}))
	}
	cfg4 := Config{NodeID: 4, ClusterID: "c", Voters: voters, Listen: all[4], Learner: true, Dir: t.TempDir(),
		ElectionTimeout: 300 * time.Millisecond, Logger: logger, Resolve: resolve}
	n4 := startNode(t, cfg4)
	defer func() {
		for _, n := range append(nodes, n4) {
			n.q.Close()
		}
	}()
	propose(t, leaderOf(t, nodes, 0), "a")
	for _, n := range append(nodes, n4) {
		waitApplied(t, n, []string{"a"})
	}
	votersOf := func(n *testNode) string { return fmt.Sprint(n.q.Basic().Voters) }
	waitVoters := func(want string, ns ...*testNode) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for _, n := range ns {
			for votersOf(n) != want {
				if time.Now().After(deadline) {
					t.Fatalf("node %d has voters %s, want %s", n.cfg.NodeID, votersOf(n), want)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	if err := n4.q.ChangeVoter(context.Background(), 4, true); err != nil {
		t.Fatal(err) // proposed by the learner itself, forwarded to the leader
	}
	waitVoters("[1 2 3 4]", append(nodes, n4)...)
	// Node 1 goes: 2, 3 and 4 are a majority of four only with 4 voting.
	nodes[0].q.Close()
	want := []string{"a", "b"}
	propose(t, leaderOf(t, append(nodes[1:], n4), 1), "b") // a proposal forwarded to a dying leader may be lost
	for _, n := range append(nodes[1:], n4) {
		waitApplied(t, n, want)
	}
	st, err := leaderOf(t, append(nodes[1:], n4), 0).q.Status(context.Background())
	if err != nil || fmt.Sprint(st.Voters) != "[1 2 3 4]" {
		t.Fatalf("status %+v %v", st, err)
	}
	// A restart keeps it a voter, whatever its configuration says.
	n4.q.Close()
	n4 = startNode(t, cfg4)
	waitVoters("[1 2 3 4]", n4)
	if n4.q.tr.isLearner() {
		t.Fatal("a voter restarted as a learner")
	}
	want = append(want, "c")
	propose(t, leaderOf(t, append(nodes[1:], n4), 1), "c")
	waitApplied(t, n4, want)
	// Removed, it follows as a learner (the leader admits it again).
	leader := leaderOf(t, append(nodes[1:], n4), 1)
	if err := leader.q.ChangeVoter(context.Background(), 4, false); err != nil {
		t.Fatal(err)
	}
	waitVoters("[1 2 3]", nodes[1], nodes[2], n4)
	want = append(want, "d")
	propose(t, leaderOf(t, nodes[1:3], 0), "d") // through the new leader: node 4 stepped down
	waitApplied(t, n4, want)
	if !n4.q.tr.isLearner() {
		t.Fatal("a removed voter still dials the voters")
	}
}

// testLogger discards, or with SAMSA_TEST_LOG set writes to stderr.
func testLogger() *slog.Logger {
	if os.Getenv("SAMSA_TEST_LOG") != "" {
		lv := slog.LevelInfo
		if os.Getenv("SAMSA_TEST_LOG") == "debug" {
			lv = slog.LevelDebug
		}
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
