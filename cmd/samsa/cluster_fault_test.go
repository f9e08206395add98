package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/chaos"
)

// TestClusterFaults is the short form of the cluster fault campaign
// (docs/reliability.md has the long one): three `samsa serve` processes,
// RF 3 with min.insync.replicas 2, an idempotent acks=all franz-go producer
// and a consumer group running throughout, while a partition leader, the
// active controller and a follower are killed with SIGKILL, a leader is
// paused with SIGSTOP beyond the session timeout, and every node is killed
// at once and then shut down cleanly at once; a transactional producer
// (most transactions committed, some aborted) and a read_committed group
// run on a second topic, and the transaction coordinator is killed too. The
// history checker then compares what was acknowledged with what every
// partition holds, and what read_committed readers saw with how each
// transaction ended.
func TestClusterFaults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	camp := chaos.Campaign{
		Binary: binary, Dir: t.TempDir(), Nodes: 3, Partitions: 3, Seed: uint64(time.Now().UnixNano()),
		Faults: []chaos.Fault{chaos.KillLeader, chaos.KillController, chaos.KillFollower, chaos.PauseLeader, chaos.KillTxnCoordinator,
			chaos.KillAll, chaos.RestartAll},
		Transactions: true,
		Logger:       campaignLogger(),
	}
	res, err := camp.Run(ctx)
	if err != nil {
		t.Fatalf("campaign (seed %d): %v", camp.Seed, err)
	}
	t.Logf("seed %d: %d faults, %d attempts, %d acknowledged, %d consumed by the group, %d in the final read, longest stall %v",
		camp.Seed, res.Faults, res.Attempts, res.Acked, res.Consumed, res.FinalRead, res.MaxGap.Round(time.Millisecond))
	if !res.Report.Clean() {
		t.Errorf("anomalies (history %s):\n%s", res.HistoryPath, res.Report.Summary())
		data, _ := os.ReadFile(res.HistoryPath)
		os.WriteFile("/tmp/samsa-cluster-faults-history.jsonl", data, 0o644)
	}
	if res.Acked == 0 || int64(res.FinalRead) < res.Acked {
		t.Errorf("acknowledged %d, final read %d", res.Acked, res.FinalRead)
	}
	t.Logf("transactions: %d committed, %d aborted, %d unknown; read_committed group read %d",
		res.TxnCommitted, res.TxnAborted, res.TxnUnknown, res.TxnConsumed)
	if res.TxnCommitted == 0 || res.TxnAborted == 0 || res.TxnConsumed == 0 {
		t.Errorf("the transactional load did not run: %d committed, %d aborted, %d read", res.TxnCommitted, res.TxnAborted, res.TxnConsumed)
	}
}

// TestClusterIsolation cuts partition leaders off the network (each node
// runs in a network namespace the campaign makes; a leader's link on the
// bridge goes down for twice the session timeout, so its connections go
// silent without being closed), twice, and once from one follower only (a
// partial partition), under the same load, and checks the history. It needs root and iproute2, as the machine this suite runs
// on has; without them it fails rather than pass without testing.
func TestClusterIsolation(t *testing.T) {
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("iproute2's ip is needed to make network namespaces")
	}
	out, err := exec.Command(binary, "chaos", "--netns", "--faults", "isolate-leader,kill-leader,partition-leader,isolate-leader", "--dir", t.TempDir()).CombinedOutput()
	t.Logf("%s", lastLines(string(out), 8))
	if err != nil {
		t.Fatalf("samsa chaos --netns: %v", err)
	}
	if !strings.Contains(string(out), "no anomalies") {
		t.Fatal("the campaign did not report a clean history")
	}
}

// campaignLogger logs a campaign's warnings, and its progress too with
// SAMSA_TEST_LOG set.
func campaignLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("SAMSA_TEST_LOG") != "" {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
