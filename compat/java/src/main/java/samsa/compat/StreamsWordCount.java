package samsa.compat;

import static samsa.compat.RoundTrip.check;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Kafka Streams word count: lines from an input topic, split into words,
 * re-keyed by word (a repartition topic), counted in a state store (its
 * changelog topic), the counts written to an output topic. With the record
 * cache off every count is emitted, so each word's counts in the output are
 * exactly 1, 2, ..., its true count: a duplicate or a gap is an
 * exactly-once violation (or a lost update).
 *
 * <pre>
 * StreamsWordCount BOOTSTRAP GUARANTEE STATE-DIR     (GUARANTEE: exactly_once_v2 or at_least_once)
 * </pre>
 */
public final class StreamsWordCount {
    private StreamsWordCount() {}

    static final String[] WORDS = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
        "india", "juliett", "kilo", "lima", "mike"};

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: StreamsWordCount BOOTSTRAP GUARANTEE STATE-DIR");
            System.exit(2);
        }
        RoundTrip.bootstrap = args[0];
        Txn.bootstrap = args[0];
        try {
            run(args[0], args[1], args[2]);
        } catch (RoundTrip.Check c) {
            System.err.println("FAIL: " + c.getMessage());
            System.exit(1);
        } catch (Exception e) {
            e.printStackTrace();
            System.err.println("FAIL: " + e);
            System.exit(1);
        }
        System.out.println("ok streams " + args[1]);
        System.exit(0);
    }

    static void produceLines(String bootstrap, String topic, List<String> lines) throws Exception {
        try (KafkaProducer<byte[], byte[]> p = Edge.producer(bootstrap, Map.of())) {
            for (int i = 0; i < lines.size(); i++) {
                p.send(new ProducerRecord<>(topic, ("line-" + i).getBytes(), lines.get(i).getBytes())).get();
            }
        }
    }

    static void run(String bootstrap, String guarantee, String stateDir) throws Exception {
        String tag = guarantee.replace('_', '-');
        String app = "java-streams-" + tag;
        String in = app + "-in";
        String out = app + "-out";
        int parts = 2;
        Edge.create(bootstrap, in, parts, Map.of());
        Edge.create(bootstrap, out, parts, Map.of());

        // The text: 400 lines of 1 to 8 words, known counts.
        Random rnd = new Random(42);
        List<String> lines = new ArrayList<>();
        Map<String, Long> want = new TreeMap<>();
        for (int i = 0; i < 400; i++) {
            int k = 1 + rnd.nextInt(8);
            StringBuilder sb = new StringBuilder();
            for (int j = 0; j < k; j++) {
                String w = WORDS[rnd.nextInt(WORDS.length)];
                want.merge(w, 1L, Long::sum);
                sb.append(j == 0 ? "" : (j % 3 == 0 ? ", " : " ")).append(j % 2 == 0 ? w.toUpperCase() : w);
            }
            lines.add(sb.toString());
        }
        // Half before the app starts, half while it runs.
        produceLines(bootstrap, in, lines.subList(0, 200));

        StreamsBuilder b = new StreamsBuilder();
        b.stream(in, Consumed.with(Serdes.String(), Serdes.String()))
                .flatMapValues(v -> Arrays.asList(v.toLowerCase().split("\\W+")))
                .filter((k, w) -> !w.isEmpty())
                .groupBy((k, w) -> w, Grouped.with("words", Serdes.String(), Serdes.String()))
                .count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("counts"))
                .toStream()
                .to(out, Produced.with(Serdes.String(), Serdes.Long()));

        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, app);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 200);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");

        AtomicReference<Throwable> died = new AtomicReference<>();
        KafkaStreams streams = new KafkaStreams(b.build(), p);
        streams.setUncaughtExceptionHandler(e -> {
            died.compareAndSet(null, e);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        try {
            streams.start();
            long deadline = System.currentTimeMillis() + 60_000;
            while (streams.state() != KafkaStreams.State.RUNNING) {
                check(died.get() == null, "the Streams app died while starting: " + died.get());
                check(streams.state() != KafkaStreams.State.ERROR && streams.state() != KafkaStreams.State.NOT_RUNNING
                        && streams.state() != KafkaStreams.State.PENDING_ERROR,
                        "the Streams app is " + streams.state() + " while starting");
                check(System.currentTimeMillis() < deadline, "the Streams app is " + streams.state() + " after 60s, not RUNNING");
                Thread.sleep(100);
            }
            produceLines(bootstrap, in, lines.subList(200, lines.size()));

            // Read the output with read_committed until every word's last count is its true count.
            Map<String, List<Long>> counts = new TreeMap<>();
            Properties cp = new Properties();
            cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            try (KafkaConsumer<String, Long> c = new KafkaConsumer<>(cp, new StringDeserializer(), new LongDeserializer())) {
                List<TopicPartition> tps = Txn.tps(out, parts);
                c.assign(tps);
                c.seekToBeginning(tps);
                deadline = System.currentTimeMillis() + 90_000;
                while (true) {
                    boolean done = true;
                    for (Map.Entry<String, Long> e : want.entrySet()) {
                        List<Long> l = counts.get(e.getKey());
                        done &= l != null && l.get(l.size() - 1).equals(e.getValue());
                    }
                    if (done) {
                        break;
                    }
                    check(died.get() == null, "the Streams app died: " + died.get());
                    check(System.currentTimeMillis() < deadline, "after 90s the output's last counts are "
                            + last(counts) + ", want " + want + " (Streams state " + streams.state() + ")");
                    for (ConsumerRecord<String, Long> r : c.poll(Duration.ofMillis(200))) {
                        counts.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r.value());
                    }
                }
                // Nothing after the final counts (a duplicate would come late).
                Thread.sleep(1000);
                for (ConsumerRecord<String, Long> r : c.poll(Duration.ofMillis(500))) {
                    counts.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r.value());
                }
            }
            check(counts.keySet().equals(want.keySet()), "output words " + counts.keySet() + ", want " + want.keySet());
            for (Map.Entry<String, Long> e : want.entrySet()) {
                List<Long> seq = counts.get(e.getKey());
                List<Long> exact = new ArrayList<>();
                for (long i = 1; i <= e.getValue(); i++) {
                    exact.add(i);
                }
                check(seq.equals(exact), "word " + e.getKey() + ": counts in the output " + seq + ", want 1.."
                        + e.getValue() + " each once");
            }
            System.out.println("final counts " + want + " (" + lines.size() + " lines), each count emitted once");
        } finally {
            boolean closed = streams.close(Duration.ofSeconds(30));
            check(closed && streams.state() == KafkaStreams.State.NOT_RUNNING,
                    "KafkaStreams.close(30s) returned " + closed + ", state " + streams.state());
        }
        check(died.get() == null, "the Streams app died: " + died.get());

        // The internal topics exist; the changelog holds the final counts; the
        // group committed the input's end offsets.
        String changelog = app + "-counts-changelog";
        String repartition = app + "-words-repartition";
        try (Admin admin = RoundTrip.newAdmin()) {
            Set<String> names = admin.listTopics().names().get();
            check(names.contains(changelog) && names.contains(repartition),
                    "internal topics " + changelog + " and " + repartition + " not both listed: " + names);
            // exactly_once_v2 writes through one transactional producer per
            // thread (transactional.id APP-PROCESSID-THREAD); none is left open.
            List<String> txnIds = new ArrayList<>();
            for (TransactionListing t : admin.listTransactions().all().get()) {
                if (t.transactionalId().startsWith(app + "-")) {
                    txnIds.add(t.transactionalId() + "=" + t.state());
                    check(t.state() == TransactionState.COMPLETE_COMMIT, "after close, transaction " + t.transactionalId()
                            + " is " + t.state() + ", want CompleteCommit");
                }
            }
            check(guarantee.equals(StreamsConfig.EXACTLY_ONCE_V2) ? txnIds.size() == 1 : txnIds.isEmpty(),
                    "listTransactions for " + app + ": " + txnIds);
            Map<TopicPartition, OffsetAndMetadata> committed =
                    admin.listConsumerGroupOffsets(app).partitionsToOffsetAndMetadata().get();
            Map<TopicPartition, Long> end;
            try (var c = Txn.reader("read_committed")) {
                end = c.endOffsets(Txn.tps(in, parts));
            }
            for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
                OffsetAndMetadata om = committed.get(e.getKey());
                check(om != null && om.offset() == e.getValue(), "group " + app + " committed offset of " + e.getKey()
                        + ": " + om + ", want the input's end offset " + e.getValue());
            }
        }
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        Map<String, Long> fromChangelog = new HashMap<>();
        try (KafkaConsumer<String, Long> c = new KafkaConsumer<>(cp, new StringDeserializer(), new LongDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            c.partitionsFor(changelog).forEach(pi -> tps.add(new TopicPartition(changelog, pi.partition())));
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            long deadline = System.currentTimeMillis() + 30_000;
            while (true) {
                boolean done = true;
                for (TopicPartition tp : tps) {
                    done &= c.position(tp) >= end.get(tp);
                }
                if (done) {
                    break;
                }
                check(System.currentTimeMillis() < deadline, "reading the changelog: not at " + end + " after 30s");
                for (ConsumerRecord<String, Long> r : c.poll(Duration.ofMillis(200))) {
                    fromChangelog.put(r.key(), r.value());
                }
            }
        }
        check(fromChangelog.equals(want), "changelog " + changelog + " (read_committed): " + new TreeMap<>(fromChangelog)
                + ", want " + want);
    }

    static Map<String, Long> last(Map<String, List<Long>> counts) {
        Map<String, Long> m = new TreeMap<>();
        counts.forEach((k, v) -> m.put(k, v.get(v.size() - 1)));
        return m;
    }
}
