// Package sim is a seeded, deterministic simulation of a Samsa cluster's
// metadata quorum: three (or more) combined controller+broker nodes run
// the production code of internal/metadata (the Store, its state machine,
// the controller's planners and the active controller's liveness check)
// over internal/metadata/quorum (the adapter of go.etcd.io/raft/v3, its
// storage format and Ready handling), on one goroutine, with the clock,
// the network and the disk replaced:
//
//   - the clock is the simulator's: nodes tick every tenth of the election
//     timeout (with a little drift), and quorum.Config.Now reads it;
//   - the network is a seeded priority queue of marshalled Raft messages:
//     delays, reordering, loss, duplication, partitions between node sets,
//     isolated nodes, and delivery reports as the TCP transport makes them;
//   - the disk is memFS, which keeps what a process sees apart from what
//     survives a power cut (file contents up to their last fsync,
//     directory entries up to their directory's last fsync) and can crash
//     the process inside its n-th next disk operation, leaving a torn
//     write.
//
// A run injects process crashes, power cuts, crashes inside disk
// operations, paused processes, network partitions, lossy stretches and
// membership changes (a voter removed, admitted again as a learner by the
// leader as an observer is, made a voter again) while the nodes register as brokers and issue controller
// operations (create and delete topics, add partitions, AlterPartition, a
// replica resigning a failed log, reassignments, producer-id blocks,
// unregistering a broker that is down, controlled shutdowns that hand the
// quorum's leadership on), and the active controller fences and unfences
// brokers, elects leaders and completes reassignments. Then every
// fault heals and the cluster must converge. After every event, the
// checker (check.go) verifies: one Raft leader per term; every node
// applies the same entry at each index, in order (a committed entry never
// changes); images at one index are equal and a published image never
// changes; each partition's ISR is non-empty, within its replicas, holds a
// fenced broker only as its last member, and contains a leader that is
// not fenced; one leader per partition leader epoch; epochs never go
// backwards; no fenced broker joins an ISR; a new leader comes from the
// previous ISR.
//
// With Config.Dir (TestSimReplication), the nodes also host their
// partition replicas (replication.go): real storage.Log files and the
// real partition.Partition (high watermark, ISR changes asked of the
// simulated controller, truncation by leader epoch), with the follower's
// fetcher and the leader's side of Fetch and OffsetForLeaderEpoch played
// by the simulation over its network; producers write with acks=all. Then
// also: a leader's high watermark never goes back within its leadership,
// a batch below any leader's high watermark never changes at its offset,
// and once the cluster converged every acknowledged record is at its
// offset in the leader's log and every replica's log is the leader's.
//
// Everything random comes from the seed: the simulator's math/rand/v2 PCG
// and, through testing/cryptotest in the tests, crypto/rand (which the
// Raft library uses for its election jitter and the controller for topic
// ids), so a seed replays exactly: go test ./internal/sim -run 'TestSim$'
// -seed N (or 'TestSimReplication$'). docs/reliability.md says what is
// and is not covered, with the figures.
package sim
