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
	}
	for _, c := range cases {
		code, raw := call(t, c.method, api+c.path, c.body, nil)
		var e struct{ Error string }
		if code != c.want || json.Unmarshal(raw, &e) != nil || e.Error == "" {
			t.Errorf("%s %s %v = %d %s, want %d with a JSON error", c.method, c.path, short(c.body), code, raw, c.want)
		}
	}

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

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
