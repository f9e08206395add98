package broker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestKIP848Group runs franz-go consumers with the KIP-848 protocol
// (server-side assignment) through members joining and leaving mid-stream
// and checks every record is consumed and the final commits cover the log.
func TestKIP848Group(t *testing.T) {
	for _, bal := range []struct {
		name string
		b    kgo.GroupBalancer
	}{{"uniform", kgo.StickyBalancer()}, {"range", kgo.RangeBalancer()}} {
		t.Run(bal.name, func(t *testing.T) {
			b := startGroupBroker(t, "group.consumer.heartbeat.interval.ms", "100")
			const parts, total = 6, 2000
			createTopic(t, b.Addr(), "ng", parts, nil)
			var mu sync.Mutex
			seen := map[string]bool{}
			progress := make(chan struct{}, 1)
			ctx, cancel := context.WithCancel(ctxT(t))
			defer cancel()
			var wg sync.WaitGroup
			consume := func(stop <-chan struct{}) {
				defer wg.Done()
				cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.ConsumerGroup("ng-group"), kgo.ConsumeTopics("ng"),
					kgo.Balancers(bal.b), kgo.ServerSideBalancer(), kgo.DisableAutoCommit(),
					kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond),
					kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, _ map[string][]int32) {
						cl.CommitUncommittedOffsets(ctx)
					}))
				if err != nil {
					t.Error(err)
					return
				}
				defer cl.Close()
				for {
					select {
					case <-stop:
						cl.CommitUncommittedOffsets(context.Background())
						return
					case <-ctx.Done():
						return
					default:
					}
					pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
					fs := cl.PollFetches(pctx)
					pcancel()
					mu.Lock()
					for _, r := range fs.Records() {
						seen[string(r.Value)] = true
					}
					mu.Unlock()
					select {
					case progress <- struct{}{}:
					default:
					}
					cl.CommitUncommittedOffsets(ctx)
				}
			}
			waitSeen := func(n int) {
				deadline := time.Now().Add(20 * time.Second)
				for {
					mu.Lock()
					got := len(seen)
					mu.Unlock()
					if got >= n {
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("saw %d of %d records", got, n)
					}
					select {
					case <-progress:
					case <-time.After(time.Until(deadline)):
					}
				}
			}
			// waitStable waits until the group is Stable with n members, each
			// owning its target assignment.
			waitStable := func(n int) *kmsg.ConsumerGroupDescribeResponseGroup {
				cl := newClient(t, b.Addr())
				deadline := time.Now().Add(20 * time.Second)
				for {
					req := kmsg.NewPtrConsumerGroupDescribeRequest()
					req.Groups = []string{"ng-group"}
					resp, err := req.RequestWith(ctxT(t), cl)
					if err == nil && resp.Groups[0].State == "Stable" && len(resp.Groups[0].Members) == n {
						return &resp.Groups[0]
					}
					if time.Now().After(deadline) {
						t.Fatalf("group not Stable with %d members: %v %+v", n, err, resp)
					}
					select {
					case <-progress:
					case <-time.After(50 * time.Millisecond): // group state changes have no notification
					}
				}
			}
			stops := []chan struct{}{make(chan struct{}), make(chan struct{}), make(chan struct{})}
			wg.Add(2)
			go consume(stops[0])
			go consume(stops[1])
			pcl := newClient(t, b.Addr())
			for i := 0; i < total; i++ {
				pcl.Produce(ctx, &kgo.Record{Topic: "ng", Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprint(i))}, nil)
				switch i {
				case 0:
					waitStable(2)
				case total / 3:
					wg.Add(1)
					go consume(stops[2])
					waitStable(3) // partitions moved while records keep coming
				case 2 * total / 3:
					close(stops[0])
					waitStable(2)
				}
				if i%200 == 199 {
					if err := pcl.Flush(ctx); err != nil {
						t.Fatal(err)
					}
					waitSeen(i + 1)
				}
			}
			waitSeen(total)

			// While members are in the group: ConsumerGroupDescribe shows
			// them, ListGroups types the group "consumer", classic
			// DescribeGroups does not know it.
			adm := kadm.NewClient(pcl)
			dg := waitStable(2)
			assigned := 0
			for _, m := range dg.Members {
				for _, a := range m.Assignment.TopicPartitions {
					assigned += len(a.Partitions)
				}
			}
			if assigned != parts || dg.AssignorName != bal.name {
				t.Fatalf("describe: %d partitions assigned, assignor %s", assigned, dg.AssignorName)
			}
			listed, err := adm.ListGroupsByType(ctxT(t), []string{"consumer"})
			if err != nil || len(listed) != 1 {
				t.Fatalf("list consumer groups: %v %+v", err, listed)
			}
			close(stops[1])
			close(stops[2])
			wg.Wait()
			offs := committed(t, b.Addr(), "ng-group")
			ends, _ := adm.ListEndOffsets(ctxT(t), "ng")
			ends.Each(func(e kadm.ListedOffset) {
				if o, _ := offs.Lookup("ng", e.Partition); o.At != e.Offset {
					t.Errorf("partition %d: committed %d, end %d", e.Partition, o.At, e.Offset)
				}
			})
		})
	}
}

func TestKIP848Errors(t *testing.T) {
	b := startGroupBroker(t)
	createTopic(t, b.Addr(), "ke", 2, nil)
	cl := newClient(t, b.Addr())
	hb := func(mod func(r *kmsg.ConsumerGroupHeartbeatRequest)) *kmsg.ConsumerGroupHeartbeatResponse {
		r := kmsg.NewPtrConsumerGroupHeartbeatRequest()
		r.Group, r.MemberID, r.MemberEpoch, r.RebalanceTimeoutMillis = "kg", "m1", 0, 5000
		r.SubscribedTopicNames = []string{"ke"}
		r.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		mod(r)
		return request[*kmsg.ConsumerGroupHeartbeatResponse](t, cl, r, 1)
	}
	if r := hb(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberID = "" }); r.ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("empty member id: %d", r.ErrorCode)
	}
	if r := hb(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.ServerAssignor = kmsg.StringPtr("nope") }); r.ErrorCode != kerr.UnsupportedAssignor.Code {
		t.Fatalf("unknown assignor: %d", r.ErrorCode)
	}
	if r := hb(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.SubscribedTopicRegex = kmsg.StringPtr("(") }); r.ErrorCode != kerr.InvalidRegularExpression.Code {
		t.Fatalf("bad regex: %d", r.ErrorCode)
	}
	join := hb(func(*kmsg.ConsumerGroupHeartbeatRequest) {})
	if join.ErrorCode != 0 || join.MemberEpoch != 1 || join.Assignment == nil || len(join.Assignment.Topics) != 1 || len(join.Assignment.Topics[0].Partitions) != 2 {
		t.Fatalf("join: %+v", join)
	}
	if r := hb(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberEpoch = 7; r.Topics = nil }); r.ErrorCode != kerr.FencedMemberEpoch.Code {
		t.Fatalf("wrong epoch: %d", r.ErrorCode)
	}
	if r := hb(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberID = "ghost"; r.MemberEpoch = 1 }); r.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("unknown member: %d", r.ErrorCode)
	}
	// A classic member cannot join the consumer group, and a commit with a
	// stale member epoch is refused.
	jg := kmsg.NewPtrJoinGroupRequest()
	jg.Group, jg.SessionTimeoutMillis, jg.ProtocolType = "kg", 10000, "consumer"
	jg.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range"}}
	if r := request[*kmsg.JoinGroupResponse](t, cl, jg, 9); r.ErrorCode != kerr.InconsistentGroupProtocol.Code {
		t.Fatalf("classic join of a consumer group: %d", r.ErrorCode)
	}
	oc := kmsg.NewPtrOffsetCommitRequest()
	oc.Group, oc.MemberID, oc.Generation = "kg", "m1", 5
	oc.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "ke", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1, LeaderEpoch: -1}}}}
	if r := request[*kmsg.OffsetCommitResponse](t, cl, oc, 9); r.Topics[0].Partitions[0].ErrorCode != kerr.StaleMemberEpoch.Code {
		t.Fatalf("stale epoch commit: %d", r.Topics[0].Partitions[0].ErrorCode)
	}
	oc.Generation = 1
	if r := request[*kmsg.OffsetCommitResponse](t, cl, oc, 9); r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("member commit: %d", r.Topics[0].Partitions[0].ErrorCode)
	}
	// Classic DescribeGroups does not describe a consumer group.
	dg := kmsg.NewPtrDescribeGroupsRequest()
	dg.Groups = []string{"kg"}
	if r := request[*kmsg.DescribeGroupsResponse](t, cl, dg, 6); r.Groups[0].ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("classic describe of a consumer group: %+v", r.Groups[0])
	}
	// Leaving empties the group; then it can be deleted.
	if r := hb(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberEpoch = -1; r.Topics = nil }); r.ErrorCode != 0 || r.MemberEpoch != -1 {
		t.Fatalf("leave: %+v", r)
	}
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{"kg"}
	if r := request[*kmsg.DeleteGroupsResponse](t, cl, del, 2); r.Groups[0].ErrorCode != 0 {
		t.Fatalf("delete: %+v", r.Groups[0])
	}
}

// TestKIP848SurvivesRestart: KIP-848 membership, member epochs and
// assignments are stored in __consumer_offsets (Kafka's ConsumerGroup*
// records), so after a broker restart the members carry on: a commit and
// a heartbeat with a member's id and epoch are accepted right away (the
// Java consumer commits before it learns anything happened), the franz-go
// members never rejoin, and ConsumerGroupDescribe shows the same group.
func TestKIP848SurvivesRestart(t *testing.T) {
	b := startGroupBroker(t, "group.consumer.heartbeat.interval.ms", "100")
	const parts = 4
	createTopic(t, b.Addr(), "nr", parts, nil)
	produceN(t, newClient(t, b.Addr()), "nr", 40)
	opts := []kgo.Opt{kgo.ConsumeTopics("nr"), kgo.ServerSideBalancer(), kgo.Balancers(kgo.RangeBalancer()), kgo.DisableAutoCommit()}
	c1 := groupClient(t, b.Addr(), "nr-group", opts...)
	c2 := groupClient(t, b.Addr(), "nr-group", opts...)
	adm := kadm.NewClient(newClient(t, b.Addr()))

	// poll polls both clients once and notes the records they got (a
	// partition moving to the second member is read again from the start).
	seen := map[string]bool{}
	poll := func() {
		for _, cl := range []*kgo.Client{c1, c2} {
			pctx, cancel := context.WithTimeout(ctxT(t), 100*time.Millisecond)
			for _, r := range cl.PollFetches(pctx).Records() {
				seen[fmt.Sprint(r.Partition, "/", r.Offset)] = true
			}
			cancel()
		}
	}
	// Both members own their whole target, and have read everything.
	var before kadm.DescribedConsumerGroup
	deadline := time.Now().Add(20 * time.Second)
	for {
		poll()
		if dg, err := adm.DescribeConsumerGroups(ctxT(t), "nr-group"); err == nil {
			before = dg["nr-group"]
		}
		if len(seen) == 40 && settled(before, 2, parts) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("group not settled: %d records, %+v", len(seen), before)
		}
	}
	for _, cl := range []*kgo.Client{c1, c2} {
		if err := cl.CommitUncommittedOffsets(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}

	prev := committed(t, b.Addr(), "nr-group")

	b.Restart()

	// Each member's first commit and heartbeat after the restart, with
	// the id and epoch it had, are accepted.
	raw := newClient(t, b.Addr())
	tds, err := kadm.NewClient(raw).ListTopics(ctxT(t), "nr")
	if err != nil {
		t.Fatal(err)
	}
	topicID := tds["nr"].ID
	for _, m := range before.Members {
		var p int32
		for q := range m.Assignment["nr"] {
			p = q
		}
		oc := kmsg.NewPtrOffsetCommitRequest()
		oc.Group, oc.MemberID, oc.Generation = "nr-group", m.MemberID, m.MemberEpoch
		o, _ := prev.Lookup("nr", p) // the same offset again
		oc.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "nr", TopicID: topicID, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: p, Offset: o.At, LeaderEpoch: -1}}}}
		resp, err := oc.RequestWith(ctxT(t), raw) // kgo retries COORDINATOR_LOAD_IN_PROGRESS
		if err != nil {
			t.Fatal(err)
		}
		if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
			t.Fatalf("commit of %s at epoch %d after the restart: %v", m.MemberID, m.MemberEpoch, kerr.ErrorForCode(code))
		}
		hb := kmsg.NewPtrConsumerGroupHeartbeatRequest()
		hb.Group, hb.MemberID, hb.MemberEpoch, hb.RebalanceTimeoutMillis = "nr-group", m.MemberID, m.MemberEpoch, -1
		hresp, err := hb.RequestWith(ctxT(t), raw)
		if err != nil {
			t.Fatal(err)
		}
		if hresp.ErrorCode != 0 || hresp.MemberEpoch != m.MemberEpoch {
			t.Fatalf("heartbeat of %s at epoch %d after the restart: %v, epoch %d", m.MemberID, m.MemberEpoch, kerr.ErrorForCode(hresp.ErrorCode), hresp.MemberEpoch)
		}
	}

	// The clients go on: they read what is produced now and their own
	// commits succeed the first time.
	produceN(t, newClient(t, b.Addr()), "nr", 20)
	deadline = time.Now().Add(20 * time.Second)
	for len(seen) < 60 {
		poll()
		if time.Now().After(deadline) {
			t.Fatalf("read %d of 20 records after the restart", len(seen)-40)
		}
	}
	for _, cl := range []*kgo.Client{c1, c2} {
		if err := cl.CommitUncommittedOffsets(ctxT(t)); err != nil {
			t.Fatalf("commit after the restart: %v", err)
		}
	}
	offs := committed(t, b.Addr(), "nr-group")
	var sum int64
	offs.Each(func(o kadm.OffsetResponse) { sum += o.At })
	if sum != 60 {
		t.Fatalf("committed offsets sum to %d, want 60", sum)
	}

	// Same members, epochs and assignments as before the restart.
	dg, err := adm.DescribeConsumerGroups(ctxT(t), "nr-group")
	if err != nil {
		t.Fatal(err)
	}
	after := dg["nr-group"]
	if got, want := describeKIP848(after), describeKIP848(before); got != want {
		t.Fatalf("after the restart:\n%s\nbefore:\n%s", got, want)
	}
}

// settled reports whether a described KIP-848 group is Stable with n
// members that together own all partitions of their targets.
func settled(g kadm.DescribedConsumerGroup, n, parts int) bool {
	if g.Err != nil || g.State != "Stable" || len(g.Members) != n {
		return false
	}
	owned := 0
	for _, m := range g.Members {
		for _, ps := range m.Assignment {
			owned += len(ps)
		}
	}
	return owned == parts
}

func describeKIP848(g kadm.DescribedConsumerGroup) string {
	out := fmt.Sprintf("state %s epoch %d assignment epoch %d assignor %s\n", g.State, g.Epoch, g.AssignmentEpoch, g.AssignorName)
	for _, m := range g.Members {
		out += fmt.Sprintf("  %s epoch %d client %s assigned %v target %v\n", m.MemberID, m.MemberEpoch, m.ClientID, m.Assignment, m.TargetAssignment)
	}
	return out
}
