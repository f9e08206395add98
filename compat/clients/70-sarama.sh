# IBM/sarama: SyncProducer (idempotent) and PartitionConsumer (no group) at sarama's
# newest protocol version, at its default (Kafka 2.8) and at 0.10 (message format v1),
# each codec, ClusterAdmin.
# compat/goclients (its own Go module), built by setup.sh into $CACHE/bin/goclients.
# shellcheck shell=bash disable=SC2034

CLIENT=sarama
SCENARIOS=(produce-consume produce-consume-v2.8 produce-consume-v0.10 produce-consume-v0.10-gzip compression-gzip compression-snappy compression-lz4 compression-zstd admin consumer-group
	sasl-scram-sha-512 tls sasl-oauthbearer)

client_version() { "$CACHE/bin/goclients" -version sarama; }

goclient() {
	need "$CACHE/bin/goclients"
	run "$CACHE/bin/goclients" "$BOOTSTRAP" sarama "$1"
}
sc_produce_consume() { goclient produce-consume; }
sc_produce_consume_v2_8() { goclient produce-consume-v2.8; }
sc_produce_consume_v0_10() { goclient produce-consume-v0.10; }
sc_produce_consume_v0_10_gzip() { goclient produce-consume-v0.10-gzip; }
sc_compression_gzip() { goclient compression-gzip; }
sc_compression_snappy() { goclient compression-snappy; }
sc_compression_lz4() { goclient compression-lz4; }
sc_compression_zstd() { goclient compression-zstd; }
sc_admin() { goclient admin; }
sc_consumer_group() { goclient consumer-group; }
# The security listeners (run.sh), compat/goclients/sarama_security.go: SASL
# SCRAM-SHA-512 on SASL_PLAINTEXT with xdg-go/scram as sarama's SCRAM client,
# and a wrong password refused (ErrSASLAuthenticationFailed); TLS on SSL
# with the CA from setup.sh.
sc_sasl_scram_sha_512() {
	need_security
	export SCRAM_USER SCRAM_PASSWORD
	goclient sasl-scram-sha-512
}
sc_tls() {
	need_security
	export TLS_DIR
	goclient tls
}
# OAUTHBEARER on SASL_PLAINTEXT with sarama's AccessTokenProvider
# (sarama_security.go): 3,000 records with a valid token; an expired one is
# ErrSASLAuthenticationFailed with the broker's message.
sc_sasl_oauthbearer() {
	need_security
	oauth_token_files "$WORK/tokens"
	export OAUTH_TOKENS=$WORK/tokens
	goclient sasl-oauthbearer
	expect_no_token_in_broker_log "$WORK/tokens/good" "$WORK/tokens/expired"
}
