package sasl

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"strings"
	"unicode"
)

// ErrAuthentication is wrapped by every refusal of credentials; the
// broker answers it with SASL_AUTHENTICATION_FAILED and a message that
// names no secret.
var ErrAuthentication = errors.New("authentication failed")

// Mechanism is one authentication exchange on a connection.
type Mechanism interface {
	// Step takes the client's next token and returns the server's answer;
	// done is set once the client is authenticated (user is then its
	// name). An error ends the exchange.
	Step(in []byte) (out []byte, done bool, user string, err error)
}

// Plain is SASL PLAIN (RFC 4616) against a fixed set of users.
type Plain struct {
	Users map[string]string // user name to password
}

// Step checks the one PLAIN message: [authzid] NUL authcid NUL passwd. An
// authorization id other than the user's own is refused, as Kafka does.
func (p *Plain) Step(in []byte) ([]byte, bool, string, error) {
	parts := bytes.Split(in, []byte{0})
	if len(parts) != 3 {
		return nil, false, "", errors.Join(ErrAuthentication, errors.New("invalid PLAIN message"))
	}
	authz, user, pass := string(parts[0]), string(parts[1]), parts[2]
	if user == "" || len(pass) == 0 {
		return nil, false, "", errors.Join(ErrAuthentication, errors.New("PLAIN needs a user name and a password"))
	}
	if authz != "" && authz != user {
		return nil, false, "", errors.Join(ErrAuthentication, errors.New("authorization id must be the user's own"))
	}
	want, ok := p.Users[user]
	// Compare in constant time whether or not the user exists.
	if subtle.ConstantTimeCompare([]byte(want), pass) != 1 || !ok {
		return nil, false, "", errors.Join(ErrAuthentication, errors.New("invalid username or password"))
	}
	return nil, true, user, nil
}

// ParseJAAS reads the options of a JAAS configuration in Kafka's syntax:
//
//	org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="s" user_alice="a";
//
// returning the login module and its options (quotes removed).
func ParseJAAS(s string) (module string, opts map[string]string, err error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, ";")
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return "", nil, errors.New("JAAS: expected a login module and a control flag")
	}
	module, s = s[:i], strings.TrimSpace(s[i:])
	flag, rest, _ := strings.Cut(s, " ")
	switch strings.ToLower(flag) {
	case "required", "requisite", "sufficient", "optional":
	default:
		return "", nil, errors.New("JAAS: expected a control flag (required) after the login module")
	}
	opts = map[string]string{}
	s = strings.TrimSpace(rest)
	for s != "" {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return "", nil, errors.New("JAAS: expected key=value")
		}
		k = strings.TrimSpace(k)
		v = strings.TrimLeft(v, " \t")
		if strings.HasPrefix(v, "\"") {
			end := strings.Index(v[1:], "\"")
			if end < 0 {
				return "", nil, errors.New("JAAS: unterminated quoted value")
			}
			opts[k], s = v[1:1+end], strings.TrimSpace(v[2+end:])
			continue
		}
		val, after, _ := strings.Cut(v, " ")
		opts[k], s = val, strings.TrimSpace(after)
	}
	return module, opts, nil
}

// PlainUsers returns the user_NAME=password options of a PLAIN JAAS
// configuration.
func PlainUsers(opts map[string]string) map[string]string {
	users := map[string]string{}
	for k, v := range opts {
		if name, ok := strings.CutPrefix(k, "user_"); ok && name != "" {
			users[name] = v
		}
	}
	return users
}
