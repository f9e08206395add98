package config

import (
	"math"
	"time"
)

// Type is the value type of a setting, named as Kafka's DescribeConfigs
// reports it.
type Type int8

// The config types of KIP-569 (DescribeConfigs v3+ ConfigType).
const (
	TypeBoolean  Type = 1
	TypeString   Type = 2
	TypeInt      Type = 3
	TypeShort    Type = 4
	TypeLong     Type = 5
	TypeDouble   Type = 6
	TypeList     Type = 7
	TypeClass    Type = 8
	TypePassword Type = 9
)

// Key describes one setting.
type Key struct {
	Name    string
	Type    Type
	Default string
	Doc     string
	// Min and Max bound numeric values (inclusive).
	Min, Max int64
	// Enum lists the legal values of a string setting, if it is closed.
	Enum []string
	// Topic is the name of the topic-level override of this broker
	// setting ("" if none), as retention.ms is for log.retention.ms.
	Topic string
	// Inert marks settings accepted for compatibility that Samsa does not
	// act on yet; Unsupported lists those that were set.
	Inert bool
	// ReadOnly settings cannot be changed without a restart.
	ReadOnly bool
}

const (
	maxInt32 = math.MaxInt32
	maxInt64 = math.MaxInt64
)

// Broker is every broker setting Samsa knows.
var Broker = []Key{
	{Name: "node.id", Type: TypeInt, Default: "1", Min: 0, Max: maxInt32, ReadOnly: true, Doc: "This broker's id."},
	{Name: "broker.id", Type: TypeInt, Default: "-1", Min: -1, Max: maxInt32, ReadOnly: true, Doc: "Alias of node.id kept for old configuration files."},
	{Name: "process.roles", Type: TypeList, Default: "broker,controller", ReadOnly: true, Doc: "The node's roles, as in KRaft: broker,controller (a voter of the metadata quorum that also hosts partitions) broker (a broker-only node that follows the quorum as an observer and joins a running cluster by starting), or controller (a controller-only node: a voter, or an observer until kafka-metadata-quorum add-controller, with no broker listener; its controller listener takes the controller APIs from Kafka's tools)."},
	{Name: "controller.quorum.voters", Type: TypeList, Default: "", ReadOnly: true, Doc: "The metadata quorum: id@host:port of every controller, the same list on every node. Empty: this node alone is the quorum (a one-node cluster)."},
	{Name: "controller.quorum.bootstrap.servers", Type: TypeList, Default: "", ReadOnly: true, Doc: "host:port of controllers a node that is not among the voters (a broker-only node, or a controller waiting for kafka-metadata-quorum add-controller) contacts to join, when controller.quorum.voters is not set on it."},
	{Name: "controller.quorum.election.timeout.ms", Type: TypeInt, Default: "1000", Min: 10, Max: maxInt32, ReadOnly: true, Doc: "A controller that hears nothing from a leader this long (plus a random part of it) starts an election."},
	{Name: "controller.quorum.fetch.timeout.ms", Type: TypeInt, Default: "2000", Min: 1, Max: maxInt32, ReadOnly: true, Inert: true, Doc: "Samsa's quorum (Raft) uses the election timeout alone."},
	{Name: "controller.listener.names", Type: TypeList, Default: "CONTROLLER", ReadOnly: true, Doc: "Names of the listeners that carry controller (Raft) traffic; the first one in listeners is used."},
	{Name: "listener.security.protocol.map", Type: TypeList, Default: "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT", ReadOnly: true, Doc: "Listener name to security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), NAME:PROTOCOL,..."},
	{Name: "broker.rack", Type: TypeString, Default: "", ReadOnly: true, Doc: "The rack (or zone) of this broker, shown in Metadata."},
	{Name: "broker.session.timeout.ms", Type: TypeInt, Default: "2000", Min: 1, Max: maxInt32, ReadOnly: true, Doc: "The active controller fences a broker it has not heard from for this long: its partitions get new leaders and it leaves every ISR. Kafka's default is 9000; Samsa's brokers are heard from at every Raft heartbeat (a tenth of controller.quorum.election.timeout.ms), so 2000 is twenty missed heartbeats and failover takes about two seconds."},
	{Name: "broker.heartbeat.interval.ms", Type: TypeInt, Default: "2000", Min: 1, Max: maxInt32, ReadOnly: true, Inert: true, Doc: "Samsa's brokers are heard from through the quorum's own heartbeats (a tenth of controller.quorum.election.timeout.ms)."},
	{Name: "leader.replication.throttled.rate", Type: TypeLong, Default: "9223372036854775807", Min: 0, Max: maxInt64, Doc: "Bytes per second this broker, as a leader, sends to followers of the replicas named in its topics' leader.replication.throttled.replicas (kafka-reassign-partitions --throttle sets both rates)."},
	{Name: "follower.replication.throttled.rate", Type: TypeLong, Default: "9223372036854775807", Min: 0, Max: maxInt64, Doc: "Bytes per second this broker, as a follower, fetches for the replicas named in its topics' follower.replication.throttled.replicas."},
	{Name: "replica.alter.log.dirs.io.max.bytes.per.second", Type: TypeLong, Default: "9223372036854775807", Min: 0, Max: maxInt64, Inert: true, Doc: "Accepted for compatibility; Samsa has one log directory."},
	{Name: "replica.selector.class", Type: TypeString, Default: "", ReadOnly: true, Enum: []string{"", RackAwareReplicaSelector, "org.apache.kafka.common.replica.LeaderSelector"}, Doc: "Consumers that set client.rack read from a follower in their rack (KIP-392) when this is " + RackAwareReplicaSelector + "; empty (the default) or LeaderSelector: consumers read from leaders only."},
	{Name: "replica.lag.time.max.ms", Type: TypeLong, Default: "30000", Min: 1, Max: maxInt64, ReadOnly: true, Doc: "A follower that has not caught up with its leader for this long leaves the ISR."},
	{Name: "controlled.shutdown.enable", Type: TypeBoolean, Default: "true", ReadOnly: true, Doc: "On shutdown, the broker first asks the controller to move the leadership of its partitions to other in-sync replicas and to take it out of their ISRs, so clients move at once. false stops it as if it crashed: the controller fences it when its session ends and elects new leaders then."},
	{Name: "auto.leader.rebalance.enable", Type: TypeBoolean, Default: "true", ReadOnly: true, Doc: "The active controller moves leadership back to each partition's preferred (first) replica when it is in sync, for brokers whose imbalance exceeds leader.imbalance.per.broker.percentage."},
	{Name: "leader.imbalance.check.interval.seconds", Type: TypeLong, Default: "300", Min: 1, Max: maxInt64, ReadOnly: true, Doc: "How often the controller checks leader imbalance."},
	{Name: "leader.imbalance.per.broker.percentage", Type: TypeInt, Default: "10", Min: 0, Max: 100, ReadOnly: true, Doc: "A broker's share of its preferred partitions led elsewhere above which leadership moves back."},
	{Name: "inter.broker.listener.name", Type: TypeString, Default: "", ReadOnly: true, Doc: "The listener brokers use to reach each other (replication, transaction markers, forwarded requests); it must be one of listeners. Empty: the first listener whose protocol is security.inter.broker.protocol, else the first broker listener."},
	{Name: "security.inter.broker.protocol", Type: TypeString, Default: "PLAINTEXT", ReadOnly: true, Doc: "The security protocol of the inter-broker listener when inter.broker.listener.name is not set."},
	{Name: "listeners", Type: TypeList, Default: "PLAINTEXT://127.0.0.1:9092", ReadOnly: true, Doc: "Where the node listens: NAME://host:port,... Each name maps to a security protocol (listener.security.protocol.map); names in controller.listener.names are controller listeners, the others broker listeners."},
	{Name: "advertised.listeners", Type: TypeList, Default: "", ReadOnly: true, Doc: "What clients are told to connect to, per listener name (NAME://host:port,...); a listener not named here advertises its own address."},
	{Name: "log.dirs", Type: TypeList, Default: "", ReadOnly: true, Doc: "Directory holding the logs (the first is used). Defaults to ./samsa-data."},
	{Name: "log.dir", Type: TypeString, Default: "", ReadOnly: true, Doc: "Used when log.dirs is not set."},
	{Name: "cluster.id", Type: TypeString, Default: "", ReadOnly: true, Doc: "Cluster id; generated and stored in meta.properties on first start."},
	{Name: "num.partitions", Type: TypeInt, Default: "1", Min: 1, Max: 100000, Doc: "Partitions of an automatically created topic or of one created without a count."},
	{Name: "default.replication.factor", Type: TypeShort, Default: "1", Min: 1, Max: 32767, Doc: "Replication factor for topics created without one. Until partition replication lands, topics have one replica, placed on one of the cluster's brokers."},
	{Name: "auto.create.topics.enable", Type: TypeBoolean, Default: "true", Doc: "Create a topic when a producer or consumer asks for one that does not exist."},
	{Name: "delete.topic.enable", Type: TypeBoolean, Default: "true", Doc: "Allow DeleteTopics."},
	{Name: "log.segment.bytes", Type: TypeInt, Default: "1073741824", Min: 14, Max: maxInt32, Topic: "segment.bytes", Doc: "Roll a segment when it reaches this size."},
	{Name: "log.roll.ms", Type: TypeLong, Default: "", Min: 1, Max: maxInt64, Topic: "segment.ms", Doc: "Roll a segment older than this; log.roll.hours when unset."},
	{Name: "log.roll.hours", Type: TypeInt, Default: "168", Min: 1, Max: maxInt32, Doc: "Roll a segment older than this many hours."},
	{Name: "log.index.interval.bytes", Type: TypeInt, Default: "4096", Min: 0, Max: maxInt32, Topic: "index.interval.bytes", Doc: "Bytes of log between offset index entries."},
	{Name: "log.index.size.max.bytes", Type: TypeInt, Default: "10485760", Min: 4, Max: maxInt32, Topic: "segment.index.bytes", Doc: "Largest offset or time index; a segment rolls when one would grow past it."},
	{Name: "log.flush.interval.messages", Type: TypeLong, Default: "9223372036854775807", Min: 1, Max: maxInt64, Topic: "flush.messages", Doc: "Fsync a partition after this many messages."},
	{Name: "log.flush.interval.ms", Type: TypeLong, Default: "", Min: 0, Max: maxInt64, Topic: "flush.ms", Doc: "Fsync a partition whose oldest unflushed message is older than this; log.flush.scheduler.interval.ms when unset."},
	{Name: "log.flush.scheduler.interval.ms", Type: TypeLong, Default: "9223372036854775807", Min: 0, Max: maxInt64, Doc: "How often the background flusher checks log.flush.interval.ms."},
	{Name: "log.flush.mode", Type: TypeString, Default: "page-cache", Enum: []string{"page-cache", "group-commit"}, ReadOnly: true, Doc: "Samsa only. page-cache: acks=all is acknowledged once in the page cache (Kafka's default; survives a process crash, not power loss). group-commit: acks=all is acknowledged after an fsync shared by every request waiting at that moment (survives power loss)."},
	{Name: "log.writeback.interval.bytes", Type: TypeLong, Default: "1048576", Min: 0, Max: maxInt64, ReadOnly: true, Doc: "Samsa only. Each time this many bytes were appended to a segment, ask the kernel to start writing them to disk, without waiting. Dirty pages then never pile up to the kernel's writeback threshold, where they would be written in one burst that stalls appends for tens of milliseconds. 0 leaves writeback to the kernel alone."},
	{Name: "log.scrub.bytes.per.second", Type: TypeLong, Default: "8388608", Min: 0, Max: maxInt64, ReadOnly: true, Doc: "Samsa only. The rate at which a background scrub reads the segment bytes that were on disk when the broker started and no read has checked yet, with the checks a first read makes (batch lengths, offsets, CRC32C): damage in data nobody reads is found, logged with its file and position, and counted (samsa_log_corrupt_batches) before a consumer reaches it. 0 turns the scrub off."},
	{Name: "log.dir.min.free.bytes", Type: TypeLong, Default: "-1", Min: -1, Max: maxInt64, ReadOnly: true, Doc: "Samsa only. Free space the log directory keeps: below it (or below 1,024 free inodes) produce and replication writes are refused with KAFKA_STORAGE_ERROR naming the free space, CreateTopics and CreatePartitions refuse partitions that would take the directory below it, and writes resume by themselves once space returns (no restart). A leader refused for space gives up its leadership to another in-sync replica. -1 derives it: 5% of the file system, at most 1 GiB; 0 turns the guard off (then a full disk fails the log's write, as in Kafka)."},
	{Name: "log.max.open.files", Type: TypeInt, Default: "0", Min: 0, Max: maxInt32, ReadOnly: true, Doc: "Samsa only. How many file descriptors segment files may hold at once, shared by every partition: a segment's .log file is opened when an append, a read, a flush or the cleaner needs it and closed when it has been idle longest and the budget is needed (index files hold none: their entries live in memory and are written by opening and closing the file), so partitions are not bounded by descriptors. An operation that finds every descriptor in use fails alone, with an error, and the next one succeeds once descriptors are released. 0 derives it: 60% of the process's open-file limit (the soft RLIMIT_NOFILE, which the Go runtime raises to the hard limit at start), leaving the rest for client connections, connections between brokers, the metadata log and short-lived files; values below 8 count as 8."},
	{Name: "log.retention.hours", Type: TypeInt, Default: "168", Min: -1, Max: maxInt32, Doc: "Delete segments whose newest record is older than this many hours (when log.retention.minutes and log.retention.ms are unset); -1 keeps forever."},
	{Name: "log.retention.minutes", Type: TypeInt, Default: "", Min: -1, Max: maxInt32, Doc: "Retention in minutes; overrides log.retention.hours, overridden by log.retention.ms."},
	{Name: "log.retention.ms", Type: TypeLong, Default: "", Min: -1, Max: maxInt64, Topic: "retention.ms", Doc: "Delete non-active segments whose newest record is older than this (cleanup.policy delete); -1 keeps forever."},
	{Name: "log.retention.bytes", Type: TypeLong, Default: "-1", Min: -1, Max: maxInt64, Topic: "retention.bytes", Doc: "Delete the oldest non-active segments while a partition stays at least this large without them; -1 is unlimited."},
	{Name: "log.retention.check.interval.ms", Type: TypeLong, Default: "300000", Min: 1, Max: maxInt64, ReadOnly: true, Doc: "How often retention runs."},
	{Name: "log.cleanup.policy", Type: TypeList, Default: "delete", Topic: "cleanup.policy", Doc: "delete (retention by time and size), compact (keep the latest record per key), or both."},
	{Name: "log.segment.delete.delay.ms", Type: TypeLong, Default: "60000", Min: 0, Max: maxInt64, Topic: "file.delete.delay.ms", Doc: "How long a deleted segment is kept as .deleted before it is unlinked."},
	{Name: "log.cleaner.enable", Type: TypeBoolean, Default: "true", ReadOnly: true, Doc: "Run the log cleaner for compacted topics."},
	{Name: "log.cleaner.threads", Type: TypeInt, Default: "1", Min: 0, Max: maxInt32, Inert: true, Doc: "Samsa runs one cleaner goroutine."},
	{Name: "log.cleaner.backoff.ms", Type: TypeLong, Default: "15000", Min: 0, Max: maxInt64, Doc: "How long the cleaner sleeps when no log needs cleaning."},
	{Name: "log.cleaner.io.max.bytes.per.second", Type: TypeDouble, Default: "1.7976931348623157E308", Doc: "Cleaner read plus write rate limit."},
	{Name: "log.cleaner.dedupe.buffer.size", Type: TypeLong, Default: "134217728", Min: 0, Max: maxInt64, Doc: "Memory for the cleaner's key map; a pass covers as much of the dirty log as fits (at least one segment)."},
	{Name: "log.cleaner.min.cleanable.ratio", Type: TypeDouble, Default: "0.5", Topic: "min.cleanable.dirty.ratio", Doc: "Clean a log when its dirty bytes reach this share of its cleanable bytes."},
	{Name: "log.cleaner.delete.retention.ms", Type: TypeLong, Default: "86400000", Min: 0, Max: maxInt64, Topic: "delete.retention.ms", Doc: "How long tombstones survive compaction after the cleaner first sees them."},
	{Name: "log.cleaner.min.compaction.lag.ms", Type: TypeLong, Default: "0", Min: 0, Max: maxInt64, Topic: "min.compaction.lag.ms", Doc: "Records younger than this are not compacted."},
	{Name: "log.cleaner.max.compaction.lag.ms", Type: TypeLong, Default: "9223372036854775807", Min: 1, Max: maxInt64, Topic: "max.compaction.lag.ms", Doc: "Clean a log whatever its dirty ratio once a dirty record is older than this."},
	{Name: "message.max.bytes", Type: TypeInt, Default: "1048588", Min: 0, Max: maxInt32, Topic: "max.message.bytes", Doc: "Largest record batch the broker accepts."},
	{Name: "log.message.timestamp.type", Type: TypeString, Default: "CreateTime", Enum: []string{"CreateTime", "LogAppendTime"}, Topic: "message.timestamp.type", Doc: "Whether records keep the producer's timestamp or get the broker's."},
	{Name: "compression.type", Type: TypeString, Default: "producer", Enum: []string{"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"}, Topic: "compression.type", Inert: true, Doc: "Only producer (keep what the producer sent) is applied so far."},
	{Name: "unclean.leader.election.enable", Type: TypeBoolean, Default: "false", Topic: "unclean.leader.election.enable", Doc: "When every in-sync replica of a partition is gone, let a live replica outside the ISR lead (the partition comes back, records only the lost ISR had are lost). Off: the partition waits for an ISR member."},
	{Name: "min.insync.replicas", Type: TypeInt, Default: "1", Min: 1, Max: maxInt32, Topic: "min.insync.replicas", Doc: "An acks=all produce is refused (NOT_ENOUGH_REPLICAS) while fewer replicas than this are in sync, and answered once every in-sync replica has the records."},
	{Name: "socket.request.max.bytes", Type: TypeInt, Default: "104857600", Min: 1, Max: maxInt32, ReadOnly: true, Doc: "Largest request frame; bigger frames close the connection before any allocation."},
	{Name: "socket.send.buffer.bytes", Type: TypeInt, Default: "102400", Min: -1, Max: maxInt32, ReadOnly: true, Doc: "SO_SNDBUF of client connections; -1 keeps the OS default."},
	{Name: "socket.receive.buffer.bytes", Type: TypeInt, Default: "102400", Min: -1, Max: maxInt32, ReadOnly: true, Doc: "SO_RCVBUF of client connections; -1 keeps the OS default."},
	{Name: "queued.max.request.bytes", Type: TypeLong, Default: "536870912", Min: -1, Max: maxInt64, ReadOnly: true, Doc: "Request bytes read but not yet answered, across all connections; reading stops while the total is over it (one request is always admitted). Kafka's default is -1 (no bound); Samsa bounds it at 512 MiB by default. -1 removes the bound."},
	{Name: "queued.max.requests", Type: TypeInt, Default: "500", Min: 1, Max: maxInt32, ReadOnly: true, Doc: "Requests read but not yet answered, per connection in Samsa; reading stops while the queue is full."},
	{Name: "max.connections", Type: TypeInt, Default: "2147483647", Min: 0, Max: maxInt32, Doc: "Connections open at once on the broker listeners; at the limit, accepting waits until one closes. Dynamic: changes apply to the next connection accepted."},
	{Name: "connections.max.idle.ms", Type: TypeLong, Default: "600000", Min: 0, Max: maxInt64, ReadOnly: true, Doc: "Close connections idle this long."},
	{Name: "num.network.threads", Type: TypeInt, Default: "3", Min: 1, Max: maxInt32, Inert: true, ReadOnly: true, Doc: "Go schedules connections itself; accepted for compatibility."},
	{Name: "num.io.threads", Type: TypeInt, Default: "8", Min: 1, Max: maxInt32, Inert: true, ReadOnly: true, Doc: "Go schedules requests itself; accepted for compatibility."},
	{Name: "num.recovery.threads.per.data.dir", Type: TypeInt, Default: "1", Min: 1, Max: maxInt32, Inert: true, ReadOnly: true, Doc: "Accepted for compatibility: Samsa opens and recovers logs on one goroutine per core."},
	{Name: "offsets.topic.replication.factor", Type: TypeShort, Default: "3", Min: 1, Max: 32767, Doc: "Replication factor of __consumer_offsets when it is created, or the number of live brokers if that is smaller (Kafka refuses group requests until enough brokers exist; Samsa creates the topic with what the cluster has, so one node works)."},
	{Name: "offsets.topic.num.partitions", Type: TypeInt, Default: "50", Min: 1, Max: 100000, ReadOnly: true, Doc: "Partitions of __consumer_offsets when it is created; a group's offsets live in partition abs(hash(group.id)) % this."},
	{Name: "offsets.retention.minutes", Type: TypeInt, Default: "10080", Min: 1, Max: maxInt32, Doc: "Committed offsets of a group with no members are deleted this long after the group became empty (or after the last commit, if later)."},
	{Name: "offsets.retention.check.interval.ms", Type: TypeLong, Default: "600000", Min: 1, Max: maxInt64, Doc: "How often expired offsets are looked for."},
	{Name: "offset.metadata.max.bytes", Type: TypeInt, Default: "4096", Min: 0, Max: maxInt32, Doc: "Largest metadata string of a committed offset."},
	{Name: "transaction.state.log.replication.factor", Type: TypeShort, Default: "3", Min: 1, Max: 32767, Doc: "Replication factor of __transaction_state when it is created, or the number of brokers the cluster is configured with if that is smaller (so one node works)."},
	{Name: "transaction.state.log.min.isr", Type: TypeInt, Default: "2", Min: 1, Max: maxInt32, Doc: "min.insync.replicas of __transaction_state, capped at its replication factor."},
	{Name: "transaction.state.log.num.partitions", Type: TypeInt, Default: "50", Min: 1, Max: 100000, ReadOnly: true, Doc: "Partitions of __transaction_state when it is created; a transactional id lives in partition abs(hash(transactional.id)) % this."},
	{Name: "transaction.max.timeout.ms", Type: TypeInt, Default: "900000", Min: 1, Max: maxInt32, Doc: "Largest transaction.timeout.ms a producer may ask for; InitProducerId with more is INVALID_TRANSACTION_TIMEOUT."},
	{Name: "transactional.id.expiration.ms", Type: TypeInt, Default: "604800000", Min: 1, Max: maxInt32, Doc: "A transactional id with no transaction for this long is forgotten (its producer id and epoch with it)."},
	{Name: "transaction.abort.timed.out.transaction.cleanup.interval.ms", Type: TypeInt, Default: "10000", Min: 1, Max: maxInt32, Doc: "How often transactions past their timeout are looked for and aborted (their producer fenced)."},
	{Name: "transaction.remove.expired.transaction.cleanup.interval.ms", Type: TypeInt, Default: "3600000", Min: 1, Max: maxInt32, Doc: "How often expired transactional ids are looked for."},
	{Name: "group.initial.rebalance.delay.ms", Type: TypeInt, Default: "3000", Min: 0, Max: maxInt32, Doc: "How long the first rebalance of an empty group waits for more members to join (extended by each join, up to the rebalance timeout)."},
	{Name: "group.min.session.timeout.ms", Type: TypeInt, Default: "6000", Min: 0, Max: maxInt32, Doc: "Smallest session timeout a group member may ask for."},
	{Name: "group.max.session.timeout.ms", Type: TypeInt, Default: "1800000", Min: 0, Max: maxInt32, Doc: "Largest session timeout a group member may ask for."},
	{Name: "group.max.size", Type: TypeInt, Default: "2147483647", Min: 1, Max: maxInt32, Doc: "Most members a consumer group may have."},
	{Name: "group.consumer.heartbeat.interval.ms", Type: TypeInt, Default: "5000", Min: 1, Max: maxInt32, Doc: "Heartbeat interval the coordinator gives KIP-848 (group.protocol=consumer) members."},
	{Name: "group.consumer.session.timeout.ms", Type: TypeInt, Default: "45000", Min: 1, Max: maxInt32, Doc: "A KIP-848 member that has not heartbeaten for this long is removed from its group."},
	{Name: "producer.id.expiration.ms", Type: TypeInt, Default: "86400000", Min: 1, Max: maxInt32, Inert: true, Doc: "Idle producer ids are kept; expiry arrives with retention."},
	{Name: "max.incremental.fetch.session.cache.slots", Type: TypeInt, Default: "1000", Min: 0, Max: maxInt32, ReadOnly: true, Doc: "Fetch sessions (KIP-227) kept at once."},
	{Name: "fetch.max.bytes", Type: TypeInt, Default: "57671680", Min: 0, Max: maxInt32, Doc: "Largest fetch response, whatever the client asks."},
	{Name: "authorizer.class.name", Type: TypeString, Default: "", ReadOnly: true, Enum: []string{"", StandardAuthorizer, AclAuthorizer},
		Doc: "The authorizer: empty (the default) authorizes nothing, every request is allowed and the ACL APIs answer SECURITY_DISABLED, as Kafka without an authorizer. " + StandardAuthorizer + " (or Kafka's legacy " + AclAuthorizer + ") turns on Samsa's ACLs, with Kafka's StandardAuthorizer semantics: every request is checked against the ACLs kept in the metadata log (kafka-acls.sh, samsa acl)."},
	{Name: "super.users", Type: TypeString, Default: "", ReadOnly: true, Doc: "Principals allowed everything whatever the ACLs say, separated by semicolons: User:admin;User:broker."},
	{Name: "allow.everyone.if.no.acl.found", Type: TypeBoolean, Default: "false", ReadOnly: true, Doc: "With an authorizer: allow an operation on a resource that no ACL applies to at all (a resource with ACLs, even for other principals, is governed by them alone)."},
	{Name: "samsa.authorizer.audit.log", Type: TypeBoolean, Default: "false", ReadOnly: true, Doc: "Samsa only. Log every authorization decision at INFO (principal, client address, operation, resource, result, rule). Off, as Kafka's kafka.authorizer.logger: denials of what a request names are logged at INFO, allowed ones at DEBUG."},
}

// The authorizer.class.name values that turn on Samsa's authorizer: Kafka's
// KRaft authorizer and its legacy ZooKeeper-era one.
const (
	StandardAuthorizer = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
	AclAuthorizer      = "kafka.security.authorizer.AclAuthorizer"
)

// RackAwareReplicaSelector is the replica.selector.class value that turns on
// follower fetching by rack (Kafka's class name).
const RackAwareReplicaSelector = "org.apache.kafka.common.replica.RackAwareReplicaSelector"

// topicOnly are topic settings with no broker counterpart in Broker.
var topicOnly = []Key{
	{Name: "preallocate", Type: TypeBoolean, Default: "false", Inert: true},
	{Name: "message.timestamp.before.max.ms", Type: TypeLong, Default: "9223372036854775807", Min: 0, Max: maxInt64, Inert: true},
	{Name: "message.timestamp.after.max.ms", Type: TypeLong, Default: "3600000", Min: 0, Max: maxInt64, Inert: true},
	{Name: "local.retention.ms", Type: TypeLong, Default: "-2", Min: -2, Max: maxInt64, Inert: true, Doc: "Reserved for tiered storage."},
	{Name: "local.retention.bytes", Type: TypeLong, Default: "-2", Min: -2, Max: maxInt64, Inert: true, Doc: "Reserved for tiered storage."},
	{Name: "remote.storage.enable", Type: TypeBoolean, Default: "false", Inert: true, Doc: "Reserved for tiered storage."},
	{Name: "message.downconversion.enable", Type: TypeBoolean, Default: "true", Inert: true},
	{Name: "follower.replication.throttled.replicas", Type: TypeList, Default: "", Doc: "partition:broker pairs (or *) whose follower's fetching counts against that broker's follower.replication.throttled.rate."},
	{Name: "leader.replication.throttled.replicas", Type: TypeList, Default: "", Doc: "partition:broker pairs (or *) whose replication from the leader counts against the leader's leader.replication.throttled.rate."},
}

var (
	brokerByName = map[string]*Key{}
	topicByName  = map[string]*Key{}
	// topicToBroker maps a topic setting to the broker setting that
	// supplies its default.
	topicToBroker = map[string]string{}
)

func init() {
	Broker = append(Broker, securityKeys...)
	Broker = append(Broker, quotaKeys...)
	for i := range Broker {
		k := &Broker[i]
		brokerByName[k.Name] = k
		if k.Topic != "" {
			tk := *k
			tk.Name = k.Topic
			tk.Topic = ""
			tk.ReadOnly = false
			topicByName[tk.Name] = &tk
			topicToBroker[tk.Name] = k.Name
		}
	}
	for i := range topicOnly {
		topicByName[topicOnly[i].Name] = &topicOnly[i]
	}
}

// LookupBroker returns the description of a broker setting.
// A listener's own connection limits (listener.name.<l>.max.connections,
// listener.name.<l>.max.connection.creation.rate) are broker settings
// too, described by the setting they override.
func LookupBroker(name string) (*Key, bool) {
	if k, ok := brokerByName[name]; ok {
		return k, true
	}
	return listenerQuotaKey(name)
}

// LookupTopic returns the description of a topic setting.
func LookupTopic(name string) (*Key, bool) { k, ok := topicByName[name]; return k, ok }

// BrokerSynonym returns the broker setting whose value a topic setting
// inherits ("" if none).
func BrokerSynonym(topicKey string) string { return topicToBroker[topicKey] }

// TopicKeys returns every topic setting name.
func TopicKeys() []string {
	out := make([]string, 0, len(topicByName))
	for n := range topicByName {
		out = append(out, n)
	}
	return out
}

func ms(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
