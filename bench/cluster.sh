#!/usr/bin/env bash
# Replicated produce side by side: three Samsa nodes, then three Apache Kafka
# nodes (KRaft, combined broker+controller, Kafka's defaults), on this
# machine, one after the other. Topic: 8 partitions, replication factor 3,
# min.insync.replicas 2. Client: `samsa bench produce` (franz-go, idempotent,
# acks=all, 1 KiB values). Measured: the maximum throughput (1M records, 3
# runs) and the p99 latency at 50% of the lower of the two maxima (20 s, 3
# runs); medians printed as a Markdown table.
#
#   bench/cluster.sh            # about 6 minutes
#
# Everything it writes stays under $SAMSA_BENCH_CACHE (default
# ~/.cache/samsa-bench); Kafka's jars come from Maven Central (bench/kafka-jars.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
: "${SAMSA_BENCH_CACHE:=$HOME/.cache/samsa-bench}"
CACHE=$SAMSA_BENCH_CACHE
RUN=$CACHE/cluster-run
KAFKA_VERSION=4.3.1
RECORDS=${RECORDS:-1000000}
ROUNDS=${ROUNDS:-3}
rm -rf "$RUN" && mkdir -p "$RUN/logs"
PIDS=()
# The nodes' data (gigabytes) goes when the script ends; logs stay.
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$RUN/samsa-nodes" "$RUN"/kafka[0-9]
}
trap cleanup EXIT

(cd "$ROOT" && go build -o "$RUN/samsa" ./cmd/samsa)
SAMSA=$RUN/samsa
KLIB=$("$BENCH/kafka-jars.sh" "$CACHE" "$KAFKA_VERSION")
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# bench TARGET SEEDS: max throughput runs, then prints "mbps".
maxrun() {
	local seeds=$1 i
	for i in $(seq "$ROUNDS"); do
		"$SAMSA" -b "$seeds" --timeout 60s bench produce --topic rep --num-records "$RECORDS" --warmup 2s --no-progress --json 2>>"$RUN/logs/bench.log" |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["mb_per_sec"])'
	done | median
}
# p99run SEEDS RATE: p99 at RATE records/s.
p99run() {
	local seeds=$1 rate=$2 i
	for i in $(seq "$ROUNDS"); do
		"$SAMSA" -b "$seeds" --timeout 60s bench produce --topic rep --throughput "$rate" --duration 20s --warmup 2s --no-progress --json 2>>"$RUN/logs/bench.log" |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["p99_ms"])'
	done | median
}
create_topic() {
	local seeds=$1 i
	for i in $(seq 60); do
		"$SAMSA" -b "$seeds" topic create rep -p 8 -r 3 -c min.insync.replicas=2 >/dev/null 2>&1 && return 0
		sleep 1
	done
	echo "cluster.sh: could not create the topic on $seeds" >&2
	return 1
}

# --- Samsa: three nodes -------------------------------------------------------
B=$(port)
"$SAMSA" cluster start --data-dir "$RUN/samsa-nodes" --base-port "$B" --override group.initial.rebalance.delay.ms=0 >"$RUN/logs/samsa.log" 2>&1 &
PIDS+=($!)
SAMSA_SEEDS=127.0.0.1:$B,127.0.0.1:$((B + 2)),127.0.0.1:$((B + 4))
create_topic "$SAMSA_SEEDS"
echo "samsa: measuring the maximum" >&2
S_MAX=$(maxrun "$SAMSA_SEEDS")
SAMSA_PHASE_SEEDS=$SAMSA_SEEDS

# --- Kafka: three nodes -------------------------------------------------------
KID=$(python3 -c 'import base64,uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode())')
declare -a KP KC
for i in 1 2 3; do KP[$i]=$(port); KC[$i]=$(port); done
VOTERS="1@127.0.0.1:${KC[1]},2@127.0.0.1:${KC[2]},3@127.0.0.1:${KC[3]}"
for i in 1 2 3; do
	cat >"$RUN/kafka$i.properties" <<EOP
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$VOTERS
listeners=PLAINTEXT://127.0.0.1:${KP[$i]},CONTROLLER://127.0.0.1:${KC[$i]}
advertised.listeners=PLAINTEXT://127.0.0.1:${KP[$i]}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$RUN/kafka$i
group.initial.rebalance.delay.ms=0
EOP
	java -Xmx256M -cp "$KLIB/*" kafka.tools.StorageTool format -t "$KID" -c "$RUN/kafka$i.properties" >>"$RUN/logs/format.log" 2>&1
done
for i in 1 2 3; do
	java -Xmx1G -Xms1G -XX:+UseG1GC -cp "$KLIB/*" kafka.Kafka "$RUN/kafka$i.properties" >"$RUN/logs/kafka$i.log" 2>&1 &
	PIDS+=($!)
done
KAFKA_SEEDS=127.0.0.1:${KP[1]},127.0.0.1:${KP[2]},127.0.0.1:${KP[3]}
create_topic "$KAFKA_SEEDS"
echo "kafka: measuring the maximum" >&2
K_MAX=$(maxrun "$KAFKA_SEEDS")

# 50% of the lower maximum, in records/s of 1 KiB.
RATE=$(python3 -c "print(int(min($S_MAX, $K_MAX) * 1e6 / 1024 / 2))")
echo "kafka: p99 at $RATE records/s" >&2
K_P99=$(p99run "$KAFKA_SEEDS" "$RATE")
for p in "${PIDS[@]:1}"; do kill "$p" 2>/dev/null || true; done
echo "samsa: p99 at $RATE records/s" >&2
S_P99=$(p99run "$SAMSA_PHASE_SEEDS" "$RATE")
kill "${PIDS[0]}" 2>/dev/null || true

cat <<EOT
| 3 nodes, RF 3, min.insync.replicas 2, acks=all, 1 KiB | Samsa | Kafka $KAFKA_VERSION | Samsa/Kafka |
|---|---|---|---|
| max produce MB/s (median of $ROUNDS) | $S_MAX | $K_MAX | $(python3 -c "print(f'{$S_MAX/$K_MAX:.2f}x')") |
| p99 produce latency at $RATE records/s (50%), ms | $S_P99 | $K_P99 | $(python3 -c "print(f'{$S_P99/$K_P99:.2f}x')") |
EOT
