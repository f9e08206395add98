package console_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/samsa-streaming/samsa/internal/brokertest"
	"github.com/samsa-streaming/samsa/internal/config"
)

// startSecure runs a broker whose console logs users in over SASL (PLAIN
// admin and alice from JAAS, SCRAM users from the metadata), with ACLs:
// admin and the PLAINTEXT listener's ANONYMOUS are super users.
func startSecure(t *testing.T) (*brokertest.Broker, string) {
	return startBroker(t,
		"listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config",
		`org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";`,
		"authorizer.class.name", config.StandardAuthorizer,
		"super.users", "User:admin;User:ANONYMOUS")
}

// as sends a request to the API as user (HTTP Basic).
func as(t *testing.T, user, pass, method, url string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// scramLogin connects to the SASL listener as user with SCRAM and returns
// the broker's answer to one request.
func scramLogin(t *testing.T, addr, user, pass string, sha512 bool) error {
	t.Helper()
	a := scram.Auth{User: user, Pass: pass}
	m := a.AsSha256Mechanism()
	if sha512 {
		m = a.AsSha512Mechanism()
	}
	cl := client(t, addr, kgo.SASL(m), kgo.RetryTimeout(2*time.Second), kgo.RequestRetries(0))
	defer cl.Close()
	_, err := kadm.NewClient(cl).BrokerMetadata(ctxT(t))
	return err
}

// TestAPISecurityWrites: ACLs and SCRAM users made and removed through
// the API take effect on the broker (DescribeAcls, a SASL login), a user
// without ALTER on the cluster is refused with a 403 that says so, and
// the password is in no answer.
func TestAPISecurityWrites(t *testing.T) {
	b, url := startSecure(t)
	api := url + "/api/v1"
	adm := kadm.NewClient(client(t, b.Addr()))
	saslAddr := b.ListenerAddr("SASL_PLAINTEXT")

	// An ACL, created, seen by DescribeAcls, listed, deleted.
	acl := map[string]any{"principal": "User:carol", "host": "*", "resourceType": "topic", "resource": "orders-",
		"pattern": "prefixed", "operation": "read", "permission": "allow"}
	if code, raw := as(t, "admin", "admin-secret", "POST", api+"/acls", acl); code != 200 || !strings.Contains(raw, `"operation":"READ"`) {
		t.Fatalf("create acl = %d %s", code, raw)
	}
	described := func() []kadm.DescribedACL {
		res, err := adm.DescribeACLs(ctxT(t), kadm.NewACLs().Allow("User:carol").AllowHosts().AnyResource().ResourcePatternType(kadm.ACLPatternAny).Operations(kadm.OpAny))
		if err != nil {
			t.Fatal(err)
		}
		var out []kadm.DescribedACL
		for _, r := range res {
			out = append(out, r.Described...)
		}
		return out
	}
	if d := described(); len(d) != 1 || d[0].Name != "orders-" || d[0].Pattern != kadm.ACLPatternPrefixed || d[0].Operation != kadm.OpRead {
		t.Fatalf("described after create: %+v", d)
	}
	if code, raw := as(t, "admin", "admin-secret", "GET", api+"/acls", nil); code != 200 || !strings.Contains(raw, `"principal":"User:carol"`) {
		t.Fatalf("list = %d %s", code, raw)
	}
	// Alice has no ALTER on the cluster: refused, and told why.
	code, raw := as(t, "alice", "alice-secret", "POST", api+"/acls", acl)
	if code != 403 || !strings.Contains(raw, "User:alice may not create ACLs") || !strings.Contains(raw, "CLUSTER_AUTHORIZATION_FAILED") {
		t.Fatalf("alice creating an acl = %d %s", code, raw)
	}
	if code, raw := as(t, "alice", "alice-secret", "DELETE", api+"/acls", acl); code != 403 {
		t.Fatalf("alice deleting an acl = %d %s", code, raw)
	}
	if code, raw := as(t, "admin", "admin-secret", "DELETE", api+"/acls", acl); code != 200 {
		t.Fatalf("delete acl = %d %s", code, raw)
	}
	if d := described(); len(d) != 0 {
		t.Fatalf("described after delete: %+v", d)
	}
	if code, raw := as(t, "admin", "admin-secret", "DELETE", api+"/acls", acl); code != 404 {
		t.Fatalf("deleting it again = %d %s", code, raw)
	}

	// A SCRAM user: made, logs in over SASL (and into the console), gets a
	// new password, loses the credential.
	const pw1, pw2 = "first-Pa55word", "second-Pa55word"
	code, raw = as(t, "admin", "admin-secret", "POST", api+"/users", map[string]any{"user": "carol", "mechanism": "SCRAM-SHA-512", "iterations": 4096, "password": pw1})
	if code != 200 || strings.Contains(raw, pw1) || !strings.Contains(raw, `"iterations":4096`) {
		t.Fatalf("create user = %d %s", code, raw)
	}
	if err := scramLogin(t, saslAddr, "carol", pw1, true); err != nil {
		t.Fatalf("carol's login: %v", err)
	}
	if code, raw := as(t, "carol", pw1, "GET", api+"/session", nil); code != 200 || !strings.Contains(raw, `"user":"carol"`) {
		t.Fatalf("carol in the console = %d %s", code, raw)
	}
	if code, raw := as(t, "admin", "admin-secret", "GET", api+"/users", nil); code != 200 || !strings.Contains(raw, `{"mechanism":"SCRAM-SHA-512","iterations":4096}`) || strings.Contains(raw, pw1) {
		t.Fatalf("users = %d %s", code, raw)
	}
	// Carol may not make users either.
	if code, raw := as(t, "carol", pw1, "POST", api+"/users", map[string]any{"user": "mallory", "mechanism": "SCRAM-SHA-256", "password": "x"}); code != 403 || !strings.Contains(raw, "User:carol may not alter SCRAM users") {
		t.Fatalf("carol making a user = %d %s", code, raw)
	}
	if code, raw := as(t, "admin", "admin-secret", "POST", api+"/users", map[string]any{"user": "carol", "mechanism": "scram-sha-512", "password": pw2}); code != 200 || !strings.Contains(raw, `"iterations":8192`) {
		t.Fatalf("new password = %d %s", code, raw)
	}
	if err := scramLogin(t, saslAddr, "carol", pw1, true); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("old password after the change: %v", err)
	}
	if err := scramLogin(t, saslAddr, "carol", pw2, true); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if code, raw := as(t, "admin", "admin-secret", "DELETE", api+"/users/carol?mechanism=SCRAM-SHA-256", nil); code != 404 {
		t.Fatalf("deleting a mechanism carol lacks = %d %s", code, raw)
	}
	if code, raw := as(t, "admin", "admin-secret", "DELETE", api+"/users/carol", nil); code != 200 || !strings.Contains(raw, "SCRAM-SHA-512") {
		t.Fatalf("delete user = %d %s", code, raw)
	}
	if err := scramLogin(t, saslAddr, "carol", pw2, true); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("deleted user's login: %v", err)
	}
	if code, raw := as(t, "admin", "admin-secret", "DELETE", api+"/users/carol", nil); code != 404 {
		t.Fatalf("deleting carol again = %d %s", code, raw)
	}
}
