package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/chaos"
)

// The fixture is the data directory of a single-node Samsa from before the
// metadata quorum (commit 7be7d71): topic "legacy" with 3 partitions and
// 300 records (100, 96, 104), and group "lg" that committed all of them.
const (
	fixture          = "testdata/single-node-7be7d71.tar.gz"
	fixtureClusterID = "JgPkfxufRKif5F5QsAxguw"
)

func extractFixture(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("tar", "-xzf", fixture, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("extract %s: %v\n%s", fixture, err, out)
	}
}

// checkLegacy reads the fixture's records and committed offsets through
// seeds.
func checkLegacy(t *testing.T, seeds []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics("legacy"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	seen := map[string]bool{}
	for len(seen) < 300 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of the 300 records written before the upgrade", len(seen))
		}
		fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
	}
	adm := kadm.NewClient(cl)
	for {
		offs, err := adm.FetchOffsets(ctx, "lg")
		if err == nil {
			var sum int64
			offs.Each(func(o kadm.OffsetResponse) { sum += o.At })
			if sum != 300 {
				t.Fatalf("group lg's committed offsets sum to %d, want 300", sum)
			}
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("fetch offsets: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestUpgradeSingleNode: today's binary, started with no cluster settings
// on the data directory of the single-node Samsa before the quorum, has
// every record and committed offset.
func TestUpgradeSingleNode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	extractFixture(t, dir)
	addr := freeAddr(t)
	startBinary(t, dir, addr)
	checkLegacy(t, []string{addr})
	if _, err := os.Stat(filepath.Join(dir, "__cluster_metadata.log.imported")); err != nil {
		t.Errorf("the single-node metadata log was not marked imported: %v", err)
	}
}

// TestUpgradeToCluster: the same data directory starts as node 1 of a new
// three-node cluster (with its own cluster id): the topics, records and
// committed offsets are there, and the cluster creates replicated topics.
func TestUpgradeToCluster(t *testing.T) {
	base, _ := os.MkdirTemp("", "upgrade-")
	cl, err := chaos.NewCluster(binary, base, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	cl.ClusterID = fixtureClusterID
	extractFixture(t, cl.Node(1).Dir)
	if err := cl.StartAll(); err != nil {
		t.Fatal(err)
	}
	checkLegacy(t, cl.Addrs())
	acl, err := kgo.NewClient(kgo.SeedBrokers(cl.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer acl.Close()
	adm := kadm.NewClient(acl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Every node must see the three registrations: a node lists itself in
	// Metadata before its own registration is committed, so one node's
	// answer is not enough for the RF 3 create below, which any node may
	// plan.
	for _, addr := range cl.Addrs() {
		one, err := kgo.NewClient(kgo.SeedBrokers(addr))
		if err != nil {
			t.Fatal(err)
		}
		for {
			r, err := one.SeedBrokers()[0].Request(ctx, kmsg.NewPtrMetadataRequest())
			if md, ok := r.(*kmsg.MetadataResponse); err == nil && ok && len(md.Brokers) == 3 {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("three brokers never registered as %s sees it", addr)
			}
			time.Sleep(50 * time.Millisecond)
		}
		one.Close()
	}
	if r, err := adm.CreateTopic(ctx, 3, 3, nil, "after-upgrade"); err != nil || r.Err != nil {
		t.Fatalf("create a replicated topic: %v %v", err, r.Err)
	}
}
