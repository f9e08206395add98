package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// nodeCerts writes a CA (ca.pem) and one certificate for 127.0.0.1 that
// every node uses as server and client (node.pem: key and chain), and
// returns their paths and the CA pool.
func nodeCerts(t *testing.T) (nodePEM, caPEM string, pool *x509.CertPool) {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(30 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	caText := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	node := slices.Concat(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), caText)
	nodePEM, caPEM = filepath.Join(dir, "node.pem"), filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(nodePEM, node, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caPEM, caText, 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	return nodePEM, caPEM, pool
}

func loopbackAddrs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		out = append(out, ln.Addr().String())
	}
	return out
}

// secureCluster starts three nodes whose only broker listener is
// INTERNAL (SASL_SSL, PLAIN), also the inter-broker listener, with an SSL
// controller listener that wants client certificates, and ACLs on:
// brokers are User:broker, the test's clients User:admin, both super
// users. brokerPassword(id) is the password node id uses towards the
// others (the users' list is right on every node).
func secureCluster(t *testing.T, brokerPassword func(id int) string, props ...string) ([]*brokertest.Broker, *x509.CertPool, func(id int, extra ...string) []string) {
	t.Helper()
	nodePEM, caPEM, pool := nodeCerts(t)
	ctl := loopbackAddrs(t, 3)
	var voters []string
	for i, a := range ctl {
		voters = append(voters, fmt.Sprintf("%d@%s", i+1, a))
	}
	propsFor := func(i int, extra ...string) []string {
		listeners := "INTERNAL://127.0.0.1:0"
		if i <= len(ctl) {
			listeners += ",CONTROLLER://" + ctl[i-1]
		}
		p := []string{
			"node.id", fmt.Sprint(i), "cluster.id", "samsa-secure-cluster",
			"controller.quorum.voters", strings.Join(voters, ","),
			"controller.quorum.election.timeout.ms", "500",
			"listeners", listeners,
			"listener.security.protocol.map", "INTERNAL:SASL_SSL,CONTROLLER:SSL",
			"controller.listener.names", "CONTROLLER",
			"inter.broker.listener.name", "INTERNAL",
			"ssl.keystore.type", "PEM", "ssl.keystore.location", nodePEM,
			"ssl.truststore.type", "PEM", "ssl.truststore.location", caPEM,
			"listener.name.controller.ssl.client.auth", "required",
			"sasl.enabled.mechanisms", "PLAIN",
			"sasl.mechanism.inter.broker.protocol", "PLAIN",
			"listener.name.internal.plain.sasl.jaas.config", fmt.Sprintf(`org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password=%q user_broker="broker-secret" user_admin="admin-secret";`, brokerPassword(i)),
			"authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
			"super.users", "User:broker;User:admin",
			"offsets.topic.replication.factor", "3",
			"transaction.state.log.replication.factor", "3",
			"replica.lag.time.max.ms", "3000",
		}
		return slices.Concat(p, props, extra)
	}
	var nodes []*brokertest.Broker
	for i := 1; i <= 3; i++ {
		nodes = append(nodes, brokertest.Start(t, propsFor(i)...))
	}
	return nodes, pool, propsFor
}

// adminClient is User:admin on the nodes' SASL_SSL listener.
func secureClient(t *testing.T, pool *x509.CertPool, nodes []*brokertest.Broker, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	var seeds []string
	for _, n := range nodes {
		if n.Running() {
			seeds = append(seeds, n.Addr())
		}
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...),
		kgo.DialTLSConfig(&tls.Config{RootCAs: pool}),
		kgo.SASL(plain.Auth{User: "admin", Pass: "admin-secret"}.AsMechanism()),
		kgo.RetryTimeout(30 * time.Second), kgo.MetadataMinAge(10 * time.Millisecond), kgo.MetadataMaxAge(time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// TestSecureInterBrokerCluster: brokers replicate, send transaction
// markers and fail over over a SASL_SSL inter-broker listener, and the
// quorum runs over an mTLS controller listener (a broker-only node joins
// through it), with ACLs on and the
// brokers' principal a super user. If the brokers were not authenticated
// (User:ANONYMOUS) their Fetch and WriteTxnMarkers would be refused.
func TestSecureInterBrokerCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	nodes, pool, propsFor := secureCluster(t, func(int) string { return "broker-secret" })
	// A broker-only node joins through the SSL controller listener (it
	// has none of its own: the protocol map says how to reach them).
	nodes = append(nodes, brokertest.Start(t, propsFor(4, "process.roles", "broker")...))
	adm := kadm.NewClient(secureClient(t, pool, nodes))
	waitFor(t, "four unfenced brokers", func() bool {
		for _, n := range nodes {
			if n.UnfencedBrokers() != 4 {
				return false
			}
		}
		return true
	})
	minISR := "2"
	resp, err := adm.CreateTopic(ctxFor(t, 20*time.Second), 3, 3, map[string]*string{"min.insync.replicas": &minISR}, "secure")
	if err != nil || resp.Err != nil {
		t.Fatalf("create: %v %v", err, resp.Err)
	}

	// acks=all: answered once both followers copied each record over
	// SASL_SSL, as User:broker.
	prod := secureClient(t, pool, nodes, kgo.DefaultProduceTopic("secure"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	const n = 300
	for i := 0; i < n; i++ {
		if err := prod.ProduceSync(ctxFor(t, 30*time.Second), &kgo.Record{Value: []byte(fmt.Sprintf("v%04d", i))}).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	waitFor(t, "every replica in sync", func() bool {
		td, err := adm.ListTopics(ctxFor(t, 5*time.Second), "secure")
		if err != nil {
			return false
		}
		for _, p := range td["secure"].Partitions {
			if len(p.ISR) != 3 {
				return false
			}
		}
		return len(td["secure"].Partitions) == 3
	})

	// A transaction over the three partitions: its coordinator writes the
	// markers on the other leaders over the inter-broker listener.
	txp := secureClient(t, pool, nodes, kgo.DefaultProduceTopic("secure"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.TransactionalID("secure-txn"))
	if err := txp.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		if err := txp.ProduceSync(ctxFor(t, 30*time.Second), &kgo.Record{Value: []byte(fmt.Sprintf("t%04d", i))}).FirstErr(); err != nil {
			t.Fatalf("transactional produce %d: %v", i, err)
		}
	}
	if err := txp.EndTransaction(ctxFor(t, 30*time.Second), kgo.TryCommit); err != nil {
		t.Fatalf("commit: %v", err)
	}

	// The markers are on every partition (the coordinator wrote those of
	// partitions other brokers lead over the inter-broker listener), and
	// below the high watermark: a read_committed consumer gets it all.
	consumeAll := func(what string) {
		t.Helper()
		cons := secureClient(t, pool, nodes, kgo.ConsumeTopics("secure"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		defer cons.Close()
		seen := map[string]bool{}
		ctx := ctxFor(t, 30*time.Second)
		for len(seen) < n+30 {
			fs := cons.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("%s: consumed %d of %d records", what, len(seen), n+30)
			}
			fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
		}
	}
	consumeAll("read_committed")

	// Stop the leader of partition 0: a follower that copied everything
	// over the secure listener leads, and a read_committed consumer gets
	// every record of the topic, committed markers included.
	var leader int32 = -1
	waitFor(t, "partition 0's leader", func() bool {
		td, err := adm.ListTopics(ctxFor(t, 5*time.Second), "secure")
		if err == nil {
			leader = td["secure"].Partitions[0].Leader
		}
		return err == nil && leader > 0
	})
	nodes[leader-1].Stop()
	waitFor(t, "a new leader of partition 0", func() bool {
		td, err := adm.ListTopics(ctxFor(t, 5*time.Second), "secure")
		if err != nil {
			return false
		}
		l := td["secure"].Partitions[0].Leader
		return l > 0 && l != leader
	})
	consumeAll(fmt.Sprintf("after the leader of partition 0 (node %d) stopped", leader))
}

// TestInterBrokerWrongPassword: a broker whose inter-broker password is
// wrong cannot replicate: the leaders refuse its fetchers and drop it
// from their ISRs, and nothing works by falling back on an anonymous
// connection.
func TestInterBrokerWrongPassword(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	nodes, pool, _ := secureCluster(t, func(id int) string {
		if id == 3 {
			return "not-the-password"
		}
		return "broker-secret"
	})
	adm := kadm.NewClient(secureClient(t, pool, nodes))
	waitFor(t, "three unfenced brokers", func() bool {
		for _, n := range nodes {
			if n.UnfencedBrokers() != 3 {
				return false
			}
		}
		return true
	})
	resp, err := adm.CreateTopic(ctxFor(t, 20*time.Second), 3, 3, nil, "refused")
	if err != nil || resp.Err != nil {
		t.Fatalf("create: %v %v", err, resp.Err)
	}
	prod := secureClient(t, pool, nodes, kgo.DefaultProduceTopic("refused"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	for i := 0; i < 30; i++ {
		if err := prod.ProduceSync(ctxFor(t, 30*time.Second), &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	// Node 3 follows every partition led by 1 or 2 and copies nothing:
	// it leaves their ISRs after replica.lag.time.max.ms; node 1 and 2
	// stay in sync with each other, and with node 3's partitions.
	deadline := time.Now().Add(30 * time.Second)
	for {
		td, err := adm.ListTopics(ctxFor(t, 5*time.Second), "refused")
		done := err == nil
		var state []string
		for _, p := range td["refused"].Partitions {
			state = append(state, fmt.Sprintf("p%d leader %d isr %v", p.Partition, p.Leader, p.ISR))
			switch {
			case p.Leader != 3 && slices.Contains(p.ISR, 3):
				done = false // not dropped yet
			case p.Leader == 3 && len(p.ISR) != 3:
				done = false // 1 and 2 authenticate to node 3
			case p.Leader != 3 && len(p.ISR) != 2:
				done = false
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 3 still in the ISR of partitions it cannot fetch: %v (%v)", state, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
