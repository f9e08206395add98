package broker

// Client quotas (docs/security.md#quotas): the quotas live in the metadata
// log (AlterClientQuotas); every node builds a quota.Table from its image
// when they change and measures its own clients against it, as each Kafka
// broker does. A client over a quota gets throttle_time_ms in its answer
// and its connection is muted for that long: no further request of it is
// handled (KIP-219; new clients also wait on their own). With no user or
// client-id quota set, each request pays one atomic load.

import (
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/quota"
)

// quotas is the broker's view of the client quotas and its connection
// limits.
type quotas struct {
	mgr   *quota.Manager
	conns *connLimits

	mu     sync.Mutex // guards offset and set: which image the table is of
	offset int64
	set    *metadata.Quotas
}

func newQuotas(b *Broker) *quotas {
	samples, window := b.cfg.QuotaWindow()
	msamples, mwindow := b.cfg.ControllerQuotaWindow()
	q := &quotas{mgr: quota.NewManager(quota.Config{Samples: samples, Window: window}, quota.Config{Samples: msamples, Window: mwindow})}
	q.conns = newConnLimits(b, q)
	b.meta.OnCommit(func(_, next *metadata.Image, _ []metadata.Record) { q.sync(next) })
	q.sync(b.meta.Image())
	return q
}

// sync puts im's quotas in force if they changed; an image older than the
// one in force is ignored (the first sync races the commit hook).
func (q *quotas) sync(im *metadata.Image) {
	set := im.ClientQuotas()
	q.mu.Lock()
	defer q.mu.Unlock()
	if im.Offset < q.offset || (set == q.set && q.offset > 0) {
		return
	}
	q.offset, q.set = im.Offset, set
	t := quota.NewTable()
	set.Each(func(e metadata.QuotaEntity, values map[string]float64) {
		for k, v := range values {
			if e.HasIP() {
				if k == quota.ConnectionCreationRate {
					t.SetIP(e.IP, e.DefaultIP, v)
				}
				continue
			}
			t.Set(quota.Entity{User: e.User, DefaultUser: e.DefaultUser, ClientID: e.ClientID, DefaultClientID: e.DefaultClientID}, k, v)
		}
	})
	q.mgr.SetTable(t)
}

// principalUser is the user name quotas are resolved for: the principal's
// name without its type, as Kafka's KafkaPrincipal.getName
// ("User:ANONYMOUS" is user ANONYMOUS).
func principalUser(principal string) string {
	if _, name, ok := strings.Cut(principal, ":"); ok {
		return name
	}
	return principal
}

// quotaExempt are the requests the request-time quota does not count, as
// Kafka exempts them: those a client needs to connect and authenticate,
// and the brokers' own (a follower's Fetch and OffsetForLeaderEpoch,
// WriteTxnMarkers), which Kafka authorizes as CLUSTER_ACTION.
func quotaExempt(req kmsg.Request) bool {
	switch r := req.(type) {
	case *kmsg.ApiVersionsRequest, *kmsg.SASLHandshakeRequest, *kmsg.SASLAuthenticateRequest, *kmsg.WriteTxnMarkersRequest:
		return true
	case *kmsg.FetchRequest:
		return replicaID(r) >= 0
	case *kmsg.OffsetForLeaderEpochRequest:
		return r.ReplicaID >= 0
	}
	return false
}

// nanosToPercent turns handler time into request_percentage units: 100 is
// one goroutine busy for the whole second (Kafka: one request thread).
const nanosToPercent = 100.0 / float64(time.Second)

// recordHandled counts a request's handler time against the request
// quota (on the reader, right after the handler returned) and mutes the
// connection if the client is over it; the throttle goes into the answer.
func (c *conn) recordHandled(p *pending, req kmsg.Request, clientID string, took time.Duration) {
	if quotaExempt(req) {
		return
	}
	now := time.Now()
	d := c.b.quotas.mgr.Record(quota.Request, principalUser(c.principalName()), clientID, float64(took)*nanosToPercent, now)
	if d > 0 {
		p.reqThrottle.Store(int64(d))
		c.mute(now.Add(d))
	}
}

// applyThrottle, on the writer before a response goes out, counts a
// produce's bytes against the producer quota, puts the longest throttle
// (bandwidth or request time) in the answer and mutes the connection for
// it.
func (c *conn) applyThrottle(p *pending) {
	now := time.Now()
	d := p.throttle
	if p.key == kmsg.Produce.Int16() {
		d = max(d, c.b.quotas.mgr.Record(quota.Produce, principalUser(c.principalName()), p.clientID, float64(p.held), now))
	}
	d = max(d, time.Duration(p.reqThrottle.Load()))
	if d <= 0 {
		return
	}
	if r, ok := p.resp.(kmsg.SetThrottleResponse); ok {
		r.SetThrottle(int32(min(d.Milliseconds(), 1<<31-1)))
	}
	c.mute(now.Add(d))
}

// mute stops the connection's reader from handling another request until
// t (the latest of the mutes asked for wins).
func (c *conn) mute(t time.Time) {
	until := t.UnixNano()
	for {
		cur := c.mutedUntil.Load()
		if cur >= until || c.mutedUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

// waitMuted holds the reader while the connection is muted; false if the
// connection closed meanwhile.
func (c *conn) waitMuted() bool {
	for {
		d := time.Until(time.Unix(0, c.mutedUntil.Load()))
		if d <= 0 {
			return true
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-c.done:
			t.Stop()
			return false
		}
	}
}

func (c *conn) principalName() string {
	if p := c.principal.Load(); p != nil {
		return *p
	}
	return anonymous
}

// fetchQuotaMax caps a consumer fetch at what its quota allows in one
// quota window (Kafka's getMaxValueInQuotaWindow).
func (rc *reqCtx) fetchQuotaMax(maxBytes int32) int32 {
	q := rc.c.b.quotas.mgr
	if !q.Enabled() {
		return maxBytes
	}
	if v, ok := q.MaxInWindow(quota.Fetch, principalUser(rc.principal()), rc.clientID); ok && v < float64(maxBytes) {
		return max(int32(v), 1)
	}
	return maxBytes
}

// fetchThrottle counts a consumer fetch's bytes against its quota; over
// it, the bytes are taken back and the fetch is to be answered empty
// (Kafka's throttled fetch), with the throttle returned.
func (rc *reqCtx) fetchThrottle(bytes int64) time.Duration {
	q := rc.c.b.quotas.mgr
	if !q.Enabled() {
		return 0
	}
	user, now := principalUser(rc.principal()), time.Now()
	d := q.Record(quota.Fetch, user, rc.clientID, float64(bytes), now)
	if d > 0 {
		q.Unrecord(quota.Fetch, user, rc.clientID, float64(bytes), now)
	}
	return d
}
