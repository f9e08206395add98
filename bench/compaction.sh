#!/usr/bin/env bash
# Produce latency on one topic while the log cleaner compacts another
# (issue 4's performance goal: produce p99 moves by less than 20% while a
# 1 GiB topic with 100k keys is compacted).
#
#   bench/compaction.sh [--mib 1024] [--keys 100000] [--rate 5000] [--secs 6] [--rounds 3]
#
# Per round, on a fresh data dir: start `samsa serve` with the cleaner idle
# (log.cleaner.backoff.ms=1h), fill topic `table` (1 partition,
# cleanup.policy=compact, 64 MiB segments) with --mib MiB of 1 KiB records
# whose keys are drawn from --keys keys; then measure produce latency on
# topic `lat` (4 partitions, acks=all, --rate records/s, 2 s warmup, --secs s
# measured) twice: once with the cleaner idle (baseline), once with the
# cleaner woken at the start of the measured window (a dynamic change of
# log.cleaner.backoff.ms wakes it). The cleaning pass's duration comes from
# the broker's "cleaned log" line; "during" figures are over the records
# sent between the trigger and that line (if the pass outlasts the measured
# window, over the window). Prints one line per round and the median of each
# figure; the load generator is bench/load (franz-go).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${SAMSA_BENCH_CACHE:=$HOME/.cache/samsa-bench}"
MIB=1024 KEYS=100000 RATE=5000 SECS=6 ROUNDS=3
while (($#)); do
	case $1 in
	--mib) MIB=$2; shift ;;
	--keys) KEYS=$2; shift ;;
	--rate) RATE=$2; shift ;;
	--secs) SECS=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "compaction.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

RUN=$SAMSA_BENCH_CACHE/runs/$(date -u +%Y%m%dT%H%M%SZ)-compaction-$$
mkdir -p "$RUN/bin" "$RUN/logs" "$RUN/results"
PID=""
cleanup() {
	[[ -n $PID ]] && kill -9 "$PID" 2>/dev/null || true
	rm -rf "$RUN/data"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { echo "compaction: $(date -u +%H:%M:%S) $*" >&2; }

(cd "$ROOT" && go build -o "$RUN/bin/samsa" ./cmd/samsa)
(cd "$ROOT/bench" && go build -o "$RUN/bin/load" ./load)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for ((r = 1; r <= ROUNDS; r++)); do
	ADDR=127.0.0.1:$(port)
	log=$RUN/logs/samsa-$r.log
	"$RUN/bin/samsa" serve --data-dir "$RUN/data/$r" --listen "$ADDR" --log-level info \
		--override log.cleaner.backoff.ms=3600000 >"$log" 2>&1 &
	PID=$!
	until "$RUN/bin/samsa" -b "$ADDR" cluster info >/dev/null 2>&1; do sleep 0.05; done
	say "round $r: filling table with $MIB MiB, $KEYS keys"
	"$RUN/bin/load" produce --brokers "$ADDR" --topic table --partitions 1 --keys "$KEYS" \
		--bytes $((MIB << 20)) --topic-config cleanup.policy=compact,segment.bytes=67108864,min.cleanable.dirty.ratio=0.01 \
		>"$RUN/results/fill-$r.json"
	sync
	say "round $r: baseline latency"
	"$RUN/bin/load" produce --brokers "$ADDR" --topic lat --partitions 4 --rate "$RATE" --warmup 2s \
		--duration "${SECS}s" >"$RUN/results/base-$r.json"
	say "round $r: latency while cleaning"
	(
		sleep 2
		date +%s%N >"$RUN/results/trigger-$r"
		"$RUN/bin/samsa" -b "$ADDR" broker config --set log.cleaner.backoff.ms=15000 >/dev/null
	) &
	trigger=$!
	"$RUN/bin/load" produce --brokers "$ADDR" --topic lat --rate "$RATE" --warmup 2s \
		--duration "${SECS}s" --timeline "$RUN/results/timeline-$r.txt" >"$RUN/results/clean-$r.json"
	wait "$trigger"
	for _ in $(seq 600); do grep -q 'msg="cleaned log" partition=table-0' "$log" && break; sleep 0.1; done
	grep 'msg="cleaned log" partition=table-0' "$log" | head -1 >"$RUN/results/cleaned-$r.txt" || true
	kill "$PID"
	wait "$PID" || true
	PID=""
	rm -rf "$RUN/data/$r"
done

python3 - "$RUN/results" "$ROUNDS" "$MIB" "$KEYS" "$RATE" <<'EOF'
import json, re, statistics, sys
from datetime import datetime
res, rounds = sys.argv[1], int(sys.argv[2])
rows = []
for r in range(1, rounds + 1):
    base = json.load(open(f"{res}/base-{r}.json"))["latency"]
    during = json.load(open(f"{res}/clean-{r}.json"))["latency"]
    trigger = int(open(f"{res}/trigger-{r}").read()) / 1e9
    line = open(f"{res}/cleaned-{r}.txt").read()
    m = re.search(r"time=(\S+)", line)
    secs = float("nan")
    if m:
        secs = datetime.fromisoformat(m.group(1)).timestamp() - trigger
    kept = re.search(r"read_bytes=(\d+) written_bytes=(\d+)", line)
    end = secs + trigger if secs == secs else float("inf")
    window = sorted(int(l.split()[1]) / 1e6 for l in open(f"{res}/timeline-{r}.txt")
                    if trigger <= int(l.split()[0]) / 1e9 <= end)
    def q(xs, f):
        return xs[max(0, min(len(xs) - 1, int(-(-f * len(xs) // 1)) - 1))] if xs else float("nan")
    wp50, wp99 = q(window, 0.5), q(window, 0.99)
    rows.append((base["p50_ms"], base["p99_ms"], wp50, wp99, secs, during["p99_ms"]))
    print(f"round {r}: baseline p50 {base['p50_ms']:.2f} p99 {base['p99_ms']:.2f} ms; while cleaning ({len(window)} records) p50 {wp50:.2f} "
          f"p99 {wp99:.2f} ms (whole window p99 {during['p99_ms']:.2f}); cleaning took {secs:.2f} s after the trigger"
          + (f" (read {int(kept.group(1)) >> 20} MiB, wrote {int(kept.group(2)) >> 20} MiB)" if kept else ""))
med = [statistics.median(c) for c in zip(*rows)]
rng = [(min(c), max(c)) for c in zip(*rows)]
print(f"median of {rounds}: {sys.argv[3]} MiB, {sys.argv[4]} keys, {sys.argv[5]} rec/s on another topic: "
      f"p99 {med[1]:.2f} [{rng[1][0]:.2f}-{rng[1][1]:.2f}] ms idle vs {med[3]:.2f} [{rng[3][0]:.2f}-{rng[3][1]:.2f}] ms while cleaning "
      f"({med[3] / med[1]:.2f}x; goal < 1.2x); p50 {med[0]:.2f} vs {med[2]:.2f} ms; cleaning {med[4]:.2f} [{rng[4][0]:.2f}-{rng[4][1]:.2f}] s")
EOF
echo "compaction: results in $RUN/results" >&2
