package quorum

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Errors of Propose.
var (
	// ErrNoLeader: the quorum has no leader right now (an election is
	// running, or this node cannot reach a majority); retry later.
	ErrNoLeader = errors.New("the metadata quorum has no leader")
	// ErrClosed: the quorum was closed.
	ErrClosed = errors.New("the metadata quorum is closed")
	// ErrFailed: this node stopped taking part in the quorum (a storage
	// error, or an inconsistency the Raft library refused to go on with).
	ErrFailed = errors.New("this node's metadata quorum member has failed")
)

// FSM is the state machine the quorum replicates. Its methods are called on
// the quorum's goroutine, one at a time, never concurrently; they must not
// call back into the Quorum's blocking methods (Propose).
type FSM interface {
	// Apply applies one committed entry's data. index is its position in
	// the Raft log; every node applies the same data at the same index.
	Apply(index uint64, data []byte)
	// Snapshot returns the state after everything applied so far.
	Snapshot() ([]byte, error)
	// Restore replaces the state with a snapshot's (taken by Snapshot on
	// some node at index).
	Restore(index uint64, data []byte) error
}

// Config configures a Quorum.
type Config struct {
	NodeID    uint64
	ClusterID string
	// Voters maps each voter's node id to its controller address. A single
	// voter that is this node needs no address: nothing is sent.
	Voters map[uint64]string
	// Listen is this node's controller listener ("" for a single voter
	// that admits no learners, and for a learner).
	Listen string
	// Learner makes this node a Raft learner (Kafka's observer, a
	// broker-only node): it replicates and applies the log, forwards
	// proposals to the leader, and never votes. It dials the voters (or
	// Bootstrap) and the leader admits it on its first connection.
	Learner bool
	// Bootstrap lists controller addresses for a learner whose Voters are
	// not given (controller.quorum.bootstrap.servers).
	Bootstrap []string
	// Resolve returns the controller address of voter id as the metadata
	// knows it (a voter added later registers it there); "" falls back to
	// Voters. It is called on the quorum's goroutine.
	Resolve func(id uint64) string
	// LearnerExpiry: a learner not connected to the leader this long
	// leaves the membership (it is admitted again when it connects), so
	// the observers are the broker-only nodes that are there. 0: a minute.
	LearnerExpiry time.Duration
	// Dir holds raft.log and raft.snapshot.
	Dir string
	// ElectionTimeout is Kafka's controller.quorum.election.timeout.ms: a
	// follower that hears nothing from a leader this long (plus a random
	// part of it) starts an election. The Raft tick is a tenth of it.
	ElectionTimeout time.Duration
	// SnapshotEntries: a snapshot is taken after this many entries were
	// applied since the last one (0: 8192).
	SnapshotEntries uint64
	FSM             FSM
	Logger          *slog.Logger
	// Dial connects to another controller's listener (TLS on an SSL
	// controller listener, transport_tls.go); nil dials plain TCP.
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	// TLS, when set, makes the controller listener a TLS one: every
	// connection (controllers, learners, Kafka clients) does its handshake
	// first.
	TLS *tls.Config

	// FS holds Dir (nil: the operating system's file system).
	FS FS
	// Now is the node's clock (nil: time.Now).
	Now func() time.Time
	// Send, when set, carries the node's outgoing messages instead of the
	// TCP transport: the node is then driven by its caller (Tick, Step,
	// ProposeStep, ReportStep in step.go) on the caller's goroutine, and
	// Start is not called. The deterministic simulation uses it.
	Send func(msgs []*pb.Message)
	// CaughtUp, when set, is called once (on the quorum's goroutine) when
	// the node has caught up (see Quorum.CaughtUp).
	CaughtUp func()
}

// Quorum is one node's member of the Raft quorum that replicates the
// metadata log.
type Quorum struct {
	cfg    Config
	logger *slog.Logger
	st     *diskStorage
	rn     *raft.RawNode
	tr     *transport
	addr   net.Addr

	// Owned by run (or by Open before run starts).
	confState *pb.ConfState
	applied   uint64
	snapIndex uint64
	failed    error // a storage error: the node stops taking part (fail-stop)

	propc     chan proposal
	recvc     chan *pb.Message
	reportc   chan report
	statusc   chan chan Status
	transferc chan uint64
	lostc     chan lostNotice
	confc     chan confRequest
	stop      chan struct{}
	done      chan struct{}
	started   atomic.Bool
	closeMu   sync.Once

	// forgot is the connection loss for which this follower last gave up
	// on its leader (owned by run).
	forgot time.Time
	// admitted is when this leader last proposed adding or removing a
	// learner (owned by run): one membership change at a time.
	admitted time.Time
	// missing is since when each learner has had no connection to this
	// leader (owned by run).
	missing map[uint64]time.Time
	// lostSent is when this follower last told its leader it lost entries
	// (owned by run).
	lostSent time.Time
	// heard is when each node's last message arrived, for a node driven
	// with Send (no transport to keep it); owned by the driver.
	heard map[uint64]time.Time
	// kafka takes Kafka connections on the controller listener.
	kafka func(net.Conn)

	basic atomic.Pointer[BasicStatus]

	// caughtUp is set once this node has applied everything the quorum
	// had committed when it asked, after it started (catchUp). Until then
	// its state may be one the cluster has left behind while it was down.
	caughtUp atomic.Bool
	// catchUpAsked is when the outstanding read index request (catchUpCtx)
	// went out, catchUpTarget the commit index its answer gave (0: none
	// yet); owned by run.
	catchUpAsked  time.Time
	catchUpCtx    []byte
	catchUpTarget uint64
}

// confRequest asks the node's goroutine to propose a membership change.
type confRequest struct {
	cc   *pb.ConfChange
	errc chan error
}

// lostNotice: a follower's log ends (at lastIndex) before what this leader
// believes it holds.
type lostNotice struct{ from, lastIndex uint64 }

type proposal struct {
	data []byte
	errc chan error
}

type report struct {
	id       uint64
	snapshot bool
	ok       bool
}

// BasicStatus is what every node knows cheaply: the current leader and term.
type BasicStatus struct {
	ID     uint64
	Leader uint64 // 0: none known
	Term   uint64
	Commit uint64
	// Voters is the applied membership's voters, in order.
	Voters []uint64
}

// Status is a node's view of the quorum, for DescribeQuorum.
type Status struct {
	BasicStatus
	Applied uint64
	// LastIndex is the node's log end.
	LastIndex uint64
	Voters    []uint64
	Learners  []uint64
	// Progress holds, on the leader only, each member's replicated index.
	Progress map[uint64]Progress
}

// Progress is the leader's view of one member.
type Progress struct {
	Match        uint64
	RecentActive bool
}

// Open loads the quorum's storage from cfg.Dir (bootstrapping it from
// cfg.Voters on first use) and applies every entry known committed to
// cfg.FSM, so the state is current as of the last shutdown before Start.
func Open(cfg Config) (*Quorum, error) {
	if cfg.ElectionTimeout <= 0 {
		cfg.ElectionTimeout = time.Second
	}
	if cfg.SnapshotEntries == 0 {
		cfg.SnapshotEntries = 8192
	}
	if cfg.LearnerExpiry <= 0 {
		cfg.LearnerExpiry = time.Minute
	}
	_, voter := cfg.Voters[cfg.NodeID]
	switch {
	case cfg.Learner && voter:
		return nil, fmt.Errorf("node %d is a controller quorum voter, so it cannot be a broker-only node", cfg.NodeID)
	case cfg.Learner && len(cfg.Voters) == 0 && len(cfg.Bootstrap) == 0:
		return nil, fmt.Errorf("a broker-only node needs the controllers' addresses (controller.quorum.voters or controller.quorum.bootstrap.servers)")
	case !cfg.Learner && !voter && len(cfg.Voters) > 0:
		return nil, fmt.Errorf("node %d is not among the controller quorum voters", cfg.NodeID)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	st, fresh, err := openStorage(cfg.FS, cfg.Dir)
	if err != nil {
		return nil, err
	}
	q := &Quorum{
		cfg: cfg, logger: cfg.Logger, st: st,
		propc:     make(chan proposal),
		recvc:     make(chan *pb.Message, recvQueue),
		reportc:   make(chan report, 1024),
		statusc:   make(chan chan Status),
		transferc: make(chan uint64),
		lostc:     make(chan lostNotice, 16),
		confc:     make(chan confRequest),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	snap, _ := st.Snapshot()
	q.confState = proto.Clone(snap.GetMetadata().GetConfState()).(*pb.ConfState)
	q.applied = snap.GetMetadata().GetIndex()
	q.snapIndex = q.applied
	if !raft.IsEmptySnap(snap) {
		if err := cfg.FSM.Restore(q.applied, snap.GetData()); err != nil {
			st.close()
			return nil, fmt.Errorf("restoring the metadata snapshot at %d: %w", q.applied, err)
		}
	}
	rn, err := raft.NewRawNode(&raft.Config{
		ID:              cfg.NodeID,
		ElectionTick:    10,
		HeartbeatTick:   1,
		Storage:         st,
		Applied:         q.applied,
		MaxSizePerMsg:   1 << 20,
		MaxInflightMsgs: 256,
		// MaxUncommittedEntriesSize bounds proposals piling up on a leader
		// that cannot commit (a minority partition).
		MaxUncommittedEntriesSize: 64 << 20,
		CheckQuorum:               true,
		PreVote:                   true,
		// A leader removed from the voters hands over at once.
		StepDownOnRemoval: true,
		Logger:            raftLogger{cfg.Logger},
	})
	if err != nil {
		st.close()
		return nil, err
	}
	q.rn = rn
	if fresh && !cfg.Learner {
		ids := make([]uint64, 0, len(cfg.Voters))
		for id := range cfg.Voters {
			ids = append(ids, id)
		}
		if len(ids) == 0 {
			ids = []uint64{cfg.NodeID}
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		peers := make([]raft.Peer, len(ids))
		for i, id := range ids {
			peers[i] = raft.Peer{ID: id}
		}
		if err := rn.Bootstrap(peers); err != nil {
			st.close()
			return nil, err
		}
	}
	// Apply what is already known committed. No tick has happened, so the
	// node sends nothing; any message is dropped (Raft resends).
	hs, _, _ := st.InitialState()
	for rn.HasReady() {
		rd := rn.Ready()
		if err := q.handleReady(rd, false); err != nil {
			st.close()
			return nil, err
		}
		rn.Advance(rd)
		if q.applied >= hs.GetCommit() && !fresh {
			break
		}
	}
	if !fresh && !cfg.Learner {
		if err := checkVoters(rn, cfg); err != nil {
			cfg.Logger.Warn("metadata quorum: the stored voters win over controller.quorum.voters", "err", err)
		}
	}
	q.publishBasic()
	return q, nil
}

// checkVoters reports controller.quorum.voters that differ from the voters
// the stored log says. A node that bootstrapped (or joined) a quorum keeps
// its membership in the log, and only a membership change through the
// quorum alters it (AddRaftVoter, RemoveRaftVoter; KIP-853): the setting
// only bootstraps a new quorum and gives the initial voters' addresses.
func checkVoters(rn *raft.RawNode, cfg Config) error {
	want := map[uint64]bool{}
	for id := range cfg.Voters {
		want[id] = true
	}
	if len(want) == 0 {
		want[cfg.NodeID] = true
	}
	have := rn.Status().Config.Voters.IDs()
	same := len(have) == len(want)
	for id := range have {
		same = same && want[id]
	}
	if len(have) == 0 || same {
		return nil
	}
	var hs, ws []uint64
	for id := range have {
		hs = append(hs, id)
	}
	for id := range want {
		ws = append(ws, id)
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i] < hs[j] })
	sort.Slice(ws, func(i, j int) bool { return ws[i] < ws[j] })
	return fmt.Errorf("this node's metadata quorum has voters %v, but controller.quorum.voters names %v; "+
		"change the voters with kafka-metadata-quorum add-controller and remove-controller", hs, ws)
}

// Start starts the node's goroutine and, with several voters, the
// controller listener and connections to the other voters. A learner
// (an observer) dials the voters instead; it listens too if it has a
// controller listener (a controller waiting to be made a voter).
func (q *Quorum) Start() error {
	voters := q.confState.GetVoters()
	voter := slices.Contains(voters, q.cfg.NodeID)
	if voter && len(voters) <= 1 && q.cfg.Listen == "" {
		// A quorum of one without a controller listener: nothing to send.
		q.started.Store(true)
		go q.run()
		return nil
	}
	q.tr = newTransport(q.cfg.NodeID, q.cfg.ClusterID, q.logger, q.deliver, q.reportFrom)
	q.tr.onLost = q.lostFrom
	q.tr.kafka = q.kafka
	q.tr.dial, q.tr.tls = q.cfg.Dial, q.cfg.TLS
	if q.cfg.Listen != "" {
		addr, err := q.tr.listen(q.cfg.Listen)
		if err != nil {
			return fmt.Errorf("controller listener %s: %w", q.cfg.Listen, err)
		}
		q.addr = addr
	}
	if voter {
		for _, id := range voters {
			if id != q.cfg.NodeID {
				q.tr.addPeer(id, q.addrOf(id))
			}
		}
	} else {
		q.tr.becomeLearner(q.upstreams())
	}
	q.started.Store(true)
	go q.run()
	return nil
}

// ServeKafka has the controller listener hand its Kafka connections (the
// ones that do not open with a Samsa hello) to fn, which owns them. Call
// before Start.
func (q *Quorum) ServeKafka(fn func(net.Conn)) { q.kafka = fn }

// addrOf is voter id's controller address.
func (q *Quorum) addrOf(id uint64) string {
	if q.cfg.Resolve != nil {
		if a := q.cfg.Resolve(id); a != "" {
			return a
		}
	}
	return q.cfg.Voters[id]
}

// upstreams lists the controller addresses a learner dials: the voters'
// as the membership and metadata know them, else the configured ones.
func (q *Quorum) upstreams() []string {
	var out []string
	for _, id := range q.confState.GetVoters() {
		if a := q.addrOf(id); a != "" && id != q.cfg.NodeID {
			out = append(out, a)
		}
	}
	if len(out) > 0 {
		sort.Strings(out)
		return out
	}
	if len(q.cfg.Voters) == 0 {
		return q.cfg.Bootstrap
	}
	for _, a := range q.cfg.Voters {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// membershipChanged adapts the transport to a membership just applied: a
// learner made a voter dials the voters and stops its upstream
// connections; a voter dials every other voter (a new one at its
// registered address) and no longer a removed one; a voter that was
// removed follows the quorum as a learner.
func (q *Quorum) membershipChanged() {
	if q.tr == nil {
		return
	}
	voters := q.confState.GetVoters()
	if !slices.Contains(voters, q.cfg.NodeID) {
		if !q.tr.isLearner() {
			q.logger.Warn("metadata quorum: this node is no longer a voter; it follows the quorum as an observer")
			q.tr.becomeLearner(q.upstreams())
		}
		return
	}
	if q.tr.isLearner() {
		q.logger.Info("metadata quorum: this node is now a voter", "voters", voters)
		q.tr.becomeVoter()
	}
	for _, id := range voters {
		if id != q.cfg.NodeID {
			if a := q.addrOf(id); a != "" {
				q.tr.setVoterPeer(id, a)
			}
		}
	}
	for _, id := range q.tr.voterPeers() {
		if !slices.Contains(voters, id) {
			q.tr.removePeer(id)
		}
	}
}

// RefreshPeers dials the voters at their addresses as Resolve now gives
// them (a voter registered a new listener). Call it only from FSM.Apply,
// which runs on the node's goroutine.
func (q *Quorum) RefreshPeers() {
	if q.started.Load() {
		q.membershipChanged()
	}
}

// ChangeVoter proposes adding node id to the voters (it must be a learner
// that has caught up: an observer with the controller role) or removing
// it. A nil error means the leader took the proposal, not that it is
// applied: the caller watches Basic().Voters. The leader refuses a second
// change while one is pending; the caller then times out and retries.
func (q *Quorum) ChangeVoter(ctx context.Context, id uint64, add bool) error {
	typ := pb.ConfChangeRemoveNode
	if add {
		typ = pb.ConfChangeAddNode
	}
	req := confRequest{cc: &pb.ConfChange{Type: typ.Enum(), NodeId: &id}, errc: make(chan error, 1)}
	select {
	case q.confc <- req:
	case <-q.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.errc:
		return err
	case <-q.done:
		return ErrClosed
	}
}

// Addr is the controller listener's address (nil with a single voter).
func (q *Quorum) Addr() net.Addr { return q.addr }

func (q *Quorum) deliver(m *pb.Message) {
	select {
	case q.recvc <- m:
	default: // the node is behind; Raft resends
	}
}

func (q *Quorum) lostFrom(from, lastIndex uint64) {
	select {
	case q.lostc <- lostNotice{from, lastIndex}:
	default:
	}
}

func (q *Quorum) reportFrom(id uint64, snapshot, ok bool) {
	select {
	case q.reportc <- report{id: id, snapshot: snapshot, ok: ok}:
	default:
	}
}

func (q *Quorum) run() {
	defer close(q.done)
	tick := time.NewTicker(q.cfg.ElectionTimeout / 10)
	defer tick.Stop()
	ids := q.rn.Status().Config.Voters.IDs()
	if _, me := ids[q.cfg.NodeID]; me && len(ids) == 1 {
		// A quorum of one needs no election timeout to pass.
		q.rn.Campaign()
	}
	for {
		q.guard(q.ready)
		q.publishBasic()
		select {
		case <-q.stop:
			return
		case <-tick.C:
			q.guard(q.tick)
		case m := <-q.recvc:
			q.guard(func() { q.receive(m) })
		case n := <-q.lostc:
			q.guard(func() { q.handLeadershipOn(n) })
		case r := <-q.reportc:
			q.guard(func() { q.reported(r) })
		case p := <-q.propc:
			p.errc <- q.proposeData(p.data)
		case c := <-q.statusc:
			c <- q.status()
		case to := <-q.transferc:
			q.guard(func() { q.rn.TransferLeader(to) })
		case r := <-q.confc:
			var err error
			q.guard(func() { err = q.rn.ProposeConfChange(r.cc) })
			if q.failed != nil {
				err = q.failed
			}
			if errors.Is(err, raft.ErrProposalDropped) {
				err = ErrNoLeader
			}
			r.errc <- err
		}
	}
}

// tick is one Raft tick with the node's periodic duties.
func (q *Quorum) tick() {
	q.rn.Tick()
	q.leaderGone()
	q.admitLearners()
}

// receive steps a message from another node.
func (q *Quorum) receive(m *pb.Message) {
	if !q.lostEntries(m) {
		q.rn.Step(m)
	}
}

// reported tells Raft whether a message reached its peer.
func (q *Quorum) reported(r report) {
	if r.snapshot {
		st := raft.SnapshotFinish
		if !r.ok {
			st = raft.SnapshotFailure
		}
		q.rn.ReportSnapshot(r.id, st)
	}
	if !r.ok {
		q.rn.ReportUnreachable(r.id)
	}
}

// proposeData hands data to Raft (on the node's goroutine).
func (q *Quorum) proposeData(data []byte) error {
	var err error
	q.guard(func() { err = q.rn.Propose(data) })
	if q.failed != nil {
		err = q.failed
	}
	if errors.Is(err, raft.ErrProposalDropped) {
		err = ErrNoLeader
	}
	return err
}

// ready carries out every pending Ready.
func (q *Quorum) ready() {
	for {
		q.askCatchUp()
		if !q.rn.HasReady() {
			return
		}
		rd := q.rn.Ready()
		if err := q.handleReady(rd, true); err != nil {
			// Fail-stop: a node that cannot persist must not vote or
			// acknowledge. It keeps answering Status so the broker can
			// report it.
			q.failed = err
			q.logger.Error("metadata quorum: storage failed; this node no longer takes part", "err", err)
			return
		}
		for _, rs := range rd.ReadStates {
			if q.catchUpCtx != nil && string(rs.RequestCtx) == string(q.catchUpCtx) {
				q.catchUpTarget = max(rs.Index, 1)
			}
		}
		q.rn.Advance(rd)
		if q.catchUpTarget > 0 && q.applied >= q.catchUpTarget && !q.caughtUp.Load() {
			q.caughtUp.Store(true)
			q.logger.Info("metadata quorum: caught up with the cluster's metadata", "index", q.applied)
			if q.cfg.CaughtUp != nil {
				q.cfg.CaughtUp()
			}
		}
	}
}

// askCatchUp asks the leader, once a leader is known, for its commit
// index (Raft's read index, which the leader confirms with a quorum): once
// this node has applied up to it, it has caught up with everything
// committed before it asked, so its image is no older than the cluster's
// was then. Asked again every election timeout until an answer comes (the
// request or its answer may be lost). Kafka's broker likewise waits until
// it has caught up with the metadata log before it serves partitions.
func (q *Quorum) askCatchUp() {
	if q.caughtUp.Load() || q.catchUpTarget > 0 || q.rn.BasicStatus().Lead == raft.None {
		return
	}
	now := q.cfg.Now()
	if q.catchUpCtx != nil && now.Sub(q.catchUpAsked) < q.cfg.ElectionTimeout {
		return
	}
	q.catchUpAsked = now
	q.catchUpCtx = fmt.Appendf(nil, "catch-up/%d/%d", q.cfg.NodeID, now.UnixNano())
	q.rn.ReadIndex(q.catchUpCtx)
}

// CaughtUp reports whether this node has caught up with the quorum since
// it opened: it has applied every entry committed when it asked the
// leader. A node that restarts applies its own log first, which may say
// what the cluster has changed since (another broker leads its
// partitions now); until it has caught up, its state must not be acted
// on as current.
func (q *Quorum) CaughtUp() bool { return q.caughtUp.Load() }

// guard runs fn on the node unless it has failed. The Raft library stops
// (panics) on what it takes for a broken invariant, such as a log that
// lost acknowledged entries: that fails this node's part in the quorum
// (fail-stop, as for a storage error) instead of the whole process.
func (q *Quorum) guard(fn func()) {
	if q.failed != nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			q.failed = fmt.Errorf("%w: %v", ErrFailed, r)
			q.logger.Error("metadata quorum: the Raft library stopped on an inconsistency; this node no longer takes part until it restarts", "err", r)
		}
	}()
	fn()
}

// leaderGone lets a follower stop waiting for a leader whose process died:
// its kernel closed the leader's connection, and if that connection is
// not back within three ticks, the follower forgets the leader (so it
// grants pre-votes at once, which CheckQuorum's lease otherwise forbids
// for an election timeout) and campaigns. The followers that lost the
// leader elect a new one in a few ticks instead of one to two election
// timeouts. A follower cut off from a live leader cannot disturb it: the
// others still hear from the leader and refuse its pre-votes.
func (q *Quorum) leaderGone() {
	if q.tr == nil || q.tr.isLearner() {
		return
	}
	st := q.rn.BasicStatus()
	if st.RaftState != raft.StateFollower || st.Lead == raft.None {
		return
	}
	lost := q.tr.lostSince(st.Lead)
	if lost.IsZero() || lost.Equal(q.forgot) || q.cfg.Now().Sub(lost) < 3*(q.cfg.ElectionTimeout/10) {
		return
	}
	q.forgot = lost
	q.logger.Info("metadata quorum: the leader's connection is gone; electing a new leader", "leader", st.Lead)
	q.rn.ForgetLeader()
	q.rn.Campaign()
}

// lostEntries reports whether m is a leader's heartbeat that commits past
// this node's log end: the leader counts on entries this node acknowledged
// and no longer has (its data directory was restored from an older copy,
// or its disk replaced). Raft cannot take such a heartbeat (the library
// would stop the process), and this leader will never send the entries
// again, since it takes an acknowledgement as final. So the heartbeat is
// dropped and the leader is told (kindLost); it hands its leadership to
// another voter, whose view of this node starts from nothing, and that
// leader brings this node up to date by the usual probing (which also
// replaces whatever in its older log differs).
func (q *Quorum) lostEntries(m *pb.Message) bool {
	if m.GetType() != pb.MsgHeartbeat {
		return false
	}
	last, err := q.st.LastIndex()
	if err != nil || m.GetCommit() <= last {
		return false
	}
	if q.cfg.Now().Sub(q.lostSent) >= q.cfg.ElectionTimeout && q.tr != nil {
		q.lostSent = q.cfg.Now()
		q.logger.Warn("metadata quorum: the leader counts on entries this node does not have (its data directory is older than what it acknowledged); asking for a new leader to catch it up",
			"leader", m.GetFrom(), "leader_commit", m.GetCommit(), "log_end", last)
		q.tr.sendLost(m.GetFrom(), last)
	}
	return true
}

// handLeadershipOn answers a follower's kindLost notice: if this node
// leads, leadership moves to the most caught-up other voter that is live,
// so the lost node is caught up by a leader that assumes nothing about it.
func (q *Quorum) handLeadershipOn(n lostNotice) {
	st := q.rn.Status()
	if st.RaftState != raft.StateLeader {
		return
	}
	var to, match uint64
	for id, pr := range st.Progress {
		if id == q.cfg.NodeID || id == n.from || pr.IsLearner || !pr.RecentActive {
			continue
		}
		if to == 0 || pr.Match > match {
			to, match = id, pr.Match
		}
	}
	if to == 0 {
		q.logger.Error("metadata quorum: a voter lost entries it had acknowledged and no other voter can take the leadership to catch it up",
			"node_id", n.from, "its_log_end", n.lastIndex)
		return
	}
	q.logger.Warn("metadata quorum: a voter lost entries it had acknowledged (a restored or replaced data directory); handing the leadership on so it is caught up from scratch",
		"node_id", n.from, "its_log_end", n.lastIndex, "new_leader", to)
	q.rn.TransferLeader(to)
}

// admitLearners adds the broker-only nodes connected to this leader that
// are not members yet as Raft learners, and removes learners that have
// not been connected for LearnerExpiry: one membership change at a time
// (the next waits an election timeout). Any node of the cluster (its
// cluster id checked by the hello) is admitted: a broker joins by
// starting, as in Kafka.
func (q *Quorum) admitLearners() {
	if q.tr == nil || q.tr.isLearner() || q.rn.BasicStatus().RaftState != raft.StateLeader {
		q.missing = nil
		return
	}
	if q.cfg.Now().Sub(q.admitted) < q.cfg.ElectionTimeout {
		return
	}
	members := map[uint64]bool{}
	for _, id := range q.confState.GetVoters() {
		members[id] = true
	}
	connected := map[uint64]bool{}
	for _, id := range q.tr.joining() {
		connected[id] = true
		if members[id] {
			continue
		}
		if _, learner := q.learner(id); learner {
			continue
		}
		q.propose(&pb.ConfChange{Type: pb.ConfChangeAddLearnerNode.Enum(), NodeId: &id}, "admitting a broker-only node as an observer (Raft learner)")
		return
	}
	if q.missing == nil {
		q.missing = map[uint64]time.Time{}
	}
	now := q.cfg.Now()
	for _, id := range q.confState.GetLearners() {
		if connected[id] {
			delete(q.missing, id)
			continue
		}
		since, ok := q.missing[id]
		if !ok {
			q.missing[id] = now
			continue
		}
		if now.Sub(since) >= q.cfg.LearnerExpiry {
			delete(q.missing, id)
			q.propose(&pb.ConfChange{Type: pb.ConfChangeRemoveNode.Enum(), NodeId: &id}, "a broker-only node has been away; it leaves the observers until it connects again")
			return
		}
	}
}

// learner reports whether id is a learner in the applied membership.
func (q *Quorum) learner(id uint64) (int, bool) {
	for i, l := range q.confState.GetLearners() {
		if l == id {
			return i, true
		}
	}
	return -1, false
}

// propose proposes a membership change (on the leader's goroutine).
func (q *Quorum) propose(cc *pb.ConfChange, what string) {
	q.admitted = q.cfg.Now()
	if err := q.rn.ProposeConfChange(cc); err != nil {
		q.logger.Warn("metadata quorum: membership change not proposed", "node_id", cc.GetNodeId(), "err", err)
		return
	}
	q.logger.Info("metadata quorum: "+what, "node_id", cc.GetNodeId())
}

// handleReady carries out one Ready in the order Raft requires: the
// snapshot and then the entries and hard state are made durable, messages
// are sent, committed entries applied.
func (q *Quorum) handleReady(rd raft.Ready, send bool) error {
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := q.st.saveSnapshot(rd.Snapshot, true); err != nil {
			return fmt.Errorf("saving a received snapshot: %w", err)
		}
		md := rd.Snapshot.GetMetadata()
		if err := q.cfg.FSM.Restore(md.GetIndex(), rd.Snapshot.GetData()); err != nil {
			return fmt.Errorf("restoring a received snapshot: %w", err)
		}
		q.confState = proto.Clone(md.GetConfState()).(*pb.ConfState)
		q.applied, q.snapIndex = md.GetIndex(), md.GetIndex()
	}
	if err := q.st.save(rd.HardState, rd.Entries); err != nil {
		return fmt.Errorf("saving raft entries: %w", err)
	}
	if send && q.tr != nil {
		q.tr.send(rd.Messages)
	} else if send && q.cfg.Send != nil && len(rd.Messages) > 0 {
		q.cfg.Send(rd.Messages)
	}
	// A snapshot sent to a new learner must name it in its membership, or
	// the learner refuses it: a membership change is followed by a
	// snapshot at once.
	confChanged := false
	for _, e := range rd.CommittedEntries {
		if e.GetIndex() <= q.applied {
			continue
		}
		switch e.GetType() {
		case pb.EntryNormal:
			if len(e.GetData()) > 0 {
				q.cfg.FSM.Apply(e.GetIndex(), e.GetData())
			}
		case pb.EntryConfChange:
			var cc pb.ConfChange
			if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
				return fmt.Errorf("%w: conf change at %d: %v", ErrCorrupt, e.GetIndex(), err)
			}
			q.confState = q.rn.ApplyConfChange(&cc)
			confChanged = true
			if send {
				q.membershipChanged()
			}
		case pb.EntryConfChangeV2:
			var cc pb.ConfChangeV2
			if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
				return fmt.Errorf("%w: conf change at %d: %v", ErrCorrupt, e.GetIndex(), err)
			}
			q.confState = q.rn.ApplyConfChange(&cc)
			confChanged = true
			if send {
				q.membershipChanged()
			}
		}
		q.applied = e.GetIndex()
	}
	if q.applied-q.snapIndex >= q.cfg.SnapshotEntries || (confChanged && q.snapIndex > 0) {
		if err := q.snapshot(); err != nil {
			return fmt.Errorf("taking a snapshot: %w", err)
		}
	}
	return nil
}

// snapshot saves the FSM's state at the applied index and cuts the log
// before it.
func (q *Quorum) snapshot() error {
	data, err := q.cfg.FSM.Snapshot()
	if err != nil {
		return err
	}
	snap, err := q.st.CreateSnapshot(q.applied, q.confState, data)
	if err != nil {
		return err
	}
	if err := q.st.saveSnapshot(snap, false); err != nil {
		return err
	}
	q.snapIndex = q.applied
	q.logger.Info("metadata snapshot taken", "index", q.applied, "bytes", len(data))
	return nil
}

func (q *Quorum) publishBasic() {
	st := q.rn.BasicStatus()
	voters := q.confState.GetVoters()
	if prev := q.basic.Load(); prev != nil && slices.Equal(prev.Voters, voters) {
		voters = prev.Voters
	} else {
		voters = slices.Sorted(slices.Values(voters))
	}
	q.basic.Store(&BasicStatus{ID: q.cfg.NodeID, Leader: st.Lead, Term: st.GetTerm(), Commit: st.GetCommit(), Voters: voters})
}

func (q *Quorum) status() Status {
	st := q.rn.Status()
	last, _ := q.st.LastIndex()
	out := Status{
		BasicStatus: BasicStatus{ID: q.cfg.NodeID, Leader: st.Lead, Term: st.GetTerm(), Commit: st.GetCommit()},
		Applied:     q.applied,
		LastIndex:   last,
	}
	for id := range st.Config.Voters.IDs() {
		out.Voters = append(out.Voters, id)
	}
	for id := range st.Config.Learners {
		out.Learners = append(out.Learners, id)
	}
	sort.Slice(out.Voters, func(i, j int) bool { return out.Voters[i] < out.Voters[j] })
	sort.Slice(out.Learners, func(i, j int) bool { return out.Learners[i] < out.Learners[j] })
	if len(st.Progress) > 0 {
		out.Progress = map[uint64]Progress{}
		for id, pr := range st.Progress {
			out.Progress[id] = Progress{Match: pr.Match, RecentActive: pr.RecentActive}
		}
	}
	return out
}

// LastHeard is when a message from node id last arrived: the leader hears
// from every live voter at each heartbeat (a tenth of the election
// timeout), which is how the controller knows a broker is alive. Zero if
// never (or with a single voter).
func (q *Quorum) LastHeard(id uint64) time.Time {
	if q.tr == nil {
		return q.heard[id] // driven with Send; zero otherwise
	}
	return q.tr.lastHeard(id)
}

// LostSince is when node id's connection to this node ended, if it has
// not reconnected (zero otherwise). A process that dies (kill -9, a
// crash) has its connections closed by its kernel at once, so this tells
// a dead node long before the session timeout; a paused or cut-off node
// keeps its connection and is judged by LastHeard.
func (q *Quorum) LostSince(id uint64) time.Time {
	if q.tr == nil {
		return time.Time{}
	}
	return q.tr.lostSince(id)
}

// TransferLeadership asks the leader (this node) to hand leadership to
// another voter, as a controller does before it shuts down.
func (q *Quorum) TransferLeadership(to uint64) {
	if !q.started.Load() {
		return
	}
	select {
	case q.transferc <- to:
	case <-q.done:
	}
}

// Basic returns the node's last published leader and term, without waiting.
func (q *Quorum) Basic() BasicStatus { return *q.basic.Load() }

// Status asks the node's goroutine for its full view of the quorum.
func (q *Quorum) Status(ctx context.Context) (Status, error) {
	if !q.started.Load() {
		return q.status(), nil
	}
	c := make(chan Status, 1)
	select {
	case q.statusc <- c:
	case <-q.done:
		return Status{}, ErrClosed
	case <-ctx.Done():
		return Status{}, ctx.Err()
	}
	select {
	case st := <-c:
		return st, nil
	case <-ctx.Done():
		return Status{}, ctx.Err()
	}
}

// Propose hands data to Raft for replication. A nil error means the leader
// (this node or the one it forwards to) took it, not that it is
// committed: the caller learns that from FSM.Apply. Proposals can still be
// lost in a leader change; callers wait with a timeout and retry.
func (q *Quorum) Propose(ctx context.Context, data []byte) error {
	p := proposal{data: data, errc: make(chan error, 1)}
	select {
	case q.propc <- p:
	case <-q.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-p.errc:
		return err
	case <-q.done:
		return ErrClosed
	}
}

// Close stops the node and its transport and closes the storage.
func (q *Quorum) Close() error {
	var err error
	q.closeMu.Do(func() {
		close(q.stop)
		if q.started.Load() {
			<-q.done
		}
		if q.tr != nil {
			q.tr.close()
		}
		err = q.st.close()
	})
	return err
}

// raftLogger routes the library's log lines to slog (debug and info at
// debug level: elections are reported by the node itself).
type raftLogger struct{ l *slog.Logger }

func (r raftLogger) Debug(v ...any)              { r.l.Debug(fmt.Sprint(v...), "component", "raft") }
func (r raftLogger) Debugf(f string, v ...any)   { r.l.Debug(fmt.Sprintf(f, v...), "component", "raft") }
func (r raftLogger) Info(v ...any)               { r.l.Debug(fmt.Sprint(v...), "component", "raft") }
func (r raftLogger) Infof(f string, v ...any)    { r.l.Debug(fmt.Sprintf(f, v...), "component", "raft") }
func (r raftLogger) Warning(v ...any)            { r.l.Warn(fmt.Sprint(v...), "component", "raft") }
func (r raftLogger) Warningf(f string, v ...any) { r.l.Warn(fmt.Sprintf(f, v...), "component", "raft") }
func (r raftLogger) Error(v ...any)              { r.l.Error(fmt.Sprint(v...), "component", "raft") }
func (r raftLogger) Errorf(f string, v ...any)   { r.l.Error(fmt.Sprintf(f, v...), "component", "raft") }
func (r raftLogger) Fatal(v ...any) {
	r.l.Error(fmt.Sprint(v...), "component", "raft")
	panic(fmt.Sprint(v...))
}
func (r raftLogger) Fatalf(f string, v ...any) { r.Fatal(fmt.Sprintf(f, v...)) }
func (r raftLogger) Panic(v ...any)            { r.Fatal(v...) }
func (r raftLogger) Panicf(f string, v ...any) { r.Fatal(fmt.Sprintf(f, v...)) }
