package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/coordinator/group"
	"github.com/samsa-streaming/samsa/internal/coordinator/txn"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/partition"
	"github.com/samsa-streaming/samsa/internal/tlsconfig"
)

// Broker serves the Kafka protocol for one node.
type Broker struct {
	cfg           *config.Config
	logger        *slog.Logger
	meta          *metadata.Store
	parts         *partition.Manager
	pids          *producerIDs
	fetchSessions *sessionCache
	now           func() time.Time
	budget        *budget        // request bytes held across connections
	groups        *group.Runtime // consumer group coordinator (apis_group.go)
	txns          *txn.Runtime   // transaction coordinator (apis_txn.go)
	peers         peers          // clients to other brokers (apis_txn.go)
	sasl          saslUsers      // SASL listeners' settings (apis_sasl.go)
	authz         *authorizer    // ACLs (authorize.go); nil: no authorizer.class.name
	quotas        *quotas        // client quotas and connection limits (quota.go)
	metrics       *brokerMetrics // request-path metrics (metrics.go)
	// ctlTLS is the SSL controller listener's TLS server, for the
	// principal of Kafka clients there (interbroker.go); nil: plaintext.
	ctlTLS *tlsconfig.Server

	lns     []*listener // one per broker listener, in configuration order
	conns   sync.WaitGroup
	mu      sync.Mutex // guards live
	live    map[*conn]struct{}
	nconns  atomic.Int64
	closing atomic.Bool
}

// New builds a broker over an opened metadata store and partition manager.
func New(cfg *config.Config, meta *metadata.Store, parts *partition.Manager, logger *slog.Logger) *Broker {
	b := &Broker{
		cfg: cfg, logger: logger, meta: meta, parts: parts,
		pids:          newProducerIDs(meta, cfg.NodeID),
		fetchSessions: newSessionCache(cfg.FetchSessionSlots),
		now:           time.Now,
		live:          map[*conn]struct{}{},
		budget:        newBudget(cfg.QueuedMaxRequestBytes),
		metrics:       newBrokerMetrics(),
	}
	b.authz = newAuthorizer(cfg, meta, logger)
	b.quotas = newQuotas(b)
	b.groups = newGroupCoordinator(cfg, b)
	b.txns = newTxnCoordinator(cfg, b)
	return b
}

// listener is one broker listener: its name and security protocol, and
// the socket it accepts on.
type listener struct {
	cfg config.Listener
	ln  net.Listener
	tls *tlsconfig.Server // SSL and SASL_SSL listeners
}

// Listen binds every configured broker listener and returns the address
// of the first. A listener on port 0 (tests) advertises the port the
// system chose.
func (b *Broker) Listen() (net.Addr, error) {
	for _, l := range b.cfg.Listeners {
		ln, err := net.Listen("tcp", l.Addr)
		if err != nil {
			for _, done := range b.lns {
				done.ln.Close()
			}
			b.lns = nil
			return nil, fmt.Errorf("listener %s: %w", l.Name, err)
		}
		if tcp, ok := ln.Addr().(*net.TCPAddr); ok {
			b.cfg.SetAdvertisedPort(l.Name, int32(tcp.Port))
		}
		bl := &listener{cfg: l, ln: ln}
		if isTLS(l.Protocol) {
			if bl.tls, err = b.listenerTLS(l); err != nil {
				ln.Close()
				for _, done := range b.lns {
					done.ln.Close()
				}
				b.lns = nil
				return nil, fmt.Errorf("listener %s: %w", l.Name, err)
			}
		}
		if isSASL(l.Protocol) {
			// Load the listener's SASL settings now (JAAS users, the
			// OAUTHBEARER key set): a mistake fails the start, not the
			// first client.
			if _, err := b.saslListener(l); err != nil {
				ln.Close()
				for _, done := range b.lns {
					done.ln.Close()
				}
				b.lns = nil
				return nil, err
			}
		}
		b.lns = append(b.lns, bl)
	}
	if len(b.lns) == 0 {
		return nil, errors.New("no broker listener")
	}
	return b.lns[0].ln.Addr(), nil
}

// Addrs returns the bound address of each broker listener by name.
func (b *Broker) Addrs() map[string]net.Addr {
	out := make(map[string]net.Addr, len(b.lns))
	for _, l := range b.lns {
		out[l.cfg.Name] = l.ln.Addr()
	}
	return out
}

// Serve accepts connections on every listener until Close. It returns nil
// after Close.
func (b *Broker) Serve() error {
	var wg sync.WaitGroup
	for _, l := range b.lns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.accept(l)
		}()
	}
	wg.Wait()
	return nil
}

// accept accepts connections on one listener until Close.
//
// A failed accept never ends serving: running out of descriptors (EMFILE,
// ENFILE), kernel buffers (ENOBUFS, ENOMEM) or anything else the kernel
// reports leaves the connection in the listen backlog, so it backs off
// (5 ms doubling to 1 s, as Go's HTTP server does) and tries again; the
// connection is accepted once the resource is back. Only Close ends it.
func (b *Broker) accept(l *listener) {
	var backoff time.Duration
	var failed int        // accepts failed since the last success
	var lastLog time.Time // rate-limits the warning to one per 10 s
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if b.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			failed++
			if backoff == 0 {
				backoff = 5 * time.Millisecond
			} else if backoff *= 2; backoff > time.Second {
				backoff = time.Second
			}
			if now := time.Now(); now.Sub(lastLog) >= 10*time.Second {
				lastLog = now
				b.logger.Warn("accept failed; retrying", "listener", l.cfg.Name, "err", err, "retry_in", backoff, "failed_since_last_accept", failed)
			}
			time.Sleep(backoff)
			continue
		}
		if failed > 0 {
			b.logger.Info("accepting connections again", "failed_accepts", failed)
			failed, backoff = 0, 0
		}
		// Connection limits (quota_conn.go): waits for a slot, or refuses.
		if !b.quotas.conns.admit(l.cfg.Name, nc) {
			if b.closing.Load() {
				return
			}
			continue
		}
		c := newConn(b, nc)
		c.listener = l.cfg
		if isSASL(l.cfg.Protocol) {
			c.sasl = &saslState{}
		}
		if l.tls != nil {
			c.tls = l.tls
			c.cork = &corkConn{Conn: c.nc}
			c.nc = tls.Server(c.cork, l.tls.Config())
		}
		if !b.serveConn(c) {
			return
		}
	}
}

// serveConn serves c on a goroutine of its own; false once the broker is
// closing (c is closed).
func (b *Broker) serveConn(c *conn) bool {
	b.mu.Lock()
	if b.closing.Load() {
		b.mu.Unlock()
		c.nc.Close()
		return false
	}
	b.live[c] = struct{}{}
	b.mu.Unlock()
	b.metrics.connOpened(c.listener.Name)
	b.nconns.Add(1)
	b.conns.Add(1)
	go func() {
		defer b.conns.Done()
		defer b.nconns.Add(-1)
		c.serve()
		if !c.controller {
			b.quotas.conns.release(c.listener.Name, c.nc)
		}
		b.mu.Lock()
		delete(b.live, c)
		b.mu.Unlock()
	}()
	return true
}

// ServeController serves a Kafka connection that arrived on the controller
// listener (the admin client with --bootstrap-controller): only the
// controller APIs are offered there, as on Kafka's controller listener.
func (b *Broker) ServeController(nc net.Conn) {
	if int(b.nconns.Load()) >= b.quotas.conns.brokerLimit() {
		b.logger.Warn("max.connections reached; closing new controller connection", "remote", nc.RemoteAddr())
		nc.Close()
		return
	}
	c := newConn(b, nc)
	c.controller = true
	c.listener = config.Listener{Name: b.cfg.InterBrokerListener, Protocol: config.Plaintext}
	if tc, ok := nc.(interface{ ConnectionState() tls.ConnectionState }); ok && b.ctlTLS != nil {
		// An SSL controller listener: the handshake is done, and a client
		// certificate names the principal (interbroker.go).
		p := b.ctlTLS.Principal(tc.ConnectionState())
		c.principal.Store(&p)
	}
	b.serveConn(c)
}

// Close stops accepting, closes every connection and waits for their
// goroutines. In-flight produce requests finish their appends first.
func (b *Broker) Close(ctx context.Context) error {
	b.closing.Store(true)
	b.quotas.conns.close()
	defer b.groups.Close() // after the connections, so no request is mid-step
	defer b.txns.Close()
	defer b.peers.close()
	var err error
	for _, l := range b.lns {
		if cerr := l.ln.Close(); err == nil {
			err = cerr
		}
	}
	b.mu.Lock()
	for c := range b.live {
		c.shutdown()
	}
	b.mu.Unlock()
	done := make(chan struct{})
	go func() { b.conns.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return err
}

// config returns the broker configuration in effect under image im: the
// static settings with the dynamic broker settings of im applied.
func (b *Broker) config(im *metadata.Image) *config.Config {
	return b.cfg.WithDynamic(im.BrokerConfigs(b.cfg.NodeID))
}
