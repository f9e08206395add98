# confluent-kafka-python (librdkafka bundled in the wheel) from PyPI:
# compat/python/confluent_scenarios.py.
# shellcheck shell=bash disable=SC2034

CLIENT=confluent-kafka-python
SCENARIOS=(admin-create-topics admin-describe-topics admin-delete-topics idempotent-produce
	consume-assign offsets-for-times admin-list-offsets-delete-records consumer-group configs-compaction
	transactions sasl-ssl-scram mtls sasl-oauthbearer)

client_version() {
	"$CACHE/py-current/bin/python" "$COMPAT/python/confluent_scenarios.py" --version
}

confluent() {
	need "$CACHE/py-current/bin/python"
	run "$CACHE/py-current/bin/python" "$COMPAT/python/confluent_scenarios.py" "$BOOTSTRAP" "$1"
}
sc_admin_create_topics() { confluent admin-create-topics; }
sc_admin_describe_topics() { confluent admin-describe-topics; }
sc_admin_delete_topics() { confluent admin-delete-topics; }
sc_idempotent_produce() { confluent idempotent-produce; }
sc_consume_assign() { confluent consume-assign; }
sc_offsets_for_times() { confluent offsets-for-times; }
sc_admin_list_offsets_delete_records() { confluent admin-list-offsets-delete-records; }
sc_consumer_group() { confluent consumer-group; }
sc_configs_compaction() { confluent configs-compaction; }
sc_transactions() { confluent transactions; }
# The security listeners (run.sh): SASL_SSL with SCRAM-SHA-256 and -512 and a
# wrong password; mTLS with the client's PEM certificate and key, then its
# PKCS12 key store, and no certificate refused.
sc_sasl_ssl_scram() {
	need_security
	export TLS_DIR TLS_PASSWORD SCRAM_USER SCRAM_PASSWORD
	confluent sasl-ssl-scram
}
sc_mtls() {
	need_security
	export TLS_DIR TLS_PASSWORD
	confluent mtls
}
# OAUTHBEARER on SASL_PLAINTEXT with an oauth_cb: 2,000 records round trip
# with a valid token; an expired token, a forged one and one for another
# audience are each refused (an _AUTHENTICATION error event with the broker's
# message, and no metadata).
sc_sasl_oauthbearer() {
	need_security
	oauth_token_files "$WORK/tokens"
	export OAUTH_TOKENS=$WORK/tokens
	confluent sasl-oauthbearer
	expect_no_token_in_broker_log "$WORK/tokens/good" "$WORK/tokens/forged"
}
