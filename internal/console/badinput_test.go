package console_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestAPIBadInput: every endpoint refuses bad parameters and bodies with a
// 4xx and a JSON {"error": "..."}, before asking the broker anything, and
// nothing lets one request read more than its bounds.
func TestAPIBadInput(t *testing.T) {
	b, url := startBroker(t)
	fill(t, b.Addr(), 10)
	api := url + "/api/v1"
	long := strings.Repeat("x", 250)
	cases := []struct {
		method, path string
		body         any
		want         int
	}{
		// Paths and methods.
		{"GET", "/nothing", nil, 404},
		{"GET", "/v2/topics", nil, 404},
		{"PUT", "/topics", nil, 405},
		{"DELETE", "/cluster", nil, 405},
		{"POST", "/groups/g", nil, 405},
		// Unknown or repeated query parameters.
		{"GET", "/cluster?x=1", nil, 400},
		{"GET", "/topics?internal=maybe", nil, 400},
		{"GET", "/topics?internal=true&internal=false", nil, 400},
		{"GET", "/groups?limit=1", nil, 400},
		{"GET", "/acls?all", nil, 400},
		{"GET", "/transactions?state=x", nil, 400},
		{"GET", "/users?user=x", nil, 400},
		{"GET", "/session?x", nil, 400},
		{"GET", "/topics/orders?partition=1", nil, 400},
		{"GET", "/topics?%zz", nil, 400},
		// Topic names.
		{"GET", "/topics/bad%20name", nil, 400},
		{"GET", "/topics/" + long, nil, 400},
		{"DELETE", "/topics/a$b", nil, 400},
		{"GET", "/topics/nosuchtopic", nil, 404},
		// The message browser.
		{"GET", "/topics/orders/messages?limit=0", nil, 400},
		{"GET", "/topics/orders/messages?limit=101", nil, 400},
		{"GET", "/topics/orders/messages?limit=1000000000", nil, 400},
		{"GET", "/topics/orders/messages?maxBytes=1073741824", nil, 400},
		{"GET", "/topics/orders/messages?maxBytes=0", nil, 400},
		{"GET", "/topics/orders/messages?partition=-1", nil, 400},
		{"GET", "/topics/orders/messages?partition=abc", nil, 400},
		{"GET", "/topics/orders/messages?partition=7", nil, 404},
		{"GET", "/topics/orders/messages?offset=-5", nil, 400},
		{"GET", "/topics/orders/messages?offset=1e3", nil, 400},
		{"GET", "/topics/orders/messages?offset=", nil, 400},
		{"GET", "/topics/orders/messages?offset=99999999999999999999", nil, 400},
		{"GET", "/topics/orders/messages?timestamp=yesterday", nil, 400},
		{"GET", "/topics/orders/messages?offset=1&timestamp=1", nil, 400},
		{"GET", "/topics/orders/messages?offset=1&from=end", nil, 400},
		{"GET", "/topics/orders/messages?from=middle", nil, 400},
		{"GET", "/topics/orders/messages?format=json", nil, 400},
		{"GET", "/topics/nosuchtopic/messages", nil, 404},
		// Create.
		{"POST", "/topics", nil, 400},
		{"POST", "/topics", "{", 400},
		{"POST", "/topics", "[]", 400},
		{"POST", "/topics", `{"name":"a"} {"name":"b"}`, 400},
		{"POST", "/topics", map[string]any{"name": "ok", "color": "blue"}, 400},
		{"POST", "/topics", map[string]any{"name": ""}, 400},
		{"POST", "/topics", map[string]any{"name": "a b"}, 400},
		{"POST", "/topics", map[string]any{"name": long}, 400},
		{"POST", "/topics", map[string]any{"name": "x", "partitions": 0}, 400},
		{"POST", "/topics", map[string]any{"name": "x", "partitions": 10001}, 400},
		{"POST", "/topics", map[string]any{"name": "x", "partitions": "3"}, 400},
		{"POST", "/topics", map[string]any{"name": "x", "replicationFactor": 0}, 400},
		{"POST", "/topics", map[string]any{"name": "x", "replicationFactor": 40000}, 400},
		{"POST", "/topics", map[string]any{"name": "x", "replicationFactor": 3}, 400},
		{"POST", "/topics", map[string]any{"name": "x", "configs": map[string]string{"": "1"}}, 400},
		{"POST", "/topics", map[string]any{"name": "x", "configs": map[string]string{"no.such.config": "1"}}, 400},
		{"POST", "/topics", map[string]any{"name": "x", "configs": map[string]string{"retention.ms": strings.Repeat("9", 20000)}}, 400},
		{"POST", "/topics", map[string]any{"name": "orders"}, 409},
		{"POST", "/topics", `{"name":"` + strings.Repeat("a", 70000) + `"}`, 413},
		// Alter configs.
		{"PATCH", "/topics/orders/configs", map[string]any{}, 400},
		{"PATCH", "/topics/orders/configs", map[string]any{"set": map[string]string{"retention.ms": "x"}}, 400},
		{"PATCH", "/topics/orders/configs", map[string]any{"set": map[string]string{"a": "1"}, "delete": []string{"a"}}, 400},
		{"PATCH", "/topics/orders/configs", map[string]any{"delete": []string{""}}, 400},
		{"PATCH", "/topics/nosuchtopic/configs", map[string]any{"set": map[string]string{"retention.ms": "1"}}, 404},
		// Groups.
		{"GET", "/groups/" + strings.Repeat("g", 1001), nil, 400},
		{"GET", "/groups/billing?x=1", nil, 400},
		{"POST", "/groups/billing/reset-offsets", nil, 400},
		{"POST", "/groups/billing/reset-offsets", map[string]any{"to": "yesterday"}, 400},
		{"POST", "/groups/billing/reset-offsets", map[string]any{"to": "offset"}, 400},
		{"POST", "/groups/billing/reset-offsets", map[string]any{"to": "offset", "offset": -1}, 400},
		{"POST", "/groups/billing/reset-offsets", map[string]any{"to": "timestamp"}, 400},
		{"POST", "/groups/billing/reset-offsets", map[string]any{"to": "earliest", "offset": 3}, 400},
		{"POST", "/groups/billing/reset-offsets", map[string]any{"to": "earliest", "partition": 0}, 400},
		{"POST", "/groups/billing/reset-offsets", map[string]any{"to": "earliest", "topic": "a b"}, 400},
		{"POST", "/groups/billing/reset-offsets", map[string]any{"to": "earliest", "topic": "orders", "partition": 9}, 404},
		{"POST", "/groups/nobody/reset-offsets", map[string]any{"to": "earliest"}, 404},
		// ACLs: one exact binding, every field checked.
		{"POST", "/acls", nil, 400},
		{"POST", "/acls?dryRun=1", acl(nil), 400},
		{"POST", "/acls", map[string]any{}, 400},
		{"POST", "/acls", acl(map[string]any{"principal": "alice"}), 400},
		{"POST", "/acls", acl(map[string]any{"principal": "User:"}), 400},
		{"POST", "/acls", acl(map[string]any{"principal": "User:a\x00b"}), 400},
		{"POST", "/acls", acl(map[string]any{"principal": "User:" + strings.Repeat("p", 1000)}), 400},
		{"POST", "/acls", acl(map[string]any{"host": "example.com"}), 400},
		{"POST", "/acls", acl(map[string]any{"resourceType": "TABLE"}), 400},
		{"POST", "/acls", acl(map[string]any{"resourceType": "ANY"}), 400},
		{"POST", "/acls", acl(map[string]any{"pattern": "MATCH"}), 400},
		{"POST", "/acls", acl(map[string]any{"operation": "ANY"}), 400},
		{"POST", "/acls", acl(map[string]any{"operation": "FLY"}), 400},
		{"POST", "/acls", acl(map[string]any{"resourceType": "GROUP", "operation": "WRITE"}), 400},
		{"POST", "/acls", acl(map[string]any{"permission": "MAYBE"}), 400},
		{"POST", "/acls", acl(map[string]any{"permission": ""}), 400},
		{"POST", "/acls", acl(map[string]any{"resourceType": "CLUSTER", "resource": "mine", "operation": "ALTER"}), 400},
		{"POST", "/acls", acl(map[string]any{"resource": "*", "pattern": "PREFIXED"}), 400},
		{"POST", "/acls", acl(map[string]any{"resource": "a b"}), 400},
		{"POST", "/acls", acl(map[string]any{"resource": ""}), 400},
		{"POST", "/acls", acl(map[string]any{"resourceType": "GROUP", "resource": strings.Repeat("g", 1001)}), 400},
		{"POST", "/acls", acl(map[string]any{"colour": "red"}), 400},
		{"POST", "/acls", acl(map[string]any{"operation": 3}), 400},
		{"POST", "/acls", acl(nil), 409}, // valid, but this broker has no authorizer
		{"DELETE", "/acls", nil, 400},
		{"DELETE", "/acls?principal=User:a", nil, 400},
		{"DELETE", "/acls", acl(map[string]any{"operation": "ANY"}), 400},
		{"PUT", "/acls", acl(nil), 405},
		// SCRAM users.
		{"POST", "/users", nil, 400},
		{"POST", "/users", map[string]any{}, 400},
		{"POST", "/users", user(map[string]any{"user": ""}), 400},
		{"POST", "/users", user(map[string]any{"user": strings.Repeat("u", 1001)}), 400},
		{"POST", "/users", user(map[string]any{"user": "tab\there"}), 400},
		{"POST", "/users", user(map[string]any{"mechanism": "PLAIN"}), 400},
		{"POST", "/users", user(map[string]any{"mechanism": ""}), 400},
		{"POST", "/users", user(map[string]any{"iterations": 100}), 400},
		{"POST", "/users", user(map[string]any{"iterations": 20000}), 400},
		{"POST", "/users", user(map[string]any{"iterations": "many"}), 400},
		{"POST", "/users", user(map[string]any{"password": ""}), 400},
		{"POST", "/users", user(map[string]any{"password": strings.Repeat("p", 1025)}), 400},
		{"POST", "/users", user(map[string]any{"salt": "c2FsdA=="}), 400},
		{"POST", "/users", `{"user":"u","mechanism":"SCRAM-SHA-256","password":"hunter2"`, 400},
		{"POST", "/users?user=u", user(nil), 400},
		{"DELETE", "/users/u?mechanism=MD5", nil, 400},
		{"DELETE", "/users/u?mechanism=SCRAM-SHA-256&mechanism=SCRAM-SHA-512", nil, 400},
		{"DELETE", "/users/u?force=1", nil, 400},
		{"DELETE", "/users/" + strings.Repeat("u", 1001), nil, 400},
		{"DELETE", "/users/a%01b", nil, 400},
		{"GET", "/users/u", nil, 405},
		{"PUT", "/users", user(nil), 405},
	}
	for _, c := range cases {
		code, raw := call(t, c.method, api+c.path, c.body, nil)
		var e struct{ Error string }
		if code != c.want || json.Unmarshal(raw, &e) != nil || e.Error == "" {
			t.Errorf("%s %s %v = %d %s, want %d with a JSON error", c.method, c.path, short(c.body), code, raw, c.want)
		}
		// A password is never echoed back, not even in an error.
		if strings.Contains(string(raw), "hunter2") {
			t.Errorf("%s %s: the answer repeats the password: %s", c.method, c.path, raw)
		}
	}
	t.Logf("%d bad requests", len(cases))

	// A form post (another site's page) and a cross-site Origin are
	// refused before anything happens.
	req, _ := http.NewRequest("POST", api+"/topics", strings.NewReader("name=evil"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 415 {
		t.Fatalf("form post = %v %v", resp.StatusCode, err)
	}
	req, _ = http.NewRequest("DELETE", api+"/topics/orders", nil)
	req.Header.Set("Origin", "https://evil.example")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
		t.Fatalf("cross-site delete = %v %v", resp.StatusCode, err)
	}
	var topic struct{ Name string }
	mustCall(t, "GET", api+"/topics/orders", nil, &topic)
}

// acl is a valid ACL body with fields replaced (nil: as is).
func acl(with map[string]any) map[string]any {
	a := map[string]any{"principal": "User:alice", "host": "*", "resourceType": "TOPIC", "resource": "orders",
		"pattern": "LITERAL", "operation": "READ", "permission": "ALLOW"}
	for k, v := range with {
		a[k] = v
	}
	return a
}

// user is a valid SCRAM user body with fields replaced.
func user(with map[string]any) map[string]any {
	u := map[string]any{"user": "u", "mechanism": "SCRAM-SHA-256", "iterations": 4096, "password": "hunter2"}
	for k, v := range with {
		u[k] = v
	}
	return u
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
