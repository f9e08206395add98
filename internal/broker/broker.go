package broker

import (
	"context"
	"errors"
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

	ln      net.Listener
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
	}
	b.groups = newGroupCoordinator(cfg, b)
	b.txns = newTxnCoordinator(cfg, b)
	return b
}

// Listen binds the configured listener.
func (b *Broker) Listen() (net.Addr, error) {
	ln, err := net.Listen("tcp", b.cfg.ListenAddr)
	if err != nil {
		return nil, err
	}
	b.ln = ln
	return ln.Addr(), nil
}

// Serve accepts connections until Close. It returns nil after Close.
//
// A failed accept never ends serving: running out of descriptors (EMFILE,
// ENFILE), kernel buffers (ENOBUFS, ENOMEM) or anything else the kernel
// reports leaves the connection in the listen backlog, so Serve backs off
// (5 ms doubling to 1 s, as Go's HTTP server does) and tries again; the
// connection is accepted once the resource is back. Only Close ends it.
func (b *Broker) Serve() error {
	var backoff time.Duration
	var failed int        // accepts failed since the last success
	var lastLog time.Time // rate-limits the warning to one per 10 s
	for {
		nc, err := b.ln.Accept()
		if err != nil {
			if b.closing.Load() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			failed++
			if backoff == 0 {
				backoff = 5 * time.Millisecond
			} else if backoff *= 2; backoff > time.Second {
				backoff = time.Second
			}
			if now := time.Now(); now.Sub(lastLog) >= 10*time.Second {
				lastLog = now
				b.logger.Warn("accept failed; retrying", "err", err, "retry_in", backoff, "failed_since_last_accept", failed)
			}
			time.Sleep(backoff)
			continue
		}
		if failed > 0 {
			b.logger.Info("accepting connections again", "failed_accepts", failed)
			failed, backoff = 0, 0
		}
		if int(b.nconns.Load()) >= b.cfg.MaxConnections {
			b.logger.Warn("max.connections reached; closing new connection", "remote", nc.RemoteAddr())
			nc.Close()
			continue
		}
		if !b.serveConn(newConn(b, nc)) {
			return nil
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
	b.nconns.Add(1)
	b.conns.Add(1)
	go func() {
		defer b.conns.Done()
		defer b.nconns.Add(-1)
		c.serve()
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
	if int(b.nconns.Load()) >= b.cfg.MaxConnections {
		b.logger.Warn("max.connections reached; closing new controller connection", "remote", nc.RemoteAddr())
		nc.Close()
		return
	}
	c := newConn(b, nc)
	c.controller = true
	b.serveConn(c)
}

// Close stops accepting, closes every connection and waits for their
// goroutines. In-flight produce requests finish their appends first.
func (b *Broker) Close(ctx context.Context) error {
	b.closing.Store(true)
	defer b.groups.Close() // after the connections, so no request is mid-step
	defer b.txns.Close()
	defer b.peers.close()
	var err error
	if b.ln != nil {
		err = b.ln.Close()
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
