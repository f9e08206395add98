package sim

import (
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/metadata/quorum"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// Config is one simulated run.
type Config struct {
	Seed uint64
	// Nodes is the number of combined controller+broker nodes (3 if 0).
	Nodes int
	// Steps is the number of events in the fault phase (2000 if 0); the
	// run then heals every fault and waits for the cluster to converge.
	Steps int
	// Logger receives the production code's logs (nil: discarded).
	Logger *slog.Logger
	// TraceLines is how many of the last events a Result keeps (64 if 0).
	TraceLines int
	// Dir, when set, holds the nodes' log directories: the nodes host
	// their partition replicas and replicate them (replication.go), and
	// the workload produces records with acks=all.
	Dir string
	// breakLeaders, in the checker's own tests, reports a second leader
	// for every term a node leads, to show the check catches it.
	breakLeaders bool
	// breakTruncation, in the checker's own tests, has followers keep
	// their log instead of cutting it where the leader's history parts.
	breakTruncation bool
	// breakOffsetLoad, in the checker's own tests, has a coordinator that
	// comes to lead an offsets partition skip replaying its log, so it
	// forgets every commit made before.
	breakOffsetLoad bool
}

// Result is what a run did and found.
type Result struct {
	Seed uint64
	// Steps is the number of events processed (fault phase and healing).
	Steps int
	// SimTime is the simulated time the run covered.
	SimTime time.Duration
	// States is the number of distinct cluster states (each node's term,
	// commit index, known leader, applied index and image) after a step.
	States int
	// Committed is the highest index applied by any node.
	Committed uint64
	// Faults counts the faults injected, by kind.
	Faults map[string]int
	// Ops counts the workload's proposals, by kind and outcome.
	Ops map[string]int
	// AckedChecked counts the acknowledged records found in place at the
	// end (with Dir).
	AckedChecked int
	// CommitsChecked counts the coordinator reads checked against the
	// offset commits acknowledged before them (with Dir).
	CommitsChecked int
	// TxnDecisions counts the transaction decisions checked: EndTxn
	// answers acknowledged and marker jobs sent (with Dir).
	TxnDecisions int
	// Violation is the first invariant that broke (nil: none).
	Violation error
	// TraceHash hashes every event and the state after it: two runs of
	// one seed have the same.
	TraceHash uint64
	// Trace is the last events before the end (or the violation).
	Trace []string
}

// Timing of the simulated cluster, as a server configures it.
const (
	electionTimeout = time.Second
	tickInterval    = electionTimeout / 10
	sessionTimeout  = 3 * time.Second
	controlInterval = 500 * time.Millisecond
	registerRetry   = time.Second
	healDeadline    = 90 * time.Second
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type eventKind int

const (
	evTick eventKind = iota
	evDeliver
	evReport
	evWork
	evFault
	evRestart
	evHeal
	evStop
	evRepl
)

type event struct {
	at   time.Duration
	seq  uint64
	kind eventKind
	node uint64 // the node it happens to
	from uint64 // a message's sender
	life int    // the node's life a tick belongs to
	msg  []byte // a marshalled Raft message
	typ  pb.MessageType
	ok   bool // a report: the message arrived
	// powerCut: a restart after a power cut (evRestart).
	powerCut bool
	repl     *replMsg // evRepl
}

type queue []*event

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// node is one simulated process and its disk.
type node struct {
	id     uint64
	fs     *memFS
	store  *metadata.Store
	q      *quorum.Quorum
	inner  quorum.FSM
	up     bool
	life   int
	paused time.Duration // events wait until then
	// skew is how far this node's clock runs ahead of the simulation's:
	// a clock jump (a virtual machine resumed after a stall, which moves
	// even the monotonic clock forward) adds to it, and it stays, across
	// restarts too (the machine's clock).
	skew time.Duration
	// leaderSince is when this node last became the quorum leader (zero:
	// it does not lead), for the active controller's grace period.
	leaderSince time.Time
	lastControl time.Duration
	lastMember  time.Duration
	// brokerInc is this life's broker incarnation; registered once the
	// node's image shows it.
	brokerInc    string
	lastRegister time.Duration
	// img is the last image seen and its digest, to check it is never
	// changed after it was published.
	img       *metadata.Image
	imgDigest uint64
	// The node's partition replicas (replication.go).
	dir      *storage.Dir
	parts    map[partKey]*replica
	isrQueue []isrAsk
	coord    *nodeCoord // the group coordinator (coord.go)
	txn      *nodeTxn   // the transaction coordinator (txn.go)
}

type sim struct {
	cfg    Config
	rng    *rand.Rand
	logger *slog.Logger
	now    time.Duration
	seq    uint64
	events queue
	nodes  []*node
	check  *checker
	err    error // the first violation

	// Network faults.
	loss, dup float64
	maxDelay  time.Duration
	cut       map[[2]uint64]bool // a pair that cannot talk
	healing   bool
	healAt    time.Duration

	snapEntries uint64
	topics      int

	repl   repl
	groups groups
	txns   txns
	res    Result
	states map[uint64]struct{}
	trace  []string
	hash   uint64
}

// Run runs one simulation.
func Run(cfg Config) (res Result) {
	if cfg.Nodes == 0 {
		cfg.Nodes = 3
	}
	if cfg.Steps == 0 {
		cfg.Steps = 2000
	}
	if cfg.TraceLines == 0 {
		cfg.TraceLines = 64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &sim{
		cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), logger: cfg.Logger,
		check: newChecker(), cut: map[[2]uint64]bool{}, states: map[uint64]struct{}{},
		res:    Result{Seed: cfg.Seed, Faults: map[string]int{}, Ops: map[string]int{}},
		repl:   repl{committed: map[partKey]map[int64]uint32{}, acked: map[partKey][]ackedRecord{}},
		groups: groups{next: map[string]int64{}, acked: map[string]int64{}},
	}
	s.initTxns()
	h := fnv.New64a()
	s.hash = h.Sum64()
	// The seed picks the network's and the disk's character.
	s.loss = []float64{0, 0.01, 0.05, 0.2}[s.rng.IntN(4)]
	s.dup = []float64{0, 0.01, 0.05}[s.rng.IntN(3)]
	s.maxDelay = []time.Duration{2 * time.Millisecond, 20 * time.Millisecond, 200 * time.Millisecond}[s.rng.IntN(3)]
	s.snapEntries = []uint64{4, 16, 64}[s.rng.IntN(3)]
	defer func() {
		if r := recover(); r != nil && s.err == nil {
			s.fail(fmt.Errorf("panic: %v\n%s", r, debug.Stack()))
		}
		res = s.result()
	}()
	for i := 1; i <= cfg.Nodes; i++ {
		n := &node{id: uint64(i), fs: newMemFS(s.rng)}
		s.nodes = append(s.nodes, n)
		if err := s.start(n); err != nil {
			s.fail(err)
			return
		}
	}
	s.at(s.jitter(200*time.Millisecond), &event{kind: evWork})
	s.at(time.Second+s.jitter(time.Second), &event{kind: evFault})
	for s.err == nil && s.events.Len() > 0 {
		if s.res.Steps == cfg.Steps && !s.healing {
			s.heal()
		}
		if s.healing && s.converged() {
			break
		}
		if s.healing && s.now > s.healStart()+healDeadline {
			s.fail(fmt.Errorf("no convergence %v after every fault healed: %s", healDeadline, s.describe()))
			break
		}
		e := heap.Pop(&s.events).(*event)
		s.now = e.at
		s.res.Steps++
		s.do(e)
		s.observe()
	}
	return
}

func (s *sim) result() Result {
	r := s.res
	r.CommitsChecked = s.groups.checks
	r.TxnDecisions = s.txns.committed + s.txns.aborted + s.txns.marked
	r.SimTime = s.now
	r.States = len(s.states)
	r.Violation = s.err
	r.TraceHash = s.hash
	r.Trace = s.trace
	for i := range s.check.committed {
		r.Committed = max(r.Committed, i)
	}
	return r
}

func (s *sim) clock() time.Time { return epoch.Add(s.now) }

// nodeClock is node n's clock: the simulation's, plus the jumps it took.
func (s *sim) nodeClock(n *node) time.Time { return epoch.Add(s.now + n.skew) }

func (s *sim) at(d time.Duration, e *event) {
	s.seq++
	e.at, e.seq = s.now+d, s.seq
	heap.Push(&s.events, e)
}

// jitter is a random duration in [0, d).
func (s *sim) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(s.rng.Int64N(int64(d)))
}

func (s *sim) fail(err error) {
	if s.err == nil {
		s.err = err
		s.tracef("VIOLATION: %v", err)
	}
}

// tracef records an event line and folds it into the trace hash.
func (s *sim) tracef(format string, args ...any) {
	line := fmt.Sprintf("%9.3fs ", s.now.Seconds()) + fmt.Sprintf(format, args...)
	s.mix([]byte(line))
	if len(s.trace) == s.cfg.TraceLines {
		s.trace = s.trace[1:]
	}
	s.trace = append(s.trace, line)
}

func (s *sim) mix(b []byte) {
	h := fnv.New64a()
	var x [8]byte
	binary.LittleEndian.PutUint64(x[:], s.hash)
	h.Write(x[:])
	h.Write(b)
	s.hash = h.Sum64()
}

// start opens node n's store from what its disk holds, as a process
// start does.
func (s *sim) start(n *node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("node %d cannot start from its disk: panic: %v", n.id, r)
		}
	}()
	n.life++
	s.check.restarted(n.id)
	voters := map[int32]string{}
	for i := 1; i <= s.cfg.Nodes; i++ {
		voters[int32(i)] = fmt.Sprintf("node%d:9093", i)
	}
	n.img, n.store, n.q = nil, nil, nil
	st, err := metadata.OpenWith(metadata.Options{
		Dir: fmt.Sprintf("/sim/node%d", n.id), NodeID: int32(n.id), ClusterID: "sim", Voters: voters,
		ElectionTimeout: electionTimeout, SessionTimeout: sessionTimeout, SnapshotEntries: s.snapEntries,
		Logger: s.logger.With("node", n.id), Incarnation: s.rng.Uint64() | 1,
		OpenQuorum: func(cfg quorum.Config) (*quorum.Quorum, error) {
			cfg.FS = n.fs
			cfg.Now = func() time.Time { return s.nodeClock(n) }
			cfg.Send = func(msgs []*pb.Message) { s.send(n, msgs) }
			n.inner = cfg.FSM
			cfg.FSM = observedFSM{s: s, n: n}
			q, err := quorum.Open(cfg)
			n.q = q
			return q, err
		},
	})
	if err != nil {
		return fmt.Errorf("node %d cannot start from its disk: %w", n.id, err)
	}
	n.store, n.up = st, true
	if err := s.openReplicas(n); err != nil {
		return err
	}
	n.leaderSince, n.lastControl = time.Time{}, 0
	n.brokerInc = fmt.Sprintf("node%d-life%d", n.id, n.life)
	n.lastRegister = -registerRetry
	s.seeImage(n, nil)
	s.tracef("node %d started (life %d, image index %d)", n.id, n.life, n.store.Image().Index)
	s.syncReplicas(n)
	s.at(s.jitter(tickInterval), &event{kind: evTick, node: n.id, life: n.life})
	return nil
}

// stop ends node n's process (its disk stays as the crash left it).
func (s *sim) stop(n *node, why string) {
	if !n.up {
		return
	}
	n.store.Close()
	s.closeReplicas(n)
	n.up, n.store, n.q, n.img, n.isrQueue = false, nil, nil, nil, nil
	s.tracef("node %d down: %s", n.id, why)
}

// observedFSM is the store's state machine with the checker looking on:
// every applied entry and every image is checked as it happens.
type observedFSM struct {
	s *sim
	n *node
}

func (f observedFSM) Apply(index uint64, data []byte) {
	h := fnv.New64a()
	h.Write(data)
	f.s.tracef("node %d applies index %d (%016x)", f.n.id, index, h.Sum64())
	if err := f.s.check.apply(f.n.id, index, h.Sum64()); err != nil {
		f.s.fail(err)
	}
	var prev *metadata.Image
	if f.n.store != nil {
		prev = f.n.store.Image()
	}
	f.n.inner.Apply(index, data)
	if f.n.store != nil {
		f.s.seeImage(f.n, prev)
	}
}

func (f observedFSM) Snapshot() ([]byte, error) { return f.n.inner.Snapshot() }

func (f observedFSM) Restore(index uint64, data []byte) error {
	f.s.tracef("node %d installs a snapshot at index %d", f.n.id, index)
	if err := f.s.check.restored(f.n.id, index); err != nil {
		f.s.fail(err)
	}
	err := f.n.inner.Restore(index, data)
	if err == nil && f.n.store != nil {
		f.s.seeImage(f.n, nil)
	}
	return err
}

// seeImage checks node n's current image; prev is the image one entry
// before it (nil after a restore or a start).
func (s *sim) seeImage(n *node, prev *metadata.Image) {
	im := n.store.Image()
	if n.img != nil && viewOf(n.img).digest() != n.imgDigest {
		s.fail(fmt.Errorf("node %d: a published metadata image (index %d) changed after it was published", n.id, n.img.Index))
	}
	var pv *view
	if prev != nil {
		v := viewOf(prev)
		pv = &v
	}
	v := viewOf(im)
	if err := s.check.image(n.id, pv, v); err != nil {
		s.fail(err)
	}
	n.img, n.imgDigest = im, v.digest()
}

// send puts node n's messages on the network.
func (s *sim) send(n *node, msgs []*pb.Message) {
	for _, m := range msgs {
		to := m.GetTo()
		snap := m.GetType() == pb.MsgSnap
		if s.cut[pair(n.id, to)] || !s.byID(to).up {
			// No connection: the transport reports it at once.
			s.at(s.jitter(s.maxDelay), &event{kind: evReport, node: n.id, from: to, typ: m.GetType(), ok: false})
			continue
		}
		if snap {
			// The transport reports a snapshot sent once it is written to
			// the connection, whether or not it then arrives.
			s.at(s.delay(), &event{kind: evReport, node: n.id, from: to, typ: m.GetType(), ok: true})
		}
		if s.rng.Float64() < s.loss {
			s.res.Faults["message lost"]++
			continue
		}
		data, err := proto.Marshal(m)
		if err != nil {
			s.fail(fmt.Errorf("node %d sent a message that does not encode: %v", n.id, err))
			return
		}
		s.at(s.delay(), &event{kind: evDeliver, node: to, from: n.id, msg: data, typ: m.GetType()})
		if s.rng.Float64() < s.dup {
			s.res.Faults["message duplicated"]++
			s.at(s.delay(), &event{kind: evDeliver, node: to, from: n.id, msg: data, typ: m.GetType()})
		}
	}
}

// delay is a message's time in flight: mostly short, sometimes up to
// maxDelay, so messages overtake each other.
func (s *sim) delay() time.Duration {
	d := 100*time.Microsecond + s.jitter(time.Millisecond)
	if s.rng.IntN(10) == 0 {
		d += s.jitter(s.maxDelay)
	}
	return d
}

func pair(a, b uint64) [2]uint64 {
	if a > b {
		a, b = b, a
	}
	return [2]uint64{a, b}
}

func (s *sim) byID(id uint64) *node {
	if id < 1 || int(id) > len(s.nodes) {
		return &node{}
	}
	return s.nodes[id-1]
}

// do carries out one event.
func (s *sim) do(e *event) {
	n := s.byID(e.node)
	switch e.kind {
	case evTick:
		if !n.up || n.life != e.life {
			return
		}
		if s.now < n.paused {
			s.at(n.paused-s.now, e)
			return
		}
		n.q.Tick()
		s.afterStep(n)
		if n.up {
			s.duties(n)
		}
		if n.up {
			s.replicaDuties(n)
		}
		if n.up {
			s.at(tickInterval-tickInterval/20+s.jitter(tickInterval/10), &event{kind: evTick, node: n.id, life: n.life})
		}
	case evDeliver:
		if !n.up || s.cut[pair(e.from, e.node)] {
			return
		}
		if s.now < n.paused {
			s.at(n.paused-s.now, e)
			return
		}
		m := &pb.Message{}
		if err := proto.Unmarshal(e.msg, m); err != nil {
			s.fail(fmt.Errorf("message does not decode: %v", err))
			return
		}
		s.tracef("deliver %d->%d %v term %d index %d commit %d", e.from, e.node, m.GetType(), m.GetTerm(), m.GetIndex(), m.GetCommit())
		n.q.Step(m)
		s.afterStep(n)
	case evReport:
		if !n.up {
			return
		}
		n.q.ReportStep(e.from, e.typ == pb.MsgSnap, e.ok)
		s.afterStep(n)
	case evWork:
		if !s.healing {
			s.work()
			s.at(50*time.Millisecond+s.jitter(400*time.Millisecond), &event{kind: evWork})
		}
	case evFault:
		if !s.healing {
			s.fault()
			s.at(500*time.Millisecond+s.jitter(4*time.Second), &event{kind: evFault})
		}
	case evRestart:
		if n.up {
			return
		}
		n.fs.restart(e.powerCut)
		if e.powerCut {
			s.res.Faults["power cut"]++
		}
		if err := s.start(n); err != nil {
			s.fail(err)
		}
	case evHeal:
		s.cut = map[[2]uint64]bool{}
		s.tracef("network healed")
	case evRepl:
		if !n.up {
			return
		}
		if s.now < n.paused {
			s.at(n.paused-s.now, e)
			return
		}
		s.handleRepl(n, e.from, e.repl)
		s.afterStep(n)
	case evStop:
		if n.up && n.life == e.life {
			s.stop(n, "controlled shutdown")
		}
	}
}

// afterStep notices a node that stopped: its disk crashed under it (a
// simulated crash), or anything else, which is a finding.
func (s *sim) afterStep(n *node) {
	if !n.up {
		return
	}
	err := n.q.Failed()
	if err == nil {
		s.syncReplicas(n)
		s.checkReplicas(n)
		s.followCoordinators(n)
		s.checkCoordinators()
		s.followTxnCoordinators(n)
		return
	}
	if n.fs.crashed && errors.Is(err, errCrashed) {
		s.stop(n, "crashed in the middle of a disk operation")
		s.at(100*time.Millisecond+s.jitter(3*time.Second), &event{kind: evRestart, node: n.id, powerCut: s.rng.IntN(2) == 0})
		return
	}
	s.fail(fmt.Errorf("node %d stopped taking part in the quorum: %v", n.id, err))
}

// duties are what a running node does besides Raft: it registers as a
// broker until its image shows the registration, and while it leads the
// quorum it runs the active controller's check.
func (s *sim) duties(n *node) {
	im := n.store.Image()
	if b, ok := im.Broker(int32(n.id)); (!ok || b.Incarnation != n.brokerInc) && s.now-n.lastRegister >= registerRetry {
		n.lastRegister = s.now
		rec := metadata.BrokerRecord{ID: int32(n.id), Host: fmt.Sprintf("node%d", n.id), Port: 9092, Incarnation: n.brokerInc}
		s.propose(n, "register", func(*metadata.Image) ([]metadata.Record, error) {
			return []metadata.Record{{Type: metadata.TypeBroker, Broker: &rec}}, nil
		})
		if !n.up {
			return
		}
	}
	if n.q.Basic().Leader != n.id {
		n.leaderSince = time.Time{}
		return
	}
	if n.leaderSince.IsZero() {
		n.leaderSince = s.nodeClock(n)
	}
	if len(n.q.Basic().Voters) < len(s.nodes) && s.now-n.lastMember >= electionTimeout {
		// A removed voter is admitted as an observer again; healing, the
		// observers are made voters again, as an operator would.
		n.lastMember = s.now
		s.admit(n)
		if s.healing && n.up {
			s.changeMembers(n)
		}
		if !n.up {
			return
		}
	}
	if s.now-n.lastControl >= controlInterval {
		n.lastControl = s.now
		err := n.store.ControlStep(s.nodeClock(n), n.leaderSince)
		s.outcome("controller", err)
		s.afterStep(n)
	}
}

// propose has node n plan and propose a change, and counts the outcome.
func (s *sim) propose(n *node, kind string, plan func(*metadata.Image) ([]metadata.Record, error)) {
	err := n.store.ProposeStep(plan)
	s.outcome(kind, err)
	s.tracef("node %d proposes %s: %v", n.id, kind, err)
	s.afterStep(n)
}

func (s *sim) outcome(kind string, err error) {
	switch {
	case err == nil:
		s.res.Ops[kind+" proposed"]++
	case errors.Is(err, quorum.ErrNoLeader):
		s.res.Ops[kind+" without a leader"]++
	default:
		s.res.Ops[kind+" refused"]++
	}
}

// observe checks the invariants that hold between steps and counts the
// state reached.
func (s *sim) observe() {
	h := fnv.New64a()
	var b [8]byte
	num := func(x uint64) {
		binary.LittleEndian.PutUint64(b[:], x)
		h.Write(b[:])
	}
	for _, n := range s.nodes {
		if !n.up {
			num(0)
			continue
		}
		st := n.q.Basic()
		if st.Leader == n.id {
			if err := s.check.leader(n.id, st.Term); err != nil {
				s.fail(err)
			}
			if s.cfg.breakLeaders {
				if err := s.check.leader(n.id+1000, st.Term); err != nil {
					s.fail(err)
				}
			}
		}
		num(1)
		num(st.Term)
		num(st.Commit)
		num(st.Leader)
		num(n.img.Index)
		num(n.imgDigest)
		for _, k := range sortedKeys(n.parts) {
			num(uint64(n.parts[k].p.HighWatermark()))
			num(uint64(n.parts[k].p.LocalEnd()))
		}
	}
	for _, n := range s.nodes {
		if n.up && len(n.q.Basic().Voters) < len(s.nodes) {
			s.res.Ops["events with a voter removed (as a node sees it)"]++
			break
		}
	}
	sum := h.Sum64()
	s.states[sum] = struct{}{}
	s.mix(b[:0])
	binary.LittleEndian.PutUint64(b[:], sum)
	s.mix(b[:])
}

func (s *sim) up() []*node {
	var out []*node
	for _, n := range s.nodes {
		if n.up && s.now >= n.paused {
			out = append(out, n)
		}
	}
	return out
}

func (s *sim) healStart() time.Duration { return s.healAt }

// heal ends every fault: the network is whole and reliable, paused nodes
// resume and stopped ones restart. The run then waits for convergence.
func (s *sim) heal() {
	s.healing, s.healAt = true, s.now
	s.cut = map[[2]uint64]bool{}
	s.loss, s.dup = 0, 0
	for _, n := range s.nodes {
		n.fs.arm(0)
		n.paused = 0
		if !n.up {
			s.at(s.jitter(time.Second), &event{kind: evRestart, node: n.id, powerCut: false})
		}
	}
	s.tracef("healing every fault")
}

// converged reports whether, after healing, every node is up, knows the
// same leader, has applied the same index with the same image, every
// broker is registered with its running process and unfenced, and every
// partition has a leader.
func (s *sim) converged() bool {
	var first *node
	for _, n := range s.nodes {
		if !n.up {
			return false
		}
		if first == nil {
			first = n
			continue
		}
		if len(n.q.Basic().Voters) != len(s.nodes) || n.q.Basic().Leader == 0 || n.q.Basic().Leader != first.q.Basic().Leader ||
			n.q.Basic().Commit != first.q.Basic().Commit || viewOf(n.img).content() != viewOf(first.img).content() {
			return false
		}
	}
	im := first.store.Image()
	for _, n := range s.nodes {
		b, ok := im.Broker(int32(n.id))
		if !ok || b.Incarnation != n.brokerInc || b.Fenced {
			return false
		}
	}
	for _, p := range viewOf(im).parts {
		if p.leader < 0 {
			return false
		}
	}
	if !s.replicasConverged(im) || !s.coordsConverged(im) {
		return false
	}
	s.finalReplicaCheck(im)
	s.checkCoordinators()
	return true
}

// describe is the cluster's state in one line, for a report.
func (s *sim) describe() string {
	out := ""
	for _, n := range s.nodes {
		if !n.up {
			out += fmt.Sprintf("[node %d down] ", n.id)
			continue
		}
		st := n.q.Basic()
		out += fmt.Sprintf("[node %d term %d leader %d commit %d applied %d] ", n.id, st.Term, st.Leader, st.Commit, n.img.Index)
	}
	if len(s.nodes) > 0 && s.nodes[0].up {
		for _, p := range viewOf(s.nodes[0].img).parts {
			if p.leader < 0 {
				out += fmt.Sprintf("%s-%d offline isr %v; ", p.name, p.partition, p.isr)
			}
		}
		for _, b := range viewOf(s.nodes[0].img).brokers {
			out += fmt.Sprintf("broker %d %s fenced=%v; ", b.id, b.incarnation, b.fenced)
		}
	}
	return out
}
