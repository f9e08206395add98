package broker_test

import (
	"io"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// The broker-wide connection limits are dynamic broker configs: lowered
// with IncrementalAlterConfigs (the cluster-wide default, then this
// node's), new connections wait or are refused as with the static limit;
// raised, they come in; DescribeConfigs shows where each value comes from.
// The admin client talks to the inter-broker listener, which the
// broker-wide max.connections does not count.
func TestDynamicConnectionLimits(t *testing.T) {
	b := brokertest.Start(t,
		"listeners", "PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0",
		"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"inter.broker.listener.name", "INTERNAL")
	plain := b.ListenerAddr("PLAINTEXT")
	adm := kadm.NewClient(newClient(t, b.ListenerAddr("INTERNAL")))
	meta, err := adm.BrokerMetadata(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	node := meta.Brokers[0].NodeID
	alter := func(name string, value *string, nodes ...int32) {
		t.Helper()
		op := kadm.SetConfig
		if value == nil {
			op = kadm.DeleteConfig
		}
		rs, err := adm.AlterBrokerConfigs(ctxT(t), []kadm.AlterConfig{{Op: op, Name: name, Value: value}}, nodes...)
		if err != nil || rs[0].Err != nil {
			t.Fatalf("alter %s: %v %v", name, err, rs)
		}
	}
	describe := func(name string, nodes ...int32) (string, kmsg.ConfigSource) {
		t.Helper()
		rs, err := adm.DescribeBrokerConfigs(ctxT(t), nodes...)
		if err != nil || rs[0].Err != nil {
			t.Fatal(err, rs)
		}
		for _, c := range rs[0].Configs {
			if c.Key == name {
				return c.MaybeValue(), c.Source
			}
		}
		t.Fatalf("DescribeConfigs has no %s", name)
		return "", 0
	}

	// max.connections lowered to 2 for the cluster: with c1, c2 and the
	// admin client's connections open (the inter-broker listener's count
	// too, though they are not held to the limit), a third connection
	// waits in the backlog.
	c1, c2 := dial(t, plain), dial(t, plain)
	if !apiVersions(t, c1, 1, 5*time.Second) || !apiVersions(t, c2, 1, 5*time.Second) {
		t.Fatal("connections not served before any limit")
	}
	alter("max.connections", ptr("2"))
	if v, src := describe("max.connections"); v != "2" || src != kmsg.ConfigSourceDynamicDefaultBrokerConfig {
		t.Fatalf("max.connections described as %s from %v", v, src)
	}
	c3 := dial(t, plain)
	if apiVersions(t, c3, 1, 500*time.Millisecond) {
		t.Fatal("a third connection was served over a max.connections lowered to 2")
	}
	// Raised on this node (which wins over the cluster default): the
	// waiting connection is accepted and answered without a restart.
	alter("max.connections", ptr("100"), node)
	if v, src := describe("max.connections", node); v != "100" || src != kmsg.ConfigSourceDynamicBrokerConfig {
		t.Fatalf("max.connections described as %s from %v", v, src)
	}
	var size [4]byte
	c3.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c3, size[:]); err != nil {
		t.Fatalf("the waiting connection was not served once max.connections was raised: %v", err)
	}
	// Lowered again on the node: the next one waits.
	alter("max.connections", ptr("3"), node)
	c4 := dial(t, plain)
	if apiVersions(t, c4, 1, 500*time.Millisecond) {
		t.Fatal("a fourth connection was served over max.connections=3")
	}
	// Deleting both puts the static value (unlimited) back in force.
	alter("max.connections", nil, node)
	alter("max.connections", nil)
	c4.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c4, size[:]); err != nil {
		t.Fatalf("the waiting connection was not served once max.connections was deleted: %v", err)
	}
	if v, src := describe("max.connections"); v != "2147483647" || src != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("max.connections after deleting: %s from %v", v, src)
	}

	// A listener's own limit, set on the node: PLAINTEXT (4 connections
	// open) at 4 makes the next one wait; deleted, it is served.
	alter("listener.name.plaintext.max.connections", ptr("4"), node)
	if v, src := describe("listener.name.plaintext.max.connections", node); v != "4" || src != kmsg.ConfigSourceDynamicBrokerConfig {
		t.Fatalf("listener.name.plaintext.max.connections described as %q from %v", v, src)
	}
	c5 := dial(t, plain)
	if apiVersions(t, c5, 1, 500*time.Millisecond) {
		t.Fatal("a fifth connection was served over listener.name.plaintext.max.connections=4")
	}
	alter("listener.name.plaintext.max.connections", nil, node)
	c5.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c5, size[:]); err != nil {
		t.Fatalf("the waiting connection was not served once the listener's limit was deleted: %v", err)
	}
	rs, err := adm.AlterBrokerConfigs(ctxT(t), []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "listener.name.plaintext.ssl.keystore.location", Value: ptr("/x")}})
	if err != nil || rs[0].Err != kerr.InvalidConfig {
		t.Fatalf("a listener's TLS setting changed at run time: %v %v, want INVALID_CONFIG", err, rs)
	}

	// max.connections.per.ip: the address already has 5 connections; at 5,
	// one more is closed at once; an override for the address lets it in.
	alter("max.connections.per.ip", ptr("5"))
	if apiVersions(t, dial(t, plain), 1, 2*time.Second) {
		t.Fatal("a connection over a max.connections.per.ip lowered to 5 was served")
	}
	alter("max.connections.per.ip.overrides", ptr("127.0.0.1:50"))
	if v, _ := describe("max.connections.per.ip.overrides"); v != "127.0.0.1:50" {
		t.Fatalf("max.connections.per.ip.overrides described as %q", v)
	}
	if !apiVersions(t, dial(t, plain), 1, 5*time.Second) {
		t.Fatal("a connection within the address's override was not served")
	}
	// A bad override is refused and the one in force stays.
	rs, err = adm.AlterBrokerConfigs(ctxT(t), []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "max.connections.per.ip.overrides", Value: ptr("localhost:5")}})
	if err != nil || rs[0].Err != kerr.InvalidConfig {
		t.Fatalf("a host name in max.connections.per.ip.overrides: %v %v, want INVALID_CONFIG", err, rs)
	}
	if !apiVersions(t, dial(t, plain), 1, 5*time.Second) {
		t.Fatal("the override in force was lost")
	}

	// max.connection.creation.rate: at 1 a second (measured over 10 s of
	// windows), a burst of new connections is slowed to about that rate.
	alter("max.connection.creation.rate", ptr("1"))
	alter("max.connections.per.ip.overrides", ptr("127.0.0.1:1000"))
	start := time.Now()
	for i := 0; i < 14; i++ {
		if !apiVersions(t, dial(t, plain), 1, 10*time.Second) {
			t.Fatalf("connection %d not served under the creation rate", i)
		}
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Fatalf("14 new connections at max.connection.creation.rate=1 took %v: not slowed", took)
	}
	alter("max.connection.creation.rate", nil)
	start = time.Now()
	for i := 0; i < 20; i++ {
		if !apiVersions(t, dial(t, plain), 1, 5*time.Second) {
			t.Fatalf("connection %d not served", i)
		}
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("20 new connections took %v once the creation rate was deleted", took)
	}
}
