package quorum

import (
	"errors"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// A node opened with Config.Send is driven by its caller instead of its
// own goroutine: each method below is one input (a tick, a message, a
// proposal, a delivery report) followed by the Ready handling the run loop
// does after every input, on the caller's goroutine. The calls are the run
// loop's own (tick, receive, proposeData, reported, ready), so a driver
// runs the production code path, minus the TCP transport and the
// timer. Never mixed with Start; never called concurrently.

// Tick is one Raft tick (a tenth of the election timeout) and the node's
// periodic duties.
func (q *Quorum) Tick() {
	q.guard(q.tick)
	q.settle()
}

// Step delivers a message from another node.
func (q *Quorum) Step(m *pb.Message) {
	if q.heard == nil {
		q.heard = map[uint64]time.Time{}
	}
	q.heard[m.GetFrom()] = q.cfg.Now()
	q.guard(func() { q.receive(m) })
	q.settle()
}

// ProposeStep hands data to Raft, as Propose does: nil means this node (a
// leader, or a follower that forwarded it) took it, not that it commits.
func (q *Quorum) ProposeStep(data []byte) error {
	err := q.proposeData(data)
	q.settle()
	return err
}

// ReportStep tells the node whether a message it sent to id reached it
// (snapshot: the message was a snapshot), as the transport does when a
// connection fails or a snapshot was written.
func (q *Quorum) ReportStep(id uint64, snapshot, ok bool) {
	q.guard(func() { q.reported(report{id: id, snapshot: snapshot, ok: ok}) })
	q.settle()
}

// Failed is the error that stopped this node taking part (a storage
// error, or an inconsistency the Raft library refused), nil if none.
func (q *Quorum) Failed() error { return q.failed }

// settle carries out the pending Readies and publishes the basic status,
// as the run loop does before it waits for the next input.
func (q *Quorum) settle() {
	q.guard(q.ready)
	q.publishBasic()
}

// TransferStep asks this node, if it leads, to hand its leadership to
// voter to, as TransferLeadership does.
func (q *Quorum) TransferStep(to uint64) {
	q.guard(func() { q.rn.TransferLeader(to) })
	q.settle()
}

// ConfChangeStep proposes a membership change of node id, as ChangeVoter
// and the leader's admission of observers do: typ adds it as a learner,
// makes a learner a voter, or removes it. A nil error means the leader
// (this node or the one it forwards to) took it, not that it applies.
func (q *Quorum) ConfChangeStep(id uint64, typ pb.ConfChangeType) error {
	var err error
	q.guard(func() { err = q.rn.ProposeConfChange(&pb.ConfChange{Type: typ.Enum(), NodeId: &id}) })
	if q.failed != nil {
		err = q.failed
	}
	if errors.Is(err, raft.ErrProposalDropped) {
		err = ErrNoLeader
	}
	q.settle()
	return err
}
