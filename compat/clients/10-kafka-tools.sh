# Apache Kafka's own command-line tools (from Maven Central, see setup.sh),
# starting with the seed tutorial verbatim.
# shellcheck shell=bash disable=SC2034

CLIENT=kafka-tools
SCENARIOS=(quickstart console-partition topics-list topics-describe topics-alter-partitions
	topics-delete configs-describe configs-alter producer-perf-test consumer-perf-test
	get-offsets delete-records consumer-groups dump-log configs-broker kafka-transactions kafka-acls
	console-sasl-ssl-scram configs-scram-users configs-quotas console-oauthbearer acl-oauthbearer
	configs-mutation-quota configs-connection-limits)

client_version() {
	[[ -x $KAFKA_HOME/bin/kafka-topics ]] && echo "Apache Kafka $KAFKA_VERSION"
}

# The seed tutorial (docs 004), command for command; the consumer gets
# --max-messages and --timeout-ms so that it ends instead of waiting forever.
# The console consumer always joins a consumer group: this waits on issue 6.
sc_quickstart() {
	kafka_path
	local out
	out=$(run kafka-topics --create --topic test-topic --bootstrap-server "localhost:$PORT" --partitions 3 --replication-factor 1)
	expect_eq "$out" "Created topic test-topic." "kafka-topics --create"
	echo 'Hello, Kafka!' | run kafka-console-producer --topic test-topic --bootstrap-server "localhost:$PORT"
	out=$(run kafka-console-consumer --topic test-topic --from-beginning --bootstrap-server "localhost:$PORT" \
		--max-messages 1 --timeout-ms 30000)
	expect_eq "$out" "Hello, Kafka!" "kafka-console-consumer --from-beginning"
}

# Console producer with keys and headers; console consumer of one partition
# from an offset (assign, no group).
sc_console_partition() {
	kafka_path
	local t=kt-console
	run kafka-topics --create --topic $t --bootstrap-server "$BOOTSTRAP" --partitions 1 --replication-factor 1
	local i
	for i in $(seq 0 199); do echo "h1:a$i,h2:b$i	key-$i	value-$i"; done >"$WORK/in.txt"
	run kafka-console-producer --topic $t --bootstrap-server "$BOOTSTRAP" \
		--reader-property parse.key=true --reader-property parse.headers=true \
		--reader-property key.separator=$'\t' <"$WORK/in.txt"
	run kafka-console-consumer --topic $t --bootstrap-server "$BOOTSTRAP" --partition 0 --offset 50 \
		--max-messages 150 --timeout-ms 30000 \
		--formatter-property print.offset=true --formatter-property print.key=true \
		--formatter-property print.headers=true --formatter-property print.partition=true \
		>"$WORK/out.txt"
	for i in $(seq 50 199); do echo "Partition:0	Offset:$i	h1:a$i,h2:b$i	key-$i	value-$i"; done >"$WORK/want.txt"
	expect_file_eq "$WORK/out.txt" "$WORK/want.txt" "console consumer --partition 0 --offset 50"
}

sc_topics_list() {
	kafka_path
	local t
	for t in kt-list-a kt-list-b kt-list-c; do
		run kafka-topics --create --topic $t --bootstrap-server "$BOOTSTRAP" --partitions 2 --replication-factor 1
	done
	local out
	out=$(run kafka-topics --list --bootstrap-server "$BOOTSTRAP" | grep '^kt-list-' || true)
	expect_eq "$out" $'kt-list-a\nkt-list-b\nkt-list-c' "kafka-topics --list"
	out=$(run kafka-topics --list --topic 'kt-list-[ab]' --bootstrap-server "$BOOTSTRAP")
	expect_eq "$out" $'kt-list-a\nkt-list-b' "kafka-topics --list --topic REGEX"
}

sc_topics_describe() {
	kafka_path
	local t=kt-describe
	run kafka-topics --create --topic $t --bootstrap-server "$BOOTSTRAP" --partitions 4 --replication-factor 1 \
		--config retention.ms=3600000 --config cleanup.policy=delete
	run kafka-topics --describe --topic $t --bootstrap-server "$BOOTSTRAP" >"$WORK/out.txt"
	cat "$WORK/out.txt"
	local head
	head=$(grep -E "^Topic: $t	" "$WORK/out.txt") || fail "no summary line for $t"
	expect_contains "$head" "PartitionCount: 4	ReplicationFactor: 1	" "summary line"
	expect_contains "$head" "retention.ms=3600000" "summary configs"
	expect_contains "$head" "cleanup.policy=delete" "summary configs"
	[[ $head =~ TopicId:\ ([A-Za-z0-9_-]{22}) ]] || fail "summary line has no topic id: $head"
	[[ ${BASH_REMATCH[1]} != AAAAAAAAAAAAAAAAAAAAAA ]] || fail "topic id is zero"
	local p
	for p in 0 1 2 3; do
		grep -qE "^	Topic: $t	Partition: $p	Leader: ([0-9]+)	Replicas: \\1	Isr: \\1	" "$WORK/out.txt" ||
			fail "partition $p line missing or leader/replicas/isr disagree"
	done
	expect_eq "$(grep -c "Partition: " "$WORK/out.txt")" 4 "partition lines"
}

sc_topics_alter_partitions() {
	kafka_path
	local t=kt-alter
	run kafka-topics --create --topic $t --bootstrap-server "$BOOTSTRAP" --partitions 2 --replication-factor 1
	run kafka-topics --alter --topic $t --partitions 5 --bootstrap-server "$BOOTSTRAP"
	local out
	out=$(run kafka-topics --describe --topic $t --bootstrap-server "$BOOTSTRAP")
	expect_contains "$out" "PartitionCount: 5" "describe after --alter --partitions 5"
	expect_eq "$(grep -c 'Partition: ' <<<"$out")" 5 "partition lines"
	# Shrinking is refused, as by Kafka.
	if run kafka-topics --alter --topic $t --partitions 3 --bootstrap-server "$BOOTSTRAP" >"$WORK/shrink.txt" 2>&1; then
		fail "--alter --partitions 3 (a decrease) succeeded"
	fi
	cat "$WORK/shrink.txt"
	grep -q 'InvalidPartitionsException' "$WORK/shrink.txt" || fail "decrease refused without InvalidPartitionsException"
}

sc_topics_delete() {
	kafka_path
	local t=kt-delete
	run kafka-topics --create --topic $t --bootstrap-server "$BOOTSTRAP" --partitions 3 --replication-factor 1
	echo x | run kafka-console-producer --topic $t --bootstrap-server "$BOOTSTRAP"
	run kafka-topics --delete --topic $t --bootstrap-server "$BOOTSTRAP"
	local out
	out=$(run kafka-topics --list --bootstrap-server "$BOOTSTRAP")
	expect_not_contains $'\n'"$out"$'\n' $'\n'"$t"$'\n' "kafka-topics --list after --delete"
	if run kafka-topics --describe --topic $t --bootstrap-server "$BOOTSTRAP" >"$WORK/d.txt" 2>&1; then
		fail "--describe of a deleted topic succeeded: $(cat "$WORK/d.txt")"
	fi
	# The name can be used again, and the new topic starts empty.
	run kafka-topics --create --topic $t --bootstrap-server "$BOOTSTRAP" --partitions 1 --replication-factor 1
	out=$(run kafka-get-offsets --bootstrap-server "$BOOTSTRAP" --topic $t)
	expect_eq "$out" "$t:0:0" "offsets of the re-created topic"
}

sc_configs_describe() {
	kafka_path
	local t=kt-configs-describe out
	run kafka-topics --create --topic $t --bootstrap-server "$BOOTSTRAP" --partitions 1 --replication-factor 1 \
		--config retention.ms=3600000
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP" --entity-type topics --entity-name $t --describe)
	echo "$out"
	expect_contains "$out" "Dynamic configs for topic $t are:" "kafka-configs --describe"
	expect_contains "$out" "retention.ms=3600000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=3600000" \
		"kafka-configs --describe"
	expect_eq "$(grep -c '^  ' <<<"$out")" 1 "dynamic config lines"
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP" --entity-type topics --entity-name $t --describe --all)
	echo "$out"
	expect_contains "$out" "All configs for topic $t are:" "kafka-configs --describe --all"
	local k
	for k in cleanup.policy=delete segment.bytes= max.message.bytes= compression.type= min.insync.replicas=; do
		expect_contains "$out" "  $k" "kafka-configs --describe --all"
	done
	expect_contains "$out" "retention.ms=3600000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG" "--all keeps the override"
}

sc_configs_alter() {
	kafka_path
	local t=kt-configs-alter out
	run kafka-topics --create --topic $t --bootstrap-server "$BOOTSTRAP" --partitions 1 --replication-factor 1
	run kafka-configs --bootstrap-server "$BOOTSTRAP" --entity-type topics --entity-name $t --alter \
		--add-config retention.ms=7200000,max.message.bytes=2000000
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP" --entity-type topics --entity-name $t --describe)
	echo "$out"
	expect_contains "$out" "retention.ms=7200000 sensitive=false" "after --add-config"
	expect_contains "$out" "max.message.bytes=2000000 sensitive=false" "after --add-config"
	run kafka-configs --bootstrap-server "$BOOTSTRAP" --entity-type topics --entity-name $t --alter \
		--delete-config retention.ms
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP" --entity-type topics --entity-name $t --describe)
	echo "$out"
	expect_not_contains "$out" "retention.ms" "after --delete-config retention.ms"
	expect_contains "$out" "max.message.bytes=2000000" "after --delete-config retention.ms"
	# An unknown config is refused.
	if run kafka-configs --bootstrap-server "$BOOTSTRAP" --entity-type topics --entity-name $t --alter \
		--add-config no.such.config=1 >"$WORK/bad.txt" 2>&1; then
		fail "--add-config no.such.config=1 succeeded"
	fi
	cat "$WORK/bad.txt"
	# The same through kafka-topics' own describe.
	out=$(run kafka-topics --describe --topic $t --bootstrap-server "$BOOTSTRAP" | head -1)
	expect_contains "$out" "max.message.bytes=2000000" "kafka-topics --describe after alter"
}

sc_producer_perf_test() {
	kafka_path
	local t=kt-perf
	run kafka-topics --create --topic $t --bootstrap-server "$BOOTSTRAP" --partitions 3 --replication-factor 1
	run kafka-producer-perf-test --topic $t --num-records 100000 --record-size 200 --throughput -1 \
		--command-property "bootstrap.servers=$BOOTSTRAP" acks=all linger.ms=5 >"$WORK/out.txt"
	cat "$WORK/out.txt"
	grep -qE '^100000 records sent, ' "$WORK/out.txt" || fail "no final '100000 records sent' line"
	local total
	total=$(run kafka-get-offsets --bootstrap-server "$BOOTSTRAP" --topic $t | awk -F: '{s += $3} END {print s}')
	expect_eq "$total" 100000 "sum of the end offsets"
}

# Uses subscribe() with a group: waits on issue 6.
sc_consumer_perf_test() {
	kafka_path
	local t=kt-consumer-perf
	run kafka-topics --create --topic $t --bootstrap-server "$BOOTSTRAP" --partitions 3 --replication-factor 1
	run kafka-producer-perf-test --topic $t --num-records 20000 --record-size 100 --throughput -1 \
		--command-property "bootstrap.servers=$BOOTSTRAP"
	run kafka-consumer-perf-test --bootstrap-server "$BOOTSTRAP" --topic $t --num-records 20000 --timeout 30000 \
		>"$WORK/out.txt"
	cat "$WORK/out.txt"
	# start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, ...
	local n
	n=$(awk -F', ' '/^start.time/ {getline; print $5}' "$WORK/out.txt")
	expect_eq "$n" 20000 "data.consumed.in.nMsg"
}

sc_get_offsets() {
	kafka_path
	local t=kt-offsets out
	run kafka-topics --create --topic $t --bootstrap-server "$BOOTSTRAP" --partitions 3 --replication-factor 1
	seq 1 10 | run "$SAMSA" -b "$BOOTSTRAP" produce $t -p 0
	seq 1 25 | run "$SAMSA" -b "$BOOTSTRAP" produce $t -p 1
	out=$(run kafka-get-offsets --bootstrap-server "$BOOTSTRAP" --topic $t)
	expect_eq "$out" "$t:0:10"$'\n'"$t:1:25"$'\n'"$t:2:0" "kafka-get-offsets (latest)"
	out=$(run kafka-get-offsets --bootstrap-server "$BOOTSTRAP" --topic $t --time -1 --partitions 1)
	expect_eq "$out" "$t:1:25" "kafka-get-offsets --time -1 --partitions 1"
	out=$(run kafka-get-offsets --bootstrap-server "$BOOTSTRAP" --topic $t --time earliest)
	expect_eq "$out" "$t:0:0"$'\n'"$t:1:0"$'\n'"$t:2:0" "kafka-get-offsets --time earliest"
	# -3 (max-timestamp): the offset of the record with the largest timestamp.
	out=$(run kafka-get-offsets --bootstrap-server "$BOOTSTRAP" --topic $t --time -3 --partitions 0)
	[[ $out =~ ^$t:0:[0-9]$ ]] || fail "kafka-get-offsets --time -3: [$out], want an offset in 0..9"
	# A timestamp in the future has no offset: the tool prints nothing for it.
	out=$(run kafka-get-offsets --bootstrap-server "$BOOTSTRAP" --topic $t --time $(($(date +%s) * 1000 + 3600000)))
	expect_eq "$out" "" "kafka-get-offsets --time <future>"
}

sc_delete_records() {
	kafka_path
	local t=kt-delete-records out
	run kafka-topics --create --topic $t --bootstrap-server "$BOOTSTRAP" --partitions 2 --replication-factor 1
	seq 0 99 | sed 's/^/msg-/' | run "$SAMSA" -b "$BOOTSTRAP" produce $t -p 0
	seq 0 9 | run "$SAMSA" -b "$BOOTSTRAP" produce $t -p 1
	cat >"$WORK/offsets.json" <<EOF
{"partitions": [{"topic": "$t", "partition": 0, "offset": 40},
                {"topic": "$t", "partition": 1, "offset": -1}], "version": 1}
EOF
	out=$(run kafka-delete-records --bootstrap-server "$BOOTSTRAP" --offset-json-file "$WORK/offsets.json")
	echo "$out"
	expect_contains "$out" "partition: $t-0	low_watermark: 40" "kafka-delete-records"
	expect_contains "$out" "partition: $t-1	low_watermark: 10" "kafka-delete-records (offset -1: the high watermark)"
	out=$(run kafka-get-offsets --bootstrap-server "$BOOTSTRAP" --topic $t --time earliest)
	expect_eq "$out" "$t:0:40"$'\n'"$t:1:10" "earliest offsets after delete-records"
	out=$(run kafka-get-offsets --bootstrap-server "$BOOTSTRAP" --topic $t --time latest)
	expect_eq "$out" "$t:0:100"$'\n'"$t:1:10" "latest offsets after delete-records"
	run kafka-console-consumer --topic $t --bootstrap-server "$BOOTSTRAP" --partition 0 --offset earliest \
		--max-messages 60 --timeout-ms 30000 --formatter-property print.offset=true >"$WORK/out.txt"
	seq 40 99 | awk '{print "Offset:" $1 "\tmsg-" $1}' >"$WORK/want.txt"
	expect_file_eq "$WORK/out.txt" "$WORK/want.txt" "records after delete-records"
	# Deleting beyond the high watermark is refused.
	echo "{\"partitions\": [{\"topic\": \"$t\", \"partition\": 0, \"offset\": 101}], \"version\": 1}" >"$WORK/bad.json"
	out=$(run kafka-delete-records --bootstrap-server "$BOOTSTRAP" --offset-json-file "$WORK/bad.json" 2>&1 || true)
	echo "$out"
	expect_contains "$out" "OffsetOutOfRange" "delete-records beyond the high watermark"
}

# The console consumer in a group, kafka-consumer-groups --list/--describe/
# --reset-offsets, and a second run that resumes at the reset offsets.
sc_consumer_groups() {
	kafka_path
	local t=kt-groups g=kt-group out
	run kafka-topics --create --topic $t --bootstrap-server "$BOOTSTRAP" --partitions 3 --replication-factor 1
	# Keyed, so that the records spread over the partitions.
	seq 0 29 | sed 's/.*/k&:m-&/' | run kafka-console-producer --topic $t --bootstrap-server "$BOOTSTRAP" \
		--reader-property parse.key=true --reader-property key.separator=:
	run kafka-console-consumer --topic $t --bootstrap-server "$BOOTSTRAP" --group $g --from-beginning \
		--max-messages 30 --timeout-ms 30000 >"$WORK/first.txt"
	seq 0 29 | sed 's/^/m-/' >"$WORK/want.txt"
	sort -V "$WORK/first.txt" >"$WORK/first.sorted"
	expect_file_eq "$WORK/first.sorted" "$WORK/want.txt" "first read in group $g"
	out=$(run kafka-consumer-groups --bootstrap-server "$BOOTSTRAP" --list)
	expect_contains $'\n'"$out"$'\n' $'\n'"$g"$'\n' "kafka-consumer-groups --list"
	# GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
	run kafka-consumer-groups --bootstrap-server "$BOOTSTRAP" --describe --group $g >"$WORK/describe.txt"
	cat "$WORK/describe.txt"
	local lag
	lag=$(awk -v t=$t '$2 == t {n++; if ($4 != $5 || $6 != 0) bad++; s += $4} END {print n + 0, bad + 0, s + 0}' "$WORK/describe.txt")
	expect_eq "$lag" "3 0 30" "describe: partitions, partitions with lag, sum of committed offsets"
	(($(awk -v t=$t '$2 == t && $5 > 0' "$WORK/describe.txt" | wc -l) > 1)) || fail "all keys in one partition"
	run kafka-consumer-groups --bootstrap-server "$BOOTSTRAP" --group $g --topic $t --reset-offsets --to-earliest --execute
	run kafka-consumer-groups --bootstrap-server "$BOOTSTRAP" --describe --group $g >"$WORK/describe.txt"
	cat "$WORK/describe.txt"
	lag=$(awk -v t=$t '$2 == t {n++; if ($4 != 0) bad++; l += $6} END {print n + 0, bad + 0, l + 0}' "$WORK/describe.txt")
	expect_eq "$lag" "3 0 30" "describe after --reset-offsets --to-earliest: partitions, not at 0, total lag"
	run kafka-console-consumer --topic $t --bootstrap-server "$BOOTSTRAP" --group $g \
		--max-messages 30 --timeout-ms 30000 >"$WORK/second.txt"
	sort -V "$WORK/second.txt" >"$WORK/second.sorted"
	expect_file_eq "$WORK/second.sorted" "$WORK/want.txt" "second read in group $g after the reset"
	run kafka-consumer-groups --bootstrap-server "$BOOTSTRAP" --delete --group $g
	out=$(run kafka-consumer-groups --bootstrap-server "$BOOTSTRAP" --list)
	expect_not_contains $'\n'"$out"$'\n' $'\n'"$g"$'\n' "kafka-consumer-groups --list after --delete"
}

# Samsa stores Kafka's own segment, index, time-index and producer-snapshot
# formats: Kafka's kafka-dump-log reads them, finds every batch valid, and
# passes its index sanity checks.
sc_dump_log() {
	kafka_path
	local t=kt-dump-log dir out
	# Small segments, so the log rolls and snapshots are written. Kafka 4's
	# kafka-topics refuses segment.bytes under 1 MiB itself, so samsa's CLI
	# creates the topic.
	run "$SAMSA" -b "$BOOTSTRAP" topic create $t -p 1 -c segment.bytes=4096 -c index.interval.bytes=128
	local i
	for i in $(seq 0 9); do # ten batches of twenty records
		seq $((i * 20)) $((i * 20 + 19)) | sed 's/.*/key-&:value-&/' | run "$SAMSA" -b "$BOOTSTRAP" produce $t --key-separator :
	done
	dir=$SAMSA_DATA/$t-0
	[[ -d $dir ]] || fail "no partition directory $dir"
	local first=$dir/00000000000000000000
	out=$(run kafka-dump-log --files "$first.log" --print-data-log)
	expect_contains "$out" "baseOffset: 0 " "first batch at offset 0"
	expect_contains "$out" "key: key-0 payload: value-0" "first record"
	grep -q "isvalid: false" <<<"$out" && fail "kafka-dump-log found an invalid batch: $(grep -m1 'isvalid: false' <<<"$out")"
	# Every record of the closed segments, in order.
	local n
	n=$(grep -c "^| offset: " <<<"$out")
	((n > 0)) || fail "no records dumped"
	out=$(run kafka-dump-log --files "$first.index,$first.timeindex" --index-sanity-check)
	expect_contains "$out" "$first.index passed sanity check." "offset index sanity check"
	expect_contains "$out" "$first.timeindex passed sanity check." "time index sanity check"
	local snaps
	snaps=$(ls "$dir"/*.snapshot | head -1)
	[[ -n $snaps ]] || fail "no producer snapshot after segment rolls"
	out=$(run kafka-dump-log --files "$snaps")
	expect_contains "$out" "producerId: " "producer snapshot entries"
	# The whole log, segment after segment, holds all 200 records.
	out=$(for f in "$dir"/*.log; do run kafka-dump-log --files "$f" --print-data-log; done)
	n=$(grep -c "^| offset: " <<<"$out")
	expect_eq "$n" "200" "records across every segment"
	expect_contains "$out" "key: key-199 payload: value-199" "last record"
}

# Dynamic broker configs: the cluster-wide default and this broker's own,
# set and described with kafka-configs, then removed.
sc_configs_broker() {
	kafka_path
	local out
	run kafka-configs --bootstrap-server "$BOOTSTRAP" --entity-type brokers --entity-default --alter \
		--add-config log.retention.ms=777777
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP" --entity-type brokers --entity-default --describe)
	echo "$out"
	expect_contains "$out" "log.retention.ms=777777" "cluster-wide dynamic default"
	run kafka-configs --bootstrap-server "$BOOTSTRAP" --entity-type brokers --entity-name 1 --alter \
		--add-config log.retention.ms=888888
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP" --entity-type brokers --entity-name 1 --describe)
	echo "$out"
	expect_contains "$out" "log.retention.ms=888888" "this broker's dynamic setting"
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP" --entity-type brokers --entity-name 1 --alter \
		--add-config log.dirs=/elsewhere 2>&1 || true)
	echo "$out"
	expect_contains "$out" "InvalidRequest" "a read-only setting is refused"
	run kafka-configs --bootstrap-server "$BOOTSTRAP" --entity-type brokers --entity-name 1 --alter --delete-config log.retention.ms
	run kafka-configs --bootstrap-server "$BOOTSTRAP" --entity-type brokers --entity-default --alter --delete-config log.retention.ms
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP" --entity-type brokers --entity-default --describe)
	[[ $out == *"log.retention.ms="* ]] && fail "default still set after --delete-config: $out"
	return 0
}

# kafka-transactions.sh (org.apache.kafka.tools.TransactionsCommand): setup.sh
# writes no wrapper for it, so this runs it the way bin/kafka-transactions.sh does.
kafka_transactions() {
	need "$KAFKA_HOME/lib/kafka-tools-$KAFKA_VERSION.jar"
	run java -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
		-Dorg.slf4j.simpleLogger.logFile=System.err -cp "$KAFKA_HOME/lib/*" \
		org.apache.kafka.tools.TransactionsCommand --bootstrap-server "$BOOTSTRAP" "$@"
}

# col OUTPUT ROW-REGEX COLUMN: the named column of the table row (tab
# separated, padded) whose text matches ROW-REGEX.
col() {
	awk -F'\t' -v re="$2" -v name="$3" '
		NR == 1 { for (i = 1; i <= NF; i++) { h = $i; gsub(/ +$/, "", h); idx[h] = i }; next }
		$0 ~ re { v = $(idx[name]); gsub(/ +$/, "", v); print v }' <<<"$1"
}

# A transaction left open by Kafka's Java producer (compat/java Txn.java
# "hold": 5 records to partition 0, 3 to partition 1) as kafka-transactions
# list, describe and describe-producers show it; then it commits.
sc_kafka_transactions() {
	kafka_path
	need java "$KAFKA_HOME/samsa-compat.jar"
	local t=kt-txn id=kt-txn-held out
	run kafka-topics --create --topic $t --bootstrap-server "$BOOTSTRAP" --partitions 2 --replication-factor 1
	# Two committed records first, so that the open transaction does not start at offset 0.
	printf 'before-1\nbefore-2\n' | run kafka-console-producer --topic $t --bootstrap-server "$BOOTSTRAP"
	mkfifo "$WORK/ctl"
	run java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
		-cp "$KAFKA_HOME/samsa-compat.jar:$KAFKA_HOME/lib/*" samsa.compat.Txn "$BOOTSTRAP" hold $id $t \
		<"$WORK/ctl" >"$WORK/hold.out" 2>"$WORK/hold.err" &
	local pid=$! i
	exec 3>"$WORK/ctl" # the holder commits when told on this; exits when it closes
	for i in $(seq 300); do
		grep -q '^OPEN' "$WORK/hold.out" && break
		kill -0 $pid 2>/dev/null || { cat "$WORK/hold.err" >&2; fail "the transactional producer exited: $(tail -1 "$WORK/hold.err")"; }
		sleep 0.2
	done
	grep -q '^OPEN' "$WORK/hold.out" || fail "the transactional producer did not open its transaction in 60s"
	local p0 p1
	p0=$(sed -n 's/^OPEN p0=\([0-9]*\) p1=\([0-9]*\)$/\1/p' "$WORK/hold.out")
	p1=$(sed -n 's/^OPEN p0=\([0-9]*\) p1=\([0-9]*\)$/\2/p' "$WORK/hold.out")
	echo "open transaction: partition 0 from offset $p0, partition 1 from offset $p1" >&2
	((p0 + p1 == 2)) || fail "the open transaction starts at offsets $p0 and $p1, want 2 in all after the 2 committed records"

	out=$(kafka_transactions list)
	echo "$out" >&2
	expect_eq "$(col "$out" "^$id[ \t]" TransactionState)" Ongoing "kafka-transactions list: state of $id"
	local pid_list
	pid_list=$(col "$out" "^$id[ \t]" ProducerId)
	[[ $pid_list =~ ^[0-9]+$ ]] || fail "kafka-transactions list: producer id of $id [$pid_list]"
	expect_eq "$(col "$out" "^$id[ \t]" Coordinator)" 1 "kafka-transactions list: coordinator of $id"

	out=$(kafka_transactions describe --transactional-id $id)
	echo "$out" >&2
	expect_eq "$(col "$out" "[ \t]$id[ \t]" TransactionState)" Ongoing "kafka-transactions describe: state"
	expect_eq "$(col "$out" "[ \t]$id[ \t]" ProducerId)" "$pid_list" "kafka-transactions describe: producer id"
	expect_eq "$(col "$out" "[ \t]$id[ \t]" TopicPartitions | tr , '\n' | sort | paste -sd,)" "$t-0,$t-1" \
		"kafka-transactions describe: partitions"
	expect_eq "$(col "$out" "[ \t]$id[ \t]" TransactionTimeoutMs)" 60000 "kafka-transactions describe: timeout"
	local epoch
	epoch=$(col "$out" "[ \t]$id[ \t]" ProducerEpoch)

	local part start seq
	for part in 0 1; do
		out=$(kafka_transactions describe-producers --topic $t --partition $part)
		echo "$out" >&2
		start=$([[ $part == 0 ]] && echo "$p0" || echo "$p1")
		seq=$([[ $part == 0 ]] && echo 4 || echo 2)
		expect_eq "$(col "$out" "^$pid_list[ \t]" CurrentTransactionStartOffset)" "$start" \
			"kafka-transactions describe-producers --partition $part: CurrentTransactionStartOffset of producer $pid_list"
		expect_eq "$(col "$out" "^$pid_list[ \t]" ProducerEpoch)" "$epoch" \
			"kafka-transactions describe-producers --partition $part: ProducerEpoch of producer $pid_list"
		expect_eq "$(col "$out" "^$pid_list[ \t]" LastSequence)" "$seq" \
			"kafka-transactions describe-producers --partition $part: LastSequence of producer $pid_list"
	done

	# An open transaction the coordinator knows is not hanging: the header only.
	out=$(kafka_transactions find-hanging --broker-id 1)
	echo "$out" >&2
	expect_eq "$(tail -n +2 <<<"$out")" "" "kafka-transactions find-hanging --broker-id 1 (no hanging transaction)"

	echo commit >&3
	exec 3>&-
	wait $pid || { cat "$WORK/hold.err" >&2; fail "the transactional producer failed to commit: $(tail -1 "$WORK/hold.err")"; }
	grep -q '^COMMITTED$' "$WORK/hold.out" || fail "the transactional producer did not commit"

	out=$(kafka_transactions list)
	echo "$out" >&2
	expect_eq "$(col "$out" "^$id[ \t]" TransactionState)" CompleteCommit "kafka-transactions list after the commit: state of $id"
	out=$(kafka_transactions describe --transactional-id $id)
	echo "$out" >&2
	expect_eq "$(col "$out" "[ \t]$id[ \t]" TransactionState)" CompleteCommit "kafka-transactions describe after the commit: state"
	expect_eq "$(col "$out" "[ \t]$id[ \t]" TopicPartitions)" "" "kafka-transactions describe after the commit: partitions"
	epoch=$(col "$out" "[ \t]$id[ \t]" ProducerEpoch)
	out=$(kafka_transactions describe-producers --topic $t --partition 0)
	echo "$out" >&2
	expect_eq "$(col "$out" "^$pid_list[ \t]" CurrentTransactionStartOffset)" None \
		"kafka-transactions describe-producers after the commit: CurrentTransactionStartOffset"
	expect_eq "$(col "$out" "^$pid_list[ \t]" ProducerEpoch)" "$epoch" \
		"kafka-transactions describe-producers after the commit: ProducerEpoch (the commit marker's) vs describe's"
	local ce
	ce=$(col "$out" "^$pid_list[ \t]" LatestCoordinatorEpoch)
	[[ $ce =~ ^[0-9]+$ ]] || fail "kafka-transactions describe-producers after the commit: LatestCoordinatorEpoch [$ce], want the commit marker's coordinator epoch (>= 0)"
	out=$(kafka_transactions find-hanging --broker-id 1)
	expect_eq "$(tail -n +2 <<<"$out")" "" "kafka-transactions find-hanging --broker-id 1 after the commit"

	# The committed records, read_committed: the two before and the eight of the transaction.
	out=$(run kafka-console-consumer --topic $t --bootstrap-server "$BOOTSTRAP" --from-beginning \
		--isolation-level read_committed --max-messages 10 --timeout-ms 20000 | sort | paste -sd' ')
	expect_eq "$out" "before-1 before-2 held-0 held-1 held-2 held-3 held-4 held-5 held-6 held-7" \
		"kafka-console-consumer --isolation-level read_committed"

	# kafka-dump-log reads the commit markers Samsa wrote and, with its
	# transaction log decoder, the __transaction_state records.
	out=$(run kafka-dump-log --files "$SAMSA_DATA/$t-0/00000000000000000000.log" --print-data-log)
	grep -q "isvalid: false" <<<"$out" && fail "kafka-dump-log found an invalid batch: $(grep -m1 'isvalid: false' <<<"$out")"
	expect_contains "$out" "isTransactional: true isControl: true" "kafka-dump-log: a control batch"
	expect_contains "$out" "endTxnMarker: COMMIT coordinatorEpoch: " "kafka-dump-log: the commit marker"
	local state_log
	state_log=$(grep -l -a "$id" "$SAMSA_DATA"/__transaction_state-*/00000000000000000000.log | head -1)
	[[ -n $state_log ]] || fail "no __transaction_state segment holds $id"
	out=$(run kafka-dump-log --files "$state_log" --transaction-log-decoder)
	grep -q "isvalid: false" <<<"$out" && fail "kafka-dump-log found an invalid __transaction_state batch"
	expect_contains "$out" "\"transactionalId\":\"$id\"" "kafka-dump-log --transaction-log-decoder: the transactional id"
	expect_contains "$out" "\"transactionStatus\":1," "kafka-dump-log --transaction-log-decoder: Ongoing"
	expect_contains "$out" "\"transactionStatus\":4," "kafka-dump-log --transaction-log-decoder: CompleteCommit"
}

# kafka-acls.sh against a broker of its own with the authorizer on
# (authorizer.class.name=StandardAuthorizer) and
# allow.everyone.if.no.acl.found=true, so that the PLAINTEXT client
# (User:ANONYMOUS) may manage ACLs while the cluster has none: add literal,
# prefixed and --producer ACLs, list them (all, by principal, MATCH on a
# name), remove some, and see the console clients refused by a DENY: the
# Java consumer gets TopicAuthorizationException, the producer writes.
sc_kafka_acls() {
	kafka_path
	need "$KAFKA_HOME/bin/kafka-acls"
	local port data=$WORK/acl-data pid out b
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	b=127.0.0.1:$port
	"$SAMSA" serve --data-dir "$data" --listen "$b" \
		--override authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer \
		--override allow.everyone.if.no.acl.found=true >"$WORK/acl-broker.log" 2>&1 &
	pid=$!
	# shellcheck disable=SC2064
	trap "kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null" EXIT
	local i
	for i in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		sleep 0.2
	done

	run kafka-acls --bootstrap-server "$b" --add --allow-principal User:alice --operation Read --operation Describe --topic orders
	run kafka-acls --bootstrap-server "$b" --add --allow-principal User:etl --operation All --topic etl. --resource-pattern-type prefixed
	run kafka-acls --bootstrap-server "$b" --add --producer --allow-principal User:app --topic events --transactional-id app-1
	run kafka-acls --bootstrap-server "$b" --add --deny-principal User:eve --deny-host 10.0.0.1 --operation All --topic '*'
	out=$(run kafka-acls --bootstrap-server "$b" --list)
	echo "$out" >&2
	expect_contains "$out" "resourceType=TOPIC, name=orders, patternType=LITERAL" "kafka-acls --list: orders"
	expect_contains "$out" "(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)" "kafka-acls --list: alice READ"
	expect_contains "$out" "resourceType=TOPIC, name=etl., patternType=PREFIXED" "kafka-acls --list: the prefix"
	expect_contains "$out" "(principal=User:app, host=*, operation=CREATE, permissionType=ALLOW)" "kafka-acls --list: --producer CREATE"
	expect_contains "$out" "resourceType=TRANSACTIONAL_ID, name=app-1, patternType=LITERAL" "kafka-acls --list: the transactional id"
	expect_contains "$out" "(principal=User:eve, host=10.0.0.1, operation=ALL, permissionType=DENY)" "kafka-acls --list: the host-bound DENY"
	out=$(run kafka-acls --bootstrap-server "$b" --list --topic etl.jobs --resource-pattern-type match)
	expect_contains "$out" "name=etl., patternType=PREFIXED" "kafka-acls --list --resource-pattern-type match: the prefix"
	expect_contains "$out" "name=*, patternType=LITERAL" "kafka-acls --list --resource-pattern-type match: the wildcard"
	expect_not_contains "$out" "name=orders" "kafka-acls --list --resource-pattern-type match"
	run kafka-acls --bootstrap-server "$b" --remove --force --allow-principal User:alice --operation Read --topic orders
	out=$(run kafka-acls --bootstrap-server "$b" --list --principal User:alice)
	expect_contains "$out" "operation=DESCRIBE, permissionType=ALLOW" "after --remove: alice DESCRIBE stays"
	expect_not_contains "$out" "operation=READ" "after --remove: alice READ"
	# samsa acl sees the same ACLs.
	out=$("$SAMSA" -b "$b" acl list --json)
	expect_eq "$(grep -c '"principal"' <<<"$out")" 8 "samsa acl list --json: ACL count"

	# Enforcement: ALLOW ALL and DENY READ on one topic for User:ANONYMOUS.
	run kafka-topics --create --topic kt-acl --bootstrap-server "$b" --partitions 1 --replication-factor 1
	run kafka-acls --bootstrap-server "$b" --add --allow-principal User:ANONYMOUS --operation All --topic kt-acl
	run kafka-acls --bootstrap-server "$b" --add --deny-principal User:ANONYMOUS --operation Read --topic kt-acl
	echo 'denied-to-read' | run kafka-console-producer --topic kt-acl --bootstrap-server "$b"
	out=$(run kafka-console-consumer --topic kt-acl --from-beginning --bootstrap-server "$b" --max-messages 1 --timeout-ms 15000 2>&1 || true)
	expect_contains "$out" "Not authorized to access topics: [kt-acl]" "kafka-console-consumer on a topic with DENY READ"
	expect_not_contains "$out" "denied-to-read" "kafka-console-consumer on a topic with DENY READ"
	run kafka-acls --bootstrap-server "$b" --remove --force --deny-principal User:ANONYMOUS --operation Read --topic kt-acl
	out=$(run kafka-console-consumer --topic kt-acl --from-beginning --bootstrap-server "$b" --max-messages 1 --timeout-ms 30000)
	expect_eq "$out" "denied-to-read" "kafka-console-consumer once the DENY is removed"
}

# client_properties FILE USER PASSWORD [MECHANISM]: a client configuration
# for run.sh's SASL_SSL listener with SCRAM (default SCRAM-SHA-512), the CA
# in the JKS trust store made by keytool.
client_properties() {
	cat >"$1" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=${4:-SCRAM-SHA-512}
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$2" password="$3";
ssl.truststore.type=JKS
ssl.truststore.location=$TLS_DIR/truststore.jks
ssl.truststore.password=$TLS_PASSWORD
EOF
}

# The console tools over SASL_SSL with SCRAM-SHA-256 and SCRAM-SHA-512, their
# settings in --command-config files (the Kafka 4.2 name of --producer.config
# and --consumer.config): kafka-topics creates a topic, the console producer
# writes keyed records, the console consumer reads them back by partition and
# offset, and with a group.
sc_console_sasl_ssl_scram() {
	kafka_path
	need_security
	need "$TLS_DIR/truststore.jks"
	local t=kt-sasl-ssl i out
	client_properties "$WORK/scram512.properties" "$SCRAM_USER" "$SCRAM_PASSWORD"
	client_properties "$WORK/scram256.properties" "$SCRAM_USER" "$SCRAM_PASSWORD" SCRAM-SHA-256
	out=$(run kafka-topics --bootstrap-server "$BOOTSTRAP_SASL_SSL" --command-config "$WORK/scram512.properties" \
		--create --topic $t --partitions 1 --replication-factor 1)
	expect_eq "$out" "Created topic $t." "kafka-topics --create over SASL_SSL"
	for i in $(seq 0 99); do echo "key-$i:value-$i"; done >"$WORK/in.txt"
	run kafka-console-producer --bootstrap-server "$BOOTSTRAP_SASL_SSL" --command-config "$WORK/scram256.properties" \
		--topic $t --reader-property parse.key=true --reader-property key.separator=: <"$WORK/in.txt"
	run kafka-console-consumer --bootstrap-server "$BOOTSTRAP_SASL_SSL" --command-config "$WORK/scram512.properties" \
		--topic $t --partition 0 --offset earliest --max-messages 100 --timeout-ms 30000 \
		--formatter-property print.key=true --formatter-property key.separator=: >"$WORK/out.txt"
	expect_file_eq "$WORK/out.txt" "$WORK/in.txt" "kafka-console-consumer --partition 0 over SASL_SSL"
	run kafka-console-consumer --bootstrap-server "$BOOTSTRAP_SASL_SSL" --command-config "$WORK/scram256.properties" \
		--topic $t --group kt-sasl-ssl --from-beginning --max-messages 100 --timeout-ms 30000 \
		--formatter-property print.key=true --formatter-property key.separator=: >"$WORK/group.txt"
	expect_file_eq "$WORK/group.txt" "$WORK/in.txt" "kafka-console-consumer --group over SASL_SSL"
}

# tools_login FILE: kafka-topics --list through SASL_SSL with the
# credentials in FILE; prints what it printed, returns its status.
tools_login() {
	kafka-topics --bootstrap-server "$BOOTSTRAP_SASL_SSL" --command-config "$1" --list 2>&1
}

# SCRAM users managed with kafka-configs (AlterUserScramCredentials), itself
# over SASL_SSL as SCRAM_USER: a user added logs in, a changed password
# replaces the old one, a deleted mechanism refuses the login with Kafka's
# message. (kafka-configs --describe --entity-type users also asks for
# client quotas, which Samsa does not have yet.)
sc_configs_scram_users() {
	kafka_path
	need_security
	need "$TLS_DIR/truststore.jks"
	local u=kt-bob out
	client_properties "$WORK/admin.properties" "$SCRAM_USER" "$SCRAM_PASSWORD"
	client_properties "$WORK/bob1.properties" $u bob-secret-1
	client_properties "$WORK/bob2.properties" $u bob-secret-2
	run kafka-topics --bootstrap-server "$BOOTSTRAP" --create --if-not-exists --topic kt-scram-users --partitions 1 --replication-factor 1
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP_SASL_SSL" --command-config "$WORK/admin.properties" \
		--alter --entity-type users --entity-name $u --add-config 'SCRAM-SHA-512=[iterations=4096,password=bob-secret-1]')
	expect_eq "$out" "Completed updating config for user $u." "kafka-configs --alter --add-config SCRAM-SHA-512"
	out=$(tools_login "$WORK/bob1.properties") || fail "$u cannot log in after --add-config: $out"
	expect_contains "$out" kt-scram-users "kafka-topics --list as $u"
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP_SASL_SSL" --command-config "$WORK/admin.properties" \
		--alter --entity-type users --entity-name $u --add-config 'SCRAM-SHA-512=[password=bob-secret-2]')
	expect_eq "$out" "Completed updating config for user $u." "kafka-configs --alter (a new password)"
	out=$(tools_login "$WORK/bob1.properties") && fail "$u logged in with the replaced password: $out"
	expect_contains "$out" "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512" \
		"kafka-topics as $u with the replaced password"
	out=$(tools_login "$WORK/bob2.properties") || fail "$u cannot log in with the new password: $out"
	expect_contains "$out" kt-scram-users "kafka-topics --list as $u (new password)"
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP_SASL_SSL" --command-config "$WORK/admin.properties" \
		--alter --entity-type users --entity-name $u --delete-config SCRAM-SHA-512)
	expect_eq "$out" "Completed updating config for user $u." "kafka-configs --alter --delete-config SCRAM-SHA-512"
	out=$(tools_login "$WORK/bob2.properties") && fail "$u logged in after --delete-config: $out"
	expect_contains "$out" "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512" \
		"kafka-topics as $u after --delete-config"
	# Deleting what is no longer there: Kafka's RESOURCE_NOT_FOUND.
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP_SASL_SSL" --command-config "$WORK/admin.properties" \
		--alter --entity-type users --entity-name $u --delete-config SCRAM-SHA-512 2>&1) &&
		fail "a second --delete-config succeeded: $out"
	expect_contains "$out" "Attempt to delete a user credential that does not exist" "a second --delete-config"
}

# Client quotas with kafka-configs: users, clients, a user and client id,
# the default user, an IP; --describe per entity and per type;
# --delete-config; a value the broker refuses. A producer over its
# producer_byte_rate is throttled (kafka-producer-perf-test reports it).
sc_configs_quotas() {
	kafka_path
	local out t=kt-quotas
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP" --alter --add-config 'producer_byte_rate=1024,consumer_byte_rate=2048' \
		--entity-type users --entity-name kt-alice)
	expect_contains "$out" "Completed updating config for user kt-alice." "kafka-configs --alter --entity-type users"
	run kafka-configs --bootstrap-server "$BOOTSTRAP" --alter --add-config 'request_percentage=50' --entity-type users --entity-default
	run kafka-configs --bootstrap-server "$BOOTSTRAP" --alter --add-config 'producer_byte_rate=4096' \
		--entity-type users --entity-name kt-alice --entity-type clients --entity-name kt-app
	run kafka-configs --bootstrap-server "$BOOTSTRAP" --alter --add-config 'consumer_byte_rate=100000' --entity-type clients --entity-name kt-reader
	run kafka-configs --bootstrap-server "$BOOTSTRAP" --alter --add-config 'connection_creation_rate=100' --entity-type ips --entity-name 10.9.8.7
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP" --describe --entity-type users --entity-name kt-alice)
	echo "$out"
	expect_contains "$out" "producer_byte_rate=1024" "kafka-configs --describe --entity-name kt-alice"
	expect_contains "$out" "consumer_byte_rate=2048" "kafka-configs --describe --entity-name kt-alice"
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP" --describe --entity-type users)
	echo "$out"
	expect_contains "$out" "kt-alice" "kafka-configs --describe --entity-type users"
	expect_contains "$out" "request_percentage=50" "kafka-configs --describe --entity-type users (the default user)"
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP" --describe --entity-type users --entity-name kt-alice --entity-type clients --entity-name kt-app)
	echo "$out"
	expect_contains "$out" "producer_byte_rate=4096" "kafka-configs --describe user and client"
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP" --describe --entity-type clients --entity-name kt-reader)
	expect_contains "$out" "consumer_byte_rate=100000" "kafka-configs --describe --entity-type clients"
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP" --describe --entity-type ips --entity-name 10.9.8.7)
	expect_contains "$out" "connection_creation_rate=100" "kafka-configs --describe --entity-type ips"
	run kafka-configs --bootstrap-server "$BOOTSTRAP" --alter --delete-config consumer_byte_rate --entity-type users --entity-name kt-alice
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP" --describe --entity-type users --entity-name kt-alice)
	echo "$out"
	expect_not_contains "$out" "consumer_byte_rate" "after --delete-config consumer_byte_rate"
	expect_contains "$out" "producer_byte_rate=1024" "after --delete-config consumer_byte_rate"
	# A fractional byte rate is refused by the broker, with Kafka's message.
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP" --alter --add-config 'producer_byte_rate=1.5' \
		--entity-type clients --entity-name kt-bad 2>&1) && fail "a fractional producer_byte_rate was accepted: $out"
	expect_contains "$out" "producer_byte_rate cannot be a fractional value" "--add-config producer_byte_rate=1.5"
	# Throttling: 100 KB/s for this client id, 1.5 MB sent as fast as possible.
	run kafka-topics --create --topic $t --bootstrap-server "$BOOTSTRAP" --partitions 1 --replication-factor 1
	run kafka-configs --bootstrap-server "$BOOTSTRAP" --alter --add-config 'producer_byte_rate=100000' --entity-type clients --entity-name kt-throttled
	out=$(run kafka-producer-perf-test --topic $t --num-records 1500 --record-size 1000 --throughput -1 \
		--producer-props bootstrap.servers="$BOOTSTRAP" client.id=kt-throttled compression.type=none linger.ms=0 2>&1)
	echo "$out"
	local rate
	rate=$(grep -o '[0-9.]* records/sec' <<<"$out" | tail -1 | cut -d' ' -f1)
	[[ -n $rate ]] || fail "no final throughput from kafka-producer-perf-test"
	# 1.5 MB at 100 KB/s with a 1 MB burst (10 windows): at least 5 s, so under 500 records/s.
	awk -v r="$rate" 'BEGIN { exit !(r < 500) }' || fail "throttled producer ran at $rate records/s"
}

# oauth_properties FILE TOKEN-FILE [PROTOCOL]: a client configuration for
# OAUTHBEARER with Kafka's login module and compat/java's OAuthFileLogin as
# the login callback handler (it reads the JWT from TOKEN-FILE); the tools
# find the class on $CLASSPATH, as with Kafka's own scripts. SASL_SSL (the
# default is SASL_PLAINTEXT) trusts the CA in the JKS trust store.
oauth_properties() {
	cat >"$1" <<EOF
security.protocol=${3:-SASL_PLAINTEXT}
sasl.mechanism=OAUTHBEARER
sasl.login.callback.handler.class=samsa.compat.OAuthFileLogin
sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required tokenFile="$2";
EOF
	if [[ ${3:-} == SASL_SSL ]]; then
		printf '%s\n' ssl.truststore.type=JKS "ssl.truststore.location=$TLS_DIR/truststore.jks" \
			"ssl.truststore.password=$TLS_PASSWORD" >>"$1"
	fi
}

# The console tools with OAUTHBEARER: kafka-topics creates a topic over
# SASL_SSL, the console producer writes keyed records over SASL_PLAINTEXT, the
# console consumer reads them back over SASL_SSL by partition and over
# SASL_PLAINTEXT with a group; a producer with an expired token fails with
# Kafka's message and writes nothing.
sc_console_oauthbearer() {
	kafka_path
	need_security
	need "$KAFKA_HOME/samsa-compat.jar" "$TLS_DIR/truststore.jks"
	export CLASSPATH=$KAFKA_HOME/samsa-compat.jar
	local t=kt-oauth out i
	oauth_token_files "$WORK/tokens"
	oauth_properties "$WORK/oauth.properties" "$WORK/tokens/good"
	oauth_properties "$WORK/oauth-ssl.properties" "$WORK/tokens/good" SASL_SSL
	oauth_properties "$WORK/expired.properties" "$WORK/tokens/expired"
	out=$(run kafka-topics --bootstrap-server "$BOOTSTRAP_SASL_SSL" --command-config "$WORK/oauth-ssl.properties" \
		--create --topic $t --partitions 1 --replication-factor 1)
	expect_eq "$out" "Created topic $t." "kafka-topics --create over SASL_SSL with OAUTHBEARER"
	echo "expired:token" | run kafka-console-producer --bootstrap-server "$BOOTSTRAP_SASL" \
		--command-config "$WORK/expired.properties" --topic $t --reader-property parse.key=true \
		--reader-property key.separator=: >"$WORK/expired.out" 2>&1 || true
	expect_contains "$(cat "$WORK/expired.out")" "Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER" \
		"the console producer with an expired token"
	expect_topic_empty $t 1
	for i in $(seq 0 99); do echo "key-$i:value-$i"; done >"$WORK/in.txt"
	run kafka-console-producer --bootstrap-server "$BOOTSTRAP_SASL" --command-config "$WORK/oauth.properties" \
		--topic $t --reader-property parse.key=true --reader-property key.separator=: <"$WORK/in.txt"
	run kafka-console-consumer --bootstrap-server "$BOOTSTRAP_SASL_SSL" --command-config "$WORK/oauth-ssl.properties" \
		--topic $t --partition 0 --offset earliest --max-messages 100 --timeout-ms 30000 \
		--formatter-property print.key=true --formatter-property key.separator=: >"$WORK/out.txt"
	expect_file_eq "$WORK/out.txt" "$WORK/in.txt" "kafka-console-consumer --partition 0 over SASL_SSL with OAUTHBEARER"
	run kafka-console-consumer --bootstrap-server "$BOOTSTRAP_SASL" --command-config "$WORK/oauth.properties" \
		--topic $t --group kt-oauth --from-beginning --max-messages 100 --timeout-ms 30000 \
		--formatter-property print.key=true --formatter-property key.separator=: >"$WORK/group.txt"
	expect_file_eq "$WORK/group.txt" "$WORK/in.txt" "kafka-console-consumer --group over SASL_PLAINTEXT with OAUTHBEARER"
	expect_no_token_in_broker_log "$WORK/tokens/good" "$WORK/tokens/expired"
}

# With ACLs, a token's subject is the principal: a broker of the scenario's
# own with StandardAuthorizer, super.users=User:oauth-admin and a
# SASL_PLAINTEXT listener offering OAUTHBEARER only (run.sh's JWKS). The admin
# (a token for oauth-admin) creates a topic; alice's console producer is
# refused (TopicAuthorizationException) and writes nothing; after
# kafka-acls --add for User:alice (itself over OAUTHBEARER as the admin) she
# writes and reads; bob's token is still refused.
sc_acl_oauthbearer() {
	kafka_path
	need "$KAFKA_HOME/bin/kafka-acls" "$KAFKA_HOME/samsa-compat.jar" "$OAUTH_DIR/jwks.json"
	export CLASSPATH=$KAFKA_HOME/samsa-compat.jar
	local port sport b sb pid out t=kt-oauth-acl i
	read -r port sport <<<"$(python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')"
	b=127.0.0.1:$port sb=127.0.0.1:$sport
	cat >"$WORK/server.properties" <<EOF
listeners=PLAINTEXT://$b,SASL_PLAINTEXT://$sb
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
inter.broker.listener.name=PLAINTEXT
sasl.enabled.mechanisms=OAUTHBEARER
sasl.oauthbearer.jwks.endpoint.url=file://$OAUTH_DIR/jwks.json
sasl.oauthbearer.expected.issuer=$OAUTH_ISSUER
sasl.oauthbearer.expected.audience=$OAUTH_AUDIENCE
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:oauth-admin
EOF
	"$SAMSA" serve --data-dir "$WORK/data" --config "$WORK/server.properties" >"$WORK/broker.log" 2>&1 &
	pid=$!
	# shellcheck disable=SC2064
	trap "kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null" EXIT
	for i in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$sport") 2>/dev/null && break
		kill -0 $pid 2>/dev/null || fail "the broker did not start: $(tail -5 "$WORK/broker.log")"
		sleep 0.2
	done
	mkdir -p "$WORK/tokens"
	oauth_token oauth-admin >"$WORK/tokens/admin"
	oauth_token alice >"$WORK/tokens/alice"
	oauth_token bob >"$WORK/tokens/bob"
	oauth_properties "$WORK/admin.properties" "$WORK/tokens/admin"
	oauth_properties "$WORK/alice.properties" "$WORK/tokens/alice"
	oauth_properties "$WORK/bob.properties" "$WORK/tokens/bob"
	run kafka-topics --bootstrap-server "$sb" --command-config "$WORK/admin.properties" \
		--create --topic $t --partitions 1 --replication-factor 1
	echo 'refused' | run kafka-console-producer --bootstrap-server "$sb" --command-config "$WORK/alice.properties" \
		--topic $t >"$WORK/refused.out" 2>&1 || true
	expect_contains "$(cat "$WORK/refused.out")" "Not authorized to access topics: [$t]" "alice's console producer without an ACL"
	out=$(run kafka-get-offsets --bootstrap-server "$sb" --command-config "$WORK/admin.properties" --topic $t)
	expect_eq "$out" "$t:0:0" "the topic's end offset after alice was refused"
	run kafka-acls --bootstrap-server "$sb" --command-config "$WORK/admin.properties" --add \
		--allow-principal User:alice --operation Write --operation Read --operation Describe --topic $t
	out=$(run kafka-acls --bootstrap-server "$sb" --command-config "$WORK/admin.properties" --list --topic $t)
	expect_contains "$out" "(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)" "kafka-acls --list"
	printf 'one\ntwo\n' | run kafka-console-producer --bootstrap-server "$sb" --command-config "$WORK/alice.properties" --topic $t
	out=$(run kafka-console-consumer --bootstrap-server "$sb" --command-config "$WORK/alice.properties" \
		--topic $t --partition 0 --offset earliest --max-messages 2 --timeout-ms 30000)
	expect_eq "$out" $'one\ntwo' "alice reads back with the ACL"
	echo 'from-bob' | run kafka-console-producer --bootstrap-server "$sb" --command-config "$WORK/bob.properties" \
		--topic $t >"$WORK/bob.out" 2>&1 || true
	expect_contains "$(cat "$WORK/bob.out")" "Not authorized to access topics: [$t]" "bob's console producer (alice's ACL is not his)"
	out=$(run kafka-get-offsets --bootstrap-server "$sb" --command-config "$WORK/admin.properties" --topic $t)
	expect_eq "$out" "$t:0:2" "the topic's end offset: alice's two records, none of bob's"
}

# ms_since T0: milliseconds since T0 (date +%s%N).
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# controller_mutation_rate (KIP-599) set with kafka-configs for a client id,
# felt by kafka-topics: 2 partitions a second with 11 windows is a burst of
# 22; a topic of 30 partitions is accepted (the bucket goes 8 below zero:
# 4 s), as is one of 30 under another client id; the next --create under the
# limited id within those 4 s fails with ThrottlingQuotaExceededException
# (kafka-topics does not let the admin client retry it), and once the
# bucket has refilled the same command creates the topic.
sc_configs_mutation_quota() {
	kafka_path
	local id=kt-mutator out t0
	run kafka-configs --bootstrap-server "$BOOTSTRAP" --alter --add-config controller_mutation_rate=2 \
		--entity-type clients --entity-name $id
	out=$(run kafka-configs --bootstrap-server "$BOOTSTRAP" --describe --entity-type clients --entity-name $id)
	expect_contains "$out" "controller_mutation_rate=2.0" "kafka-configs --describe --entity-type clients"
	echo "client.id=$id" >"$WORK/mutator.properties"
	echo "client.id=kt-unlimited" >"$WORK/free.properties"
	run kafka-topics --bootstrap-server "$BOOTSTRAP" --command-config "$WORK/mutator.properties" \
		--create --topic kt-mut-a --partitions 30 --replication-factor 1
	t0=$(date +%s%N)
	out=$(run kafka-topics --bootstrap-server "$BOOTSTRAP" --command-config "$WORK/mutator.properties" \
		--create --topic kt-mut-b --partitions 1 --replication-factor 1 2>&1 || true)
	expect_contains "$out" "ThrottlingQuotaExceededException: THROTTLING_QUOTA_EXCEEDED: The throttling quota has been exceeded." \
		"kafka-topics --create over the mutation quota"
	(($(ms_since "$t0") < 4000)) || fail "the refused --create came more than 4 s later: the test proves nothing"
	run kafka-topics --bootstrap-server "$BOOTSTRAP" --command-config "$WORK/free.properties" \
		--create --topic kt-mut-free --partitions 30 --replication-factor 1
	out=$(run kafka-topics --bootstrap-server "$BOOTSTRAP" --list)
	expect_not_contains "$out" "kt-mut-b" "kafka-topics --list after the refusal"
	sleep 5 # the bucket back above zero: 8 partitions at 2 a second
	out=$(run kafka-topics --bootstrap-server "$BOOTSTRAP" --command-config "$WORK/mutator.properties" \
		--create --topic kt-mut-b --partitions 1 --replication-factor 1)
	expect_eq "$out" "Created topic kt-mut-b." "kafka-topics --create once the bucket refilled"
	out=$(run kafka-topics --bootstrap-server "$BOOTSTRAP" --describe --topic kt-mut-a)
	expect_contains "$out" "PartitionCount: 30" "kafka-topics --describe kt-mut-a"
}

# The connection limits are dynamic broker configs: on a broker of the
# scenario's own (a PLAINTEXT listener for clients, an INTERNAL inter-broker
# one that the broker-wide limit does not hold, with a max.connections of
# its own: a listener without one follows the broker's), kafka-configs through
# INTERNAL sets max.connections=1 for the cluster (--entity-default) while
# this shell holds one connection to PLAINTEXT: kafka-topics --list through
# PLAINTEXT waits in the backlog and times out; raised to 100 on broker 1
# (--entity-name 1), the same command lists the topics. --describe shows
# both values, nothing restarts.
sc_configs_connection_limits() {
	kafka_path
	local port iport b ib pid out i
	read -r port iport <<<"$(python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')"
	b=127.0.0.1:$port ib=127.0.0.1:$iport
	"$SAMSA" serve --data-dir "$WORK/data" --override node.id=1 \
		--override "listeners=PLAINTEXT://$b,INTERNAL://$ib" \
		--override listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT \
		--override inter.broker.listener.name=INTERNAL --override listener.name.internal.max.connections=100 \
		>"$WORK/broker.log" 2>&1 &
	pid=$!
	# shellcheck disable=SC2064
	trap "kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null" EXIT
	for i in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		kill -0 $pid 2>/dev/null || fail "the broker did not start: $(tail -5 "$WORK/broker.log")"
		sleep 0.2
	done
	run kafka-topics --bootstrap-server "$ib" --create --topic kt-limits --partitions 1 --replication-factor 1
	printf '%s\n' request.timeout.ms=3000 default.api.timeout.ms=6000 >"$WORK/short.properties"
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	out=$(run kafka-configs --bootstrap-server "$ib" --alter --entity-type brokers --entity-default \
		--add-config max.connections=1)
	expect_contains "$out" "Completed updating default config for brokers in the cluster." "kafka-configs --alter --entity-default"
	out=$(run kafka-configs --bootstrap-server "$ib" --describe --entity-type brokers --entity-default)
	expect_contains "$out" "max.connections=1" "kafka-configs --describe --entity-default"
	out=$(run kafka-topics --bootstrap-server "$b" --command-config "$WORK/short.properties" --list 2>&1 || true)
	expect_contains "$out" "TimeoutException" "kafka-topics --list through PLAINTEXT at max.connections=1"
	expect_not_contains "$out" "kt-limits" "kafka-topics --list through PLAINTEXT at max.connections=1"
	out=$(run kafka-configs --bootstrap-server "$ib" --alter --entity-type brokers --entity-name 1 \
		--add-config max.connections=100)
	expect_contains "$out" "Completed updating config for broker 1." "kafka-configs --alter --entity-name 1"
	out=$(run kafka-configs --bootstrap-server "$ib" --describe --entity-type brokers --entity-name 1 --all)
	expect_contains "$out" "max.connections=100 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:max.connections=100, DYNAMIC_DEFAULT_BROKER_CONFIG:max.connections=1" \
		"kafka-configs --describe --entity-name 1 --all"
	out=$(run kafka-topics --bootstrap-server "$b" --command-config "$WORK/short.properties" --list)
	expect_eq "$out" "kt-limits" "kafka-topics --list through PLAINTEXT at max.connections=100"
	exec 3>&-
	grep -q 'connection limits changed' "$WORK/broker.log" || fail "the broker did not log the new limits"
}
