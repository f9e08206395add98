package history

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// groupKey names one partition's state in one consumer group.
type groupKey struct {
	group string
	tp    tp
}

func compareGroupKeys(a, b groupKey) int {
	return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.tp.topic, b.tp.topic), cmp.Compare(a.tp.partition, b.tp.partition))
}

// sortedKeys returns m's keys in a fixed order, so that reports do not
// depend on map iteration.
func sortedKeys[V any](m map[groupKey]V) []groupKey {
	keys := make([]groupKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareGroupKeys)
	return keys
}

// checkCommits checks that a group's committed offset for a partition
// never moves backwards. Two successful commits are ordered only if one
// completed before the other started; commits that overlap in time are
// concurrent, the broker may apply them in either order, and they are not
// compared. Each commit is compared with the highest offset of the commits
// that completed before it started, found by sweeping the commits in order
// of start while adding those in order of end: O(n log n) per partition.
func (c *checker) checkCommits() {
	groups := map[groupKey][]int32{}
	for i := range c.h.Commits {
		e := &c.h.Commits[i]
		if e.Outcome != OK {
			continue
		}
		c.r.Counts.Commits++
		k := groupKey{e.Group, tp{e.Topic, e.Partition}}
		groups[k] = append(groups[k], int32(i))
	}
	cs := c.h.Commits
	for _, k := range sortedKeys(groups) {
		byStart := groups[k]
		byEnd := slices.Clone(byStart)
		slices.SortStableFunc(byStart, func(a, b int32) int { return cmp.Compare(cs[a].Start, cs[b].Start) })
		slices.SortStableFunc(byEnd, func(a, b int32) int { return cmp.Compare(cs[a].End, cs[b].End) })
		best, j := int32(-1), 0
		for _, b := range byStart {
			cur := &cs[b]
			for ; j < len(byEnd) && cs[byEnd[j]].End < cur.Start; j++ {
				if best < 0 || cs[byEnd[j]].Offset > cs[best].Offset {
					best = byEnd[j]
				}
			}
			if best < 0 || cur.Offset >= cs[best].Offset {
				continue
			}
			prev := &cs[best]
			c.r.add(Anomaly{
				Kind: KindCommitRegression, Topic: cur.Topic, Partition: cur.Partition, Group: cur.Group,
				Offsets: []int64{prev.Offset, cur.Offset}, Events: []Event{*prev, *cur},
				Text: fmt.Sprintf("group %s, %s: a commit of offset %d%s started at %s, after a commit of offset %d%s had completed at %s",
					cur.Group, tpName(cur.Topic, cur.Partition), cur.Offset, byMember(cur.Member), fmtTime(cur.Start),
					prev.Offset, byMember(prev.Member), fmtTime(prev.End)),
			})
		}
	}
}

// byMember names the member that made a commit, if the client recorded it.
func byMember(member string) string {
	if member == "" {
		return ""
	}
	return " by member " + member
}

// ownership is one member's hold on a partition: from an assign to the
// member's next revoke, or to the end of the history.
type ownership struct {
	member     string
	start, end int64
	assign     int32 // index into Assigns
	revoke     int32 // index into Revokes, -1 if never revoked
}

// ownershipEvent is an assign or a revoke in time order.
type ownershipEvent struct {
	time   int64
	revoke bool
	index  int32
}

// checkOwnership checks that no two members of a group hold one partition
// at once. Clients record a revoke in the revoke (or lost) callback, which
// both the eager and the cooperative protocol run before the callbacks of
// the assignment that follows, so an interval recorded from assign to
// revoke contains the member's real ownership and an overlap between two
// members is double ownership. At equal times a revoke comes first:
// intervals are half-open.
func (c *checker) checkOwnership() {
	groups := map[groupKey][]ownershipEvent{}
	for i, a := range c.h.Assigns {
		k := groupKey{a.Group, tp{a.Topic, a.Partition}}
		groups[k] = append(groups[k], ownershipEvent{a.Time, false, int32(i)})
	}
	for i, r := range c.h.Revokes {
		k := groupKey{r.Group, tp{r.Topic, r.Partition}}
		groups[k] = append(groups[k], ownershipEvent{r.Time, true, int32(i)})
	}
	var (
		ivs  []ownership
		open = map[string]int{} // member → index in ivs of its open interval
	)
	for _, k := range sortedKeys(groups) {
		evs := groups[k]
		slices.SortStableFunc(evs, func(a, b ownershipEvent) int {
			if a.time != b.time {
				return cmp.Compare(a.time, b.time)
			}
			if a.revoke != b.revoke {
				if a.revoke {
					return -1
				}
				return 1
			}
			return 0
		})
		ivs = ivs[:0]
		clear(open)
		for _, ev := range evs {
			if ev.revoke {
				r := &c.h.Revokes[ev.index]
				if j, ok := open[r.Member]; ok {
					ivs[j].end, ivs[j].revoke = r.Time, ev.index
					delete(open, r.Member)
				}
				continue
			}
			a := &c.h.Assigns[ev.index]
			if _, ok := open[a.Member]; ok {
				continue // assigned again without a revoke: the first assign stands
			}
			open[a.Member] = len(ivs)
			ivs = append(ivs, ownership{member: a.Member, start: a.Time, end: math.MaxInt64, assign: ev.index, revoke: -1})
		}
		c.r.Counts.OwnershipIntervals += len(ivs)
		c.overlaps(k, ivs)
	}
}

// overlaps reports each interval that starts before another member's
// earlier interval ended. ivs is in order of start (the events were).
// A member's own intervals never overlap, so the interval reaching furthest
// so far is enough to compare with.
func (c *checker) overlaps(k groupKey, ivs []ownership) {
	furthest := -1
	for i := range ivs {
		cur := &ivs[i]
		if furthest >= 0 && cur.start < ivs[furthest].end && ivs[furthest].member != cur.member {
			prev := &ivs[furthest]
			events := []Event{c.h.Assigns[prev.assign], c.h.Assigns[cur.assign]}
			until := "never revoked it"
			if prev.revoke >= 0 {
				events = append(events, c.h.Revokes[prev.revoke])
				until = "revoked it at " + fmtTime(prev.end)
			}
			c.r.add(Anomaly{
				Kind: KindDoubleOwnership, Topic: k.tp.topic, Partition: k.tp.partition, Group: k.group, Events: events,
				Text: fmt.Sprintf("group %s, %s: member %s was assigned the partition at %s while member %s held it (assigned at %s, %s)",
					k.group, tpName(k.tp.topic, k.tp.partition), cur.member, fmtTime(cur.start), prev.member, fmtTime(prev.start), until),
			})
		}
		if furthest < 0 || cur.end > ivs[furthest].end {
			furthest = i
		}
	}
}
