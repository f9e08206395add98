package interbroker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/brokertest"
	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/interbroker"
)

// dialerFor is the inter-broker dialer of a node of a cluster whose
// inter-broker listener is SASL_PLAINTEXT with SCRAM-SHA-512, and jaas as
// its JAAS entry.
func dialerFor(t *testing.T, jaas string) (*interbroker.Dialer, error) {
	t.Helper()
	vals := map[string]string{
		"node.id": "1", "cluster.id": "c1", "controller.quorum.voters": "1@127.0.0.1:1,2@127.0.0.1:2",
		"listeners":                      "INTERNAL://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
		"listener.security.protocol.map": "INTERNAL:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
		"inter.broker.listener.name":     "INTERNAL", "sasl.enabled.mechanisms": "SCRAM-SHA-512",
		"sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
	}
	if jaas != "" {
		vals["listener.name.internal.scram-sha-512.sasl.jaas.config"] = jaas
	}
	cfg, err := config.New(vals)
	if err != nil {
		t.Fatal(err)
	}
	return interbroker.New(cfg)
}

// A broker authenticates to another's SASL listener with SCRAM, from its
// JAAS entry, on raw connections (Dial, with the session's end) and
// through franz-go (KgoOpts); a wrong password is ErrAuthentication.
func TestDialSCRAM(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	b := brokertest.Start(t,
		"listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms", "SCRAM-SHA-512", "connections.max.reauth.ms", "60000")
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := kadm.NewClient(cl).AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{
		{User: "broker", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: "broker-secret"}})
	if err != nil || res.Error() != nil {
		t.Fatalf("creating the broker's user: %v %v", err, res.Error())
	}
	addr := b.ListenerAddr("SASL_PLAINTEXT")

	d, err := dialerFor(t, `org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="broker-secret";`)
	if err != nil {
		t.Fatal(err)
	}
	if d.Principal() != "User:broker" || d.Protocol() != config.SASLPlaintext {
		t.Fatalf("dialer %s %s", d.Principal(), d.Protocol())
	}
	c, err := d.Dial(ctx, addr, "test")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.Close()
	if left := time.Until(c.ReauthAt); left <= 0 || left > 60*time.Second {
		t.Fatalf("session renewed in %v, want within the broker's 60 s", left)
	}
	kc, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, d.KgoOpts()...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	if err := kc.Ping(ctx); err != nil {
		t.Fatalf("franz-go with the dialer's options: %v", err)
	}

	wrong, err := dialerFor(t, `org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="nope";`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wrong.Dial(ctx, addr, "test"); !errors.Is(err, interbroker.ErrAuthentication) {
		t.Fatalf("wrong password: %v, want ErrAuthentication", err)
	}
}

// The broker's credentials are checked when the dialer is built.
func TestNewNeedsCredentials(t *testing.T) {
	for _, jaas := range []string{"", `org.apache.kafka.common.security.scram.ScramLoginModule required username="broker";`, "not jaas"} {
		_, err := dialerFor(t, jaas)
		if err == nil || !strings.Contains(err.Error(), "listener.name.internal.scram-sha-512.sasl.jaas.config") {
			t.Errorf("JAAS %q: %v, want an error naming the setting", jaas, err)
		}
	}
}
