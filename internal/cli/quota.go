package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// samsa quota is what kafka-configs.sh --entity-type users/clients/ips does
// for client quotas, through DescribeClientQuotas and AlterClientQuotas.

func newQuotaCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "quota",
		Short: "Set, describe and delete client quotas of users, client ids and IP addresses",
		Long: `quota manages client quotas as kafka-configs.sh does for the entity types
users, clients and ips. An entity is a user (--user NAME, or --default-user
for every user without one of their own), optionally with a client id
(--client-id, --default-client-id), a client id alone, or an IP address
(--ip, --default-ip). Quota keys are Kafka's: producer_byte_rate,
consumer_byte_rate, request_percentage, controller_mutation_rate (users and
client ids) and connection_creation_rate (IPs).`,
		RunE: groupRunE,
	}
	cmd.AddCommand(newQuotaSetCmd(g), newQuotaDescribeCmd(g), newQuotaDeleteCmd(g))
	return cmd
}

// quotaEntity is the entity flags shared by the quota commands. A flag set
// to "" with its name means the default entity of that type is meant only
// through --default-*; an empty --user is refused.
type quotaEntity struct {
	user, clientID, ip                      string
	defaultUser, defaultClientID, defaultIP bool
}

func (e *quotaEntity) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&e.user, "user", "", "the user (principal name without User:)")
	f.StringVar(&e.clientID, "client-id", "", "the client id")
	f.StringVar(&e.ip, "ip", "", "the IP address (connection_creation_rate only)")
	f.BoolVar(&e.defaultUser, "default-user", false, "the default for users")
	f.BoolVar(&e.defaultClientID, "default-client-id", false, "the default for client ids")
	f.BoolVar(&e.defaultIP, "default-ip", false, "the default for IP addresses")
}

// components returns the entity's (type, name) pairs, a nil name being the
// default. It checks the flags: one name or default per type, and an IP
// never with a user or client id.
func (e *quotaEntity) components(cmd *cobra.Command) ([]kadm.ClientQuotaEntityComponent, error) {
	var out []kadm.ClientQuotaEntityComponent
	add := func(typ, flag string, name string, def bool) error {
		given := cmd.Flags().Changed(flag)
		switch {
		case given && def:
			return fmt.Errorf("give --%s or --default-%s, not both", flag, flag)
		case given && name == "":
			return fmt.Errorf("--%s must not be empty (use --default-%s for the default)", flag, flag)
		case given:
			n := name
			out = append(out, kadm.ClientQuotaEntityComponent{Type: typ, Name: &n})
		case def:
			out = append(out, kadm.ClientQuotaEntityComponent{Type: typ})
		}
		return nil
	}
	if err := errors.Join(add("user", "user", e.user, e.defaultUser),
		add("client-id", "client-id", e.clientID, e.defaultClientID),
		add("ip", "ip", e.ip, e.defaultIP)); err != nil {
		return nil, err
	}
	for _, c := range out {
		if c.Type == "ip" && len(out) > 1 {
			return nil, errors.New("an IP entity stands alone: --ip/--default-ip cannot be combined with a user or client id")
		}
	}
	return out, nil
}

// entityString prints an entity as Kafka's tools do: user=alice, client-id=<default>.
func entityString(e kadm.ClientQuotaEntity) string {
	var parts []string
	for _, c := range sortedEntity(e) {
		name := "<default>"
		if c.Name != nil {
			name = *c.Name
		}
		parts = append(parts, c.Type+"="+name)
	}
	return strings.Join(parts, ", ")
}

// sortedEntity orders components as Kafka names entities: user, then
// client-id, then ip.
func sortedEntity(e kadm.ClientQuotaEntity) kadm.ClientQuotaEntity {
	rank := map[string]int{"user": 0, "client-id": 1, "ip": 2}
	out := append(kadm.ClientQuotaEntity(nil), e...)
	sort.SliceStable(out, func(i, j int) bool { return rank[out[i].Type] < rank[out[j].Type] })
	return out
}

// quotaKeyValues parses KEY=VALUE arguments (and --add-config's
// comma-separated lists).
func quotaKeyValues(args []string) ([]kadm.AlterClientQuotaOp, error) {
	var ops []kadm.AlterClientQuotaOp
	for _, a := range args {
		k, v, err := parseKeyValue(strings.TrimSpace(a), "quota")
		if err != nil {
			return nil, err
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, fmt.Errorf("quota %s: %q is not a number", k, v)
		}
		ops = append(ops, kadm.AlterClientQuotaOp{Key: strings.TrimSpace(k), Value: f})
	}
	return ops, nil
}

func splitConfigList(vals []string) []string {
	var out []string
	for _, v := range vals {
		out = append(out, splitComma(v)...)
	}
	return out
}

type quotaChange struct {
	Entity  []quotaComponent   `json:"entity"`
	Set     map[string]float64 `json:"set"`
	Removed []string           `json:"removed"`
}

type quotaComponent struct {
	Type string  `json:"type"`
	Name *string `json:"name"` // null: the default
}

func jsonEntity(e kadm.ClientQuotaEntity) []quotaComponent {
	out := []quotaComponent{}
	for _, c := range sortedEntity(e) {
		out = append(out, quotaComponent{Type: c.Type, Name: c.Name})
	}
	return out
}

func newQuotaSetCmd(g *globals) *cobra.Command {
	var (
		e         quotaEntity
		addConfig []string
		delConfig []string
		validate  bool
	)
	cmd := &cobra.Command{
		Use:   "set ENTITY KEY=VALUE...",
		Short: "Set (or with --delete-config remove) quotas of one entity",
		Example: `  samsa quota set --user alice producer_byte_rate=1048576 consumer_byte_rate=2097152
  samsa quota set --user alice --client-id app request_percentage=50
  samsa quota set --default-user producer_byte_rate=10485760
  samsa quota set --ip 10.0.0.7 connection_creation_rate=5
  samsa quota set --client-id app --add-config producer_byte_rate=1024,consumer_byte_rate=2048 --delete-config request_percentage`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ops, err := quotaKeyValues(append(args, splitConfigList(addConfig)...))
			if err != nil {
				return usageErrorf(cmd, "%v", err)
			}
			for _, k := range splitConfigList(delConfig) {
				ops = append(ops, kadm.AlterClientQuotaOp{Key: k, Remove: true})
			}
			if len(ops) == 0 {
				return usageErrorf(cmd, "nothing to change: give KEY=VALUE (e.g. producer_byte_rate=1048576) or --delete-config KEY")
			}
			return alterQuotas(cmd, g, &e, ops, validate)
		},
	}
	e.addFlags(cmd)
	cmd.Flags().StringArrayVar(&addConfig, "add-config", nil, "kafka-configs' form: KEY=VALUE[,KEY=VALUE...]")
	cmd.Flags().StringArrayVar(&delConfig, "delete-config", nil, "quota key to remove, KEY[,KEY...]")
	cmd.Flags().BoolVar(&validate, "validate-only", false, "ask the broker to check the change without making it")
	return cmd
}

func newQuotaDeleteCmd(g *globals) *cobra.Command {
	var e quotaEntity
	cmd := &cobra.Command{
		Use:   "delete ENTITY [KEY...]",
		Short: "Remove quotas of one entity: the keys named, or all of them",
		Example: `  samsa quota delete --user alice producer_byte_rate
  samsa quota delete --user alice --client-id app`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var ops []kadm.AlterClientQuotaOp
			for _, k := range splitConfigList(args) {
				ops = append(ops, kadm.AlterClientQuotaOp{Key: k, Remove: true})
			}
			return alterQuotas(cmd, g, &e, ops, false)
		},
	}
	e.addFlags(cmd)
	return cmd
}

// alterQuotas applies ops to the entity. No ops means removing every quota
// the entity has, which are looked up first.
func alterQuotas(cmd *cobra.Command, g *globals, e *quotaEntity, ops []kadm.AlterClientQuotaOp, validate bool) error {
	entity, err := e.components(cmd)
	if err != nil {
		return usageErrorf(cmd, "%v", err)
	}
	if len(entity) == 0 {
		return usageErrorf(cmd, "name an entity: --user, --client-id, --ip or a --default-* flag")
	}
	return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
		if len(ops) == 0 {
			current, err := describeQuotas(ctx, adm, entity, true)
			if err != nil {
				return err
			}
			for _, q := range current {
				for _, v := range q.Values {
					ops = append(ops, kadm.AlterClientQuotaOp{Key: v.Key, Remove: true})
				}
			}
			if len(ops) == 0 {
				return fmt.Errorf("%s has no quotas", entityString(entity))
			}
		}
		alter := adm.AlterClientQuotas
		if validate {
			alter = adm.ValidateAlterClientQuotas
		}
		res, err := alter(ctx, []kadm.AlterClientQuotaEntry{{Entity: entity, Ops: ops}})
		if err != nil {
			return err
		}
		for _, r := range res {
			if r.Err != nil {
				return &brokerError{subject: "quotas of " + entityString(entity), message: r.ErrMessage, err: r.Err}
			}
		}
		change := quotaChange{Entity: jsonEntity(entity), Set: map[string]float64{}, Removed: []string{}}
		for _, op := range ops {
			if op.Remove {
				change.Removed = append(change.Removed, op.Key)
			} else {
				change.Set[op.Key] = op.Value
			}
		}
		if g.json {
			return printJSON(cmd.OutOrStdout(), change)
		}
		verb := "Updated"
		if validate {
			verb = "Validated (not changed)"
		}
		var parts []string
		for _, op := range ops {
			if op.Remove {
				parts = append(parts, "removed "+op.Key)
			} else {
				parts = append(parts, op.Key+"="+formatQuota(op.Value))
			}
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s quotas of %s: %s.\n", verb, entityString(entity), strings.Join(parts, ", "))
		return err
	})
}

// describeQuotas asks for the quotas matching entity: each component
// matched exactly (or as the default); strict leaves out entities with
// more components. An empty entity matches every entity.
func describeQuotas(ctx context.Context, adm *kadm.Client, entity kadm.ClientQuotaEntity, strict bool) (kadm.DescribedClientQuotas, error) {
	var filter []kadm.DescribeClientQuotaComponent
	for _, c := range entity {
		f := kadm.DescribeClientQuotaComponent{Type: c.Type, MatchName: c.Name, MatchType: kmsg.QuotasMatchTypeExact}
		if c.Name == nil {
			f.MatchType = kmsg.QuotasMatchTypeDefault
		}
		filter = append(filter, f)
	}
	return adm.DescribeClientQuotas(ctx, strict && len(entity) > 0, filter)
}

func formatQuota(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

type quotaDescription struct {
	Entity []quotaComponent   `json:"entity"`
	Values map[string]float64 `json:"values"`
}

func newQuotaDescribeCmd(g *globals) *cobra.Command {
	var (
		e      quotaEntity
		strict bool
	)
	cmd := &cobra.Command{
		Use:     "describe [ENTITY]",
		Aliases: []string{"list"},
		Short:   "Show client quotas: all of them, or those of the entities matching the flags",
		Long: `describe shows the quotas set on entities. Without flags it shows every entity
with quotas. --user alice shows alice's own quotas and those of alice with
any client id; --strict keeps only entities made of exactly the components
given. Quotas that apply through defaults are not resolved: --user alice
does not show --default-user's quotas.`,
		Example: `  samsa quota describe
  samsa quota describe --user alice
  samsa quota describe --default-user --strict --json`,
		Args: exactArgs(0, "no arguments (name the entity with flags)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			entity, err := e.components(cmd)
			if err != nil {
				return usageErrorf(cmd, "%v", err)
			}
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				qs, err := describeQuotas(ctx, adm, entity, strict)
				if err != nil {
					return err
				}
				out := []quotaDescription{}
				for _, q := range qs {
					d := quotaDescription{Entity: jsonEntity(q.Entity), Values: map[string]float64{}}
					for _, v := range q.Values {
						d.Values[v.Key] = v.Value
					}
					out = append(out, d)
				}
				sort.Slice(out, func(i, j int) bool { return entityKey(out[i].Entity) < entityKey(out[j].Entity) })
				if g.json {
					return printJSON(cmd.OutOrStdout(), out)
				}
				t := newTable(cmd.OutOrStdout(), "ENTITY", "QUOTA", "VALUE")
				for _, d := range out {
					keys := make([]string, 0, len(d.Values))
					for k := range d.Values {
						keys = append(keys, k)
					}
					sort.Strings(keys)
					for _, k := range keys {
						t.row(entityKey(d.Entity), k, formatQuota(d.Values[k]))
					}
				}
				return t.flush()
			})
		},
	}
	e.addFlags(cmd)
	cmd.Flags().BoolVar(&strict, "strict", false, "only entities made of exactly the components given")
	return cmd
}

func entityKey(e []quotaComponent) string {
	var parts []string
	for _, c := range e {
		name := "<default>"
		if c.Name != nil {
			name = *c.Name
		}
		parts = append(parts, c.Type+"="+name)
	}
	return strings.Join(parts, ", ")
}
