package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/samsa-streaming/samsa/internal/broker"
	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/metrics"
	"github.com/samsa-streaming/samsa/internal/partition"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// Server is a running single-node Samsa broker.
type Server struct {
	cfg    *config.Config
	logger *slog.Logger
	lock   *os.File
	meta   *metadata.Store
	parts  *partition.Manager
	// unclean: the log dir was left by an unclean shutdown its OS did not
	// outlive (storage.LostPageCache); the metadata catch-up is held until
	// the registration is committed.
	unclean bool
	broker  *broker.Broker
	addr    net.Addr
	served  chan error

	stopRegister   chan struct{}
	cancelRegister context.CancelFunc
	registerDone   chan struct{}
	// reregister wakes the registration loop: this broker's registration
	// was removed (UnregisterBroker) while it runs.
	reregister chan struct{}
	// directoryID is meta.properties' directory.id.
	directoryID string
	// peering is how this node reaches the others (interbroker.go).
	peering peering

	// The metrics listener (metrics.go): its registry, its server (nil
	// when off), and what /readyz checks.
	registry   *prometheus.Registry
	metricsSrv *metrics.Server
	state      readiness
	metaRef    atomic.Pointer[metadata.Store] // s.meta for /readyz's goroutines
	brokerRef  brokerRef                      // s.broker for /metrics' goroutines
}

// Start opens the data directory, recovers every log, and starts serving.
func Start(cfg *config.Config, logger *slog.Logger) (_ *Server, err error) {
	s := &Server{cfg: cfg, logger: logger, served: make(chan error, 1), stopRegister: make(chan struct{}), reregister: make(chan struct{}, 1)}
	defer func() {
		if err != nil {
			s.closeParts()
			s.closeMetrics()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if s.lock, err = lockDir(cfg.DataDir); err != nil {
		return nil, err
	}
	if cfg.ClusterID, s.directoryID, err = loadIdentity(cfg); err != nil {
		return nil, err
	}
	if err := s.startMetrics(); err != nil {
		return nil, err
	}
	// How this node reaches the others (TLS, SASL; interbroker.go).
	if s.peering, err = newPeering(cfg, logger); err != nil {
		return nil, err
	}
	// A broker back from a power cut acts on nothing until its
	// registration took it out of the ISRs (register).
	s.unclean = cfg.Broker && storage.LostPageCache(cfg.DataDir)
	if s.meta, err = metadata.OpenWith(metadata.Options{
		HoldCatchUp: s.unclean,
		Dir:         cfg.DataDir, NodeID: cfg.NodeID, ClusterID: cfg.ClusterID,
		Voters: cfg.QuorumVoters, Listen: cfg.ControllerListenAddr,
		Learner: cfg.Observer, Bootstrap: cfg.QuorumBootstrap,
		Unclean: func(o map[string]string) bool {
			v, _ := cfg.TopicValue(o, "unclean.leader.election.enable")
			return strings.EqualFold(strings.TrimSpace(v), "true")
		},
		ElectionTimeout: cfg.QuorumElectionTimeout, SessionTimeout: cfg.BrokerSessionTimeout, Logger: logger,
		LeaderRebalance: cfg.LeaderRebalance, ImbalancePercent: cfg.ImbalancePercent,
		ControllerDial: s.peering.controllerDial(), ControllerTLS: s.peering.controllerTLS(),
	}); err != nil {
		return nil, err
	}
	s.metaRef.Store(s.meta)
	if !cfg.Broker {
		return s, s.startController()
	}
	start := time.Now()
	if s.parts, err = partition.NewManager(cfg, s.meta.Image(), logger); err != nil {
		return nil, err
	}
	s.parts.SetDialer(s.peering.brokers)
	logger.Info("logs loaded", "partitions", len(s.parts.All()), "took", time.Since(start).Round(time.Millisecond))
	s.state.logsLoaded.Store(true)
	s.meta.OnCommit(s.parts.Apply)
	s.meta.OnCommit(func(_, _ *metadata.Image, recs []metadata.Record) {
		for _, r := range recs {
			if r.Type == metadata.TypeUnregister && r.Unregister.ID == cfg.NodeID {
				select {
				case s.reregister <- struct{}{}:
				default:
				}
			}
		}
	})
	s.broker = broker.New(cfg, s.meta, s.parts, logger)
	s.broker.SetDialers(s.peering.brokers, s.peering.controllers, s.peering.ctlTLS)
	s.registerMetrics()
	if s.addr, err = s.broker.Listen(); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.ListenAddr, err)
	}
	// Kafka clients on the controller listener (--bootstrap-controller)
	// get the controller APIs.
	s.meta.ServeKafka(s.broker.ServeController)
	// Every observer is registered: the quorum may apply entries now. A
	// single-node metadata log from before the quorum is imported here.
	if err := s.meta.Start(); err != nil {
		return nil, err
	}
	// Followers start fetching from their leaders; leaders keep their ISR.
	s.parts.Attach(s.meta)
	s.registerDone = make(chan struct{})
	regCtx, cancel := context.WithCancel(context.Background())
	s.cancelRegister = cancel
	go s.register(regCtx)
	// Once nothing can fail any more: load __consumer_offsets in the
	// background (group requests wait with COORDINATOR_LOAD_IN_PROGRESS);
	// Broker.Close stops it.
	s.broker.StartCoordinators()
	go func() { s.served <- s.broker.Serve() }()
	s.state.listening.Store(true)
	var listening []string
	for name, a := range s.broker.Addrs() {
		l, _ := cfg.ListenerByName(name)
		ep := cfg.Advertised[name]
		listening = append(listening, fmt.Sprintf("%s://%s (%s, advertised %s:%d)", name, a, l.Protocol, ep.Host, ep.Port))
	}
	sort.Strings(listening)
	logger.Info("samsa is serving", "listeners", strings.Join(listening, ", "), "inter_broker_listener", cfg.InterBrokerListener,
		"data_dir", cfg.DataDir, "cluster_id", cfg.ClusterID, "node_id", cfg.NodeID, "flush_mode", cfg.FlushMode,
		"controller_listener", s.meta.ControllerAddr(), "quorum_voters", len(cfg.QuorumVoters), "roles", cfg.Get("process.roles"))
	return s, nil
}

// startController starts a controller-only node (process.roles=controller):
// the metadata quorum, the active controller when it leads, and the
// controller APIs on the controller listener; no partitions, no broker
// listener, no broker registration.
func (s *Server) startController() error {
	s.broker = broker.New(s.cfg, s.meta, nil, s.logger)
	s.broker.SetDialers(s.peering.brokers, s.peering.controllers, s.peering.ctlTLS)
	s.registerMetrics()
	s.meta.ServeKafka(s.broker.ServeController)
	if err := s.meta.Start(); err != nil {
		return err
	}
	if a, err := net.ResolveTCPAddr("tcp", s.meta.ControllerAddr()); err == nil {
		s.addr = a
	}
	s.registerDone = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	s.cancelRegister = cancel
	go s.register(ctx)
	s.logger.Info("samsa controller is serving", "controller_listener", s.meta.ControllerAddr(), "data_dir", s.cfg.DataDir,
		"cluster_id", s.cfg.ClusterID, "node_id", s.cfg.NodeID, "quorum_voters", len(s.cfg.QuorumVoters), "roles", s.cfg.Get("process.roles"))
	return nil
}

// Addr is the address the broker listens on (a controller-only node's
// controller listener).
func (s *Server) Addr() net.Addr { return s.addr }

// ListenerAddrs returns the bound address of every broker listener, by
// listener name.
func (s *Server) ListenerAddrs() map[string]net.Addr {
	if s.broker == nil {
		return nil
	}
	return s.broker.Addrs()
}

// Config is the configuration the server runs with.
func (s *Server) Config() *config.Config { return s.cfg }

// Done reports the end of serving (nil after Close).
func (s *Server) Done() <-chan error { return s.served }

// Close stops serving and shuts down cleanly: connections first, then the
// logs (flushed and closed with a clean-shutdown marker), then metadata.
func (s *Server) Close(ctx context.Context) error {
	var errs []error
	s.state.closing.Store(true)
	defer s.closeMetrics() // last: scrapes see the shutdown to the end
	close(s.stopRegister)
	if s.cancelRegister != nil {
		s.cancelRegister() // a registration waiting for an absent quorum gives up
	}
	if s.meta != nil && s.cfg.ControlledShutdown { // nothing to do for a node that is the whole quorum
		// Controlled shutdown: leadership moves to the other in-sync
		// replicas before the connections close, so clients move at once.
		if err := s.meta.Shutdown(max(2*s.cfg.QuorumElectionTimeout, time.Second)); err != nil {
			s.logger.Warn("controlled shutdown incomplete; the controller will fence this broker", "err", err)
		}
	}
	if s.broker != nil {
		errs = append(errs, s.broker.Close(ctx))
	}
	errs = append(errs, s.closeParts())
	if s.registerDone != nil {
		<-s.registerDone // the store is closed: a pending registration returns at once
	}
	return errors.Join(errs...)
}

// register records this broker in the cluster metadata (Kafka's broker
// registration): its advertised address and rack, with a new incarnation
// for every start. It retries until the quorum takes it, without holding
// up start-up: a node of a cluster starts before a majority is up. If the
// registration is removed while the broker runs (UnregisterBroker), it
// registers again, as a Kafka broker does.
func (s *Server) register(ctx context.Context) {
	defer close(s.registerDone)
	meta := s.meta
	ctrl := s.controllerRecord()
	// After an unclean shutdown that lost the page cache this broker may
	// no longer have records it acknowledged as an in-sync replica: its
	// registration takes it out of the ISRs and ELRs, as Kafka's
	// controller does with a broker that did not shut down cleanly.
	unclean := s.unclean
	for {
		rec := metadata.BrokerRecord{ID: s.cfg.NodeID, Host: s.cfg.AdvertisedHost, Port: s.cfg.AdvertisedPort, Rack: s.cfg.Rack, Incarnation: newUUID()}
		for _, l := range s.cfg.Listeners {
			ep := s.cfg.Advertised[l.Name]
			rec.Endpoints = append(rec.Endpoints, metadata.Endpoint{Listener: l.Name, Protocol: l.Protocol, Host: ep.Host, Port: ep.Port})
		}
		for {
			_, err := meta.CommitContext(ctx, func(im *metadata.Image) ([]metadata.Record, error) {
				var recs []metadata.Record
				if s.cfg.Broker {
					r := rec
					recs = append(recs, metadata.Record{Type: metadata.TypeBroker, Broker: &r})
					if unclean {
						recs = append(recs, metadata.UncleanRecords(im, rec.ID)...)
					}
				}
				if ctrl != nil {
					if cur, ok := im.Controller(ctrl.ID); !ok || cur != *ctrl {
						c := *ctrl
						recs = append(recs, metadata.Record{Type: metadata.TypeController, Controller: &c})
					}
				}
				return recs, nil
			})
			if err == nil {
				s.logger.Info("registered in the cluster", "node_id", rec.ID, "host", rec.Host, "port", rec.Port, "page_cache_lost", unclean)
				if unclean {
					unclean = false // once per start
					meta.ReleaseCatchUp()
				}
				s.state.registered.Store(true)
				break
			}
			s.logger.Warn("broker registration failed; retrying", "err", err)
			select {
			case <-s.stopRegister:
				return
			case <-time.After(time.Second):
			}
		}
		select {
		case <-s.stopRegister:
			return
		case <-s.reregister:
			s.logger.Warn("this broker's registration was removed while it runs; registering again")
		}
	}
}

// controllerRecord is this node's controller registration: its controller
// listener as the other controllers reach it (its entry in
// controller.quorum.voters, else the listener) and its directory id; nil
// without the controller role or a controller listener.
func (s *Server) controllerRecord() *metadata.ControllerRecord {
	if !s.cfg.Controller {
		return nil
	}
	addr := s.cfg.QuorumVoters[s.cfg.NodeID]
	if addr == "" && s.meta.ControllerAddr() != "" {
		addr = s.meta.ControllerAddr()
	}
	host, port, err := net.SplitHostPort(addr)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil {
		return nil
	}
	return &metadata.ControllerRecord{ID: s.cfg.NodeID, Host: host, Port: int32(p), DirectoryID: s.directoryID}
}

func (s *Server) closeParts() error {
	var errs []error
	if s.parts != nil {
		errs = append(errs, s.parts.Close())
		s.parts = nil
	}
	if s.meta != nil {
		s.metaRef.Store(nil)
		errs = append(errs, s.meta.Close())
		s.meta = nil
	}
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
	return errors.Join(errs...)
}

// lockDir takes an exclusive flock on the data directory, as Kafka does
// with its .lock file, so two brokers never share one directory.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data dir %s is in use by another process (lock: %v)", dir, err)
	}
	return f, nil
}

// loadIdentity reads meta.properties (Kafka's format) or writes it on
// first start, and returns the cluster id and the directory id. A
// configured cluster.id must match the stored one.
func loadIdentity(cfg *config.Config) (clusterID, directoryID string, err error) {
	path := filepath.Join(cfg.DataDir, "meta.properties")
	f, err := os.Open(path)
	if err == nil {
		defer f.Close()
		props, err := config.ReadProperties(f)
		if err != nil {
			return "", "", fmt.Errorf("meta.properties: %w", err)
		}
		id := props["cluster.id"]
		if cfg.ClusterID != "" && cfg.ClusterID != id {
			return "", "", fmt.Errorf("cluster.id %q does not match %q stored in %s", cfg.ClusterID, id, path)
		}
		if n := props["node.id"]; n != "" && n != fmt.Sprint(cfg.NodeID) {
			return "", "", fmt.Errorf("node.id %d does not match %s stored in %s", cfg.NodeID, n, path)
		}
		return id, props["directory.id"], nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", "", err
	}
	id := cfg.ClusterID
	if id == "" {
		id = newUUID()
	}
	dir := newUUID()
	var b strings.Builder
	fmt.Fprintf(&b, "#\n#%s\ncluster.id=%s\ndirectory.id=%s\nnode.id=%d\nversion=1\n", time.Now().UTC().Format(time.UnixDate), id, dir, cfg.NodeID)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return "", "", err
	}
	if err := syncFile(tmp); err != nil {
		return "", "", err
	}
	return id, dir, os.Rename(tmp, path)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// newUUID returns a random UUID in Kafka's URL-safe base64 form.
func newUUID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return base64.RawURLEncoding.EncodeToString(u[:])
}

// QuorumLeader is the metadata quorum's leader as this node sees it (-1:
// none known).
func (s *Server) QuorumLeader() int32 {
	if s.meta == nil {
		return -1
	}
	return s.meta.Leader()
}

// UnfencedBrokers is how many registered brokers this node's metadata
// image holds unfenced (0 for a node that is the whole quorum).
func (s *Server) UnfencedBrokers() int {
	if s.meta == nil {
		return 0
	}
	n := 0
	for _, br := range s.meta.Image().Brokers() {
		if !br.Fenced {
			n++
		}
	}
	return n
}

// CaughtUp reports whether this node has caught up with the cluster's
// metadata since it started (a node that is the whole quorum has).
func (s *Server) CaughtUp() bool { return s.meta == nil || s.meta.CaughtUp() }
