package cli

import (
	"strings"
	"testing"
)

func TestEndToEndQuotas(t *testing.T) {
	r := newCLIRunner(t)
	out, _ := r.ok("", "quota", "set", "--user", "alice", "producer_byte_rate=1024", "consumer_byte_rate=2048")
	if out != "Updated quotas of user=alice: producer_byte_rate=1024, consumer_byte_rate=2048.\n" {
		t.Errorf("set: %q", out)
	}
	r.ok("", "quota", "set", "--user", "alice", "--client-id", "app", "request_percentage=50")
	r.ok("", "quota", "set", "--default-user", "--add-config", "producer_byte_rate=4096,consumer_byte_rate=8192")
	r.ok("", "quota", "set", "--ip", "10.0.0.7", "connection_creation_rate=5")
	r.ok("", "quota", "set", "--client-id", "app", "producer_byte_rate=2048", "--validate-only")

	var all []quotaDescription
	r.json(&all, "quota", "describe")
	got := map[string]map[string]float64{}
	for _, d := range all {
		got[entityKey(d.Entity)] = d.Values
	}
	want := map[string]map[string]float64{
		"user=alice":                {"producer_byte_rate": 1024, "consumer_byte_rate": 2048},
		"user=alice, client-id=app": {"request_percentage": 50},
		"user=<default>":            {"producer_byte_rate": 4096, "consumer_byte_rate": 8192},
		"ip=10.0.0.7":               {"connection_creation_rate": 5},
	}
	if len(got) != len(want) {
		t.Fatalf("describe: %v, want %v (a validate-only set must not change anything)", got, want)
	}
	for k, vs := range want {
		for key, v := range vs {
			if got[k][key] != v {
				t.Errorf("%s %s = %v, want %v (all: %v)", k, key, got[k][key], v, got)
			}
		}
	}

	// --user alice matches alice's entities; --strict only user=alice.
	var some []quotaDescription
	r.json(&some, "quota", "describe", "--user", "alice")
	if len(some) != 2 {
		t.Errorf("--user alice: %+v", some)
	}
	some = nil
	r.json(&some, "quota", "describe", "--user", "alice", "--strict")
	if len(some) != 1 || entityKey(some[0].Entity) != "user=alice" {
		t.Errorf("--user alice --strict: %+v", some)
	}
	table, _ := r.ok("", "quota", "describe", "--default-user")
	if !strings.Contains(table, "user=<default>") || !strings.Contains(table, "producer_byte_rate  4096") {
		t.Errorf("table:\n%s", table)
	}

	// Delete one key, then everything left of an entity.
	r.ok("", "quota", "delete", "--user", "alice", "producer_byte_rate")
	some = nil // json.Unmarshal would merge into the maps already there
	r.json(&some, "quota", "describe", "--user", "alice", "--strict")
	if len(some) != 1 || len(some[0].Values) != 1 || some[0].Values["consumer_byte_rate"] != 2048 {
		t.Errorf("after deleting one key: %+v", some)
	}
	out, _ = r.ok("", "quota", "delete", "--user", "alice", "--client-id", "app")
	if !strings.Contains(out, "removed request_percentage") {
		t.Errorf("delete all: %q", out)
	}
	some = nil
	r.json(&some, "quota", "describe", "--user", "alice")
	if len(some) != 1 {
		t.Errorf("after deleting user=alice, client-id=app: %+v", some)
	}
	if stderr := r.fail("quota", "delete", "--user", "nobody"); !strings.Contains(stderr, "user=nobody has no quotas") {
		t.Errorf("delete without quotas: %q", stderr)
	}

	// The broker's checks come back with its message.
	if stderr := r.fail("quota", "set", "--client-id", "app", "producer_byte_rate=1.5"); !strings.Contains(stderr, "quotas of client-id=app: producer_byte_rate cannot be a fractional value") {
		t.Errorf("a fractional byte rate: %q", stderr)
	}
	if stderr := r.fail("quota", "set", "--ip", "10.0.0.7", "producer_byte_rate=1"); !strings.Contains(stderr, "quotas of ip=10.0.0.7") {
		t.Errorf("a user quota on an IP: %q", stderr)
	}
}

func TestQuotaUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"quota", "set", "producer_byte_rate=1"}, "name an entity"},
		{[]string{"quota", "set", "--user", "a"}, "nothing to change"},
		{[]string{"quota", "set", "--user", "a", "producer_byte_rate=fast"}, `"fast" is not a number`},
		{[]string{"quota", "set", "--user", "a", "--default-user", "producer_byte_rate=1"}, "not both"},
		{[]string{"quota", "set", "--user", "", "producer_byte_rate=1"}, "must not be empty"},
		{[]string{"quota", "set", "--ip", "1.2.3.4", "--user", "a", "connection_creation_rate=1"}, "stands alone"},
		{[]string{"quota", "describe", "alice"}, "no arguments"},
	} {
		_, stderr, code := runCLI(t, "", tt.args...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: %d %q, want %q", tt.args, code, stderr, tt.want)
		}
	}
}
