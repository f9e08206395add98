#!/usr/bin/env bash
# Samsa side by side with Apache Kafka, kfake and this machine's ceilings
# (issue 5), in one run, one target after the other on the same disk.
#
#   bench/run.sh            full run (3 rounds, 4 GiB topic; 40+ minutes)
#   bench/run.sh --quick    3 rounds, small sizes (~5-8 minutes)
#   bench/run.sh --smoke    1 round, tiny sizes, every stage (about a minute;
#                           the test suite runs it through bench/smoke_test.sh)
#   options: --rounds N  --out DIR (report directory; default docs/ for full and
#            quick, a run directory for smoke)  --no-readme  --no-plots
#
# Targets: kfake (in memory), samsa-page-cache, samsa-group-commit
# (log.flush.mode=group-commit), kafka-default (Kafka's default flush policy),
# kafka-flush1 (log.flush.interval.messages=1: fsync on every append).
# Stages per target and round:
#   P1, fresh data dir: (f) start -> first acked produce; (e) idle RSS;
#       warmup; (a) max produce = writing the big topic flat out; (e) peak RSS;
#       (c) consume the big topic from the start; kill -9; (f) restart ->
#       first acked produce with the big topic on disk; Kafka's
#       ProducerPerformance and ConsumerPerformance (Samsa and Kafka only).
#   P2, after every P1 (the rates depend on it), fresh data dir:
#       (b) produce latency at 10/50/80% of the lower max of each Samsa/Kafka
#       pair; (d) end-to-end latency at the 50% rate.
# Ceilings (fsync at 1 MiB, page-cache write/read, loopback TCP) run at the
# start of every round. The order of the targets rotates by one each round.
# Between targets the machine is left alone for a while in proportion to the
# memory the last one freed (SETTLE_PER_GIB below).
# Everything the run writes, except the report, stays under
# $SAMSA_BENCH_CACHE (default ~/.cache/samsa-bench), which must not be a
# tmpfs. Kafka's jars come from Maven Central (cached there too).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
: "${SAMSA_BENCH_CACHE:=$HOME/.cache/samsa-bench}"
CACHE=$SAMSA_BENCH_CACHE
KAFKA_VERSION=4.3.1
CMDLINE="bench/run.sh $*"

MODE=full OUT="" README=1 PLOTS=1 ROUNDS=""
while (($#)); do
	case $1 in
	--smoke) MODE=smoke ;;
	--quick) MODE=quick ;;
	--rounds) ROUNDS=$2; shift ;;
	--out) OUT=$2; shift ;;
	--no-readme) README=0 ;;
	--no-plots) PLOTS=0 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

# Sizes per mode. BIG_MIB: the big topic of (a), (c) and (f); LAT_SECS and
# E2E_SECS: measured seconds per fixed-rate run, after WARM_SECS of warmup.
case $MODE in
smoke) R=1 BIG_MIB=24 WARM_MIB=4 LAT_SECS=0.5 E2E_SECS=0.5 WARM_SECS=0.2 CEIL_MIB=32 PERF_RECORDS=10000 IDLE_SECS=0.5 TOOL_TIMEOUT=120 SETTLE_PER_GIB=0 ;;
quick) R=3 BIG_MIB=512 WARM_MIB=64 LAT_SECS=4 E2E_SECS=4 WARM_SECS=1 CEIL_MIB=256 PERF_RECORDS=200000 IDLE_SECS=1 TOOL_TIMEOUT=300 SETTLE_PER_GIB=3.5 ;;
full) R=3 BIG_MIB=4096 WARM_MIB=256 LAT_SECS=15 E2E_SECS=15 WARM_SECS=3 CEIL_MIB=1024 PERF_RECORDS=1000000 IDLE_SECS=2 TOOL_TIMEOUT=900 SETTLE_PER_GIB=3.5 ;;
esac
# After a target stops and its data is deleted, the machine is left alone for
# SETTLE_PER_GIB seconds per GiB of memory that came free (at most
# SETTLE_MAX_SECS) before the next target starts. A VM that reports free
# memory to its host (virtio-balloon free page reporting) keeps the host busy
# for that long after a large deletion, and the host's work stalls the guest's
# CPUs for up to half a second at a time: measured here, 9 GB deleted gave
# report cycles of 190-380 ms every 2.2 s for 31 s. Without the wait, the
# stalls fell on the next target's first 40 s, which is where a broker that
# starts in milliseconds runs its 50% stage.
SETTLE_MAX_SECS=60
ROUNDS=${ROUNDS:-$R}
TARGETS=(kfake samsa-page-cache samsa-group-commit kafka-default kafka-flush1)
PARTITIONS=16
KAFKA_HEAP="-Xmx1G -Xms1G"
# kafka-server-start.sh's JVM options (KAFKA_JVM_PERFORMANCE_OPTS).
KAFKA_JVM="-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true"
# kafka-producer-perf-test.sh / kafka-consumer-perf-test.sh set -Xmx512M.
TOOL_JVM="-Xmx512M $KAFKA_JVM -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.logFile=System.err"

mkdir -p "$CACHE/runs" "$CACHE/bin"
RUN=$CACHE/runs/$(date -u +%Y%m%dT%H%M%SZ)-$MODE-$$
RES=$RUN/results
DATA=$RUN/data
mkdir -p "$RES" "$DATA" "$RUN/logs"
: >"$RUN/pids"
if [[ -z $OUT ]]; then
	if [[ $MODE == smoke ]]; then OUT=$RUN/out; else OUT=$ROOT/docs; fi
fi
[[ $MODE == smoke ]] && README=0 # a smoke run's figures mean nothing
mkdir -p "$OUT/img"

say() { echo "bench: $(date -u +%H:%M:%S) $*" >&2; }

# Every process this script starts is listed in $RUN/pids and killed by PID
# on exit; nothing else is touched.
cleanup() {
	local p
	for p in $(cat "$RUN/pids" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fstype=$(findmnt -n -o FSTYPE -T "$DATA" || echo unknown)
if [[ $fstype == tmpfs || $fstype == ramfs ]]; then
	echo "run.sh: $DATA is on $fstype; set SAMSA_BENCH_CACHE to a directory on a disk" >&2
	exit 1
fi

# --- build and fetch ----------------------------------------------------------
say "mode $MODE, $ROUNDS round(s), run directory $RUN"
BIN=$RUN/bin
mkdir -p "$BIN"
# The commit the binaries are built from (edits made while the run goes on
# do not change them).
SAMSA_COMMIT="$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- . ':!bench' ':!docs' 2>/dev/null || echo '+uncommitted changes')"
(cd "$ROOT" && go build -o "$BIN/samsa" ./cmd/samsa)
(cd "$BENCH" && go build -o "$BIN/kfake" ./kfake && go build -o "$BIN/load" ./load && go build -o "$BIN/ceilings" ./ceilings)

# Kafka's jars, copied into this harness's own cache by Maven (from ~/.m2 when
# the compat suite fetched them already, else from Maven Central). The compat
# suite's copy is not used directly: its setup replaces it while it runs.
KLIB=$("$BENCH/kafka-jars.sh" "$CACHE" "$KAFKA_VERSION")
command -v java >/dev/null || { echo "run.sh: java is needed for Kafka" >&2; exit 1; }

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Kafka's storage is formatted once into a template that every Kafka start
# copies (static quorum voters, so nothing in it names a port).
CLUSTER_ID=$(python3 -c 'import base64,uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode())')
kafka_props() { # FILE DATADIR PORT CPORT FLUSH1
	cat >"$1" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$4
listeners=PLAINTEXT://127.0.0.1:$3,CONTROLLER://127.0.0.1:$4
advertised.listeners=PLAINTEXT://127.0.0.1:$3
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$2
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
	[[ $5 == 1 ]] && echo "log.flush.interval.messages=1" >>"$1"
	return 0
}
KTEMPLATE=$RUN/kafka-template
kafka_props "$RUN/format.properties" "$KTEMPLATE" 1 2 0
t0=$(date +%s%N)
java -Xmx256M -cp "$KLIB/*" kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$RUN/format.properties" >"$RUN/logs/format.log" 2>&1
KAFKA_FORMAT_MS=$((($(date +%s%N) - t0) / 1000000))

# Samsa gets the settings the Kafka properties above change from their
# defaults, where it has them: Kafka's shipped server.properties sets the
# group's initial rebalance delay to 0 (the default, 3 s, is for
# production), which ConsumerPerformance's group join would otherwise pay
# on Samsa alone.
SAMSA_PROPS=(--override group.initial.rebalance.delay.ms=0)

# --- targets ------------------------------------------------------------------
# start TARGET DATADIR: launches the target in the background; sets PID, ADDR
# and T0 (its start time, Unix ns). An empty DATADIR gets Kafka's template.
start() {
	local t=$1 dir=$2 p cp
	p=$(port)
	ADDR=127.0.0.1:$p
	mkdir -p "$dir"
	case $t in
	kfake) T0=$(date +%s%N); "$BIN/kfake" -port "$p" >>"$RUN/logs/$t.log" 2>&1 & ;;
	samsa-page-cache) T0=$(date +%s%N); "$BIN/samsa" serve --data-dir "$dir" --listen "$ADDR" --log-level warn "${SAMSA_PROPS[@]}" >>"$RUN/logs/$t.log" 2>&1 & ;;
	samsa-group-commit) T0=$(date +%s%N); "$BIN/samsa" serve --data-dir "$dir" --listen "$ADDR" --log-level warn "${SAMSA_PROPS[@]}" --override log.flush.mode=group-commit >>"$RUN/logs/$t.log" 2>&1 & ;;
	kafka-default | kafka-flush1)
		cp=$(port)
		[[ -f $dir/meta.properties ]] || cp -a "$KTEMPLATE/." "$dir/"
		kafka_props "$RUN/$t.properties" "$dir" "$p" "$cp" "$([[ $t == kafka-flush1 ]] && echo 1 || echo 0)"
		T0=$(date +%s%N)
		# shellcheck disable=SC2086
		java $KAFKA_HEAP $KAFKA_JVM -Dorg.slf4j.simpleLogger.defaultLogLevel=info -cp "$KLIB/*" kafka.Kafka "$RUN/$t.properties" >>"$RUN/logs/$t.log" 2>&1 &
		;;
	esac
	PID=$!
	echo "$PID" >>"$RUN/pids"
}
stop() { # graceful; kill -9 if it does not stop in 60 s
	local i
	kill "$PID" 2>/dev/null || true
	for i in $(seq 600); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
}
free_kib() { awk '$1 == "MemFree:" {print $2}' /proc/meminfo; }
# settle FREE_KIB: waits as described at SETTLE_PER_GIB for the memory that
# came free since FREE_KIB was read.
settle() {
	local secs
	secs=$(awk -v a="$1" -v b="$(free_kib)" -v k="$SETTLE_PER_GIB" -v m="$SETTLE_MAX_SECS" \
		'BEGIN { s = (b - a) / 1048576 * k; if (s > m) s = m; if (s < 0) s = 0; printf "%.0f", s }')
	((secs > 0)) || return 0
	say "  settle ${secs} s ($(( ($(free_kib) - $1) >> 10 )) MiB came free)"
	sleep "$secs"
}
crash() { kill -9 "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
cpu_ticks() { # utime+stime of the running target, or nothing
	[[ $target != machine && -n ${PID:-} && -r /proc/$PID/stat ]] || return 0
	awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$PID/stat"
}
rss_mib() { awk -v k="$2:" '$1 == k {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# stage NAME CMD...: runs CMD, keeps its stdout as $RES/$round.$target.NAME.json,
# or its stderr as ...err: a failing stage is reported, never dropped.
stage() {
	local name=$1 f=$RES/$round.$target.$1
	shift
	say "  $target round $round: $name"
	local rc=0 cpu0 t0
	cpu0=$(cpu_ticks) t0=$(date +%s%N)
	"$@" >"$f.out" 2>"$f.stderr" || rc=$?
	if ((rc == 0)); then
		mv "$f.out" "$f.json"
		# The broker's CPU time during the stage (user+system, all threads).
		[[ -n $cpu0 ]] && awk -v a="$cpu0" -v b="$(cpu_ticks)" -v t0="$t0" -v t1="$(date +%s%N)" -v hz="$(getconf CLK_TCK)" \
			'BEGIN { w = (t1 - t0) / 1e9; printf "{\"broker_cpu_s\": %.3f, \"wall_s\": %.3f, \"broker_cores\": %.3f}\n", (b - a) / hz, w, (b - a) / hz / w }' >"$f.cpu"
		return 0
	fi
	{ echo "exit $rc"; tail -5 "$f.stderr"; } >"$f.err"
	say "  FAILED: $target $name: $(tail -1 "$f.stderr")"
	return 1
}
value() { # NAME KEY NUMBER: a figure the script read itself
	if [[ -n $3 ]]; then echo "{\"$2\": $3}" >"$RES/$round.$target.$1.json"; else echo "no value (process gone?)" >"$RES/$round.$target.$1.err"; fi
}
L() { "$BIN/load" "$@" --brokers "$ADDR"; }
is_kafka_tool_target() { [[ $target != kfake ]]; }

perf_producer() {
	# shellcheck disable=SC2086
	timeout "$TOOL_TIMEOUT" java $TOOL_JVM -cp "$KLIB/*" org.apache.kafka.tools.ProducerPerformance --topic perf \
		--num-records "$PERF_RECORDS" --record-size 1024 --throughput -1 --bootstrap-server "$ADDR" \
		--producer-props acks=all enable.idempotence=true linger.ms=5 batch.size=1048576 |
		grep 'records sent,' | tail -1 | python3 "$BENCH/perfparse.py" producer
}
perf_consumer() {
	# shellcheck disable=SC2086
	timeout "$TOOL_TIMEOUT" java $TOOL_JVM -cp "$KLIB/*" org.apache.kafka.tools.ConsumerPerformance --topic big \
		--num-records "$((BIG_MIB * 1024))" --bootstrap-server "$ADDR" --timeout 60000 --hide-header |
		tail -1 | python3 "$BENCH/perfparse.py" consumer "$((BIG_MIB * 1024))"
}

# phase1 TARGET: (f) empty start, (e) RSS, (a) max produce, (c) consume,
# (f) after kill -9, Kafka's perf tools.
phase1() {
	local dir=$DATA/$target
	rm -rf "$dir"
	start "$target" "$dir"
	if ! stage start_empty L first --topic first --since "$T0"; then stop; rm -rf "$dir"; return; fi
	sleep "$IDLE_SECS"
	value rss_idle rss_mib "$(rss_mib "$PID" VmRSS)"
	stage warmup L produce --topic warm --partitions "$PARTITIONS" --bytes "$((WARM_MIB << 20))" || true
	stage produce_max L produce --topic big --partitions "$PARTITIONS" --bytes "$((BIG_MIB << 20))" || true
	value rss_load rss_mib "$(rss_mib "$PID" VmHWM)"
	stage consume L consume --topic big || true
	local free0
	free0=$(free_kib)
	crash
	settle "$free0"
	start "$target" "$dir"
	if stage start_recover L first --topic big --since "$T0" && is_kafka_tool_target; then
		L topic --topic perf --partitions "$PARTITIONS" >/dev/null 2>&1 || true
		stage perf_producer perf_producer || true
		stage perf_consumer perf_consumer || true
	fi
	free0=$(free_kib)
	stop
	rm -rf "$dir"
	settle "$free0"
}

# phase2 TARGET: (b) latency at three rates, (d) end-to-end latency.
phase2() {
	local dir=$DATA/$target pct rate free0
	rm -rf "$dir"
	start "$target" "$dir"
	if ! stage ready L first --topic first --since "$T0"; then stop; rm -rf "$dir"; return; fi
	for pct in 10 50 80; do
		rate=$(rate_for "$target" "$pct")
		stage "produce_rate$pct" L produce --topic "lat$pct" --partitions "$PARTITIONS" --rate "$rate" \
			--warmup "${WARM_SECS}s" --duration "${LAT_SECS}s" || true
	done
	stage e2e L e2e --topic e2e --partitions "$PARTITIONS" --rate "$(rate_for "$target" 50)" \
		--warmup "${WARM_SECS}s" --duration "${E2E_SECS}s" || true
	free0=$(free_kib)
	stop
	rm -rf "$dir"
	settle "$free0"
}

rate_for() { python3 "$BENCH/report.py" rate "$RES" "$1" "$2"; }

ceilings() {
	local target=machine free0
	free0=$(free_kib)
	stage ceilings "$BIN/ceilings" -dir "$DATA" -size-mib "$CEIL_MIB" || true
	settle "$free0"
}

# --- run ----------------------------------------------------------------------
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# Each round starts one target later in the list, so no target always runs
# right after the same one: what a target leaves behind (kfake frees 7 GiB
# of memory, a broker deletes gigabytes on a disk mounted with discard) then
# falls on every target in turn instead of on one.
rotated() { local i n=${#TARGETS[@]}; for ((i = 0; i < n; i++)); do echo "${TARGETS[(i + round - 1) % n]}"; done; }
for round in $(seq "$ROUNDS"); do
	ceilings
	for target in $(rotated); do phase1; done
done
for round in $(seq "$ROUNDS"); do
	for target in $(rotated); do phase2; done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report -------------------------------------------------------------------
cat >"$RUN/meta.json" <<EOF
{"mode": "$MODE", "rounds": $ROUNDS, "command": "$CMDLINE", "started": "$STARTED",
 "finished": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "load_start": "$LOAD_START", "load_end": "$LOAD_END",
 "big_mib": $BIG_MIB, "warm_mib": $WARM_MIB, "lat_secs": $LAT_SECS, "e2e_secs": $E2E_SECS, "warm_secs": $WARM_SECS,
 "ceil_mib": $CEIL_MIB, "settle_per_gib": $SETTLE_PER_GIB, "settle_max_secs": $SETTLE_MAX_SECS, "perf_records": $PERF_RECORDS, "partitions": $PARTITIONS,
 "kafka_version": "$KAFKA_VERSION", "kafka_lib": "$KLIB", "kafka_heap": "$KAFKA_HEAP", "kafka_jvm": "$KAFKA_JVM",
 "kafka_format_ms": $KAFKA_FORMAT_MS,
 "java": "$(java -version 2>&1 | head -1 | tr -d '"')", "go": "$(go version | cut -d' ' -f3)",
 "samsa_commit": "$SAMSA_COMMIT", "samsa_flags": "${SAMSA_PROPS[*]}",
 "cpu": "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)", "cores": $(nproc),
 "mem_gib": $(awk '/MemTotal/ {printf "%.1f", $2/1048576}' /proc/meminfo), "kernel": "$(uname -r)",
 "disk": "$(findmnt -n -o SOURCE,FSTYPE,OPTIONS -T "$DATA" | tr -s ' ')",
 "franz_go": "$(cd "$BENCH" && go list -m -f '{{.Version}}' github.com/twmb/franz-go)",
 "kfake": "$(cd "$BENCH" && go list -m -f '{{.Version}}' github.com/twmb/franz-go/pkg/kfake)",
 "run_dir": "$RUN"}
EOF
if ((PLOTS)); then
	VENV=$CACHE/venv
	if [[ ! -x $VENV/bin/python ]] || ! cmp -s "$BENCH/requirements-plot.txt" "$VENV/requirements-plot.txt"; then
		say "installing matplotlib into $VENV"
		rm -rf "$VENV"
		python3 -m venv "$VENV" && "$VENV/bin/pip" install -q --disable-pip-version-check -r "$BENCH/requirements-plot.txt" &&
			cp "$BENCH/requirements-plot.txt" "$VENV/requirements-plot.txt" || say "FAILED: matplotlib install; no plots"
	fi
	"$VENV/bin/python" "$BENCH/plot.py" "$RES" "$OUT/img" || say "FAILED: plots"
fi
python3 "$BENCH/report.py" markdown "$RES" "$RUN/meta.json" "$OUT/img" >"$OUT/benchmarks.md"
if ((README)); then
	python3 "$BENCH/report.py" readme "$RES" "$RUN/meta.json" "$ROOT/README.md"
fi
say "report: $OUT/benchmarks.md (raw results and logs: $RUN)"
