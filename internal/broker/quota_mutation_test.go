package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// controller_mutation_rate (KIP-599): with 2 partitions/s and a bucket of
// 2 windows (a burst of 4), CreateTopics v6+, CreatePartitions v3+ and
// DeleteTopics v5+ refuse a topic with THROTTLING_QUOTA_EXCEEDED once the
// client's bucket is below zero, and say in throttle_time_ms how long
// until it is back at zero; older versions do everything and only
// throttle; another client id is not limited.
func TestControllerMutationQuota(t *testing.T) {
	b := brokertest.Start(t, "controller.quota.window.num", "2")
	setQuota(t, b.Addr(), kadm.ClientQuotaEntity{{Type: "client-id", Name: strp("mutator")}}, "controller_mutation_rate", 2)
	cl := newClient(t, b.Addr(), kgo.ClientID("mutator"))
	// The same client id at the versions before THROTTLING_QUOTA_EXCEEDED.
	old := kversion.Stable()
	old.SetMaxKeyVersion(kmsg.CreateTopics.Int16(), 5)
	old.SetMaxKeyVersion(kmsg.CreatePartitions.Int16(), 2)
	old.SetMaxKeyVersion(kmsg.DeleteTopics.Int16(), 4)
	oldCl := newClient(t, b.Addr(), kgo.ClientID("mutator"), kgo.MaxVersions(old))
	ctx := ctxT(t)
	// on is the client speaking the version asked for: kgo sends the
	// highest version both sides know, whatever the request says.
	on := func(version, strictFrom int16) *kgo.Client {
		if version >= strictFrom {
			return cl
		}
		return oldCl
	}

	create := func(version int16, topics map[string]int32, order ...string) *kmsg.CreateTopicsResponse {
		t.Helper()
		req := kmsg.NewPtrCreateTopicsRequest()
		req.Version = version
		for _, name := range order {
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, topics[name], 1
			req.Topics = append(req.Topics, rt)
		}
		resp, err := requestPinned(ctx, on(version, 6), req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetVersion() != version {
			t.Fatalf("CreateTopics went out as v%d, not v%d", resp.GetVersion(), version)
		}
		return resp.(*kmsg.CreateTopicsResponse)
	}
	// refill waits for a bucket throttled for ms to be full again: back at
	// zero, then the burst of 4 at 2 a second. (The bucket is measured on
	// the broker's clock; there is nothing to poll.)
	refill := func(ms int32) {
		time.Sleep(time.Duration(ms)*time.Millisecond + 2*time.Second + 50*time.Millisecond)
	}
	codes := func(resp *kmsg.CreateTopicsResponse) string {
		s := ""
		for _, rt := range resp.Topics {
			s += fmt.Sprintf("%s=%v ", rt.Topic, kerr.ErrorForCode(rt.ErrorCode))
		}
		return s
	}

	// Strict (v7): the burst of 4 is taken by t1; t2 is still admitted
	// (the bucket is at zero, not below) and takes it to -3; t3 is refused.
	resp := create(7, map[string]int32{"t1": 4, "t2": 3, "t3": 1}, "t1", "t2", "t3")
	if got := codes(resp); got != "t1=<nil> t2=<nil> t3=THROTTLING_QUOTA_EXCEEDED: The throttling quota has been exceeded. " {
		t.Fatalf("CreateTopics v7: %s", got)
	}
	// -3 at 2/s: 1.5 s until the bucket is back at zero.
	if ms := resp.ThrottleMillis; ms < 1200 || ms > 1500 {
		t.Fatalf("throttle_time_ms %d, want about 1500", ms)
	}
	if msg := resp.Topics[2].ErrorMessage; msg == nil || *msg == "" {
		t.Fatal("THROTTLING_QUOTA_EXCEEDED without a message")
	}
	if exists(t, cl, "t3") {
		t.Fatal("the refused topic t3 exists")
	}
	// Another client id has no quota.
	other := newClient(t, b.Addr(), kgo.ClientID("someone-else"))
	if cr, err := kadm.NewClient(other).CreateTopic(ctx, 20, 1, nil, "wide"); err != nil || cr.Err != nil {
		t.Fatalf("a client without a mutation quota: %v %v", err, cr.Err)
	}

	// Once the bucket is back at zero the same request goes through.
	time.Sleep(time.Duration(resp.ThrottleMillis)*time.Millisecond + 50*time.Millisecond)
	resp = create(7, map[string]int32{"t3": 1}, "t3")
	if got := codes(resp); got != "t3=<nil> " {
		t.Fatalf("after the throttle time: %s", got)
	}

	// Permissive (CreateTopics v5, no such error): both topics are made,
	// far over the quota, and the client is throttled.
	refill(resp.ThrottleMillis)
	resp = create(5, map[string]int32{"p1": 4, "p2": 4}, "p1", "p2")
	if got := codes(resp); got != "p1=<nil> p2=<nil> " {
		t.Fatalf("CreateTopics v5: %s", got)
	}
	if ms := resp.ThrottleMillis; ms < 1700 || ms > 2000 {
		t.Fatalf("CreateTopics v5 throttle_time_ms %d, want about 2000 (4 below zero at 2/s)", ms)
	}

	// CreatePartitions v3 (strict) and v2 (permissive).
	refill(resp.ThrottleMillis)
	cp := func(version int16, counts map[string]int32, order ...string) *kmsg.CreatePartitionsResponse {
		t.Helper()
		req := kmsg.NewPtrCreatePartitionsRequest()
		req.Version, req.TimeoutMillis = version, 10000
		for _, name := range order {
			rt := kmsg.NewCreatePartitionsRequestTopic()
			rt.Topic, rt.Count = name, counts[name]
			req.Topics = append(req.Topics, rt)
		}
		r, err := requestPinned(ctx, on(version, 3), req)
		if err != nil {
			t.Fatal(err)
		}
		if r.GetVersion() != version {
			t.Fatalf("CreatePartitions went out as v%d, not v%d", r.GetVersion(), version)
		}
		return r.(*kmsg.CreatePartitionsResponse)
	}
	// t1 4 -> 9 (+5: the bucket goes to -1), p1 4 -> 5 refused.
	cr := cp(3, map[string]int32{"t1": 9, "p1": 5}, "t1", "p1")
	if e0, e1 := kerr.ErrorForCode(cr.Topics[0].ErrorCode), kerr.ErrorForCode(cr.Topics[1].ErrorCode); e0 != nil || e1 != kerr.ThrottlingQuotaExceeded {
		t.Fatalf("CreatePartitions v3: %v %v", e0, e1)
	}
	if ms := cr.ThrottleMillis; ms < 300 || ms > 500 {
		t.Fatalf("CreatePartitions v3 throttle_time_ms %d, want about 500", ms)
	}
	time.Sleep(time.Duration(cr.ThrottleMillis) * time.Millisecond)
	cr = cp(2, map[string]int32{"t2": 8, "p1": 6}, "t2", "p1")
	if e0, e1 := kerr.ErrorForCode(cr.Topics[0].ErrorCode), kerr.ErrorForCode(cr.Topics[1].ErrorCode); e0 != nil || e1 != nil || cr.ThrottleMillis == 0 {
		t.Fatalf("CreatePartitions v2: %v %v throttle %d", e0, e1, cr.ThrottleMillis)
	}

	// DeleteTopics v6 (strict): deleting t1 (9 partitions) from a full
	// bucket takes it to -5; t2 is refused and still exists.
	refill(cr.ThrottleMillis)
	del := kmsg.NewPtrDeleteTopicsRequest()
	del.Version, del.TimeoutMillis = 6, 10000
	for _, name := range []string{"t1", "t2"} {
		dt := kmsg.NewDeleteTopicsRequestTopic()
		dt.Topic = kmsg.StringPtr(name)
		del.Topics = append(del.Topics, dt)
	}
	r, err := requestPinned(ctx, cl, del)
	if err != nil {
		t.Fatal(err)
	}
	dr := r.(*kmsg.DeleteTopicsResponse)
	if e0, e1 := kerr.ErrorForCode(dr.Topics[0].ErrorCode), kerr.ErrorForCode(dr.Topics[1].ErrorCode); e0 != nil || e1 != kerr.ThrottlingQuotaExceeded {
		t.Fatalf("DeleteTopics v6: %v %v", e0, e1)
	}
	if ms := dr.ThrottleMillis; ms < 2200 || ms > 2500 {
		t.Fatalf("DeleteTopics v6 throttle_time_ms %d, want about 2500", ms)
	}
	if exists(t, cl, "t1") || !exists(t, cl, "t2") {
		t.Fatal("t1 should be deleted and t2 kept")
	}
}

// requestPinned sends req on the client's connection to the (only)
// broker, so the answer's throttle is this request's.
func requestPinned(ctx context.Context, cl *kgo.Client, req kmsg.Request) (kmsg.Response, error) {
	return cl.Broker(1).Request(ctx, req)
}

func exists(t *testing.T, cl *kgo.Client, topic string) bool {
	t.Helper()
	td, err := kadm.NewClient(cl).ListTopics(ctxT(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	return td.Has(topic) && td[topic].Err == nil
}
