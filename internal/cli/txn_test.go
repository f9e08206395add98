package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

func TestEndToEndTxn(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	b := brokertest.Start(t, "transaction.state.log.num.partitions", "2")
	r := &cliRunner{t: t, addr: b.Addr()}
	r.ok("", "topic", "create", "tt", "-p", "1")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.TransactionalID("cli-tx"), kgo.DefaultProduceTopic("tt"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("open")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	var list []txnSummary
	r.json(&list, "txn", "list", "--state", "Ongoing")
	if len(list) != 1 || list[0].TransactionalID != "cli-tx" || list[0].Coordinator != 1 {
		t.Fatalf("list: %+v", list)
	}
	var descs []txnDescription
	r.json(&descs, "txn", "describe", "cli-tx")
	if len(descs) != 1 || descs[0].State != "Ongoing" || strings.Join(descs[0].Partitions, ",") != "tt-0" || descs[0].StartTime == "" {
		t.Fatalf("describe: %+v", descs)
	}
	var ps []producerState
	r.json(&ps, "txn", "describe-producers", "--topic", "tt", "--partition", "0")
	if len(ps) != 1 || ps[0].CurrentTxnStartOffset != 0 || ps[0].ProducerID != list[0].ProducerID {
		t.Fatalf("describe-producers: %+v", ps)
	}
	// Open at its coordinator: not hanging, however old.
	var hs []hangingTxn
	r.json(&hs, "txn", "find-hanging", "--max-transaction-timeout", "0s")
	if len(hs) != 0 {
		t.Fatalf("find-hanging: %+v", hs)
	}
	// Aborting by start offset ends the transaction in the partition.
	out, _ := r.ok("", "txn", "abort", "--topic", "tt", "--partition", "0", "--start-offset", "0")
	if !strings.Contains(out, "Aborted") {
		t.Fatalf("abort: %q", out)
	}
	r.json(&ps, "txn", "describe-producers", "--topic", "tt", "--partition", "0")
	if len(ps) != 1 || ps[0].CurrentTxnStartOffset != -1 {
		t.Fatalf("after abort: %+v", ps)
	}
	if msg := r.fail("txn", "abort", "--topic", "tt", "--partition", "0", "--start-offset", "0"); !strings.Contains(msg, "no open transaction") {
		t.Fatalf("second abort: %q", msg)
	}
	table, _ := r.ok("", "txn", "describe", "cli-tx")
	for _, col := range []string{"TRANSACTIONAL-ID", "Ongoing", "tt-0"} {
		if !strings.Contains(table, col) {
			t.Errorf("describe table lacks %s:\n%s", col, table)
		}
	}
}
