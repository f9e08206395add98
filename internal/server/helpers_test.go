package server_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// waitBrokers waits until Metadata through adm lists n brokers and every
// one of them lists n too. A broker lists itself even while fenced, so
// one answer naming n brokers does not mean the controller may place
// replicas on all n; n answers that each name all n do: every broker is
// then listed, unfenced, by another's committed image.
func waitBrokers(t *testing.T, adm *kadm.Client, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d unfenced brokers", n), func() bool {
		md, err := adm.BrokerMetadata(ctxFor(t, 5*time.Second))
		if err != nil || len(md.Brokers) != n {
			return false
		}
		for _, b := range md.Brokers {
			cl, err := kgo.NewClient(kgo.SeedBrokers(net.JoinHostPort(b.Host, fmt.Sprint(b.Port))))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctxFor(t, 5*time.Second), cl)
			cl.Close()
			if err != nil || len(resp.Brokers) != n {
				return false
			}
		}
		return true
	})
}

// createTopic creates a topic through adm or fails the test.
func createTopic(t *testing.T, adm *kadm.Client, name string, partitions int32, rf int16, configs map[string]*string) {
	t.Helper()
	if r, err := adm.CreateTopic(ctxFor(t, 20*time.Second), partitions, rf, configs, name); err != nil || r.Err != nil {
		t.Fatalf("create %s: %v %v", name, err, r.Err)
	}
}

// client makes a franz-go client closed when the test ends.
func client(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// numbered returns n values prefix-000, prefix-001, ...
func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return out
}
