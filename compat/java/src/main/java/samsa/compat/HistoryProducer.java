package samsa.compat;

import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A producer for `samsa chaos --client`: Kafka's Java client, idempotent
 * with acks=all, sends values "java-NNNNNNNNN" to the campaign's topic at
 * about 1,000 records a second until STOP-FILE exists, and writes one
 * history "produce" event per record (docs/history-checker.md) to HISTORY.
 * A record whose send failed is recorded with outcome "unknown": it may
 * still have been written.
 *
 * <pre>
 * HistoryProducer BOOTSTRAP TOPIC HISTORY STOP-FILE
 * </pre>
 */
public final class HistoryProducer {
    private HistoryProducer() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: HistoryProducer BOOTSTRAP TOPIC HISTORY STOP-FILE");
            System.exit(2);
        }
        String topic = args[1];
        Path stop = Path.of(args[3]);
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120_000);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        long sent = 0;
        try (BufferedWriter out = Files.newBufferedWriter(Path.of(args[2]), StandardCharsets.UTF_8);
             KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            // Partitions chosen here, round robin, so that a failed send has
            // one to record too.
            int partitions = producer.partitionsFor(topic).size();
            long began = System.currentTimeMillis();
            while (!Files.exists(stop)) {
                long seq = ++sent;
                String value = String.format("java-%09d", seq);
                int partition = (int) (seq % partitions);
                long start = System.currentTimeMillis() * 1_000_000L;
                producer.send(new ProducerRecord<>(topic, partition, null, value), (md, err) -> {
                    long end = System.currentTimeMillis() * 1_000_000L;
                    String line;
                    if (err == null) {
                        line = String.format("{\"type\":\"produce\",\"client\":\"java\",\"producer\":\"java\",\"idempotent\":true,"
                                + "\"topic\":\"%s\",\"partition\":%d,\"value\":\"%s\",\"seq\":%d,\"start\":%d,\"end\":%d,"
                                + "\"outcome\":\"ok\",\"offset\":%d}", topic, md.partition(), value, seq, start, end, md.offset());
                    } else {
                        line = String.format("{\"type\":\"produce\",\"client\":\"java\",\"producer\":\"java\",\"idempotent\":true,"
                                + "\"topic\":\"%s\",\"partition\":%d,\"value\":\"%s\",\"seq\":%d,\"start\":%d,\"end\":%d,"
                                + "\"outcome\":\"unknown\",\"offset\":-1}", topic, partition, value, seq, start, end);
                    }
                    synchronized (out) {
                        try {
                            out.write(line);
                            out.newLine();
                        } catch (Exception e) {
                            throw new RuntimeException(e);
                        }
                    }
                });
                long due = began + sent; // one record a millisecond
                long wait = due - System.currentTimeMillis();
                if (wait > 0) {
                    Thread.sleep(wait);
                }
            }
            producer.flush();
        }
        System.out.println("java: " + sent + " records sent");
    }
}
