package broker

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// BenchmarkMetricsRequestPath is what the request path pays for metrics
// per produce request of one partition: four clock readings, the per-API
// counters and histograms, the error walk of the response, and the
// topic's byte and record counters.
//
//	go test ./internal/broker -run '^$' -bench MetricsRequestPath
func BenchmarkMetricsRequestPath(b *testing.B) {
	m := newBrokerMetrics()
	resp := kmsg.NewPtrProduceResponse()
	rt := kmsg.NewProduceResponseTopic()
	rt.Topic = "orders"
	rt.Partitions = append(rt.Partitions, kmsg.NewProduceResponseTopicPartition())
	resp.Topics = append(resp.Topics, rt)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p := pending{key: 0, held: 16 << 10, arrived: mono()}
			p.started = mono()
			m.produced("orders", 16<<10, 100)
			p.resp, p.readyAt = resp, mono()
			m.requestDone(&p, 0)
		}
	})
}
