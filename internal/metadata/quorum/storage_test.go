package quorum

import (
	"io"
	"log/slog"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// A follower that crashes after installing a snapshot sent by the leader
// but before the Ready's hard state is in raft.log holds a snapshot at
// index i beside a hard state whose commit is below i. The Raft library
// refuses to start from that ("state.commit is out of range"), so the
// node could never start again; the storage raises the hard state to what
// the snapshot proves. Found by the deterministic simulation
// (internal/sim, seed 1 at the time).
func TestOpenAfterCrashBetweenSnapshotAndHardState(t *testing.T) {
	dir := t.TempDir()
	st, _, err := openStorage(nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	cs := &pb.ConfState{Voters: []uint64{1, 2, 3}}
	var ents []*pb.Entry
	for i := uint64(1); i <= 4; i++ {
		ents = append(ents, &pb.Entry{Index: proto.Uint64(i), Term: proto.Uint64(1), Type: pb.EntryNormal.Enum()})
	}
	if err := st.save(&pb.HardState{Term: proto.Uint64(3), Vote: proto.Uint64(2), Commit: proto.Uint64(4)}, ents); err != nil {
		t.Fatal(err)
	}
	snap := &pb.Snapshot{Metadata: &pb.SnapshotMetadata{Index: proto.Uint64(8), Term: proto.Uint64(5), ConfState: cs}, Data: []byte("[]")}
	if err := st.saveSnapshot(snap, true); err != nil {
		t.Fatal(err)
	}
	st.close() // the crash: the hard state of that Ready never written

	fsm := &listFSM{}
	q, err := Open(Config{NodeID: 1, Voters: map[uint64]string{1: "a", 2: "b", 3: "c"}, Dir: dir, FSM: fsm,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	st2 := q.status()
	if st2.Commit < 8 || st2.Term < 5 || st2.Applied != 8 {
		t.Fatalf("after reopen: commit %d term %d applied %d, want commit and applied 8, term 5", st2.Commit, st2.Term, st2.Applied)
	}
}
