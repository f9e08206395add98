package broker_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// txnProduce runs one transaction of n records over topic and commits or
// aborts it.
func txnProduce(t *testing.T, cl *kgo.Client, topic, prefix string, n int, commit bool) {
	t.Helper()
	ctx := ctxT(t)
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(strconv.Itoa(i)), Value: []byte(fmt.Sprintf("%s-%d", prefix, i))})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatal(err)
	}
}

// readValues reads topic from the start until it has seen want records
// (or, if want < 0, until a poll returns nothing for a second).
func readValues(t *testing.T, addr, topic string, want int, opts ...kgo.Opt) []string {
	t.Helper()
	cl := newClient(t, addr, append([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	var out []string
	deadline := time.Now().Add(20 * time.Second)
	for (want < 0 || len(out) < want) && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) { out = append(out, string(r.Value)) })
		if want < 0 && fs.NumRecords() == 0 {
			break
		}
	}
	return out
}

func count(vals []string, prefix string) int {
	n := 0
	for _, v := range vals {
		if len(v) > len(prefix) && v[:len(prefix)+1] == prefix+"-" {
			n++
		}
	}
	return n
}

// A committed transaction is visible to read_committed readers, an
// aborted one only to read_uncommitted readers, and a reader of either
// kind never sees the control batches.
//
// Both transaction protocols: V2 (Kafka 4 clients: Produce v12 adds the
// partition, EndTxn v5 bumps the epoch) and V1 (Kafka 3.9 versions:
// AddPartitionsToTxn, with the leader verifying the first write).
func TestTxnCommitAbortReadCommitted(t *testing.T) {
	for _, v := range []struct {
		name string
		opts []kgo.Opt
	}{{"V2", nil}, {"V1", []kgo.Opt{kgo.MaxVersions(kversion.V3_9_0())}}} {
		t.Run(v.name, func(t *testing.T) { testTxnCommitAbort(t, v.opts...) })
	}
}

func testTxnCommitAbort(t *testing.T, opts ...kgo.Opt) {
	b := brokertest.Start(t, "transaction.state.log.num.partitions", "4")
	createTopic(t, b.Addr(), "tx", 3, nil)
	cl := newClient(t, b.Addr(), append([]kgo.Opt{kgo.TransactionalID("tx-1"), kgo.DefaultProduceTopic("tx")}, opts...)...)
	txnProduce(t, cl, "tx", "c1", 30, true)
	txnProduce(t, cl, "tx", "a1", 30, false)
	txnProduce(t, cl, "tx", "c2", 30, true)

	committed := readValues(t, b.Addr(), "tx", -1, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if count(committed, "c1") != 30 || count(committed, "c2") != 30 || count(committed, "a1") != 0 || len(committed) != 60 {
		t.Fatalf("read_committed: c1 %d c2 %d a1 %d of %d", count(committed, "c1"), count(committed, "c2"), count(committed, "a1"), len(committed))
	}
	all := readValues(t, b.Addr(), "tx", -1)
	if len(all) != 90 || count(all, "a1") != 30 {
		t.Fatalf("read_uncommitted saw %d records (%d aborted), want 90 (30)", len(all), count(all, "a1"))
	}

	// ListOffsets: latest is the end of the log (markers included) and
	// the same for both isolation levels once nothing is open.
	adm := kadm.NewClient(newClient(t, b.Addr()))
	ends, err := adm.ListEndOffsets(ctxT(t), "tx")
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	ends.Each(func(o kadm.ListedOffset) { sum += o.Offset })
	if sum != 90+3*3 { // records plus one marker per partition per transaction
		t.Fatalf("end offsets sum %d, want %d", sum, 99)
	}
}

// An open transaction holds read_committed readers back at its first
// offset (the last stable offset) while read_uncommitted readers see it.
func TestTxnOpenHoldsLastStableOffset(t *testing.T) {
	b := brokertest.Start(t, "transaction.state.log.num.partitions", "2")
	createTopic(t, b.Addr(), "lso", 1, nil)
	plain := newClient(t, b.Addr(), kgo.DefaultProduceTopic("lso"))
	if err := plain.ProduceSync(ctxT(t), &kgo.Record{Value: []byte("before-0")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	tx := newClient(t, b.Addr(), kgo.TransactionalID("open-1"), kgo.DefaultProduceTopic("lso"))
	if err := tx.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := tx.ProduceSync(ctxT(t), &kgo.Record{Value: []byte("open-0")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := plain.ProduceSync(ctxT(t), &kgo.Record{Value: []byte("after-0")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	rc := readValues(t, b.Addr(), "lso", -1, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if len(rc) != 1 || rc[0] != "before-0" {
		t.Fatalf("read_committed during the transaction: %q, want [before-0]", rc)
	}
	ru := readValues(t, b.Addr(), "lso", 3)
	if len(ru) != 3 {
		t.Fatalf("read_uncommitted during the transaction: %q", ru)
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.IsolationLevel = 1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = "lso"
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctxT(t), newClient(t, b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Topics[0].Partitions[0].Offset; got != 1 {
		t.Fatalf("read_committed latest offset %d, want 1 (the open transaction's first offset)", got)
	}
	if err := tx.EndTransaction(ctxT(t), kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	rc = readValues(t, b.Addr(), "lso", 3, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if len(rc) != 3 {
		t.Fatalf("read_committed after commit: %q", rc)
	}
}

// A second producer with the same transactional id fences the first: the
// first's transaction is aborted and its next request fails as fenced.
func TestTxnZombieFenced(t *testing.T) {
	b := brokertest.Start(t, "transaction.state.log.num.partitions", "2")
	createTopic(t, b.Addr(), "zombie", 2, nil)
	old := newClient(t, b.Addr(), kgo.TransactionalID("z"), kgo.DefaultProduceTopic("zombie"))
	if err := old.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := old.ProduceSync(ctxT(t), &kgo.Record{Value: []byte("zombie-0")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// The new instance's InitProducerId aborts the open transaction.
	fresh := newClient(t, b.Addr(), kgo.TransactionalID("z"), kgo.DefaultProduceTopic("zombie"))
	txnProduce(t, fresh, "zombie", "fresh", 5, true)

	err := old.EndTransaction(ctxT(t), kgo.TryCommit)
	if err == nil {
		t.Fatal("the fenced producer committed")
	}
	if !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) && !errors.Is(err, kerr.InvalidTxnState) && !errors.Is(err, kerr.TransactionAbortable) {
		t.Logf("fenced producer's commit failed with %v", err)
	}
	rc := readValues(t, b.Addr(), "zombie", -1, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if count(rc, "zombie") != 0 || count(rc, "fresh") != 5 {
		t.Fatalf("read_committed: %q", rc)
	}
}

// A transaction left open past transaction.timeout.ms is aborted by the
// coordinator, and read_committed readers move past it.
func TestTxnTimeoutAborts(t *testing.T) {
	b := brokertest.Start(t, "transaction.state.log.num.partitions", "2", "transaction.abort.timed.out.transaction.cleanup.interval.ms", "200")
	createTopic(t, b.Addr(), "late", 1, nil)
	tx := newClient(t, b.Addr(), kgo.TransactionalID("late-1"), kgo.DefaultProduceTopic("late"), kgo.TransactionTimeout(time.Second))
	if err := tx.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := tx.ProduceSync(ctxT(t), &kgo.Record{Value: []byte("late-0")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	plain := newClient(t, b.Addr(), kgo.DefaultProduceTopic("late"))
	if err := plain.ProduceSync(ctxT(t), &kgo.Record{Value: []byte("plain-0")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// Once aborted, the LSO passes the abandoned transaction.
	rc := readValues(t, b.Addr(), "late", 1, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if len(rc) != 1 || rc[0] != "plain-0" {
		t.Fatalf("read_committed after the timeout: %q", rc)
	}
	if err := tx.EndTransaction(ctxT(t), kgo.TryCommit); err == nil {
		t.Fatal("committing a timed-out transaction succeeded")
	}
}

// DescribeTransactions and ListTransactions show a transaction's state.
func TestTxnDescribeList(t *testing.T) {
	b := brokertest.Start(t, "transaction.state.log.num.partitions", "2")
	createTopic(t, b.Addr(), "desc", 2, nil)
	tx := newClient(t, b.Addr(), kgo.TransactionalID("desc-1"), kgo.DefaultProduceTopic("desc"))
	if err := tx.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := tx.ProduceSync(ctxT(t), &kgo.Record{Key: []byte("k"), Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(newClient(t, b.Addr()))
	ds, err := adm.DescribeTransactions(ctxT(t), "desc-1")
	if err != nil {
		t.Fatal(err)
	}
	d, ok := ds["desc-1"]
	if !ok || d.Err != nil || d.State != "Ongoing" || len(d.Topics) != 1 {
		t.Fatalf("describe: %+v", ds)
	}
	ls, err := adm.ListTransactions(ctxT(t), nil, []string{"Ongoing"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ls["desc-1"]; !ok {
		t.Fatalf("list Ongoing: %+v", ls)
	}
	if err := tx.EndTransaction(ctxT(t), kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	ls, err = adm.ListTransactions(ctxT(t), nil, []string{"Ongoing"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ls["desc-1"]; ok {
		t.Fatalf("still Ongoing after commit: %+v", ls)
	}
}

// A consume-transform-produce pipeline with franz-go's
// GroupTransactSession, stopped and restarted mid-stream (some of its
// transactions aborted by the stop), delivers every input record to the
// output exactly once, and the group's committed offsets end at the input's
// end.
func TestTxnETLExactlyOnce(t *testing.T) {
	for _, v := range []struct {
		name string
		opts []kgo.Opt
	}{{"V2", nil}, {"V1", []kgo.Opt{kgo.MaxVersions(kversion.V3_9_0())}}} {
		t.Run(v.name, func(t *testing.T) { testTxnETL(t, v.opts...) })
	}
}

func testTxnETL(t *testing.T, opts ...kgo.Opt) {
	b := brokertest.Start(t, "transaction.state.log.num.partitions", "3", "offsets.topic.num.partitions", "3",
		"group.initial.rebalance.delay.ms", "0")
	createTopic(t, b.Addr(), "etl-in", 4, nil)
	createTopic(t, b.Addr(), "etl-out", 4, nil)
	const n = 3000
	in := newClient(t, b.Addr(), kgo.DefaultProduceTopic("etl-in"))
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))})
	}
	if err := in.ProduceSync(ctxT(t), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// run processes up to limit records (all if limit < 0) in
	// transactions of at most 100, then stops: cleanly, or (abandon) with
	// a transaction open that the next instance's init aborts.
	run := func(limit int, abandon bool) int {
		sess, err := kgo.NewGroupTransactSession(append([]kgo.Opt{
			kgo.SeedBrokers(b.Addr()), kgo.TransactionalID("etl"), kgo.ConsumerGroup("etl-group"),
			kgo.ConsumeTopics("etl-in"), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.RequireStableFetchOffsets(), kgo.DefaultProduceTopic("etl-out"),
			kgo.RetryTimeout(10 * time.Second),
		}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		done := 0
		idle := 0
		for limit < 0 || done < limit {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			fs := sess.PollRecords(ctx, 100)
			cancel()
			if fs.NumRecords() == 0 {
				if idle++; idle > 3 {
					break
				}
				continue
			}
			idle = 0
			if err := sess.Begin(); err != nil {
				t.Fatal(err)
			}
			fs.EachRecord(func(r *kgo.Record) {
				sess.Produce(context.Background(), &kgo.Record{Key: r.Key, Value: append([]byte("out-"), r.Value...)}, nil)
			})
			if abandon && limit >= 0 && done+fs.NumRecords() >= limit {
				return done // stop with this transaction open
			}
			committed, err := sess.End(ctxT(t), kgo.TryCommit)
			if err != nil {
				t.Fatal(err)
			}
			if committed {
				done += fs.NumRecords()
			}
		}
		return done
	}
	run(700, false)
	run(700, true)
	run(-1, false)

	out := readValues(t, b.Addr(), "etl-out", n, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	seen := map[string]int{}
	for _, v := range out {
		seen[v]++
	}
	for i := range n {
		if c := seen["out-"+strconv.Itoa(i)]; c != 1 {
			t.Fatalf("input %d appears %d times in the output (%d output records)", i, c, len(out))
		}
	}
	if len(out) != n {
		t.Fatalf("%d output records, want %d", len(out), n)
	}
	adm := kadm.NewClient(newClient(t, b.Addr()))
	offs, err := adm.FetchOffsets(ctxT(t), "etl-group")
	if err != nil {
		t.Fatal(err)
	}
	ends, err := adm.ListEndOffsets(ctxT(t), "etl-in")
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(e kadm.ListedOffset) {
		o, ok := offs.Lookup("etl-in", e.Partition)
		if !ok || o.At != e.Offset {
			t.Errorf("etl-in-%d: committed %+v, end %d", e.Partition, o, e.Offset)
		}
	})
}
