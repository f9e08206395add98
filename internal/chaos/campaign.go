package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/history"
)

// Fault is one kind of fault a campaign injects.
type Fault string

// The faults.
const (
	KillLeader     Fault = "kill-leader"     // kill -9 the leader of a partition
	KillController Fault = "kill-controller" // kill -9 the active controller (quorum leader)
	KillFollower   Fault = "kill-follower"   // kill -9 a broker that leads nothing it is asked about
	PauseLeader    Fault = "pause-leader"    // SIGSTOP a leader beyond the session timeout, then SIGCONT
	KillAll        Fault = "kill-all"        // kill -9 every node, then start them all
	RestartAll     Fault = "restart-all"     // SIGTERM every node (controlled shutdown), then start them all
	// IsolateLeader cuts a partition leader off the network (its link on
	// the bridge goes down) for the Pause time; needs Campaign.Net.
	IsolateLeader Fault = "isolate-leader"
	// PartitionLeader cuts a partition leader off from one follower of
	// that partition (both still reach the other nodes and the clients)
	// for the Pause time: a partial partition; needs Campaign.Net.
	PartitionLeader Fault = "partition-leader"
	// KillTxnCoordinator kills -9 the coordinator of the transactional
	// producer's id (needs Campaign.Transactions).
	KillTxnCoordinator Fault = "kill-txn-coordinator"
	// PowerCutLeader cuts the power of a partition leader's machine: kill
	// -9, and everything the node wrote to its data directory and did not
	// fsync is lost (its data directory is on a lazyfs mount).
	PowerCutLeader Fault = "power-cut-leader"
	// PowerCutAll cuts the power of every node at once.
	PowerCutAll Fault = "power-cut-all"
	// PowerCutLastISR takes a partition's ISR down to its leader alone
	// (kill -9 of one follower, acknowledged writes with the other, kill
	// -9 of that one), then cuts the leader's power: the last member of
	// the ISR comes back first, having lost what it had not fsynced,
	// while the follower that has every acknowledged record is still
	// down. The followers start 3 s later.
	PowerCutLastISR Fault = "power-cut-last-isr"
)

// tornCut returns, for half of the power cuts, the randomness that tears
// the unsynced data (part of it reached the disk), nil for the others.
func tornCut(rng *rand.Rand) *rand.Rand {
	if rng.IntN(2) == 0 {
		return nil
	}
	return rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
}

// needsLazy reports whether any of faults cuts the power.
func needsLazy(faults []Fault) bool {
	for _, f := range faults {
		if f == PowerCutLeader || f == PowerCutAll || f == PowerCutLastISR {
			return true
		}
	}
	return false
}

// Campaign describes a fault campaign on a cluster of real processes.
type Campaign struct {
	Binary     string // the samsa binary
	Dir        string // data, logs and the history go here
	Nodes      int
	Partitions int
	// Rate caps the producer at this many records a second (0: as fast
	// as it can), which bounds the history of a long campaign.
	Rate int
	// Clients are producers and consumers of other client libraries that
	// run throughout the campaign (samsa chaos --client): each a shell
	// command, run as `CMD BOOTSTRAP TOPIC HISTORY STOP-FILE`, that
	// produces to or consumes from TOPIC and writes a history of its
	// produce attempts or of the records it read to HISTORY until
	// STOP-FILE exists (compat/java HistoryProducer and HistoryConsumer,
	// compat/python history_producer.py and history_consumer.py). Their
	// histories are checked with the rest.
	Clients []string
	Faults  []Fault
	// Down is how long a killed node stays down; Pause how long a paused
	// one stays paused (beyond broker.session.timeout.ms to be fenced).
	Down, Pause time.Duration
	Seed        uint64
	Logger      *slog.Logger
	// Extra are --override settings for every node.
	Extra []string
	// Net runs the nodes in network namespaces (the campaign must run in
	// Net.Hub()); required by IsolateLeader.
	Net *Net
	// Kafka runs the campaign against Apache Kafka nodes instead.
	Kafka *Kafka
	// Transactions adds a transactional producer (franz-go, commits most
	// transactions and aborts some) writing to a second topic, read by a
	// read_committed consumer group, both checked with the rest; and
	// makes kill-txn-coordinator possible.
	Transactions bool
}

// Result is what a campaign measured.
type Result struct {
	Faults    int
	Attempts  int64 // produce attempts
	Acked     int64
	Consumed  int64 // by the group consumer
	FinalRead int
	MaxGap    time.Duration // the longest stretch without an acknowledgement
	// Failover holds, per fault that took partition leaders away (kill or
	// pause of a leader), the time from the fault to the first
	// acknowledgement of a record sent after it, on the slowest of the
	// partitions the victim led.
	Failover    map[Fault][]time.Duration
	Report      *history.Report
	HistoryPath string
	// ClientRecords counts the events of the --client programs' histories
	// (one per produce attempt).
	ClientRecords int
	// Transactions committed, aborted and of unknown end, and records
	// read by the read_committed group (Campaign.Transactions).
	TxnCommitted, TxnAborted, TxnUnknown int64
	TxnConsumed                          int64
	TxnFinalRead                         int
}

const (
	topic    = "chaos"
	txnTopic = "chaos-txn"
	txnID    = "chaos-txn-producer"
)

// Run runs the campaign and checks the history. An error means the
// campaign could not run (a node did not start, the cluster never became
// healthy); anomalies are in Result.Report.
func (c Campaign) Run(ctx context.Context) (*Result, error) {
	if c.Nodes == 0 {
		c.Nodes = 3
	}
	if c.Partitions == 0 {
		c.Partitions = 3
	}
	if c.Down == 0 {
		c.Down = 2 * time.Second
	}
	if c.Pause == 0 {
		c.Pause = 4 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed^0x5a5a))
	extra := append([]string{"group.initial.rebalance.delay.ms=0"}, c.Extra...)
	cl, err := NewCluster(c.Binary, c.Dir, c.Nodes, c.Net, extra...)
	if err != nil {
		return nil, err
	}
	if c.Kafka != nil {
		cl.Kafka, cl.ClusterID = c.Kafka, kafkaClusterID()
		if c.Nodes < 3 {
			cl.Extra = append(cl.Extra, fmt.Sprintf("offsets.topic.replication.factor=%d", c.Nodes),
				fmt.Sprintf("transaction.state.log.replication.factor=%d", c.Nodes), "transaction.state.log.min.isr=1")
		}
	}
	cl.Lazy = needsLazy(c.Faults)
	defer cl.Close()
	if err := cl.StartAll(); err != nil {
		return nil, err
	}
	adm, closeAdm, err := admin(cl.Addrs())
	if err != nil {
		return nil, err
	}
	defer closeAdm()
	if err := waitFor(ctx, "all brokers registered", func() bool {
		md, err := adm.BrokerMetadata(ctx)
		return err == nil && len(md.Brokers) == c.Nodes
	}); err != nil {
		return nil, err
	}
	rf := int16(min(3, c.Nodes))
	cfg := map[string]*string{"min.insync.replicas": kadm.StringPtr(fmt.Sprint(min(2, rf)))}
	if r, err := adm.CreateTopic(ctx, int32(c.Partitions), rf, cfg, topic); err != nil || r.Err != nil {
		return nil, fmt.Errorf("create topic: %v %v", err, r.Err)
	}
	if c.Transactions {
		if r, err := adm.CreateTopic(ctx, int32(c.Partitions), rf, cfg, txnTopic); err != nil || r.Err != nil {
			return nil, fmt.Errorf("create topic: %v %v", err, r.Err)
		}
	}

	res := &Result{HistoryPath: filepath.Join(c.Dir, "history.jsonl"), Failover: map[Fault][]time.Duration{}}
	hf, err := os.Create(res.HistoryPath)
	if err != nil {
		return nil, err
	}
	defer hf.Close()
	rec := history.NewRecorder(hf)
	prod, err := StartProducer("producer", cl.Addrs(), topic, rec, 64, c.Rate)
	if err != nil {
		return nil, err
	}
	cons, err := StartGroupConsumer("consumer", cl.Addrs(), "chaos-group", topic, rec, false)
	if err != nil {
		prod.Stop()
		return nil, err
	}
	var tprod *TxnProducer
	var tcons *GroupConsumer
	if c.Transactions {
		tprod = StartTxnProducer("txn", txnID, cl.Addrs(), txnTopic, rec, c.Seed)
		if tcons, err = StartGroupConsumer("txn-consumer", cl.Addrs(), "chaos-txn-group", txnTopic, rec, true); err != nil {
			prod.Stop()
			cons.Stop()
			tprod.Stop()
			return nil, err
		}
	}
	ext, err := c.startClients(cl.Addrs())
	if err != nil {
		prod.Stop()
		cons.Stop()
		if tprod != nil {
			tprod.Stop()
			tcons.Stop()
		}
		return nil, err
	}
	stopLoad := func() {
		prod.Stop()
		cons.Stop()
		if tprod != nil {
			tprod.Stop()
			tcons.Stop()
		}
		ext.stop(c.Logger)
	}
	progress := func(what string) error {
		a, r := prod.Acked(), cons.Read()
		var tc, tr int64
		if tprod != nil {
			tc, tr = tprod.Committed(), tcons.Read()
		}
		return waitFor(ctx, what, func() bool {
			ok := prod.Acked() >= a+200 && cons.Read() > r
			if tprod != nil {
				ok = ok && tprod.Committed() > tc && tcons.Read() > tr
			}
			return ok
		})
	}
	if err := progress("producing and consuming"); err != nil {
		stopLoad()
		return nil, err
	}

	topics := []string{topic}
	if c.Transactions {
		topics = append(topics, txnTopic)
	}
	for i, f := range c.Faults {
		c.Logger.Info("fault", "n", i+1, "fault", f)
		if err := c.inject(ctx, cl, adm, f, rng, prod); err != nil {
			stopLoad()
			return nil, fmt.Errorf("fault %d (%s): %w", i+1, f, err)
		}
		res.Faults++
		// Every topic's, so that faults stay independent: the next one
		// finds every record on every replica again.
		if err := waitFor(ctx, "full ISRs after "+string(f), func() bool { return fullISR(ctx, adm, topics, c.Partitions, int(rf)) }); err != nil {
			stopLoad()
			return nil, fmt.Errorf("%w (%s)", err, isrState(ctx, adm, topics))
		}
		if err := progress("progress after " + string(f)); err != nil {
			stopLoad()
			return nil, err
		}
		if f == KillLeader || f == KillController || f == PauseLeader || f == IsolateLeader || f == PowerCutLeader {
			waitFor(ctx, "an acknowledgement on every partition the victim led", func() bool { _, ok := prod.FailoverTime(); return ok })
			if d, ok := prod.FailoverTime(); ok {
				res.Failover[f] = append(res.Failover[f], d)
				c.Logger.Info("failover", "fault", f, "took", d.Round(time.Millisecond))
			}
			prod.Watch(nil, time.Time{})
		}
	}
	stopLoad()
	if err := ext.err(); err != nil {
		return nil, err
	}
	res.Attempts, res.Acked, res.Consumed, res.MaxGap = prod.seq.Load(), prod.Acked(), cons.Read(), prod.MaxGap()
	if res.FinalRead, err = FinalRead(ctx, cl.Addrs(), topic, rec, false); err != nil {
		return nil, err
	}
	if tprod != nil {
		res.TxnCommitted, res.TxnAborted, res.TxnUnknown = tprod.Counts()
		res.TxnConsumed = tcons.Read()
		if res.TxnFinalRead, err = FinalRead(ctx, cl.Addrs(), txnTopic, rec, true); err != nil {
			return nil, err
		}
	}
	if err := rec.Close(); err != nil {
		return nil, err
	}
	hr, err := os.Open(res.HistoryPath)
	if err != nil {
		return nil, err
	}
	defer hr.Close()
	h, err := history.Read(hr)
	if err != nil {
		return nil, err
	}
	for _, path := range ext.histories {
		o, err := readHistory(path)
		if err != nil {
			return nil, fmt.Errorf("history of a --client: %w", err)
		}
		res.ClientRecords += o.Len()
		h.Merge(o)
	}
	if res.Report, err = history.Check(h); err != nil {
		return nil, err
	}
	// The nodes' data (gigabytes after a long campaign) is not needed any
	// more: the history and the nodes' logs stay for samsa verify and a
	// reader. A campaign with anomalies keeps everything.
	if res.Report.Clean() {
		cl.Close()
		for _, n := range cl.Nodes {
			os.RemoveAll(n.Dir)
			os.RemoveAll(n.Dir + ".disk")
		}
	}
	return res, nil
}

// inject applies one fault and undoes it (restart, resume).
func (c Campaign) inject(ctx context.Context, cl *Cluster, adm *kadm.Client, f Fault, rng *rand.Rand, prod *Producer) error {
	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		return err
	}
	parts := md.Topics[topic].Partitions.Sorted()
	if len(parts) == 0 {
		return fmt.Errorf("no partitions")
	}
	leaderOf := func() int32 { return parts[rng.IntN(len(parts))].Leader }
	// watch measures failover on every partition victim leads.
	watch := func(victim int32) {
		var led []int32
		for _, p := range parts {
			if p.Leader == victim {
				led = append(led, p.Partition)
			}
		}
		prod.Watch(led, time.Now())
	}
	switch f {
	case KillLeader, KillController, KillFollower:
		var victim int32
		switch f {
		case KillLeader:
			victim = leaderOf()
		case KillController:
			victim = md.Controller
		case KillFollower:
			p := parts[rng.IntN(len(parts))]
			for _, r := range p.Replicas {
				if r != p.Leader {
					victim = r
				}
			}
		}
		if victim <= 0 {
			return fmt.Errorf("no victim for %s", f)
		}
		c.Logger.Info("kill -9", "node", victim)
		watch(victim)
		if err := cl.Kill(victim); err != nil {
			return err
		}
		sleep(ctx, c.Down)
		return cl.Start(victim)
	case PauseLeader:
		victim := leaderOf()
		c.Logger.Info("SIGSTOP", "node", victim)
		watch(victim)
		if err := cl.Pause(victim); err != nil {
			return err
		}
		sleep(ctx, c.Pause)
		return cl.Resume(victim)
	case IsolateLeader:
		if cl.Net == nil {
			return fmt.Errorf("%s needs network namespaces (samsa chaos --netns)", f)
		}
		victim := leaderOf()
		c.Logger.Info("isolate", "node", victim)
		watch(victim)
		if err := cl.Net.Isolate(victim); err != nil {
			return err
		}
		sleep(ctx, c.Pause)
		return cl.Net.Heal(victim)
	case PartitionLeader:
		if cl.Net == nil {
			return fmt.Errorf("%s needs network namespaces (samsa chaos --netns)", f)
		}
		p := parts[rng.IntN(len(parts))]
		var other int32
		for _, r := range p.Replicas {
			if r != p.Leader {
				other = r
			}
		}
		if p.Leader <= 0 || other <= 0 {
			return fmt.Errorf("no leader and follower to cut apart")
		}
		c.Logger.Info("partial partition", "leader", p.Leader, "cut_from", other, "partition", p.Partition)
		if err := cl.Net.Cut(p.Leader, other); err != nil {
			return err
		}
		sleep(ctx, c.Pause)
		return cl.Net.Mend(p.Leader, other)
	case KillTxnCoordinator:
		ds, err := adm.DescribeTransactions(ctx, txnID)
		if err != nil {
			return fmt.Errorf("finding the transaction coordinator: %w", err)
		}
		victim := ds[txnID].Coordinator
		if victim <= 0 {
			return fmt.Errorf("no transaction coordinator for %s (is --transactions on?)", txnID)
		}
		c.Logger.Info("kill -9 the transaction coordinator", "node", victim)
		if err := cl.Kill(victim); err != nil {
			return err
		}
		sleep(ctx, c.Down)
		return cl.Start(victim)
	case PowerCutLeader:
		victim := leaderOf()
		if victim <= 0 {
			return fmt.Errorf("no leader for %s", f)
		}
		watch(victim)
		torn := tornCut(rng)
		st, err := cl.PowerCut(victim, torn)
		c.Logger.Info("power cut", "node", victim, "torn", torn != nil, "unsynced_bytes", st.Dropped)
		if err != nil {
			return err
		}
		sleep(ctx, c.Down)
		return cl.Start(victim)
	case PowerCutLastISR:
		p := parts[rng.IntN(len(parts))]
		var followers []int32
		for _, r := range p.Replicas {
			if r != p.Leader {
				followers = append(followers, r)
			}
		}
		if p.Leader <= 0 || len(followers) < 2 {
			return fmt.Errorf("%s needs a partition with a leader and two followers", f)
		}
		isr := func(want int) func() bool {
			return func() bool {
				md, err := adm.Metadata(ctx, topic)
				if err != nil {
					return false
				}
				pd, ok := md.Topics[topic].Partitions[p.Partition]
				return ok && len(pd.ISR) == want
			}
		}
		c.Logger.Info("kill -9", "node", followers[0], "partition", p.Partition)
		if err := cl.Kill(followers[0]); err != nil {
			return err
		}
		if err := waitFor(ctx, "the ISR without the first follower", isr(2)); err != nil {
			return err
		}
		acked := prod.Acked()
		if err := waitFor(ctx, "acknowledgements with an ISR of two", func() bool { return prod.Acked() > acked+500 }); err != nil {
			return err
		}
		c.Logger.Info("kill -9", "node", followers[1], "partition", p.Partition)
		if err := cl.Kill(followers[1]); err != nil {
			return err
		}
		if err := waitFor(ctx, "the ISR down to the leader", isr(1)); err != nil {
			return err
		}
		torn := tornCut(rng)
		st, err := cl.PowerCut(p.Leader, torn)
		c.Logger.Info("power cut", "node", p.Leader, "torn", torn != nil, "unsynced_bytes", st.Dropped)
		if err != nil {
			return err
		}
		sleep(ctx, c.Down)
		if err := cl.Start(p.Leader); err != nil {
			return err
		}
		sleep(ctx, 3*time.Second)
		return cl.StartAll()
	case PowerCutAll:
		for _, n := range cl.Nodes { // every process dies at the same moment
			if err := cl.Kill(n.ID); err != nil {
				return err
			}
		}
		for _, n := range cl.Nodes {
			torn := tornCut(rng)
			st, err := cl.PowerCut(n.ID, torn)
			c.Logger.Info("power cut", "node", n.ID, "torn", torn != nil, "unsynced_bytes", st.Dropped)
			if err != nil {
				return err
			}
		}
		sleep(ctx, c.Down)
		return cl.StartAll()
	case KillAll, RestartAll:
		for _, n := range cl.Nodes {
			var err error
			if f == KillAll {
				err = cl.Kill(n.ID)
			} else {
				err = cl.Terminate(n.ID, 10*time.Second)
			}
			if err != nil {
				return err
			}
		}
		sleep(ctx, c.Down)
		return cl.StartAll()
	}
	return fmt.Errorf("unknown fault %q", f)
}

// isrState describes the partitions of topics whose ISR is
// not full, for an error.
func isrState(ctx context.Context, adm *kadm.Client, topics []string) string {
	md, err := adm.Metadata(ctx, topics...)
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, t := range topics {
		for _, p := range md.Topics[t].Partitions.Sorted() {
			if len(p.ISR) != len(p.Replicas) || p.Leader < 0 || p.Err != nil {
				out = append(out, fmt.Sprintf("%s-%d: leader %d epoch %d replicas %v ISR %v err %v", t, p.Partition, p.Leader, p.LeaderEpoch, p.Replicas, p.ISR, p.Err))
			}
		}
	}
	return strings.Join(out, "; ")
}

// fullISR reports whether every partition of topics has a leader and
// all rf replicas in its ISR.
func fullISR(ctx context.Context, adm *kadm.Client, topics []string, parts, rf int) bool {
	md, err := adm.Metadata(ctx, topics...)
	if err != nil {
		return false
	}
	for _, t := range topics {
		ps := md.Topics[t].Partitions
		if len(ps) != parts {
			return false
		}
		for _, p := range ps {
			if p.Leader < 0 || len(p.ISR) != rf || p.Err != nil {
				return false
			}
		}
	}
	return true
}

func admin(seeds []string) (*kadm.Client, func(), error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.MetadataMinAge(50*time.Millisecond), kgo.MetadataMaxAge(time.Second),
		kgo.RequestTimeoutOverhead(2*time.Second), kgo.RetryTimeout(5*time.Second))
	if err != nil {
		return nil, nil, err
	}
	return kadm.NewClient(cl), cl.Close, nil
}

// waitFor polls cond every 100 ms for up to 60 s.
func waitFor(ctx context.Context, what string, cond func() bool) error {
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("timed out waiting for %s", what)
		}
		sleep(ctx, 100*time.Millisecond)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
