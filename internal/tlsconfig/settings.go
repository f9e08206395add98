package tlsconfig

import (
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/samsa-streaming/samsa/internal/config"
)

// Settings is one listener's ssl.* configuration.
type Settings struct {
	KeystoreType, KeystoreLocation, KeystorePassword, KeyPassword string
	KeystoreCertChain, KeystoreKey                                string // PEM strings
	TruststoreType, TruststoreLocation, TruststorePassword        string
	TruststoreCertificates                                        string // PEM string
	ClientAuth                                                    string // none, requested, required
	EnabledProtocols, CipherSuites                                []string
	EndpointIdentification                                        string // "https" or ""
	PrincipalMappingRules                                         string
}

// FromConfig reads a listener's ssl.* settings: listener.name.<listener>.<setting>
// when set, else the broker-wide setting, else Kafka's default.
func FromConfig(c *config.Config, listener string) Settings {
	get := func(name string) string { return c.ListenerGet(listener, name) }
	return Settings{
		KeystoreType:           get("ssl.keystore.type"),
		KeystoreLocation:       get("ssl.keystore.location"),
		KeystorePassword:       get("ssl.keystore.password"),
		KeyPassword:            get("ssl.key.password"),
		KeystoreCertChain:      get("ssl.keystore.certificate.chain"),
		KeystoreKey:            get("ssl.keystore.key"),
		TruststoreType:         get("ssl.truststore.type"),
		TruststoreLocation:     get("ssl.truststore.location"),
		TruststorePassword:     get("ssl.truststore.password"),
		TruststoreCertificates: get("ssl.truststore.certificates"),
		ClientAuth:             get("ssl.client.auth"),
		EnabledProtocols:       splitList(get("ssl.enabled.protocols")),
		CipherSuites:           splitList(get("ssl.cipher.suites")),
		EndpointIdentification: get("ssl.endpoint.identification.algorithm"),
		PrincipalMappingRules:  get("ssl.principal.mapping.rules"),
	}
}

// splitList splits a Kafka list setting: comma separated, blanks trimmed,
// empty items dropped.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// storeType normalises a key or trust store type; "" is Kafka's default, JKS.
func storeType(setting, v string) (string, error) {
	switch t := strings.ToUpper(strings.TrimSpace(v)); t {
	case "":
		return "JKS", nil
	case "JKS", "PKCS12", "PEM":
		return t, nil
	default:
		return "", fmt.Errorf("%s: unknown store type %q (JKS, PKCS12 or PEM)", setting, v)
	}
}

// versions turns ssl.enabled.protocols into a TLS version range. Only
// TLSv1.2 and TLSv1.3 are accepted; an empty list means both.
func versions(protocols []string) (minVersion, maxVersion uint16, err error) {
	if len(protocols) == 0 {
		return tls.VersionTLS12, tls.VersionTLS13, nil
	}
	for _, p := range protocols {
		var v uint16
		switch p {
		case "TLSv1.2":
			v = tls.VersionTLS12
		case "TLSv1.3":
			v = tls.VersionTLS13
		default:
			return 0, 0, fmt.Errorf("ssl.enabled.protocols: %q is not supported: use TLSv1.2 and/or TLSv1.3", p)
		}
		if minVersion == 0 || v < minVersion {
			minVersion = v
		}
		if v > maxVersion {
			maxVersion = v
		}
	}
	return minVersion, maxVersion, nil
}

// tls13Suites are TLS 1.3's cipher suites. Java lets them be listed in
// ssl.cipher.suites; Go always offers all three, so they are accepted and
// need no setting.
var tls13Suites = map[string]bool{
	"TLS_AES_128_GCM_SHA256":       true,
	"TLS_AES_256_GCM_SHA384":       true,
	"TLS_CHACHA20_POLY1305_SHA256": true,
}

// cipherSuites turns ssl.cipher.suites (IANA names) into Go's suite ids for
// TLS 1.2. only13 reports a non-empty list naming TLS 1.3 suites only:
// then, as in Java, TLS 1.2 has no suite to use.
func cipherSuites(names []string) (ids []uint16, only13 bool, err error) {
	if len(names) == 0 {
		return nil, false, nil
	}
	byName := map[string]uint16{}
	for _, cs := range tls.CipherSuites() {
		byName[cs.Name] = cs.ID
	}
	for _, cs := range tls.InsecureCipherSuites() {
		byName[cs.Name] = cs.ID
	}
	var unknown []string
	for _, n := range names {
		switch {
		case tls13Suites[n]:
		case n == "TLS_EMPTY_RENEGOTIATION_INFO_SCSV":
			// A signalling value Java lists among its suites; Go sends it
			// on its own.
		default:
			id, ok := byName[n]
			if !ok {
				unknown = append(unknown, n)
				continue
			}
			ids = append(ids, id)
		}
	}
	if len(unknown) > 0 {
		return nil, false, fmt.Errorf("ssl.cipher.suites: unknown or unsupported cipher suite(s) %s (IANA names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)", strings.Join(unknown, ", "))
	}
	return ids, len(ids) == 0, nil
}

// protocolConfig is the part of a tls.Config that ssl.enabled.protocols and
// ssl.cipher.suites decide.
type protocolConfig struct {
	minVersion, maxVersion uint16
	suites                 []uint16
}

func parseProtocols(s Settings) (protocolConfig, error) {
	minV, maxV, err := versions(s.EnabledProtocols)
	if err != nil {
		return protocolConfig{}, err
	}
	suites, only13, err := cipherSuites(s.CipherSuites)
	if err != nil {
		return protocolConfig{}, err
	}
	if only13 {
		if maxV < tls.VersionTLS13 {
			return protocolConfig{}, fmt.Errorf("ssl.cipher.suites names only TLS 1.3 suites but ssl.enabled.protocols does not enable TLSv1.3: no connection could be made")
		}
		minV = tls.VersionTLS13
	}
	return protocolConfig{minVersion: minV, maxVersion: maxV, suites: suites}, nil
}

func (p protocolConfig) apply(c *tls.Config) {
	c.MinVersion = p.minVersion
	c.MaxVersion = p.maxVersion
	c.CipherSuites = p.suites
}
