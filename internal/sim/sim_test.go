package sim

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"
	"testing/cryptotest"
)

var (
	seedFlag  = flag.Uint64("seed", 0, "run only this seed (replays a failure exactly)")
	seedsFlag = flag.Int("seeds", 200, "how many seeds to run, from -first")
	firstFlag = flag.Uint64("first", 1, "the first seed of a run of -seeds")
	stepsFlag = flag.Int("steps", 2000, "events in each run's fault phase")
	nodesFlag = flag.Int("nodes", 3, "controller+broker nodes")
	verbose   = flag.Bool("simlog", false, "print the production code's logs (with -seed)")
	traceFlag = flag.Int("events", 64, "how many of the last events to print on a violation")
	replFlag  = flag.Bool("replication", false, "TestSim: the nodes also host and replicate partitions (as TestSimReplication does)")
	rseeds    = flag.Int("rseeds", 40, "how many seeds TestSimReplication runs, from -first")
)

// runSeed runs one seed with crypto/rand made deterministic from it: the
// Raft library draws its election jitter from crypto/rand, and the
// controller its topic ids and replica placement.
func runSeed(t *testing.T, seed uint64, cfg Config) Result {
	cryptotest.SetGlobalRandom(t, seed)
	cfg.Seed = seed
	return Run(cfg)
}

// TestSim runs the simulation over a budget of seeds (or the one -seed)
// and fails with the seed and the trace of the first violation.
func TestSim(t *testing.T) { simSeeds(t, *seedsFlag, *replFlag) }

// TestSimReplication is TestSim with partition replication: the nodes
// host their replicas in real log directories and producers write with
// acks=all; every acknowledged record must be found at the end.
func TestSimReplication(t *testing.T) { simSeeds(t, *rseeds, true) }

// TestSimFiveNodes is TestSim with five voters (a quorum of three).
func TestSimFiveNodes(t *testing.T) { simNodes(t, 40, 5, false) }

func simSeeds(t *testing.T, count int, replication bool) { simNodes(t, count, *nodesFlag, replication) }

func simNodes(t *testing.T, count, nodes int, replication bool) {
	cfg := Config{Steps: *stepsFlag, Nodes: nodes, TraceLines: *traceFlag}
	seeds := make([]uint64, 0, count)
	if *seedFlag != 0 {
		seeds = append(seeds, *seedFlag)
		if *verbose {
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	} else {
		for i := 0; i < count; i++ {
			seeds = append(seeds, *firstFlag+uint64(i))
		}
	}
	var steps, states int
	var committed uint64
	var failed []uint64
	faults, ops := map[string]int{}, map[string]int{}
	acked, commits, txnDecisions := 0, 0, 0
	for _, seed := range seeds {
		if replication {
			cfg.Dir = t.TempDir()
		}
		r := runSeed(t, seed, cfg)
		acked += r.AckedChecked
		commits += r.CommitsChecked
		txnDecisions += r.TxnDecisions
		steps += r.Steps
		states += r.States
		committed += r.Committed
		for k, v := range r.Faults {
			faults[k] += v
		}
		for k, v := range r.Ops {
			ops[k] += v
		}
		if r.Violation != nil {
			failed = append(failed, seed)
			if len(failed) <= 3 {
				t.Errorf("seed %d: %v\nreplay: go test ./internal/sim -run '%s$' -seed %d\nlast events:\n%s",
					seed, r.Violation, t.Name(), seed, strings.Join(r.Trace, "\n"))
			}
		}
	}
	if len(failed) > 0 {
		t.Errorf("%d of %d seeds failed: %v", len(failed), len(seeds), failed)
	}
	t.Logf("seeds %d, steps %d, distinct states %d, entries committed %d, acknowledged records checked %d, coordinator reads checked %d, transaction decisions checked %d",
		len(seeds), steps, states, committed, acked, commits, txnDecisions)
	t.Logf("faults: %s", counts(faults))
	t.Logf("operations: %s", counts(ops))
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// Seeds that found bugs in the production code when they were found (the
// runs they make change as the code does; the unit tests named with each
// hold the bug itself).
func TestSimRegressions(t *testing.T) {
	for _, tc := range []struct {
		seed        uint64
		replication bool
		found       string
	}{
		{1, false, "a crash between a received snapshot and its hard state left a node that could not start (quorum.TestOpenAfterCrashBetweenSnapshotAndHardState)"},
		{3, false, "a power cut lost a new raft.log whose directory was never synced, and with it committed entries"},
		{7, false, "a fence planned before a topic was created left the fenced broker leading it (metadata.TestFencePassingAPlanConflicts)"},
		{12715, false, "a reassignment replacing a running one kept a non-replica in the ISR (metadata.TestReassignReplacingARunningOne)"},
		{23, true, "a restarted leader showed its log end as the high watermark (partition.TestRestartedLeaderHighWatermark)"},
		{1025, true, "a follower level with a lagging high watermark joined the ISR without the committed records (partition.TestISRExpansionNeedsTheEpochStart)"},
		{1146, true, "a leader acknowledged records without the follower it had asked into the ISR, which the controller then elected (partition.TestPendingISRExpansionCounts)"},
		{8565, true, "a leader that had not appended in its epoch answered OffsetForLeaderEpoch with undefined and its in-sync follower cut its log to nothing; elected next, it had lost an acknowledged offset commit (partition.TestNewLeaderAssignsItsEpoch)"},
		{8697, true, "the checker: a transaction the coordinator took from an AddPartitionsToTxn whose answer its producer gave up on was counted as the one before"},
		{20841, true, "a follower that had led an epoch the new leader never saw cut its log at the leader's end of their shared epoch, keeping records below the leader's own at the same offsets (partition.TestTruncationTakesTheEarlierEpochEnd)"},
		{21014, true, "the same, on another partition"},
		{8515, true, "a restarted leader counted the ISR of the image it had stopped with, older than the cluster's, and moved its high watermark past a record a member of the real ISR never had (the replicas follow the metadata only once the node has caught up)"},
	} {
		cfg := Config{}
		if tc.replication {
			cfg.Dir = t.TempDir()
		}
		if r := runSeed(t, tc.seed, cfg); r.Violation != nil {
			t.Errorf("seed %d (found: %s): %v\n%s", tc.seed, tc.found, r.Violation, strings.Join(r.Trace, "\n"))
		}
	}
}
