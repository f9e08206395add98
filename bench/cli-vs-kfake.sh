#!/usr/bin/env bash
# The figures of issue 2: `samsa bench` (the CLI's perf tool) against kfake
# and against Samsa, one after the other, same machine and workload: 1 KiB
# records, 8 partitions, acks=all, idempotent, linger 5 ms, 1 MiB batches.
# Prints produce/consume MB/s and the broker's peak RSS per round; take the
# medians. The full side-by-side harness (with Apache Kafka) is bench/run.sh.
#
#   bench/cli-vs-kfake.sh [ROUNDS] [RECORDS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
RECORDS=${2:-1000000}
work=$(mktemp -d -p "${HOME}")
pid=
trap '[[ -n $pid ]] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
go build -o "$work/samsa" ./cmd/samsa
(cd bench && go build -o "$work/kfake" ./kfake)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mbps() { python3 -c 'import json,sys; print(round(json.load(sys.stdin)["mb_per_sec"],1))'; }
for r in $(seq "$ROUNDS"); do
	for t in kfake samsa; do
		rm -rf "$work/data"
		if [[ $t == kfake ]]; then
			"$work/kfake" -port "$port" >/dev/null 2>&1 &
		else
			"$work/samsa" serve --data-dir "$work/data" --listen "127.0.0.1:$port" --log-level warn >/dev/null 2>&1 &
		fi
		pid=$!
		for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
		B=(-b "127.0.0.1:$port" --json)
		"$work/samsa" "${B[@]}" bench produce --topic warm --num-records 50000 --partitions 8 --no-progress >/dev/null
		p=$("$work/samsa" "${B[@]}" bench produce --topic t --num-records "$RECORDS" --partitions 8 --no-progress | mbps)
		rss=$(awk '/VmHWM/{print int($2/1024)}' "/proc/$pid/status")
		c=$("$work/samsa" "${B[@]}" bench consume --topic t --num-records "$RECORDS" --no-progress | mbps)
		echo "round $r $t produce_MBps=$p consume_MBps=$c peak_rss_MiB=$rss"
		kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
	done
done
