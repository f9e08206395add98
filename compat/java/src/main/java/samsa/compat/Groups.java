package samsa.compat;

import static samsa.compat.RoundTrip.check;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * Consumer groups with the Java client: subscribe, commit, resume from the
 * committed offsets, and two members splitting the partitions. protocol is
 * "classic" or "consumer" (KIP-848).
 */
final class Groups {
    private Groups() {}

    static KafkaConsumer<byte[], byte[]> member(String bootstrap, String group, String protocol) {
        return Edge.consumer(bootstrap, Map.of(
                ConsumerConfig.GROUP_ID_CONFIG, group,
                ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 100));
    }

    static void run(String bootstrap, String protocol) throws Exception {
        String topic = "java-group-" + protocol;
        String group = "java-group-" + protocol;
        int partitions = 4;
        int n = 2000;
        Edge.create(bootstrap, topic, partitions, Map.of());
        try (var p = Edge.producer(bootstrap, Map.of())) {
            for (int i = 0; i < n; i++) {
                p.send(new ProducerRecord<>(topic, ("k" + (i % 17)).getBytes(), ("v" + i).getBytes()));
            }
        }

        // 1. One member reads about half, commits exactly what it processed, and leaves.
        Map<TopicPartition, Long> next = new HashMap<>();
        Set<String> seen = new HashSet<>();
        try (var c = member(bootstrap, group, protocol)) {
            c.subscribe(List.of(topic));
            long deadline = System.currentTimeMillis() + 60_000;
            while (seen.size() < n / 2) {
                check(System.currentTimeMillis() < deadline, "first member consumed " + seen.size() + " in 60s");
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                    long want = next.getOrDefault(tp, 0L);
                    check(r.offset() == want, tp + ": offset " + r.offset() + ", want " + want);
                    next.put(tp, r.offset() + 1);
                    check(seen.add(new String(r.value())), "duplicate " + new String(r.value()));
                }
            }
            Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
            next.forEach((tp, o) -> commit.put(tp, new OffsetAndMetadata(o, "compat")));
            c.commitSync(commit);
            Map<TopicPartition, OffsetAndMetadata> committed = c.committed(next.keySet());
            for (var e : next.entrySet()) {
                OffsetAndMetadata om = committed.get(e.getKey());
                check(om != null && om.offset() == e.getValue() && "compat".equals(om.metadata()),
                        "committed(" + e.getKey() + ") = " + om + ", want " + e.getValue());
            }
        }
        int first = seen.size();

        // 2. Two new members of the same group split the partitions and resume at the commits.
        try (var a = member(bootstrap, group, protocol); var b = member(bootstrap, group, protocol)) {
            a.subscribe(List.of(topic));
            b.subscribe(List.of(topic));
            List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
            long deadline = System.currentTimeMillis() + 90_000;
            while (seen.size() < n || a.assignment().isEmpty() || b.assignment().isEmpty()) {
                check(System.currentTimeMillis() < deadline, "after resume: " + seen.size() + " of " + n
                        + " consumed; assignments " + a.assignment() + " / " + b.assignment());
                a.poll(Duration.ofMillis(100)).forEach(got::add);
                b.poll(Duration.ofMillis(100)).forEach(got::add);
                for (var r : got) {
                    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                    long want = next.getOrDefault(tp, 0L);
                    // A rebalance may hand a partition over before its new owner's first
                    // commit: re-delivery is allowed (at least once), skipping is not.
                    check(r.offset() <= want, tp + ": offset " + r.offset() + " skips past " + want);
                    if (r.offset() == want) {
                        next.put(tp, want + 1);
                    }
                    seen.add(new String(r.value()));
                }
                got.clear();
                a.commitSync();
                b.commitSync();
            }
            Set<TopicPartition> union = new HashSet<>(a.assignment());
            union.addAll(b.assignment());
            check(union.size() == partitions && a.assignment().size() + b.assignment().size() == partitions,
                    "assignments overlap or miss partitions: " + a.assignment() + " / " + b.assignment());
        }
        check(seen.size() == n, "consumed " + seen.size() + " distinct records of " + n);
        System.out.println("first member " + first + " records, then two members the rest, protocol " + protocol);
    }
}
