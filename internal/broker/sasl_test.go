package broker_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// startSASL runs a broker with a PLAINTEXT listener (for setup) and a
// SASL_PLAINTEXT one offering PLAIN (alice from the JAAS configuration)
// and both SCRAM mechanisms.
func startSASL(t *testing.T, extra ...string) *brokertest.Broker {
	props := append([]string{
		"listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config",
		`org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_alice="alice-secret";`,
	}, extra...)
	return brokertest.Start(t, props...)
}

func saslClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RetryTimeout(3 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func TestSASLPlainAndScram(t *testing.T) {
	b := startSASL(t)
	saslAddr := b.ListenerAddr("SASL_PLAINTEXT")
	admin := kadm.NewClient(newClient(t, b.Addr()))
	// SCRAM users, through AlterUserScramCredentials.
	res, err := admin.AlterUserSCRAMs(ctxT(t), nil, []kadm.UpsertSCRAM{
		{User: "bob", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "bob-secret"},
		{User: "carol", Mechanism: kadm.ScramSha512, Iterations: 8192, Password: "carol-secret"},
	})
	if err != nil || res.Error() != nil {
		t.Fatalf("alter scram: %v %v %+v", err, res.Error(), res)
	}
	desc, err := admin.DescribeUserSCRAMs(ctxT(t))
	if err != nil || len(desc) != 2 || desc["carol"].CredInfos[0].Iterations != 8192 {
		t.Fatalf("describe scram: %v %+v", err, desc)
	}
	createTopic(t, b.Addr(), "sasl", 1, nil)

	good := map[string]kgo.Opt{
		"PLAIN":         kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()),
		"SCRAM-SHA-256": kgo.SASL(scram.Auth{User: "bob", Pass: "bob-secret"}.AsSha256Mechanism()),
		"SCRAM-SHA-512": kgo.SASL(scram.Auth{User: "carol", Pass: "carol-secret"}.AsSha512Mechanism()),
	}
	for name, opt := range good {
		cl := saslClient(t, saslAddr, opt, kgo.DefaultProduceTopic("sasl"))
		if err := cl.ProduceSync(ctxT(t), &kgo.Record{Value: []byte(name)}).FirstErr(); err != nil {
			t.Errorf("%s: produce: %v", name, err)
		}
	}
	bad := map[string]kgo.Opt{
		"PLAIN wrong password":  kgo.SASL(plain.Auth{User: "alice", Pass: "nope"}.AsMechanism()),
		"PLAIN unknown user":    kgo.SASL(plain.Auth{User: "mallory", Pass: "alice-secret"}.AsMechanism()),
		"SCRAM wrong password":  kgo.SASL(scram.Auth{User: "bob", Pass: "nope"}.AsSha256Mechanism()),
		"SCRAM unknown user":    kgo.SASL(scram.Auth{User: "mallory", Pass: "x"}.AsSha256Mechanism()),
		"SCRAM other mechanism": kgo.SASL(scram.Auth{User: "bob", Pass: "bob-secret"}.AsSha512Mechanism()),
	}
	for name, opt := range bad {
		cl := saslClient(t, saslAddr, opt)
		err := cl.Ping(ctxT(t))
		if err == nil || !errors.Is(err, kerr.SaslAuthenticationFailed) {
			t.Errorf("%s: %v, want SASL_AUTHENTICATION_FAILED", name, err)
		}
	}
	// Deleting bob's credential ends bob's logins.
	if res, err := admin.AlterUserSCRAMs(ctxT(t), []kadm.DeleteSCRAM{{User: "bob", Mechanism: kadm.ScramSha256}}, nil); err != nil || res.Error() != nil {
		t.Fatalf("delete scram: %v %v", err, res.Error())
	}
	if err := saslClient(t, saslAddr, good["SCRAM-SHA-256"]).Ping(ctxT(t)); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Errorf("deleted credential: %v", err)
	}
	if res, err := admin.AlterUserSCRAMs(ctxT(t), []kadm.DeleteSCRAM{{User: "bob", Mechanism: kadm.ScramSha256}}, nil); err != nil || !errors.Is(res.Error(), kerr.ResourceNotFound) {
		t.Errorf("deleting it again: %v %v", err, res.Error())
	}
}

// A client that sends anything but ApiVersions and the SASL requests
// before authenticating is disconnected, as Kafka does.
func TestSASLRequiresAuthentication(t *testing.T) {
	b := startSASL(t)
	conn, err := net.Dial("tcp", b.ListenerAddr("SASL_PLAINTEXT"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	conn.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("x")).AppendRequest(nil, req, 1))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var buf [4]byte
	if _, err := conn.Read(buf[:]); err == nil {
		t.Fatal("Metadata before authentication was answered")
	}
	// A client without SASL settings gets nothing it can use either.
	cl := saslClient(t, b.ListenerAddr("SASL_PLAINTEXT"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := cl.Ping(ctx); err == nil {
		t.Fatal("an unauthenticated client was served")
	}
	// SaslHandshake on a PLAINTEXT listener is ILLEGAL_SASL_STATE.
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Mechanism = "PLAIN"
	r := request[*kmsg.SASLHandshakeResponse](t, newClient(t, b.Addr()), hs, 1)
	if r.ErrorCode != kerr.IllegalSaslState.Code {
		t.Fatalf("handshake on PLAINTEXT: %d", r.ErrorCode)
	}
}

// Passwords and JAAS configurations never leave the broker: DescribeConfigs
// marks them sensitive with no value, as Kafka does.
func TestSensitiveConfigsHidden(t *testing.T) {
	b := startSASL(t, "sasl.jaas.config", `org.apache.kafka.common.security.plain.PlainLoginModule required user_x="very-secret";`,
		"ssl.keystore.password", "very-secret")
	rs, err := kadm.NewClient(newClient(t, b.Addr())).DescribeBrokerConfigs(ctxT(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, r := range rs {
		for _, c := range r.Configs {
			if c.Value != nil && strings.Contains(*c.Value, "very-secret") {
				t.Errorf("%s shows its secret", c.Key)
			}
			if c.Key == "sasl.jaas.config" || c.Key == "ssl.keystore.password" {
				seen++
				if !c.Sensitive || c.Value != nil {
					t.Errorf("%s: sensitive %v value %v", c.Key, c.Sensitive, c.Value)
				}
			}
		}
	}
	if seen != 2 {
		t.Fatalf("found %d of the 2 sensitive settings", seen)
	}
}

// SaslHandshake v0 (kafka-python 2.0.2, old librdkafka): the tokens follow
// as bare length-prefixed frames; once authenticated, Kafka requests are
// served. A wrong password closes the connection after the refusal delay.
func TestSASLHandshakeV0BareTokens(t *testing.T) {
	b := startSASL(t)
	addr := b.ListenerAddr("SASL_PLAINTEXT")
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("old"))
	readFrame := func(c net.Conn) ([]byte, error) {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var sz [4]byte
		if _, err := io.ReadFull(c, sz[:]); err != nil {
			return nil, err
		}
		buf := make([]byte, binary.BigEndian.Uint32(sz[:]))
		_, err := io.ReadFull(c, buf)
		return buf, err
	}
	login := func(pass string) (net.Conn, error) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		hs := kmsg.NewPtrSASLHandshakeRequest()
		hs.Version, hs.Mechanism = 0, "PLAIN"
		c.Write(f.AppendRequest(nil, hs, 1))
		body, err := readFrame(c)
		if err != nil {
			return c, err
		}
		resp := hs.ResponseKind().(*kmsg.SASLHandshakeResponse)
		if err := resp.ReadFrom(body[4:]); err != nil || resp.ErrorCode != 0 {
			t.Fatalf("handshake v0: %v %d", err, resp.ErrorCode)
		}
		token := []byte("\x00alice\x00" + pass)
		c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(token))), token...))
		_, err = readFrame(c)
		return c, err
	}
	c, err := login("alice-secret")
	if err != nil {
		t.Fatalf("bare PLAIN token: %v", err)
	}
	md := kmsg.NewPtrMetadataRequest()
	md.Version = 1
	c.Write(f.AppendRequest(nil, md, 2))
	if body, err := readFrame(c); err != nil || len(body) < 8 {
		t.Fatalf("Metadata after a v0 login: %v", err)
	}
	c.Close()
	start := time.Now()
	c, err = login("wrong")
	if err == nil {
		// The bare answer to a refusal is empty; the close follows.
		_, err = readFrame(c)
	}
	if err == nil {
		t.Fatal("a wrong bare password was accepted")
	}
	if time.Since(start) < 80*time.Millisecond {
		t.Errorf("closed after %v, before connection.failed.authentication.delay.ms", time.Since(start))
	}
	c.Close()
}
