package samsa.compat;

import static samsa.compat.RoundTrip.check;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeProducersResult;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Java client scenarios at the edges of the protocol. */
final class Edge {
    private Edge() {}

    static KafkaProducer<byte[], byte[]> producer(String bootstrap, Map<String, Object> extra) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.putAll(extra);
        return new KafkaProducer<>(p);
    }

    static KafkaConsumer<byte[], byte[]> consumer(String bootstrap, Map<String, Object> extra) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.putAll(extra);
        return new KafkaConsumer<>(p);
    }

    static void create(String bootstrap, String topic, int partitions, Map<String, String> configs) throws Exception {
        try (Admin admin = RoundTrip.newAdmin()) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1).configs(configs))).all().get();
        }
    }

    static List<ConsumerRecord<byte[], byte[]>> drain(KafkaConsumer<byte[], byte[]> c, int n, int seconds) {
        List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
        long deadline = System.currentTimeMillis() + seconds * 1000L;
        while (got.size() < n && System.currentTimeMillis() < deadline) {
            c.poll(Duration.ofMillis(200)).forEach(got::add);
        }
        return got;
    }

    /** isolation.level=read_committed: without transactions the last stable offset is the high watermark. */
    static void readCommitted(String bootstrap) throws Exception {
        String topic = "java-read-committed";
        create(bootstrap, topic, 1, Map.of());
        try (var p = producer(bootstrap, Map.of())) {
            for (int i = 0; i < 500; i++) {
                p.send(new ProducerRecord<>(topic, ("v" + i).getBytes()));
            }
        }
        TopicPartition tp = new TopicPartition(topic, 0);
        try (var c = consumer(bootstrap, Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"))) {
            check(c.endOffsets(List.of(tp)).get(tp) == 500, "read_committed endOffsets (LSO) " + c.endOffsets(List.of(tp)));
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            var got = drain(c, 500, 30);
            check(got.size() == 500, "read_committed consumed " + got.size() + " of 500");
            for (int i = 0; i < 500; i++) {
                check(got.get(i).offset() == i && new String(got.get(i).value()).equals("v" + i), "record " + i + ": " + got.get(i));
            }
        }
    }

    /**
     * Records larger than fetch.max.bytes and max.partition.fetch.bytes: the
     * broker must still return the first batch whole (KIP-74), so the consumer
     * makes progress one batch per fetch.
     */
    static void largeRecordsSmallFetch(String bootstrap) throws Exception {
        String topic = "java-large-records";
        create(bootstrap, topic, 1, Map.of());
        int size = 900 * 1024;
        try (var p = producer(bootstrap, Map.of(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 2 * size,
                ProducerConfig.BATCH_SIZE_CONFIG, 1024))) {
            for (int i = 0; i < 6; i++) {
                byte[] v = new byte[size];
                java.util.Arrays.fill(v, (byte) ('a' + i));
                p.send(new ProducerRecord<>(topic, v)).get();
            }
        }
        TopicPartition tp = new TopicPartition(topic, 0);
        try (var c = consumer(bootstrap, Map.of(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 1024,
                ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 1024))) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            var got = drain(c, 6, 30);
            check(got.size() == 6, "consumed " + got.size() + " of 6 records of 900 KiB with fetch.max.bytes=1024");
            for (int i = 0; i < 6; i++) {
                byte[] v = got.get(i).value();
                check(got.get(i).offset() == i && v.length == size && v[0] == 'a' + i && v[size - 1] == 'a' + i,
                        "record " + i + ": offset " + got.get(i).offset() + " length " + v.length);
            }
        }
    }

    /** A batch above the topic's max.message.bytes is refused with MESSAGE_TOO_LARGE; the topic is unchanged. */
    static void recordTooLarge(String bootstrap) throws Exception {
        String topic = "java-too-large";
        create(bootstrap, topic, 1, Map.of("max.message.bytes", "10000"));
        try (var p = producer(bootstrap, Map.of(ProducerConfig.RETRIES_CONFIG, 0))) {
            p.send(new ProducerRecord<>(topic, new byte[5000])).get();
            try {
                p.send(new ProducerRecord<>(topic, new byte[20000])).get();
                throw new RoundTrip.Check("a 20000-byte record was accepted by a topic with max.message.bytes=10000");
            } catch (ExecutionException e) {
                check(e.getCause() instanceof RecordTooLargeException, "want RecordTooLargeException, got " + e.getCause());
            }
            RecordMetadata md = p.send(new ProducerRecord<>(topic, new byte[100])).get();
            check(md.offset() == 1, "the record after the refused one has offset " + md.offset() + ", want 1");
        }
    }

    /** Fetching past the log end: OffsetOutOfRange with auto.offset.reset=none, a reset with earliest. */
    static void offsetOutOfRange(String bootstrap) throws Exception {
        String topic = "java-out-of-range";
        create(bootstrap, topic, 1, Map.of());
        try (var p = producer(bootstrap, Map.of())) {
            for (int i = 0; i < 10; i++) {
                p.send(new ProducerRecord<>(topic, ("v" + i).getBytes()));
            }
        }
        TopicPartition tp = new TopicPartition(topic, 0);
        try (var c = consumer(bootstrap, Map.of(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none"))) {
            c.assign(List.of(tp));
            c.seek(tp, 1000);
            long deadline = System.currentTimeMillis() + 15_000;
            boolean thrown = false;
            while (!thrown && System.currentTimeMillis() < deadline) {
                try {
                    check(c.poll(Duration.ofMillis(200)).isEmpty(), "records at offset 1000 of a 10-record log");
                } catch (OffsetOutOfRangeException e) {
                    thrown = true;
                    check(e.offsetOutOfRangePartitions().get(tp) == 1000L, "exception names " + e.offsetOutOfRangePartitions());
                }
            }
            check(thrown, "no OffsetOutOfRangeException within 15s of seeking to 1000");
        }
        try (var c = consumer(bootstrap, Map.of(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"))) {
            c.assign(List.of(tp));
            c.seek(tp, 1000);
            var got = drain(c, 10, 15);
            check(got.size() == 10 && got.get(0).offset() == 0, "after reset to earliest: " + got.size() + " records");
        }
    }

    /** Producing to a topic that does not exist creates it (auto.create.topics.enable defaults to true). */
    static void autoCreateTopic(String bootstrap) throws Exception {
        String topic = "java-auto-created";
        try (var p = producer(bootstrap, Map.of(ProducerConfig.MAX_BLOCK_MS_CONFIG, 20_000))) {
            RecordMetadata md = p.send(new ProducerRecord<>(topic, "hello".getBytes())).get();
            check(md.offset() == 0, "first record of the auto-created topic at offset " + md.offset());
        }
        try (Admin admin = RoundTrip.newAdmin()) {
            var d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
            check(d.partitions().size() == 1, "auto-created topic has " + d.partitions().size() + " partitions, want num.partitions=1");
        }
    }

    /** acks=0 and acks=1 producers: every record lands once, in order. */
    static void acks(String bootstrap) throws Exception {
        String topic = "java-acks";
        create(bootstrap, topic, 1, Map.of());
        for (String acks : new String[] {"0", "1"}) {
            try (var p = producer(bootstrap, Map.of(ProducerConfig.ACKS_CONFIG, acks,
                    ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false))) {
                for (int i = 0; i < 1000; i++) {
                    p.send(new ProducerRecord<>(topic, 0, null, ("acks" + acks + "-" + i).getBytes()));
                }
                p.flush();
            }
        }
        TopicPartition tp = new TopicPartition(topic, 0);
        try (var c = consumer(bootstrap, Map.of())) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            var got = drain(c, 2000, 30);
            check(got.size() == 2000, "consumed " + got.size() + " of 2000");
            for (int i = 0; i < 2000; i++) {
                String want = (i < 1000 ? "acks0-" + i : "acks1-" + (i - 1000));
                check(new String(got.get(i).value()).equals(want), "offset " + i + ": " + new String(got.get(i).value()) + ", want " + want);
            }
        }
    }

    /** Admin.describeProducers after an idempotent producer, and describeLogDirs. */
    static void describeProducersAndLogDirs(String bootstrap) throws Exception {
        String topic = "java-producers";
        create(bootstrap, topic, 1, Map.of());
        long pid;
        try (var p = producer(bootstrap, Map.of())) {
            for (int i = 0; i < 50; i++) {
                p.send(new ProducerRecord<>(topic, 0, null, ("v" + i).getBytes()));
            }
            p.flush();
        }
        TopicPartition tp = new TopicPartition(topic, 0);
        try (Admin admin = RoundTrip.newAdmin()) {
            DescribeProducersResult r = admin.describeProducers(List.of(tp));
            List<ProducerState> states = r.partitionResult(tp).get().activeProducers();
            check(states.size() == 1, "describeProducers: " + states.size() + " producers, want 1: " + states);
            ProducerState st = states.get(0);
            check(st.producerId() >= 0 && st.lastSequence() == 49, "describeProducers: " + st + ", want lastSequence 49");
            check(st.currentTransactionStartOffset().isEmpty(), "describeProducers: open transaction " + st);

            int node = admin.describeCluster().controller().get().id();
            Map<String, LogDirDescription> dirs = admin.describeLogDirs(List.of(node)).allDescriptions().get().get(node);
            check(dirs != null && !dirs.isEmpty(), "describeLogDirs: no log dirs");
            ReplicaInfo ri = null;
            for (LogDirDescription d : dirs.values()) {
                check(d.error() == null, "describeLogDirs error " + d.error());
                ri = ri != null ? ri : d.replicaInfos().get(tp);
            }
            check(ri != null && ri.size() > 0, "describeLogDirs: " + tp + " missing or empty: " + ri);
        }
    }
}
