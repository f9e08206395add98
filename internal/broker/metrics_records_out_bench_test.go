package broker

import "testing"

// BenchmarkRecordsOut is what records out costs the fetch path per
// partition of a consumer's response (partition.ServedTo's lock aside):
// a read that reached the high watermark is counted at once; a cut one
// is kept on the connection and settled by the next fetch.
//
//	go test ./internal/broker -run '^$' -bench RecordsOut
func BenchmarkRecordsOut(b *testing.B) {
	m := newBrokerMetrics()
	fp := []*fetchPart{{topic: "orders", partition: 3, offset: 200}}
	b.Run("whole", func(b *testing.B) {
		c := &conn{}
		r := []servedRange{{topic: "orders", partition: 3, from: 100, end: 200}}
		b.ReportAllocs()
		for b.Loop() {
			m.advanced(c, fp)
			m.served(c, r)
		}
	})
	b.Run("cut", func(b *testing.B) {
		c := &conn{}
		r := []servedRange{{topic: "orders", partition: 3, from: 100, end: -1, bound: 500}}
		b.ReportAllocs()
		for b.Loop() {
			m.served(c, r)
			m.advanced(c, fp)
		}
	})
}
