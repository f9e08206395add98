package quota

import (
	"net/netip"
	"testing"
	"time"
)

func TestRate(t *testing.T) {
	c := DefaultConfig
	var r Rate
	r.Record(c, 100, 0)
	// A new sensor counts Samples-1 whole windows: 100 over 10 s.
	if got := r.Measure(c, 0); got != 10 {
		t.Fatalf("rate %v, want 10", got)
	}
	if got := r.Throttle(c, 5, 0); got != 10*time.Second {
		t.Fatalf("throttle %v, want 10s: (10-5)/5 * 10 s", got)
	}
	if got := r.Throttle(c, 10, 0); got != 0 {
		t.Fatalf("throttle at the bound %v", got)
	}

	// 10 every second for 20 s: the oldest sample overlapping the
	// measured span is kept, as in Kafka, so 11 samples over 10 s.
	var s Rate
	for ms := int64(0); ms <= 20000; ms += 1000 {
		s.Record(c, 10, ms)
	}
	if got := s.Measure(c, 20000); got != 11 {
		t.Fatalf("steady rate %v, want 11", got)
	}
	if got := s.Throttle(c, 10, 20000); got != time.Second {
		t.Fatalf("throttle %v, want 1s", got)
	}
	// After Samples windows of silence everything has expired.
	if got := s.Measure(c, 20000+11000+1000); got != 0 {
		t.Fatalf("rate after silence %v", got)
	}
}

func TestResolvePrecedence(t *testing.T) {
	type level struct {
		e    Entity
		user string // the sensor's user and client id for alice/app
		id   string
	}
	levels := []level{
		{Entity{User: "alice", ClientID: "app"}, "alice", "app"},
		{Entity{User: "alice", DefaultClientID: true}, "alice", "app"},
		{Entity{User: "alice"}, "alice", ""},
		{Entity{DefaultUser: true, ClientID: "app"}, "alice", "app"},
		{Entity{DefaultUser: true, DefaultClientID: true}, "alice", "app"},
		{Entity{DefaultUser: true}, "alice", ""},
		{Entity{ClientID: "app"}, "", "app"},
		{Entity{DefaultClientID: true}, "", "app"},
	}
	// With levels i..7 set, level i wins.
	for i := range levels {
		tb := NewTable()
		for j := i; j < len(levels); j++ {
			tb.Set(levels[j].e, ProducerByteRate, float64(j+1))
		}
		tb.Set(Entity{User: "bob"}, ProducerByteRate, 99) // another user's: never alice's
		bound, key, ok := tb.Resolve(Produce, "alice", "app")
		if !ok || bound != float64(i+1) || key.user != levels[i].user || key.id != levels[i].id {
			t.Errorf("levels %d..: got %v %+v %v, want %d %+v", i, bound, key, ok, i+1, levels[i])
		}
		if _, _, ok := tb.Resolve(Fetch, "alice", "app"); ok {
			t.Error("a producer quota applied to fetches")
		}
	}
	if _, _, ok := NewTable().Resolve(Produce, "alice", "app"); ok {
		t.Error("an empty table has a quota")
	}
}

func TestManager(t *testing.T) {
	m := NewManager(DefaultConfig, DefaultConfig)
	now := time.Unix(1000, 0)
	if m.Enabled() || m.Record(Produce, "alice", "a", 1e9, now) != 0 {
		t.Fatal("no quotas, yet throttled")
	}
	tb := NewTable()
	tb.Set(Entity{User: "alice"}, ProducerByteRate, 100)
	tb.SetIP("10.0.0.1", false, 3)
	tb.Set(Entity{DefaultUser: true}, RequestPercentage, 1)
	m.SetTable(tb)
	if !m.Enabled() {
		t.Fatal("not enabled")
	}
	// A user-level quota: every client id of alice shares one sensor.
	if d := m.Record(Produce, "alice", "a", 600, now); d != 0 {
		t.Fatalf("600 bytes over 10 s is within 100/s: %v", d)
	}
	if d := m.Record(Produce, "alice", "b", 600, now); d != 2*time.Second {
		t.Fatalf("throttle %v, want 2s ((120-100)/100 * 10 s)", d)
	}
	m.Unrecord(Produce, "alice", "b", 600, now)
	if d := m.Record(Produce, "alice", "c", 0, now); d != 0 {
		t.Fatalf("after unrecording: %v", d)
	}
	if d := m.Record(Request, "bob", "a", 1e6, now); d != time.Second {
		t.Fatalf("a request-time throttle of %v, want one window at most", d)
	}
	if d := m.Record(Produce, "bob", "a", 1e9, now); d != 0 {
		t.Fatal("bob has no quota")
	}
	if v, ok := m.MaxInWindow(Produce, "alice", "x"); !ok || v != 1000 {
		t.Fatalf("max in window %v %v", v, ok)
	}
	if r, ok := m.Table().IPRate(netip.MustParseAddr("::ffff:10.0.0.1")); !ok || r != 3 {
		t.Fatalf("ip rate %v %v", r, ok)
	}
	if _, ok := m.Table().IPRate(netip.MustParseAddr("10.0.0.2")); ok {
		t.Fatal("another address has a rate")
	}
	m.SetTable(nil)
	if m.Enabled() {
		t.Fatal("still enabled")
	}
}

// The controller mutation quota is a token bucket (KIP-599): a burst of
// quota * samples * window is accepted at once; below zero the client
// waits until the bucket refills to zero, and not longer.
func TestMutationBucket(t *testing.T) {
	m := NewManager(DefaultConfig, Config{Samples: 10, Window: time.Second})
	tb := NewTable()
	tb.Set(Entity{User: "alice"}, ControllerMutationRate, 2) // 2 partitions/s, a burst of 20
	m.SetTable(tb)
	now := time.Unix(1000, 0)
	if d := m.MutationThrottle("alice", "a", now); d != 0 {
		t.Fatalf("a full bucket throttles %v", d)
	}
	if d := m.RecordMutation("alice", "a", 20, now); d != 0 {
		t.Fatalf("the burst of 20 throttles %v", d)
	}
	// One more mutation is accepted (the bucket is not below zero when
	// checked) and takes it to -10: 5 s at 2/s to refill.
	if d := m.MutationThrottle("alice", "b", now); d != 0 {
		t.Fatalf("an empty bucket (not below zero) throttles %v", d)
	}
	if d := m.RecordMutation("alice", "b", 10, now); d != 5*time.Second {
		t.Fatalf("throttle %v after going 10 below zero at 2/s, want 5s", d)
	}
	if d := m.MutationThrottle("alice", "a", now.Add(2*time.Second)); d != 3*time.Second {
		t.Fatalf("2 s later: %v, want 3s", d)
	}
	if d := m.MutationThrottle("alice", "a", now.Add(5*time.Second)); d != 0 {
		t.Fatalf("5 s later: %v, want 0", d)
	}
	// Refilled up to the burst, never beyond.
	if d := m.RecordMutation("alice", "a", 21, now.Add(time.Hour)); d != 500*time.Millisecond {
		t.Fatalf("21 from a full bucket of 20: %v, want 500ms", d)
	}
	// bob has no quota; produce quotas are not mutation quotas.
	if d := m.RecordMutation("bob", "a", 1e6, now); d != 0 {
		t.Fatalf("bob: %v", d)
	}
}
