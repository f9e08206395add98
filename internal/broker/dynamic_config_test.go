package broker_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// TestDynamicBrokerConfigs: broker settings changed with AlterConfigs are
// described as dynamic, take effect without a restart, survive a restart,
// and read-only or unknown settings are refused.
func TestDynamicBrokerConfigs(t *testing.T) {
	b := brokertest.Start(t)
	adm := kadm.NewClient(newClient(t, b.Addr()))
	ctx := ctxT(t)
	alter := func(op kadm.IncrementalOp, name, value string) error {
		t.Helper()
		rs, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: op, Name: name, Value: ptr(value)}})
		if err != nil {
			t.Fatal(err)
		}
		return rs[0].Err
	}
	if err := alter(kadm.SetConfig, "num.partitions", "4"); err != nil {
		t.Fatal(err)
	}
	if err := alter(kadm.SetConfig, "log.retention.ms", "123456"); err != nil {
		t.Fatal(err)
	}
	if err := alter(kadm.SetConfig, "log.dirs", "/elsewhere"); err != kerr.InvalidRequest {
		t.Fatalf("read-only setting: %v, want INVALID_REQUEST", err)
	}
	if err := alter(kadm.SetConfig, "no.such.setting", "1"); err != kerr.InvalidConfig {
		t.Fatalf("unknown setting: %v, want INVALID_CONFIG", err)
	}
	if err := alter(kadm.SetConfig, "num.partitions", "many"); err != kerr.InvalidConfig {
		t.Fatalf("bad value: %v, want INVALID_CONFIG", err)
	}

	check := func(addr, name string) {
		t.Helper()
		cl := newClient(t, addr, kgo.AllowAutoTopicCreation())
		adm := kadm.NewClient(cl)
		bc, err := adm.DescribeBrokerConfigs(ctxT(t))
		if err != nil || bc[0].Err != nil {
			t.Fatal(err, bc)
		}
		found := false
		for _, c := range bc[0].Configs {
			if c.Key == "num.partitions" {
				// kadm alters the cluster-wide default (resource "").
				found = c.MaybeValue() == "4" && c.Source == kmsg.ConfigSourceDynamicDefaultBrokerConfig
			}
		}
		if !found {
			t.Fatal("num.partitions not described as a dynamic broker config of 4")
		}
		// A new topic inherits the dynamic default, and its retention.ms
		// says where it comes from.
		if err := cl.ProduceSync(ctxT(t), &kgo.Record{Topic: name, Value: []byte("x")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		md, _ := adm.ListTopics(ctxT(t), name)
		if n := len(md[name].Partitions); n != 4 {
			t.Fatalf("auto-created topic has %d partitions, want 4", n)
		}
		rc, _ := adm.DescribeTopicConfigs(ctxT(t), name)
		cfg, _ := rc.On(name, nil)
		for _, c := range cfg.Configs {
			if c.Key == "retention.ms" && (c.MaybeValue() != "123456" || c.Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig) {
				t.Fatalf("retention.ms = %s from %v", c.MaybeValue(), c.Source)
			}
		}
	}
	check(b.Addr(), "auto-before")
	b.Restart()
	check(b.Addr(), "auto-after")

	// This node's own setting wins over the cluster-wide default.
	adm = kadm.NewClient(newClient(t, b.Addr()))
	meta, _ := adm.BrokerMetadata(ctxT(t))
	rs, err := adm.AlterBrokerConfigs(ctxT(t), []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "num.partitions", Value: ptr("6")}}, meta.Brokers[0].NodeID)
	if err != nil || rs[0].Err != nil {
		t.Fatal(err, rs)
	}
	bc, _ := adm.DescribeBrokerConfigs(ctxT(t), meta.Brokers[0].NodeID)
	for _, c := range bc[0].Configs {
		if c.Key == "num.partitions" && (c.MaybeValue() != "6" || c.Source != kmsg.ConfigSourceDynamicBrokerConfig) {
			t.Fatalf("node setting: num.partitions = %s from %v", c.MaybeValue(), c.Source)
		}
	}
}
