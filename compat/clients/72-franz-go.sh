# franz-go: idempotent producer (its default) and direct partition consumption (no group),
# each codec.
# compat/goclients (its own Go module), built by setup.sh into $CACHE/bin/goclients.
# shellcheck shell=bash disable=SC2034

CLIENT=franz-go
SCENARIOS=(produce-consume compression-gzip compression-snappy compression-lz4 compression-zstd consumer-group)

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
