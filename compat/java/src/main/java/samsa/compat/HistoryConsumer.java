package samsa.compat;

import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * A consumer for `samsa chaos --client`: Kafka's Java client in consumer
 * group "chaos-java", reading the campaign's topic from the earliest offset
 * until STOP-FILE exists, and writing one history "consume" event per
 * record, with "assign" and "revoke" events for its partitions
 * (docs/history-checker.md), to HISTORY. Each assignment of a partition
 * starts a new session: offsets need rise only within one.
 *
 * <pre>
 * HistoryConsumer BOOTSTRAP TOPIC HISTORY STOP-FILE
 * </pre>
 */
public final class HistoryConsumer {
    private static final String GROUP = "chaos-java";
    private static final String MEMBER = "java-consumer";

    private HistoryConsumer() {}

    /** json quotes s as a JSON string. */
    static String json(String s) {
        if (s == null) {
            return "\"\"";
        }
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: HistoryConsumer BOOTSTRAP TOPIC HISTORY STOP-FILE");
            System.exit(2);
        }
        String topic = args[1];
        Path stop = Path.of(args[3]);
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, GROUP);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, MEMBER);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        long read = 0;
        Map<Integer, Long> sessions = new HashMap<>();
        long[] session = {0};
        try (BufferedWriter out = Files.newBufferedWriter(Path.of(args[2]), StandardCharsets.UTF_8);
             KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            ConsumerRebalanceListener listener = new ConsumerRebalanceListener() {
                private void record(String type, Collection<TopicPartition> parts) {
                    try {
                        for (TopicPartition tp : parts) {
                            out.write(String.format("{\"type\":\"%s\",\"group\":\"%s\",\"member\":\"%s\",\"topic\":%s,\"partition\":%d,\"time\":%d}",
                                    type, GROUP, MEMBER, json(tp.topic()), tp.partition(), System.currentTimeMillis() * 1_000_000L));
                            out.newLine();
                        }
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> parts) {
                    session[0]++;
                    for (TopicPartition tp : parts) {
                        sessions.put(tp.partition(), session[0]);
                    }
                    record("assign", parts);
                }

                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> parts) {
                    for (TopicPartition tp : parts) {
                        sessions.remove(tp.partition());
                    }
                    record("revoke", parts);
                }

                @Override
                public void onPartitionsLost(Collection<TopicPartition> parts) {
                    onPartitionsRevoked(parts);
                }
            };
            consumer.subscribe(List.of(topic), listener);
            while (!Files.exists(stop)) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    StringBuilder line = new StringBuilder();
                    line.append(String.format("{\"type\":\"consume\",\"consumer\":\"%s\",\"group\":\"%s\",\"topic\":%s,\"partition\":%d,\"offset\":%d,",
                            MEMBER, GROUP, json(r.topic()), r.partition(), r.offset()));
                    if (r.key() != null) {
                        line.append("\"key\":").append(json(r.key())).append(',');
                    }
                    line.append(String.format("\"value\":%s,\"time\":%d,\"session\":%d}", json(r.value()),
                            System.currentTimeMillis() * 1_000_000L, sessions.getOrDefault(r.partition(), 0L)));
                    out.write(line.toString());
                    out.newLine();
                    read++;
                }
            }
        }
        System.out.println("java consumer: " + read + " records read");
    }
}
