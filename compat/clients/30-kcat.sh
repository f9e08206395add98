# kcat (librdkafka) from the Debian package: metadata, keyed produce, consume
# by partition and offset, headers, each compression codec. kcat consumes
# with assign() unless -G is given, so none of this needs a consumer group.
# shellcheck shell=bash disable=SC2034

CLIENT=kcat
SCENARIOS=(metadata keyed-produce consume-partition-offset consume-by-timestamp headers
	compression-gzip compression-snappy compression-lz4 compression-zstd idempotent-produce
	large-messages-small-fetch balanced-consumer-group
	sasl-scram-sha-256 sasl-plain ssl-ca-location sasl-wrong-password)

client_version() {
	# "kcat - Apache Kafka producer and consumer tool ...\nVersion 1.7.1 (..., librdkafka 2.0.2 ...)"
	kcat -V 2>&1 | sed -nE 's/^Version ([^ ]+) .*librdkafka ([^ ]+) .*/kcat \1 (librdkafka \2)/p'
}

# kcat_consume FILE ARGS...: kcat -C ARGS into FILE. With -e (exit at the end of
# each partition) or -c it must end by itself; a kcat that is still running
# after 30s fails the scenario with the first error librdkafka printed.
kcat_consume() {
	local out=$1
	shift
	echo "+ kcat $*" >&2
	local rc=0
	timeout 30 kcat "$@" >"$out" 2>"$WORK/kcat.err" || rc=$?
	cat "$WORK/kcat.err" >&2
	if ((rc != 0)); then
		local err
		err=$(grep -m1 -E 'ERROR|PROTOERR|error' "$WORK/kcat.err" | sed 's/^%[0-9]*|[0-9.]*|//')
		((rc == 124)) && fail "kcat -C did not reach the end within 30s${err:+: $err}"
		fail "kcat -C exited $rc${err:+: $err}"
	fi
}

sc_metadata() {
	need kcat python3
	samsa_topic kc-meta 3
	run kcat -b "$BOOTSTRAP" -L -J -t kc-meta >"$WORK/md.json"
	cat "$WORK/md.json"
	python3 - "$WORK/md.json" "$BOOTSTRAP" <<'EOF'
import json, sys
md = json.load(open(sys.argv[1]))
def fail(msg):
    print("FAIL: " + msg, file=sys.stderr); sys.exit(1)
if len(md["brokers"]) != 1: fail("brokers: %r" % md["brokers"])
b = md["brokers"][0]
if b["name"] != sys.argv[2]: fail("broker advertised as %s, want %s" % (b["name"], sys.argv[2]))
if md.get("controllerid") != b["id"]: fail("controllerid %r, broker id %r" % (md.get("controllerid"), b["id"]))
ts = [t for t in md["topics"] if t["topic"] == "kc-meta"]
if len(ts) != 1: fail("topic kc-meta listed %d times" % len(ts))
t = ts[0]
if "error" in t: fail("topic error %r" % t["error"])
ps = sorted(t["partitions"], key=lambda p: p["partition"])
if [p["partition"] for p in ps] != [0, 1, 2]: fail("partitions %r" % ps)
for p in ps:
    if p["leader"] != b["id"] or [r["id"] for r in p["replicas"]] != [b["id"]] or [r["id"] for r in p["isrs"]] != [b["id"]]:
        fail("partition %r" % p)
EOF
	local out
	out=$(run kcat -b "$BOOTSTRAP" -L)
	expect_contains "$out" ' topic "kc-meta" with 3 partitions:' "kcat -L (all topics)"
}

sc_keyed_produce() {
	need kcat python3
	samsa_topic kc-keyed 3
	local i
	for i in $(seq 0 599); do echo "key-$((i % 23)):value-$i"; done >"$WORK/in.txt"
	run kcat -b "$BOOTSTRAP" -P -t kc-keyed -K: <"$WORK/in.txt"
	kcat_consume "$WORK/out.txt" -b "$BOOTSTRAP" -C -t kc-keyed -o beginning -e -f '%p\t%o\t%k\t%s\n'
	python3 - "$WORK/in.txt" "$WORK/out.txt" <<'EOF'
import sys, collections
def fail(msg):
    print("FAIL: " + msg, file=sys.stderr); sys.exit(1)
sent = [l.rstrip("\n").split(":", 1) for l in open(sys.argv[1])]
got = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
if len(got) != len(sent): fail("consumed %d records, produced %d" % (len(got), len(sent)))
offsets = collections.defaultdict(list)
key_part = {}
per_key = collections.defaultdict(list)
for p, o, k, v in got:
    offsets[p].append(int(o))
    if key_part.setdefault(k, p) != p: fail("key %s in partitions %s and %s" % (k, key_part[k], p))
    per_key[k].append(v)
for p, offs in offsets.items():
    if offs != list(range(len(offs))): fail("partition %s offsets not 0..n-1 in order: %r" % (p, offs[:20]))
if len(offsets) < 2: fail("every key hashed to one partition")
want = collections.defaultdict(list)
for k, v in sent: want[k].append(v)
for k in want:
    if per_key[k] != want[k]: fail("key %s: values %r, want %r (order per key)" % (k, per_key[k][:5], want[k][:5]))
print("ok: %d records, %d keys over %d partitions" % (len(got), len(want), len(offsets)))
EOF
}

sc_consume_partition_offset() {
	need kcat
	samsa_topic kc-offsets 2
	seq 0 99 | sed 's/^/m-/' | run kcat -b "$BOOTSTRAP" -P -t kc-offsets -p 1
	kcat_consume "$WORK/out.txt" -b "$BOOTSTRAP" -C -t kc-offsets -p 1 -o 40 -e -f '%p %o %s\n'
	seq 40 99 | awk '{print "1 " $1 " m-" $1}' >"$WORK/want.txt"
	expect_file_eq "$WORK/out.txt" "$WORK/want.txt" "-p 1 -o 40"
	kcat_consume "$WORK/out.txt" -b "$BOOTSTRAP" -C -t kc-offsets -p 1 -o -10 -e -f '%o %s\n'
	seq 90 99 | awk '{print $1 " m-" $1}' >"$WORK/want.txt"
	expect_file_eq "$WORK/out.txt" "$WORK/want.txt" "-p 1 -o -10 (relative to the end)"
	kcat_consume "$WORK/out.txt" -b "$BOOTSTRAP" -C -t kc-offsets -p 1 -o 10 -c 5 -f '%o %s\n'
	seq 10 14 | awk '{print $1 " m-" $1}' >"$WORK/want.txt"
	expect_file_eq "$WORK/out.txt" "$WORK/want.txt" "-p 1 -o 10 -c 5"
	local out
	kcat_consume "$WORK/out.txt" -b "$BOOTSTRAP" -C -t kc-offsets -p 0 -o beginning -e -f '%o %s\n'
	out=$(cat "$WORK/out.txt")
	expect_eq "$out" "" "the empty partition 0"
	# An offset past the end: kcat's default auto.offset.reset is end, so it sees nothing.
	kcat_consume "$WORK/out.txt" -b "$BOOTSTRAP" -C -t kc-offsets -p 1 -o 500 -e -f '%o %s\n'
	out=$(cat "$WORK/out.txt")
	expect_eq "$out" "" "-o 500 past the end"
}

sc_consume_by_timestamp() {
	need kcat
	samsa_topic kc-times 1
	local base=$(($(date +%s) * 1000 - 3600000)) i
	# kcat has no per-message timestamp flag on the command line: produce in
	# three rounds with known wall-clock boundaries instead.
	seq 0 9 | sed 's/^/early-/' | run kcat -b "$BOOTSTRAP" -P -t kc-times
	sleep 1.1
	local mid=$(($(date +%s%N) / 1000000))
	sleep 0.1
	seq 10 19 | sed 's/^/late-/' | run kcat -b "$BOOTSTRAP" -P -t kc-times
	kcat_consume "$WORK/out.txt" -b "$BOOTSTRAP" -C -t kc-times -p 0 -o "s@$mid" -e -f '%o %s\n'
	seq 10 19 | awk '{print $1 " late-" $1}' >"$WORK/want.txt"
	expect_file_eq "$WORK/out.txt" "$WORK/want.txt" "-o s@<timestamp between the rounds>"
	kcat_consume "$WORK/out.txt" -b "$BOOTSTRAP" -C -t kc-times -p 0 -o "s@$base" -c 1 -f '%o %s\n'
	expect_eq "$(cat "$WORK/out.txt")" "0 early-0" "-o s@<an hour ago>"
	kcat_consume "$WORK/ts.txt" -b "$BOOTSTRAP" -C -t kc-times -p 0 -o beginning -e -f '%T\n'
	for i in $(sed -n 1,10p "$WORK/ts.txt"); do ((i < mid)) || fail "early record timestamp $i >= $mid"; done
	for i in $(sed -n 11,20p "$WORK/ts.txt"); do ((i > mid)) || fail "late record timestamp $i <= $mid"; done
}

sc_headers() {
	need kcat
	samsa_topic kc-headers 1
	printf 'k1:v1\nk2:v2\n' | run kcat -b "$BOOTSTRAP" -P -t kc-headers -K: -H trace=abc -H n=1 -H empty=
	echo 'no-headers' | run kcat -b "$BOOTSTRAP" -P -t kc-headers
	kcat_consume "$WORK/out.txt" -b "$BOOTSTRAP" -C -t kc-headers -o beginning -e -f '%o|%k|%h|%s\n'
	printf '0|k1|trace=abc,n=1,empty=|v1\n1|k2|trace=abc,n=1,empty=|v2\n2|||no-headers\n' >"$WORK/want.txt"
	expect_file_eq "$WORK/out.txt" "$WORK/want.txt" "keys and headers read back"
}

kcat_compression() {
	need kcat
	local codec=$1 t=kc-$1 i
	samsa_topic "$t" 2
	for i in $(seq 0 1999); do echo "key-$((i % 7)):$codec value $i $(printf '%*s' $((i % 100)) '' | tr ' ' x)"; done >"$WORK/in.txt"
	run kcat -b "$BOOTSTRAP" -P -t "$t" -K: -X compression.codec="$codec" -X linger.ms=20 <"$WORK/in.txt"
	kcat_consume "$WORK/out.txt" -b "$BOOTSTRAP" -C -t "$t" -o beginning -e -f '%k:%s\n'
	sort "$WORK/in.txt" >"$WORK/want.sorted"
	sort "$WORK/out.txt" >"$WORK/out.sorted"
	expect_file_eq "$WORK/out.sorted" "$WORK/want.sorted" "records read back ($codec)"
	# Order per key, per partition.
	for i in 0 3 6; do
		diff <(grep "^key-$i:" "$WORK/in.txt") <(grep "^key-$i:" "$WORK/out.txt") >/dev/null ||
			fail "key-$i: records out of order"
	done
}
sc_compression_gzip() { kcat_compression gzip; }
sc_compression_snappy() { kcat_compression snappy; }
sc_compression_lz4() { kcat_compression lz4; }
sc_compression_zstd() { kcat_compression zstd; }

sc_idempotent_produce() {
	need kcat
	samsa_topic kc-idempotent 1
	seq 0 4999 | run kcat -b "$BOOTSTRAP" -P -t kc-idempotent -p 0 -X enable.idempotence=true -X linger.ms=5
	kcat_consume "$WORK/out.txt" -b "$BOOTSTRAP" -C -t kc-idempotent -o beginning -e -f '%o %s\n'
	seq 0 4999 | awk '{print $1 " " $1}' >"$WORK/want.txt"
	expect_file_eq "$WORK/out.txt" "$WORK/want.txt" "5000 records, each once, in order"
}

# Messages of 600 KB read with fetch sizes of 1 KiB: the broker must still
# return each first batch whole (KIP-74) for librdkafka to make progress.
sc_large_messages_small_fetch() {
	need kcat python3
	samsa_topic kc-large 1
	python3 -c '
for i in range(5):
    print(chr(ord("a") + i) * 600000)' >"$WORK/in.txt"
	run kcat -b "$BOOTSTRAP" -P -t kc-large -p 0 -X message.max.bytes=1000000 -X batch.size=1000 <"$WORK/in.txt"
	kcat_consume "$WORK/out.txt" -b "$BOOTSTRAP" -C -t kc-large -p 0 -o beginning -e \
		-X fetch.message.max.bytes=1024 -X fetch.max.bytes=1024 -X message.max.bytes=1000 -f '%o %S %s\n'
	python3 - "$WORK/out.txt" <<'EOF2'
import sys
lines = open(sys.argv[1]).read().splitlines()
if len(lines) != 5:
    print("FAIL: read back %d messages of 5" % len(lines), file=sys.stderr); sys.exit(1)
for i, l in enumerate(lines):
    o, size, v = l.split(" ")
    if int(o) != i or int(size) != 600000 or v != chr(ord("a") + i) * 600000:
        print("FAIL: message %d: offset %s size %s" % (i, o, size), file=sys.stderr); sys.exit(1)
EOF2
}

# kcat -G: the balanced consumer (librdkafka's consumer group). kcat commits
# what it consumed when it exits, so a second run resumes after it.
sc_balanced_consumer_group() {
	need kcat
	samsa_topic kc-group 3
	seq 0 59 | sed 's/.*/k&:m-&/' | run kcat -b "$BOOTSTRAP" -P -t kc-group -K:
	kcat_consume "$WORK/first.txt" -b "$BOOTSTRAP" -G kc-group -X auto.offset.reset=earliest -c 60 \
		-f '%s\n' kc-group
	seq 0 59 | sed 's/^/m-/' >"$WORK/want.txt"
	sort -V "$WORK/first.txt" >"$WORK/first.sorted"
	expect_file_eq "$WORK/first.sorted" "$WORK/want.txt" "first run of group kc-group"
	seq 60 79 | sed 's/.*/k&:m-&/' | run kcat -b "$BOOTSTRAP" -P -t kc-group -K:
	kcat_consume "$WORK/second.txt" -b "$BOOTSTRAP" -G kc-group -X auto.offset.reset=earliest -c 20 \
		-f '%s\n' kc-group
	seq 60 79 | sed 's/^/m-/' >"$WORK/want.txt"
	sort -V "$WORK/second.txt" >"$WORK/second.sorted"
	expect_file_eq "$WORK/second.sorted" "$WORK/want.txt" "second run resumes at the committed offsets"
}

# The security listeners (run.sh): SASL_PLAINTEXT with SCRAM-SHA-256 and
# PLAIN, SSL with the CA as ssl.ca.location, and refusals. Debian's
# librdkafka 2.0.2 sends SCRAM's client-final nonce the old way (its nonce
# doubled), which Samsa accepts as Kafka 3.9 did (docs/security.md).

# kcat_secure_roundtrip TOPIC BOOTSTRAP KCAT-ARGS...: metadata through the
# listener (the broker is advertised at that listener's address), then 300
# keyed records produced and read back, in order per key.
kcat_secure_roundtrip() {
	need kcat python3
	need_security
	local topic=$1 bs=$2 i
	shift 2
	samsa_topic "$topic" 3
	echo "+ kcat -b $bs $* -L -J -t $topic" >&2
	if ! kcat -b "$bs" "$@" -L -J -t "$topic" >"$WORK/md.json" 2>"$WORK/kcat.err"; then
		cat "$WORK/kcat.err" >&2
		fail "kcat -L through $bs: $(grep -m1 -E 'FAIL|ERROR' "$WORK/kcat.err" | sed 's/^%[0-9]*|[0-9.]*|//')"
	fi
	python3 - "$WORK/md.json" "$bs" "$topic" <<'PY'
import json, sys
md = json.load(open(sys.argv[1]))
names = [b["name"] for b in md["brokers"]]
if names != [sys.argv[2]]:
    print("FAIL: brokers advertised as %r through %s" % (names, sys.argv[2]), file=sys.stderr); sys.exit(1)
t = [t for t in md["topics"] if t["topic"] == sys.argv[3]]
if len(t) != 1 or len(t[0]["partitions"]) != 3:
    print("FAIL: topic %s: %r" % (sys.argv[3], t), file=sys.stderr); sys.exit(1)
PY
	for i in $(seq 0 299); do echo "key-$((i % 11)):value-$i"; done >"$WORK/in.txt"
	run kcat -b "$bs" "$@" -P -t "$topic" -K: <"$WORK/in.txt"
	kcat_consume "$WORK/out.txt" -b "$bs" "$@" -C -t "$topic" -o beginning -e -f '%k:%s\n'
	sort "$WORK/in.txt" >"$WORK/want.sorted"
	sort "$WORK/out.txt" >"$WORK/out.sorted"
	expect_file_eq "$WORK/out.sorted" "$WORK/want.sorted" "records read back through $bs"
	for i in 0 5 10; do
		diff <(grep "^key-$i:" "$WORK/in.txt") <(grep "^key-$i:" "$WORK/out.txt") >/dev/null ||
			fail "key-$i: records out of order"
	done
}

# kcat_refused WHAT BOOTSTRAP KCAT-ARGS...: kcat -L must fail, and librdkafka
# must say why: Kafka's message for invalid credentials.
kcat_refused() {
	need kcat
	need_security
	local what=$1 bs=$2 rc=0
	shift 2
	echo "+ kcat -b $bs $* -L -m 3" >&2
	timeout 30 kcat -b "$bs" "$@" -L -m 3 >"$WORK/refused.out" 2>"$WORK/refused.err" || rc=$?
	cat "$WORK/refused.err" >&2
	((rc != 0 && rc != 124)) || fail "$what: kcat -L exited $rc, want a failure"
	expect_contains "$(cat "$WORK/refused.err")" \
		"Authentication failed during authentication due to invalid credentials with SASL mechanism" "$what"
}

sc_sasl_scram_sha_256() {
	kcat_secure_roundtrip kc-sasl-scram "$BOOTSTRAP_SASL" -X security.protocol=SASL_PLAINTEXT \
		-X sasl.mechanisms=SCRAM-SHA-256 -X sasl.username="$SCRAM_USER" -X sasl.password="$SCRAM_PASSWORD"
}

sc_sasl_plain() {
	kcat_secure_roundtrip kc-sasl-plain "$BOOTSTRAP_SASL" -X security.protocol=SASL_PLAINTEXT \
		-X sasl.mechanisms=PLAIN -X sasl.username="$PLAIN_USER" -X sasl.password="$PLAIN_PASSWORD"
}

# SSL: librdkafka 2.0 checks the host name by default, against the
# certificate's IP:127.0.0.1.
sc_ssl_ca_location() {
	need "$TLS_DIR/ca.crt"
	kcat_secure_roundtrip kc-ssl "$BOOTSTRAP_SSL" -X security.protocol=SSL -X ssl.ca.location="$TLS_DIR/ca.crt"
}

sc_sasl_wrong_password() {
	kcat_refused "SCRAM-SHA-256 with a wrong password" "$BOOTSTRAP_SASL" -X security.protocol=SASL_PLAINTEXT \
		-X sasl.mechanisms=SCRAM-SHA-256 -X sasl.username="$SCRAM_USER" -X sasl.password=not-the-password
	kcat_refused "SCRAM-SHA-256, unknown user" "$BOOTSTRAP_SASL" -X security.protocol=SASL_PLAINTEXT \
		-X sasl.mechanisms=SCRAM-SHA-256 -X sasl.username=nobody -X sasl.password="$SCRAM_PASSWORD"
	kcat_refused "PLAIN with a wrong password" "$BOOTSTRAP_SASL" -X security.protocol=SASL_PLAINTEXT \
		-X sasl.mechanisms=PLAIN -X sasl.username="$PLAIN_USER" -X sasl.password=not-the-password
}
