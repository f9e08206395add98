#!/usr/bin/env bash
# How long a running Samsa broker spent handling Produce requests during one
# produce run, from its own request histograms (docs/scale.md, "Where the
# time goes"): the client's MiB/s beside the broker's MiB per second of
# handling, which tells a broker-bound run from a client-bound one.
#
#   bench/handling.sh TOPIC PARTITIONER [BROKER] [METRICS]
#
# PARTITIONER: sticky, uniform-bytes, batch-size or round-robin (`samsa
# bench produce`), or keyed (bench/load produce --keys 100000). BROKER
# defaults to 127.0.0.1:9092, METRICS to 127.0.0.1:9644 (metrics.listener).
# 1,000,000 records of 1 KiB. Needs `samsa` and bench/load's `load` on PATH
# (go build -o ~/bin/load ./bench/load).
set -euo pipefail
TOPIC=${1:?topic} PART=${2:?partitioner} BROKER=${3:-127.0.0.1:9092} METRICS=${4:-127.0.0.1:9644}
scrape() { # handling sum, count
	curl -fsS "http://$METRICS/metrics" |
		awk '/^samsa_request_handling_seconds_(sum|count)\{api="Produce"/ {printf "%s ", $2}'
}
before=$(scrape)
if [[ $PART == keyed ]]; then
	rate=$(load produce --brokers "$BROKER" --topic "$TOPIC" --record-size 1024 --bytes $((1000000 * 1024)) --keys 100000 |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["mib_per_s"])')
else
	rate=$(samsa -b "$BROKER" bench produce --topic "$TOPIC" --record-size 1024 --num-records 1000000 \
		--partitioner "$PART" --no-progress --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["mb_per_sec"])')
fi
after=$(scrape)
python3 - "$before" "$after" "$TOPIC" "$PART" "$rate" <<'EOF'
import sys
b = [float(x) for x in sys.argv[1].split()]
a = [float(x) for x in sys.argv[2].split()]
h, n = a[0] - b[0], a[1] - b[1]
mib = 1000000 * 1024 / 1048576
print(f"{sys.argv[3]} {sys.argv[4]}: client {float(sys.argv[5]):.1f} MiB/s; {n:.0f} Produce requests, "
      f"handling {h:.2f} s ({mib / h:.0f} MiB per second of handling)")
EOF
