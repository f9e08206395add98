package server_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// waitBrokers waits until Metadata through adm lists n (unfenced) brokers.
func waitBrokers(t *testing.T, adm *kadm.Client, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d brokers", n), func() bool {
		md, err := adm.BrokerMetadata(ctxFor(t, 5*time.Second))
		return err == nil && len(md.Brokers) == n
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
