#!/usr/bin/env bash
# CPU profiles of Samsa under the harness's workloads, for the "profile, fix
# the hot path, record before/after" loop of issue 5. Starts one Samsa
# (page-cache or group-commit) with pprof on a loopback port, and for each
# workload takes a CPU profile while bench/load drives it:
#   produce   flat-out produce, 16 partitions, acks=all, idempotent, 1 KiB
#   consume   reading the produced topic from the start
# Prints `go tool pprof -top` of each and keeps the .pprof files.
#
#   bench/profile.sh [--mode page-cache|group-commit] [--seconds S]
# The produce runs S+3 seconds (profiled for S from its second second); the
# consume reads all of it, profiled for its first S/2 seconds.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${SAMSA_BENCH_CACHE:=$HOME/.cache/samsa-bench}"
MODE=page-cache SECS=4
while (($#)); do
	case $1 in
	--mode) MODE=$2; shift ;;
	--seconds) SECS=$2; shift ;;
	*) echo "profile.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
OUT=$SAMSA_BENCH_CACHE/profiles/$(date -u +%Y%m%dT%H%M%SZ)-$MODE
mkdir -p "$OUT/data"
(cd "$ROOT" && go build -o "$OUT/samsa" ./cmd/samsa)
(cd "$ROOT/bench" && go build -o "$OUT/load" ./load)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ADDR=127.0.0.1:$(port) DBG=127.0.0.1:$(port)
"$OUT/samsa" serve --data-dir "$OUT/data" --listen "$ADDR" --debug-addr "$DBG" --log-level warn \
	--override "log.flush.mode=$MODE" >"$OUT/samsa.log" 2>&1 &
PID=$!
trap 'kill -9 $PID 2>/dev/null || true; rm -rf "$OUT/data"' EXIT
"$OUT/load" first --brokers "$ADDR" --topic first --since "$(date +%s%N)" >/dev/null

# profile NAME DELAY SECONDS CMD...: runs CMD and takes a CPU profile of
# SECONDS starting DELAY seconds into it.
profile() {
	local name=$1 delay=$2 secs=$3
	shift 3
	"$@" >"$OUT/$name.json" &
	local load=$!
	sleep "$delay"
	curl -sf -o "$OUT/$name.pprof" "http://$DBG/debug/pprof/profile?seconds=$secs"
	wait "$load"
	echo "== $name: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.0f MiB/s, client %.2f cores" % (d["mib_per_s"], d["client_cores"]))' "$OUT/$name.json")"
	go tool pprof -top -nodecount=25 "$OUT/samsa" "$OUT/$name.pprof" 2>/dev/null | sed -n '1,32p'
}
profile produce 1 "$SECS" "$OUT/load" produce --brokers "$ADDR" --topic big --partitions 16 --duration "$((SECS + 3))s"
profile consume 0.5 "$((SECS / 2))" "$OUT/load" consume --brokers "$ADDR" --topic big
echo "profiles in $OUT"
