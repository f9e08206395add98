package broker

// Connection limits, as Kafka's ConnectionQuotas enforces them on accept:
//   - max.connections (the broker) and listener.name.<l>.max.connections:
//     at the limit, accepting waits until a connection closes (the new
//     connections wait in the listen backlog). The inter-broker listener
//     is exempt from the broker-wide limit when there are other listeners.
//   - max.connection.creation.rate (the broker, and per listener): over
//     it, accepting waits until the rate is back (at most
//     quota.window.size.seconds per connection).
//   - connection_creation_rate of an IP entity (AlterClientQuotas): a new
//     connection from an address over its rate is not served and is
//     closed once the throttle time has passed.
//   - max.connections.per.ip and max.connections.per.ip.overrides: one
//     connection more from an address is closed at once.
// Connections on the controller listener are counted against
// max.connections only, as before.
//
// The broker-wide settings (max.connections, max.connections.per.ip,
// max.connections.per.ip.overrides, max.connection.creation.rate) are
// dynamic broker configs, as in Kafka (DynamicConnectionQuota): a change
// committed to the metadata log (IncrementalAlterConfigs on the cluster
// default or this node) is applied by reconfigure to the next connection
// accepted; connections already open stay open. A raised limit wakes the
// accepts waiting for a slot. The per-listener settings are read at start.

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/quota"
)

const (
	unlimited       = 1<<31 - 1 // Kafka's Integer.MAX_VALUE defaults
	ipSensorExpiry  = time.Hour
	ipSensorSweepMs = int64(10 * time.Minute / time.Millisecond)
)

// connLimits counts connections by listener and address.
type connLimits struct {
	b       *Broker
	q       *quotas
	rateCfg quota.Config
	maxWait time.Duration // the longest a rate makes accepting wait

	stop     chan struct{} // closed by close: stop waiting
	stopOnce sync.Once

	mu   sync.Mutex // guards everything below; cond waits on it
	cond *sync.Cond
	// The limits in force (reconfigure sets them).
	maxPerIP   int
	ipOverride map[netip.Addr]int
	brokerMax  int
	brokerRate float64 // 0: none
	// listenerMax and listenerRate are each listener's max.connections and
	// max.connection.creation.rate (absent: none): the listener's own
	// (listener.name.<l>.), else the broker's, as in Kafka.
	listenerMax  map[string]int
	listenerRate map[string]float64
	// The counts.
	total       int
	perListener map[string]int
	perIP       map[netip.Addr]int
	brokerRateS quota.Rate
	listenerRS  map[string]*quota.Rate
	ipRates     map[netip.Addr]*ipRate
	lastSweepMs int64
}

type ipRate struct {
	rate   quota.Rate
	lastMs int64
}

func newConnLimits(b *Broker, q *quotas) *connLimits {
	samples, window := b.cfg.QuotaWindow()
	l := &connLimits{
		b: b, q: q, rateCfg: quota.Config{Samples: samples, Window: window}, maxWait: window,
		stop: make(chan struct{}), perListener: map[string]int{}, perIP: map[netip.Addr]int{},
		listenerRS: map[string]*quota.Rate{}, ipRates: map[netip.Addr]*ipRate{},
	}
	l.cond = sync.NewCond(&l.mu)
	l.reconfigure(b.config(b.meta.Image()))
	b.meta.OnCommit(func(_, next *metadata.Image, applied []metadata.Record) {
		for _, r := range applied {
			if r.Type == metadata.TypeConfig && r.Config != nil && r.Config.ResourceType == metadata.ResourceBroker {
				l.reconfigure(b.config(next))
				return
			}
		}
	})
	return l
}

// reconfigure puts cfg's connection limits in force: the static settings
// with the dynamic broker configs applied (Broker.config).
func (l *connLimits) reconfigure(cfg *config.Config) {
	override, err := cfg.MaxConnectionsPerIPOverrides()
	if err != nil {
		// Checked when it was set; keep the overrides in force.
		l.b.logger.Error("max.connections.per.ip.overrides: ignoring the new value", "err", err)
	}
	brokerRate := 0.0
	if r := intSetting(cfg, "max.connection.creation.rate"); r < unlimited {
		brokerRate = float64(r)
	}
	listenerMax, listenerRate := map[string]int{}, map[string]float64{}
	for _, ln := range cfg.Listeners {
		listenerMax[ln.Name] = int(cfg.ListenerInt(ln.Name, "max.connections"))
		if r := cfg.ListenerInt(ln.Name, "max.connection.creation.rate"); r < unlimited {
			listenerRate[ln.Name] = float64(r)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	first := l.listenerMax == nil
	was := fmt.Sprint(l.brokerMax, l.maxPerIP, l.brokerRate, l.ipOverride)
	l.maxPerIP = int(intSetting(cfg, "max.connections.per.ip"))
	if err == nil {
		l.ipOverride = override
	}
	l.brokerMax, l.brokerRate = cfg.MaxConnections, brokerRate
	l.listenerMax, l.listenerRate = listenerMax, listenerRate
	if !first && was != fmt.Sprint(l.brokerMax, l.maxPerIP, l.brokerRate, l.ipOverride) {
		l.b.logger.Info("connection limits changed", "max.connections", l.brokerMax,
			"max.connections.per.ip", l.maxPerIP, "max.connections.per.ip.overrides", len(l.ipOverride),
			"max.connection.creation.rate", intSetting(cfg, "max.connection.creation.rate"))
	}
	// A raised limit lets waiting accepts in.
	l.cond.Broadcast()
}

// brokerLimit is max.connections in force.
func (l *connLimits) brokerLimit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.brokerMax
}

// close wakes every accept waiting for a slot or a rate; they give up.
func (l *connLimits) close() {
	l.stopOnce.Do(func() {
		close(l.stop)
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	})
}

func (l *connLimits) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// protected: the inter-broker listener is not held to the broker-wide
// limits when there are other listeners (Kafka's protectedListener).
func (l *connLimits) protected(listener string) bool {
	return listener == l.b.cfg.InterBrokerListener && len(l.b.cfg.Listeners) > 1
}

func intSetting(c *config.Config, name string) int64 {
	v, _ := strconv.ParseInt(strings.TrimSpace(c.Get(name)), 10, 64)
	return v
}

func (l *connLimits) slotFree(listener string) bool {
	if m, ok := l.listenerMax[listener]; ok && l.perListener[listener] >= m {
		return false
	}
	return l.protected(listener) || l.total < l.brokerMax
}

// rateWait records a new connection in the broker's and the listener's
// creation rates and returns how long accepting must wait for them.
func (l *connLimits) rateWait(listener string, nowMs int64) time.Duration {
	var d time.Duration
	if l.brokerRate > 0 && !l.protected(listener) {
		l.brokerRateS.Record(l.rateCfg, 1, nowMs)
		d = l.brokerRateS.Throttle(l.rateCfg, l.brokerRate, nowMs)
	}
	if r, ok := l.listenerRate[listener]; ok {
		s := l.listenerRS[listener]
		if s == nil {
			s = &quota.Rate{}
			l.listenerRS[listener] = s
		}
		s.Record(l.rateCfg, 1, nowMs)
		d = max(d, s.Throttle(l.rateCfg, r, nowMs))
	}
	return min(d, l.maxWait)
}

// unrecord takes a refused connection back out of the creation rates.
func (l *connLimits) unrecord(listener string, nowMs int64) {
	if l.brokerRate > 0 && !l.protected(listener) {
		l.brokerRateS.Record(l.rateCfg, -1, nowMs)
	}
	if s := l.listenerRS[listener]; s != nil {
		s.Record(l.rateCfg, -1, nowMs)
	}
}

// admit decides a connection accepted on listener: it waits for a slot
// and the creation rates, then counts it; false if nc was refused (and is
// closed or will be) or the broker is closing.
func (l *connLimits) admit(listener string, nc net.Conn) bool {
	ip := remoteIP(nc)
	l.mu.Lock()
	defer l.mu.Unlock()
	if d := l.rateWait(listener, time.Now().UnixMilli()); d > 0 {
		l.mu.Unlock()
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-l.stop:
			t.Stop()
		}
		l.mu.Lock()
	}
	for !l.slotFree(listener) && !l.stopped() {
		l.cond.Wait()
	}
	if l.stopped() {
		nc.Close()
		return false
	}
	if d := l.ipThrottle(ip); d > 0 {
		l.unrecord(listener, time.Now().UnixMilli())
		l.b.logger.Debug("connection_creation_rate exceeded; closing the new connection after the throttle time", "remote", nc.RemoteAddr(), "throttle", d)
		time.AfterFunc(d, func() { nc.Close() })
		return false
	}
	n := l.perIP[ip]
	max := l.maxPerIP
	if o, ok := l.ipOverride[ip]; ok {
		max = o
	}
	if n >= max {
		l.b.logger.Info("max.connections.per.ip reached; closing the new connection", "remote", nc.RemoteAddr(), "max", max)
		nc.Close()
		return false
	}
	l.perIP[ip] = n + 1
	l.perListener[listener]++
	l.total++
	return true
}

// ipThrottle records a connection from ip against its
// connection_creation_rate, if it has one, and returns how long it is
// over (the connection is then not counted).
func (l *connLimits) ipThrottle(ip netip.Addr) time.Duration {
	bound, ok := l.q.mgr.Table().IPRate(ip)
	nowMs := time.Now().UnixMilli()
	if nowMs-l.lastSweepMs >= ipSensorSweepMs {
		l.lastSweepMs = nowMs
		for a, s := range l.ipRates {
			if nowMs-s.lastMs >= ipSensorExpiry.Milliseconds() {
				delete(l.ipRates, a)
			}
		}
	}
	if !ok {
		return 0
	}
	s := l.ipRates[ip]
	if s == nil {
		s = &ipRate{}
		l.ipRates[ip] = s
	}
	s.lastMs = nowMs
	s.rate.Record(l.rateCfg, 1, nowMs)
	d := min(s.rate.Throttle(l.rateCfg, bound, nowMs), l.maxWait)
	if d > 0 {
		s.rate.Record(l.rateCfg, -1, nowMs)
	}
	return d
}

// release uncounts a connection admitted on listener.
func (l *connLimits) release(listener string, nc net.Conn) {
	ip := remoteIP(nc)
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := l.perIP[ip]; n <= 1 {
		delete(l.perIP, ip)
	} else {
		l.perIP[ip] = n - 1
	}
	l.perListener[listener]--
	l.total--
	l.cond.Broadcast()
}

// remoteIP is a connection's peer address (the zero Addr if it has none).
func remoteIP(nc net.Conn) netip.Addr {
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}
