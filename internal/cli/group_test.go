package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

func TestEndToEndGroups(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	r := &cliRunner{t: t, addr: brokertest.Start(t, "group.initial.rebalance.delay.ms", "0").Addr()}
	r.ok("", "topic", "create", "gt", "-p", "2")
	r.ok("a\nb\nc\nd\ne\nf\n", "produce", "gt")

	// consume -g reads from the beginning and commits what it printed.
	stdout, _ := r.ok("", "consume", "gt", "-g", "app", "--from-beginning", "-n", "4")
	if n := len(strings.Fields(stdout)); n != 4 {
		t.Fatalf("consumed %q", stdout)
	}
	var descs []groupDescription
	r.json(&descs, "group", "describe", "app")
	d := descs[0]
	if d.State != "Empty" || d.TotalLag != 2 || len(d.Offsets) != 2 {
		t.Fatalf("describe after 4 of 6: %+v", d)
	}
	// The next member of the group continues where the first stopped.
	stdout, _ = r.ok("", "consume", "gt", "-g", "app", "-n", "2")
	if n := len(strings.Fields(stdout)); n != 2 {
		t.Fatalf("second consume %q", stdout)
	}
	r.json(&descs, "group", "describe", "app")
	if descs[0].TotalLag != 0 {
		t.Fatalf("lag after reading everything: %+v", descs[0])
	}
	table, _ := r.ok("", "group", "describe", "app")
	for _, col := range []string{"CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "gt"} {
		if !strings.Contains(table, col) {
			t.Errorf("describe table lacks %s:\n%s", col, table)
		}
	}

	var list []groupSummary
	r.json(&list, "group", "list")
	if len(list) != 1 || list[0].Group != "app" || list[0].State != "Empty" {
		t.Fatalf("list: %+v", list)
	}

	// Reset: a dry run changes nothing; --execute moves to the start.
	r.ok("", "group", "reset-offsets", "app", "--topic", "gt", "--to-earliest")
	r.json(&descs, "group", "describe", "app")
	if descs[0].TotalLag != 0 {
		t.Fatal("dry run committed")
	}
	r.ok("", "group", "reset-offsets", "app", "--topic", "gt", "--to-earliest", "--execute")
	r.json(&descs, "group", "describe", "app")
	if descs[0].TotalLag != 6 {
		t.Fatalf("after reset to earliest: %+v", descs[0])
	}
	r.ok("", "group", "reset-offsets", "app", "--all-topics", "--shift-by", "1", "--execute")
	r.json(&descs, "group", "describe", "app")
	if descs[0].TotalLag != 5 { // the empty partition stays at 0
		t.Fatalf("after shift by 1: %+v", descs[0])
	}

	r.ok("", "group", "delete-offsets", "app", "--topic", "gt:0")
	r.json(&descs, "group", "describe", "app")
	for _, o := range descs[0].Offsets {
		if o.Partition == 0 && o.CurrentOffset != nil {
			t.Fatalf("partition 0 offset survived delete-offsets: %+v", o)
		}
	}
	if stderr := r.fail("group", "delete", "nope"); !strings.Contains(stderr, "does not exist") {
		t.Errorf("delete unknown: %s", stderr)
	}
	r.ok("", "group", "delete", "app")
	r.json(&list, "group", "list")
	if len(list) != 0 {
		t.Fatalf("after delete: %+v", list)
	}
	if stderr := r.fail("group", "describe", "app"); !strings.Contains(stderr, "does not exist") {
		t.Errorf("describe deleted: %s", stderr)
	}
}

// A KIP-848 group (group.protocol=consumer) is described through
// ConsumerGroupDescribe with the same columns.
func TestEndToEndConsumerProtocolGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	b := brokertest.Start(t, "group.consumer.heartbeat.interval.ms", "100")
	r := &cliRunner{t: t, addr: b.Addr()}
	r.ok("", "topic", "create", "kt", "-p", "3")
	r.ok("1\n2\n3\n4\n", "produce", "kt")
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.ConsumerGroup("next"), kgo.ConsumeTopics("kt"),
		kgo.ServerSideBalancer(), kgo.Balancers(kgo.RangeBalancer()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for n := 0; n < 4; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of 4", n)
		}
		n += len(fs.Records())
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	var descs []groupDescription
	r.json(&descs, "group", "describe", "next")
	d := descs[0]
	if d.ProtocolType != "consumer" || d.Protocol != "range" || len(d.Members) != 1 || d.TotalLag != 0 || len(d.Offsets) != 3 {
		t.Fatalf("describe: %+v", d)
	}
	var list []groupSummary
	r.json(&list, "group", "list")
	if len(list) != 1 || list[0].Group != "next" {
		t.Fatalf("list: %+v", list)
	}
}
