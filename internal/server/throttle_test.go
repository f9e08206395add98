package server_test

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// logBytes is the size of the record data of a partition in dir.
func logBytes(t *testing.T, dir, topic string, p int) int64 {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, fmt.Sprintf("%s-%d", topic, p), "*.log"))
	var n int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n
}

// createOn makes a one-partition topic whose replicas are the given brokers.
func createOn(t *testing.T, cl *kgo.Client, topic string, replicas ...int32) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
	ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
	ra.Replicas = replicas
	rt.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{ra}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctxFor(t, 20*time.Second), cl)
	if err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create %s on %v: %v %+v", topic, replicas, err, resp)
	}
}

// TestReplicationThrottle: what kafka-reassign-partitions --throttle sets
// holds a moving replica to the rate. A partition of 4 MB is moved onto a
// new broker with follower.replication.throttled.rate (on the new broker)
// and then another with leader.replication.throttled.rate (on the
// leader), 200 kB/s each: while the throttle is on, the new replica holds
// no more than the rate allows (plus one second's burst and one fetch);
// with the throttle removed the move completes and every record is there.
func TestReplicationThrottle(t *testing.T) {
	c := brokertest.StartCluster(t, 3)
	adm := adminFor(t, c.Addrs()...)
	waitBrokers(t, adm, 3)
	raw := client(t, kgo.SeedBrokers(c.Addrs()...), kgo.ProducerBatchMaxBytes(1<<20))
	const rate = 200_000
	for _, tc := range []struct {
		topic     string
		to        int32  // the broker the replica moves to
		throttler int32  // the broker whose rate is set
		rateKey   string // the broker setting
		listKey   string // the topic setting
	}{
		{"thf", 2, 2, "follower.replication.throttled.rate", "follower.replication.throttled.replicas"},
		{"thl", 3, 1, "leader.replication.throttled.rate", "leader.replication.throttled.replicas"},
	} {
		createOn(t, raw, tc.topic, 1)
		for i := 0; i < 400; i++ {
			value := make([]byte, 10_000) // incompressible
			rand.Read(value)
			raw.Produce(ctxFor(t, 30*time.Second), &kgo.Record{Topic: tc.topic, Value: value}, nil)
		}
		if err := raw.Flush(ctxFor(t, 30*time.Second)); err != nil {
			t.Fatal(err)
		}
		r, err := adm.AlterBrokerConfigs(ctxFor(t, 10*time.Second), []kadm.AlterConfig{{Name: tc.rateKey, Value: kadm.StringPtr(fmt.Sprint(rate))}}, tc.throttler)
		if err != nil || r[0].Err != nil {
			t.Fatalf("set %s: %v %v", tc.rateKey, err, r)
		}
		r, err = adm.AlterTopicConfigs(ctxFor(t, 10*time.Second), []kadm.AlterConfig{{Name: tc.listKey, Value: kadm.StringPtr(fmt.Sprintf("0:%d", tc.to))}}, tc.topic)
		if err != nil || r[0].Err != nil {
			t.Fatalf("set %s: %v %v", tc.listKey, err, r)
		}
		time.Sleep(200 * time.Millisecond) // every node applies the settings
		start := time.Now()
		req := kadm.AlterPartitionAssignmentsReq{}
		req.Assign(tc.topic, 0, []int32{1, tc.to})
		if res, err := adm.AlterPartitionAssignments(ctxFor(t, 20*time.Second), req); err != nil || res.Error() != nil {
			t.Fatalf("reassign: %v %v", err, res.Error())
		}
		time.Sleep(2 * time.Second)
		got := logBytes(t, c.Node(tc.to).Dir(), tc.topic, 0)
		bound := int64(rate*(time.Since(start).Seconds()+1)) + 1<<20
		if got > bound {
			t.Errorf("%s: the throttled replica on broker %d copied %d bytes in %v, more than %d", tc.rateKey, tc.to, got, time.Since(start), bound)
		}
		total := logBytes(t, c.Node(1).Dir(), tc.topic, 0)
		if got >= total {
			t.Errorf("%s: the move finished (%d of %d bytes) under a throttle", tc.rateKey, got, total)
		}
		// Throttle off (kafka-reassign-partitions --verify removes it).
		r, err = adm.AlterBrokerConfigs(ctxFor(t, 10*time.Second), []kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: tc.rateKey}}, tc.throttler)
		if err != nil || r[0].Err != nil {
			t.Fatalf("remove %s: %v %v", tc.rateKey, err, r)
		}
		waitFor(t, tc.topic+" moved", func() bool {
			md, err := adm.Metadata(ctxFor(t, 5*time.Second), tc.topic)
			if err != nil {
				return false
			}
			p := md.Topics[tc.topic].Partitions[0]
			return slices.Equal(p.Replicas, []int32{1, tc.to}) && len(p.ISR) == 2
		})
		if got, want := logBytes(t, c.Node(tc.to).Dir(), tc.topic, 0), logBytes(t, c.Node(1).Dir(), tc.topic, 0); got != want {
			t.Errorf("%s: moved replica has %d bytes, the leader %d", tc.topic, got, want)
		}
	}
}
