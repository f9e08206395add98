# kafkajs from npm (compat/node/package-lock.json) with the codec packages
# that work on current Node: kafkajs-snappy, kafkajs-lz4, and zstd-codec
# behind a small adapter. compat/node/kafkajs_scenarios.js.
# shellcheck shell=bash disable=SC2034

CLIENT=kafkajs
SCENARIOS=(admin-create-topics fetch-topic-metadata admin-offsets-configs produce-none produce-idempotent produce-gzip
	produce-snappy produce-lz4 produce-zstd consume-from-beginning sasl-ssl-plain sasl-ssl-scram-sha-256
	sasl-oauthbearer)

client_version() {
	NODE_PATH=$CACHE/node/node_modules node "$COMPAT/node/kafkajs_scenarios.js" --version
}

kafkajs() {
	need node "$CACHE/node/node_modules/kafkajs"
	KAFKAJS_NO_PARTITIONER_WARNING=1 NODE_PATH=$CACHE/node/node_modules run node "$COMPAT/node/kafkajs_scenarios.js" "$BOOTSTRAP" "$1"
}
sc_admin_create_topics() { kafkajs admin-create-topics; }
sc_fetch_topic_metadata() { kafkajs fetch-topic-metadata; }
sc_admin_offsets_configs() { kafkajs admin-offsets-configs; }
sc_produce_none() { kafkajs produce-none; }
sc_produce_idempotent() { kafkajs produce-idempotent; }
sc_produce_gzip() { kafkajs produce-gzip; }
sc_produce_snappy() { kafkajs produce-snappy; }
sc_produce_lz4() { kafkajs produce-lz4; }
sc_produce_zstd() { kafkajs produce-zstd; }
sc_consume_from_beginning() { kafkajs consume-from-beginning; }
# The security listeners (run.sh): SASL_SSL with PLAIN and with SCRAM-SHA-256,
# a consumer group through it, and a wrong password refused.
sc_sasl_ssl_plain() {
	need_security
	export TLS_DIR PLAIN_USER PLAIN_PASSWORD
	kafkajs sasl-ssl-plain
}
sc_sasl_ssl_scram_sha_256() {
	need_security
	export TLS_DIR SCRAM_USER SCRAM_PASSWORD
	kafkajs sasl-ssl-scram-sha-256
}
# OAUTHBEARER on SASL_PLAINTEXT with an oauthBearerProvider: 400 records
# through a consumer group with a valid token; an expired token, a forged one
# and one for another audience are each KafkaJSSASLAuthenticationError.
sc_sasl_oauthbearer() {
	need_security
	oauth_token_files "$WORK/tokens"
	export OAUTH_TOKENS=$WORK/tokens
	kafkajs sasl-oauthbearer
	expect_no_token_in_broker_log "$WORK/tokens/good" "$WORK/tokens/forged"
}
