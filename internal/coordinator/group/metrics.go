package group

// Committed is one group's committed offset of one partition.
type Committed struct {
	Group, Topic string
	Partition    int32
	Offset       int64
}

// GroupStats summarises the groups this node coordinates, for metrics.
type GroupStats struct {
	// States counts the groups by state (classic states; a KIP-848 group
	// with no classic members reports its own).
	States map[string]int
	// Members counts each group's members.
	Members map[string]int
	// Offsets are the committed offsets, in no particular order.
	Offsets []Committed
}

// Stats copies the group states and, with offsets set, the committed
// offsets under the coordinator's lock and returns them; the caller
// computes lag without holding it. buf is reused for Offsets when large
// enough.
func (r *Runtime) Stats(buf []Committed, offsets bool) GroupStats {
	st := GroupStats{States: map[string]int{}, Members: map[string]int{}, Offsets: buf[:0]}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.co
	for id, g := range c.groups {
		if g.state == Dead || !c.coordinates(id) {
			continue
		}
		state := string(g.state)
		members := len(g.members)
		if g.cg != nil && members == 0 {
			state = g.cg.state()
			members = len(g.cg.members)
		}
		st.States[state]++
		st.Members[id] = members
		if !offsets {
			continue
		}
		for k, o := range g.offsets {
			st.Offsets = append(st.Offsets, Committed{Group: id, Topic: k.topic, Partition: k.partition, Offset: o.offset})
		}
	}
	return st
}
