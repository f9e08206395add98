# Helpers sourced by compat/run.sh and by every scenario (compat/clients/*.sh).
#
# A scenario is a bash function sc_NAME run under `set -euo pipefail` in its own
# process with a time limit. It passes when it returns 0. It checks data, not
# only exit codes: use expect_* below, which print "FAIL: why" and exit 1.
#
# Environment a scenario can rely on (exported by run.sh):
#   BOOTSTRAP   host:port of the broker under test (127.0.0.1:PORT)
#   PORT        the broker's port
#   CACHE       $SAMSA_COMPAT_CACHE: tools installed by setup.sh
#   COMPAT      the compat/ directory
#   WORK        an empty directory for this scenario's files
#   SAMSA       the samsa binary built for this run (for creating fixtures only)
#   BOOTSTRAP_SSL, BOOTSTRAP_SASL, BOOTSTRAP_SASL_SSL, BOOTSTRAP_MTLS
#               the same broker's security listeners (SSL, SASL_PLAINTEXT,
#               SASL_SSL, SSL with client certificates required); see run.sh
# and, from this file, the certificates and users those listeners know:
#   TLS_DIR     ca.crt (the CA, PEM); truststore.jks and truststore.p12 (the CA,
#               made by keytool); client.crt, client.key, client.pem (the client's
#               certificate and key); client.p12 (openssl) and client.jks (keytool)
#   TLS_PASSWORD                   every store's password
#   PLAIN_USER, PLAIN_PASSWORD     a PLAIN user of both SASL listeners
#   SCRAM_USER, SCRAM_PASSWORD     a SCRAM-SHA-256 and SCRAM-SHA-512 user
# and OAUTHBEARER on both SASL listeners: tokens are JWTs signed by the key
# whose public half is the broker's JWKS (run.sh makes both for each run in
# OAUTH_DIR); oauth_token mints them, for any subject, audience or expiry.

: "${SAMSA_COMPAT_CACHE:=$HOME/.cache/samsa-compat}"
CACHE=$SAMSA_COMPAT_CACHE
KAFKA_VERSION=4.3.1
KAFKA_HOME=$CACHE/kafka-$KAFKA_VERSION
# The certificates and stores setup.sh makes (CA, broker, client: PEM files,
# PKCS12 and JKS stores); every store's password is TLS_PASSWORD.
TLS_DIR=$CACHE/tls
TLS_PASSWORD=compat-secret
# The users of run.sh's SASL listeners: PLAIN_USER is in their JAAS
# configuration, SCRAM_USER has SCRAM-SHA-256 and SCRAM-SHA-512 credentials.
PLAIN_USER=plain-user
PLAIN_PASSWORD=plain-secret
SCRAM_USER=scram-user
SCRAM_PASSWORD=scram-secret
# OAUTHBEARER (run.sh's SASL listeners): the broker validates tokens against
# $OAUTH_DIR/jwks.json (the public half of oauth.key, key id OAUTH_KID) and
# expects OAUTH_ISSUER and OAUTH_AUDIENCE; other.key is a key the broker does
# not know (a forged token), with the same key id.
OAUTH_DIR=$CACHE/run/oauth
OAUTH_KID=compat-key-1
OAUTH_ISSUER=https://idp.compat.samsa.test
OAUTH_AUDIENCE=samsa-compat
OAUTH_USER=oauth-user
export PATH="$CACHE/bin:$PATH"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# need TOOL...: fails the scenario if a tool is missing (a missing tool is a
# failure, never a skip).
need() {
	local t
	for t in "$@"; do
		if [[ $t == */* ]]; then
			[[ -e $t ]] || fail "missing tool $t (run compat/setup.sh)"
		else
			command -v "$t" >/dev/null 2>&1 || fail "missing tool $t (run compat/setup.sh)"
		fi
	done
}

# run CMD...: logs the command line, then runs it.
run() {
	echo "+ $*" >&2
	"$@"
}

expect_eq() { # actual expected what
	[[ "$1" == "$2" ]] || fail "$3: expected [$2], got [$1]"
}

expect_contains() { # haystack needle what
	[[ "$1" == *"$2"* ]] || fail "$3: expected output containing [$2], got [$1]"
}

expect_not_contains() { # haystack needle what
	[[ "$1" != *"$2"* ]] || fail "$3: output still contains [$2]: [$1]"
}

# expect_file_eq FILE EXPECTED-FILE WHAT: compares two files line by line.
expect_file_eq() {
	if ! diff -u "$2" "$1" >"$WORK/diff.txt"; then
		head -40 "$WORK/diff.txt" >&2
		fail "$3: $(grep -c '^[-+][^-+]' "$WORK/diff.txt") lines differ from the expected (diff above)"
	fi
}

# need_security: fails the scenario at once when the broker runs without its
# security listeners (run.sh empties BOOTSTRAP_SSL and the others when the
# broker does not start with them).
need_security() {
	[[ -n ${BOOTSTRAP_SSL:-} && -n ${BOOTSTRAP_SASL:-} && -n ${BOOTSTRAP_SASL_SSL:-} && -n ${BOOTSTRAP_MTLS:-} ]] ||
		fail "the broker runs without its security listeners: it did not start with them (see run/samsa.log)"
}

# b64url: standard input in base64url without padding (RFC 7515).
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# oauth_keys DIR: an RSA key pair for signing tokens (DIR/oauth.key), its
# public half as the broker's JWKS (DIR/jwks.json, key id OAUTH_KID), and a
# second key (DIR/other.key) that the JWKS does not hold.
oauth_keys() {
	local d=$1 n
	mkdir -p "$d" &&
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/oauth.key" 2>/dev/null &&
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/other.key" 2>/dev/null || return 1
	n=$(openssl rsa -in "$d/oauth.key" -noout -modulus | cut -d= -f2 | xxd -r -p | b64url)
	# e = 65537 is AQAB, what openssl uses.
	printf '{"keys":[{"kty":"RSA","use":"sig","alg":"RS256","kid":"%s","n":"%s","e":"AQAB"}]}\n' \
		"$OAUTH_KID" "$n" >"$d/jwks.json"
	chmod 600 "$d/oauth.key" "$d/other.key"
}

# oauth_token SUBJECT [AUDIENCE] [SECONDS] [KEY]: a compact JWT (RS256, the
# header's kid OAUTH_KID) from OAUTH_ISSUER for SUBJECT, for AUDIENCE
# (default OAUTH_AUDIENCE), expiring SECONDS from now (default 3600;
# negative: expired that long ago), signed with KEY (default
# $OAUTH_DIR/oauth.key), minted with openssl.
oauth_token() {
	local sub=$1 aud=${2:-$OAUTH_AUDIENCE} ttl=${3:-3600} key=${4:-$OAUTH_DIR/oauth.key} now h p s
	now=$(date +%s)
	h=$(printf '{"alg":"RS256","typ":"JWT","kid":"%s"}' "$OAUTH_KID" | b64url)
	p=$(printf '{"iss":"%s","aud":"%s","sub":"%s","iat":%d,"exp":%d,"scope":"kafka"}' \
		"$OAUTH_ISSUER" "$aud" "$sub" $((now - 120)) $((now + ttl)) | b64url)
	s=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -sign "$key" -binary | b64url)
	[[ -n $s ]] || fail "oauth_token: openssl could not sign with $key"
	printf '%s.%s.%s' "$h" "$p" "$s"
}

# oauth_token_files DIR: the tokens of the OAUTHBEARER scenarios, one file
# each, for clients that read their token from a file: good (OAUTH_USER),
# expired (an hour ago), forged (signed by other.key), wrong-audience.
oauth_token_files() {
	local d=$1
	mkdir -p "$d"
	oauth_token "$OAUTH_USER" >"$d/good"
	oauth_token "$OAUTH_USER" "" -3600 >"$d/expired"
	oauth_token "$OAUTH_USER" "" 3600 "$OAUTH_DIR/other.key" >"$d/forged"
	oauth_token "$OAUTH_USER" not-samsa-compat >"$d/wrong-audience"
}

# expect_no_token_in_broker_log TOKEN-FILE...: the broker's log (run.sh's)
# holds none of these tokens, nor their signatures.
expect_no_token_in_broker_log() {
	local f sig log=$CACHE/run/samsa.log
	[[ -f $log ]] || fail "no broker log at $log"
	for f in "$@"; do
		sig=$(cut -d. -f3 <"$f")
		[[ -n $sig ]] || fail "$f holds no token"
		! grep -qF -- "$sig" "$log" || fail "the broker's log holds the token of $f"
	done
}

# expect_topic_empty TOPIC PARTITIONS: every partition's end offset is 0
# (asked through the PLAINTEXT listener): nothing was produced.
expect_topic_empty() {
	local out
	out=$("$SAMSA" -b "$BOOTSTRAP" --timeout 10s topic describe "$1" --json) || fail "samsa topic describe $1"
	python3 -c '
import json, sys
t = json.load(sys.stdin)[0]
ends = [p["log_end_offset"] for p in t["partitions"]]
sys.exit(0 if len(ends) == int(sys.argv[1]) and all(e == 0 for e in ends) else 1)' "$2" <<<"$out" ||
		fail "$1: records were produced (or the topic is missing): $out"
}

# samsa_topic NAME PARTITIONS: creates a fixture topic with Samsa's own CLI,
# for scenarios whose client cannot create topics.
samsa_topic() {
	run "$SAMSA" -b "$BOOTSTRAP" topic create "$1" --partitions "$2" >&2
}

# Kafka's tools as the distribution's bin/kafka-*.sh scripts run them:
# setup.sh writes a wrapper per tool into $KAFKA_HOME/bin.
kafka_path() {
	need "$KAFKA_HOME/bin/kafka-topics"
	export PATH="$KAFKA_HOME/bin:$PATH"
}

# The cluster phase (run.sh, after the single-broker scenarios): three
# `samsa serve` nodes, each a combined broker and controller, on loopback.
# Node N (1-3) has its Kafka listener on port ${CLUSTER_PORTS[N-1]} and its
# controller listener on ${CLUSTER_CPORTS[N-1]}; BOOTSTRAP lists all three
# Kafka listeners. Exported by run.sh:
#   CLUSTER_DIR     the nodes' data directories, logs and pid files
#   CLUSTER_ID      the cluster.id every node shares
#   CLUSTER_PORTS   "P1 P2 P3": the Kafka listeners
#   CLUSTER_CPORTS  "C1 C2 C3": the controller listeners
# A scenario may kill nodes (cluster_kill9) and start them again
# (cluster_start); run.sh starts every node a scenario left down before the
# next one, and counts a node that died without cluster_kill9 as a failure.

# cluster_port N: node N's Kafka listener port.
cluster_port() {
	local ports
	read -r -a ports <<<"$CLUSTER_PORTS"
	echo "${ports[$1 - 1]}"
}

# node_alive PID: the process exists and is not a zombie.
node_alive() {
	[[ -n $1 ]] && kill -0 "$1" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]
}

cluster_pid() { cat "$CLUSTER_DIR/node$1.pid" 2>/dev/null; }

# cluster_extra PID: a node a scenario started beyond the three (a broker
# or controller joining); run.sh kills it after the scenario if it is
# still running (a scenario that failed half-way leaves it up).
cluster_extra() { echo "$1" >>"$CLUSTER_DIR/extra.pids"; }

# cluster_kill_extras: kills the nodes cluster_extra recorded.
cluster_kill_extras() {
	local p
	[[ -f $CLUSTER_DIR/extra.pids ]] || return 0
	while read -r p; do
		node_alive "$p" && kill -KILL "$p" 2>/dev/null
	done <"$CLUSTER_DIR/extra.pids"
	rm -f "$CLUSTER_DIR/extra.pids"
}

# cluster_start N: starts node N (again) with its data directory and waits
# until its Kafka listener accepts connections. setsid puts it in a session
# of its own, so a scenario's time limit does not take it down with it.
cluster_start() {
	local n=$1 i voters="" ports cports
	read -r -a ports <<<"$CLUSTER_PORTS"
	read -r -a cports <<<"$CLUSTER_CPORTS"
	for i in 1 2 3; do
		voters+="${voters:+,}$i@127.0.0.1:${cports[i - 1]}"
	done
	rm -f "$CLUSTER_DIR/node$n.killed"
	setsid "$SAMSA" serve --data-dir "$CLUSTER_DIR/node$n" --log-level "${SAMSA_LOG_LEVEL:-info}" \
		--override node.id="$n" --override cluster.id="$CLUSTER_ID" \
		--override listeners="PLAINTEXT://127.0.0.1:${ports[n - 1]},CONTROLLER://127.0.0.1:${cports[n - 1]}" \
		--override controller.quorum.voters="$voters" \
		>>"$CLUSTER_DIR/node$n.log" 2>&1 </dev/null &
	local pid=$!
	# Not a job of this shell: its death is the scenario's business, not
	# something for bash to announce.
	disown "$pid" 2>/dev/null || true
	echo "$pid" >"$CLUSTER_DIR/node$n.pid"
	for i in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/${ports[n - 1]}") 2>/dev/null && return 0
		node_alive "$pid" || break
		sleep 0.2
	done
	echo "node $n did not start; tail of $CLUSTER_DIR/node$n.log:" >&2
	tail -20 "$CLUSTER_DIR/node$n.log" >&2
	return 1
}

# cluster_kill9 N: kills node N with SIGKILL (no controlled shutdown) and
# waits until it is gone.
cluster_kill9() {
	local pid
	pid=$(cluster_pid "$1")
	touch "$CLUSTER_DIR/node$1.killed"
	echo "+ kill -9 node $1 (pid $pid)" >&2
	kill -KILL "$pid" 2>/dev/null || true
	while node_alive "$pid"; do sleep 0.05; done
}

# cluster_stop N: stops node N with SIGTERM (a controlled shutdown: its
# partitions get other leaders first) and waits until it is gone.
cluster_stop() {
	local pid i
	pid=$(cluster_pid "$1")
	touch "$CLUSTER_DIR/node$1.killed"
	echo "+ kill -TERM node $1 (pid $pid)" >&2
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 100); do
		node_alive "$pid" || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

# wait_isr TOPIC PARTITIONS RF [SECONDS]: waits until every partition of
# TOPIC has a leader and RF replicas in its ISR (polled with samsa's own CLI,
# which answers in milliseconds; the checks themselves use Kafka's tools).
wait_isr() {
	local topic=$1 parts=$2 rf=$3 secs=${4:-60} deadline out
	deadline=$((SECONDS + secs))
	while ((SECONDS < deadline)); do
		out=$("$SAMSA" -b "$BOOTSTRAP" --timeout 3s topic describe "$topic" --json 2>/dev/null || true)
		if [[ -n $out ]] && python3 -c '
import json, sys
parts, rf = int(sys.argv[1]), int(sys.argv[2])
ps = json.load(sys.stdin)[0]["partitions"]
sys.exit(0 if len(ps) == parts and all(p["leader"] >= 0 and len(p["isr"]) == rf for p in ps) else 1)
' "$parts" "$rf" <<<"$out" 2>/dev/null; then
			return 0
		fi
		sleep 0.3
	done
	fail "$topic: not every partition had a leader and $rf in-sync replicas within ${secs}s: $out"
}
