package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func newTopicCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "topic",
		Short: "Create, list, describe, delete and configure topics",
		RunE:  groupRunE,
	}
	cmd.AddCommand(
		newTopicCreateCmd(g),
		newTopicListCmd(g),
		newTopicDescribeCmd(g),
		newTopicDeleteCmd(g),
		newTopicAddPartitionsCmd(g),
		newTopicAlterConfigCmd(g),
	)
	return cmd
}

// topicIDString formats a topic ID the way Kafka's tools print a Uuid:
// URL-safe base64 without padding. The zero ID (brokers without topic IDs)
// prints as the empty string.
func topicIDString(id kadm.TopicID) string {
	if id == (kadm.TopicID{}) {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(id[:])
}

// parseConfigs turns repeated k=v flags into the map kadm expects.
func parseConfigs(pairs []string, what string) (map[string]*string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	out := make(map[string]*string, len(pairs))
	for _, p := range pairs {
		k, v, err := parseKeyValue(p, what)
		if err != nil {
			return nil, err
		}
		out[k] = &v
	}
	return out, nil
}

type topicCreated struct {
	Topic             string `json:"topic"`
	TopicID           string `json:"topic_id,omitempty"`
	Partitions        int32  `json:"partitions"`
	ReplicationFactor int16  `json:"replication_factor"`
	ValidateOnly      bool   `json:"validate_only"`
}

func newTopicCreateCmd(g *globals) *cobra.Command {
	var (
		partitions   int32
		replication  int16
		configs      []string
		validateOnly bool
	)
	cmd := &cobra.Command{
		Use:     "create NAME",
		Short:   "Create a topic",
		Example: "  samsa topic create orders -p 6 -c retention.ms=86400000",
		Args:    exactArgs(1, "one topic name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := parseConfigs(configs, "-c/--config")
			if err != nil {
				return usageErrorf(cmd, "%v", err)
			}
			name := args[0]
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				create := adm.CreateTopics
				if validateOnly {
					create = adm.ValidateCreateTopics
				}
				resps, err := create(ctx, partitions, replication, cfg, name)
				if err != nil {
					return err
				}
				r, ok := resps[name]
				if !ok {
					return fmt.Errorf("topic %q: the broker returned no result", name)
				}
				if err := topicError(name, r.Err, r.ErrMessage); err != nil {
					return err
				}
				return printCreated(cmd, g, topicCreated{
					Topic: name, TopicID: topicIDString(r.ID), Partitions: r.NumPartitions,
					ReplicationFactor: r.ReplicationFactor, ValidateOnly: validateOnly,
				})
			})
		},
	}
	f := cmd.Flags()
	f.Int32VarP(&partitions, "partitions", "p", -1, "number of partitions (-1: the broker's num.partitions)")
	f.Int16VarP(&replication, "replication-factor", "r", -1,
		"replicas per partition (-1: the broker's default.replication.factor)")
	f.StringArrayVarP(&configs, "config", "c", nil, "topic config as key=value (repeatable)")
	f.BoolVar(&validateOnly, "validate-only", false, "ask the broker to validate the request without creating the topic")
	return cmd
}

func printCreated(cmd *cobra.Command, g *globals, c topicCreated) error {
	out := cmd.OutOrStdout()
	if g.json {
		return printJSON(out, c)
	}
	verb := "Created"
	if c.ValidateOnly {
		verb = "Validated (not created)"
	}
	// Brokers older than Kafka 2.4 do not echo the settings; -1 means unknown.
	if c.Partitions < 0 {
		_, err := fmt.Fprintf(out, "%s topic %q.\n", verb, c.Topic)
		return err
	}
	_, err := fmt.Fprintf(out, "%s topic %q with %d partition(s), replication factor %d.\n",
		verb, c.Topic, c.Partitions, c.ReplicationFactor)
	return err
}

type topicSummary struct {
	Topic             string `json:"topic"`
	TopicID           string `json:"topic_id,omitempty"`
	Partitions        int    `json:"partitions"`
	ReplicationFactor int    `json:"replication_factor"`
	Internal          bool   `json:"internal"`
}

func newTopicListCmd(g *globals) *cobra.Command {
	var internal bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List topics",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				details, err := adm.ListTopicsWithInternal(ctx)
				if err != nil {
					return err
				}
				var list []topicSummary
				for _, td := range details.Sorted() {
					if td.IsInternal && !internal {
						continue
					}
					list = append(list, topicSummary{
						Topic: td.Topic, TopicID: topicIDString(td.ID), Partitions: len(td.Partitions),
						ReplicationFactor: td.Partitions.NumReplicas(), Internal: td.IsInternal,
					})
				}
				return printTopicList(cmd, g, list)
			})
		},
	}
	cmd.Flags().BoolVar(&internal, "internal", false, "include internal topics such as __consumer_offsets")
	return cmd
}

func printTopicList(cmd *cobra.Command, g *globals, list []topicSummary) error {
	out := cmd.OutOrStdout()
	if g.json {
		if list == nil {
			list = []topicSummary{} // Scripts expect an array, not null.
		}
		return printJSON(out, list)
	}
	t := newTable(out, "TOPIC", "PARTITIONS", "REPLICATION", "INTERNAL")
	for _, s := range list {
		t.row(s.Topic, s.Partitions, s.ReplicationFactor, s.Internal)
	}
	return t.flush()
}

func newTopicDeleteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME...",
		Aliases: []string{"rm"},
		Short:   "Delete topics and all their records",
		Args:    minArgs(1, "at least one topic name"),
		RunE: func(cmd *cobra.Command, names []string) error {
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				resps, err := adm.DeleteTopics(ctx, names...)
				if err != nil {
					return err
				}
				return reportPerTopic(cmd, g, "Deleted", names, func(name string) error {
					r, ok := resps[name]
					if !ok {
						return fmt.Errorf("topic %q: the broker returned no result", name)
					}
					return topicError(name, r.Err, r.ErrMessage)
				})
			})
		},
	}
}

type topicResult struct {
	Topic string `json:"topic"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// reportPerTopic prints one line (or JSON object) per topic for commands
// that act on several topics at once, and fails if any topic failed: a
// partial success must still be visible to scripts through the exit code.
func reportPerTopic(cmd *cobra.Command, g *globals, verb string, names []string, result func(string) error) error {
	var (
		errs    []error
		results []topicResult
	)
	for _, name := range names {
		err := result(name)
		r := topicResult{Topic: name, OK: err == nil}
		if err != nil {
			r.Error = err.Error()
			errs = append(errs, err)
		} else if !g.json {
			fmt.Fprintf(cmd.OutOrStdout(), "%s topic %q.\n", verb, name)
		}
		results = append(results, r)
	}
	if g.json {
		if err := printJSON(cmd.OutOrStdout(), results); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

func newTopicAddPartitionsCmd(g *globals) *cobra.Command {
	var total int
	cmd := &cobra.Command{
		Use:     "add-partitions NAME --total N",
		Short:   "Raise a topic's partition count to N",
		Example: "  samsa topic add-partitions orders --total 12",
		Args:    exactArgs(1, "one topic name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if total <= 0 {
				return usageErrorf(cmd, "--total N is required and must be positive (the new partition count)")
			}
			name := args[0]
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				resps, err := adm.UpdatePartitions(ctx, total, name)
				if err != nil {
					return err
				}
				r, ok := resps[name]
				if !ok {
					return fmt.Errorf("topic %q: the broker returned no result", name)
				}
				if err := topicError(name, r.Err, r.ErrMessage); err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"topic": name, "partitions": total})
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "Topic %q now has %d partitions.\n", name, total)
				return err
			})
		},
	}
	cmd.Flags().IntVar(&total, "total", 0, "the new total number of partitions (must exceed the current count)")
	return cmd
}

func newTopicAlterConfigCmd(g *globals) *cobra.Command {
	var sets, deletes []string
	cmd := &cobra.Command{
		Use:     "alter-config NAME [--set k=v]... [--delete k]...",
		Short:   "Set or remove topic config overrides",
		Example: "  samsa topic alter-config orders --set retention.ms=3600000 --delete cleanup.policy",
		Args:    exactArgs(1, "one topic name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			alters, err := buildAlterConfigs(sets, deletes)
			if err != nil {
				return usageErrorf(cmd, "%v", err)
			}
			name := args[0]
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				resps, err := adm.AlterTopicConfigs(ctx, alters, name)
				if err != nil {
					return err
				}
				r, err := resps.On(name, nil)
				if err != nil {
					return fmt.Errorf("topic %q: the broker returned no result", name)
				}
				if err := topicError(name, r.Err, r.ErrMessage); err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"topic": name, "set": sets, "deleted": deletes})
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "Updated config of topic %q (%d set, %d deleted).\n",
					name, len(sets), len(deletes))
				return err
			})
		},
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "config to set as key=value (repeatable)")
	cmd.Flags().StringArrayVar(&deletes, "delete", nil, "config key to remove, reverting to the default (repeatable)")
	return cmd
}

// buildAlterConfigs turns --set and --delete flags into incremental
// operations; IncrementalAlterConfigs leaves every other key untouched,
// unlike the legacy AlterConfigs which resets whatever is not listed.
func buildAlterConfigs(sets, deletes []string) ([]kadm.AlterConfig, error) {
	if len(sets) == 0 && len(deletes) == 0 {
		return nil, errors.New("nothing to change: give --set key=value or --delete key")
	}
	var alters []kadm.AlterConfig
	for _, s := range sets {
		k, v, err := parseKeyValue(s, "--set")
		if err != nil {
			return nil, err
		}
		alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: &v})
	}
	for _, k := range deletes {
		if k = strings.TrimSpace(k); k == "" {
			return nil, errors.New("--delete needs a config key")
		}
		alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
	}
	return alters, nil
}

// overrides returns a topic's non-default configs: those set on the topic
// itself, which is what Kafka's kafka-topics --describe lists.
func overrides(rc kadm.ResourceConfig) map[string]string {
	out := map[string]string{}
	for _, c := range rc.Configs {
		if c.Source != kmsg.ConfigSourceDynamicTopicConfig {
			continue
		}
		switch {
		case c.Sensitive:
			out[c.Key] = "(sensitive)"
		case c.Value == nil:
			out[c.Key] = ""
		default:
			out[c.Key] = *c.Value
		}
	}
	return out
}

// formatConfigs prints configs as sorted k=v pairs separated by commas.
func formatConfigs(cfg map[string]string) string {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + cfg[k]
	}
	return strings.Join(parts, ",")
}

// missingTopics returns the requested topics that metadata says do not
// exist, in request order.
func missingTopics(details kadm.TopicDetails, names []string) []error {
	var errs []error
	for _, n := range names {
		d, ok := details[n]
		switch {
		case !ok:
			errs = append(errs, topicError(n, kerr.UnknownTopicOrPartition, ""))
		case d.Err != nil:
			errs = append(errs, topicError(n, d.Err, ""))
		}
	}
	return errs
}

type partitionDescription struct {
	Partition      int32   `json:"partition"`
	Leader         int32   `json:"leader"`
	LeaderEpoch    int32   `json:"leader_epoch"`
	Replicas       []int32 `json:"replicas"`
	ISR            []int32 `json:"isr"`
	Offline        []int32 `json:"offline_replicas,omitempty"`
	LogStartOffset int64   `json:"log_start_offset"`
	LogEndOffset   int64   `json:"log_end_offset"`
	Error          string  `json:"error,omitempty"`
}

type topicDescription struct {
	Topic             string                 `json:"topic"`
	TopicID           string                 `json:"topic_id,omitempty"`
	Internal          bool                   `json:"internal"`
	PartitionCount    int                    `json:"partition_count"`
	ReplicationFactor int                    `json:"replication_factor"`
	Configs           map[string]string      `json:"configs"`
	Partitions        []partitionDescription `json:"partitions"`
}

func newTopicDescribeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "describe [NAME...]",
		Short: "Show partitions, leaders, replicas, ISR, offsets and config overrides (all topics if none named)",
		RunE: func(cmd *cobra.Command, names []string) error {
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				descs, err := describeTopics(ctx, adm, names)
				if err != nil {
					return err
				}
				return printDescriptions(cmd, g, descs)
			})
		},
	}
}

// describeTopics gathers metadata, log offsets (ListOffsets) and config
// overrides (DescribeConfigs) for the named topics, or for every
// non-internal topic when none are named. A named topic that does not exist
// fails the whole command, as with kafka-topics.
func describeTopics(ctx context.Context, adm *kadm.Client, names []string) ([]topicDescription, error) {
	details, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return nil, err
	}
	if errs := missingTopics(details, names); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	names = details.Names()
	if len(names) == 0 {
		return nil, nil
	}
	starts, err := adm.ListStartOffsets(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("listing log start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("listing log end offsets: %w", err)
	}
	configs, err := adm.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("describing topic configs: %w", err)
	}
	descs := make([]topicDescription, 0, len(names))
	for _, td := range details.Sorted() {
		d := topicDescription{
			Topic: td.Topic, TopicID: topicIDString(td.ID), Internal: td.IsInternal,
			PartitionCount: len(td.Partitions), ReplicationFactor: td.Partitions.NumReplicas(),
			Configs: map[string]string{},
		}
		if rc, err := configs.On(td.Topic, nil); err == nil {
			d.Configs = overrides(rc)
		}
		for _, pd := range td.Partitions.Sorted() {
			d.Partitions = append(d.Partitions, describePartition(pd, starts, ends))
		}
		descs = append(descs, d)
	}
	return descs, nil
}

func describePartition(pd kadm.PartitionDetail, starts, ends kadm.ListedOffsets) partitionDescription {
	p := partitionDescription{
		Partition: pd.Partition, Leader: pd.Leader, LeaderEpoch: pd.LeaderEpoch,
		Replicas: pd.Replicas, ISR: pd.ISR, Offline: pd.OfflineReplicas,
		LogStartOffset: -1, LogEndOffset: -1,
	}
	var errs []error
	if pd.Err != nil {
		errs = append(errs, pd.Err)
	}
	if o, ok := starts.Lookup(pd.Topic, pd.Partition); ok {
		p.LogStartOffset = o.Offset
		if o.Err != nil {
			errs = append(errs, o.Err)
		}
	}
	if o, ok := ends.Lookup(pd.Topic, pd.Partition); ok {
		p.LogEndOffset = o.Offset
		if o.Err != nil {
			errs = append(errs, o.Err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		p.Error = err.Error()
	}
	return p
}

func printDescriptions(cmd *cobra.Command, g *globals, descs []topicDescription) error {
	out := cmd.OutOrStdout()
	if g.json {
		if descs == nil {
			descs = []topicDescription{}
		}
		return printJSON(out, descs)
	}
	for i, d := range descs {
		if i > 0 {
			fmt.Fprintln(out)
		}
		fmt.Fprintf(out, "Topic: %s\tTopicId: %s\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n",
			d.Topic, orDash(d.TopicID), d.PartitionCount, d.ReplicationFactor, orDash(formatConfigs(d.Configs)))
		t := newTable(out, "PARTITION", "LEADER", "REPLICAS", "ISR", "LOG-START", "LOG-END", "ERROR")
		for _, p := range d.Partitions {
			t.row(p.Partition, p.Leader, joinInt32s(p.Replicas), joinInt32s(p.ISR),
				p.LogStartOffset, p.LogEndOffset, p.Error)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
