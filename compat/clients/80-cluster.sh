# The cluster phase: Apache Kafka's tools and Java client against three Samsa
# nodes, each a combined broker and controller (run.sh starts them after the
# single-broker scenarios; lib.sh has cluster_start, cluster_kill9, wait_isr).
# BOOTSTRAP lists the three Kafka listeners; the controller listeners carry
# Samsa's Raft transport and also take Kafka's controller APIs, so tools
# can use --bootstrap-controller too.
# shellcheck shell=bash disable=SC2034

CLIENT=cluster
PHASE=cluster
SCENARIOS=(topics-rf3 metadata-quorum-status metadata-quorum-replication
	leader-election-preferred leader-kill-ride-through leader-kill-ride-through-librdkafka reassign-partitions
	add-remove-broker add-remove-controller chaos-three-libraries)

client_version() {
	[[ -x $KAFKA_HOME/bin/kafka-metadata-quorum ]] && echo "Apache Kafka $KAFKA_VERSION tools and kafka-clients, 3 nodes"
}

# partition_line FILE TOPIC P: the --describe line of partition P, as
# "LEADER REPLICAS ISR" (comma-separated lists).
partition_line() {
	awk -F'\t' -v t="$2" -v p="$3" '
		$2 == "Topic: " t && $3 == "Partition: " p {
			sub("Leader: ", "", $4); sub("Replicas: ", "", $5); sub("Isr: ", "", $6)
			print $4, $5, $6
		}' "$1"
}

# same_set A B: two comma-separated lists hold the same ids.
same_set() {
	[[ $(tr , '\n' <<<"$1" | sort | xargs) == $(tr , '\n' <<<"$2" | sort | xargs) ]]
}

# A topic with replication factor 3: kafka-topics --describe through each of
# the three nodes shows the same partitions, each with three distinct
# replicas, the leader among them (the first replica, for a new topic), the
# full ISR, and the leaders spread over the three brokers.
sc_topics_rf3() {
	kafka_path
	local t=cl-rf3 out port ports p line leader replicas isr leaders=""
	out=$(run kafka-topics --create --topic $t --bootstrap-server "$BOOTSTRAP" --partitions 3 --replication-factor 3)
	expect_eq "$out" "Created topic $t." "kafka-topics --create --replication-factor 3"
	wait_isr $t 3 3
	for port in $CLUSTER_PORTS; do
		run kafka-topics --describe --topic $t --bootstrap-server "127.0.0.1:$port" >"$WORK/describe-$port.txt"
		cat "$WORK/describe-$port.txt"
		grep -qE "^Topic: $t	TopicId: [A-Za-z0-9_-]{22}	PartitionCount: 3	ReplicationFactor: 3	" "$WORK/describe-$port.txt" ||
			fail "summary line through node port $port: $(head -1 "$WORK/describe-$port.txt")"
		expect_eq "$(grep -c "Partition: " "$WORK/describe-$port.txt")" 3 "partition lines through port $port"
	done
	read -r -a ports <<<"$CLUSTER_PORTS"
	for port in "${ports[@]:1}"; do
		expect_file_eq "$WORK/describe-$port.txt" "$WORK/describe-${ports[0]}.txt" "--describe through port $port and port ${ports[0]}"
	done
	for p in 0 1 2; do
		line=$(partition_line "$WORK/describe-${ports[0]}.txt" $t $p)
		read -r leader replicas isr <<<"$line"
		[[ $replicas =~ ^[123],[123],[123]$ ]] || fail "partition $p: replicas [$replicas], want three of the nodes 1-3"
		[[ $(tr , '\n' <<<"$replicas" | sort -u | wc -l) == 3 ]] || fail "partition $p: replicas [$replicas] not distinct"
		expect_eq "$leader" "${replicas%%,*}" "partition $p: leader (the first replica of a new topic)"
		same_set "$isr" "$replicas" || fail "partition $p: ISR [$isr], replicas [$replicas]"
		leaders+="$leader "
	done
	[[ $(xargs -n1 <<<"$leaders" | sort -u | wc -l) == 3 ]] || fail "the leaders [$leaders] are not spread over the three nodes"
}

# kafka-metadata-quorum describe --status through each node (the admin
# client sends DescribeQuorum to a node of its choosing; a node that does
# not lead the quorum forwards it to the one that does): the same leader
# every time, the one Samsa's Metadata names as controller, three voters
# with their directory ids and controller endpoints, no observers.
sc_metadata_quorum_status() {
	kafka_path
	local port out leader="" l controller want="" i cports
	read -r -a cports <<<"$CLUSTER_CPORTS"
	for i in 1 2 3; do
		want+="${want:+, }{\"id\": $i, \"endpoints\": [\"CONTROLLER://127.0.0.1:${cports[i - 1]}\"]}"
	done
	for port in $CLUSTER_PORTS; do
		out=$(run kafka-metadata-quorum --bootstrap-server "127.0.0.1:$port" describe --status)
		echo "$out"
		expect_contains "$out" "ClusterId:              $CLUSTER_ID" "--status through port $port"
		l=$(awk '$1 == "LeaderId:" {print $2}' <<<"$out")
		[[ $l =~ ^[123]$ ]] || fail "LeaderId [$l] through port $port"
		[[ -z $leader || $l == "$leader" ]] || fail "LeaderId $l through port $port, $leader through another"
		leader=$l
		[[ $(awk '$1 == "LeaderEpoch:" {print $2}' <<<"$out") =~ ^[1-9][0-9]*$ ]] || fail "LeaderEpoch not positive"
		[[ $(awk '$1 == "HighWatermark:" {print $2}' <<<"$out") =~ ^[1-9][0-9]*$ ]] || fail "HighWatermark not positive"
		[[ $(awk '$1 == "MaxFollowerLag:" {print $2}' <<<"$out") =~ ^[0-9]+$ ]] || fail "MaxFollowerLag not a count"
		# Each voter shows its directory id (meta.properties' directory.id).
		expect_eq "$(sed -n 's/^CurrentVoters: *//p' <<<"$out" | grep -oE '"directoryId": "[A-Za-z0-9_-]{22}"' | wc -l)" 3 "voters' directory ids through port $port"
		expect_eq "$(sed -n 's/^CurrentVoters: *//p' <<<"$out" | sed -E 's/"directoryId": "[A-Za-z0-9_-]{22}", //g')" "[$want]" "CurrentVoters through port $port"
		expect_eq "$(sed -n 's/^CurrentObservers: *//p' <<<"$out")" "[]" "CurrentObservers through port $port"
	done
	controller=$("$SAMSA" -b "$BOOTSTRAP" cluster info --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["controller"])')
	expect_eq "$controller" "$leader" "the controller in Metadata and the quorum's LeaderId"
	# The controller listeners take Kafka's admin client too
	# (--bootstrap-controller: DescribeCluster for the controllers, then
	# DescribeQuorum to one of them).
	for port in $CLUSTER_CPORTS; do
		out=$(run kafka-metadata-quorum --bootstrap-controller "127.0.0.1:$port" describe --status)
		echo "$out"
		expect_eq "$(awk '$1 == "LeaderId:" {print $2}' <<<"$out")" "$leader" "LeaderId through controller port $port"
		expect_eq "$(sed -n 's/^CurrentVoters: *//p' <<<"$out" | sed -E 's/"directoryId": "[A-Za-z0-9_-]{22}", //g')" "[$want]" "CurrentVoters through controller port $port"
	done
}

# kafka-metadata-quorum describe --replication: the leader and two
# followers, each with its log end offset; the followers catch up with the
# leader (lag 0) within a few tries; --human-readable prints the leader's
# times as "N ms ago".
sc_metadata_quorum_replication() {
	kafka_path
	local out try rows now
	for try in 1 2 3 4 5; do
		out=$(run kafka-metadata-quorum --bootstrap-server "$BOOTSTRAP" describe --replication)
		echo "$out"
		expect_eq "$(head -1 <<<"$out" | xargs)" "NodeId DirectoryId LogEndOffset Lag LastFetchTimestamp LastCaughtUpTimestamp Status" "header"
		rows=$(tail -n +2 <<<"$out" | awk '{print $1, $7}' | sort | xargs)
		[[ $rows =~ ^1\ (Leader|Follower)\ 2\ (Leader|Follower)\ 3\ (Leader|Follower)$ ]] || fail "rows [$rows], want nodes 1-3"
		expect_eq "$(tail -n +2 <<<"$out" | awk '$7 == "Leader"' | wc -l)" 1 "leader rows"
		tail -n +2 <<<"$out" | awk '$3 !~ /^[1-9][0-9]*$/ || $4 !~ /^[0-9]+$/ {exit 1}' ||
			fail "a log end offset or lag is not a count"
		now=$(($(date +%s) * 1000))
		tail -n +2 <<<"$out" | awk -v now="$now" '$7 == "Leader" && ($5 < now - 60000 || $5 > now + 1000) {exit 1}' ||
			fail "the leader's LastFetchTimestamp is not now"
		[[ $(tail -n +2 <<<"$out" | awk '{s += $4} END {print s}') == 0 ]] && break
		((try < 5)) || fail "the followers did not catch up with the leader (lag 0) in 5 tries"
		sleep 1
	done
	out=$(run kafka-metadata-quorum --bootstrap-server "$BOOTSTRAP" describe --replication --human-readable)
	echo "$out"
	grep -qE '^[123]\s+[A-Za-z0-9_-]+\s+[0-9]+\s+0\s+[0-9]+ ms ago\s+[0-9]+ ms ago\s+Leader' <<<"$out" ||
		fail "--human-readable: no leader row with 'N ms ago' times"
}

# The first replica of a partition stops (a controlled shutdown moves its
# leaderships away) and starts again; once it is back in the ISR it does not
# lead by itself (the automatic rebalance runs every
# leader.imbalance.check.interval.seconds, 300 s by default), and
# kafka-leader-election --election-type preferred --all-topic-partitions
# gives every partition its first replica as leader again.
sc_leader_election_preferred() {
	kafka_path
	local t=cl-elect out node p line leader replicas isr moved=""
	run kafka-topics --create --topic $t --bootstrap-server "$BOOTSTRAP" --partitions 3 --replication-factor 3
	wait_isr $t 3 3
	run kafka-topics --describe --topic $t --bootstrap-server "$BOOTSTRAP" >"$WORK/before.txt"
	cat "$WORK/before.txt"
	read -r leader replicas isr <<<"$(partition_line "$WORK/before.txt" $t 0)"
	node=${replicas%%,*}
	cluster_stop "$node"
	cluster_start "$node"
	wait_isr $t 3 3
	run kafka-topics --describe --topic $t --bootstrap-server "$BOOTSTRAP" >"$WORK/restarted.txt"
	cat "$WORK/restarted.txt"
	for p in 0 1 2; do
		read -r leader replicas isr <<<"$(partition_line "$WORK/restarted.txt" $t $p)"
		if [[ ${replicas%%,*} == "$node" ]]; then
			[[ $leader != "$node" ]] || fail "partition $p: node $node leads again without an election"
			moved+="$t-$p "
		fi
	done
	[[ -n $moved ]] || fail "no partition has node $node as its first replica"
	out=$(run kafka-leader-election --bootstrap-server "$BOOTSTRAP" --election-type preferred --all-topic-partitions)
	echo "$out"
	expect_contains "$out" "Successfully completed leader election (PREFERRED) for partitions" "kafka-leader-election"
	for p in $moved; do
		[[ $out == *"$p"* ]] || fail "kafka-leader-election did not report $p: $out"
	done
	run kafka-topics --describe --topic $t --bootstrap-server "$BOOTSTRAP" >"$WORK/after.txt"
	cat "$WORK/after.txt"
	for p in 0 1 2; do
		read -r leader replicas isr <<<"$(partition_line "$WORK/after.txt" $t $p)"
		expect_eq "$leader" "${replicas%%,*}" "partition $p: leader after the preferred election"
	done
	p=${moved%% *}
	out=$(run kafka-leader-election --bootstrap-server "$BOOTSTRAP" --election-type preferred --topic $t --partition "${p##*-}")
	echo "$out"
	expect_contains "$out" "Valid replica already elected for partitions $p" "a second election of $p"
}

ride_java() {
	need java "$KAFKA_HOME/samsa-compat.jar"
	run java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
		-cp "$KAFKA_HOME/samsa-compat.jar:$KAFKA_HOME/lib/*" samsa.compat.RideThrough "$BOOTSTRAP" "$@"
}

# leader_kill_ride RIDE TOPIC: kill -9 of the leader of partition 0 while a
# producer (RIDE produce: acks=all, idempotent; Kafka's Java client or
# librdkafka) writes 20,000 records at a steady pace to a topic with
# replication factor 3 and min.insync.replicas=2: every send is acknowledged,
# and a consumer reads every acknowledged record back at its acknowledged
# offset (no loss, no duplicate), both with the node down and after it has
# started again and rejoined every ISR.
leader_kill_ride() {
	local ride=$1 t=$2 leader replicas isr jpid i after
	run kafka-topics --create --topic $t --bootstrap-server "$BOOTSTRAP" --partitions 3 --replication-factor 3 \
		--config min.insync.replicas=2
	wait_isr $t 3 3
	run kafka-topics --describe --topic $t --bootstrap-server "$BOOTSTRAP" >"$WORK/before.txt"
	cat "$WORK/before.txt"
	read -r leader replicas isr <<<"$(partition_line "$WORK/before.txt" $t 0)"
	[[ $leader =~ ^[123]$ ]] || fail "partition 0 has no leader: $(cat "$WORK/before.txt")"
	"$ride" produce $t 20000 "$WORK/acked.txt" "$WORK/marker" &
	jpid=$!
	for i in $(seq 600); do
		[[ -f $WORK/marker ]] && break
		kill -0 "$jpid" 2>/dev/null || break
		sleep 0.1
	done
	[[ -f $WORK/marker ]] || fail "the producer had no quarter of its records acknowledged within 60s"
	echo "acknowledged before the kill: $(cat "$WORK/marker")"
	cluster_kill9 "$leader"
	wait "$jpid" || fail "the producer did not ride through the kill of node $leader (see above)"
	run kafka-topics --describe --topic $t --bootstrap-server "$BOOTSTRAP" >"$WORK/after.txt"
	cat "$WORK/after.txt"
	read -r after replicas isr <<<"$(partition_line "$WORK/after.txt" $t 0)"
	[[ $after =~ ^[123]$ && $after != "$leader" ]] || fail "partition 0 led by [$after] after node $leader was killed"
	"$ride" verify $t "$WORK/acked.txt"
	cluster_start "$leader"
	wait_isr $t 3 3
	"$ride" verify $t "$WORK/acked.txt"
}

sc_leader_kill_ride_through() {
	kafka_path
	leader_kill_ride ride_java cl-ride
}

ride_librdkafka() {
	need "$CACHE/py-current/bin/python"
	run "$CACHE/py-current/bin/python" "$COMPAT/python/ride_through.py" "$BOOTSTRAP" "$@"
}

# The same with librdkafka (confluent-kafka-python's idempotent producer
# and a consumer): compat/python/ride_through.py.
sc_leader_kill_ride_through_librdkafka() {
	kafka_path
	leader_kill_ride ride_librdkafka cl-ride-rdkafka
}

# Moving a replica with kafka-reassign-partitions (AlterPartitionReassignments
# and ListPartitionReassignments): --execute, then --verify until it reports
# the move completed, and --describe shows the new replicas.
sc_reassign_partitions() {
	kafka_path
	local t=cl-reassign leader replicas isr to="" i
	run kafka-topics --create --topic $t --bootstrap-server "$BOOTSTRAP" --partitions 1 --replication-factor 2
	wait_isr $t 1 2
	run kafka-topics --describe --topic $t --bootstrap-server "$BOOTSTRAP" >"$WORK/before.txt"
	read -r leader replicas isr <<<"$(partition_line "$WORK/before.txt" $t 0)"
	# The node that holds no replica takes the place of the second one.
	for i in 1 2 3; do
		[[ ,$replicas, == *",$i,"* ]] || to="${replicas%%,*},$i"
	done
	echo "{\"version\": 1, \"partitions\": [{\"topic\": \"$t\", \"partition\": 0, \"replicas\": [$to]}]}" >"$WORK/move.json"
	run kafka-reassign-partitions --bootstrap-server "$BOOTSTRAP" --reassignment-json-file "$WORK/move.json" \
		--execute >"$WORK/execute.txt" 2>&1 ||
		fail "kafka-reassign-partitions --execute: $(grep -m1 -E 'Exception|Error' "$WORK/execute.txt")"
	cat "$WORK/execute.txt"
	local out
	for i in $(seq 30); do
		out=$(run kafka-reassign-partitions --bootstrap-server "$BOOTSTRAP" --reassignment-json-file "$WORK/move.json" --verify 2>&1 || true)
		[[ $out == *"Reassignment of partition $t-0 is completed"* ]] && break
		sleep 1
	done
	expect_contains "$out" "Reassignment of partition $t-0 is completed" "kafka-reassign-partitions --verify"
	run kafka-topics --describe --topic $t --bootstrap-server "$BOOTSTRAP" >"$WORK/after.txt"
	read -r leader replicas isr <<<"$(partition_line "$WORK/after.txt" $t 0)"
	expect_eq "$replicas" "$to" "replicas after the reassignment"
}

# free_port: a loopback port nothing listens on now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# broker_count: how many brokers Metadata lists.
broker_count() {
	"$SAMSA" -b "$BOOTSTRAP" --timeout 3s cluster info --json 2>/dev/null |
		python3 -c 'import json, sys; print(len(json.load(sys.stdin)["brokers"]))' 2>/dev/null || echo 0
}

# voters_setting: controller.quorum.voters of the three nodes.
voters_setting() {
	local i cports out=""
	read -r -a cports <<<"$CLUSTER_CPORTS"
	for i in 1 2 3; do
		out+="${out:+,}$i@127.0.0.1:${cports[i - 1]}"
	done
	echo "$out"
}

# start_extra N ARGS...: starts node N (beyond the three) as
# `samsa serve --data-dir CLUSTER_DIR/nodeN ARGS...`, waits until Metadata
# lists four brokers, and prints its pid (run.sh kills it after the
# scenario if it is still up).
start_extra() {
	local n=$1 pid i
	shift
	rm -rf "${CLUSTER_DIR:?}/node$n"
	setsid "$SAMSA" serve --data-dir "$CLUSTER_DIR/node$n" --log-level "${SAMSA_LOG_LEVEL:-info}" "$@" \
		>>"$CLUSTER_DIR/node$n.log" 2>&1 </dev/null &
	pid=$!
	disown "$pid" 2>/dev/null || true
	cluster_extra "$pid"
	for i in $(seq 100); do
		[[ $(broker_count) == 4 ]] && break
		node_alive "$pid" || break
		sleep 0.2
	done
	[[ $(broker_count) == 4 ]] || { tail -20 "$CLUSTER_DIR/node$n.log" >&2; fail "node $n did not join"; }
	echo "$pid"
}

# stop_extra N PID: SIGTERM, then waits until it is gone and Metadata lists
# three brokers again.
stop_extra() {
	local i
	kill -TERM "$2"
	for i in $(seq 100); do
		node_alive "$2" || break
		sleep 0.1
	done
	node_alive "$2" && fail "node $1 ignored SIGTERM"
	for i in $(seq 50); do
		[[ $(broker_count) == 3 ]] && break
		sleep 0.2
	done
}

# A fourth node, broker-only (process.roles=broker), joins the running
# cluster by starting: Metadata lists four brokers and kafka-metadata-quorum
# shows it among the observers (the voters stay 1-3). kafka-topics
# --replica-assignment places a topic on it by hand;
# kafka-reassign-partitions --throttle moves a replica onto it with the
# throttle set on the brokers (kafka-configs shows it), --verify reports the
# move completed and removes the throttle. The node is stopped and
# kafka-cluster unregister removes it: three brokers again.
sc_add_remove_broker() {
	kafka_path
	local port pid i out t=cl-grow to
	port=$(free_port)
	pid=$(start_extra 4 --override process.roles=broker --override node.id=4 --override cluster.id="$CLUSTER_ID" \
		--override listeners="PLAINTEXT://127.0.0.1:$port" --override controller.quorum.voters="$(voters_setting)") || exit 1
	out=$(run kafka-metadata-quorum --bootstrap-server "127.0.0.1:$port" describe --status)
	echo "$out"
	expect_eq "$(sed -n 's/^CurrentObservers: *//p' <<<"$out" | grep -o '"id": [0-9]*' | tr -d '"' | xargs)" "id: 4" "CurrentObservers"
	expect_eq "$(sed -n 's/^CurrentVoters: *//p' <<<"$out" | grep -o '"id": [0-9]*' | tr -d '"' | xargs)" "id: 1 id: 2 id: 3" "CurrentVoters"

	run kafka-topics --create --topic cl-placed --bootstrap-server "$BOOTSTRAP" --replica-assignment 4:1,2:4
	wait_isr cl-placed 2 2
	run kafka-topics --describe --topic cl-placed --bootstrap-server "$BOOTSTRAP" >"$WORK/placed.txt"
	cat "$WORK/placed.txt"
	expect_eq "$(partition_line "$WORK/placed.txt" cl-placed 0 | awk '{print $1, $2}')" "4 4,1" "cl-placed partition 0: leader and replicas"
	expect_eq "$(partition_line "$WORK/placed.txt" cl-placed 1 | awk '{print $1, $2}')" "2 2,4" "cl-placed partition 1: leader and replicas"
	out=$(run kafka-topics --create --topic cl-bad --bootstrap-server "$BOOTSTRAP" --replica-assignment 9:1 2>&1 || true)
	expect_contains "$out" "InvalidReplicaAssignmentException" "a broker that is not registered"

	run kafka-topics --create --topic $t --bootstrap-server "$BOOTSTRAP" --replica-assignment 1:2
	wait_isr $t 1 2
	run kafka-producer-perf-test --topic $t --num-records 2000 --record-size 1000 --throughput -1 \
		--producer-props bootstrap.servers="$BOOTSTRAP" acks=all >/dev/null
	to="4,1"
	echo "{\"version\": 1, \"partitions\": [{\"topic\": \"$t\", \"partition\": 0, \"replicas\": [$to]}]}" >"$WORK/move.json"
	run kafka-reassign-partitions --bootstrap-server "$BOOTSTRAP" --reassignment-json-file "$WORK/move.json" \
		--execute --throttle 50000000 >"$WORK/execute.txt" 2>&1 ||
		fail "kafka-reassign-partitions --execute --throttle: $(grep -m1 -E 'Exception|Error' "$WORK/execute.txt")"
	cat "$WORK/execute.txt"
	expect_contains "$(cat "$WORK/execute.txt")" "50000000" "--execute reports the throttle"
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP" --describe --entity-type brokers --entity-name 4)
	echo "$out"
	expect_contains "$out" "follower.replication.throttled.rate=50000000" "the throttle on broker 4"
	for i in $(seq 30); do
		out=$(run kafka-reassign-partitions --bootstrap-server "$BOOTSTRAP" --reassignment-json-file "$WORK/move.json" --verify 2>&1 || true)
		[[ $out == *"Reassignment of partition $t-0 is completed"* ]] && break
		sleep 1
	done
	echo "$out"
	expect_contains "$out" "Reassignment of partition $t-0 is completed" "kafka-reassign-partitions --verify"
	expect_contains "$out" "Clearing broker-level throttles on brokers 1,2,3,4" "--verify removes the throttle"
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP" --describe --entity-type brokers --entity-name 4)
	[[ $out != *"throttled.rate"* ]] || fail "a throttle is left on broker 4: $out"
	run kafka-topics --describe --topic $t --bootstrap-server "$BOOTSTRAP" >"$WORK/after.txt"
	read -r leader replicas isr <<<"$(partition_line "$WORK/after.txt" $t 0)"
	expect_eq "$replicas" "$to" "replicas after the move onto node 4"

	# Move everything off node 4, stop it, unregister it.
	"$SAMSA" -b "$BOOTSTRAP" --timeout 60s cluster rebalance --remove-broker 4 --execute || fail "samsa cluster rebalance --remove-broker 4"
	stop_extra 4 "$pid"
	out=$(run kafka-cluster unregister --bootstrap-server "$BOOTSTRAP" --id 4 2>&1)
	echo "$out"
	expect_contains "$out" "Broker 4 is no longer registered." "kafka-cluster unregister --id 4"
	out=$(run kafka-cluster unregister --bootstrap-server "$BOOTSTRAP" --id 4 2>&1 || true)
	echo "$out"
	expect_contains "$out" "BrokerIdNotRegisteredException" "unregistering node 4 twice"
	wait_isr $t 1 2
	wait_isr cl-placed 2 2
}

# A fifth node with the broker and controller roles, not among
# controller.quorum.voters, starts as an observer; kafka-metadata-quorum
# add-controller (AddRaftVoter, KIP-853) reads its properties file and
# meta.properties and makes it a voter; describe --status lists four
# voters; remove-controller with its directory id (RemoveRaftVoter) takes
# it out again: three voters, and it is back among the observers. Then it
# stops and kafka-cluster unregister removes it.
sc_add_remove_controller() {
	kafka_path
	local port cport pid i out dir
	port=$(free_port)
	cport=$(free_port)
	{
		echo "process.roles=broker,controller"
		echo "node.id=5"
		echo "cluster.id=$CLUSTER_ID"
		echo "listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport"
		echo "controller.listener.names=CONTROLLER"
		echo "controller.quorum.voters=$(voters_setting)"
		echo "log.dirs=$CLUSTER_DIR/node5"
	} >"$WORK/node5.properties"
	pid=$(start_extra 5 --config "$WORK/node5.properties") || exit 1
	out=$(run kafka-metadata-quorum --bootstrap-server "$BOOTSTRAP" describe --status)
	echo "$out"
	# (node 4 of the last scenario may still be listed: an observer away
	# for a minute leaves the list)
	[[ " $(quorum_ids CurrentObservers <<<"$out") " == *" 5 "* ]] || fail "node 5 is not among the observers: $out"
	dir=$(sed -n 's/^directory.id=//p' "$CLUSTER_DIR/node5/meta.properties")
	out=$(run kafka-metadata-quorum --bootstrap-server "$BOOTSTRAP" --command-config "$WORK/node5.properties" add-controller 2>&1) ||
		fail "add-controller: $out"
	echo "$out"
	expect_eq "$(tail -1 <<<"$out")" "Added controller 5 with directory id $dir and endpoints: CONTROLLER://127.0.0.1:$cport" "add-controller"
	out=$(run kafka-metadata-quorum --bootstrap-server "$BOOTSTRAP" describe --status)
	echo "$out"
	expect_eq "$(quorum_ids CurrentVoters <<<"$out")" "1 2 3 5" "voters after add-controller"
	expect_contains "$out" "{\"id\": 5, \"directoryId\": \"$dir\", \"endpoints\": [\"CONTROLLER://127.0.0.1:$cport\"]}" "the new voter's entry"
	out=$(run kafka-metadata-quorum --bootstrap-server "$BOOTSTRAP" --command-config "$WORK/node5.properties" add-controller 2>&1 || true)
	expect_contains "$out" "DuplicateVoterException" "add-controller twice"
	out=$(run kafka-metadata-quorum --bootstrap-server "$BOOTSTRAP" remove-controller --controller-id 5 --controller-directory-id "$dir" 2>&1) ||
		fail "remove-controller: $out"
	echo "$out"
	expect_eq "$(tail -1 <<<"$out")" "Removed  KRaft controller 5 with directory id $dir" "remove-controller (the tool prints two spaces)"
	for i in $(seq 30); do
		out=$(run kafka-metadata-quorum --bootstrap-server "$BOOTSTRAP" describe --status)
		[[ " $(quorum_ids CurrentObservers <<<"$out") " == *" 5 "* ]] && break
		sleep 0.5
	done
	echo "$out"
	expect_eq "$(quorum_ids CurrentVoters <<<"$out")" "1 2 3" "voters after remove-controller"
	[[ " $(quorum_ids CurrentObservers <<<"$out") " == *" 5 "* ]] || fail "node 5 does not observe again: $out"
	out=$(run kafka-metadata-quorum --bootstrap-server "$BOOTSTRAP" remove-controller --controller-id 5 --controller-directory-id "$dir" 2>&1 || true)
	expect_contains "$out" "VoterNotFoundException" "remove-controller twice"
	stop_extra 5 "$pid"
	run kafka-cluster unregister --bootstrap-server "$BOOTSTRAP" --id 5
}

# quorum_ids FIELD: the node ids of a describe --status line (stdin), in
# order, space-separated.
quorum_ids() {
	sed -n "s/^$1: *//p" | grep -oE '"id": [0-9]+' | awk '{print $2}' | xargs
}

# Three client libraries in one fault campaign: `samsa chaos` starts a
# cluster of its own and, besides its franz-go producer and consumer group,
# runs Kafka's Java producer and consumer (samsa.compat.HistoryProducer,
# HistoryConsumer, group chaos-java) and librdkafka's (compat/python/
# history_producer.py, history_consumer.py, group chaos-rdkafka), each
# writing a history of its produce attempts or of the records it read;
# kill -9 of a leader, of the active controller and of a follower; the
# history checker then judges what all three libraries produced and read.
sc_chaos_three_libraries() {
	kafka_path
	need java "$KAFKA_HOME/samsa-compat.jar" "$CACHE/py-current/bin/python"
	local out
	out=$(run "$SAMSA" chaos --faults kill-leader,kill-controller,kill-follower --rounds 2 --dir "$WORK/chaos" \
		--client "java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp '$KAFKA_HOME/samsa-compat.jar:$KAFKA_HOME/lib/*' samsa.compat.HistoryProducer" \
		--client "$CACHE/py-current/bin/python $COMPAT/python/history_producer.py" \
		--client "java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp '$KAFKA_HOME/samsa-compat.jar:$KAFKA_HOME/lib/*' samsa.compat.HistoryConsumer" \
		--client "$CACHE/py-current/bin/python $COMPAT/python/history_consumer.py" 2>&1) || { tail -30 <<<"$out"; fail "samsa chaos with three client libraries"; }
	tail -8 <<<"$out"
	expect_contains "$out" "histories of the 4 --client programs" "the Java and librdkafka producers' and consumers' histories"
	local lib n
	for lib in java rdkafka; do
		n=$(grep -oE "$lib consumer: [0-9]+ records read" <<<"$out" | grep -oE '[0-9]+' | head -1)
		[[ ${n:-0} -gt 0 ]] || fail "the $lib consumer read nothing (${n:-no count})"
	done
	expect_contains "$out" "no anomalies" "the history checker"
}
