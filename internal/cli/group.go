package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func newGroupCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "group",
		Short: "List, describe and delete consumer groups; reset and delete their offsets",
		Long: `group manages consumer groups the way kafka-consumer-groups.sh does:
describe shows, per partition, the committed offset, the log end offset and
the lag, with the member consuming it.`,
		RunE: groupRunE,
	}
	cmd.AddCommand(newGroupListCmd(g), newGroupDescribeCmd(g), newGroupDeleteCmd(g),
		newGroupResetOffsetsCmd(g), newGroupDeleteOffsetsCmd(g))
	return cmd
}

type groupSummary struct {
	Group        string `json:"group"`
	State        string `json:"state"`
	ProtocolType string `json:"protocol_type"`
}

func newGroupListCmd(g *globals) *cobra.Command {
	var states []string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List consumer groups",
		Example: "  samsa group list\n  samsa group list --state Stable --state Empty",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				listed, err := adm.ListGroups(ctx, states...)
				if err != nil {
					return err
				}
				var out []groupSummary
				for _, lg := range listed.Sorted() {
					out = append(out, groupSummary{Group: lg.Group, State: lg.State, ProtocolType: lg.ProtocolType})
				}
				if g.json {
					if out == nil {
						out = []groupSummary{}
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				t := newTable(cmd.OutOrStdout(), "GROUP", "STATE", "PROTOCOL-TYPE")
				for _, s := range out {
					t.row(s.Group, s.State, s.ProtocolType)
				}
				return t.flush()
			})
		},
	}
	cmd.Flags().StringArrayVar(&states, "state", nil, "only groups in this state (Empty, Stable, PreparingRebalance, CompletingRebalance, Dead; repeatable)")
	return cmd
}

type partitionLag struct {
	Topic         string `json:"topic"`
	Partition     int32  `json:"partition"`
	CurrentOffset *int64 `json:"current_offset"` // null: nothing committed
	LogEndOffset  int64  `json:"log_end_offset"`
	Lag           *int64 `json:"lag"`
	ConsumerID    string `json:"consumer_id,omitempty"`
	Host          string `json:"host,omitempty"`
	ClientID      string `json:"client_id,omitempty"`
	Error         string `json:"error,omitempty"`
	// With --watch: committed offsets and log end offsets per second since
	// the previous refresh.
	ConsumeRate *float64 `json:"consume_rate,omitempty"`
	ProduceRate *float64 `json:"produce_rate,omitempty"`
}

type groupMember struct {
	ConsumerID string   `json:"consumer_id"`
	InstanceID string   `json:"instance_id,omitempty"`
	Host       string   `json:"host"`
	ClientID   string   `json:"client_id"`
	Partitions []string `json:"partitions"`
}

type groupDescription struct {
	Group        string         `json:"group"`
	State        string         `json:"state"`
	ProtocolType string         `json:"protocol_type"`
	Protocol     string         `json:"protocol"`
	Coordinator  int32          `json:"coordinator"`
	TotalLag     int64          `json:"total_lag"`
	Members      []groupMember  `json:"members"`
	Offsets      []partitionLag `json:"offsets"`
	ConsumeRate  *float64       `json:"consume_rate,omitempty"` // with --watch
	ProduceRate  *float64       `json:"produce_rate,omitempty"`
}

func newGroupDescribeCmd(g *globals) *cobra.Command {
	var o describeOptions
	cmd := &cobra.Command{
		Use:   "describe GROUP... | --all",
		Short: "Show a group's members and, per partition, current offset, log end offset and lag",
		Long: `describe shows a group's members and, per partition, the committed offset, the
log end offset and the lag. With --watch it refreshes every --interval and
adds, per partition, the rate at which the group commits (RATE/S, its
consumption) and the rate at which the log grows (IN/S), until Ctrl-C.`,
		Example: `  samsa group describe my-app
  samsa group describe my-app --json | jq '.[0].total_lag'
  samsa group describe my-app --watch --interval 5s`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.all == (len(args) > 0) {
				return usageErrorf(cmd, "give group names or --all (Kafka's --all-groups), not both")
			}
			if o.interval <= 0 || o.iterations < 0 {
				return usageErrorf(cmd, "--interval must be positive and --iterations not negative")
			}
			if o.watch || o.iterations > 0 {
				return runGroupWatch(cmd, g, &o, args)
			}
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				descs, err := describeGroups(ctx, adm, args)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), descs)
				}
				return printGroupDescriptions(cmd.OutOrStdout(), descs, false)
			})
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.all, "all", false, "describe every group")
	f.BoolVar(&o.watch, "watch", false, "refresh every --interval with consumption rates, until Ctrl-C")
	f.DurationVar(&o.interval, "interval", 2*time.Second, "with --watch, time between refreshes")
	f.IntVar(&o.iterations, "iterations", 0, "with --watch, stop after this many refreshes (default: until Ctrl-C)")
	return cmd
}

type describeOptions struct {
	all        bool
	watch      bool
	interval   time.Duration
	iterations int
}

// describeGroups describes the named groups (every group when names is
// empty), classic and KIP-848 alike.
func describeGroups(ctx context.Context, adm *kadm.Client, names []string) ([]groupDescription, error) {
	if len(names) == 0 {
		listed, err := adm.ListGroups(ctx)
		if err != nil {
			return nil, err
		}
		names = listed.Groups()
		sort.Strings(names)
		if len(names) == 0 {
			return []groupDescription{}, nil
		}
	}
	lags, err := adm.Lag(ctx, names...)
	if err != nil {
		return nil, err
	}
	descs := []groupDescription{}
	for _, name := range names {
		l, ok := lags[name]
		if !ok {
			return nil, fmt.Errorf("group %q: the broker returned no description", name)
		}
		if l.State == "Dead" || errors.Is(l.DescribeErr, kerr.GroupIDNotFound) {
			// Not a classic group: a KIP-848 consumer group, or none.
			d, err := describeConsumerGroup(ctx, adm, name)
			if err != nil {
				return nil, err
			}
			descs = append(descs, d)
			continue
		}
		if err := l.Error(); err != nil {
			return nil, fmt.Errorf("group %q: %w", name, err)
		}
		descs = append(descs, describeLag(l))
	}
	return descs, nil
}

func describeLag(l kadm.DescribedGroupLag) groupDescription {
	d := groupDescription{Group: l.Group, State: l.State, ProtocolType: l.ProtocolType, Protocol: l.Protocol,
		Coordinator: l.Coordinator.NodeID, Members: []groupMember{}, Offsets: []partitionLag{}}
	for _, m := range l.Members {
		gm := groupMember{ConsumerID: m.MemberID, Host: strings.TrimPrefix(m.ClientHost, "/"), ClientID: m.ClientID, Partitions: []string{}}
		if m.InstanceID != nil {
			gm.InstanceID = *m.InstanceID
		}
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range a.Topics {
				for _, p := range t.Partitions {
					gm.Partitions = append(gm.Partitions, fmt.Sprintf("%s-%d", t.Topic, p))
				}
			}
		}
		d.Members = append(d.Members, gm)
	}
	for _, ml := range l.Lag.Sorted() {
		pl := partitionLag{Topic: ml.Topic, Partition: ml.Partition, LogEndOffset: ml.End.Offset}
		if ml.Commit.At >= 0 {
			at := ml.Commit.At
			pl.CurrentOffset = &at
		}
		if ml.Lag >= 0 && ml.Commit.At >= 0 { // no commit: "-" as kafka-consumer-groups shows
			lag := ml.Lag
			pl.Lag = &lag
			d.TotalLag += lag
		}
		if ml.Member != nil {
			pl.ConsumerID, pl.Host, pl.ClientID = ml.Member.MemberID, strings.TrimPrefix(ml.Member.ClientHost, "/"), ml.Member.ClientID
		}
		if ml.Err != nil {
			pl.Error = ml.Err.Error()
		}
		d.Offsets = append(d.Offsets, pl)
	}
	return d
}

func printGroupDescriptions(out io.Writer, descs []groupDescription, rates bool) error {
	for i, d := range descs {
		if i > 0 {
			fmt.Fprintln(out)
		}
		fmt.Fprintf(out, "Group %s: state %s, protocol %s/%s, %d member(s), coordinator %d, total lag %d",
			d.Group, d.State, d.ProtocolType, d.Protocol, len(d.Members), d.Coordinator, d.TotalLag)
		if rates {
			fmt.Fprintf(out, ", consuming %s rec/s, producing %s rec/s", optRate(d.ConsumeRate), optRate(d.ProduceRate))
		}
		fmt.Fprint(out, "\n\n")
		cols := []string{"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG"}
		if rates {
			cols = append(cols, "RATE/S", "IN/S")
		}
		t := newTable(out, append(cols, "CONSUMER-ID", "HOST", "CLIENT-ID")...)
		for _, o := range d.Offsets {
			cells := []any{d.Group, o.Topic, o.Partition, optInt(o.CurrentOffset), o.LogEndOffset, optInt(o.Lag)}
			if rates {
				cells = append(cells, optRate(o.ConsumeRate), optRate(o.ProduceRate))
			}
			t.row(append(cells, o.ConsumerID, o.Host, o.ClientID)...)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	return nil
}

func optInt(p *int64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatInt(*p, 10)
}

func newGroupDeleteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "delete GROUP...",
		Short:   "Delete consumer groups without members, with their committed offsets",
		Example: "  samsa group delete old-app",
		Args:    minArgs(1, "at least one group name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				resps, err := adm.DeleteGroups(ctx, args...)
				if err != nil {
					return err
				}
				var errs []error
				var deleted []string
				for _, name := range args {
					r, ok := resps[name]
					switch {
					case !ok:
						errs = append(errs, fmt.Errorf("group %q: the broker returned no result", name))
					case errors.Is(r.Err, kerr.NonEmptyGroup):
						errs = append(errs, fmt.Errorf("group %q has active members; stop them first", name))
					case errors.Is(r.Err, kerr.GroupIDNotFound):
						errs = append(errs, fmt.Errorf("group %q does not exist", name))
					case r.Err != nil:
						errs = append(errs, fmt.Errorf("group %q: %w", name, r.Err))
					default:
						deleted = append(deleted, name)
					}
				}
				if g.json {
					if deleted == nil {
						deleted = []string{}
					}
					printJSON(cmd.OutOrStdout(), map[string]any{"deleted": deleted})
				} else {
					for _, n := range deleted {
						fmt.Fprintf(cmd.OutOrStdout(), "Deleted group %q.\n", n)
					}
				}
				return errors.Join(errs...)
			})
		},
	}
}

// parseTopicPartitions parses --topic values: "t" (every partition) or
// "t:0,2,5".
func parseTopicPartitions(specs []string) (map[string][]int32, error) {
	out := map[string][]int32{}
	for _, s := range specs {
		name, list, has := strings.Cut(s, ":")
		if name == "" {
			return nil, fmt.Errorf("invalid --topic %q: want TOPIC or TOPIC:P,P", s)
		}
		if _, ok := out[name]; !ok {
			out[name] = nil
		}
		if !has {
			continue
		}
		for _, p := range strings.Split(list, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 32)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("invalid partition %q in --topic %q", p, s)
			}
			out[name] = append(out[name], int32(n))
		}
	}
	return out, nil
}

type resetOptions struct {
	topics     []string
	allTopics  bool
	toEarliest bool
	toLatest   bool
	toOffset   int64
	shiftBy    int64
	toDatetime string
	execute    bool
}

type offsetReset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Previous  *int64 `json:"previous_offset"`
	New       int64  `json:"new_offset"`
}

func newGroupResetOffsetsCmd(g *globals) *cobra.Command {
	o := resetOptions{toOffset: -1}
	cmd := &cobra.Command{
		Use:   "reset-offsets GROUP",
		Short: "Move a group's committed offsets (dry run unless --execute)",
		Long: `reset-offsets computes new committed offsets for the chosen partitions and
prints them; with --execute it commits them. The group must have no active
members (Kafka refuses commits from outside a live group). New offsets are
clamped to each partition's [log start, log end].`,
		Example: `  samsa group reset-offsets my-app --topic orders --to-earliest --execute
  samsa group reset-offsets my-app --topic orders:0,1 --shift-by -100
  samsa group reset-offsets my-app --all-topics --to-datetime 2026-11-22T10:00:00Z --execute`,
		Args: exactArgs(1, "one group name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runResetOffsets(cmd, g, &o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.topics, "topic", nil, "topic to reset, TOPIC or TOPIC:P,P (repeatable)")
	f.BoolVar(&o.allTopics, "all-topics", false, "reset every topic the group has offsets for")
	f.BoolVar(&o.toEarliest, "to-earliest", false, "reset to the log start offset")
	f.BoolVar(&o.toLatest, "to-latest", false, "reset to the log end offset")
	f.Int64Var(&o.toOffset, "to-offset", -1, "reset to this offset")
	f.Int64Var(&o.shiftBy, "shift-by", 0, "move the current offset by N (negative: back)")
	f.StringVar(&o.toDatetime, "to-datetime", "", "reset to the first offset at or after this RFC 3339 time")
	f.BoolVar(&o.execute, "execute", false, "commit the new offsets (default: only show them)")
	return cmd
}

func runResetOffsets(cmd *cobra.Command, g *globals, o *resetOptions, group string) error {
	modes := 0
	for _, set := range []bool{o.toEarliest, o.toLatest, o.toOffset >= 0, cmd.Flags().Changed("shift-by"), o.toDatetime != ""} {
		if set {
			modes++
		}
	}
	if modes != 1 {
		return usageErrorf(cmd, "give exactly one of --to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime")
	}
	if (len(o.topics) == 0) == !o.allTopics {
		return usageErrorf(cmd, "give --topic (repeatable) or --all-topics")
	}
	spec, err := parseTopicPartitions(o.topics)
	if err != nil {
		return usageErrorf(cmd, "%v", err)
	}
	var at time.Time
	if o.toDatetime != "" {
		if at, err = time.Parse(time.RFC3339, o.toDatetime); err != nil {
			return usageErrorf(cmd, "invalid --to-datetime %q: want RFC 3339, e.g. 2026-11-22T10:00:00Z", o.toDatetime)
		}
	}
	return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
		current, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			return err
		}
		if err := current.Error(); err != nil {
			return fmt.Errorf("group %q: %w", group, err)
		}
		if o.allTopics {
			current.Each(func(r kadm.OffsetResponse) { spec[r.Topic] = nil })
		}
		topics := make([]string, 0, len(spec))
		for t := range spec {
			topics = append(topics, t)
		}
		sort.Strings(topics)
		if len(topics) == 0 {
			return fmt.Errorf("group %q has no committed offsets to reset", group)
		}
		starts, err := adm.ListStartOffsets(ctx, topics...)
		if err != nil {
			return err
		}
		ends, err := adm.ListEndOffsets(ctx, topics...)
		if err != nil {
			return err
		}
		var times kadm.ListedOffsets
		if !at.IsZero() {
			if times, err = adm.ListOffsetsAfterMilli(ctx, at.UnixMilli(), topics...); err != nil {
				return err
			}
		}
		var plan []offsetReset
		var commit kadm.Offsets
		for _, t := range topics {
			parts := spec[t]
			if parts == nil {
				for p := range ends[t] {
					parts = append(parts, p)
				}
				sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
			}
			if len(parts) == 0 {
				return fmt.Errorf("topic %q does not exist", t)
			}
			for _, p := range parts {
				end, ok := ends.Lookup(t, p)
				if !ok || end.Err != nil {
					return fmt.Errorf("topic %q partition %d: no such partition", t, p)
				}
				start, _ := starts.Lookup(t, p)
				r := offsetReset{Topic: t, Partition: p}
				if c, ok := current.Lookup(t, p); ok && c.Err == nil && c.At >= 0 {
					prev := c.At
					r.Previous = &prev
				}
				switch {
				case o.toEarliest:
					r.New = start.Offset
				case o.toLatest:
					r.New = end.Offset
				case o.toOffset >= 0:
					r.New = o.toOffset
				case o.toDatetime != "":
					r.New = end.Offset
					if lo, ok := times.Lookup(t, p); ok && lo.Err == nil && lo.Offset >= 0 {
						r.New = lo.Offset
					}
				default: // shift-by
					base := end.Offset
					if r.Previous != nil {
						base = *r.Previous
					}
					r.New = base + o.shiftBy
				}
				r.New = max(start.Offset, min(r.New, end.Offset))
				plan = append(plan, r)
				commit.Add(kadm.Offset{Topic: t, Partition: p, At: r.New, LeaderEpoch: -1})
			}
		}
		if o.execute {
			resps, err := adm.CommitOffsets(ctx, group, commit)
			if err != nil {
				return err
			}
			if err := resps.Error(); err != nil {
				if errors.Is(err, kerr.UnknownMemberID) || errors.Is(err, kerr.IllegalGeneration) || errors.Is(err, kerr.RebalanceInProgress) {
					return fmt.Errorf("group %q has active members; stop its consumers before resetting offsets", group)
				}
				return fmt.Errorf("committing offsets of group %q: %w", group, err)
			}
		}
		if g.json {
			return printJSON(cmd.OutOrStdout(), map[string]any{"group": group, "executed": o.execute, "offsets": plan})
		}
		t := newTable(cmd.OutOrStdout(), "GROUP", "TOPIC", "PARTITION", "PREVIOUS-OFFSET", "NEW-OFFSET")
		for _, r := range plan {
			t.row(group, r.Topic, r.Partition, optInt(r.Previous), r.New)
		}
		if err := t.flush(); err != nil {
			return err
		}
		if !o.execute {
			fmt.Fprintln(cmd.ErrOrStderr(), "Dry run: nothing committed. Add --execute to commit these offsets.")
		}
		return nil
	})
}

func newGroupDeleteOffsetsCmd(g *globals) *cobra.Command {
	var topics []string
	cmd := &cobra.Command{
		Use:     "delete-offsets GROUP",
		Short:   "Delete a group's committed offsets for topics it no longer consumes",
		Example: "  samsa group delete-offsets my-app --topic old-topic\n  samsa group delete-offsets my-app --topic orders:0,1",
		Args:    exactArgs(1, "one group name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(topics) == 0 {
				return usageErrorf(cmd, "give at least one --topic")
			}
			spec, err := parseTopicPartitions(topics)
			if err != nil {
				return usageErrorf(cmd, "%v", err)
			}
			group := args[0]
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				set := kadm.TopicsSet{}
				var whole []string
				for t, ps := range spec {
					if ps == nil {
						whole = append(whole, t)
						continue
					}
					set.Add(t, ps...)
				}
				if len(whole) > 0 {
					details, err := adm.ListTopics(ctx, whole...)
					if err != nil {
						return err
					}
					for _, t := range whole {
						d, ok := details[t]
						if !ok || d.Err != nil {
							return fmt.Errorf("topic %q does not exist", t)
						}
						set.Add(t, d.Partitions.Numbers()...)
					}
				}
				resps, err := adm.DeleteOffsets(ctx, group, set)
				if err != nil {
					if errors.Is(err, kerr.GroupIDNotFound) {
						return fmt.Errorf("group %q does not exist", group)
					}
					return err
				}
				var errs []error
				type deletedOffset struct {
					Topic     string `json:"topic"`
					Partition int32  `json:"partition"`
					Error     string `json:"error,omitempty"`
				}
				var out []deletedOffset
				for topic, ps := range resps {
					for p, perr := range ps {
						d := deletedOffset{Topic: topic, Partition: p}
						if perr != nil {
							d.Error = perr.Error()
							if errors.Is(perr, kerr.GroupSubscribedToTopic) {
								errs = append(errs, fmt.Errorf("topic %q partition %d: the group still consumes this topic", topic, p))
							} else {
								errs = append(errs, fmt.Errorf("topic %q partition %d: %w", topic, p, perr))
							}
						}
						out = append(out, d)
					}
				}
				sort.Slice(out, func(i, j int) bool {
					if out[i].Topic != out[j].Topic {
						return out[i].Topic < out[j].Topic
					}
					return out[i].Partition < out[j].Partition
				})
				if g.json {
					printJSON(cmd.OutOrStdout(), out)
				} else {
					t := newTable(cmd.OutOrStdout(), "TOPIC", "PARTITION", "STATUS")
					for _, d := range out {
						status := "deleted"
						if d.Error != "" {
							status = d.Error
						}
						t.row(d.Topic, d.Partition, status)
					}
					t.flush()
				}
				return errors.Join(errs...)
			})
		},
	}
	cmd.Flags().StringArrayVar(&topics, "topic", nil, "topic whose offsets to delete, TOPIC or TOPIC:P,P (repeatable)")
	return cmd
}

// runGroupConsume is `samsa consume -g GROUP`: consume as a group member,
// starting at the group's committed offsets (or, for partitions without
// one, where --from-beginning/--offset say: the end by default, as
// kafka-console-consumer), and commit what was printed before exiting.
func runGroupConsume(cmd *cobra.Command, g *globals, o *consumeOptions, topic string, format recordFormatter) error {
	if len(o.partitions) > 0 {
		return usageErrorf(cmd, "-p/--partition cannot be combined with -g/--group: the group assigns partitions")
	}
	reset := kgo.NewOffset().AtEnd()
	switch strings.ToLower(strings.TrimSpace(o.offset)) {
	case "":
		if o.fromBeginning {
			reset = kgo.NewOffset().AtStart()
		}
	case "earliest", "beginning", "start":
		reset = kgo.NewOffset().AtStart()
	case "latest", "end":
	default:
		return usageErrorf(cmd, "with -g/--group, --offset may only be earliest or latest (use samsa group reset-offsets)")
	}
	cl, err := g.newClient(cmd,
		kgo.ConsumerGroup(o.group), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(reset),
		kgo.DisableAutoCommit(),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	stats := newConsumeStats()
	live := o.startProgress(cmd, stats)
	count, err := consumeLoop(cmd.Context(), cl, bufio.NewWriter(cmd.OutOrStdout()), format, o.num, o.idle, stats)
	live.stop()
	// Commit what was printed, even after Ctrl-C, with a fresh deadline.
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	cerr := cl.CommitUncommittedOffsets(ctx)
	cl.LeaveGroup()
	fmt.Fprintf(cmd.ErrOrStderr(), "Processed a total of %d messages\n", count)
	if cerr != nil {
		cerr = fmt.Errorf("committing offsets of group %q: %w", o.group, cerr)
	}
	return g.explain(cmd, errors.Join(err, cerr))
}

// describeConsumerGroup describes a KIP-848 group (ConsumerGroupDescribe)
// with the same per-partition lag view as a classic one.
func describeConsumerGroup(ctx context.Context, adm *kadm.Client, name string) (groupDescription, error) {
	described, err := adm.DescribeConsumerGroups(ctx, name)
	if err != nil && len(described) == 0 {
		return groupDescription{}, err
	}
	cg, ok := described[name]
	if !ok || errors.Is(cg.Err, kerr.GroupIDNotFound) || cg.State == "Dead" {
		return groupDescription{}, fmt.Errorf("group %q does not exist", name)
	}
	if cg.Err != nil {
		return groupDescription{}, fmt.Errorf("group %q: %w", name, cg.Err)
	}
	d := groupDescription{Group: name, State: cg.State, ProtocolType: "consumer", Protocol: cg.AssignorName,
		Coordinator: cg.Coordinator.NodeID, Members: []groupMember{}, Offsets: []partitionLag{}}
	owner := map[string]map[int32]kadm.ConsumerGroupMember{}
	for _, m := range cg.Members {
		gm := groupMember{ConsumerID: m.MemberID, Host: strings.TrimPrefix(m.ClientHost, "/"), ClientID: m.ClientID, Partitions: []string{}}
		if m.InstanceID != nil {
			gm.InstanceID = *m.InstanceID
		}
		m.Assignment.Each(func(t string, p int32) {
			gm.Partitions = append(gm.Partitions, fmt.Sprintf("%s-%d", t, p))
			if owner[t] == nil {
				owner[t] = map[int32]kadm.ConsumerGroupMember{}
			}
			owner[t][p] = m
		})
		sort.Strings(gm.Partitions)
		d.Members = append(d.Members, gm)
	}
	commits, err := adm.FetchOffsets(ctx, name)
	if err != nil {
		return d, err
	}
	topics := map[string]bool{}
	commits.Each(func(o kadm.OffsetResponse) { topics[o.Topic] = true })
	for t := range owner {
		topics[t] = true
	}
	if len(topics) == 0 {
		return d, nil
	}
	var names []string
	for t := range topics {
		names = append(names, t)
	}
	ends, err := adm.ListEndOffsets(ctx, names...)
	if err != nil {
		return d, err
	}
	ends.Each(func(e kadm.ListedOffset) {
		pl := partitionLag{Topic: e.Topic, Partition: e.Partition, LogEndOffset: e.Offset}
		c, committed := commits.Lookup(e.Topic, e.Partition)
		m, owned := owner[e.Topic][e.Partition]
		if !committed && !owned {
			return
		}
		if committed && c.Err == nil && c.At >= 0 {
			at, lag := c.At, max(e.Offset-c.At, 0)
			pl.CurrentOffset, pl.Lag = &at, &lag
			d.TotalLag += lag
		}
		if owned {
			pl.ConsumerID, pl.Host, pl.ClientID = m.MemberID, strings.TrimPrefix(m.ClientHost, "/"), m.ClientID
		}
		d.Offsets = append(d.Offsets, pl)
	})
	sort.Slice(d.Offsets, func(i, j int) bool {
		if d.Offsets[i].Topic != d.Offsets[j].Topic {
			return d.Offsets[i].Topic < d.Offsets[j].Topic
		}
		return d.Offsets[i].Partition < d.Offsets[j].Partition
	})
	return d, nil
}
