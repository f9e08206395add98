# the current kafka-python release, from PyPI:
# compat/python/kafka_python_scenarios.py in the venv $CACHE/py-current.
# shellcheck shell=bash disable=SC2034

CLIENT=kafka-python
SCENARIOS=(roundtrip compression-gzip compression-snappy compression-lz4 compression-zstd offsets-for-times admin consumer-group
	sasl-plain sasl-scram sasl-wrong-password sasl-oauthbearer)

client_version() {
	"$CACHE/py-current/bin/python" "$COMPAT/python/kafka_python_scenarios.py" --version
}

kafka_python() {
	need "$CACHE/py-current/bin/python"
	run "$CACHE/py-current/bin/python" "$COMPAT/python/kafka_python_scenarios.py" "$BOOTSTRAP" "$1"
}
sc_roundtrip() { kafka_python roundtrip; }
sc_compression_gzip() { kafka_python compression-gzip; }
sc_compression_snappy() { kafka_python compression-snappy; }
sc_compression_lz4() { kafka_python compression-lz4; }
sc_compression_zstd() { kafka_python compression-zstd; }
sc_offsets_for_times() { kafka_python offsets-for-times; }
sc_admin() { kafka_python admin; }
sc_consumer_group() { kafka_python consumer-group; }
# The SASL_PLAINTEXT listener (run.sh): a round trip with PLAIN, then with
# SCRAM-SHA-256 and SCRAM-SHA-512; a wrong password (PLAIN, SCRAM-SHA-256)
# answered with SaslAuthenticationFailedError on every attempt.
sc_sasl_plain() {
	need_security
	export PLAIN_USER PLAIN_PASSWORD
	kafka_python sasl-plain
}
sc_sasl_scram() {
	need_security
	export SCRAM_USER SCRAM_PASSWORD
	kafka_python sasl-scram
}
sc_sasl_wrong_password() {
	need_security
	export PLAIN_USER SCRAM_USER
	kafka_python sasl-wrong-password
}
# OAUTHBEARER on SASL_PLAINTEXT with a sasl_oauth_token_provider: 500 records
# round trip with a valid token; an expired token, a forged one and one for
# another audience are each SaslAuthenticationFailedError with Kafka's message.
sc_sasl_oauthbearer() {
	need_security
	oauth_token_files "$WORK/tokens"
	export OAUTH_TOKENS=$WORK/tokens
	kafka_python sasl-oauthbearer
	expect_no_token_in_broker_log "$WORK/tokens/good" "$WORK/tokens/expired"
}
