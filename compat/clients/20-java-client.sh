# Apache Kafka's Java client (kafka-clients): KafkaProducer with its defaults
# (idempotence on, acks=all), KafkaConsumer with assign() and no group, and the
# Admin client. The program is compat/java/src/main/java/samsa/compat/RoundTrip.java;
# transactions are in Txn.java, Kafka Streams (kafka-streams) in StreamsWordCount.java,
# the security listeners in Security.java.
# shellcheck shell=bash disable=SC2034

CLIENT=java-client
SCENARIOS=(roundtrip-idempotent compression-gzip compression-snappy compression-lz4 compression-zstd
	read-committed large-records-small-fetch record-too-large offset-out-of-range auto-create-topic
	acks-0-and-1 describe-producers-log-dirs
	admin offsets-for-times group-classic group-consumer-protocol
	txn-consume-transform-produce txn-etl-consumer-protocol txn-abort-read-committed txn-timeout
	streams-eos-v2 streams-eos-v2-crash streams-at-least-once
	ssl-jks-truststore sasl-ssl-scram-sha-512 mtls-pkcs12-keystore sasl-wrong-password mtls-no-client-cert
	sasl-oauthbearer sasl-ssl-oauthbearer oauthbearer-refused sasl-oauthbearer-kafka-handler
	admin-mutation-quota)

client_version() {
	[[ -f $KAFKA_HOME/lib/kafka-clients-$KAFKA_VERSION.jar ]] && echo "kafka-clients $KAFKA_VERSION"
}

java_scenario() {
	java_main RoundTrip "$BOOTSTRAP" "$1"
}

# java_main CLASS ARGS...: one of the programs in compat/java (samsa.compat.CLASS).
java_main() {
	need java "$KAFKA_HOME/samsa-compat.jar"
	local class=$1
	shift
	run java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
		-cp "$KAFKA_HOME/samsa-compat.jar:$KAFKA_HOME/lib/*" "samsa.compat.$class" "$@"
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

# Transactions: a consume-transform-produce ETL with read_committed, offsets
# sent to the transaction, every 5th transaction aborted, and a crash
# half-way (the next instance fences the zombie); the output has every
# input record exactly once and the group's offsets are the input's end.
sc_txn_consume_transform_produce() { java_main Txn "$BOOTSTRAP" txn-consume-transform-produce; }
# The same with group.protocol=consumer (KIP-848): the offsets carry the member epoch.
sc_txn_etl_consumer_protocol() { java_main Txn "$BOOTSTRAP" txn-etl-consumer-protocol; }
# A transaction past its transaction.timeout.ms: the coordinator aborts it.
sc_txn_timeout() { java_main Txn "$BOOTSTRAP" txn-timeout; }
# Committed, aborted, committed and open transactions on two partitions:
# read_committed stops at the LSO and skips the aborted records.
sc_txn_abort_read_committed() { java_main Txn "$BOOTSTRAP" txn-abort-read-committed; }
# Kafka Streams word count (repartition topic, state store changelog) with
# exactly_once_v2, then with at_least_once.
sc_streams_eos_v2() { java_main StreamsWordCount "$BOOTSTRAP" exactly_once_v2 "$WORK/state"; }
# exactly_once_v2 again, the app killed with SIGKILL mid-stream and restarted
# on the same state directory: still each count exactly once.
sc_streams_eos_v2_crash() { java_main StreamsWordCount "$BOOTSTRAP" exactly_once_v2 "$WORK/state" crash; }
sc_streams_at_least_once() { java_main StreamsWordCount "$BOOTSTRAP" at_least_once "$WORK/state"; }

# The security listeners (run.sh), Security.java: a round trip through each
# (Admin, idempotent producer, consumer) and the refusals with the client's
# own exceptions.
security_scenario() {
	need_security
	export TLS_DIR TLS_PASSWORD SCRAM_USER SCRAM_PASSWORD PLAIN_USER PLAIN_PASSWORD
	oauth_token_files "$WORK/tokens"
	export OAUTH_TOKENS=$WORK/tokens
	java_main Security "$1"
}
# SSL with a JKS trust store made by keytool.
sc_ssl_jks_truststore() { security_scenario ssl-jks-truststore; }
# SASL_SSL with SCRAM-SHA-512, a PKCS12 trust store made by keytool.
sc_sasl_ssl_scram_sha_512() { security_scenario sasl-ssl-scram-sha-512; }
# ssl.client.auth=required with the client's PKCS12 key store made by openssl.
sc_mtls_pkcs12_keystore() { security_scenario mtls-pkcs12-keystore; }
# SaslAuthenticationException with Kafka's message: SCRAM-SHA-512 with a wrong
# password, SCRAM-SHA-256 for an unknown user, PLAIN with a wrong password.
sc_sasl_wrong_password() { security_scenario sasl-wrong-password; }
# SslAuthenticationException: the mTLS listener without a client certificate.
sc_mtls_no_client_cert() { security_scenario mtls-no-client-cert; }
# OAUTHBEARER with Kafka's OAuthBearerLoginModule and a login callback handler
# of ours (OAuthFileLogin.java, sasl.login.callback.handler.class) that reads
# the JWT from a file: a round trip on SASL_PLAINTEXT and on SASL_SSL; the
# broker's log holds no token.
sc_sasl_oauthbearer() {
	security_scenario sasl-oauthbearer
	expect_no_token_in_broker_log "$WORK/tokens/good"
}
sc_sasl_ssl_oauthbearer() {
	security_scenario sasl-ssl-oauthbearer
	expect_no_token_in_broker_log "$WORK/tokens/good"
}
# An expired token, a forged one (signed by a key the JWKS does not hold) and
# one for another audience: SaslAuthenticationException from the Admin client
# and a producer; the producer's topic holds nothing afterwards.
sc_oauthbearer_refused() {
	need_security
	samsa_topic java-sec-oauth-refused 1
	security_scenario oauthbearer-refused
	expect_topic_empty java-sec-oauth-refused 1
	expect_no_token_in_broker_log "$WORK/tokens/expired" "$WORK/tokens/forged" "$WORK/tokens/wrong-audience"
}
# OAUTHBEARER with nothing but Kafka's own classes: OAuthBearerLoginCallbackHandler
# with sasl.oauthbearer.token.endpoint.url=file:... (the token read from a
# file, allowed by the system property Kafka 4 asks for), the same round trip.
sc_sasl_oauthbearer_kafka_handler() {
	security_scenario sasl-oauthbearer-kafka-handler
	expect_no_token_in_broker_log "$WORK/tokens/good"
}
# controller_mutation_rate (KIP-599) with the Admin client (Quotas.java): set
# with alterClientQuotas; one createTopics of 32 partitions against a burst
# of 22 completes after the client's own retries of the throttled topics;
# with retryOnQuotaViolation(false) the next is ThrottlingQuotaExceededException.
sc_admin_mutation_quota() { java_main Quotas "$BOOTSTRAP" mutation-quota; }
