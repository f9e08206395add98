package cli

import (
	"strings"
	"testing"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

func TestBrokerConfig(t *testing.T) {
	b := brokertest.Start(t)
	out, errOut, code := runCLI(t, "", "-b", b.Addr(), "broker", "config", "--set", "num.partitions=3", "--set", "log.retention.ms=5000000")
	if code != 0 || !strings.Contains(out, "Updated the cluster-wide default (2 set, 0 deleted)") {
		t.Fatalf("set: code %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runCLI(t, "", "-b", b.Addr(), "broker", "config")
	if code != 0 || !strings.Contains(out, "num.partitions") || !strings.Contains(out, "dynamic (cluster default)") || !strings.Contains(out, "5000000") {
		t.Fatalf("describe: code %d\n%s%s", code, out, errOut)
	}
	_, errOut, code = runCLI(t, "", "-b", b.Addr(), "broker", "config", "--node", "1", "--set", "log.dirs=/x")
	if code == 0 || !strings.Contains(errOut, "restart") {
		t.Fatalf("read-only setting: code %d, %s", code, errOut)
	}
	out, errOut, code = runCLI(t, "", "-b", b.Addr(), "broker", "config", "--delete", "num.partitions")
	if code != 0 {
		t.Fatalf("delete: %s", errOut)
	}
	out, _, _ = runCLI(t, "", "-b", b.Addr(), "--json", "broker", "config")
	if strings.Contains(out, `"num.partitions"`) {
		t.Fatalf("num.partitions still dynamic after --delete:\n%s", out)
	}
}
