package sim

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/coordinator/group"
	"github.com/samsa-streaming/samsa/internal/coordinator/txn"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

// Transaction coordinators. With replication the cluster also gets a
// transaction state topic (txnTopic, on every node), and every node runs
// the real txn.Coordinator for the partitions of it that it leads, as the
// transaction Runtime does: loaded from its replica's log once it leads
// it (and has caught up), forgotten when it loses it, its state appended
// through the leader replica with acks=all. Transaction markers are taken
// as written the moment the coordinator asks (the data partitions'
// transactional state is not simulated); the decision they carry is what
// the checker looks at.
//
// Transactional producers (simTxnIDs of them) go through
// InitProducerId, AddPartitionsToTxn and EndTxn (commit or abort) over and
// over, each request to the node that leads the id's partition in their
// node's image. Checked:
//   - every transaction ends one way: from the AddPartitionsToTxn that
//     may open it (sent while none is open) to the next such request, the
//     EndTxn acknowledged to the producer
//     and the markers any coordinator sends for its producer id all carry
//     the same decision (an acknowledged commit is never aborted by a
//     coordinator that took over, nor the other way round);
//   - InitProducerId never hands a transactional id a producer id and
//     epoch at or below one it handed it before, nor another id's
//     producer id (fencing of zombie producers rests on it).
const (
	txnTopic       = "__transaction_state"
	txnPartitions  = 2
	simTxnIDs      = 3
	simTxnTimeout  = 20 * time.Second
	simTxnDataPart = "t"
	// txnRequestTimeout: a request unanswered this long is sent again.
	txnRequestTimeout = 5 * time.Second
)

// nodeTxn is one node's transaction coordinator and the partitions of the
// state topic it leads, by leader epoch.
type nodeTxn struct {
	co   *txn.Coordinator
	led  map[int32]int32
	done []coordDone
}

// txnClient is one transactional producer.
type txnClient struct {
	id          string
	pid         int64 // -1: InitProducerId first
	epoch       int16
	open        bool          // its AddPartitionsToTxn was acknowledged
	sent        time.Duration // when the request out was sent (0: none)
	req         int           // requests sent; an answer to an older one is ignored
	ending      *bool         // the decision of the EndTxn being retried
	decided     int           // 0 none yet, 1 commit, -1 abort (acknowledged or marked), this transaction
	decidedHow  string
	lastPID     int64 // the highest producer id and epoch handed to it
	lastEpoch   int16
	transaction int // transactions opened
}

// txns is the run's transaction state.
type txns struct {
	clients   []*txnClient
	pidOwner  map[int64]string
	nextPID   int64
	committed int // commits acknowledged
	aborted   int // aborts acknowledged
	marked    int // marker jobs checked
}

func (s *sim) txnsOn() bool { return s.cfg.Dir != "" }

func (s *sim) initTxns() {
	s.txns.pidOwner = map[int64]string{}
	s.txns.nextPID = 1000
	for i := range simTxnIDs {
		s.txns.clients = append(s.txns.clients, &txnClient{id: fmt.Sprintf("txn%d", i), pid: -1, lastPID: -1})
	}
}

// ensureTxnTopic creates the transaction state topic once every node is a
// usable broker.
func (s *sim) ensureTxnTopic(n *node, im *metadata.Image) bool {
	return s.ensureInternalTopic(n, im, txnTopic, txnPartitions, "create transaction state topic")
}

// followTxnCoordinators is followCoordinators for the transaction
// coordinator (Runtime.followLeadership of the txn package).
func (s *sim) followTxnCoordinators(n *node) {
	if !s.txnsOn() || n.dir == nil || !n.up {
		return
	}
	now := s.nodeClock(n)
	if n.txn == nil {
		cfg := txn.Config{Partitions: txnPartitions, ReplicationFactor: int16(len(s.nodes)), MinISR: 2, ClusterSize: len(s.nodes),
			MaxTimeout: 15 * time.Minute, IDExpiration: 7 * 24 * time.Hour, AbortInterval: 10 * time.Second, ExpireInterval: time.Hour}
		n.txn = &nodeTxn{led: map[int32]int32{}}
		n.txn.co = txn.New(cfg, func(id string) int32 { return group.PartitionFor(id, txnPartitions) }, func() (int64, error) {
			s.txns.nextPID++
			return s.txns.nextPID, nil
		})
	}
	nt := n.txn
	want := s.ledNow(n, txnTopic)
	t, _ := n.store.Image().Topic(txnTopic)
	s.forgetLost(n, nt.led, want, nt.co.Unload, "transaction state partition")
	for _, p := range gained(nt.led, want) {
		rep := n.parts[partKey{t.ID, p}]
		nt.co.BeginLoad(p, want[p])
		err := rep.p.ReadLocal(func(data []byte) (int64, error) {
			return group.WalkBatches(data, func(o int64, k, v []byte) {
				if err := nt.co.Replay(p, k, v); err != nil {
					s.fail(fmt.Errorf("node %d cannot replay transaction state partition %d at %d: %v", n.id, p, o, err))
				}
			})
		})
		if err != nil {
			s.fail(fmt.Errorf("node %d cannot load transaction state partition %d: %v", n.id, p, err))
			return
		}
		nt.led[p] = want[p]
		s.tracef("node %d coordinates transaction state partition %d (leader epoch %d)", n.id, p, want[p])
		s.performTxn(n, nt.co.FinishLoad(now, p))
	}
	s.performTxn(n, nt.co.Tick(now))
	for len(nt.done) > 0 {
		d := nt.done[0]
		nt.done = nt.done[1:]
		s.performTxn(n, nt.co.AppendDone(now, d.id, d.err))
	}
}

// performTxn appends what the coordinator asks for, takes its markers as
// written at once (checking their decision), and delivers its replies.
func (s *sim) performTxn(n *node, out txn.Out) {
	nt := n.txn
	now := s.nodeClock(n)
	for _, a := range out.Appends {
		id := a.ID
		done := func(err error) { nt.done = append(nt.done, coordDone{id, err}) }
		s.appendInternal(n, txnTopic, a.Partition, group.EncodeBatch([]group.Record{{Key: a.Key, Value: a.Value}}, now.UnixMilli()), done)
	}
	for _, m := range out.Markers {
		s.tracef("node %d marks %s (producer %d epoch %d) %s", n.id, m.TransactionalID, m.ProducerID, m.ProducerEpoch, map[bool]string{true: "committed", false: "aborted"}[m.Commit])
		s.txnDecided(m.TransactionalID, m.ProducerID, m.Commit, fmt.Sprintf("markers from node %d", n.id))
		s.txns.marked++
		s.performTxn(n, nt.co.MarkersDone(now, m.ID))
	}
	for _, f := range out.Replies {
		f()
	}
}

// txnDecided records a decision about transactional id's current
// transaction; a second, different one is a violation.
func (s *sim) txnDecided(id string, pid int64, commit bool, how string) {
	for _, c := range s.txns.clients {
		if c.id != id || c.pid != pid || c.transaction == 0 {
			continue
		}
		d := -1
		if commit {
			d = 1
		}
		if c.decided != 0 && c.decided != d {
			s.fail(fmt.Errorf("%s's transaction %d (producer %d) was %s by %s, and %s by %s", id, c.transaction, pid,
				decision(c.decided), c.decidedHow, decision(d), how))
			return
		}
		if c.decided == 0 {
			c.decided, c.decidedHow = d, how
		}
	}
}

func decision(d int) string {
	if d > 0 {
		return "committed"
	}
	return "aborted"
}

// txnSteps: every transactional producer not waiting for an answer takes
// its next step, sending it to the coordinator that node n's image names.
func (s *sim) txnSteps(n *node) {
	for _, c := range s.txns.clients {
		if n.up {
			s.txnStep(n, n.store.Image(), c)
		}
	}
}

func (s *sim) txnStep(n *node, im *metadata.Image, c *txnClient) {
	t, ok := im.Topic(txnTopic)
	if !ok {
		return
	}
	if c.sent > 0 && s.now-c.sent < txnRequestTimeout {
		return // waiting for an answer; after the timeout it sends again
	}
	pm := t.Partitions[group.PartitionFor(c.id, int32(len(t.Partitions)))]
	if pm.Leader < 0 {
		return
	}
	cn := s.byID(uint64(pm.Leader))
	if !cn.up || cn.txn == nil || s.cut[pair(n.id, cn.id)] || s.now < cn.paused {
		return
	}
	now := s.nodeClock(cn)
	co := cn.txn.co
	c.req++
	c.sent = s.now
	req := c.req
	answered := func() bool {
		if c.req != req {
			return false // given up: a later request is out
		}
		c.sent = 0
		return true
	}
	switch {
	case c.pid < 0:
		ir := kmsg.NewPtrInitProducerIDRequest()
		ir.TransactionalID = kmsg.StringPtr(c.id)
		ir.TransactionTimeoutMillis = int32(simTxnTimeout / time.Millisecond)
		ir.ProducerID, ir.ProducerEpoch = -1, -1
		s.performTxn(cn, co.InitProducerID(now, ir, func(r *kmsg.InitProducerIDResponse) {
			if !answered() {
				return
			}
			s.tracef("node %d answers InitProducerId for %s: producer %d epoch %d, %v", cn.id, c.id, r.ProducerID, r.ProducerEpoch, kerr.ErrorForCode(r.ErrorCode))
			if r.ErrorCode != 0 {
				s.res.Ops["init producer id refused ("+kerr.ErrorForCode(r.ErrorCode).(*kerr.Error).Message+")"]++
				return
			}
			s.res.Ops["init producer id"]++
			if owner, ok := s.txns.pidOwner[r.ProducerID]; ok && owner != c.id {
				s.fail(fmt.Errorf("producer id %d handed to %s, and before to %s", r.ProducerID, c.id, owner))
				return
			}
			s.txns.pidOwner[r.ProducerID] = c.id
			if r.ProducerID == c.lastPID && r.ProducerEpoch <= c.lastEpoch {
				s.fail(fmt.Errorf("InitProducerId handed %s producer %d epoch %d, after epoch %d", c.id, r.ProducerID, r.ProducerEpoch, c.lastEpoch))
				return
			}
			c.pid, c.epoch, c.lastPID, c.lastEpoch = r.ProducerID, r.ProducerEpoch, r.ProducerID, r.ProducerEpoch
			c.open, c.ending = false, nil
		}))
	case !c.open:
		// A transaction may begin with this request, whether or not its
		// answer comes back (a request given up may have been taken):
		// the decisions from here on are this transaction's.
		c.transaction++
		c.decided, c.decidedHow = 0, ""
		parts := []txn.TopicPartition{{Topic: simTxnDataPart, Partition: 0}}
		s.performTxn(cn, co.AddPartitions(now, c.id, c.pid, c.epoch, parts, 3, func(code int16) {
			if !answered() {
				return
			}
			s.tracef("node %d answers AddPartitionsToTxn for %s (producer %d epoch %d): %v", cn.id, c.id, c.pid, c.epoch, kerr.ErrorForCode(code))
			s.txnAnswer(c, code, "add partitions")
			if code == 0 {
				c.open = true
			}
		}))
	default:
		if c.ending == nil { // a retry keeps the decision, as a client does
			commit := s.rng.IntN(3) > 0
			c.ending = &commit
		}
		commit := *c.ending
		er := kmsg.NewPtrEndTxnRequest()
		er.TransactionalID, er.ProducerID, er.ProducerEpoch, er.Commit = c.id, c.pid, c.epoch, commit
		s.performTxn(cn, co.EndTxn(now, er, func(r *kmsg.EndTxnResponse) {
			if !answered() {
				return
			}
			s.tracef("node %d answers EndTxn(commit %v) for %s (producer %d epoch %d): %v", cn.id, commit, c.id, c.pid, c.epoch, kerr.ErrorForCode(r.ErrorCode))
			s.txnAnswer(c, r.ErrorCode, "end transaction")
			if r.ErrorCode == 0 {
				if commit {
					s.txns.committed++
				} else {
					s.txns.aborted++
				}
				s.txnDecided(c.id, c.pid, commit, fmt.Sprintf("the EndTxn node %d acknowledged", cn.id))
				c.open, c.ending = false, nil
			}
		}))
	}
	s.afterStep(cn)
}

// txnAnswer counts an answer and moves a fenced producer back to
// InitProducerId.
func (s *sim) txnAnswer(c *txnClient, code int16, what string) {
	switch code {
	case 0:
		s.res.Ops[what]++
	case kerr.InvalidProducerEpoch.Code, kerr.ProducerFenced.Code, kerr.InvalidProducerIDMapping.Code, kerr.InvalidTxnState.Code:
		s.res.Ops[what+" fenced"]++
		c.pid, c.open, c.ending = -1, false, nil
	default:
		s.res.Ops[what+" refused ("+kerr.ErrorForCode(code).(*kerr.Error).Message+")"]++
	}
}
