package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
)

// samsa user manages SCRAM credentials as kafka-configs.sh --entity-type
// users --add-config 'SCRAM-SHA-256=[password=...]' does, through
// AlterUserScramCredentials and DescribeUserScramCredentials. The broker
// keeps them salted in its metadata log; no password is ever printed.

func newUserCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Create, delete and list SCRAM users (SASL SCRAM-SHA-256/512 credentials)",
		Long: `user manages the SCRAM credentials the broker checks for SASL SCRAM-SHA-256 and
SCRAM-SHA-512 logins. They live in the cluster's metadata log, salted (the
broker never stores a password), and reach every node. kafka-configs.sh
--entity-type users --alter --add-config 'SCRAM-SHA-256=[password=...]' does
the same.`,
		RunE: groupRunE,
	}
	cmd.AddCommand(newUserCreateCmd(g), newUserDeleteCmd(g), newUserListCmd(g))
	return cmd
}

// scramMechanisms parses --mechanism values (case-insensitive).
func scramMechanisms(names []string) ([]kadm.ScramMechanism, error) {
	var out []kadm.ScramMechanism
	for _, n := range names {
		switch strings.ToUpper(n) {
		case "SCRAM-SHA-256":
			out = append(out, kadm.ScramSha256)
		case "SCRAM-SHA-512":
			out = append(out, kadm.ScramSha512)
		default:
			return nil, fmt.Errorf("--mechanism %q: want SCRAM-SHA-256 or SCRAM-SHA-512", n)
		}
	}
	return out, nil
}

func newUserCreateCmd(g *globals) *cobra.Command {
	var (
		password   string
		fromStdin  bool
		mechanisms []string
		iterations int32
	)
	cmd := &cobra.Command{
		Use:     "create NAME",
		Aliases: []string{"set"},
		Short:   "Create a SCRAM user, or change its password",
		Example: `  samsa user create alice --password-stdin < alice.pass
  samsa user create alice --password 'correct horse' --mechanism SCRAM-SHA-512
  samsa user create alice --password 'correct horse' --mechanism SCRAM-SHA-256 --mechanism SCRAM-SHA-512`,
		Args: exactArgs(1, "the user's name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if name == "" {
				return usageErrorf(cmd, "the user's name is empty")
			}
			mechs, err := scramMechanisms(mechanisms)
			if err != nil {
				return usageErrorf(cmd, "%v", err)
			}
			switch {
			case fromStdin && cmd.Flags().Changed("password"):
				return usageErrorf(cmd, "give --password or --password-stdin, not both")
			case fromStdin:
				if password, err = readPassword(cmd.InOrStdin()); err != nil {
					return err
				}
			case !cmd.Flags().Changed("password"):
				return usageErrorf(cmd, "give the password with --password-stdin (or --password, which other users of this machine can see)")
			}
			if password == "" {
				return usageErrorf(cmd, "the password is empty")
			}
			if iterations < 4096 || iterations > 16384 {
				return usageErrorf(cmd, "--iterations %d: Kafka takes 4096 to 16384", iterations)
			}
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				// One request per mechanism: a request may name a user once.
				for _, m := range mechs {
					res, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: name, Mechanism: m, Iterations: iterations, Password: password}})
					if err := scramResult(name, res, err); err != nil {
						return err
					}
				}
				names := make([]string, len(mechs))
				for i, m := range mechs {
					names[i] = m.String()
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"user": name, "mechanisms": names, "iterations": iterations})
				}
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "Set the %s credentials of user %q (%d iterations).\n", strings.Join(names, " and "), name, iterations)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&password, "password", "", "the password (visible to other users of this machine in the process list; prefer --password-stdin)")
	f.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	f.StringArrayVar(&mechanisms, "mechanism", []string{"SCRAM-SHA-256"}, "SCRAM-SHA-256 or SCRAM-SHA-512 (repeatable)")
	f.Int32Var(&iterations, "iterations", 8192, "PBKDF2 iterations (4096 to 16384; Kafka's tools use 4096 unless told)")
	return cmd
}

// readPassword reads the first line of r, without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func scramResult(name string, res kadm.AlteredUserSCRAMs, err error) error {
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Err != nil {
			return &brokerError{subject: "user " + fmt.Sprintf("%q", r.User), message: r.ErrMessage, err: r.Err}
		}
	}
	if _, ok := res[name]; !ok {
		return fmt.Errorf("user %q: the broker did not answer for it", name)
	}
	return nil
}

func newUserDeleteCmd(g *globals) *cobra.Command {
	var mechanisms []string
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a SCRAM user's credentials (every mechanism, or those named)",
		Example: `  samsa user delete alice
  samsa user delete alice --mechanism SCRAM-SHA-512`,
		Args: exactArgs(1, "the user's name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			mechs, err := scramMechanisms(mechanisms)
			if err != nil {
				return usageErrorf(cmd, "%v", err)
			}
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				if len(mechs) == 0 {
					described, err := adm.DescribeUserSCRAMs(ctx, name)
					if err != nil {
						return err
					}
					d := described[name]
					if d.Err != nil {
						return &brokerError{subject: fmt.Sprintf("user %q", name), message: d.ErrMessage, err: d.Err}
					}
					for _, c := range d.CredInfos {
						mechs = append(mechs, c.Mechanism)
					}
				}
				var deleted []string
				for _, m := range mechs {
					res, err := adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: name, Mechanism: m}}, nil)
					if err := scramResult(name, res, err); err != nil {
						return err
					}
					deleted = append(deleted, m.String())
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"user": name, "deleted": deleted})
				}
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "Deleted the %s credentials of user %q.\n", strings.Join(deleted, " and "), name)
				return err
			})
		},
	}
	cmd.Flags().StringArrayVar(&mechanisms, "mechanism", nil, "SCRAM-SHA-256 or SCRAM-SHA-512 (repeatable; default: every one the user has)")
	return cmd
}

type userCredential struct {
	Mechanism  string `json:"mechanism"`
	Iterations int32  `json:"iterations"`
}

type userDescription struct {
	User        string           `json:"user"`
	Credentials []userCredential `json:"credentials"`
}

func newUserListCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list [NAME...]",
		Aliases: []string{"describe"},
		Short:   "List SCRAM users and their mechanisms (all users, or those named)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				described, err := adm.DescribeUserSCRAMs(ctx, args...)
				if err != nil {
					return err
				}
				out := []userDescription{}
				for _, d := range described {
					if d.Err != nil {
						return &brokerError{subject: fmt.Sprintf("user %q", d.User), message: d.ErrMessage, err: d.Err}
					}
					u := userDescription{User: d.User, Credentials: []userCredential{}}
					for _, c := range d.CredInfos {
						u.Credentials = append(u.Credentials, userCredential{Mechanism: c.Mechanism.String(), Iterations: c.Iterations})
					}
					sort.Slice(u.Credentials, func(i, j int) bool { return u.Credentials[i].Mechanism < u.Credentials[j].Mechanism })
					out = append(out, u)
				}
				sort.Slice(out, func(i, j int) bool { return out[i].User < out[j].User })
				if g.json {
					return printJSON(cmd.OutOrStdout(), out)
				}
				t := newTable(cmd.OutOrStdout(), "USER", "MECHANISM", "ITERATIONS")
				for _, u := range out {
					for _, c := range u.Credentials {
						t.row(u.User, c.Mechanism, c.Iterations)
					}
				}
				return t.flush()
			})
		},
	}
	return cmd
}
