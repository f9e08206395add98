package group

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type fakeTopics map[string]TopicMeta

func (f fakeTopics) ByName(n string) (TopicMeta, bool) { t, ok := f[n]; return t, ok }
func (f fakeTopics) ByID(id [16]byte) (TopicMeta, bool) {
	for _, t := range f {
		if t.ID == id {
			return t, true
		}
	}
	return TopicMeta{}, false
}
func (f fakeTopics) Names() []string {
	var out []string
	for n := range f {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

var topicsT = fakeTopics{"t": {Name: "t", ID: [16]byte{1}, Partitions: 4}, "u": {Name: "u", ID: [16]byte{2}, Partitions: 2}}

func (h *harness) cgh(member string, epoch int32, owned []int32, mod ...func(*kmsg.ConsumerGroupHeartbeatRequest)) *kmsg.ConsumerGroupHeartbeatResponse {
	r := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	r.Version = 1
	r.Group, r.MemberID, r.MemberEpoch, r.RebalanceTimeoutMillis = "cg", member, epoch, 5000
	if epoch == 0 {
		r.SubscribedTopicNames = []string{"t"}
		r.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	} else if owned != nil {
		r.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{{TopicID: [16]byte{1}, Partitions: owned}}
	}
	for _, f := range mod {
		f(r)
	}
	b := &box{}
	h.apply(h.c.ConsumerGroupHeartbeat(h.now, r, "client", "/127.0.0.1", h.topics(), b))
	if len(b.got) == 0 {
		return nil // waits for an append the test has not completed
	}
	return b.last(h.t).(*kmsg.ConsumerGroupHeartbeatResponse)
}

// topics is the harness's topic view: topicsT unless a test set its own.
func (h *harness) topics() Topics {
	if h.tv != nil {
		return h.tv
	}
	return topicsT
}

func assigned(r *kmsg.ConsumerGroupHeartbeatResponse) string {
	if r.Assignment == nil {
		return "unchanged"
	}
	out := ""
	for _, t := range r.Assignment.Topics {
		out += fmt.Sprint(t.Partitions)
	}
	if out == "" {
		return "[]"
	}
	return out
}

// TestConsumerReconciliation: a partition moves to a new member only after
// its old owner has acknowledged the revocation.
func TestConsumerReconciliation(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ConsumerSessionTimeout = 10 * time.Second })
	r := h.cgh("a", 0, nil)
	if r.ErrorCode != 0 || r.MemberEpoch != 1 || assigned(r) != "[0 1 2 3]" {
		t.Fatalf("a joins: %d epoch %d %s", r.ErrorCode, r.MemberEpoch, assigned(r))
	}
	r = h.cgh("b", 0, nil)
	if r.MemberEpoch != 2 || assigned(r) != "[]" {
		t.Fatalf("b joins: epoch %d %s (a still owns everything)", r.MemberEpoch, assigned(r))
	}
	// a is told to give up half, keeping its epoch until it does.
	r = h.cgh("a", 1, []int32{0, 1, 2, 3})
	if r.MemberEpoch != 1 || len(r.Assignment.Topics[0].Partitions) != 2 {
		t.Fatalf("a revokes: epoch %d %s", r.MemberEpoch, assigned(r))
	}
	kept := r.Assignment.Topics[0].Partitions
	// Until a acknowledges, b gets nothing.
	if r := h.cgh("b", 2, []int32{}); assigned(r) != "unchanged" && assigned(r) != "[]" {
		t.Fatalf("b before the revocation: %s", assigned(r))
	}
	r = h.cgh("a", 1, kept)
	if r.MemberEpoch != 2 {
		t.Fatalf("a after acknowledging: epoch %d", r.MemberEpoch)
	}
	r = h.cgh("b", 2, []int32{})
	if len(r.Assignment.Topics) != 1 || len(r.Assignment.Topics[0].Partitions) != 2 {
		t.Fatalf("b after the revocation: %s", assigned(r))
	}
	d := h.c.ConsumerGroupDescribe(&kmsg.ConsumerGroupDescribeRequest{Groups: []string{"cg"}}, topicsT)
	if d.Groups[0].State != "Stable" || len(d.Groups[0].Members) != 2 {
		t.Fatalf("describe: %+v", d.Groups[0])
	}
	// b stops heartbeating: after the session timeout a gets everything.
	h.now = h.now.Add(6 * time.Second)
	h.cgh("a", 2, kept)
	h.now = h.now.Add(6 * time.Second)
	h.apply(h.c.Tick(h.now)) // b's session (10 s) has run out
	r = h.cgh("a", 2, kept)
	if r.MemberEpoch != 3 || assigned(r) != "[0 1 2 3]" {
		t.Fatalf("a after b expired: epoch %d %s", r.MemberEpoch, assigned(r))
	}
	// Errors.
	if r := h.cgh("a", 9, nil); r.ErrorCode != kerr.FencedMemberEpoch.Code {
		t.Fatalf("fenced: %d", r.ErrorCode)
	}
	if r := h.cgh("zz", 3, nil); r.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("unknown: %d", r.ErrorCode)
	}
	if r := h.cgh("a", -1, nil); r.ErrorCode != 0 || r.MemberEpoch != -1 {
		t.Fatalf("leave: %+v", r)
	}
	if info, _ := h.c.Info("cg"); info.State != Empty {
		t.Fatalf("after leave: %+v", info)
	}
}

func TestConsumerRegexSubscription(t *testing.T) {
	h := newHarness(t, nil)
	r := h.cgh("a", 0, nil, func(r *kmsg.ConsumerGroupHeartbeatRequest) {
		r.SubscribedTopicNames, r.SubscribedTopicRegex = nil, kmsg.StringPtr("t|u")
	})
	if r.ErrorCode != 0 || len(r.Assignment.Topics) != 2 {
		t.Fatalf("regex join: %+v", r)
	}
	// The regex must match whole names.
	r = h.cgh("b", 0, nil, func(r *kmsg.ConsumerGroupHeartbeatRequest) {
		r.Group = "other"
		r.SubscribedTopicNames, r.SubscribedTopicRegex = nil, kmsg.StringPtr("t.+")
	})
	if r.ErrorCode != 0 || len(r.Assignment.Topics) != 0 {
		t.Fatalf("partial regex match: %s", assigned(r))
	}
}

func TestAssignors(t *testing.T) {
	counts := func(topic string) int32 { return map[string]int32{"t": 7, "u": 3}[topic] }
	subs := map[string][]string{"a": {"t", "u"}, "b": {"t", "u"}, "c": {"t"}}
	r := assignRange(subs, counts)
	want := map[string]string{"a": "t[0 1 2] u[0 1]", "b": "t[3 4] u[2]", "c": "t[5 6]"}
	for id, w := range want {
		if got := describeParts(r[id]); got != w {
			t.Errorf("range %s: %s, want %s", id, got, w)
		}
	}
	u := assignUniform(subs, counts, nil)
	total := 0
	for id, ps := range u {
		total += len(ps)
		if len(ps) < 3 || len(ps) > 4 {
			t.Errorf("uniform %s has %d partitions: %s", id, len(ps), describeParts(ps))
		}
	}
	if total != 10 {
		t.Fatalf("uniform assigned %d of 10", total)
	}
	// Sticky: a new member takes partitions without moving the others'.
	subs["d"] = []string{"t", "u"}
	u2 := assignUniform(subs, counts, u)
	for id, ps := range u2 {
		for p := range ps {
			if id != "d" && !u[id][p] {
				t.Errorf("uniform moved %v to %s, which did not have it", p, id)
			}
		}
	}
	if len(u2["d"]) < 2 {
		t.Errorf("new member got %s", describeParts(u2["d"]))
	}
}

func describeParts(m map[tp]bool) string {
	out := ""
	for i, t := range groupByTopic(m) {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf("%s%v", t.topic, t.partitions)
	}
	return out
}
