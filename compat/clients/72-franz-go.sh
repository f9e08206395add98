# franz-go: idempotent producer (its default) and direct partition consumption (no group),
# each codec.
# compat/goclients (its own Go module), built by setup.sh into $CACHE/bin/goclients.
# shellcheck shell=bash disable=SC2034

CLIENT=franz-go
SCENARIOS=(produce-consume compression-gzip compression-snappy compression-lz4 compression-zstd consumer-group
	sasl-oauthbearer oauthbearer-refused controller-mutation-quota)

client_version() { "$CACHE/bin/goclients" -version franz-go; }

goclient() {
	need "$CACHE/bin/goclients"
	run "$CACHE/bin/goclients" "$BOOTSTRAP" franz-go "$1"
}
sc_produce_consume() { goclient produce-consume; }
sc_compression_gzip() { goclient compression-gzip; }
sc_compression_snappy() { goclient compression-snappy; }
sc_compression_lz4() { goclient compression-lz4; }
sc_compression_zstd() { goclient compression-zstd; }
sc_consumer_group() { goclient consumer-group; }
# OAUTHBEARER on SASL_PLAINTEXT with franz-go's sasl/oauth
# (compat/goclients/franz_security.go): 3,000 records round trip with a valid
# token; an expired token, a forged one and one for another audience are each
# SASL_AUTHENTICATION_FAILED, and their topic holds nothing.
sc_sasl_oauthbearer() {
	need_security
	oauth_token_files "$WORK/tokens"
	export OAUTH_TOKENS=$WORK/tokens
	goclient sasl-oauthbearer
	expect_no_token_in_broker_log "$WORK/tokens/good"
}
sc_oauthbearer_refused() {
	need_security
	oauth_token_files "$WORK/tokens"
	samsa_topic franz-oauth-refused 1
	export OAUTH_TOKENS=$WORK/tokens
	goclient oauthbearer-refused
	expect_topic_empty franz-oauth-refused 1
}
# controller_mutation_rate (KIP-599, franz_security.go): one CreateTopics v7
# of 20, 5 and 1 partitions against a burst of 22 creates the first two and
# answers the third THROTTLING_QUOTA_EXCEEDED with throttle_time_ms.
sc_controller_mutation_quota() { goclient controller-mutation-quota; }
