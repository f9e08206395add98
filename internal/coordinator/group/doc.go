// Package group is the consumer group coordinator: Kafka's classic group
// protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), committed
// offsets (OffsetCommit, OffsetFetch, OffsetDelete) and group
// administration (ListGroups, DescribeGroups, DeleteGroups), with every
// change stored in the internal compacted topic __consumer_offsets in
// Kafka's own record schemas (docs/format/consumer-offsets.md).
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
// An OffsetCommit, the leader's SyncGroup, DeleteGroups and OffsetDelete
// are answered only from AppendDone, i.e. when partition.Append calls done:
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
//
// # Not done yet
//
// KIP-848 (ConsumerGroupHeartbeat, ConsumerGroupDescribe, server-side
// assignors) is not implemented: ListGroups reports every group as
// "classic" and the new APIs are not advertised, so Java clients with
// group.protocol=consumer fail at start; use group.protocol=classic.
// Transactional offset commits (TxnOffsetCommit) come with transactions.
package group
