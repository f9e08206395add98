#!/usr/bin/env bash
# The compatibility suite: builds samsa, starts it on a free loopback port with
# a fresh data dir, runs every scenario of every client (compat/clients/*.sh)
# against it, then starts a cluster of three nodes and runs the scenarios of
# the client files that set PHASE=cluster against that; writes
# docs/compatibility.md and exits non-zero if a scenario that is expected to
# pass fails, or if an expected failure starts passing (so that
# compat/expected-failures.txt gets updated).
#
#   compat/run.sh                      everything; rewrites docs/compatibility.md
#   compat/run.sh kcat java-client/roundtrip-idempotent
#                                      only these clients or client/scenario
#                                      (the matrix is printed, not written)
#
# Environment:
#   SAMSA_COMPAT_CACHE     where setup.sh installs tools (default $HOME/.cache/samsa-compat)
#   SAMSA_COMPAT_SETUP=0   do not run setup.sh first
#   SAMSA_COMPAT_BROKER    worktree (default): build samsa from the work tree;
#                          head: from the last commit, ignoring uncommitted changes
#   SAMSA_LOG_LEVEL        the broker's --log-level (default info)
#   SCENARIO_TIMEOUT       seconds one scenario may take (default 180)
set -uo pipefail

COMPAT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$COMPAT")
# shellcheck source=lib.sh
source "$COMPAT/lib.sh"
export SAMSA_COMPAT_CACHE CACHE COMPAT

RUN=$CACHE/run
SCENARIO_TIMEOUT=${SCENARIO_TIMEOUT:-180}
FILTERS=("$@")
START_S=$SECONDS

log() { echo "compat: $*" >&2; }

rm -rf "$RUN" && mkdir -p "$RUN/logs" || exit 2

# 1. Tools. setup.sh keeps going past a component that fails to install; the
# scenarios that need it then fail, loudly.
if [[ ${SAMSA_COMPAT_SETUP:-1} != 0 ]]; then
	log "setup (log: $RUN/setup.log)"
	if ! "$COMPAT/setup.sh" >"$RUN/setup.log" 2>&1; then
		log "setup.sh reported failures; scenarios that need the missing tools will fail:"
		grep -E '^setup: (FAILED|WARN)' "$RUN/setup.log" >&2
	fi
fi
SETUP_S=$((SECONDS - START_S))

# 2. The broker under test.
SAMSA=$RUN/samsa
if [[ ${SAMSA_COMPAT_BROKER:-worktree} == head ]]; then
	# The last commit, whatever the work tree holds (read-only on the repo).
	log "building samsa from HEAD $(cd "$ROOT" && git rev-parse --short HEAD)"
	BROKER_DESC="commit \`$(cd "$ROOT" && git rev-parse --short HEAD)\`"
	mkdir -p "$RUN/src" && (cd "$ROOT" && git archive HEAD go.mod go.sum cmd internal) | tar -x -C "$RUN/src" &&
		(cd "$RUN/src" && go build -o "$SAMSA" ./cmd/samsa) || { log "samsa does not build"; exit 2; }
else
	log "building samsa from the work tree"
	BROKER_DESC="commit \`$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null)\`"
	(cd "$ROOT" && git diff --quiet HEAD -- cmd internal go.mod go.sum 2>/dev/null &&
		[[ -z $(git ls-files --others --exclude-standard cmd internal) ]]) ||
		BROKER_DESC="$BROKER_DESC plus uncommitted changes in the work tree"
	(cd "$ROOT" && go build -o "$SAMSA" ./cmd/samsa) || { log "samsa does not build"; exit 2; }
fi
export SAMSA

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BOOTSTRAP=127.0.0.1:$PORT
# The broker's data directory, for scenarios that read its files with
# Kafka's own tools (kafka-dump-log).
SAMSA_DATA=$RUN/data
export PORT BOOTSTRAP SAMSA_DATA
BROKER_PID=
BROKER_STARTS=0

# The security listeners beside the PLAINTEXT one (BOOTSTRAP), each on a
# free loopback port, configured with Kafka's settings in
# $RUN/server.properties; the certificates and stores are setup.sh's
# ($TLS_DIR), the users lib.sh's:
#   BOOTSTRAP_SSL       SSL, the broker's JKS key store made by keytool
#   BOOTSTRAP_SASL      SASL_PLAINTEXT: PLAIN (users from the listener's JAAS
#                       configuration), SCRAM-SHA-256 and SCRAM-SHA-512, and
#                       OAUTHBEARER (JWTs checked against $OAUTH_DIR/jwks.json)
#   BOOTSTRAP_SASL_SSL  SASL_SSL, the same mechanisms; PKCS12 key store made by openssl
#   BOOTSTRAP_MTLS      SSL with ssl.client.auth=required: PEM key store and
#                       trust store (setup.sh's CA)
# SCRAM_USER's credentials are created with kafka-configs once the broker is
# up (security_users). A broker that does not start with these settings is
# started with the PLAINTEXT listener alone: the security scenarios then
# fail, the others still run.
read -r SSL_PORT SASL_PORT SASL_SSL_PORT MTLS_PORT <<<"$(python3 -c '
import socket
ss = [socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')"
BOOTSTRAP_SSL=127.0.0.1:$SSL_PORT
BOOTSTRAP_SASL=127.0.0.1:$SASL_PORT
BOOTSTRAP_SASL_SSL=127.0.0.1:$SASL_SSL_PORT
BOOTSTRAP_MTLS=127.0.0.1:$MTLS_PORT
export BOOTSTRAP_SSL BOOTSTRAP_SASL BOOTSTRAP_SASL_SSL BOOTSTRAP_MTLS
# OAUTHBEARER on both SASL listeners: a key pair made for this run, its public
# half the JWKS (lib.sh's oauth_keys); scenarios mint tokens with oauth_token.
oauth_keys "$OAUTH_DIR" || log "making the OAUTHBEARER keys in $OAUTH_DIR failed (the OAUTHBEARER scenarios will fail)"
JAAS_PLAIN="org.apache.kafka.common.security.plain.PlainLoginModule required username=\"$PLAIN_USER\" password=\"$PLAIN_PASSWORD\" user_$PLAIN_USER=\"$PLAIN_PASSWORD\";"
cat >"$RUN/server.properties" <<EOF
listeners=PLAINTEXT://$BOOTSTRAP,SSL://$BOOTSTRAP_SSL,SASL_PLAINTEXT://$BOOTSTRAP_SASL,SASL_SSL://$BOOTSTRAP_SASL_SSL,MTLS://$BOOTSTRAP_MTLS
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,MTLS:SSL
inter.broker.listener.name=PLAINTEXT
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER
sasl.oauthbearer.jwks.endpoint.url=file://$OAUTH_DIR/jwks.json
sasl.oauthbearer.expected.issuer=$OAUTH_ISSUER
sasl.oauthbearer.expected.audience=$OAUTH_AUDIENCE
listener.name.sasl_plaintext.plain.sasl.jaas.config=$JAAS_PLAIN
listener.name.sasl_ssl.plain.sasl.jaas.config=$JAAS_PLAIN
ssl.keystore.type=JKS
ssl.keystore.location=$TLS_DIR/broker.jks
ssl.keystore.password=$TLS_PASSWORD
listener.name.sasl_ssl.ssl.keystore.type=PKCS12
listener.name.sasl_ssl.ssl.keystore.location=$TLS_DIR/broker.p12
listener.name.sasl_ssl.ssl.keystore.password=$TLS_PASSWORD
listener.name.mtls.ssl.keystore.type=PEM
listener.name.mtls.ssl.keystore.location=$TLS_DIR/broker.pem
listener.name.mtls.ssl.truststore.type=PEM
listener.name.mtls.ssl.truststore.location=$TLS_DIR/ca.crt
listener.name.mtls.ssl.client.auth=required
EOF
BROKER_LISTENERS=(--config "$RUN/server.properties")

start_broker() {
	BROKER_STARTS=$((BROKER_STARTS + 1))
	local data=$RUN/data
	# A restart after a crash keeps the data: it is what a user would see.
	"$SAMSA" serve --data-dir "$data" "${BROKER_LISTENERS[@]}" \
		--log-level "${SAMSA_LOG_LEVEL:-info}" >>"$RUN/samsa.log" 2>&1 &
	BROKER_PID=$!
	local i
	for i in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
			return 0
		fi
		kill -0 "$BROKER_PID" 2>/dev/null || break
		sleep 0.2
	done
	log "the broker did not start; tail of $RUN/samsa.log:"
	tail -20 "$RUN/samsa.log" >&2
	return 1
}

# start_broker_first: the first start, with the security listeners, then
# the SCRAM users; with the PLAINTEXT listener alone if the broker does not
# start with them.
start_broker_first() {
	if start_broker; then
		security_users
		return 0
	fi
	log "the broker did not start with the security listeners ($RUN/server.properties);" \
		"starting it with PLAINTEXT alone: the TLS and SASL scenarios will fail"
	BROKER_LISTENERS=(--listen "$BOOTSTRAP")
	BOOTSTRAP_SSL= BOOTSTRAP_SASL= BOOTSTRAP_SASL_SSL= BOOTSTRAP_MTLS=
	start_broker
}

# security_users: SCRAM_USER's SCRAM-SHA-256 and SCRAM-SHA-512 credentials,
# with Kafka's kafka-configs over the PLAINTEXT listener.
security_users() {
	if ! "$KAFKA_HOME/bin/kafka-configs" --bootstrap-server "$BOOTSTRAP" --alter --entity-type users \
		--entity-name "$SCRAM_USER" --add-config \
		"SCRAM-SHA-256=[iterations=8192,password=$SCRAM_PASSWORD],SCRAM-SHA-512=[password=$SCRAM_PASSWORD]" \
		>"$RUN/scram-users.log" 2>&1; then
		log "creating the SCRAM user $SCRAM_USER failed (the SCRAM scenarios will fail):"
		tail -5 "$RUN/scram-users.log" >&2
	fi
}

stop_broker() {
	[[ -n $BROKER_PID ]] || return 0
	kill -TERM "$BROKER_PID" 2>/dev/null
	local i
	for i in $(seq 50); do
		kill -0 "$BROKER_PID" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$BROKER_PID" 2>/dev/null; then
		log "the broker ignored SIGTERM for 10s; killing it"
		kill -KILL "$BROKER_PID" 2>/dev/null
	fi
	wait "$BROKER_PID" 2>/dev/null
	BROKER_PID=
}
# The cluster phase: three `samsa serve` nodes (combined broker and
# controller) on loopback, for the client files that set PHASE=cluster.
# lib.sh has the helpers that start and kill a node (cluster_start,
# cluster_kill9); scenarios use them too.
CLUSTER_DIR=$RUN/cluster
CLUSTER_UP=0

start_cluster() {
	mkdir -p "$CLUSTER_DIR"
	CLUSTER_ID=$("$SAMSA" cluster new-id) || return 1
	local ports
	read -r -a ports <<<"$(python3 -c '
import socket
ss = [socket.socket() for _ in range(6)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')"
	CLUSTER_PORTS="${ports[*]:0:3}"
	CLUSTER_CPORTS="${ports[*]:3:3}"
	BOOTSTRAP="127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}"
	export CLUSTER_DIR CLUSTER_ID CLUSTER_PORTS CLUSTER_CPORTS BOOTSTRAP
	CLUSTER_UP=1
	local n
	for n in 1 2 3; do
		cluster_start "$n" || return 1
	done
	wait_cluster
}

# wait_cluster: every node registered and a controller elected, as a
# client sees it.
wait_cluster() {
	local i out
	for i in $(seq 150); do
		out=$("$SAMSA" -b "$BOOTSTRAP" --timeout 2s cluster info --json 2>/dev/null) &&
			[[ $(python3 -c 'import json, sys; d = json.load(sys.stdin); print(len(d["brokers"]), d["controller"] > 0)' <<<"$out" 2>/dev/null) == "3 True" ]] &&
			return 0
		sleep 0.2
	done
	log "the cluster did not form within 30s; logs in $CLUSTER_DIR"
	return 1
}

stop_cluster() {
	((CLUSTER_UP)) || return 0
	local n pid i
	cluster_kill_extras
	for n in 1 2 3; do
		pid=$(cluster_pid "$n")
		node_alive "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	for n in 1 2 3; do
		pid=$(cluster_pid "$n")
		for i in $(seq 100); do
			node_alive "$pid" || break
			sleep 0.1
		done
		if node_alive "$pid"; then
			log "cluster node $n ignored SIGTERM for 10s; killing it"
			kill -KILL "$pid" 2>/dev/null
		fi
	done
	CLUSTER_UP=0
}
trap 'stop_broker; stop_cluster' EXIT

# 3. Expected failures: "client scenario issue reason..." per line; an issue
# of "-" means none is filed yet.
declare -A XFAIL
while read -r c s issue reason; do
	[[ -z $c || $c == \#* ]] && continue
	if [[ $issue == - ]]; then
		XFAIL["$c/$s"]="$reason"
	else
		XFAIL["$c/$s"]="$reason (issue $issue)"
	fi
done <"$COMPAT/expected-failures.txt"

selected() { # client scenario
	((${#FILTERS[@]} == 0)) && return 0
	local f
	for f in "${FILTERS[@]}"; do
		[[ $f == "$1" || $f == "$1/$2" ]] && return 0
	done
	return 1
}

# 4. The scenarios to run: "phase file client version scenario" per line.
# Each client file sets CLIENT and SCENARIOS, defines client_version, and
# may set PHASE=cluster (default: single, the one broker).
PLAN=()
for file in "$COMPAT"/clients/*.sh; do
	meta=$(
		# shellcheck disable=SC1090
		source "$file"
		echo "$CLIENT"
		echo "${SCENARIOS[*]}"
		v=$(client_version 2>/dev/null | head -1) || true
		echo "$v"
		echo "${PHASE:-single}"
	)
	client=$(sed -n 1p <<<"$meta")
	read -r -a scenarios <<<"$(sed -n 2p <<<"$meta")"
	version=$(sed -n 3p <<<"$meta")
	[[ -n $version ]] || version="not installed"
	phase=$(sed -n 4p <<<"$meta")
	[[ $phase == cluster ]] || phase=single
	if [[ -z $client || ${#scenarios[@]} == 0 ]]; then
		# A client file that lists nothing would pass silently: fail it instead.
		client=${client:-$(basename "$file" .sh)} scenarios=(client-file)
	fi
	for sc in "${scenarios[@]}"; do
		selected "$client" "$sc" && PLAN+=("$phase"$'\t'"$file"$'\t'"$client"$'\t'"$version"$'\t'"$sc")
	done
done

# cluster_check: after a cluster scenario, starts every node it left down;
# sets DIED to the nodes that died without the scenario killing them.
cluster_check() {
	local n pid
	DIED=""
	cluster_kill_extras
	for n in 1 2 3; do
		pid=$(cluster_pid "$n")
		node_alive "$pid" && continue
		[[ -f $CLUSTER_DIR/node$n.killed ]] || DIED+="${DIED:+, }$n"
		cluster_start "$n" || exit 2
	done
}

# 5. Scenarios, one process each, with a time limit: the single-broker ones
# first, then the cluster phase.
RESULTS=$RUN/results.tsv
: >"$RESULTS"
unexpected_fail=0
unexpected_pass=0
total=0
CLUSTER_S=0
for phase in single cluster; do
	phase_t0=$SECONDS
	started=0
	for entry in "${PLAN[@]}"; do
		IFS=$'\t' read -r p file client version sc <<<"$entry"
		[[ $p == "$phase" ]] || continue
		if ((!started)); then
			started=1
			if [[ $phase == single ]]; then
				start_broker_first || exit 2
				log "$("$SAMSA" --version 2>/dev/null | head -1) on $BOOTSTRAP, data in $RUN/data"
			else
				log "cluster phase: starting three nodes (logs: $CLUSTER_DIR/node*.log)"
				start_cluster || exit 2
				log "cluster on $BOOTSTRAP, id $CLUSTER_ID"
			fi
		fi
		total=$((total + 1))
		logf=$RUN/logs/$client.$sc.log
		export WORK=$RUN/work/$client.$sc
		mkdir -p "$WORK"
		t0=$SECONDS
		timeout -k 10 "$SCENARIO_TIMEOUT" bash -c '
			set -euo pipefail
			source "$1"; source "$2"; "sc_${3//[-.]/_}"' \
			scenario "$COMPAT/lib.sh" "$file" "$sc" >"$logf" 2>&1 </dev/null
		rc=$?
		secs=$((SECONDS - t0))
		if ((rc == 0)); then
			status=PASS detail=""
		else
			status=FAIL
			detail=$(grep -h '^FAIL: ' "$logf" | tail -1 | cut -c7-)
			((rc == 124 || rc == 137)) && detail="timed out after ${SCENARIO_TIMEOUT}s${detail:+; $detail}"
			[[ -n $detail ]] || detail="exit $rc: $(grep -v '^+ ' "$logf" | grep -v '^[[:space:]]*$' | tail -1)"
		fi
		if [[ $phase == single ]] && ! kill -0 "$BROKER_PID" 2>/dev/null; then
			detail="the broker died during this scenario; ${detail}"
			status=FAIL
			log "the broker died; restarting it (log: $RUN/samsa.log)"
			wait "$BROKER_PID" 2>/dev/null
			start_broker || exit 2
		fi
		if [[ $phase == cluster ]]; then
			cluster_check
			if [[ -n $DIED ]]; then
				detail="cluster node(s) $DIED died during this scenario; ${detail}"
				status=FAIL
				log "cluster node(s) $DIED died; restarted (logs: $CLUSTER_DIR)"
			fi
		fi
		key="$client/$sc"
		note=""
		if [[ -n ${XFAIL[$key]:-} ]]; then
			if [[ $status == PASS ]]; then
				note="UNEXPECTED PASS: remove from compat/expected-failures.txt"
				unexpected_pass=$((unexpected_pass + 1))
			else
				note="expected: ${XFAIL[$key]}"
			fi
		elif [[ $status == FAIL ]]; then
			unexpected_fail=$((unexpected_fail + 1))
		fi
		detail=${detail//$'\t'/ }
		detail=${detail//|/\\|}
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$client" "$version" "$sc" "$status" "$note" "${detail:0:300}" "$secs" >>"$RESULTS"
		printf 'compat: %-24s %-28s %-4s %3ss %s\n' "$client" "$sc" "$status" "$secs" "${note:-$detail}" >&2
	done
	if [[ $phase == single ]]; then
		stop_broker
	elif ((started)); then
		stop_cluster
		CLUSTER_S=$((SECONDS - phase_t0))
	fi
done
TOTAL_S=$((SECONDS - START_S))
if ((total == 0)); then
	log "no scenario matched: ${FILTERS[*]}"
	exit 2
fi

passed=$(awk -F'\t' '$4=="PASS"' "$RESULTS" | wc -l)
failed=$(awk -F'\t' '$4=="FAIL"' "$RESULTS" | wc -l)
xfailed=$(awk -F'\t' '$4=="FAIL" && $5 ~ /^expected/' "$RESULTS" | wc -l)

# 6. The matrix.
render() {
	cat <<EOF
# Client compatibility

Generated by \`compat/run.sh\` from its last full run: every scenario below ran
against a fresh \`samsa serve\` on a loopback port, or, for the client \`cluster\`, against a
fresh cluster of three. Do not edit by hand.

- Run: $(date -u +%Y-%m-%dT%H:%MZ), samsa built from $BROKER_DESC
- Result: **$passed passed, $failed failed** of $total; $xfailed of the failures are expected
  (listed in \`compat/expected-failures.txt\` with the issue they wait on).
- Runtime on this machine ($(nproc) cores): ${TOTAL_S}s for the whole run (setup check, building samsa,
  every scenario), of which ${SETUP_S}s for \`compat/setup.sh\` with its downloads already cached
  and ${CLUSTER_S}s for the cluster phase (starting three nodes, its scenarios, stopping them).
  Filling an empty \`\$SAMSA_COMPAT_CACHE\` (about 220 MB) took 58s here with Maven's, pip's, npm's
  and Go's own caches warm; a new machine adds the downloads.

Run it with \`compat/run.sh\` (all of it; rewrites this file) or \`compat/run.sh CLIENT[/SCENARIO]...\`.
\`compat/setup.sh\`, which run.sh calls first, installs every client into \`\$SAMSA_COMPAT_CACHE\`
(default \`~/.cache/samsa-compat\`): Apache Kafka's jars from Maven Central, kcat from Debian,
the Python clients from PyPI, kafkajs from npm and the Go clients as modules.

Each scenario checks the data that comes back (counts, order per partition, keys, headers,
offsets), not only exit codes. A missing tool fails its scenarios. A scenario that cannot pass
until a later issue lands is listed in \`compat/expected-failures.txt\`: it runs and shows FAIL
here without failing the run, and the run fails once it passes, so that the list stays true.
The scenarios are in \`compat/clients/\`; a failing scenario's log is in
\`\$SAMSA_COMPAT_CACHE/run/logs/\` after a run.

## Cluster phase

After the single-broker scenarios, run.sh starts three \`samsa serve\` processes, each a combined
broker and controller (\`process.roles=broker,controller\`, one \`controller.quorum.voters\` list,
one \`cluster.id\`), and runs the scenarios of \`compat/clients/80-cluster.sh\` against all three:
topics with replication factor 3 described by \`kafka-topics.sh\`, \`kafka-metadata-quorum.sh
describe --status\` and \`--replication\` through each node, a preferred leader election with
\`kafka-leader-election.sh\` after a node's restart, and a \`kill -9\` of a partition leader while
Kafka's Java producer (acks=all, idempotent) writes: every acknowledged record must be read back at
its offset, before and after the killed node rejoins. Kafka's tools are pointed at the nodes' broker
listeners (\`--bootstrap-server\`); the controller listeners speak Samsa's Raft transport, not the
Kafka protocol, so \`--bootstrap-controller\` does not work. Node logs are in
\`\$SAMSA_COMPAT_CACHE/run/cluster/\`.

| client | version | scenario | result | notes |
|---|---|---|---|---|
EOF
	awk -F'\t' '{
		notes = $5
		if ($4 == "FAIL" && $6 != "") notes = (notes == "" ? "" : notes ". ") "`" $6 "`"
		res = $4 == "PASS" ? "PASS" : "**FAIL**"
		printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, res, notes
	}' "$RESULTS"
}

if ((${#FILTERS[@]} == 0)); then
	render >"$ROOT/docs/compatibility.md"
	log "wrote docs/compatibility.md"
fi

echo
echo "compat: $passed passed, $failed failed ($xfailed expected) of $total in ${TOTAL_S}s; logs in $RUN/logs"
if ((unexpected_pass > 0)); then
	echo "compat: $unexpected_pass expected failure(s) now pass: remove them from compat/expected-failures.txt"
	awk -F'\t' '$5 ~ /^UNEXPECTED/ {print "  " $1 "/" $3}' "$RESULTS"
fi
if ((unexpected_fail > 0)); then
	echo "compat: unexpected failures:"
	awk -F'\t' '$4=="FAIL" && $5 !~ /^expected/ {print "  " $1 "/" $3 ": " $6}' "$RESULTS"
fi
# The closing line in the form CI counts.
echo "$((passed - unexpected_pass + xfailed)) passed, $((unexpected_fail + unexpected_pass)) failed"
((unexpected_fail == 0 && unexpected_pass == 0))
