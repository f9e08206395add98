package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/samsa-streaming/samsa/internal/history"
)

// defaultShown is how many anomalies the table output prints in full; the
// first ones usually explain the rest, and --json lists them all.
const defaultShown = 20

// newVerifyCmd is `samsa verify FILE...`: read client histories recorded
// during a test and decide whether the broker lost, duplicated, reordered
// or corrupted records. It talks to no broker, so it also checks histories
// recorded against Kafka or Redpanda.
func newVerifyCmd(g *globals) *cobra.Command {
	shown := defaultShown
	cmd := &cobra.Command{
		Use:   "verify FILE...",
		Short: "Check recorded client histories for lost, duplicated or corrupted records",
		Long: `Reads histories that test clients recorded (JSON lines: produce attempts with
their outcome, consumed records, offset commits, assignments) and checks them
against the final read, a full read of every partition made after the faults:
no acknowledged record lost or moved, no duplicate from an idempotent producer,
acknowledged offsets in send order, no record nobody sent, consumers never
reading data that was later truncated, read_committed never seeing an aborted
record, committed offsets never going back, one owner per partition in a group.

Several files are merged (one per test process, say); - reads standard input.
The format and every check are described in docs/history-checker.md.

Exit status: 0 when no anomaly is found, 1 when any is, 2 when a file cannot
be read or is not a valid history.`,
		Example: `  samsa verify history.jsonl
  samsa verify producers.jsonl consumers.jsonl final.jsonl
  samsa verify --json run-*.jsonl > report.json`,
		Args: minArgs(1, "at least one history file (- for standard input)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if shown < 0 {
				return usageErrorf(cmd, "--show must not be negative")
			}
			return runVerify(cmd, g, args, shown)
		},
	}
	cmd.Flags().IntVar(&shown, "show", defaultShown, "anomalies to print in full (--json lists all)")
	return cmd
}

func runVerify(cmd *cobra.Command, g *globals, files []string, shown int) error {
	h, err := readHistories(cmd, files)
	if err != nil {
		// A file that cannot be judged is bad input, not a failed check:
		// scripts must be able to tell "the broker lost data" (1) from
		// "the test recorded garbage" (2).
		return usageErrorf(cmd, "%v", err)
	}
	if h.Len() == 0 {
		// An empty file is a test that recorded nothing; passing it would
		// hide the harness's failure behind a clean verdict.
		return usageErrorf(cmd, "no events in %s: nothing to verify", strings.Join(files, ", "))
	}
	r, err := history.Check(h)
	if err != nil {
		return usageErrorf(cmd, "%v", err)
	}
	out := cmd.OutOrStdout()
	if g.json {
		err = printJSON(out, r)
	} else {
		err = printVerifyReport(out, r, shown)
	}
	if err != nil {
		return err
	}
	for _, n := range r.Notes {
		fmt.Fprintf(cmd.ErrOrStderr(), "Warning: %s.\n", n)
	}
	if !r.Clean() {
		return fmt.Errorf("%s in %d events", r.Summary(), r.Counts.Events)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "Verified %d events from %d file(s): no anomalies.\n", r.Counts.Events, len(files))
	return nil
}

// readHistories reads and merges the files in the order given.
func readHistories(cmd *cobra.Command, files []string) (*history.History, error) {
	all := &history.History{}
	for _, name := range files {
		h, err := readHistory(cmd, name)
		if err != nil {
			return nil, err
		}
		all.Merge(h)
	}
	return all, nil
}

func readHistory(cmd *cobra.Command, name string) (*history.History, error) {
	var r io.Reader = cmd.InOrStdin()
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	} else {
		name = "standard input"
	}
	h, err := history.Read(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return h, nil
}

func printVerifyReport(w io.Writer, r *history.Report, shown int) error {
	t := newTable(w, "CHECK", "CHECKED", "WHAT", "ANOMALIES", "NOTE")
	for _, c := range r.Checks {
		checked := fmt.Sprint(c.Checked)
		if c.Skipped {
			checked = "-"
		}
		t.row(c.Check, checked, c.What, c.Anomalies, c.Note)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if r.Clean() {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s:\n", capitalize(r.Summary()))
	n := min(shown, len(r.Anomalies))
	for _, a := range r.Anomalies[:n] {
		fmt.Fprintf(&b, "  %s\n", a)
	}
	if more := r.Total() - n; more > 0 {
		fmt.Fprintf(&b, "  ... and %d more (--json lists up to %d of each kind)\n", more, history.MaxAnomaliesPerKind)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
