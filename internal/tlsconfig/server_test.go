package tlsconfig

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/config"
)

func TestHandshakeEachKeyStoreType(t *testing.T) {
	w := newWorld(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaCert, _ := w.ca.issue(t, serverName("broker-rsa"), true, rsaKey)
	ecCert, ecKey := w.ca.issue(t, serverName("broker-ec"), true, nil)
	cases := []struct {
		name     string
		settings Settings
		subject  string
	}{
		{"PEM file", Settings{KeystoreType: "PEM", KeystoreLocation: writeFile(t, w.path("ks.pem"), pemKeyStore(t, w.serverKey, w.serverCert, w.ca.cert))}, "CN=broker-1,O=Samsa Test"},
		{"PEM file, certificates before the key", Settings{KeystoreType: "pem", KeystoreLocation: writeFile(t, w.path("ks2.pem"), append(certPEM(w.ca.cert, w.serverCert), keyPEM(t, w.serverKey)...))}, "CN=broker-1,O=Samsa Test"},
		{"PEM strings", Settings{KeystoreType: "PEM", KeystoreCertChain: string(certPEM(w.serverCert)), KeystoreKey: string(keyPEM(t, w.serverKey))}, "CN=broker-1,O=Samsa Test"},
		{"PEM encrypted PKCS#8", Settings{KeystoreType: "PEM", KeystoreLocation: writeFile(t, w.path("enc.pem"), append(encryptedKeyPEM(t, w.serverKey, "k3y-pass"), certPEM(w.serverCert)...)), KeyPassword: "k3y-pass"}, "CN=broker-1,O=Samsa Test"},
		{"PEM encrypted PKCS#8 string", Settings{KeystoreType: "PEM", KeystoreCertChain: string(certPEM(w.serverCert)), KeystoreKey: string(encryptedKeyPEM(t, w.serverKey, "k3y-pass")), KeyPassword: "k3y-pass"}, "CN=broker-1,O=Samsa Test"},
		{"PEM PKCS#1 RSA", Settings{KeystoreType: "PEM", KeystoreLocation: writeFile(t, w.path("rsa.pem"), append(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}), certPEM(rsaCert)...))}, "CN=broker-rsa,O=Samsa Test"},
		{"PEM SEC 1 EC", Settings{KeystoreType: "PEM", KeystoreLocation: writeFile(t, w.path("ec.pem"), append(ecKeyPEM(t, ecKey), certPEM(ecCert)...))}, "CN=broker-ec,O=Samsa Test"},
		{"PKCS12", Settings{KeystoreType: "PKCS12", KeystoreLocation: writeFile(t, w.path("ks.p12"), pkcs12KeyStore(t, w.serverKey, w.serverCert, []*x509.Certificate{w.ca.cert}, "st0re")), KeystorePassword: "st0re"}, "CN=broker-1,O=Samsa Test"},
		{"JKS", Settings{KeystoreType: "JKS", KeystoreLocation: writeFile(t, w.path("ks.jks"), jksKeyStore(t, w.serverKey, []*x509.Certificate{w.serverCert, w.ca.cert}, "st0re", "k3y")), KeystorePassword: "st0re", KeyPassword: "k3y"}, "CN=broker-1,O=Samsa Test"},
		{"JKS, key password = store password", Settings{KeystoreLocation: writeFile(t, w.path("ks2.jks"), jksKeyStore(t, w.serverKey, []*x509.Certificate{w.serverCert}, "st0re", "st0re")), KeystorePassword: "st0re"}, "CN=broker-1,O=Samsa Test"},
		{"JKS type holding a PKCS12 file", Settings{KeystoreType: "JKS", KeystoreLocation: writeFile(t, w.path("p12.jks"), pkcs12KeyStore(t, w.serverKey, w.serverCert, nil, "st0re")), KeystorePassword: "st0re"}, "CN=broker-1,O=Samsa Test"},
		{"PKCS12 type holding a JKS file", Settings{KeystoreType: "PKCS12", KeystoreLocation: writeFile(t, w.path("jks.p12"), jksKeyStore(t, w.serverKey, []*x509.Certificate{w.serverCert}, "st0re", "st0re")), KeystorePassword: "st0re"}, "CN=broker-1,O=Samsa Test"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := NewServer(tc.settings, nil)
			if err != nil {
				t.Fatal(err)
			}
			addr := serve(t, srv)
			for _, name := range []string{"localhost", "127.0.0.1"} {
				cfg := clientTLS(w.ca)
				cfg.ServerName = name
				principal, cert, _, err := dial(addr, cfg)
				if err != nil {
					t.Fatalf("dial as %s: %v", name, err)
				}
				if got := DistinguishedName(cert); got != tc.subject {
					t.Errorf("server presented %q, want %q", got, tc.subject)
				}
				if principal != Anonymous {
					t.Errorf("principal %q, want %q", principal, Anonymous)
				}
			}
			// A client that trusts another CA refuses the server.
			if _, _, _, err := dial(addr, clientTLS(w.other)); err == nil {
				t.Error("a client trusting another CA connected")
			}
		})
	}
}

func TestMTLSRequired(t *testing.T) {
	w := newWorld(t)
	stranger, strangerKey := w.other.issue(t, aliceName, false, nil)
	trustStores := []struct {
		name string
		set  func(*Settings)
	}{
		{"PEM file", func(s *Settings) {
			s.TruststoreType, s.TruststoreLocation = "PEM", writeFile(t, w.path("ca.pem"), certPEM(w.ca.cert))
		}},
		{"PEM string", func(s *Settings) { s.TruststoreType, s.TruststoreCertificates = "PEM", string(certPEM(w.ca.cert)) }},
		{"PKCS12", func(s *Settings) {
			s.TruststoreType, s.TruststorePassword = "PKCS12", "tru5t"
			s.TruststoreLocation = writeFile(t, w.path("ca.p12"), pkcs12TrustStore(t, "tru5t", w.ca.cert))
		}},
		{"JKS", func(s *Settings) {
			s.TruststoreType, s.TruststorePassword = "JKS", "tru5t"
			s.TruststoreLocation = writeFile(t, w.path("ca.jks"), jksTrustStore(t, "tru5t", w.ca.cert))
		}},
	}
	for _, ts := range trustStores {
		t.Run(ts.name, func(t *testing.T) {
			s := Settings{KeystoreType: "PEM", KeystoreLocation: writeFile(t, w.path("server.pem"), pemKeyStore(t, w.serverKey, w.serverCert)), ClientAuth: "required"}
			ts.set(&s)
			srv, err := NewServer(s, nil)
			if err != nil {
				t.Fatal(err)
			}
			addr := serve(t, srv)
			if _, _, _, err := dial(addr, clientTLS(w.ca)); err == nil {
				t.Error("a client without a certificate connected")
			}
			if _, _, _, err := dial(addr, forceCert(clientTLS(w.ca), clientCert(stranger, strangerKey))); err == nil {
				t.Error("a client with a certificate of another CA connected")
			}
			p, _, _, err := dial(addr, clientTLS(w.ca, clientCert(w.aliceCert, w.aliceKey)))
			if err != nil {
				t.Fatal(err)
			}
			if want := "User:CN=alice,OU=eng,O=Acme,C=US"; p != want {
				t.Errorf("principal %q, want %q", p, want)
			}
		})
	}
}

func TestMTLSPrincipalMapping(t *testing.T) {
	w := newWorld(t)
	duke, dukeKey := w.ca.issue(t, pkixName("Duke", "ServiceUsers", "Org", "US"), false, nil)
	ops, opsKey := w.ca.issue(t, pkixName("bob", "ops", "Acme", "US"), false, nil)
	cases := []struct {
		rules string
		cert  tls.Certificate
		want  string // "" when refused
	}{
		{"DEFAULT", clientCert(w.aliceCert, w.aliceKey), "User:CN=alice,OU=eng,O=Acme,C=US"},
		{"", clientCert(w.aliceCert, w.aliceKey), "User:CN=alice,OU=eng,O=Acme,C=US"},
		{"RULE:^CN=(.*?),OU=.*$/$1/L", clientCert(w.aliceCert, w.aliceKey), "User:alice"},
		{"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L,DEFAULT", clientCert(duke, dukeKey), "User:duke"},
		{"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L,DEFAULT", clientCert(w.aliceCert, w.aliceKey), "User:CN=alice,OU=eng,O=Acme,C=US"},
		{"RULE:^CN=(.*?),OU=(.*?),O=(.*?),C=(.*?)$/$1@$2/U", clientCert(ops, opsKey), "User:BOB@OPS"},
		{"RULE:^CN=(.*?),OU=eng,.*$/$1/", clientCert(ops, opsKey), ""},
	}
	for _, tc := range cases {
		s := w.pemSettings(t)
		s.ClientAuth = "required"
		s.PrincipalMappingRules = tc.rules
		srv, err := NewServer(s, nil)
		if err != nil {
			t.Fatalf("%q: %v", tc.rules, err)
		}
		addr := serve(t, srv)
		p, _, _, err := dial(addr, clientTLS(w.ca, tc.cert))
		if tc.want == "" {
			if err == nil {
				t.Errorf("%q: %s connected as %q, want refused", tc.rules, DistinguishedName(tc.cert.Leaf), p)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.rules, err)
			continue
		}
		if p != tc.want {
			t.Errorf("%q: principal %q, want %q", tc.rules, p, tc.want)
		}
	}
}

func TestMTLSRequested(t *testing.T) {
	w := newWorld(t)
	s := w.pemSettings(t)
	s.ClientAuth = "requested"
	s.PrincipalMappingRules = "RULE:^CN=(.*?),.*$/$1/"
	srv, err := NewServer(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, srv)
	p, _, _, err := dial(addr, clientTLS(w.ca))
	if err != nil || p != Anonymous {
		t.Errorf("without a certificate: %q, %v; want %s", p, err, Anonymous)
	}
	p, _, _, err = dial(addr, clientTLS(w.ca, clientCert(w.aliceCert, w.aliceKey)))
	if err != nil || p != "User:alice" {
		t.Errorf("with a certificate: %q, %v; want User:alice", p, err)
	}
	// A certificate of another CA: Go's client does not send it, as the
	// server names the authorities it accepts...
	stranger, strangerKey := w.other.issue(t, aliceName, false, nil)
	p, _, _, err = dial(addr, clientTLS(w.ca, clientCert(stranger, strangerKey)))
	if err != nil || p != Anonymous {
		t.Errorf("with a certificate of another CA: %q, %v; want %s", p, err, Anonymous)
	}
	// ... and when it is sent anyway, it is refused.
	if p, _, _, err := dial(addr, forceCert(clientTLS(w.ca), clientCert(stranger, strangerKey))); err == nil {
		t.Errorf("a certificate of another CA was accepted as %q", p)
	}
}

func TestClientAuthNone(t *testing.T) {
	w := newWorld(t)
	srv, err := NewServer(w.pemSettings(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, srv)
	// A client certificate is not asked for, so none is sent.
	p, _, st, err := dial(addr, clientTLS(w.ca, clientCert(w.aliceCert, w.aliceKey)))
	if err != nil || p != Anonymous {
		t.Errorf("%q, %v; want %s", p, err, Anonymous)
	}
	if len(st.PeerCertificates) == 0 {
		t.Error("no server certificate")
	}
	if srv.Principal(tls.ConnectionState{}) != Anonymous {
		t.Error("Principal of a connection state without certificates is not anonymous")
	}
}

func TestProtocolsAndCipherSuites(t *testing.T) {
	w := newWorld(t)
	start := func(protocols, suites []string) string {
		s := w.pemSettings(t)
		s.EnabledProtocols, s.CipherSuites = protocols, suites
		srv, err := NewServer(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		return serve(t, srv)
	}
	addr := start([]string{"TLSv1.3"}, nil)
	cfg := clientTLS(w.ca)
	cfg.MaxVersion = tls.VersionTLS12
	if _, _, _, err := dial(addr, cfg); err == nil {
		t.Error("TLSv1.3 only: a TLS 1.2 client connected")
	}
	if _, _, st, err := dial(addr, clientTLS(w.ca)); err != nil || st.Version != tls.VersionTLS13 {
		t.Errorf("TLSv1.3 only: %v, version %x", err, st.Version)
	}

	addr = start([]string{"TLSv1.2"}, []string{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"})
	_, _, st, err := dial(addr, clientTLS(w.ca))
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != tls.VersionTLS12 || st.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 {
		t.Errorf("got version %x suite %s", st.Version, tls.CipherSuiteName(st.CipherSuite))
	}
	cfg = clientTLS(w.ca)
	cfg.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
	if _, _, _, err := dial(addr, cfg); err == nil {
		t.Error("a client without the configured suite connected")
	}

	// A list of TLS 1.3 suites only leaves TLS 1.2 nothing, as in Java.
	addr = start(nil, []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"})
	cfg = clientTLS(w.ca)
	cfg.MaxVersion = tls.VersionTLS12
	if _, _, _, err := dial(addr, cfg); err == nil {
		t.Error("TLS 1.3 suites only: a TLS 1.2 client connected")
	}
}

func TestReloadKeyStore(t *testing.T) {
	w := newWorld(t)
	logger, logs := testLogger(t)
	s := w.pemSettings(t)
	srv, err := NewServer(s, logger)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, srv)
	presented := func() *x509.Certificate {
		t.Helper()
		_, cert, _, err := dial(addr, clientTLS(w.ca))
		if err != nil {
			t.Fatal(err)
		}
		return cert
	}
	if got := presented(); !got.Equal(w.serverCert) {
		t.Fatalf("first certificate: %s", DistinguishedName(got))
	}

	// Within the interval since the last look the file is not looked at
	// (an hour here, so a slow machine cannot make the test fail) ...
	srv.interval.Store(int64(time.Hour))
	second, secondKey := w.ca.issue(t, serverName("broker-1-rotated"), true, nil)
	replaceFile(t, s.KeystoreLocation, pemKeyStore(t, secondKey, second))
	if got := presented(); !got.Equal(w.serverCert) {
		t.Errorf("the new file was read within the interval: %s", DistinguishedName(got))
	}
	// ... and once the interval (a second, by default) has passed, it is.
	srv.interval.Store(int64(reloadInterval))
	time.Sleep(reloadInterval + 100*time.Millisecond)
	presented() // this handshake finds the change; it and the next get the new certificate
	if got := presented(); !got.Equal(second) {
		t.Fatalf("after the reload: %s, want %s", DistinguishedName(got), DistinguishedName(second))
	}
	if !strings.Contains(logs.String(), "key store reloaded") {
		t.Errorf("reload not logged: %s", logs)
	}

	// A bad file keeps the loaded key and certificate, and is logged once.
	srv.interval.Store(0)
	replaceFile(t, s.KeystoreLocation, []byte("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n"))
	for range 3 {
		if got := presented(); !got.Equal(second) {
			t.Fatalf("after a bad reload: %s", DistinguishedName(got))
		}
	}
	if n := strings.Count(logs.String(), "key store reload failed"); n != 1 {
		t.Errorf("the failed reload was logged %d times, want once: %s", n, logs)
	}
	// A key that does not match its certificate is refused too.
	third, thirdKey := w.ca.issue(t, serverName("broker-1-third"), true, nil)
	replaceFile(t, s.KeystoreLocation, pemKeyStore(t, secondKey, third))
	if got := presented(); !got.Equal(second) {
		t.Fatalf("after a mismatched key: %s", DistinguishedName(got))
	}
	// Fixing the file loads it, also when written in place.
	writeFile(t, s.KeystoreLocation, pemKeyStore(t, thirdKey, third))
	if got := presented(); !got.Equal(third) {
		t.Fatalf("after the fix: %s", DistinguishedName(got))
	}
	// Removing the file keeps what is loaded.
	_ = os.Remove(s.KeystoreLocation)
	if got := presented(); !got.Equal(third) {
		t.Fatalf("after removal: %s", DistinguishedName(got))
	}
}

func TestReloadPKCS12AndJKSInPlace(t *testing.T) {
	for _, typ := range []string{"PKCS12", "JKS"} {
		t.Run(typ, func(t *testing.T) {
			w := newWorld(t)
			store := func(key any, cert *x509.Certificate) []byte {
				if typ == "JKS" {
					return jksKeyStore(t, key.(crypto.Signer), []*x509.Certificate{cert}, "st0re", "st0re")
				}
				return pkcs12KeyStore(t, key.(crypto.Signer), cert, nil, "st0re")
			}
			s := Settings{KeystoreType: typ, KeystorePassword: "st0re", KeystoreLocation: writeFile(t, w.path("ks"), store(w.serverKey, w.serverCert))}
			srv, err := NewServer(s, nil)
			if err != nil {
				t.Fatal(err)
			}
			srv.interval.Store(0)
			addr := serve(t, srv)
			second, secondKey := w.ca.issue(t, serverName("rotated"), true, nil)
			writeFile(t, s.KeystoreLocation, store(secondKey, second))
			dial(addr, clientTLS(w.ca))
			if _, got, _, err := dial(addr, clientTLS(w.ca)); err != nil || !got.Equal(second) {
				t.Fatalf("after rewriting the file: %v", err)
			}
			// Same file, another password: refused, the old one stays.
			writeFile(t, s.KeystoreLocation, pkcs12KeyStore(t, w.serverKey, w.serverCert, nil, "other"))
			dial(addr, clientTLS(w.ca))
			if _, got, _, err := dial(addr, clientTLS(w.ca)); err != nil || !got.Equal(second) {
				t.Fatalf("after a file with another password: %v", err)
			}
		})
	}
}

func TestReloadTrustStore(t *testing.T) {
	w := newWorld(t)
	logger, logs := testLogger(t)
	s := w.pemSettings(t)
	s.ClientAuth = "required"
	srv, err := NewServer(s, logger)
	if err != nil {
		t.Fatal(err)
	}
	srv.interval.Store(0)
	addr := serve(t, srv)
	newcomer, newcomerKey := w.other.issue(t, pkixName("carol", "eng", "Acme", "US"), false, nil)
	if _, _, _, err := dial(addr, clientTLS(w.ca, clientCert(newcomer, newcomerKey))); err == nil {
		t.Fatal("a client of the other CA connected before it was trusted")
	}
	replaceFile(t, s.TruststoreLocation, certPEM(w.ca.cert, w.other.cert))
	dial(addr, clientTLS(w.ca)) // finds the change
	p, _, _, err := dial(addr, clientTLS(w.ca, clientCert(newcomer, newcomerKey)))
	if err != nil || p != "User:CN=carol,OU=eng,O=Acme,C=US" {
		t.Fatalf("after trusting the other CA: %q, %v", p, err)
	}
	if !strings.Contains(logs.String(), "trust store reloaded") {
		t.Errorf("reload not logged: %s", logs)
	}
	// A corrupt trust store keeps the previous one.
	replaceFile(t, s.TruststoreLocation, []byte("garbage"))
	dial(addr, clientTLS(w.ca, clientCert(w.aliceCert, w.aliceKey)))
	if _, _, _, err := dial(addr, clientTLS(w.ca, clientCert(newcomer, newcomerKey))); err != nil {
		t.Fatalf("after a corrupt trust store: %v", err)
	}
	if !strings.Contains(logs.String(), "trust store reload failed") {
		t.Errorf("failed reload not logged: %s", logs)
	}
}

func TestFromConfig(t *testing.T) {
	c, err := config.New(map[string]string{
		"ssl.keystore.type":                            "PKCS12",
		"ssl.keystore.location":                        "/etc/samsa/broker.p12",
		"ssl.keystore.password":                        "secret",
		"ssl.client.auth":                              "requested",
		"listener.name.internal.ssl.client.auth":       "required",
		"listener.name.internal.ssl.keystore.location": "/etc/samsa/internal.p12",
		"ssl.cipher.suites":                            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
		"ssl.principal.mapping.rules":                  "RULE:^CN=(.*?),.*$/$1/,DEFAULT",
	})
	if err != nil {
		t.Fatal(err)
	}
	ext := FromConfig(c, "EXTERNAL")
	in := FromConfig(c, "INTERNAL")
	if ext.KeystoreLocation != "/etc/samsa/broker.p12" || in.KeystoreLocation != "/etc/samsa/internal.p12" {
		t.Errorf("key store locations %q %q", ext.KeystoreLocation, in.KeystoreLocation)
	}
	if ext.ClientAuth != "requested" || in.ClientAuth != "required" {
		t.Errorf("client auth %q %q", ext.ClientAuth, in.ClientAuth)
	}
	if in.KeystoreType != "PKCS12" || in.KeystorePassword != "secret" || in.TruststoreType != "JKS" {
		t.Errorf("inherited settings: %+v", in)
	}
	if len(in.CipherSuites) != 2 || in.CipherSuites[1] != "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" {
		t.Errorf("cipher suites %q", in.CipherSuites)
	}
	if len(in.EnabledProtocols) != 2 || in.EndpointIdentification != "https" || in.PrincipalMappingRules != "RULE:^CN=(.*?),.*$/$1/,DEFAULT" {
		t.Errorf("defaults: %+v", in)
	}
}
