package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// sarama: SyncProducer (idempotent) and a PartitionConsumer (no group), at
// sarama's newest protocol version and at its default (Kafka 2.8) one, each
// codec, and the ClusterAdmin calls.
var saramaScenarios = map[string]func(string) error{
	"produce-consume": func(b string) error {
		return saramaRoundTrip(b, "sarama-roundtrip", sarama.MaxVersion, sarama.CompressionNone, true)
	},
	"produce-consume-v2.8": func(b string) error {
		return saramaRoundTrip(b, "sarama-roundtrip-v28", sarama.DefaultVersion, sarama.CompressionNone, false)
	},
	// Message format v1 (Produce v2, Fetch v3, no headers): Kafka 4 dropped
	// these versions, Kafka 3.9 and Samsa still serve them.
	"produce-consume-v0.10": func(b string) error {
		return saramaRoundTrip(b, "sarama-roundtrip-v010", sarama.V0_10_2_0, sarama.CompressionNone, false)
	},
	"produce-consume-v0.10-gzip": func(b string) error {
		return saramaRoundTrip(b, "sarama-roundtrip-v010-gzip", sarama.V0_10_2_0, sarama.CompressionGZIP, false)
	},
	"compression-gzip": func(b string) error {
		return saramaRoundTrip(b, "sarama-gzip", sarama.MaxVersion, sarama.CompressionGZIP, false)
	},
	"compression-snappy": func(b string) error {
		return saramaRoundTrip(b, "sarama-snappy", sarama.MaxVersion, sarama.CompressionSnappy, false)
	},
	"compression-lz4": func(b string) error {
		return saramaRoundTrip(b, "sarama-lz4", sarama.MaxVersion, sarama.CompressionLZ4, false)
	},
	"compression-zstd": func(b string) error {
		return saramaRoundTrip(b, "sarama-zstd", sarama.MaxVersion, sarama.CompressionZSTD, false)
	},
	"admin": saramaAdmin,
}

func saramaConfig(version sarama.KafkaVersion) *sarama.Config {
	c := sarama.NewConfig()
	c.ClientID = "samsa-compat"
	c.Version = version
	c.Net.DialTimeout = 10 * time.Second
	c.Admin.Timeout = 30 * time.Second
	if saramaSecurity != nil {
		saramaSecurity(c)
	}
	return c
}

func saramaRoundTrip(bootstrap, topic string, version sarama.KafkaVersion, codec sarama.CompressionCodec, idempotent bool) error {
	admin, err := sarama.NewClusterAdmin([]string{bootstrap}, saramaConfig(version))
	if err != nil {
		return fmt.Errorf("NewClusterAdmin: %w", err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1}, false); err != nil {
		return fmt.Errorf("CreateTopic: %w", err)
	}

	pc := saramaConfig(version)
	pc.Producer.Return.Successes = true
	pc.Producer.RequiredAcks = sarama.WaitForAll
	pc.Producer.Compression = codec
	pc.Producer.Partitioner = sarama.NewHashPartitioner
	pc.Producer.Flush.Frequency = 5 * time.Millisecond
	if idempotent {
		pc.Producer.Idempotent = true
		pc.Net.MaxOpenRequests = 1
	}
	producer, err := sarama.NewSyncProducer([]string{bootstrap}, pc)
	if err != nil {
		return fmt.Errorf("NewSyncProducer: %w", err)
	}
	sent := testRecords(3000, "sarama")
	if !version.IsAtLeast(sarama.V0_11_0_0) {
		for i := range sent {
			sent[i].Headers = nil
		}
	}
	for start := 0; start < len(sent); start += 250 {
		msgs := make([]*sarama.ProducerMessage, 0, 250)
		for i := start; i < start+250; i++ {
			r := sent[i]
			m := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(r.Key), Value: sarama.StringEncoder(r.Value)}
			for _, h := range r.Headers {
				m.Headers = append(m.Headers, sarama.RecordHeader{Key: []byte(h.Key), Value: []byte(h.Value)})
			}
			msgs = append(msgs, m)
		}
		if err := producer.SendMessages(msgs); err != nil {
			producer.Close()
			return fmt.Errorf("SendMessages: %w", err)
		}
		for i, m := range msgs {
			sent[start+i].Partition, sent[start+i].Offset = m.Partition, m.Offset
		}
	}
	if err := producer.Close(); err != nil {
		return fmt.Errorf("producer Close: %w", err)
	}

	consumer, err := sarama.NewConsumer([]string{bootstrap}, saramaConfig(version))
	if err != nil {
		return fmt.Errorf("NewConsumer: %w", err)
	}
	defer consumer.Close()
	client, err := sarama.NewClient([]string{bootstrap}, saramaConfig(version))
	if err != nil {
		return fmt.Errorf("NewClient: %w", err)
	}
	defer client.Close()
	got := map[int32][]rec{}
	for p := int32(0); p < 3; p++ {
		hw, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return fmt.Errorf("GetOffset(%d, newest): %w", p, err)
		}
		if hw == 0 {
			continue
		}
		part, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			return fmt.Errorf("ConsumePartition(%d): %w", p, err)
		}
		timeout := time.After(30 * time.Second)
		for int64(len(got[p])) < hw {
			select {
			case m := <-part.Messages():
				r := rec{Partition: m.Partition, Offset: m.Offset, Key: string(m.Key), Value: string(m.Value)}
				for _, h := range m.Headers {
					r.Headers = append(r.Headers, header{string(h.Key), string(h.Value)})
				}
				got[p] = append(got[p], r)
			case err := <-part.Errors():
				part.Close()
				return fmt.Errorf("partition %d: %w", p, err)
			case <-timeout:
				part.Close()
				return fmt.Errorf("partition %d: consumed %d of %d in 30s", p, len(got[p]), hw)
			}
		}
		if err := part.Close(); err != nil {
			return fmt.Errorf("partition %d Close: %w", p, err)
		}
	}
	return verify(sent, got)
}

func saramaAdmin(bootstrap string) error {
	const topic = "sarama-admin"
	admin, err := sarama.NewClusterAdmin([]string{bootstrap}, saramaConfig(sarama.MaxVersion))
	if err != nil {
		return fmt.Errorf("NewClusterAdmin: %w", err)
	}
	defer admin.Close()
	retention := "3600000"
	err = admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1,
		ConfigEntries: map[string]*string{"retention.ms": &retention}}, false)
	if err != nil {
		return fmt.Errorf("CreateTopic: %w", err)
	}
	err = admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1}, false)
	if !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return fmt.Errorf("CreateTopic twice: %v, want ErrTopicAlreadyExists", err)
	}
	topics, err := admin.ListTopics()
	if err != nil {
		return fmt.Errorf("ListTopics: %w", err)
	}
	if d, ok := topics[topic]; !ok || d.NumPartitions != 2 || d.ReplicationFactor != 1 {
		return fmt.Errorf("ListTopics: %s is %+v", topic, topics[topic])
	} else if v := d.ConfigEntries["retention.ms"]; v == nil || *v != retention {
		return fmt.Errorf("ListTopics: %s configs %v", topic, d.ConfigEntries)
	}
	md, err := admin.DescribeTopics([]string{topic})
	if err != nil {
		return fmt.Errorf("DescribeTopics: %w", err)
	}
	if len(md) != 1 || md[0].Err != sarama.ErrNoError || len(md[0].Partitions) != 2 {
		return fmt.Errorf("DescribeTopics: %+v", md)
	}
	brokers, controller, err := admin.DescribeCluster()
	if err != nil {
		return fmt.Errorf("DescribeCluster: %w", err)
	}
	if len(brokers) != 1 || brokers[0].ID() != controller {
		return fmt.Errorf("DescribeCluster: %d brokers, controller %d", len(brokers), controller)
	}
	for _, p := range md[0].Partitions {
		if p.Leader != controller || fmt.Sprint(p.Replicas) != fmt.Sprint([]int32{controller}) ||
			fmt.Sprint(p.Isr) != fmt.Sprint([]int32{controller}) {
			return fmt.Errorf("DescribeTopics partition %+v", p)
		}
	}
	res := sarama.ConfigResource{Type: sarama.TopicResource, Name: topic}
	entries, err := admin.DescribeConfig(res)
	if err != nil {
		return fmt.Errorf("DescribeConfig: %w", err)
	}
	cfg := map[string]sarama.ConfigEntry{}
	for _, e := range entries {
		cfg[e.Name] = e
	}
	if e := cfg["retention.ms"]; e.Value != retention || e.Source != sarama.SourceTopic {
		return fmt.Errorf("DescribeConfig retention.ms: %+v", e)
	}
	if e := cfg["cleanup.policy"]; e.Value != "delete" || e.Source == sarama.SourceTopic {
		return fmt.Errorf("DescribeConfig cleanup.policy: %+v", e)
	}
	seg := "10485760"
	err = admin.IncrementalAlterConfig(sarama.TopicResource, topic, map[string]sarama.IncrementalAlterConfigsEntry{
		"segment.bytes": {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &seg},
		"retention.ms":  {Operation: sarama.IncrementalAlterConfigsOperationDelete},
	}, false)
	if err != nil {
		return fmt.Errorf("IncrementalAlterConfig: %w", err)
	}
	entries, err = admin.DescribeConfig(res)
	if err != nil {
		return fmt.Errorf("DescribeConfig: %w", err)
	}
	for _, e := range entries {
		if e.Name == "segment.bytes" && (e.Value != seg || e.Source != sarama.SourceTopic) {
			return fmt.Errorf("after IncrementalAlterConfig segment.bytes: %+v", e)
		}
		if e.Name == "retention.ms" && e.Source == sarama.SourceTopic {
			return fmt.Errorf("after IncrementalAlterConfig delete, retention.ms still set on the topic: %+v", e)
		}
	}
	if err := admin.CreatePartitions(topic, 4, nil, false); err != nil {
		return fmt.Errorf("CreatePartitions: %w", err)
	}
	if md, err = admin.DescribeTopics([]string{topic}); err != nil || len(md[0].Partitions) != 4 {
		return fmt.Errorf("after CreatePartitions(4): %v partitions, err %v", len(md[0].Partitions), err)
	}
	// DeleteRecords needs records: produce 10 to partition 0.
	pc := saramaConfig(sarama.MaxVersion)
	pc.Producer.Return.Successes = true
	pc.Producer.Partitioner = sarama.NewManualPartitioner
	producer, err := sarama.NewSyncProducer([]string{bootstrap}, pc)
	if err != nil {
		return fmt.Errorf("NewSyncProducer: %w", err)
	}
	for i := 0; i < 10; i++ {
		if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: 0, Value: sarama.StringEncoder("r")}); err != nil {
			producer.Close()
			return fmt.Errorf("SendMessage: %w", err)
		}
	}
	producer.Close()
	if err := admin.DeleteRecords(topic, map[int32]int64{0: 6}); err != nil {
		return fmt.Errorf("DeleteRecords: %w", err)
	}
	offs, err := admin.ListOffsets(map[string]map[int32]int64{topic: {0: sarama.OffsetOldest}}, nil)
	if err != nil {
		return fmt.Errorf("ListOffsets: %w", err)
	}
	if o := offs[topic][0]; o == nil || o.Offset != 6 {
		return fmt.Errorf("ListOffsets(oldest) after DeleteRecords(6): %+v", o)
	}
	if err := admin.DeleteTopic(topic); err != nil {
		return fmt.Errorf("DeleteTopic: %w", err)
	}
	return eventually(10*time.Second, "topic gone from ListTopics after DeleteTopic", func() (bool, error) {
		topics, err := admin.ListTopics()
		_, still := topics[topic]
		return !still, err
	})
}
