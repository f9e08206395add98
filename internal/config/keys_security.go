package config

import (
	"fmt"
	"strings"
)

// securityKeys are the TLS and SASL settings, Kafka's names. Each may also
// be set for one listener as listener.name.<listener>.<setting> (the name
// in lower case, as in Kafka), which wins over the plain setting for that
// listener; SASL's JAAS setting also per mechanism:
// listener.name.<listener>.<mechanism>.sasl.jaas.config.
var securityKeys = []Key{
	{Name: "ssl.keystore.type", Type: TypeString, Default: "JKS", ReadOnly: true, Enum: []string{"JKS", "PKCS12", "PEM"}, Doc: "Format of the key store: PEM (a file with the private key and its certificate chain, or the two PEM strings below), PKCS12 or JKS."},
	{Name: "ssl.keystore.location", Type: TypeString, Default: "", ReadOnly: true, Doc: "Path of the key store (the broker's private key and certificate chain). Reloaded when the file changes."},
	{Name: "ssl.keystore.password", Type: TypePassword, Default: "", ReadOnly: true, Doc: "Password of the key store (PKCS12, JKS)."},
	{Name: "ssl.key.password", Type: TypePassword, Default: "", ReadOnly: true, Doc: "Password of the private key (an encrypted PEM key, or a JKS key entry)."},
	{Name: "ssl.keystore.certificate.chain", Type: TypePassword, Default: "", ReadOnly: true, Doc: "With ssl.keystore.type=PEM: the certificate chain as a PEM string, instead of ssl.keystore.location."},
	{Name: "ssl.keystore.key", Type: TypePassword, Default: "", ReadOnly: true, Doc: "With ssl.keystore.type=PEM: the private key as a PEM string (PKCS#8, encrypted with ssl.key.password or not)."},
	{Name: "ssl.truststore.type", Type: TypeString, Default: "JKS", ReadOnly: true, Enum: []string{"JKS", "PKCS12", "PEM"}, Doc: "Format of the trust store."},
	{Name: "ssl.truststore.location", Type: TypeString, Default: "", ReadOnly: true, Doc: "Path of the trust store: the certificate authorities client certificates (mTLS) and other brokers' certificates must chain to."},
	{Name: "ssl.truststore.password", Type: TypePassword, Default: "", ReadOnly: true, Doc: "Password of the trust store (PKCS12, JKS)."},
	{Name: "ssl.truststore.certificates", Type: TypePassword, Default: "", ReadOnly: true, Doc: "With ssl.truststore.type=PEM: the trusted certificates as a PEM string."},
	{Name: "ssl.client.auth", Type: TypeString, Default: "none", ReadOnly: true, Enum: []string{"none", "requested", "required"}, Doc: "Whether SSL listeners ask clients for a certificate (mTLS): required refuses clients without a valid one; requested accepts them without one."},
	{Name: "ssl.enabled.protocols", Type: TypeList, Default: "TLSv1.2,TLSv1.3", ReadOnly: true, Doc: "TLS versions accepted (TLSv1.2, TLSv1.3)."},
	{Name: "ssl.protocol", Type: TypeString, Default: "TLSv1.3", ReadOnly: true, Doc: "Accepted for compatibility: the versions offered are ssl.enabled.protocols."},
	{Name: "ssl.cipher.suites", Type: TypeList, Default: "", ReadOnly: true, Doc: "TLS 1.2 cipher suites (IANA names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256); empty: Go's secure defaults. TLS 1.3 suites are not configurable."},
	{Name: "ssl.endpoint.identification.algorithm", Type: TypeString, Default: "https", ReadOnly: true, Doc: "How a broker checks another broker's certificate on the inter-broker listener: https checks the host name; empty skips that check (the chain is still verified)."},
	{Name: "ssl.principal.mapping.rules", Type: TypeString, Default: "DEFAULT", ReadOnly: true, Doc: "Rules mapping a client certificate's distinguished name to a user name, Kafka's syntax: RULE:pattern/replacement/[LU],...,DEFAULT (DEFAULT keeps the whole name, as Kafka: User:CN=alice,OU=...)."},
	{Name: "ssl.engine.factory.class", Type: TypeClass, Default: "", ReadOnly: true, Inert: true, Doc: "Accepted for compatibility; Samsa uses Go's TLS."},
	{Name: "ssl.keymanager.algorithm", Type: TypeString, Default: "SunX509", ReadOnly: true, Inert: true, Doc: "Accepted for compatibility (a Java setting)."},
	{Name: "ssl.trustmanager.algorithm", Type: TypeString, Default: "PKIX", ReadOnly: true, Inert: true, Doc: "Accepted for compatibility (a Java setting)."},
	{Name: "ssl.secure.random.implementation", Type: TypeString, Default: "", ReadOnly: true, Inert: true, Doc: "Accepted for compatibility (a Java setting)."},
	{Name: "sasl.enabled.mechanisms", Type: TypeList, Default: "GSSAPI", ReadOnly: true, Doc: "SASL mechanisms SASL listeners offer: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER (GSSAPI, Kafka's default, is not offered)."},
	{Name: "sasl.mechanism.inter.broker.protocol", Type: TypeString, Default: "GSSAPI", ReadOnly: true, Doc: "The mechanism brokers use with each other when the inter-broker listener is SASL."},
	{Name: "sasl.jaas.config", Type: TypePassword, Default: "", ReadOnly: true, Doc: "JAAS configuration, Kafka's syntax: for PLAIN, org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"...\" user_admin=\"...\" user_alice=\"...\"; (user_NAME entries are the users; username/password what this broker uses towards others)."},
	{Name: "connections.max.reauth.ms", Type: TypeLong, Default: "0", Min: 0, Max: maxInt64, ReadOnly: true, Doc: "KIP-368: a SASL session lasts at most this long (0: for ever); clients re-authenticate before it ends, and a connection that does not is closed."},
	{Name: "sasl.oauthbearer.jwks.endpoint.url", Type: TypeString, Default: "", ReadOnly: true, Doc: "OAUTHBEARER: where the identity provider's signing keys are, a JWKS: https://... (fetched at start and refreshed) or file:///path. Without it OAUTHBEARER is refused: Samsa has no unsecured-token mode."},
	{Name: "sasl.oauthbearer.expected.audience", Type: TypeList, Default: "", ReadOnly: true, Doc: "OAUTHBEARER: a token's aud claim must hold one of these (empty: not checked)."},
	{Name: "sasl.oauthbearer.expected.issuer", Type: TypeString, Default: "", ReadOnly: true, Doc: "OAUTHBEARER: a token's iss claim must be this (empty: not checked)."},
	{Name: "sasl.oauthbearer.scope.claim.name", Type: TypeString, Default: "scope", ReadOnly: true, Doc: "OAUTHBEARER: the claim holding the token's scopes."},
	{Name: "sasl.oauthbearer.sub.claim.name", Type: TypeString, Default: "sub", ReadOnly: true, Doc: "OAUTHBEARER: the claim naming the principal (User:<value>)."},
	{Name: "sasl.oauthbearer.clock.skew.seconds", Type: TypeInt, Default: "30", Min: 0, Max: maxInt32, ReadOnly: true, Doc: "OAUTHBEARER: the clock difference allowed when checking a token's exp and nbf."},
	{Name: "connection.failed.authentication.delay.ms", Type: TypeInt, Default: "100", Min: 0, Max: maxInt32, ReadOnly: true, Doc: "A client whose authentication failed keeps its connection this long after the refusal before it is closed (KIP-306), so it reads the answer and cannot retry in a tight loop."},
	{Name: "sasl.server.max.receive.size", Type: TypeInt, Default: "524288", Min: 1, Max: maxInt32, ReadOnly: true, Doc: "Largest SASL message accepted before authentication."},
	{Name: "principal.builder.class", Type: TypeClass, Default: "", ReadOnly: true, Inert: true, Doc: "Accepted for compatibility: principals are built as Kafka's DefaultKafkaPrincipalBuilder does."},
}

// listenerPrefix is how a listener's own value of a setting is named.
const listenerPrefix = "listener.name."

// listenerKey resolves a listener-prefixed setting name to the Key it sets:
// listener.name.<listener>.<security setting>, or
// listener.name.<listener>.<mechanism>.sasl.jaas.config.
func listenerKey(name string) (*Key, bool) {
	rest, ok := strings.CutPrefix(name, listenerPrefix)
	if !ok {
		return nil, false
	}
	_, setting, ok := strings.Cut(rest, ".")
	if !ok {
		return nil, false
	}
	if k, ok := brokerByName[setting]; ok && (isSecurityKey(setting) || listenerQuotaKeys[setting]) {
		return k, true
	}
	if mech, after, ok := strings.Cut(setting, "."); ok && after == "sasl.jaas.config" && mech != "" {
		return brokerByName["sasl.jaas.config"], true
	}
	return nil, false
}

func isSecurityKey(name string) bool {
	return strings.HasPrefix(name, "ssl.") || strings.HasPrefix(name, "sasl.") || name == "connections.max.reauth.ms"
}

// ListenerGet returns a security setting for one listener:
// listener.name.<listener>.<name> when set, else the setting itself.
func (c *Config) ListenerGet(listener, name string) string {
	if v, ok := c.Values[listenerPrefix+strings.ToLower(listener)+"."+name]; ok {
		return v
	}
	return c.Get(name)
}

// JAAS returns the JAAS configuration for a listener and SASL mechanism
// (lower case, e.g. "plain"): the listener's per-mechanism value, then the
// listener's, then sasl.jaas.config.
func (c *Config) JAAS(listener, mechanism string) string {
	if v, ok := c.Values[fmt.Sprintf("%s%s.%s.sasl.jaas.config", listenerPrefix, strings.ToLower(listener), strings.ToLower(mechanism))]; ok {
		return v
	}
	return c.ListenerGet(listener, "sasl.jaas.config")
}

// Sensitive reports whether a setting's value must never be shown
// (passwords, keys, JAAS configurations): DescribeConfigs answers it as
// sensitive with no value, and logs never print it.
func Sensitive(name string) bool {
	k, ok := brokerByName[name]
	if !ok {
		k, ok = listenerKey(name)
	}
	return ok && k.Type == TypePassword
}

// SASLMechanisms are the mechanisms Samsa's SASL listeners can offer.
var SASLMechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"}

// ListenerMechanisms returns the SASL mechanisms a listener offers
// (sasl.enabled.mechanisms, upper case, the unsupported ones left out).
func (c *Config) ListenerMechanisms(listener string) []string {
	var out []string
	for _, m := range strings.Split(c.ListenerGet(listener, "sasl.enabled.mechanisms"), ",") {
		m = strings.ToUpper(strings.TrimSpace(m))
		for _, s := range SASLMechanisms {
			if m == s {
				out = append(out, m)
			}
		}
	}
	return out
}

// checkSecurity refuses listeners whose protocol lacks what it needs: a
// key store for SSL and SASL_SSL, a supported SASL mechanism for the SASL
// ones, and what brokers and controllers need to reach each other.
func (c *Config) checkSecurity() error {
	// Brokers reach each other over the inter-broker listener with its
	// protocol, controllers over the controller listener (interbroker.go).
	if err := c.checkInterBroker(); err != nil {
		return err
	}
	for _, l := range c.Listeners {
		if l.Protocol == SSL || l.Protocol == SASLSSL {
			pemStrings := strings.EqualFold(c.ListenerGet(l.Name, "ssl.keystore.type"), "PEM") &&
				c.ListenerGet(l.Name, "ssl.keystore.certificate.chain") != "" && c.ListenerGet(l.Name, "ssl.keystore.key") != ""
			if c.ListenerGet(l.Name, "ssl.keystore.location") == "" && !pemStrings {
				return fmt.Errorf("%w: listener %s (%s) needs a key store: ssl.keystore.location (or, with ssl.keystore.type=PEM, ssl.keystore.certificate.chain and ssl.keystore.key), also settable per listener as listener.name.%s.ssl.keystore.location",
					ErrInvalid, l.Name, l.Protocol, strings.ToLower(l.Name))
			}
		}
		if l.Protocol == SASLPlaintext || l.Protocol == SASLSSL {
			if len(c.ListenerMechanisms(l.Name)) == 0 {
				return fmt.Errorf("%w: listener %s (%s) offers no SASL mechanism Samsa has: set sasl.enabled.mechanisms to some of %s (it is %q)",
					ErrInvalid, l.Name, l.Protocol, strings.Join(SASLMechanisms, ", "), c.ListenerGet(l.Name, "sasl.enabled.mechanisms"))
			}
		}
	}
	return nil
}
