package metadata

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-streaming/samsa/internal/metadata/quorum"
)

// Errors of Commit besides the planners' own.
var (
	// ErrUnavailable: the metadata quorum has no leader or did not commit
	// in time; the change may or may not have happened. Retriable.
	ErrUnavailable = errors.New("metadata quorum unavailable")
	// errConflict: the entry's records no longer fit the image when it was
	// applied (another node's change came first); Commit plans again.
	errConflict = errors.New("metadata changed concurrently")
)

// Store owns the current image and keeps it in step with the replicated
// metadata log. Any node may Commit: it plans records against its image,
// proposes them to the Raft quorum, and returns once its entry is applied.
// Every node applies every entry with the same checks, so an entry whose
// records contradict the image at its place in the log (two nodes creating
// one topic at once) is skipped everywhere and its proposer plans again.
type Store struct {
	logger  *slog.Logger
	opts    Options
	q       *quorum.Quorum
	image   atomic.Pointer[Image]
	started atomic.Bool
	closed  chan struct{} // closed by Close: pending commits return
	closeMu sync.Once

	// incarnation tells this process's entries from an earlier run's, so a
	// waiter is never woken by an entry proposed before a restart.
	incarnation uint64
	nextReq     atomic.Uint64

	// commitSem serialises this node's commits (fewer conflicts); a channel
	// so that waiting for it can be given up (shutdown must not wait for a
	// registration stuck on an absent quorum).
	commitSem chan struct{}

	mu         sync.Mutex // guards waiters, onCommit, onCaughtUp and fired
	waiters    map[uint64]chan error
	onCommit   []func(prev, next *Image, recs []Record)
	onCaughtUp []func()
	fired      bool // the onCaughtUp functions ran
	// held is Options.HoldCatchUp until ReleaseCatchUp.
	held atomic.Bool

	// legacy holds the records of a single-node metadata log (Samsa before
	// the quorum) waiting to be imported as the cluster's first entry.
	legacy     []Record
	legacyPath string
}

// Options configures a Store.
type Options struct {
	// Dir is the data directory; the quorum keeps its files in
	// Dir/__cluster_metadata.raft.
	Dir       string
	NodeID    int32
	ClusterID string
	// Voters maps each controller's node id to its controller address
	// (Kafka's controller.quorum.voters). Empty: this node alone.
	Voters map[int32]string
	// Listen is this node's controller listener (with several voters).
	Listen string
	// Learner: this is a broker-only node (process.roles=broker). It
	// follows the metadata log as a Raft learner and never votes or acts
	// as the controller.
	Learner bool
	// Bootstrap is controller.quorum.bootstrap.servers, for a learner
	// whose Voters are not given.
	Bootstrap []string
	// ElectionTimeout is controller.quorum.election.timeout.ms.
	ElectionTimeout time.Duration
	// CommitTimeout bounds how long Commit waits for the quorum.
	CommitTimeout time.Duration
	// SessionTimeout is broker.session.timeout.ms: the active controller
	// fences a broker it has not heard from this long.
	SessionTimeout time.Duration
	// LeaderRebalance is how often the active controller moves leadership
	// back to preferred replicas (auto.leader.rebalance.enable with
	// leader.imbalance.check.interval.seconds; 0: never), for brokers
	// whose imbalance exceeds ImbalancePercent.
	LeaderRebalance  time.Duration
	ImbalancePercent int
	// Unclean tells from a topic's config overrides whether it allows
	// unclean leader election (unclean.leader.election.enable, with the
	// broker's default). nil: never.
	Unclean func(topicOverrides map[string]string) bool
	// HoldCatchUp keeps CaughtUp false, and OnCaughtUp's functions
	// waiting, until ReleaseCatchUp, whatever the quorum says: a broker
	// back from a power cut must not act on its old image (lead, answer
	// its followers' epoch questions) before its registration has taken
	// it out of the ISRs (UncleanRecords).
	HoldCatchUp bool
	// SnapshotEntries overrides the quorum's snapshot interval (tests).
	SnapshotEntries uint64
	Logger          *slog.Logger
	// ControllerDial and ControllerTLS are the controller listener's
	// client and server sides when it is SSL (quorum.Config's Dial and
	// TLS); nil: plain TCP.
	ControllerDial func(ctx context.Context, addr string) (net.Conn, error)
	ControllerTLS  *tls.Config

	// OpenQuorum, when set, opens the quorum from the configuration the
	// store made (nil: quorum.Open). The deterministic simulation sets
	// its file system, clock and network there and drives the node itself
	// (step.go); the server leaves it nil.
	OpenQuorum func(quorum.Config) (*quorum.Quorum, error)
	// Incarnation tells this process's proposals from an earlier run's
	// (0: random, as a server wants; the simulation takes it from its
	// seed).
	Incarnation uint64
}

// LogFile is the metadata log of a single-node Samsa from before the
// quorum; it is imported once and renamed LogFile+".imported".
const LogFile = "__cluster_metadata.log"

// QuorumDir is the quorum's directory inside the data directory. Its name
// has no "-N" suffix, so the log directory never takes it for a partition.
const QuorumDir = "__cluster_metadata.raft"

// entry is one Raft log entry: the records of one Commit.
type entry struct {
	Node        int32    `json:"node"`
	Incarnation uint64   `json:"inc"`
	Req         uint64   `json:"req"`
	Import      bool     `json:"import,omitempty"`
	Records     []Record `json:"records"`
}

// Open opens a single-node store in dir and starts it: the quorum is this
// node alone. Tests and tools use it; the server uses OpenWith and Start.
func Open(dir string, logger *slog.Logger) (*Store, error) {
	s, err := OpenWith(Options{Dir: dir, NodeID: 1, Logger: logger})
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// OpenWith loads the quorum's storage and replays every committed entry,
// so Image is current as of the last shutdown. Nothing is applied after
// this until Start.
func OpenWith(o Options) (*Store, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.CommitTimeout <= 0 {
		o.CommitTimeout = 15 * time.Second
	}
	if o.ElectionTimeout <= 0 {
		o.ElectionTimeout = time.Second
	}
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = 2 * time.Second
	}
	inc := o.Incarnation
	if inc == 0 {
		var b [8]byte
		rand.Read(b[:])
		inc = binary.BigEndian.Uint64(b[:])
	}
	s := &Store{logger: o.Logger, opts: o, incarnation: inc, waiters: map[uint64]chan error{}, closed: make(chan struct{}), commitSem: make(chan struct{}, 1)}
	s.held.Store(o.HoldCatchUp)
	s.image.Store(emptyImage())
	voters := map[uint64]string{}
	for id, addr := range o.Voters {
		voters[uint64(id)] = addr
	}
	open := o.OpenQuorum
	if open == nil {
		open = quorum.Open
	}
	q, err := open(quorum.Config{
		NodeID: uint64(o.NodeID), ClusterID: o.ClusterID, Voters: voters, Listen: o.Listen,
		Learner: o.Learner, Bootstrap: o.Bootstrap, Resolve: s.controllerAddr,
		Dir: filepath.Join(o.Dir, QuorumDir), ElectionTimeout: o.ElectionTimeout,
		SnapshotEntries: o.SnapshotEntries, FSM: (*fsm)(s), Logger: o.Logger,
		Dial: o.ControllerDial, TLS: o.ControllerTLS, CaughtUp: s.caughtUp,
	})
	if err != nil {
		return nil, fmt.Errorf("metadata quorum: %w", err)
	}
	s.q = q
	if err := s.loadLegacy(); err != nil {
		q.Close()
		return nil, err
	}
	im := s.Image()
	o.Logger.Info("metadata loaded", "index", im.Index, "records", im.Offset, "topics", len(im.topics), "brokers", len(im.brokers))
	return s, nil
}

// loadLegacy reads a pre-quorum metadata log, if there is one and the
// quorum has applied nothing yet.
func (s *Store) loadLegacy() error {
	path := filepath.Join(s.opts.Dir, LogFile)
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	if s.Image().Index > 0 {
		return nil // imported before; the rename did not happen
	}
	l, recs, err := openLog(path)
	if err != nil {
		return fmt.Errorf("metadata log %s: %w", path, err)
	}
	l.close()
	s.legacy, s.legacyPath = recs, path
	return nil
}

// ImportPending reports whether a single-node metadata log is waiting to
// be imported by Start. The partition manager must not delete logs it
// does not find in the image until then.
func (s *Store) ImportPending() bool { return s.legacy != nil }

// Start starts the quorum. If a single-node metadata log is waiting, it is
// proposed as one entry (applied only to an empty image, so it can never
// be applied twice) and Start returns once it is applied.
func (s *Store) Start() error {
	if !s.started.CompareAndSwap(false, true) {
		return nil
	}
	if err := s.q.Start(); err != nil {
		return err
	}
	go s.runController() // it acts only while this node leads the quorum
	if s.alone() {
		// A quorum of one elects itself at once: wait for it, so a single
		// node serves with its controller in place.
		for deadline := time.Now().Add(5 * time.Second); (s.Leader() != s.opts.NodeID || !s.CaughtUp()) && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	if s.legacy == nil {
		return nil
	}
	s.logger.Info("importing the single-node metadata log into the quorum", "records", len(s.legacy), "path", s.legacyPath)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.CommitTimeout)
		err := s.propose(ctx, entry{Import: true, Records: s.legacy})
		cancel()
		if err == nil {
			break
		}
		if errors.Is(err, errConflict) {
			return fmt.Errorf("%s holds the metadata of a single-node Samsa, but this cluster already has its own: "+
				"only a new cluster can take it (start every node of a new cluster, this one among them, with empty data directories on the others): %w", s.legacyPath, err)
		}
		if !errors.Is(err, ErrUnavailable) {
			return fmt.Errorf("importing %s: %w", s.legacyPath, err)
		}
		s.logger.Warn("waiting for the metadata quorum to import the single-node log", "err", err)
	}
	if err := os.Rename(s.legacyPath, s.legacyPath+".imported"); err != nil {
		return err
	}
	s.legacy = nil
	return nil
}

// ServeKafka hands the Kafka connections arriving on the controller
// listener to fn (the broker's controller-API server). Call before Start.
func (s *Store) ServeKafka(fn func(net.Conn)) { s.q.ServeKafka(fn) }

// alone reports whether this node is the whole quorum.
func (s *Store) alone() bool {
	v := s.q.Basic().Voters
	return len(v) == 1 && v[0] == uint64(s.opts.NodeID)
}

// controllerAddr is controller id's registered listener ("" if it has not
// registered), for the quorum's transport.
func (s *Store) controllerAddr(id uint64) string {
	c, ok := s.Image().Controller(int32(id))
	if !ok || c.Port <= 0 {
		return ""
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port)))
}

// ChangeVoter adds node id to the metadata quorum's voters (it must be an
// observer with the controller role, caught up) or removes it, and waits
// until this node has applied the change (KIP-853's AddRaftVoter and
// RemoveRaftVoter). ErrUnavailable if that does not happen in time: the
// change may still happen.
func (s *Store) ChangeVoter(ctx context.Context, id int32, add bool) error {
	done := func() bool { return slices.Contains(s.Voters(), id) == add }
	for !done() {
		err := s.q.ChangeVoter(ctx, uint64(id), add)
		if err != nil && !errors.Is(err, quorum.ErrNoLeader) {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		retry := time.After(2 * s.opts.ElectionTimeout) // a proposal lost in an election is made again
		for !done() {
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w: the voters did not change in time: %v", ErrUnavailable, ctx.Err())
			case <-s.closed:
				return fmt.Errorf("%w: closed", ErrUnavailable)
			case <-retry:
			case <-time.After(20 * time.Millisecond):
				continue
			}
			break
		}
	}
	return nil
}

// Learners returns the metadata quorum's observers (Raft learners).
func (s *Store) Learners(ctx context.Context) ([]int32, error) {
	st, err := s.q.Status(ctx)
	if err != nil {
		return nil, err
	}
	var out []int32
	for _, id := range st.Learners {
		out = append(out, int32(id))
	}
	return out, nil
}

// Image returns the current image.
func (s *Store) Image() *Image { return s.image.Load() }

// CaughtUp reports whether this node has caught up with the cluster's
// metadata since it started: its image holds everything the quorum had
// committed when it asked. Before that, the image is the one this node
// stopped with, which may name it the leader of partitions other brokers
// have led since; the broker serves no partition and no coordinator until
// then (as a Kafka broker waits for its initial catch-up).
func (s *Store) CaughtUp() bool { return s.q.CaughtUp() && !s.held.Load() }

// ReleaseCatchUp ends Options.HoldCatchUp: CaughtUp is the quorum's word
// again, and OnCaughtUp's functions run if the quorum has caught up.
func (s *Store) ReleaseCatchUp() {
	s.held.Store(false)
	s.fireCaughtUp()
}

// fireCaughtUp runs the OnCaughtUp functions once, when the quorum has
// caught up and nothing holds it.
func (s *Store) fireCaughtUp() {
	s.mu.Lock()
	if !s.CaughtUp() || s.fired {
		s.mu.Unlock()
		return
	}
	s.fired = true
	fns := slices.Clone(s.onCaughtUp)
	s.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// OnCaughtUp registers fn to run once when the node has caught up (on the
// quorum's goroutine; fn must not block). It is not called if the node
// has caught up already: check CaughtUp after registering.
func (s *Store) OnCaughtUp(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCaughtUp = append(s.onCaughtUp, fn)
}

// caughtUp is the quorum's catch-up callback (its CaughtUp is true by
// then).
func (s *Store) caughtUp() { s.fireCaughtUp() }

// OnCommit registers fn to run after every applied entry, in log order,
// on the quorum's goroutine. fn must not call Commit.
func (s *Store) OnCommit(fn func(prev, next *Image, recs []Record)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCommit = append(s.onCommit, fn)
}

// Commit runs plan against the current image; plan returns the records to
// append (or an error, which aborts with nothing written). The records are
// replicated, applied and published as one step: either all of them are,
// or none. If another change got in first and the records no longer fit,
// plan runs again on the newer image.
func (s *Store) Commit(plan func(im *Image) ([]Record, error)) (*Image, error) {
	return s.commit(context.Background(), plan, s.opts.CommitTimeout)
}

// CommitContext is Commit that gives up when ctx is done.
func (s *Store) CommitContext(ctx context.Context, plan func(im *Image) ([]Record, error)) (*Image, error) {
	return s.commit(ctx, plan, s.opts.CommitTimeout)
}

func (s *Store) commit(ctx context.Context, plan func(im *Image) ([]Record, error), timeout time.Duration) (*Image, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	select {
	case s.commitSem <- struct{}{}:
	case <-ctx.Done():
		return s.image.Load(), fmt.Errorf("%w: %v", ErrUnavailable, ctx.Err())
	case <-s.closed:
		return s.image.Load(), fmt.Errorf("%w: %v", ErrUnavailable, quorum.ErrClosed)
	}
	defer func() { <-s.commitSem }()
	for attempt := 0; ; attempt++ {
		prev := s.image.Load()
		recs, err := plan(prev)
		if err != nil || len(recs) == 0 {
			return prev, err
		}
		if err := checkPlan(prev, recs); err != nil {
			return prev, err
		}
		err = s.propose(ctx, entry{Records: recs})
		if errors.Is(err, errConflict) && attempt < 10 {
			continue
		}
		if err != nil {
			return s.image.Load(), err
		}
		return s.image.Load(), nil
	}
}

// checkPlan applies planned records to a copy of prev, which is never
// published: a plan that does not fit its own image is refused before it
// is proposed.
func checkPlan(prev *Image, recs []Record) error {
	next := prev.beginBatch()
	for _, r := range recs {
		if err := r.validate(); err != nil {
			return err
		}
		if err := next.eligible(r); err != nil {
			return err
		}
		var err error
		if next, err = next.apply(r); err != nil {
			return fmt.Errorf("metadata plan is inconsistent: %w", err)
		}
	}
	return next.fencedAway(prev)
}

// encode numbers e as this node's next proposal and encodes it.
func (s *Store) encode(e *entry) ([]byte, error) {
	e.Node, e.Incarnation, e.Req = s.opts.NodeID, s.incarnation, s.nextReq.Add(1)
	data, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	if len(data) > maxEntryBytes {
		return nil, fmt.Errorf("%w: a metadata change of %d bytes exceeds %d; split it", ErrInvalidPartitions, len(data), maxEntryBytes)
	}
	return data, nil
}

// propose replicates e and waits until this node has applied it.
func (s *Store) propose(ctx context.Context, e entry) error {
	data, err := s.encode(&e)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	s.mu.Lock()
	s.waiters[e.Req] = done
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.waiters, e.Req)
		s.mu.Unlock()
	}()
	// A proposal can be lost: refused at once without a leader, or
	// forwarded to a leader that dies before appending it. It is proposed
	// again (the same entry: every node applies an entry once, see
	// fsm.Apply) until it is applied or the deadline passes.
	retry := max(2*s.opts.ElectionTimeout, time.Second)
	for {
		err := s.q.Propose(ctx, data)
		wait := retry
		switch {
		case err == nil:
		case errors.Is(err, quorum.ErrNoLeader):
			wait = 20 * time.Millisecond // an election is on
		default:
			if ctx.Err() != nil {
				return fmt.Errorf("%w: %v", ErrUnavailable, err)
			}
			return err
		}
		select {
		case err := <-done:
			return err
		case <-s.closed:
			return fmt.Errorf("%w: %v", ErrUnavailable, quorum.ErrClosed)
		case <-ctx.Done():
			return fmt.Errorf("%w: not committed: %v", ErrUnavailable, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// maxEntryBytes bounds one metadata change: the Raft entry, and the
// snapshot messages that carry it, stay far below the quorum's frame limit.
const maxEntryBytes = 32 << 20

// QuorumStatus is the quorum's state as this node sees it.
func (s *Store) QuorumStatus(ctx context.Context) (quorum.Status, error) { return s.q.Status(ctx) }

// Leader is the node id of the active controller (-1 if none is known).
func (s *Store) Leader() int32 {
	if l := s.q.Basic().Leader; l != 0 {
		return int32(l)
	}
	return -1
}

// Voters returns the metadata quorum's voters, in order.
func (s *Store) Voters() []int32 {
	var out []int32
	for _, id := range s.q.Basic().Voters {
		out = append(out, int32(id))
	}
	return out
}

// LastHeard is when the quorum last heard from node id (zero: never, or
// this node alone); the active controller's view of broker liveness.
func (s *Store) LastHeard(id int32) time.Time { return s.q.LastHeard(uint64(id)) }

// ControllerAddr is the controller listener's address (nil with one voter).
func (s *Store) ControllerAddr() string {
	if a := s.q.Addr(); a != nil {
		return a.String()
	}
	return ""
}

// Close stops the quorum and closes its storage.
func (s *Store) Close() error {
	s.closeMu.Do(func() { close(s.closed) })
	return s.q.Close()
}

// fsm is the Store as the quorum's state machine.
type fsm Store

func (f *fsm) Apply(index uint64, data []byte) {
	s := (*Store)(f)
	var e entry
	err := json.Unmarshal(data, &e)
	prev := s.image.Load()
	next := prev
	if err == nil && prev.proposed(e.Node, e.Incarnation, e.Req) {
		// Proposed again after it looked lost, but the first one made it:
		// applied once, its proposer already woken.
		s.image.Store(prev.withIndex(index))
		return
	}
	if err == nil && e.Import && prev.hasData() {
		err = fmt.Errorf("%w: import into a cluster that already has topics, configs or producer ids", errConflict)
	}
	next = next.beginBatch()
	for i := 0; err == nil && i < len(e.Records); i++ {
		r := e.Records[i]
		if err = r.validate(); err == nil {
			if err = next.eligible(r); err == nil {
				next, err = next.apply(r)
			}
			if err != nil {
				err = fmt.Errorf("%w: %v", errConflict, err)
			}
		}
	}
	if err == nil {
		if err = next.fencedAway(prev); err != nil {
			err = fmt.Errorf("%w: %v", errConflict, err)
		}
	}
	if err == nil {
		next = next.endBatch()
	}
	if err != nil {
		// Every node skips this entry the same way: the image stays.
		if !errors.Is(err, errConflict) {
			s.logger.Error("skipping an undecodable metadata entry", "index", index, "err", err)
		}
		next = prev.withIndex(index).withProposal(e.Node, e.Incarnation, e.Req)
		s.image.Store(next)
		s.wake(e, err)
		return
	}
	next = next.withIndex(index).withProposal(e.Node, e.Incarnation, e.Req)
	s.image.Store(next)
	for _, r := range e.Records {
		if r.Type == TypeController && s.q != nil { // nil while Open replays
			// A controller registered (or moved) its listener: reach it
			// there.
			s.q.RefreshPeers()
			break
		}
	}
	s.mu.Lock()
	obs := s.onCommit
	s.mu.Unlock()
	for _, fn := range obs {
		fn(prev, next, e.Records)
	}
	s.wake(e, nil)
}

func (s *Store) wake(e entry, err error) {
	if e.Node != s.opts.NodeID || e.Incarnation != s.incarnation {
		return
	}
	s.mu.Lock()
	w := s.waiters[e.Req]
	s.mu.Unlock()
	if w != nil {
		w <- err
	}
}

// snapshot is the quorum snapshot's content: the image as the records
// that rebuild it.
type snapshot struct {
	Index   uint64   `json:"index"`
	Offset  int64    `json:"offset"`
	Records []Record `json:"records"`
	// Proposals is each node's last applied proposal (incarnation and
	// request number), so a re-proposed entry is still applied once.
	Proposals map[int32]proposalMark `json:"proposals,omitempty"`
}

func (f *fsm) Snapshot() ([]byte, error) {
	im := (*Store)(f).image.Load()
	return json.Marshal(snapshot{Index: im.Index, Offset: im.Offset, Records: im.records(), Proposals: im.proposals})
}

func (f *fsm) Restore(index uint64, data []byte) error {
	s := (*Store)(f)
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return fmt.Errorf("%w: snapshot: %v", ErrCorrupt, err)
	}
	next := emptyImage().beginBatch()
	for i, r := range snap.Records {
		var err error
		if err = r.validate(); err == nil {
			next, err = next.apply(r)
		}
		if err != nil {
			return fmt.Errorf("%w: snapshot record %d: %v", ErrCorrupt, i, err)
		}
	}
	next = next.endBatch()
	next.Offset = snap.Offset
	next.proposals = snap.Proposals
	next = next.withIndex(index)
	prev := s.image.Load()
	s.image.Store(next)
	// Observers see the change as the removal of every topic that is gone
	// and the records of the new image.
	var recs []Record
	for _, name := range prev.TopicNames() {
		t, _ := prev.Topic(name)
		if nt, ok := next.TopicByID(t.ID); !ok || nt.Name != t.Name {
			recs = append(recs, Record{Type: TypeRemoveTopic, RemoveTopic: &RemoveTopicRecord{ID: t.ID}})
		}
	}
	recs = append(recs, snap.Records...)
	s.mu.Lock()
	obs := s.onCommit
	s.mu.Unlock()
	for _, fn := range obs {
		fn(prev, next, recs)
	}
	return nil
}
