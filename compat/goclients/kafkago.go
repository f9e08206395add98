package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
)

// segmentio/kafka-go: Writer (hash balancer, acks=all) and a Reader with
// Partition set (no group), each codec, the Client admin calls and the
// older Conn-based ones.
var kafkaGoScenarios = map[string]func(string) error{
	"produce-consume":    func(b string) error { return kafkaGoRoundTrip(b, "kgo-roundtrip", 0) },
	"compression-gzip":   func(b string) error { return kafkaGoRoundTrip(b, "kgo-gzip", compress.Gzip) },
	"compression-snappy": func(b string) error { return kafkaGoRoundTrip(b, "kgo-snappy", compress.Snappy) },
	"compression-lz4":    func(b string) error { return kafkaGoRoundTrip(b, "kgo-lz4", compress.Lz4) },
	"compression-zstd":   func(b string) error { return kafkaGoRoundTrip(b, "kgo-zstd", compress.Zstd) },
	"client-admin":       kafkaGoClientAdmin,
	"conn-admin":         kafkaGoConnAdmin,
}

func kafkaGoCreate(ctx context.Context, bootstrap, topic string, partitions int, configs ...kafka.ConfigEntry) error {
	c := &kafka.Client{Addr: kafka.TCP(bootstrap), Timeout: 30 * time.Second}
	res, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: topic, NumPartitions: partitions, ReplicationFactor: 1, ConfigEntries: configs,
	}}})
	if err != nil {
		return fmt.Errorf("CreateTopics: %w", err)
	}
	if err := res.Errors[topic]; err != nil {
		return fmt.Errorf("CreateTopics %s: %w", topic, err)
	}
	return nil
}

func kafkaGoRoundTrip(bootstrap, topic string, codec compress.Compression) error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := kafkaGoCreate(ctx, bootstrap, topic, 3); err != nil {
		return err
	}
	w := &kafka.Writer{
		Addr:         kafka.TCP(bootstrap),
		Topic:        topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchSize:    200,
		BatchTimeout: 5 * time.Millisecond,
		Compression:  codec,
	}
	sent := testRecords(3000, "kafka-go")
	for start := 0; start < len(sent); start += 500 {
		msgs := make([]kafka.Message, 0, 500)
		for _, r := range sent[start : start+500] {
			m := kafka.Message{Key: []byte(r.Key), Value: []byte(r.Value)}
			for _, h := range r.Headers {
				m.Headers = append(m.Headers, kafka.Header{Key: h.Key, Value: []byte(h.Value)})
			}
			msgs = append(msgs, m)
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			w.Close()
			return fmt.Errorf("WriteMessages: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("Writer.Close: %w", err)
	}

	client := &kafka.Client{Addr: kafka.TCP(bootstrap), Timeout: 30 * time.Second}
	offs, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
		topic: {kafka.LastOffsetOf(0), kafka.LastOffsetOf(1), kafka.LastOffsetOf(2)},
	}})
	if err != nil {
		return fmt.Errorf("ListOffsets: %w", err)
	}
	ends := map[int]int64{}
	for _, po := range offs.Topics[topic] {
		if po.Error != nil {
			return fmt.Errorf("ListOffsets partition %d: %w", po.Partition, po.Error)
		}
		ends[po.Partition] = po.LastOffset
	}
	got := map[int32][]rec{}
	for p := 0; p < 3; p++ {
		if ends[p] == 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: []string{bootstrap}, Topic: topic, Partition: p, MaxWait: 200 * time.Millisecond,
		})
		if err := r.SetOffset(kafka.FirstOffset); err != nil {
			return fmt.Errorf("SetOffset: %w", err)
		}
		for int64(len(got[int32(p)])) < ends[p] {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				return fmt.Errorf("partition %d: ReadMessage after %d of %d: %w", p, len(got[int32(p)]), ends[p], err)
			}
			rc := rec{Partition: int32(m.Partition), Offset: m.Offset, Key: string(m.Key), Value: string(m.Value)}
			for _, h := range m.Headers {
				rc.Headers = append(rc.Headers, header{h.Key, string(h.Value)})
			}
			got[int32(p)] = append(got[int32(p)], rc)
		}
		r.Close()
	}
	return verify(sent, got)
}

func kafkaGoClientAdmin(bootstrap string) error {
	const topic = "kgo-admin"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := &kafka.Client{Addr: kafka.TCP(bootstrap), Timeout: 30 * time.Second}
	if err := kafkaGoCreate(ctx, bootstrap, topic, 3, kafka.ConfigEntry{ConfigName: "retention.ms", ConfigValue: "3600000"}); err != nil {
		return err
	}
	if err := kafkaGoCreate(ctx, bootstrap, topic, 3); !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("CreateTopics twice: %v, want TopicAlreadyExists", err)
	}
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return fmt.Errorf("Metadata: %w", err)
	}
	if len(md.Brokers) != 1 || md.Controller.ID != md.Brokers[0].ID {
		return fmt.Errorf("Metadata brokers %+v controller %+v", md.Brokers, md.Controller)
	}
	if addr := net.JoinHostPort(md.Brokers[0].Host, strconv.Itoa(md.Brokers[0].Port)); addr != bootstrap {
		return fmt.Errorf("Metadata: broker advertised as %s, want %s", addr, bootstrap)
	}
	if len(md.Topics) != 1 || md.Topics[0].Name != topic || md.Topics[0].Error != nil || len(md.Topics[0].Partitions) != 3 {
		return fmt.Errorf("Metadata topics: %+v", md.Topics)
	}
	id := md.Brokers[0].ID
	for _, p := range md.Topics[0].Partitions {
		if p.Leader.ID != id || len(p.Replicas) != 1 || len(p.Isr) != 1 || p.Isr[0].ID != id {
			return fmt.Errorf("Metadata partition %+v", p)
		}
	}
	dc, err := c.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"retention.ms", "cleanup.policy"},
	}}})
	if err != nil {
		return fmt.Errorf("DescribeConfigs: %w", err)
	}
	cfg := map[string]string{}
	for _, e := range dc.Resources[0].ConfigEntries {
		cfg[e.ConfigName] = e.ConfigValue
	}
	if cfg["retention.ms"] != "3600000" || cfg["cleanup.policy"] != "delete" || len(cfg) != 2 {
		return fmt.Errorf("DescribeConfigs: %v", cfg)
	}
	cp, err := c.CreatePartitions(ctx, &kafka.CreatePartitionsRequest{Topics: []kafka.TopicPartitionsConfig{{Name: topic, Count: 5}}})
	if err != nil || cp.Errors[topic] != nil {
		return fmt.Errorf("CreatePartitions: %v %v", err, cp)
	}
	// kafka-go answers Metadata from its transport cache (MetadataTTL, 6s by
	// default), refreshed after CreateTopics but not after CreatePartitions.
	t0 := time.Now()
	err = eventually(10*time.Second, "5 partitions in Metadata after CreatePartitions(5)", func() (bool, error) {
		md, err = c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
		return err == nil && len(md.Topics) == 1 && len(md.Topics[0].Partitions) == 5, err
	})
	if err != nil {
		return err
	}
	fmt.Printf("Metadata showed 5 partitions %v after CreatePartitions\n", time.Since(t0).Round(time.Millisecond))
	dt, err := c.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{topic}})
	if err != nil || dt.Errors[topic] != nil {
		return fmt.Errorf("DeleteTopics: %v %v", err, dt)
	}
	return eventually(10*time.Second, "topic gone after DeleteTopics", func() (bool, error) {
		md, err := c.Metadata(ctx, &kafka.MetadataRequest{})
		if err != nil {
			return false, err
		}
		for _, t := range md.Topics {
			if t.Name == topic {
				return false, nil
			}
		}
		return true, nil
	})
}

// The Conn API many older programs use: Dial, CreateTopics, ReadPartitions,
// DialLeader, WriteMessages, ReadBatch, DeleteTopics.
func kafkaGoConnAdmin(bootstrap string) error {
	const topic = "kgo-conn"
	conn, err := kafka.Dial("tcp", bootstrap)
	if err != nil {
		return fmt.Errorf("Dial: %w", err)
	}
	defer conn.Close()
	if err := conn.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: 2, ReplicationFactor: 1}); err != nil {
		return fmt.Errorf("Conn.CreateTopics: %w", err)
	}
	var parts []kafka.Partition
	err = eventually(10*time.Second, "ReadPartitions", func() (bool, error) {
		parts, err = conn.ReadPartitions(topic)
		return err == nil && len(parts) == 2, nil
	})
	if err != nil {
		return fmt.Errorf("%w (last: %d partitions)", err, len(parts))
	}
	leader, err := kafka.DialLeader(context.Background(), "tcp", bootstrap, topic, 1)
	if err != nil {
		return fmt.Errorf("DialLeader: %w", err)
	}
	defer leader.Close()
	leader.SetDeadline(time.Now().Add(30 * time.Second))
	for i := 0; i < 5; i++ {
		if _, err := leader.WriteMessages(kafka.Message{Key: []byte("k"), Value: []byte(fmt.Sprint("m", i))}); err != nil {
			return fmt.Errorf("Conn.WriteMessages: %w", err)
		}
	}
	first, last, err := leader.ReadOffsets()
	if err != nil || first != 0 || last != 5 {
		return fmt.Errorf("ReadOffsets: %d..%d, %v, want 0..5", first, last, err)
	}
	if _, err := leader.Seek(2, kafka.SeekAbsolute); err != nil {
		return fmt.Errorf("Seek: %w", err)
	}
	batch := leader.ReadBatch(1, 1<<20)
	var got []string
	for {
		m, err := batch.ReadMessage()
		if err != nil {
			break
		}
		got = append(got, fmt.Sprintf("%d:%s", m.Offset, m.Value))
		if len(got) == 3 {
			break
		}
	}
	batch.Close()
	if fmt.Sprint(got) != "[2:m2 3:m3 4:m4]" {
		return fmt.Errorf("ReadBatch from offset 2: %v", got)
	}
	if err := conn.DeleteTopics(topic); err != nil {
		return fmt.Errorf("Conn.DeleteTopics: %w", err)
	}
	return nil
}
