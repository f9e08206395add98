package broker_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type testPKI struct {
	dir              string
	caPool           *x509.CertPool
	serverPEM, caPEM string // files: server key + chain; CA certificate
	client           tls.Certificate
	otherCAClient    tls.Certificate
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	mk := func(tmpl *x509.Certificate, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c, key, der
	}
	serial := int64(1)
	tmpl := func(cn string, ca bool) *x509.Certificate {
		serial++
		return &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"Samsa"}},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: ca, BasicConstraintsValid: true,
			KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	}
	ca, caKey, caDER := mk(tmpl("test CA", true), nil, nil)
	st := tmpl("broker", false)
	st.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	st.DNSNames = []string{"localhost"}
	_, sKey, sDER := mk(st, ca, caKey)
	_, cKey, cDER := mk(tmpl("alice", false), ca, caKey)
	other, otherKey, _ := mk(tmpl("other CA", true), nil, nil)
	_, oKey, oDER := mk(tmpl("mallory", false), other, otherKey)

	keyPEM := func(k *ecdsa.PrivateKey) []byte {
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	certPEM := func(der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}) }
	p := &testPKI{dir: dir, caPool: x509.NewCertPool(), serverPEM: filepath.Join(dir, "server.pem"), caPEM: filepath.Join(dir, "ca.pem")}
	p.caPool.AddCert(ca)
	os.WriteFile(p.serverPEM, append(append(keyPEM(sKey), certPEM(sDER)...), certPEM(caDER)...), 0o600)
	os.WriteFile(p.caPEM, certPEM(caDER), 0o644)
	var err error
	if p.client, err = tls.X509KeyPair(certPEM(cDER), keyPEM(cKey)); err != nil {
		t.Fatal(err)
	}
	if p.otherCAClient, err = tls.X509KeyPair(certPEM(oDER), keyPEM(oKey)); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *testPKI) clientTLS(cert *tls.Certificate) *tls.Config {
	c := &tls.Config{RootCAs: p.caPool, ServerName: "127.0.0.1"}
	if cert != nil {
		c.Certificates = []tls.Certificate{*cert}
	}
	return c
}

// Clients produce and consume over an SSL listener, mTLS refuses clients
// without a certificate from the trusted CA, and SASL_SSL runs SCRAM
// inside TLS.
func TestTLSListeners(t *testing.T) {
	pki := newPKI(t)
	b := brokertest.Start(t,
		"listeners", "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,MTLS://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
		"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
		"ssl.keystore.type", "PEM", "ssl.keystore.location", pki.serverPEM,
		"ssl.truststore.type", "PEM", "ssl.truststore.location", pki.caPEM,
		"listener.name.mtls.ssl.client.auth", "required",
		"sasl.enabled.mechanisms", "SCRAM-SHA-256")
	createTopic(t, b.Addr(), "tls", 2, nil)

	ssl := newClient(t, b.ListenerAddr("SSL"), kgo.DialTLSConfig(pki.clientTLS(nil)), kgo.DefaultProduceTopic("tls"))
	if err := ssl.ProduceSync(ctxT(t), &kgo.Record{Value: []byte("over TLS")}).FirstErr(); err != nil {
		t.Fatalf("produce over SSL: %v", err)
	}
	got := consumeAll(t, b.ListenerAddr("SSL"), "tls", 1, kgo.DialTLSConfig(pki.clientTLS(nil)))
	n := 0
	for _, rs := range got {
		for _, r := range rs {
			if string(r.Value) == "over TLS" {
				n++
			}
		}
	}
	if n != 1 {
		t.Fatalf("consumed over SSL: %v", got)
	}
	// Metadata through the SSL listener names the SSL endpoint.
	md, err := kadm.NewClient(ssl).BrokerMetadata(ctxT(t))
	if err != nil || len(md.Brokers) != 1 || net.JoinHostPort(md.Brokers[0].Host, itoa(md.Brokers[0].Port)) != b.ListenerAddr("SSL") {
		t.Fatalf("metadata over SSL: %v %+v", err, md.Brokers)
	}

	// mTLS: a client certificate from the trusted CA is required.
	ping := func(cfg *tls.Config, addr string, opts ...kgo.Opt) error {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.DialTLSConfig(cfg), kgo.RetryTimeout(time.Second)}, opts...)...)
		if err != nil {
			return err
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return cl.Ping(ctx)
	}
	if err := ping(pki.clientTLS(&pki.client), b.ListenerAddr("MTLS")); err != nil {
		t.Fatalf("mTLS with a good certificate: %v", err)
	}
	if err := ping(pki.clientTLS(nil), b.ListenerAddr("MTLS")); err == nil {
		t.Fatal("mTLS without a certificate was served")
	}
	if err := ping(pki.clientTLS(&pki.otherCAClient), b.ListenerAddr("MTLS")); err == nil {
		t.Fatal("mTLS with another CA's certificate was served")
	}
	// A plaintext client on a TLS port gets nothing.
	plain, _ := kgo.NewClient(kgo.SeedBrokers(b.ListenerAddr("SSL")), kgo.RetryTimeout(time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	if err := plain.Ping(ctx); err == nil {
		t.Fatal("a plaintext client was served on the SSL listener")
	}
	cancel()
	plain.Close()

	// SASL_SSL: SCRAM inside TLS.
	if res, err := kadm.NewClient(newClient(t, b.Addr())).AlterUserSCRAMs(ctxT(t), nil, []kadm.UpsertSCRAM{
		{User: "bob", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "bob-secret"}}); err != nil || res.Error() != nil {
		t.Fatal(err, res.Error())
	}
	if err := ping(pki.clientTLS(nil), b.ListenerAddr("SASL_SSL"), kgo.SASL(scram.Auth{User: "bob", Pass: "bob-secret"}.AsSha256Mechanism())); err != nil {
		t.Fatalf("SASL_SSL with SCRAM: %v", err)
	}
	if err := ping(pki.clientTLS(nil), b.ListenerAddr("SASL_SSL"), kgo.SASL(scram.Auth{User: "bob", Pass: "nope"}.AsSha256Mechanism())); err == nil {
		t.Fatal("SASL_SSL with a wrong password was served")
	}
}

func itoa(p int32) string { return big.NewInt(int64(p)).String() }
