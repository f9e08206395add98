package cli

import (
	"strings"
	"testing"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// TestEndToEndUsers: samsa user create (password from stdin or a flag, one
// or two mechanisms), list, and delete (one mechanism, then all), against
// a broker with a SASL_PLAINTEXT SCRAM listener on which the users then
// log in (and no longer can once deleted). No password is printed.
func TestEndToEndUsers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	b := brokertest.Start(t,
		"listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
		"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
		"sasl.enabled.mechanisms", "SCRAM-SHA-256,SCRAM-SHA-512")
	r := &cliRunner{t: t, addr: b.Addr()}
	out, stderr := r.ok("alice-secret\n", "user", "create", "alice", "--password-stdin")
	if out != "Set the SCRAM-SHA-256 credentials of user \"alice\" (8192 iterations).\n" || strings.Contains(out+stderr, "secret") {
		t.Errorf("create alice: %q %q", out, stderr)
	}
	out, stderr = r.ok("", "user", "create", "bob", "--password", "bob-secret", "--mechanism", "scram-sha-256", "--mechanism", "SCRAM-SHA-512", "--iterations", "4096")
	if !strings.Contains(out, "SCRAM-SHA-256 and SCRAM-SHA-512") || strings.Contains(out+stderr, "secret") {
		t.Errorf("create bob: %q %q", out, stderr)
	}
	var users []userDescription
	r.json(&users, "user", "list")
	if len(users) != 2 || users[0].User != "alice" || len(users[0].Credentials) != 1 || users[0].Credentials[0] != (userCredential{"SCRAM-SHA-256", 8192}) ||
		users[1].User != "bob" || len(users[1].Credentials) != 2 || users[1].Credentials[1] != (userCredential{"SCRAM-SHA-512", 4096}) {
		t.Fatalf("list: %+v", users)
	}
	out, _ = r.ok("", "user", "list")
	if strings.Count(out, "\n") != 4 || strings.Contains(out, "secret") {
		t.Errorf("list table: %q", out)
	}

	// The users log in over SASL with what was set.
	saslAddr := b.ListenerAddr("SASL_PLAINTEXT")
	login := func(user, pass, mech string) (string, string, int) {
		props := writeProps(t, "security.protocol=SASL_PLAINTEXT", "sasl.mechanism="+mech,
			`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="`+user+`" password="`+pass+`";`)
		return runCLI(t, "", "-b", saslAddr, "--timeout", "10s", "--command-config", props, "topic", "list")
	}
	if _, stderr, code := login("alice", "alice-secret", "SCRAM-SHA-256"); code != exitOK {
		t.Fatalf("alice's login: exit %d: %s", code, stderr)
	}
	if _, stderr, code := login("bob", "bob-secret", "SCRAM-SHA-512"); code != exitOK {
		t.Fatalf("bob's SCRAM-SHA-512 login: exit %d: %s", code, stderr)
	}
	if _, _, code := login("alice", "wrong", "SCRAM-SHA-256"); code == exitOK {
		t.Fatal("alice logged in with a wrong password")
	}

	// Delete one of bob's mechanisms, then all of alice's.
	out, _ = r.ok("", "user", "delete", "bob", "--mechanism", "SCRAM-SHA-512")
	if out != "Deleted the SCRAM-SHA-512 credentials of user \"bob\".\n" {
		t.Errorf("delete bob's 512: %q", out)
	}
	if _, _, code := login("bob", "bob-secret", "SCRAM-SHA-512"); code == exitOK {
		t.Error("bob logged in with a deleted SCRAM-SHA-512 credential")
	}
	if _, stderr, code := login("bob", "bob-secret", "SCRAM-SHA-256"); code != exitOK {
		t.Errorf("bob's SCRAM-SHA-256 login after deleting 512: exit %d: %s", code, stderr)
	}
	r.ok("", "user", "delete", "alice")
	users = nil
	r.json(&users, "user", "list")
	if len(users) != 1 || users[0].User != "bob" {
		t.Errorf("list after deletes: %+v", users)
	}
	if stderr := r.fail("user", "delete", "nobody"); !strings.Contains(stderr, "nobody") {
		t.Errorf("deleting an unknown user: %q", stderr)
	}

	// Usage errors.
	for _, args := range [][]string{
		{"user", "create", "carol"},
		{"user", "create", "carol", "--password", "x", "--mechanism", "PLAIN"},
		{"user", "create", "carol", "--password", "x", "--iterations", "100"},
		{"user", "create", "carol", "--password", "x", "--password-stdin"},
	} {
		if _, stderr, code := runCLI(t, "", append([]string{"-b", b.Addr()}, args...)...); code != exitUsage {
			t.Errorf("samsa %s: exit %d, want %d (%s)", strings.Join(args, " "), code, exitUsage, stderr)
		}
	}
}
