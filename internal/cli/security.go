package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/tlsconfig"
)

// commandConfigEnv names a Kafka client properties file used when
// --command-config is not given, so a shell session can point every
// command at a secured cluster once.
const commandConfigEnv = "SAMSA_COMMAND_CONFIG"

// clientProperties are the Kafka client properties of one command run:
// the --command-config file, then -X overrides.
type clientProperties struct {
	values    map[string]string
	file      string // where the file ones came from, for messages
	bootstrap string // bootstrap.servers, used when -b and SAMSA_BROKERS are not set
	warned    bool
	err       error
}

// knownProperties are the client properties samsa acts on. Kafka's names
// come first; the librdkafka names (what kcat users pass with -X) follow.
var knownProperties = map[string]bool{
	"bootstrap.servers": true, "client.id": true, "security.protocol": true,
	"ssl.truststore.location": true, "ssl.truststore.password": true, "ssl.truststore.type": true,
	"ssl.truststore.certificates": true, "ssl.keystore.location": true, "ssl.keystore.password": true,
	"ssl.keystore.type": true, "ssl.keystore.certificate.chain": true, "ssl.keystore.key": true,
	"ssl.key.password": true, "ssl.endpoint.identification.algorithm": true,
	"ssl.enabled.protocols": true, "ssl.cipher.suites": true, "ssl.protocol": true,
	"sasl.mechanism": true, "sasl.jaas.config": true,
	"sasl.oauthbearer.token.endpoint.url": true, "sasl.oauthbearer.token.file": true,
	// librdkafka
	"sasl.mechanisms": true, "sasl.username": true, "sasl.password": true,
	"ssl.ca.location": true, "ssl.certificate.location": true, "ssl.key.location": true,
}

// loadClientProps reads the properties once per command run. A file that
// cannot be read, or a -X without '=', is an error of every client command.
func (g *globals) loadClientProps(cmd *cobra.Command) (*clientProperties, error) {
	if g.props != nil {
		return g.props, g.props.err
	}
	p := &clientProperties{values: map[string]string{}}
	g.props = p
	p.file = g.commandConfig
	if p.file == "" {
		p.file = strings.TrimSpace(os.Getenv(commandConfigEnv))
	}
	if p.file != "" {
		f, err := os.Open(p.file)
		if err != nil {
			p.err = usageErrorf(cmd, "--command-config: %v", err)
			return p, p.err
		}
		vals, err := config.ReadProperties(f)
		f.Close()
		if err != nil {
			p.err = usageErrorf(cmd, "--command-config %s: %v", p.file, err)
			return p, p.err
		}
		p.values = vals
	}
	for _, kv := range g.clientProps {
		k, v, err := parseKeyValue(kv, "-X/--client-property")
		if err != nil {
			p.err = usageErrorf(cmd, "%v", err)
			return p, p.err
		}
		p.values[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	p.bootstrap = p.values["bootstrap.servers"]
	return p, nil
}

func (p *clientProperties) get(key string) string { return strings.TrimSpace(p.values[key]) }

// unused lists the properties samsa does not act on, for a warning: Kafka
// warns the same way about a configuration "supplied but isn't a known
// config".
func (p *clientProperties) unused() []string {
	var out []string
	for k := range p.values {
		if !knownProperties[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// security describes how a client connects, for messages. It holds no
// secret.
type security struct {
	protocol  string // PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL
	mechanism string
	user      string
}

func (s security) protocolName() string {
	if s.protocol == "" {
		return "PLAINTEXT"
	}
	return s.protocol
}

func (s security) tls() bool  { return s.protocol == "SSL" || s.protocol == "SASL_SSL" }
func (s security) sasl() bool { return strings.HasPrefix(s.protocol, "SASL_") }

// securityOpts turns the properties into kgo options: a TLS dialer for SSL
// and SASL_SSL, a SASL mechanism for SASL_PLAINTEXT and SASL_SSL. Errors
// name the property to fix and never contain a password.
func (p *clientProperties) securityOpts() ([]kgo.Opt, security, error) {
	sec := security{protocol: strings.ToUpper(p.get("security.protocol"))}
	if sec.protocol == "" {
		sec.protocol = "PLAINTEXT"
	}
	var opts []kgo.Opt
	switch sec.protocol {
	case "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL":
	default:
		return nil, sec, fmt.Errorf("security.protocol: unknown protocol %q (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)", p.get("security.protocol"))
	}
	if sec.tls() {
		s, err := p.tlsSettings()
		if err != nil {
			return nil, sec, err
		}
		cfg, err := tlsconfig.ClientConfig(s, "") // kgo sets the server name per broker
		if err != nil {
			return nil, sec, err
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if sec.sasl() {
		mech, user, err := p.saslMechanism()
		if err != nil {
			return nil, sec, err
		}
		sec.mechanism, sec.user = mech.Name(), user
		opts = append(opts, kgo.SASL(mech))
	}
	if id := p.get("client.id"); id != "" {
		opts = append(opts, kgo.ClientID(id))
	}
	return opts, sec, nil
}

// tlsSettings maps the ssl.* properties (and librdkafka's PEM file names)
// to tlsconfig's settings. Where Kafka would need ssl.*.type=PEM, an unset
// type is taken as PEM when the material is PEM text: Kafka's default, JKS,
// could not read it anyway.
func (p *clientProperties) tlsSettings() (tlsconfig.Settings, error) {
	s := tlsconfig.Settings{
		KeystoreType:           p.get("ssl.keystore.type"),
		KeystoreLocation:       p.get("ssl.keystore.location"),
		KeystorePassword:       p.values["ssl.keystore.password"],
		KeyPassword:            p.values["ssl.key.password"],
		KeystoreCertChain:      p.values["ssl.keystore.certificate.chain"],
		KeystoreKey:            p.values["ssl.keystore.key"],
		TruststoreType:         p.get("ssl.truststore.type"),
		TruststoreLocation:     p.get("ssl.truststore.location"),
		TruststorePassword:     p.values["ssl.truststore.password"],
		TruststoreCertificates: p.values["ssl.truststore.certificates"],
		EnabledProtocols:       splitComma(p.get("ssl.enabled.protocols")),
		CipherSuites:           splitComma(p.get("ssl.cipher.suites")),
		EndpointIdentification: "https",
	}
	if v, ok := p.values["ssl.endpoint.identification.algorithm"]; ok {
		s.EndpointIdentification = strings.TrimSpace(v)
	}
	if ca := p.get("ssl.ca.location"); ca != "" && s.TruststoreLocation == "" && s.TruststoreCertificates == "" {
		s.TruststoreLocation = ca
	}
	if cert, key := p.get("ssl.certificate.location"), p.get("ssl.key.location"); cert != "" || key != "" {
		if cert == "" || key == "" {
			return s, errors.New("ssl.certificate.location and ssl.key.location go together: set both")
		}
		certPEM, err := os.ReadFile(cert)
		if err != nil {
			return s, fmt.Errorf("ssl.certificate.location: %w", err)
		}
		keyPEM, err := os.ReadFile(key)
		if err != nil {
			return s, fmt.Errorf("ssl.key.location: %w", err)
		}
		s.KeystoreCertChain, s.KeystoreKey, s.KeystoreType = string(certPEM), string(keyPEM), "PEM"
	}
	if s.KeystoreType == "" && (s.KeystoreCertChain != "" || isPEMFile(s.KeystoreLocation)) {
		s.KeystoreType = "PEM"
	}
	if s.TruststoreType == "" && (s.TruststoreCertificates != "" || isPEMFile(s.TruststoreLocation)) {
		s.TruststoreType = "PEM"
	}
	return s, nil
}

// isPEMFile reports whether the file at path starts (after blanks) with a
// PEM block. A file that cannot be read is left to tlsconfig to report.
func isPEMFile(path string) bool {
	if path == "" {
		return false
	}
	b, err := os.ReadFile(path)
	return err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("-----BEGIN "))
}

func splitComma(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// saslMechanism builds the mechanism sasl.mechanism names, with the
// credentials of sasl.jaas.config (or librdkafka's sasl.username and
// sasl.password).
func (p *clientProperties) saslMechanism() (sasl.Mechanism, string, error) {
	name := strings.ToUpper(p.get("sasl.mechanism"))
	if name == "" {
		name = strings.ToUpper(p.get("sasl.mechanisms"))
	}
	if name == "" {
		return nil, "", errors.New("sasl.mechanism: not set (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER; " +
			"Kafka's default, GSSAPI, is not supported)")
	}
	jaas, err := parseJAAS(p.values["sasl.jaas.config"])
	if err != nil {
		return nil, "", err
	}
	wantModule := map[string]string{"PLAIN": "PlainLoginModule", "SCRAM-SHA-256": "ScramLoginModule",
		"SCRAM-SHA-512": "ScramLoginModule", "OAUTHBEARER": "OAuthBearerLoginModule"}[name]
	if wantModule == "" {
		return nil, "", fmt.Errorf("sasl.mechanism: %q is not supported (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER)", name)
	}
	if jaas.module != "" && !strings.HasSuffix(jaas.module, "."+wantModule) && jaas.module != wantModule {
		return nil, "", fmt.Errorf("sasl.jaas.config: %s does not go with sasl.mechanism=%s (it needs %s)", jaas.module, name, wantModule)
	}
	if name == "OAUTHBEARER" {
		return p.oauthMechanism(jaas)
	}
	user, pass := jaas.options["username"], jaas.options["password"]
	if jaas.module == "" {
		user, pass = p.values["sasl.username"], p.values["sasl.password"]
	}
	if user == "" || pass == "" {
		example := "plain.PlainLoginModule"
		if strings.HasPrefix(name, "SCRAM") {
			example = "scram.ScramLoginModule"
		}
		return nil, "", fmt.Errorf(`sasl.jaas.config: %s needs a username and a password, e.g. `+
			`sasl.jaas.config=org.apache.kafka.common.security.%s required username="alice" password="...";`, name, example)
	}
	switch name {
	case "PLAIN":
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), user, nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), user, nil
	default:
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), user, nil
	}
}

// oauthMechanism reads the bearer token from a file at each authentication,
// so that a token refreshed by another process is picked up: Samsa's
// sasl.oauthbearer.token.file, or Kafka's
// sasl.oauthbearer.token.endpoint.url=file:///path (Kafka reads a token from
// a file: URL the same way). Without a file, the JAAS option
// unsecuredLoginStringClaim_sub makes Kafka's unsecured token (for brokers
// configured to accept those, as in Kafka's development setups).
func (p *clientProperties) oauthMechanism(jaas jaasConfig) (sasl.Mechanism, string, error) {
	file := p.get("sasl.oauthbearer.token.file")
	if endpoint := p.get("sasl.oauthbearer.token.endpoint.url"); endpoint != "" && file == "" {
		u, err := url.Parse(endpoint)
		if err != nil || u.Scheme != "file" {
			return nil, "", errors.New("sasl.oauthbearer.token.endpoint.url: only file: URLs are supported; " +
				"fetch the token yourself and give its file with sasl.oauthbearer.token.file")
		}
		file = u.Path
	}
	if file != "" {
		return oauth.Oauth(func(context.Context) (oauth.Auth, error) {
			b, err := os.ReadFile(file)
			if err != nil {
				return oauth.Auth{}, fmt.Errorf("sasl.oauthbearer.token.file: %w", err)
			}
			tok := strings.TrimSpace(string(b))
			if tok == "" {
				return oauth.Auth{}, fmt.Errorf("sasl.oauthbearer.token.file: %s is empty", file)
			}
			return oauth.Auth{Token: tok}, nil
		}), "", nil
	}
	sub := jaas.options["unsecuredLoginStringClaim_sub"]
	if sub == "" {
		return nil, "", errors.New("OAUTHBEARER needs a token: set sasl.oauthbearer.token.file=PATH (a file holding the JWT), " +
			"or for an unsecured token unsecuredLoginStringClaim_sub in sasl.jaas.config")
	}
	return oauth.Oauth(func(context.Context) (oauth.Auth, error) {
		return oauth.Auth{Token: unsecuredJWT(sub, time.Now())}, nil
	}), sub, nil
}

// unsecuredJWT is an unsigned token ("alg":"none") for subject sub valid
// for an hour, as Kafka's OAuthBearerUnsecuredLoginCallbackHandler makes.
func unsecuredJWT(sub string, now time.Time) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "none"}) + "." +
		enc(map[string]any{"sub": sub, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}) + "."
}

// jaasConfig is one login module entry of sasl.jaas.config:
//
//	org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="secret";
type jaasConfig struct {
	module  string
	options map[string]string
}

// parseJAAS reads a sasl.jaas.config value. Values may be double or
// single quoted (with backslash escapes) or bare words. Errors never quote
// the value, which holds a password.
func parseJAAS(s string) (jaasConfig, error) {
	c := jaasConfig{options: map[string]string{}}
	s = strings.TrimSpace(s)
	if s == "" {
		return c, nil
	}
	toks, err := jaasTokens(s)
	if err != nil {
		return c, err
	}
	if len(toks) < 2 {
		return c, errors.New("sasl.jaas.config: want `<LoginModule class> required key=\"value\" ...;`")
	}
	c.module = toks[0].text
	switch strings.ToLower(toks[1].text) {
	case "required", "requisite", "sufficient", "optional":
	default:
		return c, errors.New("sasl.jaas.config: the login module class must be followed by required (or requisite, sufficient, optional)")
	}
	rest := toks[2:]
	for len(rest) > 0 {
		if rest[0].text == ";" && !rest[0].quoted {
			if len(rest) > 1 {
				return c, errors.New("sasl.jaas.config: only one login module is supported")
			}
			return c, nil
		}
		if len(rest) < 3 || rest[1].text != "=" || rest[1].quoted {
			return c, fmt.Errorf("sasl.jaas.config: expected key=\"value\" after %s", c.module)
		}
		c.options[rest[0].text] = rest[2].text
		rest = rest[3:]
	}
	return c, errors.New("sasl.jaas.config: missing the closing ;")
}

type jaasToken struct {
	text   string
	quoted bool
}

func jaasTokens(s string) ([]jaasToken, error) {
	var out []jaasToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '=' || c == ';':
			out = append(out, jaasToken{text: string(c)})
			i++
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, errors.New("sasl.jaas.config: a quoted value is not closed")
			}
			out = append(out, jaasToken{text: b.String(), quoted: true})
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r=;\"'", rune(s[j])) {
				j++
			}
			out = append(out, jaasToken{text: s[i:j]})
			i = j
		}
	}
	return out, nil
}

// clientOpts loads the properties and returns the kgo options for the
// connection's security, warning once on stderr about properties samsa
// does not use.
func (g *globals) clientOpts(cmd *cobra.Command) ([]kgo.Opt, security, error) {
	p, err := g.loadClientProps(cmd)
	if err != nil {
		return nil, security{}, err
	}
	opts, sec, err := p.securityOpts()
	if err != nil {
		return nil, sec, usageErrorf(cmd, "client properties: %v", err)
	}
	if !p.warned {
		p.warned = true
		if unused := p.unused(); len(unused) > 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "samsa: warning: client properties not used by samsa: %s\n", strings.Join(unused, ", "))
		}
	}
	return opts, sec, nil
}
