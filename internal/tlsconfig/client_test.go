package tlsconfig

import (
	"crypto/x509"
	"net"
	"strings"
	"testing"
)

func TestClientConfig(t *testing.T) {
	w := newWorld(t)
	// The server: mTLS required, trusting the CA.
	s := w.pemSettings(t)
	s.ClientAuth = "required"
	s.PrincipalMappingRules = "RULE:^CN=(.*?),.*$/$1/"
	srv, err := NewServer(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, srv)
	_, port, _ := net.SplitHostPort(addr)

	// The dialing broker: its own certificate in a JKS key store, the CA in
	// a PKCS12 trust store.
	peerCert, peerKey := w.ca.issue(t, serverName("broker-2"), true, nil)
	client := Settings{
		KeystoreType:           "JKS",
		KeystoreLocation:       writeFile(t, w.path("broker2.jks"), jksKeyStore(t, peerKey, []*x509.Certificate{peerCert, w.ca.cert}, "st0re", "st0re")),
		KeystorePassword:       "st0re",
		TruststoreType:         "PKCS12",
		TruststoreLocation:     writeFile(t, w.path("trust.p12"), pkcs12TrustStore(t, "tru5t", w.ca.cert)),
		TruststorePassword:     "tru5t",
		EndpointIdentification: "https",
	}
	connect := func(s Settings, host string) (string, error) {
		cfg, err := ClientConfig(s, host)
		if err != nil {
			t.Fatal(err)
		}
		p, _, _, err := dial(net.JoinHostPort("127.0.0.1", port), cfg)
		return p, err
	}

	for _, host := range []string{"localhost", "127.0.0.1"} {
		p, err := connect(client, host)
		if err != nil {
			t.Fatalf("https, %s: %v", host, err)
		}
		if p != "User:broker-2" {
			t.Errorf("the server saw %q, want User:broker-2", p)
		}
	}
	if _, err := connect(client, "broker.example.com"); err == nil || !strings.Contains(err.Error(), "broker.example.com") {
		t.Errorf("https with a name not in the certificate: %v", err)
	}

	// Without endpoint identification the name is not checked; the chain is.
	client.EndpointIdentification = ""
	if p, err := connect(client, "broker.example.com"); err != nil || p != "User:broker-2" {
		t.Errorf("no endpoint identification: %q, %v", p, err)
	}
	other := client
	other.TruststoreType, other.TruststoreLocation, other.TruststorePassword = "PEM", writeFile(t, w.path("other.pem"), certPEM(w.other.cert)), ""
	if _, err := connect(other, "localhost"); err == nil {
		t.Error("no endpoint identification: a server of an untrusted CA was accepted")
	}
	other.EndpointIdentification = "HTTPS"
	if _, err := connect(other, "localhost"); err == nil {
		t.Error("https: a server of an untrusted CA was accepted")
	}

	// Without a key store the client sends no certificate, and this server
	// wants one.
	anonymous := client
	anonymous.KeystoreLocation, anonymous.KeystorePassword = "", ""
	if _, err := connect(anonymous, "localhost"); err == nil {
		t.Error("a client without a certificate passed ssl.client.auth=required")
	}

	for _, bad := range []Settings{
		{EndpointIdentification: "ldaps"},
		{EnabledProtocols: []string{"SSLv3"}},
		{KeystoreType: "PKCS12", KeystoreLocation: client.KeystoreLocation, KeystorePassword: "wrong"},
		{TruststoreType: "PEM", TruststoreLocation: w.path("nope.pem")},
	} {
		if _, err := ClientConfig(bad, "localhost"); err == nil {
			t.Errorf("%+v: accepted", bad)
		}
	}
}
