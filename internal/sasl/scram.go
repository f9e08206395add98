package sasl

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"

	"github.com/xdg-go/scram"
)

// ScramMechanism numbers the SCRAM mechanisms as Kafka's
// ScramMechanism (UserScramCredentials APIs).
type ScramMechanism int8

const (
	ScramSHA256 ScramMechanism = 1
	ScramSHA512 ScramMechanism = 2
)

// Name is the SASL mechanism name.
func (m ScramMechanism) Name() string {
	switch m {
	case ScramSHA256:
		return "SCRAM-SHA-256"
	case ScramSHA512:
		return "SCRAM-SHA-512"
	}
	return "UNKNOWN"
}

// MinIterations and MaxIterations bound the iteration count Kafka accepts
// (ScramMechanism minIterations, and Kafka's upper bound).
const (
	MinIterations = 4096
	MaxIterations = 16384
)

func (m ScramMechanism) hash() (func() hash.Hash, scram.HashGeneratorFcn, error) {
	switch m {
	case ScramSHA256:
		return sha256.New, scram.SHA256, nil
	case ScramSHA512:
		return sha512.New, scram.SHA512, nil
	}
	return nil, nil, fmt.Errorf("unknown SCRAM mechanism %d", m)
}

// MechanismByName maps a SASL mechanism name to a SCRAM mechanism.
func MechanismByName(name string) (ScramMechanism, bool) {
	switch strings.ToUpper(name) {
	case "SCRAM-SHA-256":
		return ScramSHA256, true
	case "SCRAM-SHA-512":
		return ScramSHA512, true
	}
	return 0, false
}

// Credential is what the cluster stores for one user and mechanism.
type Credential struct {
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
	Iterations int32
}

// CredentialFromSalted derives the stored credential from a salted
// password (what AlterUserScramCredentials carries).
func CredentialFromSalted(m ScramMechanism, salt, salted []byte, iterations int32) (Credential, error) {
	h, _, err := m.hash()
	if err != nil {
		return Credential{}, err
	}
	mac := func(key []byte, s string) []byte {
		x := hmac.New(h, key)
		x.Write([]byte(s))
		return x.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	sum := h()
	sum.Write(clientKey)
	return Credential{Salt: salt, StoredKey: sum.Sum(nil), ServerKey: mac(salted, "Server Key"), Iterations: iterations}, nil
}

// Salt computes the salted password (Hi() of RFC 5802).
func Salt(m ScramMechanism, password string, salt []byte, iterations int32) ([]byte, error) {
	h, _, err := m.hash()
	if err != nil {
		return nil, err
	}
	return pbkdf2.Key(h, password, salt, int(iterations), h().Size())
}

// NewCredential makes a credential for a password with a random salt.
func NewCredential(m ScramMechanism, password string, iterations int32) (Credential, error) {
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return Credential{}, err
	}
	salted, err := Salt(m, password, salt, iterations)
	if err != nil {
		return Credential{}, err
	}
	return CredentialFromSalted(m, salt, salted, iterations)
}

// Scram is one SCRAM conversation, server side.
type Scram struct {
	mech   ScramMechanism
	lookup func(user string) (Credential, bool)
	conv   *scram.ServerConversation
	step   int
	// Kept from the first exchange for the lenient final check.
	user        string
	cred        Credential
	clientFirst string // client-first-message-bare
	serverFirst string
	nonce       string // the combined nonce the server sent
}

// NewScram starts a SCRAM conversation; lookup finds a user's credential.
func NewScram(m ScramMechanism, lookup func(user string) (Credential, bool)) (*Scram, error) {
	_, gen, err := m.hash()
	if err != nil {
		return nil, err
	}
	s := &Scram{mech: m, lookup: lookup}
	srv, err := gen.NewServer(func(user string) (scram.StoredCredentials, error) {
		c, ok := lookup(user)
		if !ok {
			return scram.StoredCredentials{}, errors.New("unknown user")
		}
		s.user, s.cred = user, c
		return scram.StoredCredentials{
			KeyFactors: scram.KeyFactors{Salt: string(c.Salt), Iters: int(c.Iterations)},
			StoredKey:  c.StoredKey, ServerKey: c.ServerKey,
		}, nil
	})
	if err != nil {
		return nil, err
	}
	s.conv = srv.NewConversation()
	return s, nil
}

// Step advances the conversation: client-first → server-first, then
// client-final → server-final (authenticated).
func (s *Scram) Step(in []byte) ([]byte, bool, string, error) {
	s.step++
	switch s.step {
	case 1:
		msg := string(in)
		out, err := s.conv.Step(msg)
		if err != nil {
			return nil, false, "", errors.Join(ErrAuthentication, errors.New("invalid username or password"))
		}
		// client-first-message-bare: after the GS2 header "n,[a=..],".
		if i := strings.Index(msg, ",n="); i >= 0 {
			s.clientFirst = msg[i+1:]
		}
		s.serverFirst = out
		for _, f := range strings.Split(out, ",") {
			if v, ok := strings.CutPrefix(f, "r="); ok {
				s.nonce = v
			}
		}
		return []byte(out), false, "", nil
	case 2:
		msg := string(in)
		out, err := s.conv.Step(msg)
		if err == nil && s.conv.Valid() {
			return []byte(out), true, s.conv.Username(), nil
		}
		// librdkafka < 2.6.1: the client nonce in front of the combined
		// nonce (see the package documentation).
		if out, ok := s.lenientFinal(msg); ok {
			return []byte(out), true, s.user, nil
		}
		return nil, false, "", errors.Join(ErrAuthentication, errors.New("invalid username or password"))
	}
	return nil, false, "", errors.Join(ErrAuthentication, errors.New("unexpected SCRAM message"))
}

// lenientFinal checks a client-final message whose nonce ends with the
// server's combined nonce (Kafka 3.9's rule), verifying the proof over the
// message as sent (RFC 5802 section 3).
func (s *Scram) lenientFinal(msg string) (string, bool) {
	if s.user == "" || s.nonce == "" || s.clientFirst == "" {
		return "", false
	}
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return "", false
	}
	withoutProof, proofB64 := msg[:i], msg[i+3:]
	var nonce, cbind string
	for _, f := range strings.Split(withoutProof, ",") {
		if v, ok := strings.CutPrefix(f, "r="); ok {
			nonce = v
		}
		if v, ok := strings.CutPrefix(f, "c="); ok {
			cbind = v
		}
	}
	if nonce == s.nonce || !strings.HasSuffix(nonce, s.nonce) || cbind != "biws" {
		return "", false // exact ones were the library's to accept
	}
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	if err != nil {
		return "", false
	}
	h, _, _ := s.mech.hash()
	auth := s.clientFirst + "," + s.serverFirst + "," + withoutProof
	mac := func(key []byte) []byte {
		x := hmac.New(h, key)
		x.Write([]byte(auth))
		return x.Sum(nil)
	}
	sig := mac(s.cred.StoredKey)
	if len(proof) != len(sig) {
		return "", false
	}
	clientKey := make([]byte, len(sig))
	for j := range sig {
		clientKey[j] = proof[j] ^ sig[j]
	}
	sum := h()
	sum.Write(clientKey)
	if subtle.ConstantTimeCompare(sum.Sum(nil), s.cred.StoredKey) != 1 {
		return "", false
	}
	return "v=" + base64.StdEncoding.EncodeToString(mac(s.cred.ServerKey)), true
}
