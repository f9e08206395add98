package cli

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// This file lets people type what they type for Kafka's own tools
// (kafka-topics.sh, kafka-console-producer.sh, kafka-console-consumer.sh,
// kafka-consumer-groups.sh, kafka-acls.sh): the same flag names where the
// meaning is the same. The aliases are added to the finished command tree,
// so the commands themselves keep one spelling of each option; docs/cli.md
// has the table.

// flagAlias makes kafka another name for the flag ours of the command at
// path: both write the same value. conv, when set, translates the Kafka
// value into ours (for instance milliseconds into a duration).
type flagAlias struct {
	path  string
	kafka string
	ours  string
	conv  func(string) (string, error)
	// noOptDefault is the value the flag takes when given without one
	// (kafka-console-producer's bare --compression-codec means gzip).
	noOptDefault string
}

var flagAliases = []flagAlias{
	{path: "topic add-partitions", kafka: "partitions", ours: "total"},
	{path: "produce", kafka: "compression-codec", ours: "compression", noOptDefault: "gzip"},
	{path: "produce", kafka: "request-required-acks", ours: "acks"},
	{path: "produce", kafka: "reader-property", ours: "property"},
	{path: "consume", kafka: "max-messages", ours: "num"},
	{path: "consume", kafka: "timeout-ms", ours: "timeout-idle", conv: millisToDuration},
	{path: "consume", kafka: "formatter-property", ours: "property"},
	{path: "group describe", kafka: "all-groups", ours: "all"},
}

// flagArg lets a repeatable flag stand for the command's positional
// arguments, as Kafka's tools take --topic and --group where samsa takes
// a NAME argument; both spellings may be mixed.
type flagArg struct {
	path, flag, what string
}

var flagArgs = []flagArg{
	{"topic create", "topic", "topic"},
	{"topic describe", "topic", "topic"},
	{"topic delete", "topic", "topic"},
	{"topic add-partitions", "topic", "topic"},
	{"topic alter-config", "topic", "topic"},
	{"produce", "topic", "topic"},
	{"consume", "topic", "topic"},
	{"group describe", "group", "group"},
	{"group delete", "group", "group"},
	{"group reset-offsets", "group", "group"},
	{"group delete-offsets", "group", "group"},
}

// modeFlags are the action flags of kafka-topics.sh, kafka-consumer-groups.sh
// and kafka-acls.sh: `samsa topic --create --topic t` runs `samsa topic
// create --topic t`.
var modeFlags = map[string]map[string]string{
	"topic": {"create": "create", "list": "list", "describe": "describe", "delete": "delete", "alter": "add-partitions"},
	"group": {"list": "list", "describe": "describe", "delete": "delete",
		"reset-offsets": "reset-offsets", "delete-offsets": "delete-offsets"},
	"acl": {"add": "create", "list": "list", "remove": "delete"},
}

// addKafkaFlags installs the aliases, flag arguments and action flags on a
// built tree. A missing command or flag is a programming error: the tables
// above must follow the commands.
func addKafkaFlags(root *cobra.Command) {
	find := func(path string) *cobra.Command {
		cmd, rest, err := root.Find(strings.Fields(path))
		if err != nil || len(rest) > 0 || cmd.CommandPath() != "samsa "+path {
			panic("kafkaflags: no command " + path)
		}
		return cmd
	}
	for _, a := range flagAliases {
		cmd := find(a.path)
		orig := cmd.Flags().Lookup(a.ours)
		if orig == nil {
			panic("kafkaflags: no flag --" + a.ours + " on " + a.path)
		}
		var v pflag.Value = orig.Value
		usage := "Kafka's name for --" + a.ours
		if a.conv != nil {
			v = &convertedValue{target: orig.Value, conv: a.conv}
			usage = "Kafka's --" + a.kafka + " (in milliseconds), for --" + a.ours
		}
		noOpt := a.noOptDefault
		if noOpt == "" {
			noOpt = orig.NoOptDefVal // "true" for a boolean
		}
		cmd.Flags().AddFlag(&pflag.Flag{Name: a.kafka, Usage: usage, Value: v,
			DefValue: orig.DefValue, NoOptDefVal: noOpt})
	}
	for _, fa := range flagArgs {
		addFlagArg(find(fa.path), fa.flag, fa.what)
	}
	for path, modes := range modeFlags {
		addModeFlags(find(path), modes)
	}
}

// convertedValue is a flag value written through a conversion.
type convertedValue struct {
	target pflag.Value
	conv   func(string) (string, error)
}

func (c *convertedValue) String() string { return c.target.String() }
func (c *convertedValue) Type() string   { return "int" }
func (c *convertedValue) Set(s string) error {
	v, err := c.conv(s)
	if err != nil {
		return err
	}
	return c.target.Set(v)
}

func millisToDuration(s string) (string, error) {
	ms, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || ms < 0 {
		return "", fmt.Errorf("want a number of milliseconds, got %q", s)
	}
	return strconv.FormatInt(ms, 10) + "ms", nil
}

// addFlagArg adds --flag (repeatable) to cmd; its values are put before the
// positional arguments, both when they are checked and when the command
// runs.
func addFlagArg(cmd *cobra.Command, flag, what string) {
	var vals []string
	if cmd.Flags().Lookup(flag) != nil {
		panic("kafkaflags: " + cmd.CommandPath() + " already has --" + flag)
	}
	cmd.Flags().StringArrayVar(&vals, flag, nil, "the "+what+", as Kafka's tools take it (instead of the argument; repeatable where several are)")
	merge := func(args []string) []string {
		if len(vals) == 0 {
			return args
		}
		return append(append([]string(nil), vals...), args...)
	}
	validate, run := cmd.Args, cmd.RunE
	cmd.Args = func(c *cobra.Command, args []string) error {
		if validate == nil {
			return nil
		}
		return validate(c, merge(args))
	}
	cmd.RunE = func(c *cobra.Command, args []string) error { return run(c, merge(args)) }
}

// addModeFlags makes a command that groups subcommands also accept
// Kafka's action flags (--create, --list, ...): the one given picks the
// subcommand, which then parses the remaining arguments. Flag parsing is
// turned off on the grouping command so that the subcommand's flags reach
// it; without an action flag the command behaves as before (help, or an
// unknown subcommand refused).
func addModeFlags(cmd *cobra.Command, modes map[string]string) {
	var names []string
	for m := range modes {
		names = append(names, "--"+m)
	}
	sort.Strings(names)
	cmd.DisableFlagParsing = true
	cmd.Long = strings.TrimSpace(cmd.Long + "\n\nKafka's action flags work too: " + strings.Join(names, ", ") +
		" (for instance `" + cmd.CommandPath() + " " + names[0] + " ...`), followed by that subcommand's flags.")
	cmd.RunE = func(c *cobra.Command, args []string) error {
		mode := ""
		var rest []string
		for _, a := range args {
			if name, ok := strings.CutPrefix(a, "--"); ok && modes[name] != "" {
				if mode != "" && mode != name {
					return usageErrorf(c, "give only one of %s", strings.Join(names, ", "))
				}
				mode = name
				continue
			}
			rest = append(rest, a)
		}
		if mode == "" {
			for _, a := range args {
				if a == "-h" || a == "--help" {
					return c.Help()
				}
			}
			// Parse as cobra would have, to find a misspelt subcommand.
			c.DisableFlagParsing = false
			err := c.ParseFlags(args)
			c.DisableFlagParsing = true
			if err != nil {
				return usageErrorf(c, "%v", err)
			}
			return groupRunE(c, c.Flags().Args())
		}
		sub, _, err := c.Find([]string{modes[mode]})
		if err != nil || sub == c {
			return fmt.Errorf("kafkaflags: no subcommand %s of %s", modes[mode], c.CommandPath())
		}
		for _, a := range rest {
			if a == "-h" || a == "--help" {
				return sub.Help()
			}
		}
		if err := sub.ParseFlags(rest); err != nil {
			return usageErrorf(sub, "%v", err)
		}
		sub.SetContext(c.Context())
		pos := sub.Flags().Args()
		if err := sub.ValidateArgs(pos); err != nil {
			return err
		}
		return sub.RunE(sub, pos)
	}
}
