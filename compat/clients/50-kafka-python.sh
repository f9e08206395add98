# the current kafka-python release, from PyPI:
# compat/python/kafka_python_scenarios.py in the venv $CACHE/py-current.
# shellcheck shell=bash disable=SC2034

CLIENT=kafka-python
SCENARIOS=(roundtrip compression-gzip admin)

client_version() {
	"$CACHE/py-current/bin/python" "$COMPAT/python/kafka_python_scenarios.py" --version
}

kafka_python() {
	need "$CACHE/py-current/bin/python"
	run "$CACHE/py-current/bin/python" "$COMPAT/python/kafka_python_scenarios.py" "$BOOTSTRAP" "$1"
}
sc_roundtrip() { kafka_python roundtrip; }
sc_compression_gzip() { kafka_python compression-gzip; }
sc_admin() { kafka_python admin; }
