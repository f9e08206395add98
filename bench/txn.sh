#!/usr/bin/env bash
# Transactions side by side: Samsa and Apache Kafka (single node each, fresh
# data directory per round, same disk), measured with Kafka's own
# ProducerPerformance and ConsumerPerformance so both get the same client.
#
#   bench/txn.sh [--rounds N] [--records N] [--out FILE]
#
# Per target and round:
#   idempotent     ProducerPerformance, acks=all, idempotent, linger 5 ms,
#                  1 KiB records, 8 partitions, as fast as it goes
#   transactional  the same with --transactional-id and a commit every
#                  100 ms (--transaction-duration-ms 100)
#   read_uncommitted / read_committed
#                  ConsumerPerformance over the transactional topic with each
#                  isolation level
#   franz-idempotent / franz-transactional
#                  the same two produce stages with franz-go (samsa bench
#                  produce, --transactional-id, --transaction-duration 100ms),
#                  a client that leaves more of the 2 cores to the broker
# The report (median of the rounds; default 3 rounds, 500,000 records) goes
# to stdout and, with --out, to FILE as a Markdown table. Kafka's jars come
# from Maven Central through bench/kafka-jars.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
: "${SAMSA_BENCH_CACHE:=$HOME/.cache/samsa-bench}"
CACHE=$SAMSA_BENCH_CACHE
KAFKA_VERSION=4.3.1
ROUNDS=3 RECORDS=500000 OUTFILE="" PARTITIONS=8
while (($#)); do
	case $1 in
	--rounds) ROUNDS=$2; shift ;;
	--records) RECORDS=$2; shift ;;
	--out) OUTFILE=$2; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "txn.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
bench_run txn
KLIB=$("$BENCH/kafka-jars.sh" "$CACHE" "$KAFKA_VERSION")

start() { # TARGET DIR: sets PID and ADDR
	local p cp
	p=$(port)
	ADDR=127.0.0.1:$p
	mkdir -p "$2"
	case $1 in
	samsa)
		"$BIN/samsa" serve --data-dir "$2" --listen "$ADDR" --log-level warn --override group.initial.rebalance.delay.ms=0 \
			>>"$RUN/logs/samsa.log" 2>&1 &
		;;
	kafka)
		cp=$(port)
		kafka_props "$RUN/kafka.properties" "$2" "$p" "$cp"
		kafka_format "$RUN/kafka.properties" "$KLIB" "$RUN/logs/format.log"
		# shellcheck disable=SC2086
		java -Xmx1G -Xms1G $KAFKA_JVM -cp "$KLIB/*" kafka.Kafka "$RUN/kafka.properties" >>"$RUN/logs/kafka.log" 2>&1 &
		;;
	esac
	PID=$!
	echo "$PID" >>"$RUN/pids"
	local i
	for i in $(seq 600); do
		"$BIN/samsa" -b "$ADDR" cluster info >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "txn.sh: $1 did not start" >&2
	return 1
}
stop() {
	local i
	kill "$PID" 2>/dev/null || true
	for i in $(seq 600); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
}

producer() { # TOPIC [extra ProducerPerformance args]
	local topic=$1
	shift
	# shellcheck disable=SC2086
	timeout 900 java $TOOL_JVM -cp "$KLIB/*" org.apache.kafka.tools.ProducerPerformance --topic "$topic" \
		--num-records "$RECORDS" --record-size 1024 --throughput -1 --bootstrap-server "$ADDR" \
		--producer-props acks=all enable.idempotence=true linger.ms=5 batch.size=1048576 "$@" 2>>"$RUN/logs/tools.log" |
		grep 'records sent,' | tail -1 | python3 "$BENCH/perfparse.py" producer
}
franz() { # TOPIC [extra samsa bench produce args]
	local topic=$1
	shift
	timeout 900 "$BIN/samsa" -b "$ADDR" bench produce --topic "$topic" --num-records "$RECORDS" --record-size 1024 \
		--no-progress --json "$@" 2>>"$RUN/logs/tools.log" |
		python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({"mib_per_s": r["mb_per_sec"], "p99_ms": r["p99_ms"], "rec_per_s": r["records_per_sec"]}))'
}
consumer() { # TOPIC ISOLATION
	echo "isolation.level=$2" >"$RUN/consumer.properties"
	# shellcheck disable=SC2086
	timeout 900 java $TOOL_JVM -cp "$KLIB/*" org.apache.kafka.tools.ConsumerPerformance --topic "$1" \
		--num-records "$RECORDS" --bootstrap-server "$ADDR" --timeout 60000 --hide-header \
		--command-config "$RUN/consumer.properties" 2>>"$RUN/logs/tools.log" |
		tail -1 | python3 "$BENCH/perfparse.py" consumer "$RECORDS"
}

for round in $(seq "$ROUNDS"); do
	targets=(samsa kafka)
	((round % 2 == 0)) && targets=(kafka samsa)
	for target in "${targets[@]}"; do
		dir=$DATA/$target
		rm -rf "$dir"
		start "$target" "$dir"
		for t in idem txn fidem ftxn; do
			"$BIN/samsa" -b "$ADDR" topic create "perf-$t" -p "$PARTITIONS" >/dev/null
		done
		say "$target round $round: idempotent"
		producer perf-idem >"$RUN/results/$round.$target.idempotent.json"
		say "$target round $round: transactional"
		producer perf-txn --transactional-id bench-txn --transaction-duration-ms 100 >"$RUN/results/$round.$target.transactional.json"
		say "$target round $round: read_uncommitted"
		consumer perf-txn read_uncommitted >"$RUN/results/$round.$target.read_uncommitted.json"
		say "$target round $round: read_committed"
		consumer perf-txn read_committed >"$RUN/results/$round.$target.read_committed.json"
		say "$target round $round: franz-idempotent"
		franz perf-fidem >"$RUN/results/$round.$target.franz-idempotent.json"
		say "$target round $round: franz-transactional"
		franz perf-ftxn --transactional-id bench-ftxn --transaction-duration 100ms >"$RUN/results/$round.$target.franz-transactional.json"
		stop
		rm -rf "$dir"
	done
done

python3 - "$RUN/results" "$ROUNDS" "$RECORDS" "$COMMIT" "$KAFKA_VERSION" <<'EOF' | tee "$RUN/report.md"
import json, os, statistics, sys
res, rounds, records, commit, kv = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
def med(target, stage, key):
    vals = []
    for r in range(1, rounds + 1):
        p = os.path.join(res, f"{r}.{target}.{stage}.json")
        if os.path.exists(p):
            vals.append(json.load(open(p))[key])
    return statistics.median(vals) if vals else float("nan")
print(f"Samsa {commit} and Apache Kafka {kv}, one node each, {records:,} records of 1 KiB, 8 partitions, median of {rounds} rounds")
print("(`bench/txn.sh`; Kafka's ProducerPerformance and ConsumerPerformance for both).\n")
print("| stage | Samsa MiB/s | Kafka MiB/s | Samsa p99 ms | Kafka p99 ms | Samsa / Kafka |")
print("|---|---|---|---|---|---|")
for stage, label in [("idempotent", "produce, idempotent (Java)"), ("transactional", "produce, transactional (Java)"),
                     ("franz-idempotent", "produce, idempotent (franz-go)"), ("franz-transactional", "produce, transactional (franz-go)")]:
    s, k = med("samsa", stage, "mib_per_s"), med("kafka", stage, "mib_per_s")
    print(f"| {label} | {s:.1f} | {k:.1f} | {med('samsa', stage, 'p99_ms'):.0f} | {med('kafka', stage, 'p99_ms'):.0f} | {s / k:.2f}x |")
for stage in ["read_uncommitted", "read_committed"]:
    s, k = med("samsa", stage, "mib_per_s"), med("kafka", stage, "mib_per_s")
    print(f"| consume, {stage} | {s:.1f} | {k:.1f} | | | {s / k:.2f}x |")
for t, name in [("samsa", "Samsa"), ("kafka", "Kafka")]:
    ti, tt = med(t, "idempotent", "mib_per_s"), med(t, "transactional", "mib_per_s")
    fi, ft = med(t, "franz-idempotent", "mib_per_s"), med(t, "franz-transactional", "mib_per_s")
    ru, rc = med(t, "read_uncommitted", "mib_per_s"), med(t, "read_committed", "mib_per_s")
    print(f"\n{name}: transactional produce is {tt / ti * 100:.0f}% of idempotent with the Java client, {ft / fi * 100:.0f}% with franz-go; "
          f"read_committed consume is {rc / ru * 100:.0f}% of read_uncommitted.", end="")
print()
EOF
[[ -n $OUTFILE ]] && cp "$RUN/report.md" "$OUTFILE"
say "done: $RUN"
