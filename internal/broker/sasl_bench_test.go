package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// BenchmarkSASLHandshake measures a new connection's login as a client
// sees it (issue 21: "a SCRAM handshake < 5 ms"): a franz-go client
// connects, sends ApiVersions, SaslHandshake and SaslAuthenticate (one
// round for PLAIN, two for SCRAM, the client deriving its salted password
// with 4,096 iterations, Kafka's minimum and kadm's default) and then the
// Ping's Metadata. "plaintext" is the same without SASL, so the login's
// own cost is the difference.
//
//	go test ./internal/broker -run '^$' -bench SASLHandshake -benchtime 200x
func BenchmarkSASLHandshake(b *testing.B) {
	br := brokertest.Start(b,
		"listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config",
		`org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_alice="alice-secret";`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	admin := kadm.NewClient(newClientB(b, br.Addr()))
	res, err := admin.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{
		{User: "bob", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "bob-secret"},
		{User: "carol", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: "carol-secret"},
	})
	if err != nil || res.Error() != nil {
		b.Fatalf("alter scram: %v %v", err, res.Error())
	}
	sasl := br.ListenerAddr("SASL_PLAINTEXT")
	for _, c := range []struct {
		name string
		addr string
		opt  []kgo.Opt
	}{
		{"plaintext", br.Addr(), nil},
		{"PLAIN", sasl, []kgo.Opt{kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism())}},
		{"SCRAM-SHA-256", sasl, []kgo.Opt{kgo.SASL(scram.Auth{User: "bob", Pass: "bob-secret"}.AsSha256Mechanism())}},
		{"SCRAM-SHA-512", sasl, []kgo.Opt{kgo.SASL(scram.Auth{User: "carol", Pass: "carol-secret"}.AsSha512Mechanism())}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.addr)}, c.opt...)...)
				if err != nil {
					b.Fatal(err)
				}
				err = cl.Ping(ctx)
				cl.Close()
				if err != nil {
					b.Fatalf("%s: %v", c.name, err)
				}
			}
		})
	}
}
