#!/usr/bin/env bash
# TLS side by side: Samsa and Apache Kafka (single node each, fresh data
# directory per round, same disk, same client), each serving one PLAINTEXT
# and one SSL listener, so the cost of TLS is measured against the same
# broker without it.
#
#   bench/tls.sh [--rounds N] [--records N] [--targets "samsa kafka"] [--out FILE]
#
# Per target and round, for each listener (plaintext and ssl; which goes
# first alternates by round):
#   produce   `samsa bench produce` (franz-go, acks=all, idempotent, 1 KiB
#             records, linger 5 ms, sticky partitioner) of --records records
#             (default 1,000,000) to a topic of 8 partitions: MiB/s and p99
#   consume   `samsa bench consume` of that topic from its start: MiB/s
# Certificates: a CA and a server certificate (ECDSA P-256, SAN IP
# 127.0.0.1) made with openssl for the run; both brokers read the same PEM
# key store (ssl.keystore.type=PEM) and the client trusts the CA. TLS 1.3
# on both (Go's and Java's defaults pick TLS_AES_128_GCM_SHA256 and
# TLS_AES_256_GCM_SHA384 respectively).
# The report (median of the rounds, default 3) goes to stdout and, with
# --out, to FILE as Markdown. Kafka's jars come from Maven Central through
# bench/kafka-jars.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
: "${SAMSA_BENCH_CACHE:=$HOME/.cache/samsa-bench}"
CACHE=$SAMSA_BENCH_CACHE
KAFKA_VERSION=4.3.1
ROUNDS=3 RECORDS=1000000 OUTFILE="" TARGETS="samsa kafka"
while (($#)); do
	case $1 in
	--rounds) ROUNDS=$2; shift ;;
	--records) RECORDS=$2; shift ;;
	--targets) TARGETS=$2; shift ;;
	--out) OUTFILE=$2; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "tls.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
bench_run tls
mkdir -p "$RUN/certs"
KLIB=$("$BENCH/kafka-jars.sh" "$CACHE" "$KAFKA_VERSION")

# The certificates: ca.pem signs server.pem (key and chain in one file).
C=$RUN/certs
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench-ca \
	-keyout "$C/ca.key" -out "$C/ca.pem" 2>>"$RUN/logs/openssl.log"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
	-keyout "$C/server.key" -out "$C/server.csr" 2>>"$RUN/logs/openssl.log"
printf 'subjectAltName=IP:127.0.0.1\n' >"$C/san.ext"
openssl x509 -req -in "$C/server.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -CAcreateserial -days 2 \
	-extfile "$C/san.ext" -out "$C/server.crt" 2>>"$RUN/logs/openssl.log"
openssl pkcs8 -topk8 -nocrypt -in "$C/server.key" -out "$C/server.p8" 2>>"$RUN/logs/openssl.log"
cat "$C/server.p8" "$C/server.crt" >"$C/server.pem"
cat >"$C/client.properties" <<EOF
security.protocol=SSL
ssl.truststore.type=PEM
ssl.truststore.location=$C/ca.pem
EOF
ssl_props() { # the broker side, the same for both
	cat <<EOF
ssl.keystore.type=PEM
ssl.keystore.location=$C/server.pem
EOF
}

start() { # TARGET DIR: sets PID, PLAIN and SSL (addresses)
	local p s cp
	p=$(port) s=$(port)
	PLAIN=127.0.0.1:$p SSL=127.0.0.1:$s
	mkdir -p "$2"
	case $1 in
	samsa)
		{
			echo "listeners=PLAINTEXT://$PLAIN,SSL://$SSL"
			ssl_props
		} >"$RUN/samsa.properties"
		"$BIN/samsa" serve --config "$RUN/samsa.properties" --data-dir "$2" --log-level warn \
			--override metrics.listener= >>"$RUN/logs/samsa.log" 2>&1 &
		;;
	kafka)
		cp=$(port)
		kafka_props "$RUN/kafka.properties" "$2" "$p" "$cp" "SSL://$SSL" "SSL:SSL"
		ssl_props >>"$RUN/kafka.properties"
		kafka_format "$RUN/kafka.properties" "$KLIB" "$RUN/logs/format.log"
		# shellcheck disable=SC2086
		java -Xmx1G -Xms1G $KAFKA_JVM -cp "$KLIB/*" kafka.Kafka "$RUN/kafka.properties" >>"$RUN/logs/kafka.log" 2>&1 &
		;;
	esac
	PID=$!
	echo "$PID" >>"$RUN/pids"
	local i
	for i in $(seq 600); do
		"$BIN/samsa" -b "$SSL" --command-config "$C/client.properties" cluster info >/dev/null 2>&1 && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "tls.sh: $1 did not start (see $RUN/logs)" >&2
	return 1
}
stop() {
	local i
	kill "$PID" 2>/dev/null || true
	for i in $(seq 600); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
}

client() { # LISTENER: the samsa CLI's global flags for it
	case $1 in
	plaintext) echo "-b $PLAIN" ;;
	ssl) echo "-b $SSL --command-config $C/client.properties" ;;
	esac
}
produce() { # LISTENER TOPIC: one JSON object
	local out
	# shellcheck disable=SC2046
	if out=$(timeout 900 "$BIN/samsa" $(client "$1") --timeout 60s bench produce --topic "$2" --partitions 8 \
		--num-records "$RECORDS" --record-size 1024 --no-progress --json 2>>"$RUN/logs/tools.log"); then
		python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(json.dumps({"mib_per_s": r["mb_per_sec"], "p99_ms": r["p99_ms"]}))' "$out"
	else
		echo '{"error": "produce failed"}'
	fi
}
consume() { # LISTENER TOPIC: one JSON object
	local out
	# shellcheck disable=SC2046
	if out=$(timeout 900 "$BIN/samsa" $(client "$1") --timeout 60s bench consume --topic "$2" \
		--num-records "$RECORDS" --no-progress 2>>"$RUN/logs/tools.log"); then
		python3 -c '
import json, re, sys
m = re.search(r"\(([0-9.]+) MB/sec\)", sys.argv[1])
print(json.dumps({"mib_per_s": float(m.group(1))} if m else {"error": "unparsed"}))' "$out"
	else
		echo '{"error": "consume failed"}'
	fi
}

for round in $(seq "$ROUNDS"); do
	for target in $TARGETS; do
		rm -rf "$DATA"
		start "$target" "$DATA/$target"
		order="plaintext ssl"
		((round % 2 == 0)) && order="ssl plaintext"
		for l in $order; do
			say "$target round $round: $l produce"
			produce "$l" "t-$l" >"$RUN/results/$round.$target.$l.produce.json"
			say "$target round $round: $l consume"
			consume "$l" "t-$l" >"$RUN/results/$round.$target.$l.consume.json"
		done
		stop
	done
done

python3 - "$RUN/results" "$ROUNDS" "$RECORDS" "$COMMIT" "$KAFKA_VERSION" "$TARGETS" <<'EOF' | tee "$RUN/report.md"
import json, os, statistics, sys
res, rounds, records, commit, kv, targets = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6].split()
def med(target, listener, stage, key):
    vals = []
    for r in range(1, rounds + 1):
        p = os.path.join(res, f"{r}.{target}.{listener}.{stage}.json")
        if os.path.exists(p):
            v = json.load(open(p)).get(key)
            if isinstance(v, (int, float)):
                vals.append(v)
    return statistics.median(vals) if vals else None
def fmt(v, d=1):
    return "-" if v is None else f"{v:,.{d}f}"
def ratio(a, b):
    return "-" if a is None or b in (None, 0) else f"{a / b:.2f}"
print(f"Samsa {commit} and Apache Kafka {kv}, one node each, median of {rounds} round(s) (`bench/tls.sh`).")
print(f"Client: `samsa bench` (franz-go), {records:,} records of 1 KiB, acks=all, idempotent, 8 partitions.\n")
print("| broker | stage | plaintext MiB/s | SSL MiB/s | SSL / plaintext | plaintext p99 ms | SSL p99 ms |")
print("|---|---|---|---|---|---|---|")
for t in targets:
    for stage in ("produce", "consume"):
        a, b = med(t, "plaintext", stage, "mib_per_s"), med(t, "ssl", stage, "mib_per_s")
        pa, pb = med(t, "plaintext", stage, "p99_ms"), med(t, "ssl", stage, "p99_ms")
        print(f"| {t} | {stage} | {fmt(a)} | {fmt(b)} | {ratio(b, a)} | {fmt(pa)} | {fmt(pb)} |")
if "samsa" in targets and "kafka" in targets:
    print()
    for stage in ("produce", "consume"):
        print(f"- {stage} over SSL, Samsa / Kafka: {ratio(med('samsa', 'ssl', stage, 'mib_per_s'), med('kafka', 'ssl', stage, 'mib_per_s'))}")
EOF
if [[ -n $OUTFILE ]]; then cp "$RUN/report.md" "$OUTFILE"; fi
say "done: $RUN"
