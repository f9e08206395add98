package samsa.compat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Java client scenarios of the compatibility suite: the plain KafkaProducer
 * (idempotence on, the default) and KafkaConsumer with manual assignment (no
 * group), and the Admin client. Usage: RoundTrip BOOTSTRAP SCENARIO. Exits 0
 * when every check passes; otherwise prints "FAIL: why" and exits 1.
 */
public final class RoundTrip {
    static String bootstrap;

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: RoundTrip BOOTSTRAP SCENARIO");
            System.exit(2);
        }
        bootstrap = args[0];
        String scenario = args[1];
        try {
            switch (scenario) {
                case "roundtrip-idempotent" -> roundTrip("java-roundtrip", "none", 3000);
                case "compression-gzip", "compression-snappy", "compression-lz4", "compression-zstd" -> {
                    String codec = scenario.substring("compression-".length());
                    roundTrip("java-" + codec, codec, 1000);
                }
                case "admin" -> adminScenario();
                case "offsets-for-times" -> offsetsForTimes();
                case "read-committed" -> Edge.readCommitted(bootstrap);
                case "large-records-small-fetch" -> Edge.largeRecordsSmallFetch(bootstrap);
                case "record-too-large" -> Edge.recordTooLarge(bootstrap);
                case "offset-out-of-range" -> Edge.offsetOutOfRange(bootstrap);
                case "auto-create-topic" -> Edge.autoCreateTopic(bootstrap);
                case "acks-0-and-1" -> Edge.acks(bootstrap);
                case "describe-producers-log-dirs" -> Edge.describeProducersAndLogDirs(bootstrap);
                case "group-classic" -> Groups.run(bootstrap, "classic");
                case "group-consumer-protocol" -> Groups.run(bootstrap, "consumer");
                default -> throw new Check("unknown scenario " + scenario);
            }
        } catch (Check c) {
            System.err.println("FAIL: " + c.getMessage());
            System.exit(1);
        } catch (Exception e) {
            e.printStackTrace();
            System.err.println("FAIL: " + e);
            System.exit(1);
        }
        System.out.println("ok " + scenario);
        System.exit(0);
    }

    /** A failed check. */
    static final class Check extends Exception {
        Check(String msg) {
            super(msg);
        }
    }

    static void check(boolean ok, String msg) throws Check {
        if (!ok) {
            throw new Check(msg);
        }
    }

    static Admin newAdmin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000);
        return Admin.create(p);
    }

    static void createTopic(Admin admin, String topic, int partitions) throws Exception {
        admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
    }

    static KafkaProducer<String, String> producer(String compression) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        // Left at their defaults on purpose: enable.idempotence=true, acks=all.
        return new KafkaProducer<>(p);
    }

    static KafkaConsumer<String, String> consumer() {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 700);
        return new KafkaConsumer<>(p);
    }

    record Sent(String key, String value, int seq, int partition, long offset) {}

    /**
     * Produces n keyed records with headers, then reads every partition from
     * the beginning with assign() and checks each record in order: offset, key,
     * value and headers, and that each key stayed on one partition.
     */
    static void roundTrip(String topic, String compression, int n) throws Exception {
        int partitions = 3;
        try (Admin admin = newAdmin()) {
            createTopic(admin, topic, partitions);
        }
        List<Future<RecordMetadata>> futures = new ArrayList<>();
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        try (KafkaProducer<String, String> producer = producer(compression)) {
            for (int i = 0; i < n; i++) {
                String key = "key-" + (i % 37);
                String value = "value-" + i + "-" + "x".repeat(i % 50);
                List<Header> headers = List.of(
                        new RecordHeader("seq", Integer.toString(i).getBytes(StandardCharsets.UTF_8)),
                        new RecordHeader("client", "java".getBytes(StandardCharsets.UTF_8)));
                ProducerRecord<String, String> r = new ProducerRecord<>(topic, null, key, value, headers);
                records.add(r);
                futures.add(producer.send(r));
            }
            producer.flush();
        }
        Map<Integer, List<Sent>> byPartition = new HashMap<>();
        Map<String, Integer> keyPartition = new HashMap<>();
        for (int i = 0; i < n; i++) {
            RecordMetadata md = futures.get(i).get();
            ProducerRecord<String, String> r = records.get(i);
            byPartition.computeIfAbsent(md.partition(), k -> new ArrayList<>())
                    .add(new Sent(r.key(), r.value(), i, md.partition(), md.offset()));
            Integer prev = keyPartition.putIfAbsent(r.key(), md.partition());
            check(prev == null || prev == md.partition(),
                    "key " + r.key() + " went to partitions " + prev + " and " + md.partition());
        }
        for (Map.Entry<Integer, List<Sent>> e : byPartition.entrySet()) {
            List<Sent> sent = e.getValue();
            for (int j = 0; j < sent.size(); j++) {
                check(sent.get(j).offset == j, "partition " + e.getKey() + ": record " + j
                        + " acknowledged at offset " + sent.get(j).offset + ", want " + j);
            }
        }
        check(byPartition.size() > 1, "all " + n + " records landed in one partition");

        try (KafkaConsumer<String, String> consumer = consumer()) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < partitions; p++) {
                tps.add(new TopicPartition(topic, p));
            }
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<TopicPartition, Long> ends = consumer.endOffsets(tps);
            for (TopicPartition tp : tps) {
                int want = byPartition.getOrDefault(tp.partition(), List.of()).size();
                check(ends.get(tp) == want, tp + ": end offset " + ends.get(tp) + ", want " + want);
            }
            Map<Integer, Integer> next = new HashMap<>();
            int got = 0;
            long deadline = System.currentTimeMillis() + 60_000;
            while (got < n) {
                check(System.currentTimeMillis() < deadline, "timed out: consumed " + got + " of " + n);
                for (ConsumerRecord<String, String> rec : consumer.poll(Duration.ofMillis(500))) {
                    int j = next.getOrDefault(rec.partition(), 0);
                    List<Sent> sent = byPartition.getOrDefault(rec.partition(), List.of());
                    check(j < sent.size(), "partition " + rec.partition() + ": extra record at offset " + rec.offset());
                    Sent s = sent.get(j);
                    String where = "partition " + rec.partition() + " offset " + rec.offset();
                    check(rec.offset() == s.offset, where + ": want offset " + s.offset);
                    check(s.key.equals(rec.key()), where + ": key " + rec.key() + ", want " + s.key);
                    check(s.value.equals(rec.value()), where + ": value " + rec.value() + ", want " + s.value);
                    Header[] hs = rec.headers().toArray();
                    check(hs.length == 2, where + ": " + hs.length + " headers, want 2");
                    check(hs[0].key().equals("seq") && new String(hs[0].value(), StandardCharsets.UTF_8)
                            .equals(Integer.toString(s.seq)), where + ": header seq wrong: " + hs[0]);
                    check(hs[1].key().equals("client") && new String(hs[1].value(), StandardCharsets.UTF_8)
                            .equals("java"), where + ": header client wrong: " + hs[1]);
                    next.put(rec.partition(), j + 1);
                    got++;
                }
            }
            check(consumer.poll(Duration.ofMillis(300)).isEmpty(), "records beyond the " + n + " produced");
        }
        System.out.println("produced and consumed " + n + " records over " + byPartition.size()
                + " partitions, compression " + compression);
    }

    static void adminScenario() throws Exception {
        String topic = "java-admin";
        try (Admin admin = newAdmin()) {
            admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1)
                    .configs(Map.of("retention.ms", "3600000")))).all().get();
            Set<String> names = admin.listTopics().names().get();
            check(names.contains(topic), "listTopics does not list " + topic + ": " + names);

            TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
            check(d.partitions().size() == 2, "describeTopics: " + d.partitions().size() + " partitions, want 2");
            for (var p : d.partitions()) {
                check(p.leader() != null && p.replicas().size() == 1 && p.isr().size() == 1,
                        "describeTopics: partition " + p.partition() + " leader/replicas/isr: " + p);
            }
            check(d.topicId() != null && !d.topicId().toString().equals("AAAAAAAAAAAAAAAAAAAAAA"),
                    "describeTopics: no topic id");

            ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            Config cfg = admin.describeConfigs(List.of(res)).all().get().get(res);
            ConfigEntry ret = cfg.get("retention.ms");
            check(ret != null && "3600000".equals(ret.value()), "describeConfigs retention.ms: " + ret);
            check(ret.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG,
                    "describeConfigs retention.ms source " + ret.source());
            check(cfg.get("cleanup.policy") != null, "describeConfigs: no cleanup.policy");

            admin.incrementalAlterConfigs(Map.of(res, List.of(
                    new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET),
                    new AlterConfigOp(new ConfigEntry("max.message.bytes", "2000000"), AlterConfigOp.OpType.SET))))
                    .all().get();
            cfg = admin.describeConfigs(List.of(res)).all().get().get(res);
            check("7200000".equals(cfg.get("retention.ms").value()), "after alter retention.ms: " + cfg.get("retention.ms"));
            check("2000000".equals(cfg.get("max.message.bytes").value()),
                    "after alter max.message.bytes: " + cfg.get("max.message.bytes"));

            admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(4))).all().get();
            d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
            check(d.partitions().size() == 4, "after createPartitions: " + d.partitions().size() + " partitions, want 4");

            Collection<?> nodes = admin.describeCluster().nodes().get();
            check(nodes.size() == 1, "describeCluster: " + nodes.size() + " nodes, want 1");

            admin.deleteTopics(List.of(topic)).all().get();
            long deadline = System.currentTimeMillis() + 10_000;
            while (admin.listTopics().names().get().contains(topic)) {
                check(System.currentTimeMillis() < deadline, "topic still listed 10s after deleteTopics");
                Thread.sleep(100);
            }
        }
    }

    static void offsetsForTimes() throws Exception {
        String topic = "java-times";
        long base = System.currentTimeMillis() - 3_600_000;
        try (Admin admin = newAdmin()) {
            createTopic(admin, topic, 1);
        }
        try (KafkaProducer<String, String> producer = producer("none")) {
            for (int i = 0; i < 100; i++) {
                // Timestamps 1s apart, oldest first.
                producer.send(new ProducerRecord<>(topic, 0, base + i * 1000L, "k" + i, "v" + i));
            }
            producer.flush();
        }
        TopicPartition tp = new TopicPartition(topic, 0);
        try (KafkaConsumer<String, String> consumer = consumer()) {
            check(consumer.beginningOffsets(List.of(tp)).get(tp) == 0, "beginningOffsets != 0");
            check(consumer.endOffsets(List.of(tp)).get(tp) == 100, "endOffsets != 100");
            for (int i : new int[] {0, 1, 42, 99}) {
                OffsetAndTimestamp ot = consumer.offsetsForTimes(Map.of(tp, base + i * 1000L)).get(tp);
                check(ot != null && ot.offset() == i && ot.timestamp() == base + i * 1000L,
                        "offsetsForTimes(t" + i + "): " + ot + ", want offset " + i);
                ot = consumer.offsetsForTimes(Map.of(tp, base + i * 1000L - 500)).get(tp);
                check(ot != null && ot.offset() == i, "offsetsForTimes(t" + i + " - 500ms): " + ot + ", want offset " + i);
            }
            OffsetAndTimestamp none = consumer.offsetsForTimes(Map.of(tp, base + 200_000L)).get(tp);
            check(none == null, "offsetsForTimes after the last record: " + none + ", want null");
            consumer.assign(List.of(tp));
            consumer.seek(tp, consumer.offsetsForTimes(Map.of(tp, base + 50_000L)).get(tp).offset());
            List<ConsumerRecord<String, String>> got = new ArrayList<>();
            long deadline = System.currentTimeMillis() + 30_000;
            while (got.size() < 50 && System.currentTimeMillis() < deadline) {
                consumer.poll(Duration.ofMillis(300)).forEach(got::add);
            }
            check(got.size() == 50, "after seeking to t50: got " + got.size() + " records, want 50");
            check(got.get(0).offset() == 50 && got.get(0).timestamp() == base + 50_000L && got.get(0).value().equals("v50"),
                    "first record after seek: " + got.get(0));
            List<Long> offs = got.stream().map(ConsumerRecord::offset).collect(Collectors.toList());
            for (int i = 0; i < offs.size(); i++) {
                check(offs.get(i) == 50 + i, "offsets after seek not contiguous: " + offs);
            }
        }
    }
}
