// Package group is the consumer group coordinator: Kafka's classic group
// protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), committed
// offsets (OffsetCommit, OffsetFetch, OffsetDelete, and TxnOffsetCommit
// for transactions) and group
// administration (ListGroups, DescribeGroups, DeleteGroups), and the
// KIP-848 consumer protocol (ConsumerGroupHeartbeat, ConsumerGroupDescribe)
// with server-side assignors. Committed offsets, classic group metadata and
// KIP-848 consumer groups (epochs, members, target and current
// assignments) are stored in the internal compacted topic
// __consumer_offsets in Kafka's own record schemas
// (docs/format/consumer-offsets.md).
//
// # Two layers
//
// Coordinator is a deterministic state machine in the style of etcd raft
// and Kafka's coordinator shards: no goroutines, no clock, no I/O. Every
// method takes the current time and returns an Out: batches of records to
// append to __consumer_offsets (each with an ID) and responses to send.
// When an append is durable the caller says so with AppendDone(ID), which
// applies the change (offsets become visible, the group turns Stable) and
// releases the responses that waited for it. Requests that wait (JoinGroup,
// SyncGroup, and every request that writes) carry a Caller that the
// Coordinator hands back in a Reply; it never calls it. Tick(now) runs
// timers; NextDeadline says when Tick next has work. Replay rebuilds the
// state from the records of __consumer_offsets at start-up.
//
// Runtime drives a Coordinator inside the broker. It is the only place
// with goroutines and a clock; its threading rules are on the type: one
// mutex serializes the state machine and the appends (so records reach the
// log in the order the state machine produced them), and one goroutine
// owns the timer, the start-up load and completions from the group-commit
// flusher. __consumer_offsets is created on the first FindCoordinator for
// a group (as Kafka does), with offsets.topic.num.partitions partitions; a
// group lives in partition abs(javaHashCode(groupId)) % partitions.
//
// # Durability
//
// An OffsetCommit, a TxnOffsetCommit, the leader's SyncGroup, DeleteGroups,
// OffsetDelete and a ConsumerGroupHeartbeat that wrote records are
// answered only from
// AppendDone, i.e. when partition.Append calls done:
// in log.flush.mode=group-commit after an fsync covering the batch, in
// page-cache mode once the batch is in the page cache (survives kill -9,
// not power loss: Kafka's behaviour). A commit is visible to OffsetFetch
// only once durable; OffsetFetch with RequireStable answers
// UNSTABLE_OFFSET_COMMIT for a partition with a commit in flight.
//
// # Semantics (Kafka's ClassicGroup, checked against GroupMetadataManager)
//
//   - States Empty, PreparingRebalance, CompletingRebalance, Stable, Dead.
//     A join to an Empty group waits group.initial.rebalance.delay.ms,
//     extended by the same delay while new members keep arriving, up to the
//     largest rebalance timeout. Later rebalances complete as soon as every
//     member has rejoined and no KIP-394 member id is outstanding, or at
//     the rebalance timeout, dropping the members that did not rejoin.
//   - KIP-394: a JoinGroup v4+ without a member id (and without
//     group.instance.id) gets MEMBER_ID_REQUIRED and a new id; that id must
//     join within the session timeout or is forgotten.
//   - KIP-345 static members: a join with a known group.instance.id and no
//     member id replaces the old member (its waiting JoinGroup/SyncGroup get
//     FENCED_INSTANCE_ID). In a Stable group with unchanged protocols it
//     gets the current assignment back without a rebalance (a static leader
//     with JoinGroup v9 gets skip_assignment, earlier versions rebalance).
//     Requests that name an instance id with a different member id are
//     FENCED_INSTANCE_ID.
//   - Session timeouts: a member is removed when it has not heartbeaten (or
//     joined, synced, committed... only heartbeats, joins and syncs count)
//     within its session timeout, unless it waits in a join or sync; a new
//     member waiting in its first join gets NewMemberJoinTimeout (5 min).
//     Members that have not sent SyncGroup when the rebalance timeout
//     passes after the join completed are removed and the group
//     rebalances.
//   - Protocol selection: candidates are the protocols every member
//     supports; each member votes for its first candidate; most votes win,
//     ties to the candidate the first member lists first.
//   - OffsetCommit: generation -1 with no member id commits to an Empty or
//     unknown group (admin tools, manual assignment); otherwise the member
//     and generation must match (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
//     FENCED_INSTANCE_ID) and a CompletingRebalance group answers
//     REBALANCE_IN_PROGRESS. Unknown partitions get
//     UNKNOWN_TOPIC_OR_PARTITION; metadata over offset.metadata.max.bytes
//     OFFSET_METADATA_TOO_LARGE.
//   - Offsets of a deleted topic are deleted (tombstones) when the topic is
//     (a metadata observer), and at start-up for topics gone meanwhile.
//     Offsets of a group with no members expire offsets.retention.minutes
//     after the later of the group becoming empty and their commit; a group
//     left with no offsets is deleted.
//
// # Non-obvious invariants
//
//   - Request frames are pooled by the broker and reused once the response
//     is written, so every byte slice kept from a request (protocol
//     metadata, assignments) is copied.
//   - An append's completion may run inside partition.Append (page-cache
//     mode), i.e. under Runtime.mu: completions only queue; performLocked
//     drains the queue before releasing mu, so page-cache commits are
//     answered without a goroutine hop and in order.
//   - A group's records all go to one partition, so their order in the log
//     is the order the state machine produced them; replay applies them in
//     log order per partition and groups never span partitions.
//   - Member ids are clientId-<nonce>-<n> with a random nonce per broker
//     start, so an id from before a restart is never handed out again.
//   - A ConsumerGroupHeartbeat that wrote nothing is still answered only
//     once the appends to its partition in flight are durable
//     (afterDurable): its answer may rest on state a heartbeat before it
//     wrote, as Kafka completes a write without records only once the
//     partition's earlier records are committed.
//   - KIP-848 state changes in memory when a heartbeat is handled, not when
//     its records are durable; a failed append answers
//     COORDINATOR_NOT_AVAILABLE without rolling the state back (the log
//     stops on a write error, see partition.Append), and the member is sent
//     its whole assignment again.
//
// # KIP-848 consumer groups (consumer.go, assignor.go)
//
// ConsumerGroupHeartbeat v0-v1 and ConsumerGroupDescribe v0-v1. A group
// is classic or consumer by who is in it: an empty group becomes whichever
// kind joins first; JoinGroup to a consumer group with members is
// INCONSISTENT_GROUP_PROTOCOL, a heartbeat to a classic group with members
// GROUP_ID_NOT_FOUND, classic DescribeGroups of a consumer group answers
// as Kafka does (Dead; from v6 GROUP_ID_NOT_FOUND "is not a classic
// group"). The group epoch moves (once per heartbeat) when a member joins,
// leaves or is fenced, a subscription (names or RE2 regex, matched against
// whole topic names) changes, or a subscribed topic gains partitions; the
// target assignment is then recomputed by the assignor most members ask
// for: uniform (default; sticky, counts differ by at most one for equal
// subscriptions) or range (per topic, contiguous ranges by member id).
// Reconciliation follows KIP-848: partitions leaving a member are revoked
// first, its epoch held until it reports it no longer owns them (or it is
// fenced after its rebalance timeout); then it takes the new epoch and the
// partitions of its target no other member still holds, the rest on later
// heartbeats. Session timeout group.consumer.session.timeout.ms, heartbeat
// interval group.consumer.heartbeat.interval.ms. OffsetCommit from a
// consumer group member carries its member epoch: unknown member
// UNKNOWN_MEMBER_ID, an epoch other than its current or previous one
// STALE_MEMBER_EPOCH. A member changing its assignor moves the epoch too;
// the group's assignor (used and described) is the one most members ask
// for.
//
// Persistence (consumer_store.go, records_consumer.go): a heartbeat writes
// Kafka's ConsumerGroup* records for what it changed (member metadata,
// group epoch with a hash of the subscribed topics, target assignment,
// the member's current assignment) and nothing when nothing changed; a
// member leaving or expiring leaves tombstones. Replay rebuilds members,
// epochs, revocations and targets, resolving topic ids through the
// metadata image, so after a restart members carry on with the same ids
// and epochs. Kafka's type 4 (partition metadata, replaced in 4.1 by the
// hash) and 16 (regex cache) are not written.
//
// # Transactional offset commits (txn.go)
//
// As Kafka's OffsetMetadataManager. A TxnOffsetCommit writes Kafka's
// offset commit records (the same key and value as OffsetCommit) in one
// transactional batch of the request's producer id and epoch (no
// sequence; Append.Producer, written with partition.AppendCoordinator so
// the log checks the epoch: a fenced producer gets
// INVALID_PRODUCER_EPOCH) and is answered once that batch is durable. The
// offsets are then pending for (group, producer id): OffsetFetch does not
// show them (it answers the last committed offset) and with require_stable
// answers UNSTABLE_OFFSET_COMMIT for their partitions. The broker calls
// CompleteTxn(partition, producer id, commit) once a transaction marker
// of that producer is durable on the group's partition: a commit makes
// the producer's pending offsets of that partition committed, each unless
// the committed offset was written later in the log (Kafka compares the
// records' log offsets, kept for every offset: Appended gives them for
// live appends), an abort drops them. Replay (WalkLog, ReplayEntry) does
// the same from the log: records of transactional batches are pending
// until their producer's marker, and what is still pending at the end of
// the load stays pending (its marker comes later, through CompleteTxn; a
// marker reported while its partition loads is applied when the load
// finishes).
//
// Checks: unknown partitions UNKNOWN_TOPIC_OR_PARTITION (whatever else),
// metadata over offset.metadata.max.bytes OFFSET_METADATA_TOO_LARGE, not
// coordinator / loading as OffsetCommit (v0-v1 get
// COORDINATOR_NOT_AVAILABLE for COORDINATOR_LOAD_IN_PROGRESS). KIP-447
// (v3+): without member id, generation and instance id anyone may commit
// to any group, and a group that does not exist is created empty (with a
// generation: ILLEGAL_GENERATION); with them they must name a current
// member and generation (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
// FENCED_INSTANCE_ID), with no REBALANCE_IN_PROGRESS; for a KIP-848
// group the generation is the member epoch and a stale one
// ILLEGAL_GENERATION (Kafka maps STALE_MEMBER_EPOCH so for this API).
//
// A group with pending transactional offsets (or one being written) is
// not deleted when empty nor at load, and its pending partitions do not
// expire; DeleteGroups deletes an empty one as Kafka does, with
// tombstones for its pending partitions too, and OffsetDelete and a
// deleted topic write tombstones for pending partitions: a tombstone
// ends pending offsets, live and on replay (a transactional commit in
// flight across a tombstone is dropped when it completes, as the replay
// drops it).
//
// # Figures (2-vCPU VM, broker and clients on one machine)
//
//	go test ./internal/broker -run RebalanceTime -v
//	  10 franz-go consumers own all 100 partitions 26-49 ms (range) /
//	  120-245 ms (cooperative-sticky) after they start (initial delay 0);
//	  an 11th member joining rebalances the group in 100 ms (range,
//	  eager) / 104-208 ms (cooperative-sticky), i.e. one or two heartbeat
//	  intervals (100 ms in the test; members learn of a rebalance from
//	  their next heartbeat, 3 s by default, as with Kafka).
//	go test ./internal/broker -run XXX -bench OffsetCommit -benchtime 3s
//	  one group, 16 concurrent committers of one offset each:
//	  28k-36k commits/s in page-cache mode, 5.7k-11.5k commits/s in
//	  group-commit mode (every commit waits for its fsync).
//	samsa bench produce --throughput 20000 (1 KiB, acks=all) alone and
//	with 10k commits/s on one group from 16 committers (another process):
//	  produce p50/p99 3.36/7.24 ms alone, 3.67/7.70 ms with the commits,
//	  which all completed (9,999/s). Unthrottled, the three processes
//	  share the 2 cores: produce fell from 187k-365k to 139k-156k rec/s.
//
// # Not done yet
//
//   - No migration between protocols while members are in a group (Kafka's
//     group.consumer.migration.policy); static KIP-848 members are replaced,
//     not kept across a -2 leave; no rack-aware assignment.
//   - Share groups (KIP-932) and streams groups (KIP-1071).
package group
