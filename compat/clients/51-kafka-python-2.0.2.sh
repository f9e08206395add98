# kafka-python 2.0.2, the last 2.0 release, still widely deployed, from PyPI:
# compat/python/kafka_python_scenarios.py in the venv $CACHE/py-kafka-python-2.0.2.
# shellcheck shell=bash disable=SC2034

CLIENT=kafka-python-2.0.2
SCENARIOS=(roundtrip compression-gzip compression-snappy compression-lz4 compression-zstd offsets-for-times admin consumer-group)

client_version() {
	"$CACHE/py-kafka-python-2.0.2/bin/python" "$COMPAT/python/kafka_python_scenarios.py" --version
}

kafka_python() {
	need "$CACHE/py-kafka-python-2.0.2/bin/python"
	run "$CACHE/py-kafka-python-2.0.2/bin/python" "$COMPAT/python/kafka_python_scenarios.py" "$BOOTSTRAP" "$1"
}
sc_roundtrip() { kafka_python roundtrip; }
sc_compression_gzip() { kafka_python compression-gzip; }
sc_compression_snappy() { kafka_python compression-snappy; }
sc_compression_lz4() { kafka_python compression-lz4; }
sc_compression_zstd() { kafka_python compression-zstd; }
sc_offsets_for_times() { kafka_python offsets-for-times; }
sc_admin() { kafka_python admin; }
sc_consumer_group() { kafka_python consumer-group; }
