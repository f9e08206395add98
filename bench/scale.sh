#!/usr/bin/env bash
# Scale on one node, side by side: Samsa and Apache Kafka (single node each,
# fresh data directory per stage, same disk, same client).
#
#   bench/scale.sh [--rounds N] [--records N] [--partitions "16 1000 10000 100000"]
#                  [--conns "10 1000 10000"] [--keys K] [--partitioner P] [--no-restarts]
#                  [--out FILE]
#
# Partitions stage, for each partition count P and target:
#   create     CreateTopics for one topic of P partitions (for Kafka above
#              5,000: 5,000, then CreatePartitions 5,000 at a time, since it
#              refuses more than 10,000 records per controller operation),
#              then until the broker has made every partition's log directory
#   produce    `samsa bench produce` (franz-go, acks=all, idempotent, 1 KiB
#              records, linger 5 ms, sticky partitioner) of --records records
#              (default 1,000,000): MiB/s and p99. --partitioner uniform-bytes
#              uses franz-go's default partitioner instead (a new partition
#              every 64 KiB, preferring partitions with less buffered, as
#              Kafka's Java client does every batch.size): more partitions
#              per request, smaller batches
#   keyed      with --keys K: the same number of records again, each with a
#              key drawn from K (`bench/load produce --keys`, kgo's default
#              partitioner: the key's hash picks the partition), so every
#              partition gets a share and batches are small, as with keyed
#              traffic spread over many partitions: MiB/s and p99
#   rss, fds   the broker process's resident memory and open descriptors
#              after the produce
#   restart    clean stop (SIGTERM) time, then start until the broker answers
#              a Metadata request; then the same after kill -9
# A target that cannot host P partitions (create or produce fails, or the
# broker dies) is reported as such and not tried with more.
# Connections stage, for each count C: a 16-partition topic; a rate-limited
# produce (20,000 records/s of 1 KiB for 10 s) measures p99 alone, then again
# while C more connections (each sent ApiVersions and Metadata, then idle)
# are held by `bench/load conns`; RSS and descriptors are read while held.
#
# The report (median of the rounds, default 1 round) goes to stdout and, with
# --out, to FILE as Markdown. Kafka's jars come from Maven Central through
# bench/kafka-jars.sh. The open-file limit is raised to the hard limit for
# both brokers and the clients.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
: "${SAMSA_BENCH_CACHE:=$HOME/.cache/samsa-bench}"
CACHE=$SAMSA_BENCH_CACHE
KAFKA_VERSION=4.3.1
ROUNDS=1 RECORDS=1000000 OUTFILE=""
PARTS="16 1000 10000 100000" CONNS="10 1000 10000"
TARGETS="samsa kafka" KEYS=0 RESTARTS=1 PARTITIONER=sticky
while (($#)); do
	case $1 in
	--rounds) ROUNDS=$2; shift ;;
	--records) RECORDS=$2; shift ;;
	--partitions) PARTS=$2; shift ;;
	--conns) CONNS=$2; shift ;;
	--targets) TARGETS=$2; shift ;;
	--keys) KEYS=$2; shift ;;
	--partitioner) PARTITIONER=$2; shift ;;
	--no-restarts) RESTARTS=0 ;;
	--out) OUTFILE=$2; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "scale.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
ulimit -n "$(ulimit -Hn)"

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
bench_run scale load
KLIB=$("$BENCH/kafka-jars.sh" "$CACHE" "$KAFKA_VERSION")
now() { date +%s.%N; }
since() { python3 -c "import sys; print(round($(now) - $1, 3))"; }


# launch TARGET DIR [format]: starts the broker on ADDR (set by the caller)
# and sets PID; returns once it answers Metadata (or 1 after 10 minutes).
launch() {
	local p=${ADDR##*:}
	case $1 in
	samsa)
		"$BIN/samsa" serve --data-dir "$2" --listen "$ADDR" --log-level warn --override metrics.listener= \
			>>"$RUN/logs/samsa.log" 2>&1 &
		;;
	kafka)
		if [[ ${3:-} == format ]]; then
			CPORT=$(port)
			kafka_props "$RUN/kafka.properties" "$2" "$p" "$CPORT"
			kafka_format "$RUN/kafka.properties" "$KLIB" "$RUN/logs/format.log"
		fi
		# shellcheck disable=SC2086
		java -Xmx1G -Xms1G $KAFKA_JVM -cp "$KLIB/*" kafka.Kafka "$RUN/kafka.properties" >>"$RUN/logs/kafka.log" 2>&1 &
		;;
	esac
	PID=$!
	echo "$PID" >>"$RUN/pids"
	local i
	for i in $(seq 6000); do
		"$BIN/samsa" -b "$ADDR" --timeout 2s cluster info >/dev/null 2>&1 && return 0
		kill -0 "$PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
halt() { # SIGNAL: stops PID, waits for it
	local i
	kill -"$1" "$PID" 2>/dev/null || true
	for i in $(seq 3000); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
}
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$PID/status" 2>/dev/null || echo null; }
fds() { ls "/proc/$PID/fd" 2>/dev/null | wc -l; }
logdirs() { find "$1" -maxdepth 1 -type d -name 'scale-*' | grep -cE '/scale-[0-9]+$' || true; }
produce() { # TOPIC [extra samsa bench produce args]: one JSON object, or {"error": ...}
	local topic=$1 out
	shift
	if out=$(timeout 900 "$BIN/samsa" -b "$ADDR" --timeout 60s bench produce --topic "$topic" --record-size 1024 \
		--delivery-timeout 120s --no-progress --json "$@" 2>>"$RUN/logs/tools.log"); then
		python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(json.dumps({"mib_per_s": r["mb_per_sec"], "p99_ms": r["p99_ms"], "p50_ms": r["p50_ms"]}))' "$out"
	else
		echo '{"error": "produce failed"}'
	fi
}
keyed_produce() { # TOPIC: RECORDS keyed records with bench/load; one JSON object
	local out
	if out=$(timeout 900 "$BIN/load" produce --brokers "$ADDR" --topic "$1" --record-size 1024 --bytes "$((RECORDS * 1024))" \
		--keys "$KEYS" 2>>"$RUN/logs/tools.log"); then
		python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(json.dumps({"mib_per_s": r["mib_per_s"], "p99_ms": r["latency"]["p99_ms"], "p50_ms": r["latency"]["p50_ms"]}))' "$out"
	else
		echo '{"error": "keyed produce failed"}'
	fi
}
result() { # FILE key=json-value...: writes one JSON object
	local f=$1
	shift
	python3 -c 'import json,sys; print(json.dumps({k: json.loads(v) for k, v in (a.split("=", 1) for a in sys.argv[1:])}))' "$@" >"$f"
}

# create_topic TARGET P: one CreateTopics for Samsa; for Kafka, which
# refuses more than 10,000 records per controller operation
# (POLICY_VIOLATION), a topic of at most 5,000 partitions grown by
# CreatePartitions 5,000 at a time, as a Kafka user has to.
create_topic() {
	local target=$1 p=$2 n
	if [[ $target == samsa ]] || ((p <= 5000)); then
		"$BIN/samsa" -b "$ADDR" --timeout 600s topic create scale -p "$p" >>"$RUN/logs/tools.log" 2>&1
		return
	fi
	"$BIN/samsa" -b "$ADDR" --timeout 600s topic create scale -p 5000 >>"$RUN/logs/tools.log" 2>&1 || return 1
	for ((n = 10000; n < p + 5000; n += 5000)); do
		"$BIN/samsa" -b "$ADDR" --timeout 600s topic add-partitions scale --total "$((n < p ? n : p))" >>"$RUN/logs/tools.log" 2>&1 || return 1
	done
}

# partitions STAGE for TARGET, ROUND, P
partitions() {
	local target=$1 round=$2 p=$3 dir=$DATA/$1-p$3 t0 create ready prod rss nfd stop restart kill9 out=$RUN/results/$2.$1.p$3.json
	rm -rf "$dir"
	ADDR=127.0.0.1:$(port)
	if ! launch "$target" "$dir" format; then
		result "$out" error='"did not start"'
		halt 9
		return 1
	fi
	say "$target round $round: $p partitions: create"
	t0=$(now)
	if ! create_topic "$target" "$p"; then
		result "$out" error="\"creating $p partitions failed\""
		halt 9
		return 1
	fi
	create=$(since "$t0")
	local i ok=0
	for i in $(seq 3000); do # 5 minutes
		[[ $(logdirs "$dir") -ge $p ]] && { ok=1; break; }
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	if ((!ok)); then
		result "$out" error="\"made $(logdirs "$dir") of $p partition logs\"" create_s="$create"
		halt 9
		return 1
	fi
	ready=$(since "$t0")
	say "$target round $round: $p partitions: produce"
	prod=$(produce scale --num-records "$RECORDS" --partitioner "$PARTITIONER")
	local keyed=null
	if ((KEYS > 0)) && kill -0 "$PID" 2>/dev/null; then
		say "$target round $round: $p partitions: keyed produce"
		keyed=$(keyed_produce scale)
	fi
	rss=$(rss_mib)
	nfd=$(fds)
	if [[ $prod == *error* ]] || ! kill -0 "$PID" 2>/dev/null; then
		result "$out" error="\"produce to $p partitions failed\"" create_s="$create" ready_s="$ready" rss_mib="${rss:-null}" fds="$nfd"
		halt 9
		return 1
	fi
	if ((!RESTARTS)); then
		halt TERM
		rm -rf "$dir"
		result "$out" create_s="$create" ready_s="$ready" produce="$prod" keyed="$keyed" rss_mib="$rss" fds="$nfd"
		return 0
	fi
	say "$target round $round: $p partitions: restarts"
	t0=$(now)
	halt TERM
	stop=$(since "$t0")
	t0=$(now)
	launch "$target" "$dir" || { result "$out" error='"did not restart"'; halt 9; return 1; }
	restart=$(since "$t0")
	sleep 2
	halt 9
	t0=$(now)
	launch "$target" "$dir" || { result "$out" error='"did not restart after kill -9"'; halt 9; return 1; }
	kill9=$(since "$t0")
	halt TERM
	rm -rf "$dir"
	result "$out" create_s="$create" ready_s="$ready" produce="$prod" keyed="$keyed" rss_mib="$rss" fds="$nfd" \
		stop_s="$stop" restart_s="$restart" restart_kill9_s="$kill9"
}

# connections STAGE for TARGET, ROUND, C
connections() {
	local target=$1 round=$2 c=$3 dir=$DATA/$1-c$3 base held rss0 rss1 fds1 info out=$RUN/results/$2.$1.c$3.json
	rm -rf "$dir"
	ADDR=127.0.0.1:$(port)
	launch "$target" "$dir" format || { result "$out" error='"did not start"'; halt 9; return 1; }
	"$BIN/samsa" -b "$ADDR" topic create conns -p 16 >>"$RUN/logs/tools.log" 2>&1
	produce conns --num-records 100000 >/dev/null # warm up
	say "$target round $round: $c connections"
	base=$(produce conns --num-records 200000 --throughput 20000)
	rss0=$(rss_mib)
	"$BIN/load" conns --brokers "$ADDR" --conns "$c" --duration 1h >"$RUN/conns.out" 2>>"$RUN/logs/tools.log" &
	local lp=$!
	echo "$lp" >>"$RUN/pids"
	local i
	for i in $(seq 1200); do [[ -s $RUN/conns.out ]] && break; sleep 0.1; done
	info=$(head -1 "$RUN/conns.out")
	[[ -n $info ]] || info='{"error": "connections not opened"}'
	sleep 2
	rss1=$(rss_mib)
	fds1=$(fds)
	held=$(produce conns --num-records 200000 --throughput 20000)
	kill "$lp" 2>/dev/null || true
	wait "$lp" 2>/dev/null || true
	halt TERM
	rm -rf "$dir"
	result "$out" conns="$info" alone="$base" held="$held" rss_before_mib="$rss0" rss_held_mib="$rss1" fds_held="$fds1"
}

for round in $(seq "$ROUNDS"); do
	read -ra targets <<<"$TARGETS"
	((round % 2 == 0)) && targets=($(printf '%s\n' "${targets[@]}" | tac))
	for target in "${targets[@]}"; do
		for p in $PARTS; do
			partitions "$target" "$round" "$p" || { say "$target stops at $p partitions"; break; }
		done
		for c in $CONNS; do
			connections "$target" "$round" "$c" || true
		done
	done
done

python3 - "$RUN/results" "$ROUNDS" "$RECORDS" "$COMMIT" "$KAFKA_VERSION" "$PARTS" "$CONNS" "$PARTITIONER" <<'EOF' | tee "$RUN/report.md"
import json, os, statistics, sys
res, rounds, records, commit, kv = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
parts, conns = [int(x) for x in sys.argv[6].split()], [int(x) for x in sys.argv[7].split()]
partitioner = sys.argv[8]
def load(target, stage):
    out = []
    for r in range(1, rounds + 1):
        p = os.path.join(res, f"{r}.{target}.{stage}.json")
        if os.path.exists(p):
            out.append(json.load(open(p)))
    return out
def med(rows, *path):
    vals = []
    for row in rows:
        v = row
        for k in path:
            v = v.get(k) if isinstance(v, dict) else None
        if isinstance(v, (int, float)):
            vals.append(v)
    return statistics.median(vals) if vals else None
def fmt(v, d=1):
    return "-" if v is None else (f"{v:,.{d}f}" if d else f"{v:,.0f}")
print(f"Samsa {commit} and Apache Kafka {kv}, one node each, median of {rounds} round(s) (`bench/scale.sh`).")
print(f"Produce: `samsa bench produce` (franz-go, acks=all, idempotent, 1 KiB, {partitioner} partitioner), {records:,} records.\n")
keyed = any(med(load(t, f"p{p}"), "keyed", "mib_per_s") is not None for p in parts for t in ("samsa", "kafka"))
print("| partitions | broker | create s (answered / logs made) | produce MiB/s | p99 ms |" + (" keyed MiB/s | keyed p99 ms |" if keyed else "") + " RSS MiB | fds | clean stop s | restart s | restart after kill -9 s |")
print("|---|---|---|---|---|" + ("---|---|" if keyed else "") + "---|---|---|---|---|")
for p in parts:
    for t, name in [("samsa", "Samsa"), ("kafka", "Kafka")]:
        rows = load(t, f"p{p}")
        if not rows:
            print(f"| {p:,} | {name} | not run (stopped at fewer partitions) | | | | | | | |")
            continue
        errs = [r["error"] for r in rows if "error" in r]
        if errs:
            print(f"| {p:,} | {name} | **failed**: {errs[0]} (create {fmt(med(rows, 'create_s'))} s, RSS {fmt(med(rows, 'rss_mib'), 0)} MiB, fds {fmt(med(rows, 'fds'), 0)}) | | | | | | | |")
            continue
        kcols = f"{fmt(med(rows, 'keyed', 'mib_per_s'))} | {fmt(med(rows, 'keyed', 'p99_ms'), 0)} | " if keyed else ""
        print(f"| {p:,} | {name} | {fmt(med(rows, 'create_s'), 2)} / {fmt(med(rows, 'ready_s'), 2)} | {fmt(med(rows, 'produce', 'mib_per_s'))} | "
              f"{fmt(med(rows, 'produce', 'p99_ms'), 0)} | {kcols}{fmt(med(rows, 'rss_mib'), 0)} | {fmt(med(rows, 'fds'), 0)} | "
              f"{fmt(med(rows, 'stop_s'), 2)} | {fmt(med(rows, 'restart_s'), 2)} | {fmt(med(rows, 'restart_kill9_s'), 2)} |")
print("\nConnections: 16 partitions, produce of 200,000 records limited to 20,000 records/s, alone and with the connections held.\n")
print("| connections | broker | opened | open s | p99 alone ms | p99 held ms | RSS before MiB | RSS held MiB | KiB per connection | fds held |")
print("|---|---|---|---|---|---|---|---|---|---|")
for c in conns:
    for t, name in [("samsa", "Samsa"), ("kafka", "Kafka")]:
        rows = load(t, f"c{c}")
        if not rows:
            continue
        r0, r1, n = med(rows, "rss_before_mib"), med(rows, "rss_held_mib"), med(rows, "conns", "conns")
        per = (r1 - r0) * 1024 / n if None not in (r0, r1) and n else None
        print(f"| {c:,} | {name} | {fmt(n, 0)} | {fmt(med(rows, 'conns', 'connect_s'), 2)} | {fmt(med(rows, 'alone', 'p99_ms'), 1)} | "
              f"{fmt(med(rows, 'held', 'p99_ms'), 1)} | {fmt(r0, 0)} | {fmt(r1, 0)} | {fmt(per, 1)} | {fmt(med(rows, 'fds_held'), 0)} |")
EOF
[[ -n $OUTFILE ]] && cp "$RUN/report.md" "$OUTFILE"
say "done: $RUN"
