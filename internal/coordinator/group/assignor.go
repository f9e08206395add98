package group

import (
	"sort"
)

// The server-side assignors of KIP-848. Both are deterministic: the same
// members, subscriptions and partition counts give the same assignment.

// assignRange is Kafka's range assignor: for each topic, its subscribers
// sorted by member id get contiguous ranges of partitions, the first
// (partitions % subscribers) one partition more. Members subscribed to the
// same topics get the same partition numbers of each (co-partitioning).
func assignRange(subs map[string][]string, partitions func(topic string) int32) map[string]map[tp]bool {
	out := map[string]map[tp]bool{}
	byTopic := map[string][]string{}
	for id, topics := range subs {
		out[id] = map[tp]bool{}
		for _, t := range topics {
			byTopic[t] = append(byTopic[t], id)
		}
	}
	for t, members := range byTopic {
		sort.Strings(members)
		n := partitions(t)
		per, extra := n/int32(len(members)), n%int32(len(members))
		next := int32(0)
		for i, id := range members {
			k := per
			if int32(i) < extra {
				k++
			}
			for p := next; p < next+k; p++ {
				out[id][tp{t, p}] = true
			}
			next += k
		}
	}
	return out
}

// assignUniform spreads partitions evenly and stickily: every member keeps
// as much of its previous target as its share allows, and the rest go,
// partition by partition, to the least loaded member subscribed to the
// topic (ties by member id). With identical subscriptions the counts
// differ by at most one.
func assignUniform(subs map[string][]string, partitions func(topic string) int32, previous map[string]map[tp]bool) map[string]map[tp]bool {
	ids := make([]string, 0, len(subs))
	subscribed := map[string]map[string]bool{}
	var all []tp
	seen := map[string]bool{}
	for id, topics := range subs {
		ids = append(ids, id)
		subscribed[id] = map[string]bool{}
		for _, t := range topics {
			subscribed[id][t] = true
			if !seen[t] {
				seen[t] = true
				for p := int32(0); p < partitions(t); p++ {
					all = append(all, tp{t, p})
				}
			}
		}
	}
	sort.Strings(ids)
	sort.Slice(all, func(i, j int) bool {
		if all[i].topic != all[j].topic {
			return all[i].topic < all[j].topic
		}
		return all[i].partition < all[j].partition
	})
	out := map[string]map[tp]bool{}
	for _, id := range ids {
		out[id] = map[tp]bool{}
	}
	if len(ids) == 0 {
		return out
	}
	// quota: the most partitions a member keeps from before, so that new
	// members get their share.
	quota := (len(all) + len(ids) - 1) / len(ids)
	valid := map[tp]bool{}
	for _, p := range all {
		valid[p] = true
	}
	taken := map[tp]bool{}
	for _, id := range ids {
		var keep []tp
		for p := range previous[id] {
			if valid[p] && subscribed[id][p.topic] && !taken[p] {
				keep = append(keep, p)
			}
		}
		sort.Slice(keep, func(i, j int) bool {
			if keep[i].topic != keep[j].topic {
				return keep[i].topic < keep[j].topic
			}
			return keep[i].partition < keep[j].partition
		})
		if len(keep) > quota {
			keep = keep[:quota]
		}
		for _, p := range keep {
			out[id][p] = true
			taken[p] = true
		}
	}
	for _, p := range all {
		if taken[p] {
			continue
		}
		best := ""
		for _, id := range ids {
			if subscribed[id][p.topic] && (best == "" || len(out[id]) < len(out[best])) {
				best = id
			}
		}
		if best != "" {
			out[best][p] = true
		}
	}
	// Balance: move partitions from members with two or more above the
	// least loaded co-subscriber until no such move exists.
	for moved := true; moved; {
		moved = false
		for _, from := range ids {
			for _, p := range sortedParts(out[from]) {
				for _, to := range ids {
					if to != from && subscribed[to][p.topic] && len(out[from]) > len(out[to])+1 {
						delete(out[from], p)
						out[to][p] = true
						moved = true
						break
					}
				}
			}
		}
	}
	return out
}

func sortedParts(m map[tp]bool) []tp {
	out := make([]tp, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].topic != out[j].topic {
			return out[i].topic < out[j].topic
		}
		return out[i].partition < out[j].partition
	})
	return out
}
