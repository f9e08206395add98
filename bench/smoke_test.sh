#!/usr/bin/env bash
# Runs the benchmark harness in smoke mode (tiny sizes, one round, every
# stage against every target) and checks that the report has every row, a
# figure in every cell, both plots, and no failed stage. A failed stage is a
# failure here too: it is either a harness bug or a broker regression.
# Run by the test suite so the harness cannot rot; takes about two minutes,
# most of it Apache Kafka's JVM starting and recovering.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(mktemp -d)
# Kept when something fails, for the raw results and logs it names.
trap '((fail == 0)) && rm -rf "$out"' EXIT
fail=0
"$ROOT/bench/run.sh" --smoke --out "$out" >"$out/run.log" 2>&1 || { fail=1; tail -30 "$out/run.log"; echo "smoke: bench/run.sh --smoke failed; output in $out"; exit 1; }
md=$out/benchmarks.md
bad() { echo "smoke: $*"; fail=1; }
rows=(
	"(a) max produce, MiB/s" "(a) max produce, p99 ms (queueing)"
	"(b) produce @ 10% rate: achieved rec/s" "(b) produce @ 50% rate: achieved rec/s" "(b) produce @ 80% rate: achieved rec/s"
	"(b) produce @ 10% rate: p50 ms" "(b) produce @ 10% rate: p99 ms" "(b) produce @ 10% rate: p99.9 ms"
	"(b) produce @ 50% rate: p50 ms" "(b) produce @ 50% rate: p99 ms" "(b) produce @ 50% rate: p99.9 ms"
	"(b) produce @ 80% rate: p50 ms" "(b) produce @ 80% rate: p99 ms" "(b) produce @ 80% rate: p99.9 ms"
	"(c) consume from start, MiB/s"
	"(a) broker CPU during max produce, cores busy" "(a) client CPU during max produce, cores busy"
	"(c) broker CPU during consume, cores busy" "(c) client CPU during consume, cores busy"
	"(d) end-to-end @ 50% rate: p50 ms" "(d) end-to-end @ 50% rate: p99 ms" "(d) end-to-end @ 50% rate: p99.9 ms"
	"(e) RSS idle, MiB" "(e) RSS peak under load, MiB"
	"(f) start to first produce, empty dir, ms" "(f) start to first produce after kill -9, ms"
	"ProducerPerformance MiB/s" "ProducerPerformance p99 ms" "ConsumerPerformance MiB/s"
	"fsync after every 1 MiB write, MiB/s" "page-cache write, 1 MiB writes, MiB/s"
	"page-cache read, 1 MiB reads, MiB/s" "loopback TCP, one stream, MiB/s"
	"samsa-group-commit max produce / fsync ceiling"
	"produce throughput, samsa-page-cache / kafka-default" "produce throughput, samsa-group-commit / kafka-flush1"
)
for r in "${rows[@]}"; do
	line=$(grep -F "| $r |" "$md" || true)
	[[ -n $line ]] || { bad "missing row: $r"; continue; }
	# Every cell but the ratio columns must hold a figure.
	cells=$(echo "$line" | awk -F'|' '{for (i = 3; i < NF; i++) print $i}')
	while IFS= read -r c; do
		c=${c# }; c=${c% }
		[[ $c =~ ^[0-9] || $c == *x || $c == *% || $c == met || $c == *"not met"* || $c == ">="* || $c == "<="* ]] ||
			bad "row '$r' has an empty or failed cell: '$c'"
	done <<<"$cells"
done
for p in throughput.png latency_cdf.png; do
	[[ -s $out/img/$p ]] || bad "missing plot $p"
done
if ! grep -A2 '^## Failures in this run' "$md" | grep -qx 'None.'; then
	bad "stages failed:"
	sed -n '/^## Failures in this run/,$p' "$md" | tail -n +3
fi
if ((fail == 0)); then echo "smoke: ok ($(grep -c '^|' "$md") table rows)"; else echo "smoke: report and logs kept in $out"; fi
exit "$fail"
