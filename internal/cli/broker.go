package cli

import (
	"context"
	"fmt"
	"sort"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// newBrokerCmd is `samsa broker config`: describe the broker's settings
// with where each value comes from, or change dynamic ones, like
// `kafka-configs --entity-type brokers`.
func newBrokerCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Inspect and change broker settings",
		RunE:  groupRunE,
	}
	var (
		sets, deletes []string
		node          int32
		all           bool
	)
	cfg := &cobra.Command{
		Use:   "config [--set k=v]... [--delete k]... [--node ID] [--all]",
		Short: "Show broker settings, or change them at run time (dynamic configs)",
		Long: `Without --set or --delete, show the broker's settings that are not defaults (--all:
every setting) with their source: static (server.properties or --override),
dynamic for this broker, dynamic cluster-wide default.

--set and --delete change dynamic settings, kept in the cluster metadata and
applied without a restart. Without --node they change the cluster-wide default
(kafka-configs --entity-default); with --node, that broker's own setting.
Settings that need a restart (log.dirs, listeners, ...) are refused.`,
		Example: `  samsa broker config
  samsa broker config --set log.retention.ms=86400000 --set num.partitions=3
  samsa broker config --node 1 --delete num.partitions`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(sets) > 0 || len(deletes) > 0 {
				return alterBrokerConfig(cmd, g, sets, deletes, node)
			}
			return describeBrokerConfig(cmd, g, all)
		},
	}
	cfg.Flags().StringArrayVar(&sets, "set", nil, "dynamic setting to set as key=value (repeatable)")
	cfg.Flags().StringArrayVar(&deletes, "delete", nil, "dynamic setting to remove (repeatable)")
	cfg.Flags().Int32Var(&node, "node", -1, "change this broker's own setting instead of the cluster-wide default")
	cfg.Flags().BoolVar(&all, "all", false, "show every setting, defaults included")
	cmd.AddCommand(cfg)
	return cmd
}

func alterBrokerConfig(cmd *cobra.Command, g *globals, sets, deletes []string, node int32) error {
	alters, err := buildAlterConfigs(sets, deletes)
	if err != nil {
		return usageErrorf(cmd, "%v", err)
	}
	return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
		var ids []int32
		target := "the cluster-wide default"
		if node >= 0 {
			ids, target = []int32{node}, fmt.Sprintf("broker %d", node)
		}
		rs, err := adm.AlterBrokerConfigs(ctx, alters, ids...)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.Err != nil {
				msg := r.Err.Error()
				if r.ErrMessage != "" {
					msg += ": " + r.ErrMessage
				}
				return fmt.Errorf("changing %s: %s", target, msg)
			}
		}
		if g.json {
			return printJSON(cmd.OutOrStdout(), map[string]any{"target": target, "set": sets, "deleted": deletes})
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "Updated %s (%d set, %d deleted).\n", target, len(sets), len(deletes))
		return err
	})
}

type brokerSetting struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

func describeBrokerConfig(cmd *cobra.Command, g *globals, all bool) error {
	return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
		rcs, err := adm.DescribeBrokerConfigs(ctx)
		if err != nil {
			return err
		}
		var out []brokerSetting
		for _, rc := range rcs {
			if rc.Err != nil {
				return rc.Err
			}
			for _, c := range rc.Configs {
				if !all && c.Source == kmsg.ConfigSourceDefaultConfig {
					continue
				}
				out = append(out, brokerSetting{c.Key, c.MaybeValue(), sourceName(c.Source)})
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		if g.json {
			return printJSON(cmd.OutOrStdout(), out)
		}
		t := newTable(cmd.OutOrStdout(), "SETTING", "VALUE", "SOURCE")
		for _, s := range out {
			t.row(s.Name, s.Value, s.Source)
		}
		return t.flush()
	})
}

func sourceName(s kmsg.ConfigSource) string {
	switch s {
	case kmsg.ConfigSourceDynamicBrokerConfig:
		return "dynamic (this broker)"
	case kmsg.ConfigSourceDynamicDefaultBrokerConfig:
		return "dynamic (cluster default)"
	case kmsg.ConfigSourceStaticBrokerConfig:
		return "static"
	case kmsg.ConfigSourceDefaultConfig:
		return "default"
	}
	return s.String()
}
