package console_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/config"
)

type msgResult struct {
	StartOffset, EndOffset, From, Next int64
	Bytes                              int
	Records                            []struct {
		Offset    int64
		Timestamp int64
		Key       struct {
			Text   *string
			Base64 string
			Null   bool
		}
		Value struct {
			Text   *string
			Base64 string
			Size   int
		}
		Headers []struct {
			Key   string
			Value struct{ Text *string }
		}
	}
}

// TestAPI drives every read and write endpoint against a broker holding
// data.
func TestAPI(t *testing.T) {
	b, url := startBroker(t)
	fill(t, b.Addr(), 200)
	api := url + "/api/v1"

	var cluster struct {
		ClusterID  string
		Controller int32
		Brokers    []struct{ ID int32 }
		LogDirs    []struct {
			Dir                                string
			SizeBytes, TotalBytes, UsableBytes int64
		}
		Topics int
	}
	mustCall(t, "GET", api+"/cluster", nil, &cluster)
	if len(cluster.Brokers) != 1 || cluster.Controller != cluster.Brokers[0].ID || cluster.Topics < 2 {
		t.Fatalf("cluster = %+v", cluster)
	}
	if len(cluster.LogDirs) != 1 || cluster.LogDirs[0].SizeBytes <= 0 || cluster.LogDirs[0].TotalBytes <= 0 {
		t.Fatalf("log dirs = %+v", cluster.LogDirs)
	}

	var topics []struct {
		Name       string
		Partitions int
		Records    int64
		SizeBytes  int64
	}
	mustCall(t, "GET", api+"/topics", nil, &topics)
	found := false
	for _, tp := range topics {
		if tp.Name == "orders" {
			found = tp.Partitions == 3 && tp.Records == 600 && tp.SizeBytes > 0
		}
		if strings.HasPrefix(tp.Name, "__") {
			t.Fatalf("internal topic %s listed without internal=true", tp.Name)
		}
	}
	if !found {
		t.Fatalf("topics = %+v", topics)
	}

	var topic struct {
		Partitions []struct {
			Partition, Leader      int32
			ISR                    []int32
			StartOffset, EndOffset int64
		}
		Configs []struct {
			Name   string
			Value  *string
			Source string
		}
	}
	mustCall(t, "GET", api+"/topics/orders", nil, &topic)
	if len(topic.Partitions) != 3 || topic.Partitions[1].EndOffset != 200 || len(topic.Partitions[1].ISR) != 1 || len(topic.Configs) == 0 {
		t.Fatalf("topic = %+v", topic)
	}

	// The message browser: by offset, by time, the end, and limits.
	var m msgResult
	m = msgResult{}
	mustCall(t, "GET", api+"/topics/orders/messages?partition=1&offset=42&limit=3", nil, &m)
	if len(m.Records) != 3 || m.Records[0].Offset != 42 || m.Next != 45 || m.EndOffset != 200 {
		t.Fatalf("by offset: %+v", m)
	}
	r0 := m.Records[0]
	if *r0.Key.Text != "order-1-42" || !strings.Contains(*r0.Value.Text, `"id":42`) || len(r0.Headers) != 1 ||
		r0.Headers[0].Key != "source" || *r0.Headers[0].Value.Text != "web" || r0.Timestamp != baseTime.Add(42*time.Second).UnixMilli() {
		t.Fatalf("record: %+v", r0)
	}
	ts := baseTime.Add(100*time.Second + 500*time.Millisecond).UnixMilli()
	m = msgResult{}
	mustCall(t, "GET", api+"/topics/orders/messages?partition=2&timestamp="+itoa(ts)+"&limit=1", nil, &m)
	if len(m.Records) != 1 || m.Records[0].Offset != 101 {
		t.Fatalf("by time: %+v", m)
	}
	m = msgResult{}
	mustCall(t, "GET", api+"/topics/orders/messages?partition=0&from=end&limit=5", nil, &m)
	if len(m.Records) != 5 || m.Records[0].Offset != 195 || m.Next != 200 {
		t.Fatalf("from end: %+v", m)
	}
	m = msgResult{}
	mustCall(t, "GET", api+"/topics/orders/messages?partition=0&limit=100", nil, &m)
	if len(m.Records) != 100 || m.Records[99].Offset != 99 {
		t.Fatalf("limit 100: %d records", len(m.Records))
	}
	// A byte limit smaller than a batch still returns that first batch,
	// as Kafka's Fetch does, and nothing more.
	m = msgResult{}
	mustCall(t, "GET", api+"/topics/clicks/messages?limit=100&maxBytes=1", nil, &m)
	if len(m.Records) != 1 || m.Next != 1 {
		t.Fatalf("maxBytes=1: %d records, next %d", len(m.Records), m.Next)
	}
	m = msgResult{}
	mustCall(t, "GET", api+"/topics/clicks/messages?limit=100&maxBytes=300", nil, &m)
	if len(m.Records) < 2 || len(m.Records) >= 20 || m.Bytes > 300+100 {
		t.Fatalf("maxBytes=300: %d records, %d bytes", len(m.Records), m.Bytes)
	}
	m = msgResult{}
	mustCall(t, "GET", api+"/topics/clicks/messages?offset=3&limit=1", nil, &m)
	if v, _ := base64.StdEncoding.DecodeString(m.Records[0].Value.Base64); len(m.Records) != 1 || m.Records[0].Value.Text != nil || string(v) != "\xde\xad\xbe\xef\x03" {
		t.Fatalf("binary value: %+v", m.Records)
	}
	m = msgResult{}
	mustCall(t, "GET", api+"/topics/orders/messages?partition=0&offset=5000", nil, &m)
	if len(m.Records) != 0 || m.From != 5000 {
		t.Fatalf("past the end: %+v", m)
	}

	// Create, alter, delete a topic.
	mustCall(t, "POST", api+"/topics", map[string]any{"name": "payments", "partitions": 4, "replicationFactor": 1,
		"configs": map[string]string{"retention.ms": "3600000"}}, nil)
	if code, raw := call(t, "POST", api+"/topics", map[string]any{"name": "payments"}, nil); code != 409 || !strings.Contains(string(raw), "error") {
		t.Fatalf("create twice = %d %s", code, raw)
	}
	mustCall(t, "PATCH", api+"/topics/payments/configs", map[string]any{"set": map[string]string{"cleanup.policy": "compact"}, "delete": []string{"retention.ms"}}, nil)
	mustCall(t, "GET", api+"/topics/payments", nil, &topic)
	for _, c := range topic.Configs {
		if c.Name == "cleanup.policy" && (c.Source != "topic" || *c.Value != "compact") || c.Name == "retention.ms" && c.Source == "topic" {
			t.Fatalf("config after alter: %+v", c)
		}
	}
	if code, raw := call(t, "PATCH", api+"/topics/payments/configs", map[string]any{"set": map[string]string{"cleanup.policy": "sideways"}}, nil); code != 400 {
		t.Fatalf("invalid config value = %d %s", code, raw)
	}
	mustCall(t, "DELETE", api+"/topics/payments", nil, nil)
	waitFor(t, func() bool { code, _ := call(t, "GET", api+"/topics/payments", nil, nil); return code == 404 })

	// Groups: lag, reset (dry run, then for real), delete.
	var groups []struct {
		Group string
		State string
		Lag   int64
	}
	mustCall(t, "GET", api+"/groups", nil, &groups)
	if len(groups) != 1 || groups[0].Group != "billing" || groups[0].Lag != 300 {
		t.Fatalf("groups = %+v", groups)
	}
	var g struct {
		State   string
		Lag     int64
		Offsets []struct {
			Topic     string
			Partition int32
			Committed int64
			Lag       int64
		}
	}
	mustCall(t, "GET", api+"/groups/billing", nil, &g)
	if g.Lag != 300 || len(g.Offsets) != 3 || g.Offsets[0].Committed != 100 {
		t.Fatalf("group = %+v", g)
	}
	var reset struct {
		Offsets []struct{ Committed int64 }
	}
	mustCall(t, "POST", api+"/groups/billing/reset-offsets", map[string]any{"to": "earliest", "dryRun": true}, &reset)
	mustCall(t, "GET", api+"/groups/billing", nil, &g)
	if len(reset.Offsets) != 3 || reset.Offsets[0].Committed != 0 || g.Lag != 300 {
		t.Fatalf("dry run changed something: %+v %+v", reset, g)
	}
	mustCall(t, "POST", api+"/groups/billing/reset-offsets", map[string]any{"to": "offset", "offset": 150, "topic": "orders", "partition": 2}, nil)
	mustCall(t, "POST", api+"/groups/billing/reset-offsets", map[string]any{"to": "timestamp", "timestamp": baseTime.Add(180 * time.Second).UnixMilli(), "topic": "orders", "partition": 1}, nil)
	mustCall(t, "POST", api+"/groups/billing/reset-offsets", map[string]any{"to": "latest", "topic": "orders", "partition": 0}, nil)
	mustCall(t, "GET", api+"/groups/billing", nil, &g)
	if g.Lag != 50+20 {
		t.Fatalf("lag after resets = %d: %+v", g.Lag, g.Offsets)
	}

	// An active group's offsets cannot be reset.
	cons := client(t, b.Addr(), kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("orders"))
	waitFor(t, func() bool {
		pollBriefly(cons)
		var st struct{ State string }
		call(t, "GET", api+"/groups/billing", nil, &st)
		return st.State == "Stable"
	})
	if code, raw := call(t, "POST", api+"/groups/billing/reset-offsets", map[string]any{"to": "earliest"}, nil); code != 409 {
		t.Fatalf("reset of an active group = %d %s", code, raw)
	}
	if code, _ := call(t, "DELETE", api+"/groups/billing", nil, nil); code != 409 {
		t.Fatalf("delete of an active group = %d", code)
	}
	cons.Close()
	waitFor(t, func() bool {
		var st struct{ State string }
		call(t, "GET", api+"/groups/billing", nil, &st)
		return st.State == "Empty"
	})
	mustCall(t, "DELETE", api+"/groups/billing", nil, nil)

	// Without an authorizer the broker refuses DescribeAcls; the console
	// passes the refusal on as an error, not a crash.
	if code, raw := call(t, "GET", api+"/acls", nil, nil); code < 400 || !json.Valid(raw) {
		t.Fatalf("acls without authorizer = %d %s", code, raw)
	}
	var txns []any
	mustCall(t, "GET", api+"/transactions", nil, &txns)
	var users []any
	mustCall(t, "GET", api+"/users", nil, &users)
}

// TestUIServed checks the UI's files are served from the binary and / leads
// there.
func TestUIServed(t *testing.T) {
	_, url := startBroker(t)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("/ = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, p := range []string{"/ui/", "/ui/app.js", "/ui/style.css", "/ui/topics.js", "/ui/groups.js", "/ui/cluster.js", "/ui/dom.js", "/ui/api.js"} {
		resp, err := http.Get(url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s = %d", p, resp.StatusCode)
		}
	}
	// The metrics are still there.
	resp, err = http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics = %d", resp.StatusCode)
	}
}

// TestConsoleDisabled: console.enable=false leaves only the metrics.
func TestConsoleDisabled(t *testing.T) {
	_, url := startBroker(t, "console.enable", "false")
	for _, p := range []string{"/api/v1/cluster", "/ui/"} {
		resp, err := http.Get(url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("%s with the console off = %d", p, resp.StatusCode)
		}
	}
}

// TestAPIAuth: with a SASL listener the API asks for HTTP Basic
// credentials, checks them with the broker, and the broker's ACLs decide
// what each user sees and may do.
func TestAPIAuth(t *testing.T) {
	b, url := startBroker(t,
		"listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms", "PLAIN",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config",
		`org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";`,
		"authorizer.class.name", config.StandardAuthorizer,
		"super.users", "User:admin;User:ANONYMOUS")
	api := url + "/api/v1"
	adm := kadm.NewClient(client(t, b.Addr()))
	if _, err := adm.CreateTopic(ctxT(t), 1, 1, nil, "secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctxT(t), 1, 1, nil, "public"); err != nil {
		t.Fatal(err)
	}
	acl := kadm.NewACLs().Allow("User:alice").Topics("public").Operations(kadm.OpDescribe, kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral)
	if r, err := adm.CreateACLs(ctxT(t), acl); err != nil || r[0].Err != nil {
		t.Fatalf("create acl: %v %+v", err, r)
	}

	get := func(user, pass, path string) (int, []byte, http.Header) {
		req, _ := http.NewRequest("GET", api+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, raw, resp.Header
	}
	if code, raw, hdr := get("", "", "/topics"); code != 401 || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Basic") || !json.Valid(raw) {
		t.Fatalf("no credentials = %d %s %v", code, raw, hdr)
	}
	if code, raw, _ := get("alice", "wrong", "/topics"); code != 401 {
		t.Fatalf("wrong password = %d %s", code, raw)
	}
	code, raw, _ := get("alice", "alice-secret", "/topics")
	if code != 200 || !strings.Contains(string(raw), `"public"`) || strings.Contains(string(raw), `"secret"`) {
		t.Fatalf("alice's topics = %d %s", code, raw)
	}
	if code, raw, _ := get("alice", "alice-secret", "/topics/secret/messages"); code != 403 && code != 404 {
		t.Fatalf("alice reading secret = %d %s", code, raw)
	}
	code, raw, _ = get("admin", "admin-secret", "/topics")
	if code != 200 || !strings.Contains(string(raw), `"secret"`) {
		t.Fatalf("admin's topics = %d %s", code, raw)
	}
	if code, raw, _ := get("admin", "admin-secret", "/acls"); code != 200 || !strings.Contains(string(raw), "User:alice") {
		t.Fatalf("admin's acls = %d %s", code, raw)
	}
	var s struct {
		User         string
		AuthRequired bool
	}
	_, raw, _ = get("alice", "alice-secret", "/session")
	if json.Unmarshal(raw, &s); s.User != "alice" || !s.AuthRequired {
		t.Fatalf("session = %s", raw)
	}
	// Alice may not create topics: the broker says so, the console passes
	// it on as 403.
	req, _ := http.NewRequest("POST", api+"/topics", strings.NewReader(`{"name":"mine"}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("alice", "alice-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("alice creating a topic = %d", resp.StatusCode)
	}
}
