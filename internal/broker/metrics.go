package broker

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metrics"
)

// brokerMetrics are the metrics updated on the request path. They must
// cost next to nothing there: every per-API series is resolved once, on
// the API's first request, into an array indexed by API key; per-topic
// traffic is plain atomics found with one sync.Map lookup per topic of a
// request, exported by the collector at scrape time. Everything that is a
// state (sizes, offsets, lag, connections) is not kept here at all: the
// collector (metrics_collector.go) reads it when scraped.
type brokerMetrics struct {
	apiMu sync.Mutex // serialises creating an apiMetrics
	apis  [kmsg.MaxKey + 1]atomic.Pointer[apiMetrics]

	requests, requestBytes                  *prometheus.CounterVec
	errors                                  *prometheus.CounterVec
	queue, handling, respQueue, send, total *prometheus.HistogramVec
	errCounters                             sync.Map // errKey -> prometheus.Counter

	topics sync.Map // topic name -> *topicStats

	fetchWaiting        atomic.Int64  // fetches long-polling (Kafka's fetch purgatory)
	replicationBytesOut atomic.Uint64 // record bytes sent to followers
	connsOpened         sync.Map      // listener name -> *atomic.Uint64
	isrShrinks          atomic.Uint64 // ISR shrinks of partitions this broker leads
	isrExpands          atomic.Uint64

	scratchMu sync.Mutex // guards scratch
	scratch   scrapeScratch
}

// apiMetrics are one API's pre-resolved series.
type apiMetrics struct {
	requests, bytes                         prometheus.Counter
	queue, handling, respQueue, send, total prometheus.Observer
}

// topicStats is one topic's traffic through this broker.
type topicStats struct {
	bytesIn, recordsIn, bytesOut, recordsOut atomic.Uint64
}

type errKey struct{ api, code int16 }

func newBrokerMetrics() *brokerMetrics {
	ns := metrics.Namespace
	hist := func(name, help string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: name, Help: help, Buckets: metrics.LatencyBuckets}, []string{"api"})
	}
	return &brokerMetrics{
		requests:     prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "requests_total", Help: "Requests answered (or, for acks=0 produce, handled), by API."}, []string{"api"}),
		requestBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "request_bytes_total", Help: "Request frame bytes received, by API."}, []string{"api"}),
		errors:       prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "request_errors_total", Help: "Error codes in responses (top-level and per partition), by API and Kafka error name."}, []string{"api", "error"}),
		queue:        hist("request_queue_seconds", "From the request's first bytes to its handler starting: frame read, memory budget wait, decoding."),
		handling:     hist("request_handling_seconds", "From the handler starting to the response being ready, including waits for replication, fsync or fetch data (Kafka's local + remote time)."),
		respQueue:    hist("response_queue_seconds", "From the response being ready to the connection starting to send it (waiting behind earlier responses on the connection)."),
		send:         hist("response_send_seconds", "Time to write the response to the socket."),
		total:        hist("request_total_seconds", "From the request's first bytes to its response written."),
	}
}

// collectors are the registered metric vectors.
func (m *brokerMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.requestBytes, m.errors, m.queue, m.handling, m.respQueue, m.send, m.total}
}

// api returns key's series, creating them on its first request; nil for a
// key kmsg does not know.
func (m *brokerMetrics) api(key int16) *apiMetrics {
	if key < 0 || int(key) >= len(m.apis) {
		return nil
	}
	if a := m.apis[key].Load(); a != nil {
		return a
	}
	m.apiMu.Lock()
	defer m.apiMu.Unlock()
	if a := m.apis[key].Load(); a != nil {
		return a
	}
	name := kmsg.NameForKey(key)
	if name == "" {
		return nil
	}
	a := &apiMetrics{
		requests: m.requests.WithLabelValues(name), bytes: m.requestBytes.WithLabelValues(name),
		queue: m.queue.WithLabelValues(name), handling: m.handling.WithLabelValues(name),
		respQueue: m.respQueue.WithLabelValues(name), send: m.send.WithLabelValues(name),
		total: m.total.WithLabelValues(name),
	}
	m.apis[key].Store(a)
	return a
}

// monoBase anchors mono.
var monoBase = time.Now()

// mono is a monotonic clock reading in nanoseconds, for request timing.
func mono() int64 { return int64(time.Since(monoBase)) }

func seconds(ns int64) float64 { return float64(max(ns, 0)) / 1e9 }

// requestDone records a response just written and returns the time.
// prevEnd is when the connection's previous response was written: the
// writer started on this one when it was ready or when the previous one
// was out, whichever was later, which saves a clock reading per request.
// (A quota throttle's mute before the write counts as sending.)
func (m *brokerMetrics) requestDone(p *pending, prevEnd int64) (end int64) {
	if p.bare || p.started == 0 {
		return prevEnd // a bare SASL token, not a Kafka request
	}
	a := m.api(p.key)
	if a == nil {
		return prevEnd
	}
	now := mono()
	a.requests.Inc()
	a.bytes.Add(float64(p.held))
	ready := p.readyAt
	if ready == 0 {
		ready = p.started // answered without a handler (raw)
	}
	if p.arrived != 0 {
		a.queue.Observe(seconds(p.started - p.arrived))
		a.total.Observe(seconds(now - p.arrived))
	}
	writeStart := max(ready, prevEnd)
	a.handling.Observe(seconds(ready - p.started))
	a.respQueue.Observe(seconds(writeStart - ready))
	a.send.Observe(seconds(now - writeStart))
	if p.resp != nil {
		eachErrorCode(p.resp, func(code int16) { m.countError(p.key, code) })
	}
	return now
}

// countError counts one error code in a response of API key.
func (m *brokerMetrics) countError(key, code int16) {
	if code == 0 {
		return
	}
	k := errKey{key, code}
	if c, ok := m.errCounters.Load(k); ok {
		c.(prometheus.Counter).Inc()
		return
	}
	name := "UNKNOWN"
	if e, ok := kerr.ErrorForCode(code).(*kerr.Error); ok {
		name = e.Message
	}
	c, _ := m.errCounters.LoadOrStore(k, m.errors.WithLabelValues(kmsg.NameForKey(key), name))
	c.(prometheus.Counter).Inc()
}

// topic returns a topic's traffic counters.
func (m *brokerMetrics) topic(name string) *topicStats {
	if t, ok := m.topics.Load(name); ok {
		return t.(*topicStats)
	}
	t, _ := m.topics.LoadOrStore(name, &topicStats{})
	return t.(*topicStats)
}

// produced counts a batch appended by a producer.
func (m *brokerMetrics) produced(topic string, bytes int, records int32) {
	t := m.topic(topic)
	t.bytesIn.Add(uint64(bytes))
	t.recordsIn.Add(uint64(max(records, 0)))
}

// fetched counts the record bytes of a completed fetch response: each
// partition's spliced file range (v4+, markers in resp in slice order) or
// its down-converted records (v0-v3). A follower's fetch counts as
// replication, not as the topic's bytes out, as in Kafka (KIP-153).
func (m *brokerMetrics) fetched(resp *kmsg.FetchResponse, version int16, slices []fileSlice, follower bool) {
	k := 0
	for i := range resp.Topics {
		rt := &resp.Topics[i]
		var n int64
		for j := range rt.Partitions {
			rb := rt.Partitions[j].RecordBatches
			switch {
			case version < 4:
				n += int64(len(rb))
			case len(rb) == markerSize && k < len(slices):
				n += slices[k].size
				k++
			}
		}
		if n == 0 {
			continue
		}
		if follower {
			m.replicationBytesOut.Add(uint64(n))
		} else {
			m.topic(rt.Topic).bytesOut.Add(uint64(n))
		}
	}
}

// Records out. A fetch response is spliced from the log with sendfile
// and never parsed, so the records it carries are counted by their
// offsets, with no batch header read:
//
//   - a partition whose read reached the high watermark (the last stable
//     offset for read_committed) carried every offset from the fetch
//     offset up to it: counted when the response is sent. This is the
//     case of every consumer that keeps up.
//   - a partition cut short by a byte limit (a consumer catching up) ends
//     at an offset only the batches know; the consumer's next fetch of
//     that partition on the same connection starts right after the last
//     whole batch it got: the difference is counted then, never beyond
//     the high watermark the response told.
//
// So records out counts offsets delivered: records, plus the offsets of
// transaction markers and compaction gaps inside what was sent. Records
// before the fetch offset in the first batch (which clients drop) are
// not counted, nor a cut response the consumer never fetches after.
// Fetch v0-v3 responses are converted in memory: their last message's
// offset is read there.

// servedRange is what one partition of a consumer's fetch response
// carried: offsets from from; end is the offset after the last one when
// known, else -1 and bound is the high watermark the response told.
type servedRange struct {
	topic      string
	partition  int32
	from       int64
	end, bound int64
}

// unsettled holds a connection's cut responses until its next fetch.
type unsettled struct {
	n  atomic.Int32 // len(m), read without the lock
	mu sync.Mutex   // guards m
	m  map[partKey]servedRange
}

// maxUnsettled bounds the partitions one connection keeps; beyond it a
// cut response is not counted.
const maxUnsettled = 10000

// served counts a consumer fetch response's records out, or keeps the
// cut ones for the connection's next fetch.
func (m *brokerMetrics) served(c *conn, ranges []servedRange) {
	var t *topicStats
	var name string
	for _, r := range ranges {
		if r.end < 0 {
			c.unsettled.put(r)
			continue
		}
		if t == nil || r.topic != name {
			t, name = m.topic(r.topic), r.topic
		}
		t.recordsOut.Add(uint64(max(r.end-r.from, 0)))
	}
}

func (u *unsettled) put(r servedRange) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		u.m = map[partKey]servedRange{}
	}
	k := partKey{r.topic, r.partition}
	if _, ok := u.m[k]; !ok && len(u.m) >= maxUnsettled {
		return
	}
	u.m[k] = r
	u.n.Store(int32(len(u.m)))
}

// advanced settles the connection's cut responses for the partitions
// this fetch names: the consumer got the offsets up to its new fetch
// offset (at most the high watermark it was told).
func (m *brokerMetrics) advanced(c *conn, parts []*fetchPart) {
	u := &c.unsettled
	if u.n.Load() == 0 {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, fp := range parts {
		k := partKey{fp.topic, fp.partition}
		r, ok := u.m[k]
		if !ok {
			continue
		}
		delete(u.m, k)
		if n := min(fp.offset, r.bound) - r.from; n > 0 {
			m.topic(r.topic).recordsOut.Add(uint64(n))
		}
	}
	u.n.Store(int32(len(u.m)))
}

// lastMessageOffset is the offset of the last whole message of a magic 0
// or 1 message set (a compressed wrapper carries its last inner offset),
// for the records out of a down-converted fetch.
func lastMessageOffset(set []byte) (int64, bool) {
	last, found := int64(0), false
	for pos := 0; pos+12 <= len(set); {
		size := int(binary.BigEndian.Uint32(set[pos+8:]))
		if size < 0 || pos+12+size > len(set) {
			break
		}
		last, found = int64(binary.BigEndian.Uint64(set[pos:])), true
		pos += 12 + size
	}
	return last, found
}

// connOpened counts a connection accepted on a listener.
func (m *brokerMetrics) connOpened(listener string) {
	c, ok := m.connsOpened.Load(listener)
	if !ok {
		c, _ = m.connsOpened.LoadOrStore(listener, new(atomic.Uint64))
	}
	c.(*atomic.Uint64).Add(1)
}
