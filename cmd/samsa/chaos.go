package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/samsa-streaming/samsa/internal/chaos"
)

func newChaosCmd() *cobra.Command {
	var (
		dir        string
		faults     string
		rounds     int
		nodes      int
		partitions int
		rate       int
		clients    []string
		seed       uint64
		extra      []string
		netns      bool
		inNetns    string
		kafkaLib   string
		txns       bool
	)
	cmd := &cobra.Command{
		Use:   "chaos",
		Short: "Run a fault campaign on a local cluster of this binary and check that nothing acknowledged is lost",
		Long: `Start a local cluster of samsa serve processes (this binary), produce with an
idempotent acks=all client and consume with a consumer group throughout, and
inject faults: kill -9 of a partition leader, of the active controller, of a
follower; SIGSTOP of a leader beyond the session timeout; kill -9 of every
node; a clean restart of every node; with --transactions, kill -9 of the
transaction coordinator; with --netns, a leader cut off the
network (isolate-leader) or from one follower only (partition-leader); a
power cut of a partition leader (power-cut-leader) or of every node at once
(power-cut-all): kill -9, and whatever the node wrote and did not fsync is
lost, its data directory being on a lazyfs mount (FUSE: /dev/fuse and
root). Then read every partition back and check
the history (docs/history-checker.md): acknowledged records lost, duplicates,
order. Exit status 1 if any anomaly is found. The history file stays in
--dir for samsa verify.`,
		Example: `  samsa chaos --rounds 20
  samsa chaos --faults kill-leader,kill-controller --rounds 50 --dir /tmp/chaos
  sudo samsa chaos --netns --faults isolate-leader,partition-leader --rounds 5
  sudo samsa chaos --faults power-cut-leader,power-cut-all --override log.flush.mode=group-commit`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			if netns && inNetns == "" {
				// Make the namespaces, then run this campaign again inside
				// the hub, where its clients can reach the nodes.
				prefix := fmt.Sprintf("samsa%d", os.Getpid())
				net, err := chaos.SetupNet(prefix, nodes)
				if err != nil {
					return fmt.Errorf("network namespaces: %w", err)
				}
				defer net.Teardown()
				args := append([]string{"netns", "exec", net.Hub(), self}, os.Args[1:]...)
				args = append(args, "--in-netns", prefix)
				child := exec.Command("ip", args...)
				child.Stdout, child.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
				if err := child.Run(); err != nil {
					return fmt.Errorf("campaign in the namespaces: %w", err)
				}
				return nil
			}
			var plan []chaos.Fault
			for r := 0; r < rounds; r++ {
				for _, f := range strings.Split(faults, ",") {
					plan = append(plan, chaos.Fault(strings.TrimSpace(f)))
				}
			}
			if dir == "" {
				if dir, err = os.MkdirTemp("", "samsa-chaos-"); err != nil {
					return err
				}
			}
			if seed == 0 {
				seed = uint64(time.Now().UnixNano())
			}
			var net *chaos.Net
			if inNetns != "" {
				net = &chaos.Net{Prefix: inNetns, Nodes: nodes}
			}
			var kafka *chaos.Kafka
			if kafkaLib != "" {
				kafka = &chaos.Kafka{Lib: kafkaLib}
			}
			camp := chaos.Campaign{Binary: self, Dir: dir, Nodes: nodes, Partitions: partitions, Rate: rate, Clients: clients, Faults: plan, Seed: seed, Extra: extra, Net: net, Kafka: kafka, Transactions: txns,
				Logger: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))}
			start := time.Now()
			res, err := camp.Run(context.Background())
			if err != nil {
				return fmt.Errorf("campaign (seed %d): %w", seed, err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "seed %d, %v: %d faults, %d produce attempts, %d acknowledged, %d consumed by the group, %d in the final read, longest stretch without an acknowledgement %v\n",
				seed, time.Since(start).Round(time.Second), res.Faults, res.Attempts, res.Acked, res.Consumed, res.FinalRead, res.MaxGap.Round(time.Millisecond))
			if txns {
				fmt.Fprintf(out, "transactions: %d committed, %d aborted, %d of unknown end; %d records read by the read_committed group, %d in the final read\n",
					res.TxnCommitted, res.TxnAborted, res.TxnUnknown, res.TxnConsumed, res.TxnFinalRead)
			}
			if len(clients) > 0 {
				fmt.Fprintf(out, "%d events in the histories of the %d --client programs (produce attempts, records consumed), checked with the rest\n", res.ClientRecords, len(clients))
			}
			for f, ds := range res.Failover {
				slices.Sort(ds)
				q := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
				fmt.Fprintf(out, "failover after %s (fault to first acknowledgement of a record sent after it, slowest partition): n=%d p50=%v p99=%v max=%v\n",
					f, len(ds), q(0.5).Round(time.Millisecond), q(0.99).Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
			}
			fmt.Fprintf(out, "history: %s\n%s\n", res.HistoryPath, res.Report.Summary())
			if !res.Report.Clean() {
				return fmt.Errorf("%d anomalies", res.Report.Total())
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "directory for the nodes' data, logs and the history (default: a new temporary one)")
	f.StringVar(&faults, "faults", "kill-leader,kill-controller,kill-follower,pause-leader,kill-all,restart-all", "faults of one round, in order")
	f.IntVar(&rounds, "rounds", 1, "how many times the faults are repeated")
	f.IntVar(&nodes, "nodes", 3, "cluster size")
	f.IntVar(&partitions, "partitions", 3, "partitions of the test topic (replication factor 3, min.insync.replicas 2)")
	f.StringArrayVar(&clients, "client", nil, "a producer or consumer of another client library to run throughout (repeatable): a shell command run as `CMD BOOTSTRAP TOPIC HISTORY STOP-FILE` that writes a history of its produce attempts or of the records it consumed until STOP-FILE exists (compat/java's samsa.compat.HistoryProducer and HistoryConsumer, compat/python/history_producer.py and history_consumer.py)")
	f.IntVar(&rate, "rate", 0, "records a second the producer sends at most (0: as fast as it can); bounds the history of a long campaign")
	f.Uint64Var(&seed, "seed", 0, "seed for choosing victims (default: from the clock)")
	f.StringArrayVar(&extra, "override", nil, "set a property on every node, key=value (repeatable)")
	f.BoolVar(&netns, "netns", false, "run each node in a network namespace of its own (root, iproute2), which the isolate-leader and partition-leader faults need")
	f.StringVar(&inNetns, "in-netns", "", "internal: the namespaces made by --netns")
	f.StringVar(&kafkaLib, "kafka-lib", "", "run the same campaign against Apache Kafka nodes (KRaft, its default settings) from this directory of Kafka's jars, e.g. ~/.cache/samsa-bench/kafka-4.3.1/lib from bench/run.sh")
	f.BoolVar(&txns, "transactions", false, "also run a transactional producer (commits most transactions, aborts some) and a read_committed consumer group on a second topic, checked with the rest; allows the kill-txn-coordinator fault")
	f.MarkHidden("in-netns")
	return cmd
}
