# Shared by the side-by-side bench scripts (scale.sh, txn.sh, tls.sh, hostile.sh):
# source it after setting KAFKA_VERSION. Nothing here starts anything.

# port: a free TCP port on 127.0.0.1.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The JVM options of kafka-server-start.sh (KAFKA_JVM_PERFORMANCE_OPTS), and
# those kafka-producer-perf-test.sh / kafka-consumer-perf-test.sh use.
KAFKA_JVM="-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true"
TOOL_JVM="-Xmx512M $KAFKA_JVM -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.logFile=System.err"

# A KRaft cluster id, as kafka-storage.sh random-uuid makes one.
CLUSTER_ID=$(python3 -c 'import base64,uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode())')

# kafka_props FILE DATADIR PORT CPORT [LISTENER MAP]: a single-node
# broker+controller with Kafka's defaults except what a one-node cluster
# needs (replication factors 1, no initial rebalance delay). LISTENER and MAP
# add a listener ("SSL://127.0.0.1:9093", "SSL:SSL"); its settings are the
# caller's to append.
kafka_props() {
	local listeners="PLAINTEXT://127.0.0.1:$3" map="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
	if [[ -n ${5:-} ]]; then
		listeners+=",$5"
		map+=",$6"
	fi
	cat >"$1" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$4
listeners=$listeners,CONTROLLER://127.0.0.1:$4
advertised.listeners=$listeners
controller.listener.names=CONTROLLER
listener.security.protocol.map=$map
inter.broker.listener.name=PLAINTEXT
log.dirs=$2
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
}

# kafka_format FILE KLIB LOG: kafka-storage.sh format for the properties FILE.
kafka_format() {
	java -Xmx256M -cp "$2/*" kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$1" >>"$3" 2>&1
}

# bench_run NAME [load]: the run directory $CACHE/runs/NAME-<time>-<pid>
# (RUN) with logs/, results/, the brokers' data (DATA) and this tree's
# binaries (BIN: samsa, and bench/load's load when asked); COMMIT is the
# tree's commit. On exit every PID listed in $RUN/pids is killed and DATA
# removed. Needs ROOT, BENCH and CACHE.
bench_run() {
	BENCH_NAME=$1
	RUN=$CACHE/runs/$1-$(date -u +%Y%m%dT%H%M%SZ)-$$
	DATA=$RUN/data
	BIN=$RUN/bin
	mkdir -p "$RUN/logs" "$RUN/results" "$DATA" "$BIN"
	: >"$RUN/pids"
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	(cd "$ROOT" && go build -o "$BIN/samsa" ./cmd/samsa)
	if [[ ${2:-} == load ]]; then
		(cd "$BENCH" && go build -o "$BIN/load" ./load)
	fi
	COMMIT=$(git -C "$ROOT" rev-parse --short HEAD)
}
say() { echo "$BENCH_NAME-bench: $(date -u +%H:%M:%S) $*" >&2; }
bench_cleanup() {
	local p
	for p in $(cat "$RUN/pids" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$DATA"
}
