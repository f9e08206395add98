package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// testCerts is a CA, a server certificate for 127.0.0.1 and a client
// certificate, as PEM files: server.pem and client.pem hold key and chain,
// ca.pem the CA; caText is the CA certificate as text.
type testCerts struct {
	dir, serverPEM, clientPEM, clientCert, clientKey, caPEM, caText string
}

func newTestCerts(t *testing.T) testCerts {
	t.Helper()
	dir := t.TempDir()
	serial := int64(0)
	issue := func(cn string, ca bool, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, []byte, []byte) {
		serial++
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(30 * 24 * time.Hour),
			IsCA: ca, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
		if !ca {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		cert, _ := x509.ParseCertificate(der)
		keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
		return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	}
	ca, caKey, caCert, _ := issue("test CA", true, nil, nil)
	_, _, serverCert, serverKey := issue("broker", false, ca, caKey)
	_, _, clientCert, clientKey := issue("cli", false, ca, caKey)
	c := testCerts{dir: dir, serverPEM: filepath.Join(dir, "server.pem"), clientPEM: filepath.Join(dir, "client.pem"),
		clientCert: filepath.Join(dir, "client.crt"), clientKey: filepath.Join(dir, "client.key"),
		caPEM: filepath.Join(dir, "ca.pem"), caText: string(caCert)}
	for path, data := range map[string][]byte{
		c.serverPEM: append(append(serverKey, serverCert...), caCert...), c.clientPEM: append(clientKey, clientCert...),
		c.clientCert: clientCert, c.clientKey: clientKey, c.caPEM: caCert,
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func writeProps(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "client.properties")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The client commands against SSL, mTLS and SASL_SSL listeners, with the
// settings in a --command-config file and as -X properties.
func TestEndToEndSecureListeners(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	certs := newTestCerts(t)
	b := brokertest.Start(t,
		"listeners", "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,MTLS://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
		"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
		"ssl.keystore.type", "PEM", "ssl.keystore.location", certs.serverPEM,
		"ssl.truststore.type", "PEM", "ssl.truststore.location", certs.caPEM,
		"listener.name.mtls.ssl.client.auth", "required",
		"sasl.enabled.mechanisms", "SCRAM-SHA-256,SCRAM-SHA-512")
	sslAddr, mtlsAddr, saslAddr := b.ListenerAddr("SSL"), b.ListenerAddr("MTLS"), b.ListenerAddr("SASL_SSL")

	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := kadm.NewClient(cl).AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{
		{User: "alice", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "alice-secret"},
		{User: "bob", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: "bob-secret"},
	})
	if err != nil || res.Error() != nil {
		t.Fatalf("creating SCRAM users: %v %v", err, res.Error())
	}

	run := func(stdin string, args ...string) (string, string) {
		t.Helper()
		stdout, stderr, code := runCLI(t, stdin, append([]string{"--timeout", "20s"}, args...)...)
		if code != exitOK {
			t.Fatalf("samsa %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, stdout, stderr)
		}
		return stdout, stderr
	}

	// SASL_SSL with SCRAM-SHA-256 from a properties file (the trust store
	// type left out: a PEM file is read as PEM).
	scramProps := writeProps(t,
		"# as for kafka-topics.sh --command-config",
		"security.protocol=SASL_SSL",
		"ssl.truststore.location="+certs.caPEM,
		"sasl.mechanism=SCRAM-SHA-256",
		`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-secret";`)
	out, _ := run("", "-b", saslAddr, "--command-config", scramProps, "topic", "create", "secure", "-p", "2")
	if !strings.Contains(out, `Created topic "secure"`) {
		t.Errorf("create over SASL_SSL: %q", out)
	}
	out, _ = run("", "--bootstrap-server", saslAddr, "--command-config", scramProps, "topic", "list", "--json")
	if !strings.Contains(out, `"secure"`) || strings.Contains(out, "alice-secret") {
		t.Errorf("list over SASL_SSL: %q", out)
	}
	_, stderr := run("one\ntwo\n", "-b", saslAddr, "--producer.config", scramProps, "produce", "secure")
	if !strings.HasPrefix(stderr, `Produced 2 record(s) to "secure"`) {
		t.Errorf("produce over SASL_SSL: %q", stderr)
	}
	out, _ = run("", "-b", saslAddr, "--consumer.config", scramProps, "consume", "secure", "--from-beginning", "-n", "2", "-g", "sec-group")
	if len(strings.Fields(out)) != 2 {
		t.Errorf("consume over SASL_SSL: %q", out)
	}

	// The same with librdkafka's names, as kcat takes them, and SCRAM-SHA-512.
	out, _ = run("", "-b", saslAddr, "-X", "security.protocol=sasl_ssl", "-X", "ssl.ca.location="+certs.caPEM,
		"-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.username=bob", "-X", "sasl.password=bob-secret", "topic", "list")
	if !strings.Contains(out, "secure") {
		t.Errorf("list with -X librdkafka names: %q", out)
	}

	// SSL with the CA as a PEM string; -X overrides the file (whose
	// protocol is SASL_SSL, and whose trust store location -X empties).
	out, _ = run("", "-b", sslAddr, "--command-config", scramProps, "-X", "security.protocol=SSL",
		"-X", "ssl.truststore.location=", "-X", "ssl.truststore.certificates="+certs.caText, "consume", "secure", "--from-beginning", "-n", "2")
	if len(strings.Fields(out)) != 2 {
		t.Errorf("consume over SSL: %q", out)
	}

	// mTLS: the client's key and certificate, in one PEM key store file or
	// in two librdkafka-style files.
	out, _ = run("", "-b", mtlsAddr, "-X", "security.protocol=SSL", "-X", "ssl.truststore.location="+certs.caPEM,
		"-X", "ssl.keystore.location="+certs.clientPEM, "topic", "list")
	if !strings.Contains(out, "secure") {
		t.Errorf("list over mTLS: %q", out)
	}
	run("", "-b", mtlsAddr, "-X", "security.protocol=SSL", "-X", "ssl.ca.location="+certs.caPEM,
		"-X", "ssl.certificate.location="+certs.clientCert, "-X", "ssl.key.location="+certs.clientKey, "topic", "list")

	// Failures say what to fix and never show the password.
	fail := func(wantCode int, args ...string) string {
		t.Helper()
		_, stderr, code := runCLI(t, "", append([]string{"--timeout", "5s"}, args...)...)
		if code != wantCode {
			t.Fatalf("samsa %s: exit %d, want %d; stderr %q", strings.Join(args, " "), code, wantCode, stderr)
		}
		return stderr
	}
	stderr = fail(exitFailure, "-b", saslAddr, "--command-config", scramProps,
		"-X", `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="not-her-password";`,
		"topic", "list")
	if !strings.Contains(stderr, `authentication failed as user "alice" (SCRAM-SHA-256)`) || strings.Contains(stderr, "not-her-password") {
		t.Errorf("wrong password: %q", stderr)
	}
	stderr = fail(exitFailure, "-b", sslAddr, "-X", "security.protocol=SSL", "topic", "list")
	if !strings.Contains(stderr, "not trusted") || !strings.Contains(stderr, "ssl.truststore.location") {
		t.Errorf("no trust store: %q", stderr)
	}
	stderr = fail(exitUsage, "-b", saslAddr, "-X", "security.protocol=SASL_SSL", "-X", "ssl.truststore.location="+certs.caPEM,
		"-X", "sasl.mechanism=SCRAM-SHA-256", "-X", `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="p";`,
		"topic", "list")
	if !strings.Contains(stderr, "does not go with sasl.mechanism=SCRAM-SHA-256") {
		t.Errorf("module and mechanism mismatch: %q", stderr)
	}
	stderr = fail(exitFailure, "-b", saslAddr, "--timeout", "2s", "topic", "list")
	if !strings.Contains(stderr, "security.protocol") {
		t.Errorf("plaintext client on a SASL_SSL listener: %q", stderr)
	}
}

func TestParseJAAS(t *testing.T) {
	c, err := parseJAAS(`org.apache.kafka.common.security.scram.ScramLoginModule required
		username="alice" password='p"a;s\'s' tokenauth=true;`)
	if err != nil {
		t.Fatal(err)
	}
	if c.module != "org.apache.kafka.common.security.scram.ScramLoginModule" || c.options["username"] != "alice" ||
		c.options["password"] != `p"a;s's` || c.options["tokenauth"] != "true" {
		t.Errorf("parsed %+v", c)
	}
	for _, bad := range []string{
		`PlainLoginModule username="a";`,
		`PlainLoginModule required username="secret-value`,
		`PlainLoginModule required username="a" password="secret-value"`,
		`PlainLoginModule required username "secret-value";`,
		`PlainLoginModule required a="1"; Other required b="2";`,
	} {
		_, err := parseJAAS(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
		} else if strings.Contains(err.Error(), "secret-value") {
			t.Errorf("%q: the error shows the value: %v", bad, err)
		}
	}
}

func TestSecurityPropertyErrors(t *testing.T) {
	tests := []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"security.protocol": "TLS"}, "security.protocol: unknown protocol"},
		{map[string]string{"security.protocol": "SASL_PLAINTEXT"}, "sasl.mechanism: not set"},
		{map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "GSSAPI"}, `"GSSAPI" is not supported`},
		{map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN", "sasl.password": "hunter2"}, "needs a username and a password"},
		{map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER"}, "sasl.oauthbearer.token.file"},
		{map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER",
			"sasl.oauthbearer.token.endpoint.url": "https://idp/token"}, "only file: URLs"},
		{map[string]string{"security.protocol": "SSL", "ssl.truststore.location": "/nonexistent/ca.jks", "ssl.truststore.password": "hunter2"}, "ssl.truststore.location"},
		{map[string]string{"security.protocol": "SSL", "ssl.endpoint.identification.algorithm": "dns"}, "ssl.endpoint.identification.algorithm"},
		{map[string]string{"security.protocol": "SSL", "ssl.certificate.location": "/x.pem"}, "go together"},
	}
	for _, tt := range tests {
		p := &clientProperties{values: tt.props}
		_, _, err := p.securityOpts()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.props, err, tt.want)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%v: the error shows the password: %v", tt.props, err)
		}
	}
	// Good ones build their options: PLAIN, the two SCRAMs, OAUTHBEARER from
	// a token file, Kafka's file: URL or an unsecured token.
	token := filepath.Join(t.TempDir(), "token")
	os.WriteFile(token, []byte("eyJ.x.y\n"), 0o600)
	for _, props := range []map[string]string{
		{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN", "sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";`},
		{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "u", "sasl.password": "p"},
		{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER", "sasl.oauthbearer.token.file": token},
		{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER", "sasl.oauthbearer.token.endpoint.url": "file://" + token},
		{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER", "sasl.jaas.config": `org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="alice";`},
		{"security.protocol": "PLAINTEXT", "client.id": "app"},
	} {
		p := &clientProperties{values: props}
		if opts, _, err := p.securityOpts(); err != nil || len(opts) == 0 {
			t.Errorf("%v: %v (%d options)", props, err, len(opts))
		}
	}
	if jwt := unsecuredJWT("alice", time.Unix(1000, 0)); !strings.HasPrefix(jwt, "eyJhbGciOiJub25lIn0.") || !strings.HasSuffix(jwt, ".") {
		t.Errorf("unsecured token %q", jwt)
	}
}

// Properties samsa does not use are named in a warning; a missing file is
// a usage error.
func TestClientPropertiesFile(t *testing.T) {
	props := writeProps(t, "acks=all", "linger.ms=5", "security.protocol=PLAINTEXT")
	addr := closedAddr(t)
	_, stderr, _ := runCLI(t, "", "-b", addr, "--command-config", props, "topic", "list")
	if !strings.Contains(stderr, "client properties not used by samsa: acks, linger.ms") {
		t.Errorf("warning: %q", stderr)
	}
	_, stderr, code := runCLI(t, "", "-b", addr, "--command-config", "/nonexistent/client.properties", "topic", "list")
	if code != exitUsage || !strings.Contains(stderr, "--command-config") {
		t.Errorf("missing file: %d %q", code, stderr)
	}
	// bootstrap.servers in the file is used when -b and SAMSA_BROKERS are not.
	t.Setenv(brokersEnv, "")
	_, stderr, _ = runCLI(t, "", "--command-config", writeProps(t, "bootstrap.servers="+addr), "topic", "list")
	if !strings.Contains(stderr, addr) {
		t.Errorf("bootstrap.servers ignored: %q", stderr)
	}
	t.Setenv(commandConfigEnv, writeProps(t, "security.protocol=BOGUS"))
	if _, stderr, code := runCLI(t, "", "-b", addr, "topic", "list"); code != exitUsage || !strings.Contains(stderr, "BOGUS") {
		t.Errorf("%s ignored: %d %q", commandConfigEnv, code, stderr)
	}
}
