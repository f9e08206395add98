package tlsconfig

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"testing"
)

// TestSettingErrors checks that every bad setting or file is an error
// naming the setting to fix, and that no password appears in it.
func TestSettingErrors(t *testing.T) {
	w := newWorld(t)
	chain := []*x509.Certificate{w.serverCert}
	p12 := writeFile(t, w.path("ks.p12"), pkcs12KeyStore(t, w.serverKey, w.serverCert, nil, "st0re-pw"))
	jks := writeFile(t, w.path("ks.jks"), jksKeyStore(t, w.serverKey, chain, "st0re-pw", "k3y-pw"))
	encPEM := writeFile(t, w.path("enc.pem"), append(encryptedKeyPEM(t, w.serverKey, "k3y-pw"), certPEM(w.serverCert)...))
	goodPEM := writeFile(t, w.path("good.pem"), pemKeyStore(t, w.serverKey, w.serverCert))
	trustP12 := writeFile(t, w.path("ca.p12"), pkcs12TrustStore(t, "tru5t-pw", w.ca.cert))
	trustJKS := writeFile(t, w.path("ca.jks"), jksTrustStore(t, "tru5t-pw", w.ca.cert))
	garbage := writeFile(t, w.path("garbage"), []byte("this is not a key store\n"))
	truncatedJKS := writeFile(t, w.path("truncated.jks"), func() []byte { b, _ := os.ReadFile(jks); return b[:len(b)/2] }())
	hugeLengthJKS := writeFile(t, w.path("huge.jks"), []byte{0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff})
	otherKey := newKey(t)
	mismatched := writeFile(t, w.path("mismatched.pem"), pemKeyStore(t, otherKey, w.serverCert))
	legacy := writeFile(t, w.path("legacy.pem"), append(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00112233445566778899AABBCCDDEEFF"}, Bytes: []byte{1, 2, 3}}), certPEM(w.serverCert)...))
	onlyCert := writeFile(t, w.path("cert.pem"), certPEM(w.serverCert))
	keyStore := func(typ, path, storePW, keyPW string) Settings {
		return Settings{KeystoreType: typ, KeystoreLocation: path, KeystorePassword: storePW, KeyPassword: keyPW}
	}
	withTrust := func(typ, path, pw string) Settings {
		s := keyStore("PEM", goodPEM, "", "")
		s.TruststoreType, s.TruststoreLocation, s.TruststorePassword = typ, path, pw
		return s
	}
	for _, tc := range []struct {
		name     string
		settings Settings
		setting  string
	}{
		{"no key store", Settings{}, "ssl.keystore.location"},
		{"missing file", keyStore("PEM", w.path("nope.pem"), "", ""), "ssl.keystore.location"},
		{"PKCS12 wrong password", keyStore("PKCS12", p12, "wrong-pw", ""), "ssl.keystore.password"},
		{"PKCS12 garbage", keyStore("PKCS12", garbage, "st0re-pw", ""), "ssl.keystore.location"},
		{"JKS wrong store password", keyStore("JKS", jks, "wrong-pw", "k3y-pw"), "ssl.keystore.password"},
		{"JKS wrong key password", keyStore("JKS", jks, "st0re-pw", "wrong-pw"), "ssl.key.password"},
		{"JKS key password missing (store password tried)", keyStore("JKS", jks, "st0re-pw", ""), "ssl.keystore.password"},
		{"JKS garbage", keyStore("JKS", garbage, "st0re-pw", ""), "ssl.keystore.location"},
		{"JKS truncated", keyStore("JKS", truncatedJKS, "st0re-pw", "k3y-pw"), "ssl.keystore.location"},
		{"JKS with a huge length", keyStore("JKS", hugeLengthJKS, "st0re-pw", "k3y-pw"), "ssl.keystore.location"},
		{"PEM encrypted, wrong password", keyStore("PEM", encPEM, "", "wrong-pw"), "ssl.key.password"},
		{"PEM encrypted, no password", keyStore("PEM", encPEM, "", ""), "ssl.key.password"},
		{"PEM garbage", keyStore("PEM", garbage, "", ""), "ssl.keystore.location"},
		{"PEM without key", keyStore("PEM", onlyCert, "", ""), "ssl.keystore.location"},
		{"PEM key of another certificate", keyStore("PEM", mismatched, "", ""), "ssl.keystore.location"},
		{"PEM legacy encryption", keyStore("PEM", legacy, "", "k3y-pw"), "ssl.keystore.location"},
		{"PEM strings, key missing", Settings{KeystoreType: "PEM", KeystoreCertChain: string(certPEM(w.serverCert))}, "ssl.keystore.key"},
		{"PEM strings, corrupt certificate", Settings{KeystoreType: "PEM", KeystoreCertChain: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", KeystoreKey: string(keyPEM(t, w.serverKey))}, "ssl.keystore.certificate.chain"},
		{"PEM strings with a JKS type", Settings{KeystoreType: "JKS", KeystoreCertChain: "x", KeystoreKey: "y"}, "ssl.keystore.type"},
		{"PEM strings and a location", Settings{KeystoreType: "PEM", KeystoreLocation: goodPEM, KeystoreCertChain: "x", KeystoreKey: "y"}, "ssl.keystore.location"},
		{"unknown key store type", keyStore("JCEKS", jks, "st0re-pw", ""), "ssl.keystore.type"},
		{"trust store PKCS12 wrong password", withTrust("PKCS12", trustP12, "wrong-pw"), "ssl.truststore.password"},
		{"trust store JKS wrong password", withTrust("JKS", trustJKS, "wrong-pw"), "ssl.truststore.password"},
		{"trust store JKS no password", withTrust("JKS", trustJKS, ""), "ssl.truststore.password"},
		{"trust store garbage", withTrust("JKS", garbage, "x"), "ssl.truststore.location"},
		{"trust store PEM garbage", withTrust("PEM", garbage, ""), "ssl.truststore.location"},
		{"trust store missing", withTrust("PEM", w.path("nope.pem"), ""), "ssl.truststore.location"},
		{"trust store certificates with JKS type", func() Settings { s := withTrust("JKS", "", ""); s.TruststoreCertificates = "x"; return s }(), "ssl.truststore.certificates"},
		{"client auth required without trust store", func() Settings { s := keyStore("PEM", goodPEM, "", ""); s.ClientAuth = "required"; return s }(), "ssl.client.auth"},
		{"client auth requested without trust store", func() Settings { s := keyStore("PEM", goodPEM, "", ""); s.ClientAuth = "requested"; return s }(), "ssl.client.auth"},
		{"client auth unknown", func() Settings { s := keyStore("PEM", goodPEM, "", ""); s.ClientAuth = "always"; return s }(), "ssl.client.auth"},
		{"TLSv1.1", func() Settings {
			s := keyStore("PEM", goodPEM, "", "")
			s.EnabledProtocols = []string{"TLSv1.1", "TLSv1.2"}
			return s
		}(), "ssl.enabled.protocols"},
		{"unknown cipher suite", func() Settings {
			s := keyStore("PEM", goodPEM, "", "")
			s.CipherSuites = []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_MADE_UP"}
			return s
		}(), "ssl.cipher.suites"},
		{"TLS 1.3 suites with TLS 1.2 only", func() Settings {
			s := keyStore("PEM", goodPEM, "", "")
			s.EnabledProtocols, s.CipherSuites = []string{"TLSv1.2"}, []string{"TLS_AES_128_GCM_SHA256"}
			return s
		}(), "ssl.cipher.suites"},
		{"bad mapping rule", func() Settings {
			s := withTrust("PEM", w.path("ca.pem"), "")
			s.PrincipalMappingRules = "RULE:(/x/"
			return s
		}(), "ssl.principal.mapping.rules"},
		{"mapping rules without a rule, with mTLS", func() Settings {
			s := keyStore("PEM", goodPEM, "", "")
			s.TruststoreType, s.TruststoreCertificates = "PEM", string(certPEM(w.ca.cert))
			s.ClientAuth, s.PrincipalMappingRules = "required", " , "
			return s
		}(), "ssl.principal.mapping.rules"},
	} {
		srv, err := NewServer(tc.settings, nil)
		if err == nil {
			t.Errorf("%s: accepted (%v)", tc.name, srv)
			continue
		}
		msg := err.Error()
		t.Logf("%s: %s", tc.name, msg)
		if !strings.Contains(msg, tc.setting) {
			t.Errorf("%s: error %q does not name %s", tc.name, msg, tc.setting)
		}
		for _, pw := range []string{"st0re-pw", "k3y-pw", "tru5t-pw", "wrong-pw"} {
			if strings.Contains(msg, pw) {
				t.Errorf("%s: error %q shows a password", tc.name, msg)
			}
		}
	}
}
