package console

import (
	"context"
	"net/http"
	"sort"

	"github.com/twmb/franz-go/pkg/kadm"
)

// maxLagGroups bounds how many groups the list computes lag for.
const maxLagGroups = 200

type groupSummary struct {
	Group        string `json:"group"`
	State        string `json:"state"`
	ProtocolType string `json:"protocolType"`
	Coordinator  int32  `json:"coordinator"`
	Members      int    `json:"members"`
	Lag          int64  `json:"lag"` // -1: not known
	Error        string `json:"error,omitempty"`
}

// listGroups is GET /api/v1/groups: groups with member count and lag.
func (c *Console) listGroups(ctx context.Context, s *session, r *http.Request) (any, error) {
	if err := noParams(r); err != nil {
		return nil, err
	}
	listed, err := s.adm.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	sorted := listed.Sorted()
	names := make([]string, 0, len(sorted))
	for i, g := range sorted {
		if i == maxLagGroups {
			break
		}
		names = append(names, g.Group)
	}
	var lags kadm.DescribedGroupLags
	if len(names) > 0 {
		lags, _ = s.adm.Lag(ctx, names...)
	}
	out := []groupSummary{}
	for _, g := range sorted {
		gs := groupSummary{Group: g.Group, State: g.State, ProtocolType: g.ProtocolType, Coordinator: g.Coordinator, Lag: -1}
		if l, ok := lags[g.Group]; ok {
			if err := l.Error(); err != nil {
				gs.Error = err.Error()
			} else {
				gs.Members = len(l.Members)
				gs.Lag = totalLag(l.Lag)
				if l.State != "" {
					gs.State = l.State
				}
			}
		}
		out = append(out, gs)
	}
	return out, nil
}

// totalLag sums the known lags (a partition without one counts 0).
func totalLag(l kadm.GroupLag) int64 {
	var n int64
	for _, ps := range l {
		for _, p := range ps {
			if p.Lag > 0 {
				n += p.Lag
			}
		}
	}
	return n
}

type memberInfo struct {
	MemberID   string             `json:"memberId"`
	InstanceID string             `json:"instanceId,omitempty"`
	ClientID   string             `json:"clientId"`
	Host       string             `json:"host"`
	Assigned   map[string][]int32 `json:"assigned"`
}

type groupOffset struct {
	Topic       string `json:"topic"`
	Partition   int32  `json:"partition"`
	Committed   int64  `json:"committed"` // -1: none
	StartOffset int64  `json:"startOffset"`
	EndOffset   int64  `json:"endOffset"`
	Lag         int64  `json:"lag"`
	MemberID    string `json:"memberId,omitempty"`
	Error       string `json:"error,omitempty"`
}

type groupInfo struct {
	Group        string        `json:"group"`
	State        string        `json:"state"`
	ProtocolType string        `json:"protocolType"`
	Protocol     string        `json:"protocol"`
	Coordinator  int32         `json:"coordinator"`
	Members      []memberInfo  `json:"members"`
	Offsets      []groupOffset `json:"offsets"`
	Lag          int64         `json:"lag"`
}

// getGroup is GET /api/v1/groups/{group}: members, assignments, offsets
// and lag.
func (c *Console) getGroup(ctx context.Context, s *session, r *http.Request) (any, error) {
	group, err := pathGroup(r)
	if err != nil {
		return nil, err
	}
	if err := noParams(r); err != nil {
		return nil, err
	}
	lags, err := s.adm.Lag(ctx, group)
	if err != nil {
		return nil, err
	}
	l, ok := lags[group]
	if !ok {
		return nil, &httpError{http.StatusNotFound, "no group " + group}
	}
	if err := l.Error(); err != nil {
		return nil, err
	}
	if l.State == "Dead" && len(l.Lag) == 0 {
		return nil, &httpError{http.StatusNotFound, "no group " + group}
	}
	out := groupInfo{Group: group, State: l.State, ProtocolType: l.ProtocolType, Protocol: l.Protocol,
		Coordinator: l.Coordinator.NodeID, Members: []memberInfo{}, Offsets: []groupOffset{}, Lag: totalLag(l.Lag)}
	for _, m := range l.Members {
		mi := memberInfo{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost, Assigned: map[string][]int32{}}
		if m.InstanceID != nil {
			mi.InstanceID = *m.InstanceID
		}
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range a.Topics {
				ps := append([]int32(nil), t.Partitions...)
				sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
				mi.Assigned[t.Topic] = ps
			}
		}
		out.Members = append(out.Members, mi)
	}
	for _, p := range l.Lag.Sorted() {
		o := groupOffset{Topic: p.Topic, Partition: p.Partition, Committed: p.Commit.At,
			StartOffset: p.Start.Offset, EndOffset: p.End.Offset, Lag: p.Lag}
		if p.Member != nil {
			o.MemberID = p.Member.MemberID
		}
		if p.Err != nil {
			o.Error = p.Err.Error()
		}
		out.Offsets = append(out.Offsets, o)
	}
	return out, nil
}

// deleteGroup is DELETE /api/v1/groups/{group} (an empty group only, as
// Kafka's DeleteGroups).
func (c *Console) deleteGroup(ctx context.Context, s *session, r *http.Request) (any, error) {
	group, err := pathGroup(r)
	if err != nil {
		return nil, err
	}
	if err := noParams(r); err != nil {
		return nil, err
	}
	resp, err := s.adm.DeleteGroup(ctx, group)
	if err != nil {
		return nil, err
	}
	if resp.Err != nil {
		return nil, resp.Err
	}
	return map[string]string{"deleted": group}, nil
}

type resetBody struct {
	// To is earliest, latest, offset or timestamp.
	To        string `json:"to"`
	Offset    *int64 `json:"offset"`
	Timestamp *int64 `json:"timestamp"` // milliseconds since the epoch
	// Topic limits the reset to one topic (and Partition to one of its
	// partitions); without it every topic the group has offsets for.
	Topic     string `json:"topic"`
	Partition *int32 `json:"partition"`
	DryRun    bool   `json:"dryRun"`
}

type resetResult struct {
	Group   string        `json:"group"`
	DryRun  bool          `json:"dryRun"`
	Offsets []groupOffset `json:"offsets"`
}

// resetOffsets is POST /api/v1/groups/{group}/reset-offsets: commit new
// offsets for an inactive group, as kafka-consumer-groups --reset-offsets.
func (c *Console) resetOffsets(ctx context.Context, s *session, r *http.Request) (any, error) {
	group, err := pathGroup(r)
	if err != nil {
		return nil, err
	}
	if err := noParams(r); err != nil {
		return nil, err
	}
	var b resetBody
	if err := readBody(r, &b); err != nil {
		return nil, err
	}
	switch b.To {
	case "earliest", "latest":
		if b.Offset != nil || b.Timestamp != nil {
			return nil, badRequest("to=%s takes neither offset nor timestamp", b.To)
		}
	case "offset":
		if b.Offset == nil || *b.Offset < 0 || b.Timestamp != nil {
			return nil, badRequest("to=offset needs offset (>= 0) and no timestamp")
		}
	case "timestamp":
		if b.Timestamp == nil || *b.Timestamp < 0 || b.Offset != nil {
			return nil, badRequest("to=timestamp needs timestamp (milliseconds, >= 0) and no offset")
		}
	default:
		return nil, badRequest("to must be earliest, latest, offset or timestamp, not %q", b.To)
	}
	if b.Topic != "" && !topicName.MatchString(b.Topic) {
		return nil, badRequest("invalid topic name %q", b.Topic)
	}
	if b.Partition != nil && (b.Topic == "" || *b.Partition < 0) {
		return nil, badRequest("partition needs a topic and must be >= 0")
	}

	described, err := s.adm.DescribeGroups(ctx, group)
	if err != nil {
		return nil, err
	}
	if d, ok := described[group]; ok {
		if d.Err != nil {
			return nil, d.Err
		}
		if d.State != "Empty" && d.State != "Dead" && d.State != "" {
			return nil, &httpError{http.StatusConflict, "group " + group + " is " + d.State + ": stop its consumers first (offsets of an active group cannot be reset)"}
		}
	}
	var topics []string
	if b.Topic != "" {
		topics = []string{b.Topic}
	} else {
		committed, err := s.adm.FetchOffsets(ctx, group)
		if err != nil {
			return nil, err
		}
		for t := range committed {
			topics = append(topics, t)
		}
		if len(topics) == 0 {
			return nil, badRequest("group %s has no committed offsets: name a topic", group)
		}
		sort.Strings(topics)
	}
	starts, err := s.adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, err
	}
	ends, err := s.adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, err
	}
	var byTime kadm.ListedOffsets
	var md kadm.Metadata
	if b.To == "timestamp" {
		if byTime, err = s.adm.ListOffsetsAfterMilli(ctx, *b.Timestamp, topics...); err != nil {
			return nil, err
		}
		if md, err = s.adm.Metadata(ctx, topics...); err != nil {
			return nil, err
		}
	}
	if err := ends.Error(); err != nil {
		return nil, err
	}
	commit := kadm.Offsets{}
	res := resetResult{Group: group, DryRun: b.DryRun, Offsets: []groupOffset{}}
	found := false
	ends.Each(func(e kadm.ListedOffset) {
		if b.Partition != nil && e.Partition != *b.Partition {
			return
		}
		found = true
		st, _ := starts.Lookup(e.Topic, e.Partition)
		at := e.Offset
		switch b.To {
		case "earliest":
			at = st.Offset
		case "offset":
			at = min(max(*b.Offset, st.Offset), e.Offset)
		case "timestamp":
			if o, ok := byTime.Lookup(e.Topic, e.Partition); ok && o.Err == nil && o.Offset >= 0 {
				at = exactTime(ctx, s, md, e.Topic, e.Partition, o.Offset, e.Offset, *b.Timestamp)
			}
		}
		commit.Add(kadm.Offset{Topic: e.Topic, Partition: e.Partition, At: at, LeaderEpoch: -1})
		res.Offsets = append(res.Offsets, groupOffset{Topic: e.Topic, Partition: e.Partition, Committed: at,
			StartOffset: st.Offset, EndOffset: e.Offset, Lag: e.Offset - at})
	})
	if !found {
		return nil, &httpError{http.StatusNotFound, "no such partition"}
	}
	sort.Slice(res.Offsets, func(i, j int) bool {
		a, b := res.Offsets[i], res.Offsets[j]
		return a.Topic < b.Topic || a.Topic == b.Topic && a.Partition < b.Partition
	})
	if b.DryRun {
		return res, nil
	}
	resps, err := s.adm.CommitOffsets(ctx, group, commit)
	if err != nil {
		return nil, err
	}
	if err := resps.Error(); err != nil {
		return nil, err
	}
	return res, nil
}

// exactTime refines ListOffsets' answer for time ts: a broker may answer
// the first offset of a compressed batch, so the batch is read and the
// first record at or after ts is taken (at is kept when that fails).
func exactTime(ctx context.Context, s *session, md kadm.Metadata, topic string, part int32, at, end, ts int64) int64 {
	td, ok := md.Topics[topic]
	if !ok {
		return at
	}
	pd, ok := td.Partitions[part]
	if !ok || pd.Leader < 0 {
		return at
	}
	recs, from, _, _, err := readRecords(ctx, s, readSpec{topic: topic, id: td.ID, part: part, leader: pd.Leader,
		at: at, end: end, limit: 1, budget: maxFetchBytes, minTS: ts})
	if err != nil {
		return at
	}
	if len(recs) == 1 {
		return recs[0].Offset
	}
	return from
}
