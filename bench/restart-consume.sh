#!/usr/bin/env bash
# Consume after a restart, two binaries side by side: what reading a log
# that was on disk at start costs (the first read of every segment checks
# its batches' CRCs since samsa verifies on first read; docs/reliability.md,
# "Disk faults"). One broker writes BYTES (1 GiB) to a topic of 6
# partitions and stops cleanly; then per round and binary (the order
# alternates) a broker is started on that data dir, `load consume` reads the
# whole topic twice (the first read after the start, then the same process
# again), and the broker stops. Prints each round and the medians: consume
# MiB/s and the broker's CPU seconds (user + system) per GiB read.
#
#   bench/restart-consume.sh OLD_REV [NEW_REV] [ROUNDS] [BYTES]
#
# NEW_REV defaults to HEAD (built from a clean checkout of it). Everything
# stays under $SAMSA_BENCH_CACHE (default ~/.cache/samsa-bench)/restart and
# is deleted at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OLD=${1:?usage: bench/restart-consume.sh OLD_REV [NEW_REV] [ROUNDS] [BYTES]}
NEW=${2:-HEAD}
ROUNDS=${3:-3}
SIZE=${4:-1073741824}
CACHE=${SAMSA_BENCH_CACHE:-$HOME/.cache/samsa-bench}/restart
rm -rf "$CACHE" && mkdir -p "$CACHE"
PID=
trap '[[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$CACHE"' EXIT

say() { echo "restart-consume: $*" >&2; }

for rev in old new; do
	r=$OLD
	[[ $rev == new ]] && r=$NEW
	say "building $rev ($r)"
	git -C "$ROOT" worktree add --detach "$CACHE/$rev-src" "$r" >/dev/null 2>&1
	(cd "$CACHE/$rev-src" && go build -o "$CACHE/$rev" ./cmd/samsa)
	[[ $rev == new ]] && (cd "$CACHE/$rev-src/bench" && go build -o "$CACHE/load" ./load)
	git -C "$ROOT" worktree remove --force "$CACHE/$rev-src"
done

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BROKER=127.0.0.1:$port
DATA=$CACHE/data

start() {
	"$CACHE/$1" serve --data-dir "$DATA" --listen "$BROKER" --log-level warn >>"$CACHE/$1.log" 2>&1 &
	PID=$!
	local i
	for i in $(seq 300); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return
		sleep 0.1
	done
	say "broker $1 did not start"
	exit 1
}
stop() {
	kill "$PID"
	wait "$PID" 2>/dev/null || true
	PID=
}
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; } # the broker's CPU, clock ticks

say "writing $SIZE bytes"
start new
"$CACHE/load" produce --brokers "$BROKER" --topic restart --partitions 6 --bytes "$SIZE" >/dev/null
stop

declare -A cons ccpu cons2 ccpu2
for r in $(seq "$ROUNDS"); do
	order=(new old)
	((r % 2 == 0)) && order=(old new)
	for bin in "${order[@]}"; do
		start "$bin"
		t0=$(cpu)
		c=$("$CACHE/load" consume --brokers "$BROKER" --topic restart)
		t1=$(cpu)
		c2=$("$CACHE/load" consume --brokers "$BROKER" --topic restart) # the same process again
		t2=$(cpu)
		stop
		read -r cm cc cm2 cc2 <<<"$(python3 -c 'import json, sys
c, c2 = json.loads(sys.argv[1]), json.loads(sys.argv[2])
t0, t1, t2, hz = (float(x) for x in sys.argv[3:7])
print("%.1f %.3f %.1f %.3f" % (c["mib_per_s"], (t1 - t0) / hz / (c["bytes"] / (1 << 30)), c2["mib_per_s"], (t2 - t1) / hz / (c2["bytes"] / (1 << 30))))' "$c" "$c2" "$t0" "$t1" "$t2" "$(getconf CLK_TCK)")"
		say "round $r $bin: first consume $cm MiB/s ($cc CPU s/GiB), second $cm2 MiB/s ($cc2 CPU s/GiB)"
		cons[$bin]+="$cm "
		ccpu[$bin]+="$cc "
		cons2[$bin]+="$cm2 "
		ccpu2[$bin]+="$cc2 "
	done
done
med() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for bin in old new; do
	echo "$bin: first consume $(med <<<"${cons[$bin]}") MiB/s, $(med <<<"${ccpu[$bin]}") CPU s/GiB; second $(med <<<"${cons2[$bin]}") MiB/s, $(med <<<"${ccpu2[$bin]}") CPU s/GiB (medians of $ROUNDS)"
done
