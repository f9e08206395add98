package sasl

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/xdg-go/scram"
)

func TestPlain(t *testing.T) {
	p := &Plain{Users: map[string]string{"alice": "alice-secret"}}
	if _, done, user, err := p.Step([]byte("\x00alice\x00alice-secret")); err != nil || !done || user != "alice" {
		t.Fatalf("good: %v %v %q", err, done, user)
	}
	if _, _, _, err := p.Step([]byte("alice\x00alice\x00alice-secret")); err != nil {
		t.Fatalf("own authzid: %v", err)
	}
	for _, bad := range []string{"\x00alice\x00wrong", "\x00bob\x00alice-secret", "bob\x00alice\x00alice-secret", "alice", "\x00\x00", ""} {
		if _, _, _, err := p.Step([]byte(bad)); !errors.Is(err, ErrAuthentication) {
			t.Errorf("%q: %v", bad, err)
		}
		if _, _, _, err := p.Step([]byte(bad)); err != nil && strings.Contains(err.Error(), "alice-secret") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}

func TestParseJAAS(t *testing.T) {
	mod, opts, err := ParseJAAS(`org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="a b;c";`)
	if err != nil || mod != "org.apache.kafka.common.security.plain.PlainLoginModule" {
		t.Fatalf("%q %v", mod, err)
	}
	users := PlainUsers(opts)
	if len(users) != 2 || users["alice"] != "a b;c" || opts["username"] != "admin" {
		t.Fatalf("%v %v", users, opts)
	}
	for _, bad := range []string{"", "Module", "Module sometimes x=1", `Module required x="open`, "Module required novalue"} {
		if _, _, err := ParseJAAS(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func lookupFor(t *testing.T, m ScramMechanism, users map[string]string) func(string) (Credential, bool) {
	creds := map[string]Credential{}
	for u, p := range users {
		c, err := NewCredential(m, p, 4096)
		if err != nil {
			t.Fatal(err)
		}
		creds[u] = c
	}
	return func(u string) (Credential, bool) { c, ok := creds[u]; return c, ok }
}

func TestScramWithTheLibraryClient(t *testing.T) {
	for _, m := range []ScramMechanism{ScramSHA256, ScramSHA512} {
		lookup := lookupFor(t, m, map[string]string{"alice": "pw"})
		for _, tc := range []struct {
			user, pass string
			ok         bool
		}{{"alice", "pw", true}, {"alice", "wrong", false}, {"bob", "pw", false}} {
			gen := scram.SHA256
			if m == ScramSHA512 {
				gen = scram.SHA512
			}
			cl, _ := gen.NewClient(tc.user, tc.pass, "")
			conv := cl.NewConversation()
			srv, err := NewScram(m, lookup)
			if err != nil {
				t.Fatal(err)
			}
			first, _ := conv.Step("")
			out, done, _, err := srv.Step([]byte(first))
			if err != nil || done {
				if tc.ok || !errors.Is(err, ErrAuthentication) {
					t.Fatalf("%s %+v first: %v", m.Name(), tc, err)
				}
				continue
			}
			final, err := conv.Step(string(out))
			if err != nil {
				t.Fatal(err)
			}
			out, done, user, err := srv.Step([]byte(final))
			if tc.ok {
				if err != nil || !done || user != "alice" {
					t.Fatalf("%s %+v final: %v %v %q", m.Name(), tc, err, done, user)
				}
				if _, err := conv.Step(string(out)); err != nil || !conv.Valid() {
					t.Fatalf("the client rejects the server's signature: %v", err)
				}
			} else if !errors.Is(err, ErrAuthentication) {
				t.Fatalf("%s %+v accepted: %v", m.Name(), tc, err)
			}
		}
	}
}

// librdkafka before 2.6.1 puts its nonce once more in front of the
// combined nonce of the client-final message, and signs that message:
// accepted, as Kafka 3.9 did. A wrong password in that form is still
// refused, and so is a nonce that does not end with the server's.
func TestScramOldLibrdkafkaNonce(t *testing.T) {
	lookup := lookupFor(t, ScramSHA256, map[string]string{"alice": "pw"})
	run := func(pass string, mangle func(cnonce, nonce string) string) error {
		srv, _ := NewScram(ScramSHA256, lookup)
		cnonce := "fyko+d2lbbFgONRv9qkxdawL"
		bare := "n=alice,r=" + cnonce
		out, _, _, err := srv.Step([]byte("n,," + bare))
		if err != nil {
			return err
		}
		var nonce, saltB64 string
		var iters int
		for _, f := range strings.Split(string(out), ",") {
			switch {
			case strings.HasPrefix(f, "r="):
				nonce = f[2:]
			case strings.HasPrefix(f, "s="):
				saltB64 = f[2:]
			case strings.HasPrefix(f, "i="):
				for _, c := range f[2:] {
					iters = iters*10 + int(c-'0')
				}
			}
		}
		salt, _ := base64.StdEncoding.DecodeString(saltB64)
		salted, _ := Salt(ScramSHA256, pass, salt, int32(iters))
		without := "c=biws,r=" + mangle(cnonce, nonce)
		auth := bare + "," + string(out) + "," + without
		mac := func(k []byte, s string) []byte { h := hmac.New(sha256.New, k); h.Write([]byte(s)); return h.Sum(nil) }
		ck := mac(salted, "Client Key")
		sk := sha256.Sum256(ck)
		sig := mac(sk[:], auth)
		proof := make([]byte, len(ck))
		for i := range ck {
			proof[i] = ck[i] ^ sig[i]
		}
		_, done, user, err := srv.Step([]byte(without + ",p=" + base64.StdEncoding.EncodeToString(proof)))
		if err == nil && (!done || user != "alice") {
			return errors.New("not done")
		}
		return err
	}
	exact := func(_, nonce string) string { return nonce }
	doubled := func(cnonce, nonce string) string { return cnonce + nonce }
	if err := run("pw", exact); err != nil {
		t.Fatalf("exact nonce: %v", err)
	}
	if err := run("pw", doubled); err != nil {
		t.Fatalf("librdkafka's doubled nonce: %v", err)
	}
	if err := run("wrong", doubled); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("doubled nonce, wrong password: %v", err)
	}
	if err := run("pw", func(cnonce, _ string) string { return cnonce }); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("client nonce only: %v", err)
	}
}
