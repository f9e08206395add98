#!/usr/bin/env bash
# Overload and hostile clients against one Samsa broker: a well-behaved
# producer's latency alone and beside each kind of hostile client, then
# beside all of them at once.
#
#   bench/hostile.sh [--rate R] [--measure D] [--idle N] [--stallers N]
#                    [--stall-bytes S] [--garbage N] [--flood N] [--deaf N] [--overload N]
#                    [--stages "alone idle stallers garbage flood deaf overload all"]
#                    [--rounds N] [--override k=v]... [--out FILE]
#
# One broker (`samsa serve`, defaults unless --override; the topics are made
# once) is restarted (SIGTERM, then started again on its data) before each
# stage, so each stage's memory is its own. Each stage:
#   hostile    `bench/load hostile` with that stage's clients, for the whole
#              stage; the measurement starts once every hostile connection
#              has been opened once
#              idle      --idle N connections (ApiVersions, Metadata, then nothing)
#              stallers  --stallers N connections that send half a Produce
#                        frame of --stall-bytes records and stall (reconnecting
#                        when the broker closes them)
#              garbage   --garbage N connections sending malformed and
#                        oversized frames flat out, one per connection
#              flood     --flood N connections sending Metadata for all topics
#                        back to back (the topic count is what exists: the
#                        measured topic and the overload topic, plus 200 more
#                        made for this)
#              deaf      --deaf N connections that pipeline Metadata requests
#                        for all topics and never read the answers
#              overload  --overload N franz-go producers flat out (acks=all,
#                        1 KiB records): more than the broker takes. Their
#                        topic keeps 256 MiB per partition (retention.bytes,
#                        64 MiB segments, the broker checking every second:
#                        log.retention.check.interval.ms=1000), or a few
#                        rounds would fill the disk
#              all       every one of the above at once
#   measure    `bench/load produce` at --rate records/s of 1 KiB (acks=all,
#              idempotent, linger 5 ms) for --measure after a 3 s warm-up:
#              p50, p99, p99.9, max
#   broker     resident memory and open descriptors, sampled every 0.5 s
#              during the stage (at its start and the largest), and whether
#              it still answers Metadata after the stage
# The load generator runs on the same machine, so the latency under load
# includes its CPU competing with the broker's.
#
# With --rounds N every stage runs N times (the stages in order, round after
# round) and the report gives, per stage, the median of the rounds' p50, p99
# and p99.9, the largest max, RSS and descriptor count, "up" only if the
# broker answered after every round, and the hostile clients' counts of the
# last round. The report goes to stdout and, with --out, to FILE as Markdown.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
: "${SAMSA_BENCH_CACHE:=$HOME/.cache/samsa-bench}"
CACHE=$SAMSA_BENCH_CACHE
RATE=2000 MEASURE=15s IDLE=10000 STALLERS=2000 STALL_BYTES=65536 GARBAGE=4 FLOOD=4 DEAF=100 OVERLOAD=2 OUTFILE="" ROUNDS=1
STAGES="alone idle stallers garbage flood deaf overload all"
OVERRIDES=()
while (($#)); do
	case $1 in
	--rate) RATE=$2; shift ;;
	--measure) MEASURE=$2; shift ;;
	--idle) IDLE=$2; shift ;;
	--stallers) STALLERS=$2; shift ;;
	--stall-bytes) STALL_BYTES=$2; shift ;;
	--garbage) GARBAGE=$2; shift ;;
	--flood) FLOOD=$2; shift ;;
	--deaf) DEAF=$2; shift ;;
	--overload) OVERLOAD=$2; shift ;;
	--stages) STAGES=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--override) OVERRIDES+=(--override "$2"); shift ;;
	--out) OUTFILE=$2; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "hostile.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
ulimit -n "$(ulimit -Hn)"

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
bench_run hostile load

ADDR=127.0.0.1:$(port)
up() { kill -0 "$PID" 2>/dev/null && "$BIN/samsa" -b "$ADDR" --timeout 10s cluster info >/dev/null 2>&1; }
start() {
	"$BIN/samsa" serve --data-dir "$DATA" --listen "$ADDR" --log-level warn --override metrics.listener= \
		--override log.retention.check.interval.ms=1000 "${OVERRIDES[@]}" \
		>>"$RUN/logs/samsa.log" 2>&1 &
	PID=$!
	echo "$PID" >>"$RUN/pids"
	for i in $(seq 600); do up && return 0; sleep 0.1; done
	say "the broker did not start"
	exit 1
}
stop() {
	kill -TERM "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
}
start
"$BIN/samsa" -b "$ADDR" topic create lat -p 4 >>"$RUN/logs/tools.log" 2>&1
"$BIN/samsa" -b "$ADDR" topic create overload -p 4 --config retention.bytes=268435456 --config segment.bytes=67108864 \
	>>"$RUN/logs/tools.log" 2>&1
for i in $(seq 200); do echo "flood-$i"; done | xargs -P 4 -I{} "$BIN/samsa" -b "$ADDR" topic create {} -p 1 >>"$RUN/logs/tools.log" 2>&1
# A first run warms the broker and the page cache; it is not reported.
"$BIN/load" produce --brokers "$ADDR" --topic lat --rate "$RATE" --duration 5s >/dev/null 2>>"$RUN/logs/tools.log"

hostile_args() { # STAGE: the bench/load hostile flags of the stage
	case $1 in
	alone) ;;
	idle) echo "--idle $IDLE" ;;
	stallers) echo "--stallers $STALLERS --stall-bytes $STALL_BYTES" ;;
	garbage) echo "--garbage $GARBAGE" ;;
	flood) echo "--metadata-flood $FLOOD" ;;
	deaf) echo "--deaf $DEAF" ;;
	overload) echo "--overload $OVERLOAD" ;;
	all) echo "--idle $IDLE --stallers $STALLERS --stall-bytes $STALL_BYTES --garbage $GARBAGE --metadata-flood $FLOOD --deaf $DEAF --overload $OVERLOAD" ;;
	esac
}
sample() { # FILE: "rss_kib fds" every 0.5 s until killed
	while kill -0 "$PID" 2>/dev/null; do
		echo "$(awk '/VmRSS/ {print $2}' "/proc/$PID/status" 2>/dev/null || echo 0) $(ls "/proc/$PID/fd" 2>/dev/null | wc -l)" >>"$1"
		sleep 0.5
	done
}
secs() { python3 -c "import re,sys; m=re.fullmatch(r'(\d+)(ms|s|m)', sys.argv[1]); print(int(m[1]) * {'ms': 0.001, 's': 1, 'm': 60}[m[2]])" "$1"; }

stage() {
	local name=$1 args hp="" sp out=$RUN/results/$1.$2.json
	args=$(hostile_args "$name")
	stop
	start
	: >"$RUN/$name.samples"
	sample "$RUN/$name.samples" &
	sp=$!
	if [[ -n $args ]]; then
		local dur
		dur=$(python3 -c "print(int($(secs "$MEASURE") + 90))")
		# shellcheck disable=SC2086
		"$BIN/load" hostile --brokers "$ADDR" --topic overload --partitions 4 --duration "${dur}s" $args \
			>"$RUN/$name.hostile" 2>>"$RUN/logs/tools.log" &
		hp=$!
		echo "$hp" >>"$RUN/pids"
		for i in $(seq 1200); do [[ -s $RUN/$name.hostile ]] && break; sleep 0.1; done
		sleep 2
	fi
	say "$name: measuring"
	local lat
	lat=$("$BIN/load" produce --brokers "$ADDR" --topic lat --rate "$RATE" --duration "$MEASURE" --warmup 3s \
		2>>"$RUN/logs/tools.log") || lat='{"error": "produce failed"}'
	if [[ -n $hp ]]; then
		kill -INT "$hp" 2>/dev/null || true # ends it early, with its counts
		wait "$hp" 2>/dev/null || true
	fi
	kill "$sp" 2>/dev/null || true
	wait "$sp" 2>/dev/null || true
	local alive=false
	up && alive=true
	python3 - "$name" "$lat" "$RUN/$name.samples" "$RUN/$name.hostile" "$alive" >"$out" <<'EOF'
import json, os, sys
name, lat, samples, hostile, alive = sys.argv[1:]
lat = json.loads(lat)
rows = [l.split() for l in open(samples) if len(l.split()) == 2]
rss = max((int(r[0]) for r in rows), default=0) / 1024
rss0 = int(rows[0][0]) / 1024 if rows else 0
fds = max((int(r[1]) for r in rows), default=0)
h = None
if os.path.exists(hostile):
    lines = [json.loads(l) for l in open(hostile) if l.strip()]
    h = lines[-1] if lines and "ready" not in lines[-1] else None
out = {"stage": name, "up": alive == "true", "rss_start_mib": round(rss0), "rss_max_mib": round(rss), "fds_max": fds, "hostile": h}
if "latency" in lat:
    l = lat["latency"]
    out.update(p50_ms=l["p50_ms"], p99_ms=l["p99_ms"], p999_ms=l["p999_ms"], max_ms=l["max_ms"], acked=lat["records"])
else:
    out["error"] = lat.get("error", "produce failed")
print(json.dumps(out))
EOF
	say "$name: $(cat "$out" | head -c 300)"
}

for round in $(seq "$ROUNDS"); do
	say "round $round"
	for s in $STAGES; do
		stage "$s" "$round"
		kill -0 "$PID" 2>/dev/null || break 2
	done
done
kill -0 "$PID" 2>/dev/null || say "the broker died during $s, round $round"
stop

python3 - "$RUN/results" "$COMMIT" "$RATE" "$MEASURE" "$IDLE" "$STALLERS" "$STALL_BYTES" "$GARBAGE" "$FLOOD" "$DEAF" "$OVERLOAD" "$STAGES" "$ROUNDS" <<'EOF' | tee "${OUTFILE:-/dev/null}"
import json, os, statistics, sys
d, commit, rate, measure, idle, stallers, stall_bytes, garbage, flood, deaf, overload, stages, rounds = sys.argv[1:]
res = {}
for s in stages.split():
    runs = [json.load(open(f"{d}/{s}.{r}.json")) for r in range(1, int(rounds) + 1) if os.path.exists(f"{d}/{s}.{r}.json")]
    if not runs:
        continue
    r = dict(runs[-1])
    ok = [x for x in runs if "error" not in x]
    r["up"] = all(x["up"] for x in runs)
    r["rss_start_mib"] = min(x["rss_start_mib"] for x in runs)
    r["rss_max_mib"] = max(x["rss_max_mib"] for x in runs)
    r["fds_max"] = max(x["fds_max"] for x in runs)
    if ok:
        r.pop("error", None)
        for k in ("p50_ms", "p99_ms", "p999_ms"):
            r[k] = statistics.median(x[k] for x in ok)
        r["max_ms"] = max(x["max_ms"] for x in ok)
    if len(ok) < len(runs):
        r["failed_rounds"] = len(runs) - len(ok)
    res[s] = r
clients = {"alone": "-", "idle": f"{idle} idle", "stallers": f"{stallers} stallers ({stall_bytes} B frames, half sent)",
           "garbage": f"{garbage} garbage", "flood": f"{flood} metadata flood", "deaf": f"{deaf} not reading", "overload": f"{overload} producers flat out",
           "all": "all of them"}
base = res.get("alone", {}).get("p99_ms")
load = open("/proc/loadavg").read().split()[:3]
print(f"Samsa {commit}; well-behaved producer: {rate} records/s of 1 KiB for {measure}; {rounds} round(s), medians; load average at the end {' '.join(load)} on {os.cpu_count()} cores\n")
print("| stage | hostile clients | p50 ms | p99 ms | p99 vs alone | p99.9 ms | max ms | broker RSS start → max | fds max | up | what the hostile clients got |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for s, r in res.items():
    h, got = r.get("hostile") or {}, []
    if "stallers" in h:
        x = h["stallers"]; got.append(f"stallers: {x['opened']} opened, {x['closed_by_broker']} closed by the broker")
    if "idle" in h:
        x = h["idle"]; got.append(f"idle: {x['opened']} opened, {x['closed_by_broker']} closed, {x['failed']} failed")
    if "garbage" in h:
        k = h["garbage"]["kinds"]
        got.append(f"garbage: {sum(y['sent'] for y in k)} frames, {sum(y['closed'] for y in k)} closed, {sum(y['answered'] for y in k)} answered first, {sum(y['timed_out'] for y in k)} timed out")
    if "deaf" in h:
        x = h["deaf"]; got.append(f"not reading: {x['requests_sent']} requests written (most into kernel buffers) before the writes blocked")
    if "metadata_flood" in h:
        got.append(f"flood: {h['metadata_flood']['answered_per_s']:.0f} answers/s")
    if "overload" in h:
        x = h["overload"]; got.append(f"overload: {x['mib_per_s']:.0f} MiB/s acked, {x['failed']} failed")
    if "error" in r:
        print(f"| {s} | {clients[s]} | {r['error']} | | | | | {r['rss_start_mib']} → {r['rss_max_mib']} MiB | {r['fds_max']} | {'yes' if r['up'] else 'NO'} | {'; '.join(got)} |")
        continue
    ratio = f"{r['p99_ms'] / base:.1f}x" if base else "-"
    print(f"| {s} | {clients[s]} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {ratio} | {r['p999_ms']:.1f} | {r['max_ms']:.0f} | {r['rss_start_mib']} → {r['rss_max_mib']} MiB | {r['fds_max']} | {'yes' if r['up'] else 'NO'} | {'; '.join(got)} |")
EOF
