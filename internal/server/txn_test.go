package server_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// The transaction coordinator moves with the leadership of its
// __transaction_state partition: with the coordinator of an open
// transaction stopped, the producer finds the new one (which replayed the
// replicated state), commits, and read_committed readers see exactly the
// committed records; an aborted transaction after that stays invisible.
func TestTxnCoordinatorFailover(t *testing.T) {
	c := brokertest.StartCluster(t, 3, "transaction.state.log.num.partitions", "3",
		"offsets.topic.num.partitions", "3", "broker.session.timeout.ms", "2000")
	adm := adminFor(t, c.Addrs()...)
	waitBrokers(t, adm, 3)
	createTopic(t, adm, "ct", 3, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")})

	tx := client(t, kgo.SeedBrokers(c.Addrs()...), kgo.TransactionalID("ct-1"), kgo.DefaultProduceTopic("ct"),
		kgo.RetryTimeout(30*time.Second), kgo.TransactionTimeout(60*time.Second))
	if err := tx.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i := range 100 {
		recs = append(recs, &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: []byte("c-" + strconv.Itoa(i))})
	}
	if err := tx.ProduceSync(ctxFor(t, 30*time.Second), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	ds, err := adm.DescribeTransactions(ctxFor(t, 10*time.Second), "ct-1")
	if err != nil {
		t.Fatal(err)
	}
	coord := ds["ct-1"].Coordinator
	if ds["ct-1"].State != "Ongoing" || coord < 1 {
		t.Fatalf("before failover: %+v", ds)
	}
	c.Node(coord).Stop()
	if err := tx.EndTransaction(ctxFor(t, 60*time.Second), kgo.TryCommit); err != nil {
		t.Fatalf("commit after the coordinator (node %d) stopped: %v", coord, err)
	}
	// An aborted transaction through the new coordinator.
	if err := tx.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := tx.ProduceSync(ctxFor(t, 30*time.Second), &kgo.Record{Value: []byte("a-0")}, &kgo.Record{Value: []byte("a-1")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := tx.EndTransaction(ctxFor(t, 30*time.Second), kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
	var live []string
	for id := int32(1); id <= 3; id++ {
		if id != coord {
			live = append(live, c.Node(id).Addr())
		}
	}
	got := readCommitted(t, live, "ct", 100)
	for i := range 100 {
		if got["c-"+strconv.Itoa(i)] != 1 {
			t.Fatalf("c-%d read %d times", i, got["c-"+strconv.Itoa(i)])
		}
	}
	if got["a-0"]+got["a-1"] != 0 || len(got) != 100 {
		t.Fatalf("read_committed saw %d distinct values, aborted ones %d", len(got), got["a-0"]+got["a-1"])
	}

	// The stopped node comes back; the id keeps working wherever its
	// coordinator now is.
	c.Node(coord).StartAgain()
	waitBrokers(t, adm, 3)
	if err := tx.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := tx.ProduceSync(ctxFor(t, 30*time.Second), &kgo.Record{Value: []byte("c-after")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := tx.EndTransaction(ctxFor(t, 30*time.Second), kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	if got := readCommitted(t, c.Addrs(), "ct", 101); got["c-after"] != 1 {
		t.Fatalf("after the restart: %d", got["c-after"])
	}
}

// readCommitted reads topic with read_committed until n records came
// (then a second more), counting values.
func readCommitted(t *testing.T, seeds []string, topic string, n int) map[string]int {
	t.Helper()
	cl := client(t, kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	got := map[string]int{}
	total := 0
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) { got[string(r.Value)]++; total++ })
		if total >= n && fs.NumRecords() == 0 {
			break
		}
	}
	return got
}
