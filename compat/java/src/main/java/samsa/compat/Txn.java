package samsa.compat;

import static samsa.compat.RoundTrip.check;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Transactions (exactly-once) with Kafka's Java client. Usage:
 *
 * <pre>
 * Txn BOOTSTRAP txn-consume-transform-produce   (classic group protocol)
 * Txn BOOTSTRAP txn-etl-consumer-protocol       (the same with group.protocol=consumer, KIP-848)
 * Txn BOOTSTRAP txn-timeout
 * Txn BOOTSTRAP txn-abort-read-committed
 * Txn BOOTSTRAP hold TRANSACTIONAL-ID TOPIC   (for kafka-transactions.sh: see below)
 * </pre>
 *
 * Exits 0 when every check passes; otherwise prints "FAIL: why" and exits 1.
 */
public final class Txn {
    private Txn() {}

    static String bootstrap;

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: Txn BOOTSTRAP SCENARIO [ARGS]");
            System.exit(2);
        }
        bootstrap = args[0];
        RoundTrip.bootstrap = args[0];
        String scenario = args[1];
        try {
            switch (scenario) {
                case "txn-consume-transform-produce" -> consumeTransformProduce("classic");
                case "txn-etl-consumer-protocol" -> consumeTransformProduce("consumer");
                case "txn-timeout" -> timeout();
                case "txn-abort-read-committed" -> abortReadCommitted();
                case "hold" -> hold(args[2], args[3]);
                default -> throw new RoundTrip.Check("unknown scenario " + scenario);
            }
        } catch (RoundTrip.Check c) {
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

    static KafkaProducer<String, String> producer(Map<String, Object> extra) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000);
        p.putAll(extra);
        return new KafkaProducer<>(p);
    }

    static KafkaProducer<String, String> txnProducer(String txnId) {
        return producer(Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId,
                ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 60_000));
    }

    static KafkaConsumer<String, String> consumer(Map<String, Object> extra) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.putAll(extra);
        return new KafkaConsumer<>(p);
    }

    static KafkaConsumer<String, String> reader(String isolation) {
        return consumer(Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation));
    }

    static List<TopicPartition> tps(String topic, int partitions) {
        List<TopicPartition> l = new ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            l.add(new TopicPartition(topic, p));
        }
        return l;
    }

    /**
     * Reads every partition from the beginning up to the end offsets the
     * consumer's isolation level reports (the LSO for read_committed, the
     * high watermark for read_uncommitted); checks offsets only grow.
     */
    static Map<Integer, List<ConsumerRecord<String, String>>> readAll(KafkaConsumer<String, String> c,
            List<TopicPartition> tps, int seconds) throws Exception {
        c.assign(tps);
        c.seekToBeginning(tps);
        Map<TopicPartition, Long> end = c.endOffsets(tps);
        Map<Integer, List<ConsumerRecord<String, String>>> got = new TreeMap<>();
        for (TopicPartition tp : tps) {
            got.put(tp.partition(), new ArrayList<>());
        }
        long deadline = System.currentTimeMillis() + seconds * 1000L;
        while (true) {
            boolean done = true;
            for (TopicPartition tp : tps) {
                done &= c.position(tp) >= end.get(tp);
            }
            if (done) {
                break;
            }
            check(System.currentTimeMillis() < deadline, "reading " + tps + ": positions "
                    + positions(c, tps) + " did not reach the end offsets " + end + " in " + seconds + "s");
            for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                List<ConsumerRecord<String, String>> l = got.get(r.partition());
                long prev = l.isEmpty() ? -1 : l.get(l.size() - 1).offset();
                check(prev < r.offset(), r.topic() + "-" + r.partition() + ": offset " + r.offset() + " after " + prev);
                l.add(r);
            }
        }
        for (TopicPartition tp : tps) {
            check(c.position(tp) == end.get(tp).longValue(),
                    tp + ": position " + c.position(tp) + " beyond the end offset " + end.get(tp));
        }
        return got;
    }

    static Map<TopicPartition, Long> positions(KafkaConsumer<String, String> c, List<TopicPartition> tps) {
        Map<TopicPartition, Long> m = new TreeMap<>((a, b) -> a.toString().compareTo(b.toString()));
        for (TopicPartition tp : tps) {
            m.put(tp, c.position(tp));
        }
        return m;
    }

    static List<String> values(List<ConsumerRecord<String, String>> l) {
        List<String> v = new ArrayList<>();
        for (ConsumerRecord<String, String> r : l) {
            v.add(r.value());
        }
        return v;
    }

    static boolean fenced(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ProducerFencedException || t instanceof InvalidProducerEpochException) {
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------------
    // txn-consume-transform-produce

    /** One instance of the ETL: a group member and a transactional producer with the same transactional.id. */
    static final class Etl {
        final String name;
        final KafkaConsumer<String, String> consumer;
        final KafkaProducer<String, String> producer;

        Etl(String name, String group, String txnId, String in, String protocol) {
            this.name = name;
            consumer = consumer(Map.of(
                    ConsumerConfig.GROUP_ID_CONFIG, group,
                    ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol,
                    ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                    ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                    ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 100));
            producer = txnProducer(txnId);
            producer.initTransactions();
            consumer.subscribe(List.of(in));
        }
    }

    static String etlIn;
    static String etlOut;
    static int etlBatches;
    static int etlAborted;
    static int etlSent;

    /**
     * One poll's records in one transaction: each input record becomes
     * "out:VALUE" in the same partition number of the output topic, and the
     * consumer's next offsets go into the same transaction. Every 5th batch is
     * aborted on purpose and the consumer seeks back to re-process it.
     * Returns the number of input records committed.
     */
    static int processBatch(Etl etl, ConsumerRecords<String, String> recs, boolean commit) throws Exception {
        etlBatches++;
        boolean abort = commit && etlBatches % 5 == 0;
        Map<TopicPartition, Long> first = new HashMap<>();
        Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
        etl.producer.beginTransaction();
        List<Future<RecordMetadata>> futures = new ArrayList<>();
        for (ConsumerRecord<String, String> r : recs) {
            TopicPartition tp = new TopicPartition(r.topic(), r.partition());
            first.putIfAbsent(tp, r.offset());
            next.put(tp, new OffsetAndMetadata(r.offset() + 1));
            futures.add(etl.producer.send(new ProducerRecord<>(etlOut, r.partition(), r.key(), "out:" + r.value())));
        }
        etlSent += recs.count();
        etl.producer.sendOffsetsToTransaction(next, etl.consumer.groupMetadata());
        if (!commit) {
            // The crash: records and offsets are in the open transaction, which never ends.
            etl.producer.flush();
            for (Future<RecordMetadata> f : futures) {
                f.get();
            }
            return 0;
        }
        if (abort) {
            // Flushed first, so that the aborted records are in the log (a
            // read_uncommitted reader sees them) and only the markers hide them.
            etl.producer.flush();
            for (Future<RecordMetadata> f : futures) {
                f.get();
            }
            etl.producer.abortTransaction();
            etlAborted++;
            for (Map.Entry<TopicPartition, Long> e : first.entrySet()) {
                etl.consumer.seek(e.getKey(), e.getValue());
            }
            return 0;
        }
        etl.producer.commitTransaction();
        for (Future<RecordMetadata> f : futures) {
            check(f.isDone(), "a send of a committed transaction is not acknowledged");
            f.get();
        }
        return recs.count();
    }

    /** Runs the ETL until it has committed at least `until` input records or consumed up to `end`. */
    static int runEtl(Etl etl, int already, int until, Map<TopicPartition, Long> end, int seconds) throws Exception {
        int done = already;
        long deadline = System.currentTimeMillis() + seconds * 1000L;
        while (done < until) {
            check(System.currentTimeMillis() < deadline, etl.name + ": committed " + done + " input records of "
                    + until + " in " + seconds + "s (positions " + (etl.consumer.assignment().isEmpty() ? "none"
                    : positions(etl.consumer, new ArrayList<>(etl.consumer.assignment()))) + ")");
            ConsumerRecords<String, String> recs = etl.consumer.poll(Duration.ofMillis(200));
            if (recs.isEmpty()) {
                if (etl.consumer.assignment().size() == end.size()) {
                    boolean atEnd = true;
                    for (TopicPartition tp : end.keySet()) {
                        atEnd &= etl.consumer.position(tp) >= end.get(tp);
                    }
                    check(!atEnd, etl.name + ": consumed to the end of the input, but committed only " + done + " of " + until);
                }
                continue;
            }
            done += processBatch(etl, recs, true);
        }
        return done;
    }

    static void consumeTransformProduce(String protocol) throws Exception {
        String base = protocol.equals("classic") ? "java-txn-etl" : "java-txn-etl-" + protocol;
        etlIn = base + "-in";
        etlOut = base + "-out";
        String group = base;
        String txnId = base;
        int parts = 3;
        int n = 3000;
        Edge.create(bootstrap, etlIn, parts, Map.of());
        Edge.create(bootstrap, etlOut, parts, Map.of());

        // The input: n records, round-robin over the partitions, not transactional.
        Map<Integer, List<String>> input = new TreeMap<>();
        try (KafkaProducer<String, String> p = producer(Map.of())) {
            List<Future<RecordMetadata>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String v = "in-" + i;
                input.computeIfAbsent(i % parts, k -> new ArrayList<>()).add(v);
                fs.add(p.send(new ProducerRecord<>(etlIn, i % parts, "k" + (i % 31), v)));
            }
            for (int i = 0; i < n; i++) {
                RecordMetadata md = fs.get(i).get();
                check(md.offset() == i / parts, "input record " + i + " at offset " + md.offset() + ", want " + i / parts);
            }
        }
        Map<TopicPartition, Long> inEnd = new HashMap<>();
        for (TopicPartition tp : tps(etlIn, parts)) {
            inEnd.put(tp, (long) input.get(tp.partition()).size());
        }

        // Instance 1 commits about half, then "crashes" in the middle of a
        // transaction: its records and offsets are sent, the transaction is
        // never ended, its producer stays open (a zombie).
        Etl a = new Etl("instance 1", group, txnId, etlIn, protocol);
        int done = runEtl(a, 0, n / 2, inEnd, 90);
        check(etlAborted > 0, "instance 1 aborted no transaction");
        int zombieBatch = 0;
        long deadline = System.currentTimeMillis() + 30_000;
        while (zombieBatch == 0) {
            check(System.currentTimeMillis() < deadline, "instance 1: no records for the crash batch");
            ConsumerRecords<String, String> recs = a.consumer.poll(Duration.ofMillis(200));
            if (!recs.isEmpty()) {
                processBatch(a, recs, false);
                zombieBatch = recs.count();
            }
        }
        a.consumer.close(); // leaves the group without committing anything
        System.out.println("instance 1: committed " + done + " input records, then crashed with " + zombieBatch
                + " records and their offsets in an open transaction");

        // Instance 2, same transactional.id: initTransactions fences instance 1
        // and aborts its open transaction.
        Etl b = new Etl("instance 2", group, txnId, etlIn, protocol);
        try {
            a.producer.commitTransaction();
            throw new RoundTrip.Check("the zombie committed its transaction after instance 2's initTransactions");
        } catch (RoundTrip.Check c) {
            throw c;
        } catch (Exception e) {
            check(fenced(e), "the zombie's commitTransaction: want ProducerFencedException or "
                    + "InvalidProducerEpochException, got " + e);
            System.out.println("the zombie's commitTransaction failed with " + e);
        }
        a.producer.close(Duration.ZERO);

        // Instance 2 resumes from the group's committed offsets and finishes.
        done = runEtl(b, done, n, inEnd, 120);
        check(done == n, "instance 2: committed " + done + " input records in all, want " + n);
        b.consumer.close();
        b.producer.close();
        System.out.println("the ETL made " + etlBatches + " transactions, aborted " + etlAborted + " on purpose and "
                + "1 by the fence; " + etlSent + " output records sent");

        // A read_committed reader of the output sees every input record exactly once, in order per partition.
        try (KafkaConsumer<String, String> c = reader("read_committed")) {
            Map<Integer, List<ConsumerRecord<String, String>>> got = readAll(c, tps(etlOut, parts), 60);
            for (int p = 0; p < parts; p++) {
                List<String> want = new ArrayList<>();
                for (String v : input.get(p)) {
                    want.add("out:" + v);
                }
                List<String> have = values(got.get(p));
                if (!have.equals(want)) {
                    int i = 0;
                    while (i < have.size() && i < want.size() && have.get(i).equals(want.get(i))) {
                        i++;
                    }
                    throw new RoundTrip.Check("read_committed output partition " + p + ": " + have.size()
                            + " records, want " + want.size() + "; first difference at #" + i + ": "
                            + (i < have.size() ? have.get(i) + " at offset " + got.get(p).get(i).offset() : "(end)")
                            + ", want " + (i < want.size() ? want.get(i) : "(end)"));
                }
            }
        }
        // read_uncommitted sees the aborted records as well (every record sent).
        try (KafkaConsumer<String, String> c = reader("read_uncommitted")) {
            int total = 0;
            for (List<ConsumerRecord<String, String>> l : readAll(c, tps(etlOut, parts), 60).values()) {
                total += l.size();
            }
            check(total == etlSent, "read_uncommitted output: " + total + " records, want every one sent: " + etlSent);
        }
        // The group's committed offsets are the input's end offsets.
        try (Admin admin = RoundTrip.newAdmin()) {
            Map<TopicPartition, OffsetAndMetadata> committed =
                    admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
            for (Map.Entry<TopicPartition, Long> e : inEnd.entrySet()) {
                OffsetAndMetadata om = committed.get(e.getKey());
                check(om != null && om.offset() == e.getValue(), "group " + group + " committed offset of "
                        + e.getKey() + ": " + om + ", want " + e.getValue());
            }
            TransactionDescription d = admin.describeTransactions(List.of(txnId)).description(txnId).get();
            check(d.state() == TransactionState.COMPLETE_COMMIT && d.topicPartitions().isEmpty(),
                    "describeTransactions " + txnId + ": " + d + ", want CompleteCommit with no partitions");
        }
    }

    // ---------------------------------------------------------------------
    // txn-abort-read-committed

    /**
     * On two partitions: a committed transaction A, an aborted B, a committed
     * C and an open D. read_committed sees A and C and stops at D's first
     * offset (the LSO); read_uncommitted sees all four up to the high
     * watermark. After D commits, read_committed sees it too.
     */
    static void abortReadCommitted() throws Exception {
        String topic = "java-txn-abort";
        int parts = 2;
        Edge.create(bootstrap, topic, parts, Map.of());
        List<TopicPartition> tps = tps(topic, parts);
        Map<String, List<RecordMetadata>> sent = new HashMap<>();
        Map<Integer, List<String>> committed = new TreeMap<>();
        Map<Integer, List<String>> all = new TreeMap<>();
        try (KafkaProducer<String, String> p = txnProducer("java-txn-abort")) {
            p.initTransactions();
            String[][] txns = {{"A", "commit"}, {"B", "abort"}, {"C", "commit"}, {"D", "open"}};
            int[] sizes = {5, 7, 3, 4};
            for (int t = 0; t < txns.length; t++) {
                String name = txns[t][0];
                p.beginTransaction();
                List<Future<RecordMetadata>> fs = new ArrayList<>();
                for (int i = 0; i < sizes[t]; i++) {
                    for (int part = 0; part < parts; part++) {
                        String v = name + "-" + part + "-" + i;
                        fs.add(p.send(new ProducerRecord<>(topic, part, "k" + i, v)));
                        all.computeIfAbsent(part, k -> new ArrayList<>()).add(v);
                        committed.computeIfAbsent(part, k -> new ArrayList<>());
                        if (txns[t][1].equals("commit")) {
                            committed.get(part).add(v);
                        }
                    }
                }
                p.flush();
                List<RecordMetadata> mds = new ArrayList<>();
                for (Future<RecordMetadata> f : fs) {
                    mds.add(f.get());
                }
                sent.put(name, mds);
                switch (txns[t][1]) {
                    case "commit" -> p.commitTransaction();
                    case "abort" -> p.abortTransaction();
                    default -> { }
                }
            }
            // D is open. Its first offset per partition is the LSO.
            Map<TopicPartition, Long> lso = new HashMap<>();
            Map<TopicPartition, Long> hw = new HashMap<>();
            for (RecordMetadata md : sent.get("D")) {
                TopicPartition tp = new TopicPartition(topic, md.partition());
                lso.merge(tp, md.offset(), Math::min);
                hw.merge(tp, md.offset() + 1, Math::max);
            }
            System.out.println("open transaction D: LSO " + lso + ", high watermark " + hw);
            checkReads(tps, committed, all, lso, hw, "with D open");

            p.commitTransaction();
            // After D's commit marker the LSO is the high watermark.
            for (int part = 0; part < parts; part++) {
                for (String v : all.get(part)) {
                    if (v.startsWith("D-")) {
                        committed.get(part).add(v);
                    }
                }
            }
        }
        Map<TopicPartition, Long> hw;
        try (KafkaConsumer<String, String> c = reader("read_uncommitted")) {
            hw = c.endOffsets(tps);
        }
        for (TopicPartition tp : tps) {
            // A's, B's, C's, D's records and four markers.
            long want = 5 + 7 + 3 + 4 + 4;
            check(hw.get(tp) == want, tp + ": high watermark " + hw.get(tp) + " after D's commit, want " + want);
        }
        checkReads(tps, committed, all, hw, hw, "after D's commit");
    }

    static void checkReads(List<TopicPartition> tps, Map<Integer, List<String>> committed,
            Map<Integer, List<String>> all, Map<TopicPartition, Long> lso, Map<TopicPartition, Long> hw,
            String when) throws Exception {
        try (KafkaConsumer<String, String> c = reader("read_committed")) {
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            check(end.equals(lso), "read_committed endOffsets " + when + ": " + end + ", want the LSO " + lso);
            c.assign(tps);
            c.seekToEnd(tps);
            for (TopicPartition tp : tps) {
                check(c.position(tp) == lso.get(tp).longValue(), "read_committed seekToEnd " + when
                        + ": " + tp + " position " + c.position(tp) + ", want the LSO " + lso.get(tp));
            }
            Map<Integer, List<ConsumerRecord<String, String>>> got = readAll(c, tps, 30);
            for (TopicPartition tp : tps) {
                List<String> have = values(got.get(tp.partition()));
                check(have.equals(committed.get(tp.partition())), "read_committed " + when + ", " + tp + ": "
                        + have + ", want " + committed.get(tp.partition()));
            }
            // Nothing more arrives while D is open.
            check(c.poll(Duration.ofMillis(500)).isEmpty(), "read_committed " + when + ": records beyond the LSO");
        }
        try (KafkaConsumer<String, String> c = reader("read_uncommitted")) {
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            check(end.equals(hw), "read_uncommitted endOffsets " + when + ": " + end + ", want the high watermark " + hw);
            Map<Integer, List<ConsumerRecord<String, String>>> got = readAll(c, tps, 30);
            for (TopicPartition tp : tps) {
                List<String> have = values(got.get(tp.partition()));
                check(have.equals(all.get(tp.partition())), "read_uncommitted " + when + ", " + tp + ": "
                        + have + ", want " + all.get(tp.partition()));
            }
        }
        try (Admin admin = RoundTrip.newAdmin()) {
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            for (TopicPartition tp : tps) {
                latest.put(tp, OffsetSpec.latest());
            }
            var rc = admin.listOffsets(latest, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all().get();
            var ru = admin.listOffsets(latest, new ListOffsetsOptions(IsolationLevel.READ_UNCOMMITTED)).all().get();
            for (TopicPartition tp : tps) {
                check(rc.get(tp).offset() == lso.get(tp), "Admin.listOffsets(latest, READ_COMMITTED) " + when + ": "
                        + tp + " " + rc.get(tp).offset() + ", want the LSO " + lso.get(tp));
                check(ru.get(tp).offset() == hw.get(tp), "Admin.listOffsets(latest, READ_UNCOMMITTED) " + when + ": "
                        + tp + " " + ru.get(tp).offset() + ", want the high watermark " + hw.get(tp));
            }
        }
    }

    // ---------------------------------------------------------------------
    // txn-timeout

    /**
     * A transaction left open past its transaction.timeout.ms (3 s): the
     * coordinator aborts it by itself (DescribeTransactions shows
     * CompleteAbort, the LSO moves past it, read_committed never sees its
     * records), the late commitTransaction fails, and a new producer with the
     * same transactional.id commits.
     */
    static void timeout() throws Exception {
        String topic = "java-txn-timeout";
        String txnId = "java-txn-timeout";
        Edge.create(bootstrap, topic, 1, Map.of());
        TopicPartition tp = new TopicPartition(topic, 0);
        KafkaProducer<String, String> p = producer(Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId,
                ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 3000));
        p.initTransactions();
        p.beginTransaction();
        for (int i = 0; i < 5; i++) {
            p.send(new ProducerRecord<>(topic, 0, "k" + i, "timed-out-" + i));
        }
        p.flush();
        long t0 = System.currentTimeMillis();
        try (Admin admin = RoundTrip.newAdmin()) {
            TransactionDescription d = admin.describeTransactions(List.of(txnId)).description(txnId).get();
            check(d.state() == TransactionState.ONGOING, "describeTransactions right after the sends: " + d.state()
                    + ", want Ongoing");
            check(d.transactionTimeoutMs() == 3000, "describeTransactions: timeout " + d.transactionTimeoutMs() + ", want 3000");
            while (true) {
                d = admin.describeTransactions(List.of(txnId)).description(txnId).get();
                if (d.state() == TransactionState.COMPLETE_ABORT) {
                    break;
                }
                check(System.currentTimeMillis() - t0 < 45_000, "45s after the sends the transaction (timeout 3s) is "
                        + d.state() + ", want CompleteAbort (the coordinator aborts timed-out transactions)");
                Thread.sleep(200);
            }
            System.out.println("the coordinator aborted the timed-out transaction after "
                    + (System.currentTimeMillis() - t0) + " ms; producer epoch now " + d.producerEpoch());
        }
        try (KafkaConsumer<String, String> c = reader("read_committed")) {
            long lso = c.endOffsets(List.of(tp)).get(tp);
            check(lso == 6, "read_committed end offset (LSO) after the timeout abort " + lso + ", want 6 (5 records and the abort marker)");
            var got = readAll(c, List.of(tp), 20);
            check(got.get(0).isEmpty(), "read_committed sees records of the timed-out transaction: " + values(got.get(0)));
        }
        try {
            p.commitTransaction();
            throw new RoundTrip.Check("commitTransaction of a transaction the coordinator aborted on its timeout succeeded");
        } catch (RoundTrip.Check c) {
            throw c;
        } catch (Exception e) {
            System.out.println("the late commitTransaction failed with " + e);
        } finally {
            p.close(Duration.ZERO);
        }
        try (KafkaProducer<String, String> p2 = txnProducer(txnId)) {
            p2.initTransactions();
            p2.beginTransaction();
            for (int i = 0; i < 3; i++) {
                p2.send(new ProducerRecord<>(topic, 0, "k" + i, "after-" + i));
            }
            p2.commitTransaction();
        }
        try (KafkaConsumer<String, String> c = reader("read_committed")) {
            var got = readAll(c, List.of(tp), 20);
            check(values(got.get(0)).equals(List.of("after-0", "after-1", "after-2")),
                    "read_committed after the new producer's commit: " + values(got.get(0)));
            check(got.get(0).get(0).offset() == 6, "the new producer's first record at offset " + got.get(0).get(0).offset() + ", want 6");
        }
    }

    // ---------------------------------------------------------------------
    // hold: a transaction left open for kafka-transactions.sh

    /**
     * Opens a transaction with TRANSACTIONAL-ID: 5 records to partition 0 and
     * 3 to partition 1 of TOPIC, then prints "OPEN p0=OFFSET p1=OFFSET" (the
     * first offset of each) and waits for a line on stdin: "commit" commits
     * and prints "COMMITTED", "abort" aborts and prints "ABORTED".
     */
    static void hold(String txnId, String topic) throws Exception {
        try (KafkaProducer<String, String> p = txnProducer(txnId)) {
            p.initTransactions();
            p.beginTransaction();
            List<Future<RecordMetadata>> fs = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                fs.add(p.send(new ProducerRecord<>(topic, i < 5 ? 0 : 1, "k" + i, "held-" + i)));
            }
            p.flush();
            long p0 = fs.get(0).get().offset();
            long p1 = fs.get(5).get().offset();
            System.out.println("OPEN p0=" + p0 + " p1=" + p1);
            System.out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line = in.readLine();
            check(line != null, "stdin closed before a command");
            switch (line.trim()) {
                case "commit" -> {
                    p.commitTransaction();
                    System.out.println("COMMITTED");
                }
                case "abort" -> {
                    p.abortTransaction();
                    System.out.println("ABORTED");
                }
                default -> throw new RoundTrip.Check("unknown command " + line);
            }
            System.out.flush();
        }
    }
}
