package samsa.compat;

import static samsa.compat.RoundTrip.check;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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
 * StreamsWordCount BOOTSTRAP GUARANTEE STATE-DIR crash
 * </pre>
 *
 * With "crash" the app runs in a child JVM that is killed with SIGKILL while
 * it processes (its transaction left open), and a second child takes over
 * with the same state directory; the output must still hold each count
 * exactly once. The children run "StreamsWordCount --instance ...".
 */
public final class StreamsWordCount {
    private StreamsWordCount() {}

    static final String[] WORDS = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
        "india", "juliett", "kilo", "lima", "mike"};

    public static void main(String[] args) throws Exception {
        if (args.length == 5 && args[0].equals("--instance")) {
            instance(args[1], args[2], args[3], args[4]);
            return;
        }
        if (args.length != 3 && !(args.length == 4 && args[3].equals("crash"))) {
            System.err.println("usage: StreamsWordCount BOOTSTRAP GUARANTEE STATE-DIR [crash]");
            System.exit(2);
        }
        RoundTrip.bootstrap = args[0];
        Txn.bootstrap = args[0];
        try {
            if (args.length == 4) {
                runCrash(args[0], args[1], args[2]);
            } else {
                run(args[0], args[1], args[2]);
            }
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

    /** The text: 400 lines of 1 to 8 words (mixed case, commas); returns each word's true count. */
    static Map<String, Long> text(List<String> lines) {
        Random rnd = new Random(42);
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
        return want;
    }

    static KafkaStreams newStreams(String bootstrap, String guarantee, String stateDir, String app, String in, String out) {
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
        // A killed instance leaves the group after this, not after the default 45 s.
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 6000);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), 1000);
        return new KafkaStreams(b.build(), p);
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

        List<String> lines = new ArrayList<>();
        Map<String, Long> want = text(lines);
        // Half before the app starts, half while it runs.
        produceLines(bootstrap, in, lines.subList(0, 200));

        AtomicReference<Throwable> died = new AtomicReference<>();
        KafkaStreams streams = newStreams(bootstrap, guarantee, stateDir, app, in, out);
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

            readCounts(bootstrap, out, parts, want, died, streams);
        } finally {
            boolean closed = streams.close(Duration.ofSeconds(30));
            check(closed && streams.state() == KafkaStreams.State.NOT_RUNNING,
                    "KafkaStreams.close(30s) returned " + closed + ", state " + streams.state());
        }
        check(died.get() == null, "the Streams app died: " + died.get());

        verifyAfter(bootstrap, guarantee, app, in, parts, want, false);
        System.out.println("final counts " + want + " (" + lines.size() + " lines), each count emitted once");
    }

    /**
     * Reads the output with read_committed until every word's last count is
     * its true count, then checks each word's counts are exactly 1..count.
     */
    static void readCounts(String bootstrap, String out, int parts, Map<String, Long> want,
            AtomicReference<Throwable> died, KafkaStreams streams) throws Exception {
        long deadline;
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
                        + last(counts) + ", want " + want + " (Streams state " + (streams == null ? "in the child" : streams.state()) + ")");
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
    }

    /** The internal topics, the committed offsets, the transactions and the changelog after the app closed. */
    static void verifyAfter(String bootstrap, String guarantee, String app, String in, int parts, Map<String, Long> want,
            boolean crashed) throws Exception {
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
                    check(t.state() == TransactionState.COMPLETE_COMMIT
                            || (crashed && (t.state() == TransactionState.COMPLETE_ABORT || t.state() == TransactionState.EMPTY)),
                            "after close, transaction " + t.transactionalId() + " is " + t.state() + ", want CompleteCommit"
                            + (crashed ? " (or CompleteAbort/Empty: the killed instance's)" : ""));
                }
            }
            check(crashed || (guarantee.equals(StreamsConfig.EXACTLY_ONCE_V2) ? txnIds.size() == 1 : txnIds.isEmpty()),
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

    // ---------------------------------------------------------------------
    // crash: the app in child JVMs, the first killed with SIGKILL

    /** A child JVM: runs the app, prints RUNNING (on each rebalance's end) and DIED; closes when stdin ends. */
    static void instance(String bootstrap, String guarantee, String stateDir, String app) throws Exception {
        KafkaStreams streams = newStreams(bootstrap, guarantee, stateDir, app, app + "-in", app + "-out");
        streams.setUncaughtExceptionHandler(e -> {
            e.printStackTrace();
            System.out.println("DIED " + e);
            System.out.flush();
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        streams.setStateListener((now, before) -> {
            if (now == KafkaStreams.State.RUNNING) {
                System.out.println("RUNNING");
                System.out.flush();
            }
        });
        streams.start();
        while (System.in.read() != -1) {
            // until stdin ends
        }
        boolean closed = streams.close(Duration.ofSeconds(30));
        System.out.println(closed && streams.state() == KafkaStreams.State.NOT_RUNNING ? "CLOSED"
                : "NOT CLOSED " + closed + " " + streams.state());
        System.out.flush();
        System.exit(0);
    }

    /** A child JVM running the app, and what it printed. */
    static final class Child {
        final String name;
        final Process proc;
        final List<String> said = java.util.Collections.synchronizedList(new ArrayList<>());
        final AtomicReference<Throwable> died = new AtomicReference<>();

        Child(String name, String bootstrap, String guarantee, String stateDir, String app) throws Exception {
            this.name = name;
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            proc = new ProcessBuilder(java, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", System.getProperty("java.class.path"),
                    StreamsWordCount.class.getName(), "--instance", bootstrap, guarantee, stateDir, app)
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            Thread t = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        System.out.println(name + ": " + line);
                        said.add(line);
                        if (line.startsWith("DIED")) {
                            died.compareAndSet(null, new RuntimeException(name + ": " + line));
                        }
                    }
                } catch (Exception e) {
                    died.compareAndSet(null, e);
                }
            });
            t.setDaemon(true);
            t.start();
        }

        void awaitRunning(int seconds) throws Exception {
            long deadline = System.currentTimeMillis() + seconds * 1000L;
            while (!said.contains("RUNNING")) {
                check(died.get() == null, name + " died while starting: " + died.get());
                check(proc.isAlive(), name + " exited while starting (exit " + (proc.isAlive() ? "" : proc.exitValue()) + ")");
                check(System.currentTimeMillis() < deadline, name + " not RUNNING after " + seconds + "s");
                Thread.sleep(100);
            }
        }
    }

    static long committedSum(Admin admin, String app) throws Exception {
        long sum = 0;
        for (OffsetAndMetadata om : admin.listConsumerGroupOffsets(app).partitionsToOffsetAndMetadata().get().values()) {
            sum += om == null ? 0 : om.offset();
        }
        return sum;
    }

    static void runCrash(String bootstrap, String guarantee, String stateDir) throws Exception {
        String app = "java-streams-" + guarantee.replace('_', '-') + "-crash";
        String in = app + "-in";
        String out = app + "-out";
        int parts = 2;
        Edge.create(bootstrap, in, parts, Map.of());
        Edge.create(bootstrap, out, parts, Map.of());
        List<String> lines = new ArrayList<>();
        Map<String, Long> want = text(lines);
        produceLines(bootstrap, in, lines.subList(0, 100));

        Child first = new Child("instance 1", bootstrap, guarantee, stateDir, app);
        Child second = null;
        try {
            first.awaitRunning(60);
            // The rest at about 100 lines a second, through the crash.
            AtomicReference<Throwable> feedError = new AtomicReference<>();
            Thread feed = new Thread(() -> {
                try (KafkaProducer<byte[], byte[]> p = Edge.producer(bootstrap, Map.of())) {
                    for (int i = 100; i < lines.size(); i++) {
                        p.send(new ProducerRecord<>(in, ("line-" + i).getBytes(), lines.get(i).getBytes())).get();
                        Thread.sleep(10);
                    }
                } catch (Exception e) {
                    feedError.set(e);
                }
            });
            feed.start();
            // Kill it once it has committed some input (so it is mid-stream, a transaction open).
            long deadline = System.currentTimeMillis() + 60_000;
            long atKill;
            try (Admin admin = RoundTrip.newAdmin()) {
                while ((atKill = committedSum(admin, app)) < 150) {
                    check(first.died.get() == null, "instance 1 died: " + first.died.get());
                    check(System.currentTimeMillis() < deadline, "instance 1: the sum of its committed offsets is " + atKill + " after 60s");
                    Thread.sleep(20);
                }
            }
            first.proc.destroyForcibly(); // SIGKILL
            first.proc.waitFor();
            System.out.println("killed instance 1 (SIGKILL) with " + atKill + " as the sum of the group's committed offsets (input and repartition topics)");

            second = new Child("instance 2", bootstrap, guarantee, stateDir, app);
            second.awaitRunning(60);
            feed.join();
            check(feedError.get() == null, "producing the input: " + feedError.get());
            readCounts(bootstrap, out, parts, want, second.died, null);
            second.proc.getOutputStream().close(); // close the app
            check(second.proc.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "instance 2 did not exit 60s after its close");
            Thread.sleep(200);
            check(second.said.contains("CLOSED"), "instance 2 did not close cleanly: " + second.said);
        } finally {
            first.proc.destroyForcibly();
            if (second != null) {
                second.proc.destroyForcibly();
            }
        }
        verifyAfter(bootstrap, guarantee, app, in, parts, want, true);
        System.out.println("final counts " + want + " (" + lines.size() + " lines), each count emitted once across the crash");
    }

    static Map<String, Long> last(Map<String, List<Long>> counts) {
        Map<String, Long> m = new TreeMap<>();
        counts.forEach((k, v) -> m.put(k, v.get(v.size() - 1)));
        return m;
    }
}
