// Package quorum replicates the metadata log with the Raft implementation of
// go.etcd.io/raft/v3. It owns the Raft node, its durable storage and the
// transport between controllers; it knows nothing of what the entries mean.
// The metadata Store above it proposes entries and applies the committed
// ones (the FSM interface), exactly as Kafka's KRaft controllers replicate
// __cluster_metadata. The Raft algorithm itself is the library's: this
// package only feeds it ticks, messages and proposals and carries out its
// Ready instructions in the order the library requires (persist, send,
// apply, advance).
//
// One goroutine (run) owns the raft.RawNode; everything reaches it through
// bounded channels, so the node's state has a single owner and no lock.
//
// Members are voters or learners (Kafka's observers: broker-only nodes, and
// controllers waiting to be made voters). A learner dials the voters and
// takes their messages over the same connections; the leader admits the
// learners connected to it. The membership lives in the log and changes
// through it (ChangeVoter), one change at a time, and the transport follows
// it (membershipChanged).
//
// Invariants:
//   - Entries and the hard state of a Ready are written and fsynced before
//     its messages are sent and before Advance.
//   - FSM.Apply sees every committed normal entry exactly once per process,
//     in index order; after a restart, entries up to the durable commit
//     index are applied by Open, before Start.
//   - A snapshot file is written whole (temporary file, fsync, rename)
//     before the log file is cut to what follows it; every membership
//     change is followed by a snapshot, so a learner sent one is in it.
//   - A panic of the Raft library fails this member (as a storage error
//     does), never the process; a heartbeat that commits past this node's
//     log (lost entries) is dropped and the leader told, not stepped.
//
// The on-disk format is in docs/format/raft.md.
package quorum
