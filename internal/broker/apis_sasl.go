package broker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/sasl"
)

// saslAPIs are SASL authentication (SaslHandshake, SaslAuthenticate) and
// the management of SCRAM credentials in the cluster metadata.
func saslAPIs() map[int16]api {
	return map[int16]api{
		kmsg.SASLHandshake.Int16():                {0, 1, now(handleSASLHandshake)},
		kmsg.SASLAuthenticate.Int16():             {0, 2, handleSASLAuthenticate},
		kmsg.DescribeUserSCRAMCredentials.Int16(): {0, 0, now(handleDescribeUserSCRAMCredentials)},
		kmsg.AlterUserSCRAMCredentials.Int16():    {0, 0, handleAlterUserSCRAMCredentials},
	}
}

// saslState is a connection's SASL authentication (SASL_PLAINTEXT and
// SASL_SSL listeners). Only the connection's reader goroutine touches it:
// authentication requests are handled inline, in order.
type saslState struct {
	mechanism     string         // chosen by SaslHandshake; "" before
	raw           bool           // SaslHandshake v0: bare tokens follow, not SaslAuthenticate
	exchange      sasl.Mechanism // the ongoing exchange
	authenticated bool           // once: the connection may send any request
	expires       time.Time      // KIP-368: zero when sessions do not expire
}

// preAuthAPIs are the requests a SASL connection may send before it has
// authenticated, as Kafka's SaslServerAuthenticator allows.
var preAuthAPIs = map[int16]bool{
	kmsg.ApiVersions.Int16():      true,
	kmsg.SASLHandshake.Int16():    true,
	kmsg.SASLAuthenticate.Int16(): true,
}

// saslListener is what a SASL listener needs to authenticate clients.
type saslListener struct {
	mechanisms []string
	plainUsers map[string]string // PLAIN's users, from the listener's JAAS configuration
	reauth     time.Duration     // connections.max.reauth.ms; 0: sessions do not expire
	oauth      *sasl.OAuthValidator
}

// saslUsers caches each listener's SASL settings (parsed once).
type saslUsers struct {
	mu  sync.Mutex
	per map[string]*saslListener
}

func (b *Broker) saslListener(l config.Listener) (*saslListener, error) {
	b.sasl.mu.Lock()
	defer b.sasl.mu.Unlock()
	if s, ok := b.sasl.per[l.Name]; ok {
		return s, nil
	}
	s := &saslListener{mechanisms: b.cfg.ListenerMechanisms(l.Name), plainUsers: map[string]string{}}
	for _, m := range s.mechanisms {
		if m != "PLAIN" {
			continue
		}
		if jaas := b.cfg.JAAS(l.Name, "plain"); jaas != "" {
			_, opts, err := sasl.ParseJAAS(jaas)
			if err != nil {
				return nil, fmt.Errorf("listener %s: PLAIN's JAAS configuration: %w", l.Name, err)
			}
			s.plainUsers = sasl.PlainUsers(opts)
		}
	}
	for _, m := range s.mechanisms {
		if m != "OAUTHBEARER" {
			continue
		}
		get := func(k string) string { return b.cfg.ListenerGet(l.Name, k) }
		var skew int64
		fmt.Sscan(get("sasl.oauthbearer.clock.skew.seconds"), &skew)
		oc := sasl.OAuthConfig{JWKSURL: get("sasl.oauthbearer.jwks.endpoint.url"), Issuer: get("sasl.oauthbearer.expected.issuer"),
			ScopeName: get("sasl.oauthbearer.scope.claim.name"), SubName: get("sasl.oauthbearer.sub.claim.name"),
			ClockSkew: time.Duration(skew) * time.Second}
		for _, a := range strings.Split(get("sasl.oauthbearer.expected.audience"), ",") {
			if a = strings.TrimSpace(a); a != "" {
				oc.Audience = append(oc.Audience, a)
			}
		}
		v, err := sasl.NewOAuthValidator(context.Background(), oc)
		if err != nil {
			return nil, fmt.Errorf("listener %s: OAUTHBEARER: %w", l.Name, err)
		}
		s.oauth = v
	}
	var ms int64
	fmt.Sscan(b.cfg.ListenerGet(l.Name, "connections.max.reauth.ms"), &ms)
	s.reauth = time.Duration(ms) * time.Millisecond
	if b.sasl.per == nil {
		b.sasl.per = map[string]*saslListener{}
	}
	b.sasl.per[l.Name] = s
	return s, nil
}

// isSASL reports whether a listener's protocol authenticates with SASL.
func isSASL(protocol string) bool {
	return protocol == config.SASLPlaintext || protocol == config.SASLSSL
}

// scramLookup finds SCRAM credentials in the current metadata.
func (b *Broker) scramLookup(m sasl.ScramMechanism) func(string) (sasl.Credential, bool) {
	return func(user string) (sasl.Credential, bool) {
		c, ok := b.meta.Image().Scram(user, int8(m))
		if !ok {
			return sasl.Credential{}, false
		}
		return sasl.Credential{Salt: c.Salt, StoredKey: c.StoredKey, ServerKey: c.ServerKey, Iterations: c.Iterations}, true
	}
}

// newExchange starts the server side of a mechanism.
func (b *Broker) newExchange(sl *saslListener, mechanism string) (sasl.Mechanism, error) {
	if m, ok := sasl.MechanismByName(mechanism); ok {
		return sasl.NewScram(m, b.scramLookup(m))
	}
	if mechanism == "PLAIN" {
		return &sasl.Plain{Users: sl.plainUsers}, nil
	}
	if mechanism == "OAUTHBEARER" && sl.oauth != nil {
		return &sasl.OAuthBearer{V: sl.oauth}, nil
	}
	return nil, fmt.Errorf("mechanism %s is not enabled", mechanism)
}

// scramCredentialRecords plans AlterUserScramCredentials as records.
func scramUpsert(u kmsg.AlterUserSCRAMCredentialsRequestUpsertion) (metadata.Record, error) {
	c, err := sasl.CredentialFromSalted(sasl.ScramMechanism(u.Mechanism), u.Salt, u.SaltedPassword, u.Iterations)
	if err != nil {
		return metadata.Record{}, err
	}
	return metadata.Record{Type: metadata.TypeScram, Scram: &metadata.ScramRecord{
		User: u.Name, Mechanism: u.Mechanism, Salt: c.Salt, StoredKey: c.StoredKey, ServerKey: c.ServerKey, Iterations: c.Iterations}}, nil
}
