package cli

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// runGroupWatch is `samsa group describe --watch`: describe the groups
// every interval, with per-partition rates computed from the previous
// refresh, until Ctrl-C (a normal end, exit 0) or --iterations refreshes.
// On a terminal each refresh replaces the screen; otherwise refreshes
// follow one another, and with --json each is one JSON line.
func runGroupWatch(cmd *cobra.Command, g *globals, o *describeOptions, names []string) error {
	adm, cl, err := g.newAdmin(cmd)
	if err != nil {
		return err
	}
	defer cl.Close()
	out := cmd.OutOrStdout()
	clear := isTerminal(out) && !g.json
	var (
		prev     []groupDescription
		prevTime time.Time
	)
	for i := 0; o.iterations == 0 || i < o.iterations; i++ {
		if i > 0 {
			select {
			case <-cmd.Context().Done():
				return nil
			case <-time.After(o.interval):
			}
		}
		ctx, cancel := g.opContext(cmd)
		descs, err := describeGroups(ctx, adm, names)
		cancel()
		if err != nil {
			if cmd.Context().Err() != nil {
				return nil
			}
			return g.explain(cmd, err)
		}
		now := time.Now()
		if prev != nil {
			addRates(descs, prev, now.Sub(prevTime))
		}
		prev, prevTime = descs, now
		if g.json {
			b, err := json.Marshal(map[string]any{"time": now.UTC().Format(time.RFC3339Nano), "groups": descs})
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(out, "%s\n", b); err != nil {
				return err
			}
			continue
		}
		if clear {
			fmt.Fprint(out, "\x1b[H\x1b[2J")
		} else if i > 0 {
			fmt.Fprintln(out)
		}
		fmt.Fprintf(out, "Every %s: %s  %s\n\n", o.interval, strings.Join(append([]string{"samsa group describe"}, names...), " "),
			now.Format("15:04:05"))
		if err := printGroupDescriptions(out, descs, true); err != nil {
			return err
		}
	}
	return nil
}

// addRates sets the per-partition and per-group rates of descs from the
// offsets in prev, elapsed earlier. A partition without a committed offset
// in either refresh has no consumption rate.
func addRates(descs, prev []groupDescription, elapsed time.Duration) {
	secs := elapsed.Seconds()
	if secs <= 0 {
		return
	}
	type key struct {
		group, topic string
		partition    int32
	}
	before := map[key]partitionLag{}
	for _, d := range prev {
		for _, o := range d.Offsets {
			before[key{d.Group, o.Topic, o.Partition}] = o
		}
	}
	for i := range descs {
		d := &descs[i]
		var consumed, produced float64
		var haveConsumed, haveProduced bool
		for j := range d.Offsets {
			o := &d.Offsets[j]
			b, ok := before[key{d.Group, o.Topic, o.Partition}]
			if !ok {
				continue
			}
			in := float64(max(o.LogEndOffset-b.LogEndOffset, 0)) / secs
			o.ProduceRate = &in
			produced, haveProduced = produced+in, true
			if o.CurrentOffset != nil && b.CurrentOffset != nil {
				r := float64(max(*o.CurrentOffset-*b.CurrentOffset, 0)) / secs
				o.ConsumeRate = &r
				consumed, haveConsumed = consumed+r, true
			}
		}
		if haveConsumed {
			d.ConsumeRate = &consumed
		}
		if haveProduced {
			d.ProduceRate = &produced
		}
	}
}

func optRate(r *float64) string {
	if r == nil {
		return "-"
	}
	return strconv.FormatFloat(*r, 'f', 1, 64)
}
