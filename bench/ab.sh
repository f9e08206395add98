#!/usr/bin/env bash
# Single-node A/B: the work tree's samsa against an older commit's, on the
# same disk in the same run, to check that a change does not slow the one-
# node broker (issue 17: "the single-node figures do not regress by more
# than 5%"). Per round and binary (the order alternates): a fresh data dir,
# `load produce` writes BYTES (2 GiB) flat out (the harness's max-produce stage,
# acks=all, 6 partitions), then `load consume` reads it back. Prints each
# round and the medians: MiB/s, and the broker's CPU seconds (user + system,
# from /proc) per GiB written and per GiB read, which a busy machine disturbs
# far less than throughput, so a small cost shows in it first.
#
#   bench/ab.sh OLD_REV [ROUNDS] [BYTES]    e.g. bench/ab.sh 7be7d71 3 2147483648
#
# Everything it writes stays under $SAMSA_BENCH_CACHE (default
# ~/.cache/samsa-bench/ab) and is deleted at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OLD=${1:?usage: bench/ab.sh OLD_REV [ROUNDS] [BYTES]}
ROUNDS=${2:-3}
SIZE=${3:-2147483648}
CACHE=${SAMSA_BENCH_CACHE:-$HOME/.cache/samsa-bench}/ab
rm -rf "$CACHE" && mkdir -p "$CACHE"
PID=
trap '[[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$CACHE"' EXIT

say() { echo "ab: $*" >&2; }

say "building the work tree and $OLD"
(cd "$ROOT" && go build -o "$CACHE/new" ./cmd/samsa)
git -C "$ROOT" worktree add --detach "$CACHE/old-src" "$OLD" >/dev/null 2>&1
(cd "$CACHE/old-src" && go build -o "$CACHE/old" ./cmd/samsa)
git -C "$ROOT" worktree remove --force "$CACHE/old-src"
(cd "$ROOT/bench" && go build -o "$CACHE/load" ./load)

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BROKER=127.0.0.1:$port

# run BIN ROUND: one produce and one consume; prints "produce_mibs consume_mibs".
run() {
	local bin=$1 dir="$CACHE/data" i
	rm -rf "$dir"
	"$CACHE/$bin" serve --data-dir "$dir" --listen "$BROKER" --log-level warn >"$CACHE/$bin.log" 2>&1 &
	PID=$!
	for i in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		sleep 0.1
	done
	local p c t0 t1 t2
	t0=$(cpu)
	p=$("$CACHE/load" produce --brokers "$BROKER" --topic ab --bytes "$SIZE" --warmup 5s)
	t1=$(cpu)
	c=$("$CACHE/load" consume --brokers "$BROKER" --topic ab)
	t2=$(cpu)
	kill "$PID"
	wait "$PID" 2>/dev/null || true
	PID=
	# The consume reads the whole topic, warmup included: the produce's CPU
	# is divided by that too.
	python3 -c 'import json, sys
p, c = json.loads(sys.argv[1]), json.loads(sys.argv[2])
t0, t1, t2, hz = (float(x) for x in sys.argv[3:7])
gib = c["bytes"] / (1 << 30)
print("%.1f %.1f %.3f %.3f" % (p["mib_per_s"], c["mib_per_s"], (t1 - t0) / hz / gib, (t2 - t1) / hz / gib))' "$p" "$c" "$t0" "$t1" "$t2" "$(getconf CLK_TCK)"
}
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; } # the broker's CPU, clock ticks

declare -A prod cons pcpu ccpu
for r in $(seq "$ROUNDS"); do
	order=(new old)
	((r % 2 == 0)) && order=(old new)
	for bin in "${order[@]}"; do
		read -r pm cm pc cc <<<"$(run "$bin")"
		say "round $r $bin: produce $pm MiB/s ($pc CPU s/GiB), consume $cm MiB/s ($cc CPU s/GiB)"
		prod[$bin]+="$pm "
		cons[$bin]+="$cm "
		pcpu[$bin]+="$pc "
		ccpu[$bin]+="$cc "
	done
done

median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
for bin in new old; do
	echo "$bin ($([[ $bin == new ]] && echo "work tree" || echo "$OLD")): produce median $(median "${prod[$bin]}") MiB/s [${prod[$bin]% }], consume median $(median "${cons[$bin]}") MiB/s [${cons[$bin]% }]"
	echo "  broker CPU s per GiB: produce median $(median "${pcpu[$bin]}") [${pcpu[$bin]% }], consume median $(median "${ccpu[$bin]}") [${ccpu[$bin]% }]"
done
