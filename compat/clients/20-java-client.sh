# Apache Kafka's Java client (kafka-clients): KafkaProducer with its defaults
# (idempotence on, acks=all), KafkaConsumer with assign() and no group, and the
# Admin client. The program is compat/java/src/main/java/samsa/compat/RoundTrip.java.
# shellcheck shell=bash disable=SC2034

CLIENT=java-client
SCENARIOS=(roundtrip-idempotent compression-gzip compression-snappy compression-lz4 compression-zstd
	read-committed large-records-small-fetch record-too-large offset-out-of-range auto-create-topic
	acks-0-and-1 describe-producers-log-dirs
	admin offsets-for-times group-classic group-consumer-protocol)

client_version() {
	[[ -f $KAFKA_HOME/lib/kafka-clients-$KAFKA_VERSION.jar ]] && echo "kafka-clients $KAFKA_VERSION"
}

java_scenario() {
	need java "$KAFKA_HOME/samsa-compat.jar"
	run java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
		-cp "$KAFKA_HOME/samsa-compat.jar:$KAFKA_HOME/lib/*" samsa.compat.RoundTrip "$BOOTSTRAP" "$1"
}

sc_roundtrip_idempotent() { java_scenario roundtrip-idempotent; }
sc_compression_gzip() { java_scenario compression-gzip; }
sc_compression_snappy() { java_scenario compression-snappy; }
sc_compression_lz4() { java_scenario compression-lz4; }
sc_compression_zstd() { java_scenario compression-zstd; }
sc_admin() { java_scenario admin; }
sc_offsets_for_times() { java_scenario offsets-for-times; }
sc_read_committed() { java_scenario read-committed; }
sc_large_records_small_fetch() { java_scenario large-records-small-fetch; }
sc_record_too_large() { java_scenario record-too-large; }
sc_offset_out_of_range() { java_scenario offset-out-of-range; }
sc_auto_create_topic() { java_scenario auto-create-topic; }
sc_acks_0_and_1() { java_scenario acks-0-and-1; }
sc_describe_producers_log_dirs() { java_scenario describe-producers-log-dirs; }
sc_group_classic() { java_scenario group-classic; }
sc_group_consumer_protocol() { java_scenario group-consumer-protocol; }
