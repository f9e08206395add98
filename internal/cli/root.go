package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes returned by Execute. They follow the shell conventions users
// already know: 2 for a command line that could not be parsed, 130 for
// an interrupt that stopped a command before it finished its work.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// defaultBrokers is where a broker started by `samsa serve` with no flags
// listens; a fresh install therefore works without any configuration.
const defaultBrokers = "127.0.0.1:9092"

// brokersEnv names the environment variable that replaces the default
// bootstrap list, so that a shell session can point every command at one
// cluster without repeating -b.
const brokersEnv = "SAMSA_BROKERS"

// globals holds the persistent flags shared by every client command. One
// value is created per command tree, so trees built in tests do not share
// state.
type globals struct {
	brokers string
	json    bool
	timeout time.Duration
	// commandConfig and clientProps are Kafka client properties (a file and
	// -X key=value overrides), read by clientSecurity.
	commandConfig string
	clientProps   []string
	// props caches what loadClientProps read, once per command run.
	props *clientProperties
	// sec is how the last client connected, for error messages.
	sec security
}

// seeds returns the bootstrap addresses. An explicit -b wins over
// SAMSA_BROKERS, which wins over the default; the environment is read at
// run time rather than when the tree is built so tests can set it.
func (g *globals) seeds(cmd *cobra.Command) []string {
	list := g.brokers
	if !flagChanged(cmd, "brokers") && !flagChanged(cmd, "bootstrap-server") {
		if env := strings.TrimSpace(os.Getenv(brokersEnv)); env != "" {
			list = env
		} else if p, err := g.loadClientProps(cmd); err == nil && p.bootstrap != "" {
			// bootstrap.servers in a --command-config file, as Kafka's
			// tools would not use it but people expect it to work.
			list = p.bootstrap
		}
	}
	var out []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// flagChanged reports whether the flag name was given on the command line.
func flagChanged(cmd *cobra.Command, name string) bool {
	f := cmd.Flags().Lookup(name)
	return f != nil && f.Changed
}

// NewRoot builds the samsa command tree with every client command attached.
// The caller adds the server command and runs the tree with Execute.
func NewRoot(version string) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "samsa",
		Short: "Samsa: a Kafka-compatible streaming broker and its command-line client",
		Long: `samsa runs a Kafka-compatible broker (samsa serve) and talks to any
Kafka-compatible cluster over the wire: manage topics, produce and consume
records, inspect the cluster and measure throughput.

Brokers are taken from -b/--brokers, else from $SAMSA_BROKERS, else ` + defaultBrokers + `.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVarP(&g.brokers, "brokers", "b", defaultBrokers,
		"comma-separated bootstrap brokers (host:port); env "+brokersEnv)
	pf.AddFlag(&pflag.Flag{Name: "bootstrap-server", Value: pf.Lookup("brokers").Value, DefValue: defaultBrokers,
		Usage: "Kafka's name for -b/--brokers"})
	pf.StringVar(&g.commandConfig, "command-config", "",
		"Kafka client properties file (security.protocol, ssl.*, sasl.*); env "+commandConfigEnv)
	for _, alias := range []string{"producer.config", "consumer.config"} {
		pf.AddFlag(&pflag.Flag{Name: alias, Value: pf.Lookup("command-config").Value, Usage: "Kafka's name for --command-config"})
	}
	pf.StringArrayVarP(&g.clientProps, "client-property", "X", nil,
		"Kafka client property key=value, over --command-config (repeatable)")
	for _, alias := range []string{"command-property", "producer-property", "consumer-property"} {
		pf.AddFlag(&pflag.Flag{Name: alias, Value: pf.Lookup("client-property").Value, DefValue: "[]", Usage: "Kafka's name for -X/--client-property"})
	}
	pf.BoolVar(&g.json, "json", false, "print results as JSON for scripts")
	pf.DurationVar(&g.timeout, "timeout", 10*time.Second, "how long to wait for each broker operation")

	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageErrorf(cmd, "%v", err)
	})
	root.AddCommand(
		newTopicCmd(g),
		newProduceCmd(g),
		newConsumeCmd(g),
		newClusterCmd(g),
		newBenchCmd(g),
		newGroupCmd(g),
		newTxnCmd(g),
		newBrokerCmd(g),
		newVerifyCmd(g),
		newACLCmd(g),
		newQuotaCmd(g),
		newUserCmd(g),
	)
	addKafkaFlags(root)
	return root
}

// Execute runs the command tree and returns the process exit code. It prints
// a returned error once, as "samsa: <message>", and cancels the commands'
// context on SIGINT or SIGTERM so that they can stop cleanly; a second
// signal kills the process the default way.
func Execute(root *cobra.Command) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// Restoring the default handlers after the first signal lets an
		// impatient second Ctrl-C end a command stuck in a slow shutdown.
		<-ctx.Done()
		stop()
	}()
	return executeContext(ctx, root)
}

// executeContext is Execute without the signal handling, for tests.
func executeContext(ctx context.Context, root *cobra.Command) int {
	root.SilenceUsage = true
	root.SilenceErrors = true
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	stderr := root.ErrOrStderr()
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "samsa: %v\nRun '%s --help' for usage.\n", ue.err, ue.path)
		return exitUsage
	case strings.HasPrefix(err.Error(), "unknown command"):
		// Cobra reports unknown subcommands of the root with a plain error.
		fmt.Fprintf(stderr, "samsa: %v\nRun '%s --help' for usage.\n", err, cmd.CommandPath())
		return exitUsage
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		fmt.Fprintln(stderr, "samsa: interrupted")
		return exitInterrupted
	default:
		fmt.Fprintf(stderr, "samsa: %v\n", err)
		return exitFailure
	}
}

// usageError marks a command line that could not be understood, as opposed
// to a command that ran and failed; Execute gives it its own exit code and
// points at the command's help.
type usageError struct {
	path string
	err  error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(cmd *cobra.Command, format string, args ...any) error {
	return &usageError{path: cmd.CommandPath(), err: fmt.Errorf(format, args...)}
}

// exactArgs and minArgs replace cobra's validators so that a wrong argument
// count is reported as a usage error naming what was expected.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf(cmd, "expected %s, got %d argument(s)", what, len(args))
		}
		return nil
	}
}

func minArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usageErrorf(cmd, "expected %s", what)
		}
		return nil
	}
}

// groupRunE makes a command that only groups subcommands print its help when
// run bare, and reject unknown subcommands instead of silently printing help.
func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf(cmd, "unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return cmd.Help()
}
