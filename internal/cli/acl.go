package cli

import (
	"context"
	"fmt"
	"sort"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
)

func newACLCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "acl",
		Aliases: []string{"acls"},
		Short:   "Create, list and delete ACLs (kafka-acls.sh)",
		Long: `acl manages access control lists the way kafka-acls.sh does, with its
options: resources (--topic, --group, --cluster, --transactional-id) with a
--resource-pattern-type, principals (--allow-principal, --deny-principal,
Type:Name such as User:alice), hosts and operations. The brokers need an
authorizer (authorizer.class.name); the ACLs live in the cluster's metadata
log, so they apply on every broker at once. Creating and deleting needs
ALTER on the cluster, listing DESCRIBE on it.`,
		RunE: groupRunE,
	}
	cmd.AddCommand(newACLCreateCmd(g), newACLListCmd(g), newACLDeleteCmd(g))
	return cmd
}

// aclOpts are kafka-acls.sh's common options.
type aclOpts struct {
	topics, groups, txnIDs   []string
	cluster                  bool
	patternType              string
	allow, deny              []string
	allowHosts, denyHosts    []string
	hosts                    []string
	operations               []string
	principal                string
	producer, consumer, idem bool
}

func (o *aclOpts) resourceFlags(cmd *cobra.Command, patternDefault, patternHelp string) {
	f := cmd.Flags()
	f.StringArrayVar(&o.topics, "topic", nil, "topic (repeatable; * is every topic)")
	f.StringArrayVar(&o.groups, "group", nil, "consumer group (repeatable; * is every group)")
	f.StringArrayVar(&o.txnIDs, "transactional-id", nil, "transactional id (repeatable; * is every one)")
	f.BoolVar(&o.cluster, "cluster", false, "the cluster resource")
	f.StringVar(&o.patternType, "resource-pattern-type", patternDefault, patternHelp)
}

func (o *aclOpts) entryFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&o.allow, "allow-principal", nil, "principal to allow, Type:Name (User:alice; User:* is everyone; repeatable)")
	f.StringArrayVar(&o.deny, "deny-principal", nil, "principal to deny (repeatable)")
	f.StringArrayVar(&o.allowHosts, "allow-host", nil, "host (IP address) the allowed principals connect from (default *)")
	f.StringArrayVar(&o.denyHosts, "deny-host", nil, "host the denied principals connect from (default *)")
	f.StringArrayVar(&o.hosts, "host", nil, "host for both --allow-principal and --deny-principal")
	f.StringArrayVar(&o.operations, "operation", nil, "operation: Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All (repeatable)")
}

type aclResource struct {
	rt   acl.ResourceType
	name string
}

func (o *aclOpts) resources() []aclResource {
	var out []aclResource
	for _, t := range o.topics {
		out = append(out, aclResource{acl.ResourceTopic, t})
	}
	for _, g := range o.groups {
		out = append(out, aclResource{acl.ResourceGroup, g})
	}
	for _, x := range o.txnIDs {
		out = append(out, aclResource{acl.ResourceTransactionalID, x})
	}
	if o.cluster {
		out = append(out, aclResource{acl.ResourceCluster, acl.ClusterName})
	}
	return out
}

func (o *aclOpts) ops() ([]acl.Operation, error) {
	var out []acl.Operation
	for _, s := range o.operations {
		op, err := acl.ParseOperation(s)
		if err != nil {
			return nil, err
		}
		out = append(out, op)
	}
	return out, nil
}

// entry is one principal, host and permission.
type aclEntry struct {
	principal, host string
	perm            acl.Permission
}

func (o *aclOpts) entries(defaultHost string) ([]aclEntry, error) {
	pick := func(specific []string) []string {
		switch {
		case len(specific) > 0:
			return specific
		case len(o.hosts) > 0:
			return o.hosts
		}
		return []string{defaultHost}
	}
	var out []aclEntry
	for _, set := range []struct {
		principals, hosts []string
		perm              acl.Permission
	}{{o.allow, pick(o.allowHosts), acl.Allow}, {o.deny, pick(o.denyHosts), acl.Deny}} {
		for _, p := range set.principals {
			if !acl.ValidPrincipal(p) {
				return nil, fmt.Errorf("principal %q is not of the form Type:Name (User:alice)", p)
			}
			for _, h := range set.hosts {
				out = append(out, aclEntry{p, h, set.perm})
			}
		}
	}
	return out, nil
}

// aclJSON is one ACL as --json prints it.
type aclJSON struct {
	ResourceType string `json:"resource_type"`
	Name         string `json:"name"`
	PatternType  string `json:"pattern_type"`
	Principal    string `json:"principal"`
	Host         string `json:"host"`
	Operation    string `json:"operation"`
	Permission   string `json:"permission"`
	Error        string `json:"error,omitempty"`
}

func toJSON(b acl.Binding) aclJSON {
	return aclJSON{b.ResourceType.String(), b.Name, b.PatternType.String(), b.Principal, b.Host, b.Operation.String(), b.Permission.String(), ""}
}

func printACLs(cmd *cobra.Command, g *globals, out []aclJSON) error {
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.ResourceType != b.ResourceType {
			return a.ResourceType < b.ResourceType
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.PatternType < b.PatternType
	})
	if g.json {
		if out == nil {
			out = []aclJSON{}
		}
		return printJSON(cmd.OutOrStdout(), out)
	}
	headers := []string{"RESOURCE", "NAME", "PATTERN", "PRINCIPAL", "HOST", "OPERATION", "PERMISSION"}
	withErr := false
	for _, a := range out {
		withErr = withErr || a.Error != ""
	}
	if withErr {
		headers = append(headers, "ERROR")
	}
	t := newTable(cmd.OutOrStdout(), headers...)
	for _, a := range out {
		cells := []any{a.ResourceType, a.Name, a.PatternType, a.Principal, a.Host, a.Operation, a.Permission}
		if withErr {
			cells = append(cells, a.Error)
		}
		t.row(cells...)
	}
	return t.flush()
}

// withClient runs fn with a client and a context bounded by --timeout.
func (g *globals) withClient(cmd *cobra.Command, fn func(ctx context.Context, cl *kgo.Client) error) error {
	cl, err := g.newClient(cmd)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := g.opContext(cmd)
	defer cancel()
	return g.explain(cmd, fn(ctx, cl))
}

func aclError(what string, code int16, msg *string) error {
	if code == 0 {
		return nil
	}
	m := ""
	if msg != nil {
		m = *msg
	}
	hint := ""
	switch code {
	case kerr.SecurityDisabled.Code:
		hint = "the brokers have no authorizer: set authorizer.class.name=" + "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
	case kerr.ClusterAuthorizationFailed.Code:
		hint = "this needs ALTER (create, delete) or DESCRIBE (list) on the cluster, or a principal in super.users"
	}
	return &brokerError{subject: what, message: m, hint: hint, err: kerr.ErrorForCode(code)}
}

// producerConsumerBindings are kafka-acls.sh's --producer and --consumer
// conveniences: a producer may WRITE, DESCRIBE and CREATE its topics (and
// WRITE and DESCRIBE its transactional ids; --idempotent adds
// IDEMPOTENT_WRITE on the cluster), a consumer may READ and DESCRIBE its
// topics and READ its groups.
func (o *aclOpts) producerConsumerBindings(pt acl.PatternType, entries []aclEntry) []acl.Binding {
	var out []acl.Binding
	add := func(rt acl.ResourceType, name string, ops ...acl.Operation) {
		for _, e := range entries {
			for _, op := range ops {
				out = append(out, acl.Binding{ResourceType: rt, Name: name, PatternType: pt, Principal: e.principal, Host: e.host, Operation: op, Permission: e.perm})
			}
		}
	}
	if o.producer {
		for _, t := range o.topics {
			add(acl.ResourceTopic, t, acl.OpWrite, acl.OpDescribe, acl.OpCreate)
		}
		for _, x := range o.txnIDs {
			add(acl.ResourceTransactionalID, x, acl.OpWrite, acl.OpDescribe)
		}
		if o.idem {
			for _, e := range entries {
				out = append(out, acl.Binding{ResourceType: acl.ResourceCluster, Name: acl.ClusterName, PatternType: acl.PatternLiteral, Principal: e.principal, Host: e.host, Operation: acl.OpIdempotentWrite, Permission: e.perm})
			}
		}
	}
	if o.consumer {
		for _, t := range o.topics {
			add(acl.ResourceTopic, t, acl.OpRead, acl.OpDescribe)
		}
		for _, gr := range o.groups {
			add(acl.ResourceGroup, gr, acl.OpRead)
		}
	}
	return out
}

func newACLCreateCmd(g *globals) *cobra.Command {
	o := &aclOpts{}
	cmd := &cobra.Command{
		Use:     "create",
		Aliases: []string{"add"},
		Short:   "Create ACLs (kafka-acls.sh --add)",
		Long: `create adds one ACL for every combination of the resources, principals,
hosts and operations given. An ACL that exists already is left as it is.`,
		Example: `  samsa acl create --allow-principal User:alice --operation Read --operation Describe --topic orders
  samsa acl create --allow-principal User:etl --operation All --topic etl. --resource-pattern-type prefixed
  samsa acl create --deny-principal User:mallory --operation All --topic '*'
  samsa acl create --allow-principal User:app --producer --topic events --transactional-id app-
  samsa acl create --allow-principal User:app --consumer --topic events --group app`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pt, err := acl.ParsePatternType(o.patternType)
			if err != nil || (pt != acl.PatternLiteral && pt != acl.PatternPrefixed) {
				return usageErrorf(cmd, "--resource-pattern-type must be literal or prefixed")
			}
			entries, err := o.entries(acl.Wildcard)
			if err != nil {
				return usageErrorf(cmd, "%v", err)
			}
			if len(entries) == 0 {
				return usageErrorf(cmd, "give --allow-principal or --deny-principal")
			}
			ops, err := o.ops()
			if err != nil {
				return usageErrorf(cmd, "%v", err)
			}
			var bindings []acl.Binding
			if o.producer || o.consumer {
				if len(ops) > 0 {
					return usageErrorf(cmd, "--producer and --consumer choose the operations; do not add --operation")
				}
				bindings = o.producerConsumerBindings(pt, entries)
			} else {
				if len(ops) == 0 {
					return usageErrorf(cmd, "give at least one --operation")
				}
				for _, r := range o.resources() {
					for _, e := range entries {
						for _, op := range ops {
							rpt := pt
							if r.rt == acl.ResourceCluster {
								rpt = acl.PatternLiteral
							}
							bindings = append(bindings, acl.Binding{ResourceType: r.rt, Name: r.name, PatternType: rpt, Principal: e.principal, Host: e.host, Operation: op, Permission: e.perm})
						}
					}
				}
			}
			if len(bindings) == 0 {
				return usageErrorf(cmd, "give a resource: --topic, --group, --transactional-id or --cluster")
			}
			return g.withClient(cmd, func(ctx context.Context, cl *kgo.Client) error {
				req := kmsg.NewPtrCreateACLsRequest()
				for _, b := range bindings {
					c := kmsg.NewCreateACLsRequestCreation()
					c.ResourceType, c.ResourceName, c.ResourcePatternType = kmsg.ACLResourceType(b.ResourceType), b.Name, kmsg.ACLResourcePatternType(b.PatternType)
					c.Principal, c.Host = b.Principal, b.Host
					c.Operation, c.PermissionType = kmsg.ACLOperation(b.Operation), kmsg.ACLPermissionType(b.Permission)
					req.Creations = append(req.Creations, c)
				}
				resp, err := req.RequestWith(ctx, cl)
				if err != nil {
					return err
				}
				var out []aclJSON
				var firstErr error
				for i, r := range resp.Results {
					if i >= len(bindings) {
						break
					}
					j := toJSON(bindings[i])
					if err := aclError("ACL "+bindings[i].String(), r.ErrorCode, r.ErrorMessage); err != nil {
						j.Error = kerr.ErrorForCode(r.ErrorCode).Error()
						if firstErr == nil {
							firstErr = err
						}
					}
					out = append(out, j)
				}
				if err := printACLs(cmd, g, out); err != nil {
					return err
				}
				return firstErr
			})
		},
	}
	o.resourceFlags(cmd, "literal", "literal or prefixed (the name is a prefix of the resources' names)")
	o.entryFlags(cmd)
	cmd.Flags().BoolVar(&o.producer, "producer", false, "the ACLs a producer needs: WRITE, DESCRIBE, CREATE on the topics; WRITE, DESCRIBE on the transactional ids")
	cmd.Flags().BoolVar(&o.consumer, "consumer", false, "the ACLs a consumer needs: READ, DESCRIBE on the topics; READ on the groups")
	cmd.Flags().BoolVar(&o.idem, "idempotent", false, "with --producer: IDEMPOTENT_WRITE on the cluster")
	return cmd
}

// filters builds DescribeAcls / DeleteAcls filters from the options:
// every resource given (none: any resource), every principal with its
// permission and host (none: any), every operation (none: any).
func (o *aclOpts) filters(defaultPattern acl.PatternType) ([]acl.Filter, error) {
	pt := defaultPattern
	if o.patternType != "" {
		var err error
		if pt, err = acl.ParsePatternType(o.patternType); err != nil {
			return nil, err
		}
	}
	ops, err := o.ops()
	if err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		ops = []acl.Operation{acl.OpAny}
	}
	type res struct {
		rt   acl.ResourceType
		name *string
		pt   acl.PatternType
	}
	var rs []res
	for _, r := range o.resources() {
		name := r.name
		rpt := pt
		if r.rt == acl.ResourceCluster && (pt == acl.PatternPrefixed) {
			rpt = acl.PatternLiteral
		}
		rs = append(rs, res{r.rt, &name, rpt})
	}
	if len(rs) == 0 {
		rs = []res{{acl.ResourceAny, nil, acl.PatternAny}}
		if o.patternType != "" {
			rs[0].pt = pt
		}
	}
	type ent struct {
		principal, host *string
		perm            acl.Permission
	}
	var es []ent
	entries, err := o.entries("")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		e := e
		var host *string
		if e.host != "" {
			host = &e.host
		}
		es = append(es, ent{&e.principal, host, e.perm})
	}
	if o.principal != "" {
		p := o.principal
		es = append(es, ent{&p, nil, acl.PermissionAny})
	}
	if len(es) == 0 {
		var host *string
		if len(o.hosts) > 0 {
			host = &o.hosts[0]
		}
		es = []ent{{nil, host, acl.PermissionAny}}
	}
	var out []acl.Filter
	for _, r := range rs {
		for _, e := range es {
			for _, op := range ops {
				out = append(out, acl.Filter{ResourceType: r.rt, Name: r.name, PatternType: r.pt,
					Principal: e.principal, Host: e.host, Operation: op, Permission: e.perm})
			}
		}
	}
	return out, nil
}

func newACLListCmd(g *globals) *cobra.Command {
	o := &aclOpts{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List ACLs (kafka-acls.sh --list)",
		Long: `list shows the ACLs that match the options: all of them without options.
With a resource, --resource-pattern-type picks which: literal (the default)
or prefixed patterns of that name, any (both), or match (every ACL that
applies to the resource: its literal ones, the wildcard * and the prefixes
of its name).`,
		Example: `  samsa acl list
  samsa acl list --topic orders --resource-pattern-type match
  samsa acl list --principal User:alice --json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			filters, err := o.filters(acl.PatternLiteral)
			if err != nil {
				return usageErrorf(cmd, "%v", err)
			}
			return g.withClient(cmd, func(ctx context.Context, cl *kgo.Client) error {
				seen := map[acl.Binding]bool{}
				var out []aclJSON
				for _, f := range filters {
					req := kmsg.NewPtrDescribeACLsRequest()
					req.ResourceType, req.ResourceName, req.ResourcePatternType = kmsg.ACLResourceType(f.ResourceType), f.Name, kmsg.ACLResourcePatternType(f.PatternType)
					req.Principal, req.Host = f.Principal, f.Host
					req.Operation, req.PermissionType = kmsg.ACLOperation(f.Operation), kmsg.ACLPermissionType(f.Permission)
					resp, err := req.RequestWith(ctx, cl)
					if err != nil {
						return err
					}
					if err := aclError("listing ACLs", resp.ErrorCode, resp.ErrorMessage); err != nil {
						return err
					}
					for _, r := range resp.Resources {
						for _, a := range r.ACLs {
							b := acl.Binding{ResourceType: acl.ResourceType(r.ResourceType), Name: r.ResourceName, PatternType: acl.PatternType(r.ResourcePatternType),
								Principal: a.Principal, Host: a.Host, Operation: acl.Operation(a.Operation), Permission: acl.Permission(a.PermissionType)}
							if !seen[b] {
								seen[b] = true
								out = append(out, toJSON(b))
							}
						}
					}
				}
				return printACLs(cmd, g, out)
			})
		},
	}
	o.resourceFlags(cmd, "", "literal (default), prefixed, any or match")
	o.entryFlags(cmd)
	cmd.Flags().StringVar(&o.principal, "principal", "", "only ACLs of this principal (allow or deny)")
	return cmd
}

func newACLDeleteCmd(g *globals) *cobra.Command {
	o := &aclOpts{}
	cmd := &cobra.Command{
		Use:     "delete",
		Aliases: []string{"remove"},
		Short:   "Delete ACLs (kafka-acls.sh --remove)",
		Long: `delete removes every ACL of the resources given that matches the other
options: without --allow-principal/--deny-principal/--principal any
principal, without --operation any operation. A resource is required.
--resource-pattern-type match removes every ACL that applies to the
resource (wildcard and prefixes included): use it with care.`,
		Example: `  samsa acl delete --topic orders --allow-principal User:alice --operation Read
  samsa acl delete --topic etl. --resource-pattern-type prefixed`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(o.resources()) == 0 {
				return usageErrorf(cmd, "give a resource: --topic, --group, --transactional-id or --cluster")
			}
			filters, err := o.filters(acl.PatternLiteral)
			if err != nil {
				return usageErrorf(cmd, "%v", err)
			}
			return g.withClient(cmd, func(ctx context.Context, cl *kgo.Client) error {
				req := kmsg.NewPtrDeleteACLsRequest()
				for _, f := range filters {
					rf := kmsg.NewDeleteACLsRequestFilter()
					rf.ResourceType, rf.ResourceName, rf.ResourcePatternType = kmsg.ACLResourceType(f.ResourceType), f.Name, kmsg.ACLResourcePatternType(f.PatternType)
					rf.Principal, rf.Host = f.Principal, f.Host
					rf.Operation, rf.PermissionType = kmsg.ACLOperation(f.Operation), kmsg.ACLPermissionType(f.Permission)
					req.Filters = append(req.Filters, rf)
				}
				resp, err := req.RequestWith(ctx, cl)
				if err != nil {
					return err
				}
				seen := map[acl.Binding]bool{}
				var out []aclJSON
				for _, r := range resp.Results {
					if err := aclError("deleting ACLs", r.ErrorCode, r.ErrorMessage); err != nil {
						return err
					}
					for _, m := range r.MatchingACLs {
						b := acl.Binding{ResourceType: acl.ResourceType(m.ResourceType), Name: m.ResourceName, PatternType: acl.PatternType(m.ResourcePatternType),
							Principal: m.Principal, Host: m.Host, Operation: acl.Operation(m.Operation), Permission: acl.Permission(m.PermissionType)}
						if !seen[b] {
							seen[b] = true
							out = append(out, toJSON(b))
						}
					}
				}
				if !g.json && len(out) == 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "no ACL matched")
					return nil
				}
				return printACLs(cmd, g, out)
			})
		},
	}
	o.resourceFlags(cmd, "", "literal (default), prefixed, any or match")
	o.entryFlags(cmd)
	cmd.Flags().StringVar(&o.principal, "principal", "", "only ACLs of this principal (allow or deny)")
	return cmd
}
