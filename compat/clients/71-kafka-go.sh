# segmentio/kafka-go: Writer and a Reader with Partition set (no group), each codec, the
# Client admin calls and the older Conn API.
# compat/goclients (its own Go module), built by setup.sh into $CACHE/bin/goclients.
# shellcheck shell=bash disable=SC2034

CLIENT=kafka-go
SCENARIOS=(produce-consume compression-gzip compression-snappy compression-lz4 compression-zstd client-admin conn-admin reader-group)

client_version() { "$CACHE/bin/goclients" -version kafka-go; }

goclient() {
	need "$CACHE/bin/goclients"
	run "$CACHE/bin/goclients" "$BOOTSTRAP" kafka-go "$1"
}
sc_produce_consume() { goclient produce-consume; }
sc_compression_gzip() { goclient compression-gzip; }
sc_compression_snappy() { goclient compression-snappy; }
sc_compression_lz4() { goclient compression-lz4; }
sc_compression_zstd() { goclient compression-zstd; }
sc_client_admin() { goclient client-admin; }
sc_conn_admin() { goclient conn-admin; }
sc_reader_group() { goclient reader-group; }
