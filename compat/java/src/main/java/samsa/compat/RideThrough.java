package samsa.compat;

import static samsa.compat.RoundTrip.check;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The cluster phase's leader-kill ride-through, in two steps the scenario
 * (compat/clients/80-cluster.sh) runs around a kill -9 of a partition leader.
 *
 * <pre>
 * RideThrough BOOTSTRAP produce TOPIC N ACKED-FILE MARKER-FILE
 *   KafkaProducer with acks=all and idempotence (its defaults, stated anyway)
 *   sends N keyed records at a steady pace; once a quarter of them are
 *   acknowledged it creates MARKER-FILE (the scenario then kills the leader)
 *   and goes on. Every acknowledged record is written to ACKED-FILE as
 *   "partition offset value". Exits 1 if any send failed: with a delivery
 *   timeout of two minutes, a failover of a few seconds must not fail any.
 * RideThrough BOOTSTRAP verify TOPIC ACKED-FILE
 *   KafkaConsumer (assign, no group) reads every partition from the start to
 *   its end offset and checks each acknowledged record is at its acknowledged
 *   offset, and that no value appears twice.
 * </pre>
 */
public final class RideThrough {
    private RideThrough() {}

    public static void main(String[] args) throws Exception {
        try {
            if (args.length == 6 && args[1].equals("produce")) {
                produce(args[0], args[2], Integer.parseInt(args[3]), Path.of(args[4]), Path.of(args[5]));
            } else if (args.length == 4 && args[1].equals("verify")) {
                verify(args[0], args[2], Path.of(args[3]));
            } else {
                System.err.println("usage: RideThrough BOOTSTRAP produce TOPIC N ACKED-FILE MARKER-FILE"
                        + " | RideThrough BOOTSTRAP verify TOPIC ACKED-FILE");
                System.exit(2);
            }
        } catch (RoundTrip.Check c) {
            System.err.println("FAIL: " + c.getMessage());
            System.exit(1);
        }
        System.exit(0);
    }

    record Acked(int partition, long offset, String value) {}

    static void produce(String bootstrap, String topic, int n, Path ackedFile, Path marker) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120_000);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        ConcurrentLinkedQueue<Acked> acked = new ConcurrentLinkedQueue<>();
        AtomicInteger ackCount = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        AtomicReference<Exception> firstError = new AtomicReference<>();
        // The longest stretch without an acknowledgement: how long the
        // failover held the producer up.
        AtomicLong lastAck = new AtomicLong(System.currentTimeMillis());
        AtomicLong longestGapMs = new AtomicLong();
        long start = System.currentTimeMillis();
        // A steady pace (about 2,500 records a second), so that producing
        // spans the kill and the failover instead of finishing first.
        final int perMs = 5;
        final int stepMs = 2;
        boolean marked = false;
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            for (int i = 0; i < n; i++) {
                String value = String.format("ride-%06d", i);
                producer.send(new ProducerRecord<>(topic, "key-" + (i % 64), value), (md, err) -> {
                    if (err != null) {
                        failed.incrementAndGet();
                        firstError.compareAndSet(null, err);
                        return;
                    }
                    acked.add(new Acked(md.partition(), md.offset(), value));
                    ackCount.incrementAndGet();
                    long now = System.currentTimeMillis();
                    longestGapMs.accumulateAndGet(now - lastAck.getAndSet(now), Math::max);
                });
                if (i % perMs == perMs - 1) {
                    long due = start + (long) (i / perMs + 1) * stepMs;
                    long wait = due - System.currentTimeMillis();
                    if (wait > 0) {
                        Thread.sleep(wait);
                    }
                }
                if (!marked && ackCount.get() >= n / 4) {
                    Files.writeString(marker, ackCount.get() + "\n");
                    marked = true;
                }
            }
            producer.flush();
        }
        if (!marked) {
            Files.writeString(marker, ackCount.get() + "\n");
        }
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(ackedFile, StandardCharsets.UTF_8))) {
            for (Acked a : acked) {
                w.println(a.partition() + " " + a.offset() + " " + a.value());
            }
        }
        long secs = (System.currentTimeMillis() - start) / 1000;
        System.out.println("acknowledged " + ackCount.get() + " of " + n + " in " + secs + "s, failed " + failed.get()
                + "; longest stretch without an acknowledgement " + longestGapMs.get() + " ms");
        check(failed.get() == 0, failed.get() + " of " + n + " sends failed, first: " + firstError.get());
        check(ackCount.get() == n, "only " + ackCount.get() + " of " + n + " acknowledged");
    }

    static void verify(String bootstrap, String topic, Path ackedFile) throws Exception {
        Map<TopicPartition, Map<Long, String>> want = new HashMap<>();
        int n = 0;
        for (String line : Files.readAllLines(ackedFile, StandardCharsets.UTF_8)) {
            String[] f = line.split(" ");
            want.computeIfAbsent(new TopicPartition(topic, Integer.parseInt(f[0])), k -> new HashMap<>())
                    .put(Long.parseLong(f[1]), f[2]);
            n++;
        }
        check(n > 0, "no acknowledged records in " + ackedFile);
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            List<TopicPartition> tps = new ArrayList<>();
            consumer.partitionsFor(topic).forEach(pi -> tps.add(new TopicPartition(topic, pi.partition())));
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<TopicPartition, Long> ends = consumer.endOffsets(tps, Duration.ofSeconds(30));
            Map<TopicPartition, Long> next = new HashMap<>();
            Set<String> seen = new HashSet<>();
            int found = 0;
            long deadline = System.currentTimeMillis() + 60_000;
            while (!caughtUp(tps, next, ends)) {
                check(System.currentTimeMillis() < deadline, "timed out reading: at " + next + ", ends " + ends);
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                    next.put(tp, r.offset() + 1);
                    check(seen.add(r.value()), "value " + r.value() + " appears twice (again at " + tp + " offset " + r.offset() + ")");
                    String w = want.getOrDefault(tp, Map.of()).get(r.offset());
                    if (w != null) {
                        check(w.equals(r.value()), tp + " offset " + r.offset() + " holds " + r.value() + ", acknowledged " + w);
                        found++;
                    }
                }
            }
            check(found == n, "read " + found + " of the " + n + " acknowledged records back (end offsets " + ends + ")");
            System.out.println("read back all " + n + " acknowledged records at their offsets; end offsets " + ends);
        }
    }

    static boolean caughtUp(List<TopicPartition> tps, Map<TopicPartition, Long> next, Map<TopicPartition, Long> ends) {
        for (TopicPartition tp : tps) {
            if (next.getOrDefault(tp, 0L) < ends.get(tp)) {
                return false;
            }
        }
        return true;
    }
}
