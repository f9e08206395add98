package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
)

// samsa txn mirrors kafka-transactions.sh: list, describe,
// describe-producers, find-hanging and abort.

func newTxnCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "txn",
		Aliases: []string{"transactions"},
		Short:   "List and describe transactions; find and abort hanging ones",
		Long: `txn inspects transactions the way kafka-transactions.sh does. A transaction
is "hanging" when a partition holds its open data but its coordinator no
longer has it open there (a producer that wrote after its transaction was
aborted, before transactions V2 closed that gap): read_committed consumers
of that partition stop at its first offset until it is aborted with
'samsa txn abort'.`,
		RunE: groupRunE,
	}
	cmd.AddCommand(newTxnListCmd(g), newTxnDescribeCmd(g), newTxnDescribeProducersCmd(g),
		newTxnFindHangingCmd(g), newTxnAbortCmd(g))
	return cmd
}

type txnSummary struct {
	TransactionalID string `json:"transactional_id"`
	Coordinator     int32  `json:"coordinator"`
	ProducerID      int64  `json:"producer_id"`
	State           string `json:"state"`
}

func newTxnListCmd(g *globals) *cobra.Command {
	var states []string
	var pids []int64
	var pattern string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List transactional ids with their coordinator, producer id and state",
		Example: "  samsa txn list\n  samsa txn list --state Ongoing",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				listed, err := adm.ListTransactionsByTxPattern(ctx, pids, states, pattern)
				if err != nil {
					return err
				}
				out := []txnSummary{}
				for _, l := range listed.Sorted() {
					out = append(out, txnSummary{l.TxnID, l.Coordinator, l.ProducerID, l.State})
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), out)
				}
				t := newTable(cmd.OutOrStdout(), "TRANSACTIONAL-ID", "COORDINATOR", "PRODUCER-ID", "STATE")
				for _, s := range out {
					t.row(s.TransactionalID, fmt.Sprint(s.Coordinator), fmt.Sprint(s.ProducerID), s.State)
				}
				return t.flush()
			})
		},
	}
	cmd.Flags().StringArrayVar(&states, "state", nil, "only transactions in this state (Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort; repeatable)")
	cmd.Flags().Int64SliceVar(&pids, "producer-id", nil, "only these producer ids")
	cmd.Flags().StringVar(&pattern, "transactional-id-pattern", "", "only transactional ids matching this regular expression")
	return cmd
}

type txnDescription struct {
	TransactionalID string   `json:"transactional_id"`
	Coordinator     int32    `json:"coordinator"`
	ProducerID      int64    `json:"producer_id"`
	ProducerEpoch   int16    `json:"producer_epoch"`
	State           string   `json:"state"`
	TimeoutMs       int32    `json:"transaction_timeout_ms"`
	StartTime       string   `json:"current_transaction_start_time,omitempty"`
	DurationMs      int64    `json:"transaction_duration_ms,omitempty"`
	Partitions      []string `json:"topic_partitions"`
}

func newTxnDescribeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "describe TRANSACTIONAL-ID...",
		Short:   "Show a transaction's producer, state, timeout, start and partitions",
		Example: "  samsa txn describe my-app-0",
		Args:    minArgs(1, "at least one transactional id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				ds, err := adm.DescribeTransactions(ctx, args...)
				if err != nil && len(ds) == 0 {
					return err
				}
				var out []txnDescription
				for _, id := range args {
					d, ok := ds[id]
					if !ok {
						return fmt.Errorf("transactional id %q: no answer", id)
					}
					if d.Err != nil {
						return fmt.Errorf("transactional id %q: %w", id, d.Err)
					}
					td := txnDescription{TransactionalID: id, Coordinator: d.Coordinator, ProducerID: d.ProducerID,
						ProducerEpoch: d.ProducerEpoch, State: d.State, TimeoutMs: d.TimeoutMillis, Partitions: []string{}}
					if d.StartTimestamp > 0 {
						start := time.UnixMilli(d.StartTimestamp)
						td.StartTime = start.UTC().Format(time.RFC3339Nano)
						td.DurationMs = time.Since(start).Milliseconds()
					}
					d.Topics.Each(func(t string, p int32) { td.Partitions = append(td.Partitions, fmt.Sprintf("%s-%d", t, p)) })
					sort.Strings(td.Partitions)
					out = append(out, td)
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), out)
				}
				t := newTable(cmd.OutOrStdout(), "TRANSACTIONAL-ID", "COORDINATOR", "PRODUCER-ID", "EPOCH", "STATE", "TIMEOUT-MS", "START", "DURATION-MS", "PARTITIONS")
				for _, d := range out {
					start, dur := "None", "None"
					if d.StartTime != "" {
						start, dur = d.StartTime, fmt.Sprint(d.DurationMs)
					}
					t.row(d.TransactionalID, fmt.Sprint(d.Coordinator), fmt.Sprint(d.ProducerID), fmt.Sprint(d.ProducerEpoch),
						d.State, fmt.Sprint(d.TimeoutMs), start, dur, strings.Join(d.Partitions, ","))
				}
				return t.flush()
			})
		},
	}
}

type producerState struct {
	Topic                 string `json:"topic"`
	Partition             int32  `json:"partition"`
	ProducerID            int64  `json:"producer_id"`
	ProducerEpoch         int16  `json:"producer_epoch"`
	LastSequence          int32  `json:"last_sequence"`
	LastTimestamp         int64  `json:"last_timestamp"`
	CoordinatorEpoch      int32  `json:"coordinator_epoch"`
	CurrentTxnStartOffset int64  `json:"current_transaction_start_offset"`
}

// describeProducers returns the active producers of topic (every
// partition when partition < 0; every topic when topic is empty).
func describeProducers(ctx context.Context, adm *kadm.Client, topic string, partition int32) ([]producerState, error) {
	set := kadm.TopicsSet{}
	if topic != "" {
		if partition >= 0 {
			set.Add(topic, partition)
		} else {
			td, err := adm.ListTopics(ctx, topic)
			if err != nil {
				return nil, err
			}
			t, ok := td[topic]
			if !ok || t.Err != nil {
				return nil, fmt.Errorf("topic %q does not exist", topic)
			}
			for _, p := range t.Partitions.Numbers() {
				set.Add(topic, p)
			}
		}
	}
	ds, err := adm.DescribeProducers(ctx, set)
	if err != nil && len(ds) == 0 {
		return nil, err
	}
	out := []producerState{}
	var perr error
	ds.EachPartition(func(p kadm.DescribedProducersPartition) {
		if p.Err != nil && perr == nil {
			perr = fmt.Errorf("%s-%d: %w", p.Topic, p.Partition, p.Err)
		}
	})
	if perr != nil {
		return nil, perr
	}
	for _, p := range ds.SortedProducers() {
		out = append(out, producerState{p.Topic, p.Partition, p.ProducerID, p.ProducerEpoch, p.LastSequence,
			p.LastTimestamp, p.CoordinatorEpoch, p.CurrentTxnStartOffset})
	}
	return out, nil
}

func newTxnDescribeProducersCmd(g *globals) *cobra.Command {
	var topic string
	var partition int32
	cmd := &cobra.Command{
		Use:     "describe-producers",
		Short:   "Show the active producers of a partition, with their open transaction's start offset",
		Example: "  samsa txn describe-producers --topic orders --partition 0",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if topic == "" {
				return errors.New("--topic is required")
			}
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				ps, err := describeProducers(ctx, adm, topic, partition)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), ps)
				}
				t := newTable(cmd.OutOrStdout(), "TOPIC", "PARTITION", "PRODUCER-ID", "EPOCH", "LAST-SEQUENCE", "LAST-TIMESTAMP", "COORDINATOR-EPOCH", "TXN-START-OFFSET")
				for _, p := range ps {
					start := "None"
					if p.CurrentTxnStartOffset >= 0 {
						start = fmt.Sprint(p.CurrentTxnStartOffset)
					}
					t.row(p.Topic, fmt.Sprint(p.Partition), fmt.Sprint(p.ProducerID), fmt.Sprint(p.ProducerEpoch), fmt.Sprint(p.LastSequence),
						time.UnixMilli(p.LastTimestamp).UTC().Format(time.RFC3339), fmt.Sprint(p.CoordinatorEpoch), start)
				}
				return t.flush()
			})
		},
	}
	cmd.Flags().StringVar(&topic, "topic", "", "topic (required)")
	cmd.Flags().Int32Var(&partition, "partition", -1, "partition (default: every partition)")
	return cmd
}

type hangingTxn struct {
	Topic            string `json:"topic"`
	Partition        int32  `json:"partition"`
	ProducerID       int64  `json:"producer_id"`
	ProducerEpoch    int16  `json:"producer_epoch"`
	CoordinatorEpoch int32  `json:"coordinator_epoch"`
	StartOffset      int64  `json:"start_offset"`
	LastTimestamp    int64  `json:"last_timestamp"`
	TransactionalID  string `json:"transactional_id,omitempty"`
	Reason           string `json:"reason"`
}

// findHanging returns the open transactions of partitions (of topic, or
// all) that the coordinators do not know as open there and that are
// older than maxTimeout, Kafka's find-hanging rule.
func findHanging(ctx context.Context, adm *kadm.Client, topic string, maxTimeout time.Duration) ([]hangingTxn, error) {
	ps, err := describeProducers(ctx, adm, topic, -1)
	if err != nil {
		return nil, err
	}
	var open []producerState
	pidSet := map[int64]bool{}
	for _, p := range ps {
		if p.CurrentTxnStartOffset >= 0 && time.Since(time.UnixMilli(p.LastTimestamp)) > maxTimeout {
			open = append(open, p)
			pidSet[p.ProducerID] = true
		}
	}
	out := []hangingTxn{}
	if len(open) == 0 {
		return out, nil
	}
	var pids []int64
	for pid := range pidSet {
		pids = append(pids, pid)
	}
	listed, err := adm.ListTransactions(ctx, pids, nil)
	if err != nil && len(listed) == 0 {
		return nil, err
	}
	idOf := map[int64]string{}
	var ids []string
	for _, l := range listed.Sorted() {
		idOf[l.ProducerID] = l.TxnID
		ids = append(ids, l.TxnID)
	}
	var described kadm.DescribedTransactions
	if len(ids) > 0 {
		if described, err = adm.DescribeTransactions(ctx, ids...); err != nil && len(described) == 0 {
			return nil, err
		}
	}
	for _, p := range open {
		h := hangingTxn{Topic: p.Topic, Partition: p.Partition, ProducerID: p.ProducerID, ProducerEpoch: p.ProducerEpoch,
			CoordinatorEpoch: p.CoordinatorEpoch, StartOffset: p.CurrentTxnStartOffset, LastTimestamp: p.LastTimestamp}
		id, ok := idOf[p.ProducerID]
		if !ok {
			h.Reason = "no coordinator knows the producer id"
			out = append(out, h)
			continue
		}
		h.TransactionalID = id
		d, ok := described[id]
		switch {
		case !ok || d.Err != nil:
			continue // cannot tell: not reported
		case d.State != "Ongoing":
			h.Reason = "the transaction is " + d.State + " at its coordinator"
		case d.ProducerEpoch != p.ProducerEpoch && d.ProducerEpoch != p.ProducerEpoch+1:
			h.Reason = fmt.Sprintf("the coordinator's producer epoch is %d", d.ProducerEpoch)
		case !d.Topics.Lookup(p.Topic, p.Partition):
			h.Reason = "the coordinator's transaction does not include the partition"
		default:
			continue // open at its coordinator: not hanging
		}
		out = append(out, h)
	}
	return out, nil
}

func newTxnFindHangingCmd(g *globals) *cobra.Command {
	var topic string
	var maxTimeout time.Duration
	cmd := &cobra.Command{
		Use:     "find-hanging",
		Short:   "Find open transactions no coordinator will ever end",
		Example: "  samsa txn find-hanging\n  samsa txn find-hanging --topic orders --max-transaction-timeout 5m",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				hs, err := findHanging(ctx, adm, topic, maxTimeout)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), hs)
				}
				t := newTable(cmd.OutOrStdout(), "TOPIC", "PARTITION", "PRODUCER-ID", "EPOCH", "COORDINATOR-EPOCH", "START-OFFSET", "TRANSACTIONAL-ID", "REASON")
				for _, h := range hs {
					t.row(h.Topic, fmt.Sprint(h.Partition), fmt.Sprint(h.ProducerID), fmt.Sprint(h.ProducerEpoch), fmt.Sprint(h.CoordinatorEpoch),
						fmt.Sprint(h.StartOffset), h.TransactionalID, h.Reason)
				}
				return t.flush()
			})
		},
	}
	cmd.Flags().StringVar(&topic, "topic", "", "only this topic (default: every topic)")
	cmd.Flags().DurationVar(&maxTimeout, "max-transaction-timeout", 15*time.Minute, "transactions open for less than this are not reported (the brokers' transaction.max.timeout.ms)")
	return cmd
}

func newTxnAbortCmd(g *globals) *cobra.Command {
	var topic string
	var partition int32
	var startOffset, pid int64
	var epoch int16
	var coordEpoch int32
	cmd := &cobra.Command{
		Use:   "abort",
		Short: "Abort an open transaction in one partition by writing an ABORT marker",
		Long: `abort writes an ABORT marker for a producer's open transaction in one
partition, as kafka-transactions.sh abort does. Name the transaction by its
start offset (see describe-producers or find-hanging), or give the producer
id, epoch and coordinator epoch yourself.`,
		Example: `  samsa txn abort --topic orders --partition 0 --start-offset 1234
  samsa txn abort --topic orders --partition 0 --producer-id 2001 --producer-epoch 3 --coordinator-epoch 0`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if topic == "" || partition < 0 {
				return errors.New("--topic and --partition are required")
			}
			if (startOffset < 0) == (pid < 0) {
				return errors.New("give either --start-offset or --producer-id (with --producer-epoch and --coordinator-epoch)")
			}
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				if startOffset >= 0 {
					ps, err := describeProducers(ctx, adm, topic, partition)
					if err != nil {
						return err
					}
					found := false
					for _, p := range ps {
						if p.CurrentTxnStartOffset == startOffset {
							pid, epoch, coordEpoch, found = p.ProducerID, p.ProducerEpoch, p.CoordinatorEpoch, true
						}
					}
					if !found {
						return fmt.Errorf("no open transaction starts at offset %d in %s-%d", startOffset, topic, partition)
					}
				}
				m := kadm.TxnMarkers{ProducerID: pid, ProducerEpoch: epoch, Commit: false, CoordinatorEpoch: coordEpoch, Topics: kadm.TopicsSet{}}
				m.Topics.Add(topic, partition)
				rs, err := adm.WriteTxnMarkers(ctx, m)
				if err != nil {
					return err
				}
				var perr error
				rs.EachPartition(func(p kadm.TxnMarkersPartitionResponse) {
					if p.Err != nil && perr == nil {
						perr = fmt.Errorf("%s-%d: %w", p.Topic, p.Partition, p.Err)
					}
				})
				if perr != nil {
					return perr
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Aborted the transaction of producer %d (epoch %d) in %s-%d\n", pid, epoch, topic, partition)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&topic, "topic", "", "topic (required)")
	cmd.Flags().Int32Var(&partition, "partition", -1, "partition (required)")
	cmd.Flags().Int64Var(&startOffset, "start-offset", -1, "first offset of the transaction to abort")
	cmd.Flags().Int64Var(&pid, "producer-id", -1, "producer id of the transaction")
	cmd.Flags().Int16Var(&epoch, "producer-epoch", 0, "producer epoch of the transaction")
	cmd.Flags().Int32Var(&coordEpoch, "coordinator-epoch", 0, "coordinator epoch of the transaction")
	return cmd
}
