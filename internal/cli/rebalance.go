package cli

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
)

// `samsa cluster rebalance` plans an even spread of replicas and preferred
// leaders over the brokers, shows it, and with --execute carries it out
// with Kafka's own APIs: AlterPartitionReassignments moves the replicas
// (the new ones copy the log and join the ISR before the old ones leave),
// then a preferred leader election puts the leaders where the plan says.

// placement is one partition's replicas; the first is the preferred leader.
type placement struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Replicas  []int32 `json:"replicas"`
}

// move is one partition whose replicas or their order change.
type move struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	From      []int32 `json:"from"`
	To        []int32 `json:"to"`
}

// planRebalance returns the moves that spread replicas and preferred
// leaders evenly over brokers (every replica leaves the brokers in
// remove). It moves as few replicas as it can: one over-loaded broker's
// replica to an under-loaded broker at a time, never two replicas of a
// partition on one broker; then it reorders replicas (which moves no
// data) to even out the preferred leaders. Racks are kept: a replica moves
// to a broker of the same rack when there is one below its share.
func planRebalance(parts []placement, brokers []int32, racks map[int32]string, remove []int32) []move {
	var live []int32
	for _, b := range brokers {
		if !slices.Contains(remove, b) {
			live = append(live, b)
		}
	}
	if len(live) == 0 {
		return nil
	}
	sort.Slice(live, func(i, j int) bool { return live[i] < live[j] })
	cur := make([][]int32, len(parts))
	load := map[int32]int{}
	total := 0
	for i, p := range parts {
		cur[i] = slices.Clone(p.Replicas)
		for _, r := range p.Replicas {
			load[r]++
			total++
		}
	}
	ceil := (total + len(live) - 1) / len(live)
	floor := total / len(live)
	over := func(b int32) bool { return slices.Contains(remove, b) && load[b] > 0 || load[b] > ceil }
	pickTarget := func(replicas []int32, from int32) int32 {
		best := int32(-1)
		for _, b := range live {
			if slices.Contains(replicas, b) || load[b] >= ceil {
				continue
			}
			sameRack := racks[b] == racks[from]
			if best < 0 || load[b] < load[best] || load[b] == load[best] && sameRack && racks[best] != racks[from] {
				best = b
			}
		}
		return best
	}
	// Replicas: move from over-loaded (or removed) brokers while one can.
	balance := func() {
		for changed := true; changed; {
			changed = false
			for i := range cur {
				for j, r := range cur[i] {
					if !over(r) && !(load[r] > floor && anyBelow(live, load, floor)) {
						continue
					}
					to := pickTarget(cur[i], r)
					if to < 0 || (!over(r) && load[to] >= floor) {
						continue
					}
					cur[i][j] = to
					load[r]--
					load[to]++
					changed = true
				}
			}
		}
	}
	balance()
	// A replica on a removed broker may find no broker below its share
	// that the partition does not use already (every such broker is full):
	// it goes to the least loaded one all the same, and balancing again
	// moves one of that broker's other replicas on. A removed broker is
	// always emptied, unless the partition has a replica on every live one.
	for forced := true; forced; {
		forced = false
		for i := range cur {
			for j, r := range cur[i] {
				if !slices.Contains(remove, r) {
					continue
				}
				to := int32(-1)
				for _, b := range live {
					if !slices.Contains(cur[i], b) && (to < 0 || load[b] < load[to]) {
						to = b
					}
				}
				if to < 0 {
					continue
				}
				cur[i][j] = to
				load[r]--
				load[to]++
				forced = true
			}
		}
		if forced {
			balance()
		}
	}
	// Preferred leaders: reorder so each broker is first about as often.
	lead := map[int32]int{}
	for _, rs := range cur {
		if len(rs) > 0 {
			lead[rs[0]]++
		}
	}
	for changed := true; changed; {
		changed = false
		for i, rs := range cur {
			if len(rs) < 2 {
				continue
			}
			for k := 1; k < len(rs); k++ {
				// Swapping moves one preferred leadership from a broker
				// with at least two more than the other: the spread only
				// narrows, so this ends.
				if lead[rs[k]]+1 < lead[rs[0]] {
					lead[rs[0]]--
					lead[rs[k]]++
					cur[i][0], cur[i][k] = rs[k], rs[0]
					changed = true
					break
				}
			}
		}
	}
	var out []move
	for i, p := range parts {
		if !slices.Equal(p.Replicas, cur[i]) {
			out = append(out, move{Topic: p.Topic, Partition: p.Partition, From: p.Replicas, To: cur[i]})
		}
	}
	return out
}

func anyBelow(live []int32, load map[int32]int, floor int) bool {
	for _, b := range live {
		if load[b] < floor {
			return true
		}
	}
	return false
}

func newRebalanceCmd(g *globals) *cobra.Command {
	var (
		execute bool
		remove  []int32
		wait    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "rebalance",
		Short: "Plan (and with --execute, carry out) an even spread of replicas and leaders",
		Long: `Plan an even spread of every partition's replicas and preferred leaders over the
cluster's brokers, moving as few replicas as possible, and print it. With
--execute, carry it out: the replicas move with AlterPartitionReassignments
(what kafka-reassign-partitions uses: new replicas copy the log and join the
ISR before the old ones leave), then a preferred leader election puts the
leaders in place. Use it after adding a broker, and with --remove-broker to
empty brokers you are about to take away.`,
		Example: `  samsa cluster rebalance
  samsa cluster rebalance --execute
  samsa cluster rebalance --remove-broker 3 --execute`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				m, err := adm.Metadata(ctx)
				if err != nil {
					return err
				}
				var brokers []int32
				racks := map[int32]string{}
				for _, b := range m.Brokers {
					brokers = append(brokers, b.NodeID)
					if b.Rack != nil {
						racks[b.NodeID] = *b.Rack
					}
				}
				for _, r := range remove {
					if !slices.Contains(brokers, r) {
						return fmt.Errorf("--remove-broker %d: no such broker", r)
					}
				}
				var parts []placement
				for _, t := range m.Topics.Sorted() {
					for _, p := range t.Partitions.Sorted() {
						parts = append(parts, placement{Topic: t.Topic, Partition: p.Partition, Replicas: p.Replicas})
					}
				}
				moves := planRebalance(parts, brokers, racks, remove)
				if err := printPlan(cmd, g, moves, parts, brokers); err != nil || !execute || len(moves) == 0 {
					return err
				}
				return executePlan(ctx, cmd, adm, moves, wait)
			})
		},
	}
	f := cmd.Flags()
	f.BoolVar(&execute, "execute", false, "carry the plan out (default: only print it)")
	f.Int32SliceVar(&remove, "remove-broker", nil, "move every replica off this broker (repeatable)")
	f.DurationVar(&wait, "wait", 5*time.Minute, "with --execute, how long to wait for the moves to complete")
	return cmd
}

func printPlan(cmd *cobra.Command, g *globals, moves []move, parts []placement, brokers []int32) error {
	out := cmd.OutOrStdout()
	if g.json {
		if moves == nil {
			moves = []move{}
		}
		return printJSON(out, moves)
	}
	if len(moves) == 0 {
		fmt.Fprintln(out, "The replicas and preferred leaders are already spread evenly; nothing to do.")
		return nil
	}
	t := newTable(out, "TOPIC", "PARTITION", "REPLICAS", "NEW-REPLICAS")
	for _, mv := range moves {
		t.row(mv.Topic, mv.Partition, joinIDs(mv.From), joinIDs(mv.To))
	}
	if err := t.flush(); err != nil {
		return err
	}
	before, after := map[int32][2]int{}, map[int32][2]int{}
	moved := map[string][]int32{}
	for _, mv := range moves {
		moved[fmt.Sprintf("%s/%d", mv.Topic, mv.Partition)] = mv.To
	}
	for _, p := range parts {
		to := p.Replicas
		if rs, ok := moved[fmt.Sprintf("%s/%d", p.Topic, p.Partition)]; ok {
			to = rs
		}
		for i, r := range p.Replicas {
			c := before[r]
			c[0]++
			if i == 0 {
				c[1]++
			}
			before[r] = c
		}
		for i, r := range to {
			c := after[r]
			c[0]++
			if i == 0 {
				c[1]++
			}
			after[r] = c
		}
	}
	fmt.Fprintln(out)
	bt := newTable(out, "BROKER", "REPLICAS", "NEW-REPLICAS", "PREFERRED-LEADER-OF", "NEW-PREFERRED-LEADER-OF")
	for _, b := range brokers {
		bt.row(b, before[b][0], after[b][0], before[b][1], after[b][1])
	}
	if err := bt.flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%d partition(s) to change. Run again with --execute to carry it out.\n", len(moves))
	return nil
}

func executePlan(ctx context.Context, cmd *cobra.Command, adm *kadm.Client, moves []move, wait time.Duration) error {
	out := cmd.ErrOrStderr()
	req := kadm.AlterPartitionAssignmentsReq{}
	set := kadm.TopicsSet{}
	for _, mv := range moves {
		req.Assign(mv.Topic, mv.Partition, mv.To)
		set.Add(mv.Topic, mv.Partition)
	}
	resps, err := adm.AlterPartitionAssignments(ctx, req)
	if err != nil {
		return err
	}
	if err := resps.Error(); err != nil {
		return fmt.Errorf("reassignment refused: %w", err)
	}
	fmt.Fprintf(out, "Moving %d partition(s); waiting for the new replicas to catch up...\n", len(moves))
	wctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		l, err := adm.ListPartitionReassignments(wctx, set)
		if err == nil && len(l) == 0 {
			break
		}
		if wctx.Err() != nil {
			return fmt.Errorf("the moves did not complete within %v; they go on in the background (kafka-reassign-partitions --verify shows them)", wait)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if _, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, set); err != nil {
		return fmt.Errorf("the replicas moved, but the preferred leader election failed: %w", err)
	}
	fmt.Fprintln(out, "Done: replicas moved and leaders elected.")
	return nil
}

func joinIDs(ids []int32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ",")
}
