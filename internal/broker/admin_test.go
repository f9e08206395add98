package broker_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

func TestListOffsetsByTime(t *testing.T) {
	b := brokertest.Start(t, "log.index.interval.bytes", "100", "log.segment.bytes", "2000")
	createTopic(t, b.Addr(), "times", 1, nil)
	cl := newClient(t, b.Addr())
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	for i := 0; i < 50; i++ {
		r := &kgo.Record{Topic: "times", Value: []byte("x"), Timestamp: base.Add(time.Duration(i) * time.Second)}
		if err := cl.ProduceSync(ctxT(t), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	adm := kadm.NewClient(cl)
	for _, c := range []struct {
		at   time.Time
		want int64
	}{
		{base.Add(-time.Minute), 0},
		{base, 0},
		{base.Add(17 * time.Second), 17},
		{base.Add(17*time.Second + time.Millisecond), 18},
		{base.Add(49 * time.Second), 49},
	} {
		lo, err := adm.ListOffsetsAfterMilli(ctxT(t), c.at.UnixMilli(), "times")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := lo.Lookup("times", 0)
		if got.Err != nil || got.Offset != c.want {
			t.Fatalf("offset after %v: got %d (%v), want %d", c.at.Sub(base), got.Offset, got.Err, c.want)
		}
	}
	// After the last timestamp there is no such offset: Kafka answers -1,
	// which kadm reports as the end offset.
	lo, _ := adm.ListOffsetsAfterMilli(ctxT(t), base.Add(time.Hour).UnixMilli(), "times")
	if got, _ := lo.Lookup("times", 0); got.Offset != 50 && got.Offset != -1 {
		t.Fatalf("after the end: %d", got.Offset)
	}
	start, _ := adm.ListStartOffsets(ctxT(t), "times")
	end, _ := adm.ListEndOffsets(ctxT(t), "times")
	if s, _ := start.Lookup("times", 0); s.Offset != 0 {
		t.Fatalf("start %d", s.Offset)
	}
	if e, _ := end.Lookup("times", 0); e.Offset != 50 {
		t.Fatalf("end %d", e.Offset)
	}
	// Max timestamp (-3).
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = "times"
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp = -3
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	p := resp.Topics[0].Partitions[0]
	if p.Offset != 49 || p.Timestamp != base.Add(49*time.Second).UnixMilli() {
		t.Fatalf("max timestamp: offset %d ts %d", p.Offset, p.Timestamp)
	}
}

func TestDeleteRecords(t *testing.T) {
	b := brokertest.Start(t, "log.segment.bytes", "1024")
	createTopic(t, b.Addr(), "del", 1, nil)
	cl := newClient(t, b.Addr(), kgo.ProducerBatchMaxBytes(900))
	produceN(t, cl, "del", 100)
	adm := kadm.NewClient(cl)
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "del", Partition: 0, At: 60})
	res, err := adm.DeleteRecords(ctxT(t), offs)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := res.Lookup("del", 0); r.Err != nil || r.LowWatermark != 60 {
		t.Fatalf("delete records: %+v", r)
	}
	start, _ := adm.ListStartOffsets(ctxT(t), "del")
	if s, _ := start.Lookup("del", 0); s.Offset != 60 {
		t.Fatalf("log start offset %d after deleting below 60", s.Offset)
	}
	// Consuming from the start begins at 60; asking for 10 is out of range.
	got := consumeAll(t, b.Addr(), "del", 40)
	if got[0][0].Offset != 60 {
		t.Fatalf("first record after DeleteRecords: %d", got[0][0].Offset)
	}
	offs = kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "del", Partition: 0, At: 1000})
	res, _ = adm.DeleteRecords(ctxT(t), offs)
	if r, _ := res.Lookup("del", 0); r.Err != kerr.OffsetOutOfRange {
		t.Fatalf("delete beyond the end: %v", r.Err)
	}
	// The new log start offset survives a restart.
	b.Restart()
	start, _ = kadm.NewClient(newClient(t, b.Addr())).ListStartOffsets(ctxT(t), "del")
	if s, _ := start.Lookup("del", 0); s.Offset != 60 {
		t.Fatalf("log start offset after restart %d", s.Offset)
	}
}

func TestTopicAdmin(t *testing.T) {
	b := brokertest.Start(t, "num.partitions", "2")
	cl := newClient(t, b.Addr())
	adm := kadm.NewClient(cl)
	ctx := ctxT(t)

	// Defaults (-1) and configs.
	cr, err := adm.CreateTopic(ctx, -1, -1, map[string]*string{"retention.ms": ptr("60000")}, "admin")
	if err != nil || cr.Err != nil {
		t.Fatal(err, cr.Err)
	}
	if cr.NumPartitions != 2 || cr.ID == [16]byte{} {
		t.Fatalf("created %+v", cr)
	}
	if r, _ := adm.CreateTopic(ctx, 1, 1, nil, "admin"); r.Err != kerr.TopicAlreadyExists {
		t.Fatalf("duplicate create: %v", r.Err)
	}
	if r, _ := adm.CreateTopic(ctx, 1, 3, nil, "rf3"); r.Err != kerr.InvalidReplicationFactor {
		t.Fatalf("replication factor 3 on one broker: %v", r.Err)
	}
	if r, _ := adm.CreateTopic(ctx, 1, 1, map[string]*string{"no.such": ptr("1")}, "badcfg"); r.Err != kerr.InvalidConfig {
		t.Fatalf("unknown config: %v", r.Err)
	}
	vr, _ := adm.ValidateCreateTopics(ctx, 3, 1, nil, "validated")
	if vr.Error() != nil {
		t.Fatal(vr.Error())
	}
	if md, _ := adm.ListTopics(ctx, "validated"); md.Has("validated") && md["validated"].Err == nil {
		t.Fatal("validate-only created the topic")
	}

	// Configs: describe with source, incremental alter, alter.
	rc, err := adm.DescribeTopicConfigs(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := rc.On("admin", nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range cfg.Configs {
		if c.Key == "retention.ms" {
			found = c.MaybeValue() == "60000" && c.Source == kmsg.ConfigSourceDynamicTopicConfig
		}
	}
	if !found {
		t.Fatal("retention.ms override not described as a dynamic topic config")
	}
	ar, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "cleanup.policy", Value: ptr("compact")}, {Op: kadm.DeleteConfig, Name: "retention.ms"}}, "admin")
	if err != nil || ar[0].Err != nil {
		t.Fatal(err, ar)
	}
	rc, _ = adm.DescribeTopicConfigs(ctx, "admin")
	cfg, _ = rc.On("admin", nil)
	for _, c := range cfg.Configs {
		if c.Key == "cleanup.policy" && c.MaybeValue() != "compact" {
			t.Fatalf("cleanup.policy = %q", c.MaybeValue())
		}
		if c.Key == "retention.ms" && c.Source == kmsg.ConfigSourceDynamicTopicConfig {
			t.Fatal("deleted override still there")
		}
	}
	ar, _ = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "segment.bytes", Value: ptr("lots")}}, "admin")
	if ar[0].Err != kerr.InvalidConfig {
		t.Fatalf("bad value: %v", ar[0].Err)
	}
	bc, err := adm.DescribeBrokerConfigs(ctx)
	if err != nil || len(bc) != 1 || bc[0].Err != nil {
		t.Fatal(err, bc)
	}

	// Partitions grow, never shrink.
	if r, err := adm.CreatePartitions(ctx, 3, "admin"); err != nil || r["admin"].Err != nil {
		t.Fatal(err, r)
	}
	if r, _ := adm.UpdatePartitions(ctx, 1, "admin"); r["admin"].Err != kerr.InvalidPartitions {
		t.Fatalf("shrink: %v", r["admin"].Err)
	}
	md, _ := adm.ListTopics(ctx, "admin")
	if len(md["admin"].Partitions) != 5 {
		t.Fatalf("partitions after adding 3: %d", len(md["admin"].Partitions))
	}
	produceN(t, newClient(t, b.Addr()), "admin", 50) // every new partition takes writes

	// Log dirs report sizes.
	ld, err := adm.DescribeAllLogDirs(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	ld.Each(func(d kadm.DescribedLogDir) {
		d.Topics.Each(func(p kadm.DescribedLogDirPartition) { size += p.Size })
	})
	if size == 0 {
		t.Fatal("log dirs report no data")
	}

	// Delete, and the name is free again.
	if r, err := adm.DeleteTopics(ctx, "admin"); err != nil || r["admin"].Err != nil {
		t.Fatal(err, r)
	}
	if r, _ := adm.DeleteTopics(ctx, "admin"); r["admin"].Err != kerr.UnknownTopicOrPartition {
		t.Fatalf("delete twice: %v", r["admin"].Err)
	}
	if r, _ := adm.CreateTopic(ctx, 1, 1, nil, "admin"); r.Err != nil {
		t.Fatal(r.Err)
	}
	b.Restart()
	md, _ = kadm.NewClient(newClient(t, b.Addr())).ListTopics(ctxT(t))
	if !md.Has("admin") || len(md["admin"].Partitions) != 1 {
		t.Fatalf("after restart: %v", md.Names())
	}
}

func TestClusterAndProducers(t *testing.T) {
	b := brokertest.Start(t)
	createTopic(t, b.Addr(), "p", 1, nil)
	cl := newClient(t, b.Addr())
	produceN(t, cl, "p", 5)
	adm := kadm.NewClient(cl)
	meta, err := adm.BrokerMetadata(ctxT(t))
	if err != nil || meta.Cluster == "" || len(meta.Brokers) != 1 || meta.Controller != meta.Brokers[0].NodeID {
		t.Fatalf("cluster %+v %v", meta, err)
	}
	dp, err := adm.DescribeProducers(ctxT(t), kadm.TopicsSet{"p": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	dp.EachProducer(func(p kadm.DescribedProducer) {
		n++
		if p.LastSequence != 4 {
			t.Errorf("producer %d last sequence %d, want 4", p.ProducerID, p.LastSequence)
		}
	})
	if n != 1 {
		t.Fatalf("%d producers described, want 1", n)
	}
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
	rt.Topic = "p"
	rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
	rp.CurrentLeaderEpoch, rp.LeaderEpoch = 0, 0
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.LeaderEpoch != 0 || p.EndOffset != 5 {
		t.Fatalf("offset for leader epoch: %+v", p)
	}
}

// TestOldProtocolVersions drives the broker with versions old clients use
// (names instead of topic ids, pre-flexible encodings).
func TestOldProtocolVersions(t *testing.T) {
	b := brokertest.Start(t)
	old := kgo.MaxVersions(kversion.V2_4_0())
	cl := newClient(t, b.Addr(), old, kgo.DefaultProduceTopic("old"), kgo.AllowAutoTopicCreation())
	// Auto-creation through Metadata (v8 here).
	want := produceN(t, cl, "old", 50)
	checkSame(t, want, consumeAll(t, b.Addr(), "old", 50, old))
	if got := produceRaw(t, newClient(t, b.Addr(), old), "nosuchtopic-by-name", batch(1, -1, -1, -1)); got.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		// produceRaw resolves no id for an unknown topic; v8 uses names.
		t.Fatalf("unknown topic by name: %d", got.ErrorCode)
	}
}

// TestMessageFormatV0V1 has franz-go speak as to a Kafka 0.10 broker:
// Produce v2 with magic 1 message sets (and magic 0 with 0.9's v1), Fetch
// v3/v1, which the broker converts to and from its v2 batches.
func TestMessageFormatV0V1(t *testing.T) {
	b := brokertest.Start(t)
	for name, versions := range map[string]*kversion.Versions{"0.10.2": kversion.V0_10_2(), "0.9.0": kversion.V0_9_0()} {
		t.Run(name, func(t *testing.T) {
			topic := "legacy-" + strings.ReplaceAll(name, ".", "-")
			createTopic(t, b.Addr(), topic, 2, nil)
			old := kgo.MaxVersions(versions)
			cl := newClient(t, b.Addr(), old, kgo.ProducerBatchCompression(kgo.GzipCompression(), kgo.NoCompression()))
			var recs []*kgo.Record
			for i := 0; i < 40; i++ {
				recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprint("k", i%5)), Value: []byte(fmt.Sprint("v", i))})
			}
			res := cl.ProduceSync(ctxT(t), recs...)
			if err := res.FirstErr(); err != nil {
				t.Fatal(err)
			}
			want := map[int32][]*kgo.Record{}
			for _, r := range res {
				want[r.Record.Partition] = append(want[r.Record.Partition], r.Record)
			}
			got := consumeAll(t, b.Addr(), topic, 40, old)
			for p, ws := range want {
				if len(got[p]) != len(ws) {
					t.Fatalf("partition %d: %d back of %d", p, len(got[p]), len(ws))
				}
				for i, w := range ws {
					g := got[p][i]
					if g.Offset != int64(i) || string(g.Key) != string(w.Key) || string(g.Value) != string(w.Value) {
						t.Fatalf("partition %d #%d: %d %s=%s", p, i, g.Offset, g.Key, g.Value)
					}
				}
			}
			// A modern client reads what the old one wrote.
			if n := len(consumeAll(t, b.Addr(), topic, 40)); n != len(want) {
				t.Fatalf("modern consumer: %d partitions", n)
			}
		})
	}
}
