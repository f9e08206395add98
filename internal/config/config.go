package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ErrInvalid is wrapped by every error about a setting's name or value.
var ErrInvalid = errors.New("invalid configuration")

// Config is the broker's resolved configuration.
type Config struct {
	// Values holds every explicitly set broker property by Kafka name.
	Values map[string]string
	// dynamic marks the Values that come from dynamic broker configs.
	dynamic map[string]Source
	// dynamicDefault holds the cluster-wide dynamic defaults, also those a
	// node's own dynamic setting hides (DescribeConfigs' synonyms).
	dynamicDefault map[string]string

	NodeID     int32
	ClusterID  string
	ListenAddr string // host:port of the first Kafka (broker) listener
	// Listeners are the broker listeners (listeners minus the controller
	// ones), in order, with their security protocols; Advertised holds
	// what clients are told for each, by listener name.
	Listeners  []Listener
	Advertised map[string]Endpoint
	// InterBrokerListener names the listener brokers use to reach each
	// other (inter.broker.listener.name, else the one whose protocol is
	// security.inter.broker.protocol, else the first).
	InterBrokerListener string
	// ControllerListenAddr is the controller listener's host:port ("" when
	// the quorum is this node alone).
	ControllerListenAddr string
	// QuorumVoters is controller.quorum.voters: node id to host:port.
	QuorumVoters map[int32]string
	// QuorumBootstrap is controller.quorum.bootstrap.servers (host:port).
	QuorumBootstrap []string
	// Broker and Controller are process.roles.
	Broker, Controller bool
	// Observer: this node starts as an observer of the metadata quorum (a
	// Raft learner): a broker-only node, or a controller not among
	// controller.quorum.voters, waiting to be made a voter.
	Observer                 bool
	QuorumElectionTimeout    time.Duration
	Rack                     string
	AdvertisedHost           string
	AdvertisedPort           int32
	DataDir                  string
	NumPartitions            int32
	DefaultReplicationFactor int16
	AutoCreateTopics         bool
	DeleteTopicEnable        bool
	SocketRequestMaxBytes    int32
	QueuedMaxRequests        int
	QueuedMaxRequestBytes    int64 // -1: unbounded
	MaxConnections           int
	ConnectionsMaxIdle       time.Duration
	SocketSendBuffer         int
	SocketRecvBuffer         int
	FetchSessionSlots        int
	FetchMaxBytes            int32
	FlushMode                string
	FlushSchedulerInterval   time.Duration
	// MaxOpenFiles is log.max.open.files: the descriptor budget of segment
	// files (storage.Config.MaxOpenFiles); 0 lets storage derive it.
	MaxOpenFiles int
	// ScrubRate is log.scrub.bytes.per.second (0: no background scrub).
	ScrubRate int64
	// MinFreeBytes is log.dir.min.free.bytes (storage.Config.MinFreeBytes).
	MinFreeBytes    int64
	SendBufferBytes int

	// Consumer groups (internal/coordinator/group).
	GroupInitialRebalanceDelay time.Duration
	GroupMinSessionTimeout     time.Duration
	GroupMaxSessionTimeout     time.Duration
	GroupMaxSize               int
	OffsetsTopicPartitions     int32
	OffsetsTopicReplication    int16
	TxnTopicPartitions         int32
	TxnTopicReplication        int16
	TxnTopicMinISR             int
	TxnMaxTimeout              time.Duration
	TxnIDExpiration            time.Duration
	TxnAbortInterval           time.Duration
	TxnExpireInterval          time.Duration
	ReplicaLagTimeMax          time.Duration
	// RackAwareFetch: replica.selector.class is the rack-aware selector.
	RackAwareFetch bool
	// LeaderThrottleRate and FollowerThrottleRate are
	// leader/follower.replication.throttled.rate in bytes per second
	// (math.MaxInt64: unlimited).
	LeaderThrottleRate, FollowerThrottleRate int64
	LeaderRebalance                          time.Duration // 0: auto.leader.rebalance.enable=false
	ImbalancePercent                         int
	ControlledShutdown                       bool // controlled.shutdown.enable
	BrokerSessionTimeout                     time.Duration
	OffsetsRetention                         time.Duration
	OffsetsRetentionCheck                    time.Duration
	OffsetMetadataMaxBytes                   int
	ConsumerHeartbeatInterval                time.Duration
	ConsumerSessionTimeout                   time.Duration
}

// Default is a configuration with every default applied, as `samsa serve`
// runs with no flags.
func Default() *Config {
	c, err := New(nil)
	if err != nil {
		panic(err) // the defaults in keys.go are wrong; a programming error
	}
	return c
}

// New resolves a configuration from explicitly set properties, rejecting
// unknown keys and bad values.
func New(values map[string]string) (*Config, error) {
	c := &Config{Values: map[string]string{}}
	var errs []error
	for k, v := range values {
		key, ok := brokerByName[k]
		if !ok {
			key, ok = listenerKey(k)
		}
		if !ok {
			errs = append(errs, fmt.Errorf("%w: unknown setting %q", ErrInvalid, k))
			continue
		}
		if err := key.Check(v); err != nil {
			errs = append(errs, err)
			continue
		}
		c.Values[k] = v
	}
	if len(errs) > 0 {
		sortErrs(errs)
		return nil, errors.Join(errs...)
	}
	if err := c.resolve(); err != nil {
		return nil, err
	}
	return c, nil
}

func sortErrs(errs []error) {
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
}

// Get returns the value of a broker setting: set explicitly or its default.
func (c *Config) Get(name string) string {
	if v, ok := c.Values[name]; ok {
		return v
	}
	if k, ok := brokerByName[name]; ok {
		return k.Default
	}
	return ""
}

// IsSet reports whether a broker setting was given explicitly.
func (c *Config) IsSet(name string) bool { _, ok := c.Values[name]; return ok }

func (c *Config) int(name string) int64 {
	v, _ := strconv.ParseInt(strings.TrimSpace(c.Get(name)), 10, 64)
	return v
}

func (c *Config) resolve() error {
	c.NodeID = int32(c.int("node.id"))
	if c.IsSet("broker.id") && !c.IsSet("node.id") && c.int("broker.id") >= 0 {
		c.NodeID = int32(c.int("broker.id"))
	}
	c.ClusterID = c.Get("cluster.id")
	c.NumPartitions = int32(c.int("num.partitions"))
	c.DefaultReplicationFactor = int16(c.int("default.replication.factor"))
	c.AutoCreateTopics = c.Get("auto.create.topics.enable") == "true"
	c.DeleteTopicEnable = c.Get("delete.topic.enable") == "true"
	c.SocketRequestMaxBytes = int32(c.int("socket.request.max.bytes"))
	c.QueuedMaxRequests = int(c.int("queued.max.requests"))
	c.QueuedMaxRequestBytes = c.int("queued.max.request.bytes")
	c.MaxConnections = int(c.int("max.connections"))
	c.ConnectionsMaxIdle = ms(c.int("connections.max.idle.ms"))
	c.SocketSendBuffer = int(c.int("socket.send.buffer.bytes"))
	c.SocketRecvBuffer = int(c.int("socket.receive.buffer.bytes"))
	c.FetchSessionSlots = int(c.int("max.incremental.fetch.session.cache.slots"))
	c.FetchMaxBytes = int32(c.int("fetch.max.bytes"))
	c.FlushMode = c.Get("log.flush.mode")
	c.MaxOpenFiles = int(c.int("log.max.open.files"))
	c.MinFreeBytes = c.int("log.dir.min.free.bytes")
	c.ScrubRate = c.int("log.scrub.bytes.per.second")
	c.FlushSchedulerInterval = ms(c.int("log.flush.scheduler.interval.ms"))
	c.GroupInitialRebalanceDelay = ms(c.int("group.initial.rebalance.delay.ms"))
	c.GroupMinSessionTimeout = ms(c.int("group.min.session.timeout.ms"))
	c.GroupMaxSessionTimeout = ms(c.int("group.max.session.timeout.ms"))
	c.GroupMaxSize = int(c.int("group.max.size"))
	c.OffsetsTopicPartitions = int32(c.int("offsets.topic.num.partitions"))
	c.OffsetsTopicReplication = int16(c.int("offsets.topic.replication.factor"))
	c.TxnTopicPartitions = int32(c.int("transaction.state.log.num.partitions"))
	c.TxnTopicReplication = int16(c.int("transaction.state.log.replication.factor"))
	c.TxnTopicMinISR = int(c.int("transaction.state.log.min.isr"))
	c.TxnMaxTimeout = ms(c.int("transaction.max.timeout.ms"))
	c.TxnIDExpiration = ms(c.int("transactional.id.expiration.ms"))
	c.TxnAbortInterval = ms(c.int("transaction.abort.timed.out.transaction.cleanup.interval.ms"))
	c.TxnExpireInterval = ms(c.int("transaction.remove.expired.transaction.cleanup.interval.ms"))
	c.ReplicaLagTimeMax = ms(c.int("replica.lag.time.max.ms"))
	c.RackAwareFetch = strings.EqualFold(strings.TrimSpace(c.Get("replica.selector.class")), RackAwareReplicaSelector)
	c.LeaderThrottleRate = c.int("leader.replication.throttled.rate")
	c.FollowerThrottleRate = c.int("follower.replication.throttled.rate")
	if c.Get("auto.leader.rebalance.enable") == "true" {
		c.LeaderRebalance = time.Duration(c.int("leader.imbalance.check.interval.seconds")) * time.Second
	}
	c.ImbalancePercent = int(c.int("leader.imbalance.per.broker.percentage"))
	c.ControlledShutdown = c.Get("controlled.shutdown.enable") == "true"
	c.BrokerSessionTimeout = ms(c.int("broker.session.timeout.ms"))
	c.OffsetsRetention = time.Duration(c.int("offsets.retention.minutes")) * time.Minute
	c.OffsetsRetentionCheck = ms(c.int("offsets.retention.check.interval.ms"))
	c.OffsetMetadataMaxBytes = int(c.int("offset.metadata.max.bytes"))
	c.ConsumerHeartbeatInterval = ms(c.int("group.consumer.heartbeat.interval.ms"))
	c.ConsumerSessionTimeout = ms(c.int("group.consumer.session.timeout.ms"))

	c.DataDir = "samsa-data"
	if d := c.Get("log.dirs"); d != "" {
		c.DataDir = strings.TrimSpace(strings.Split(d, ",")[0])
	} else if d := c.Get("log.dir"); d != "" {
		c.DataDir = d
	}
	if err := c.resolveCluster(); err != nil {
		return err
	}
	if err := c.checkQuota(); err != nil {
		return err
	}
	return c.resolveAdvertised()
}

// resolveAdvertised fills Advertised: advertised.listeners by name, else
// each listener's own address (a wildcard host advertised as 127.0.0.1).
// AdvertisedHost and AdvertisedPort are the inter-broker listener's.
func (c *Config) resolveAdvertised() error {
	c.Advertised = map[string]Endpoint{}
	adv := map[string]string{}
	if a := c.Get("advertised.listeners"); a != "" {
		ls, err := parseListeners(a, c.protocols())
		if err != nil {
			return fmt.Errorf("%w: advertised.listeners: %v", ErrInvalid, err)
		}
		for _, l := range ls {
			if !c.isControllerListener(l.Name) {
				adv[l.Name] = l.Addr
			}
		}
		if len(c.Listeners) == 1 && len(adv) == 1 && adv[c.Listeners[0].Name] == "" {
			// One listener each, named differently: the advertised one
			// is that listener's (as before listener names mattered).
			for _, a := range adv {
				adv[c.Listeners[0].Name] = a
			}
		}
	}
	for _, l := range c.Listeners {
		addr := l.Addr
		if a, ok := adv[l.Name]; ok {
			addr = a
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("%w: advertised address %q: %v", ErrInvalid, addr, err)
		}
		p, _ := strconv.Atoi(port)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		c.Advertised[l.Name] = Endpoint{Host: host, Port: int32(p)}
	}
	if ep, ok := c.Advertised[c.InterBrokerListener]; ok {
		c.AdvertisedHost, c.AdvertisedPort = ep.Host, ep.Port
	}
	return nil
}

// SetAdvertisedPort sets the advertised port of a listener that listened
// on port 0 (tests): the port the system chose.
func (c *Config) SetAdvertisedPort(listener string, port int32) {
	ep := c.Advertised[listener]
	if ep.Port != 0 {
		return
	}
	ep.Port = port
	adv := make(map[string]Endpoint, len(c.Advertised))
	for k, v := range c.Advertised {
		adv[k] = v
	}
	adv[listener] = ep
	c.Advertised = adv
	if listener == c.InterBrokerListener {
		c.AdvertisedPort = port
	}
}

// SetListen changes the listener to host:port (the --listen flag). If no
// advertised listener was configured, the advertised address follows.
func (c *Config) SetListen(addr string) error {
	vals := copyMap(c.Values)
	vals["listeners"] = "PLAINTEXT://" + addr
	n, err := New(vals)
	if err != nil {
		return err
	}
	*c = *n
	return nil
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Unsupported lists the explicitly set settings that Samsa accepts but does
// not act on yet, so start-up can say so.
func (c *Config) Unsupported() []string {
	var out []string
	for k := range c.Values {
		key, ok := brokerByName[k]
		if !ok {
			key, ok = listenerKey(k) // listener.name.<l>.<setting>
		}
		if ok && key.Inert {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// ReadProperties parses a Java properties file: key=value or key:value
// lines, # and ! comments, blank lines, and backslash line continuations.
func ReadProperties(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var pending string
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimLeft(sc.Text(), " \t\f")
		if pending == "" && (line == "" || line[0] == '#' || line[0] == '!') {
			continue
		}
		if strings.HasSuffix(line, "\\") && !strings.HasSuffix(line, "\\\\") {
			pending += strings.TrimSuffix(line, "\\")
			continue
		}
		line = pending + line
		pending = ""
		k, v, ok := splitProperty(line)
		if !ok {
			return nil, fmt.Errorf("%w: line %d: expected key=value, got %q", ErrInvalid, lineNo, line)
		}
		out[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func splitProperty(line string) (key, value string, ok bool) {
	i := strings.IndexAny(line, "=:")
	if i <= 0 {
		return "", "", false
	}
	return strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+1:]), true
}

// Load reads an optional properties file and applies key=value overrides
// on top, then resolves.
func Load(file string, overrides []string) (*Config, error) {
	vals := map[string]string{}
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("config file: %w", err)
		}
		defer f.Close()
		if vals, err = ReadProperties(f); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	for _, o := range overrides {
		k, v, ok := strings.Cut(o, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%w: --override %q: expected key=value", ErrInvalid, o)
		}
		vals[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return New(vals)
}

// WithDynamic returns the configuration with dynamic broker settings (set
// at run time with AlterConfigs and kept in the metadata log) applied over
// the static ones: def holds the cluster-wide defaults, own this node's
// (which win). Read-only and unknown keys are ignored: they were refused
// when set. The receiver is not changed.
func (c *Config) WithDynamic(def, own map[string]string) *Config {
	if len(def) == 0 && len(own) == 0 {
		return c
	}
	n := *c
	n.Values = copyMap(c.Values)
	n.dynamic = map[string]Source{}
	n.dynamicDefault = map[string]string{}
	for src, m := range map[Source]map[string]string{SourceDynamicDefault: def, SourceDynamic: own} {
		for k, v := range m {
			key, ok := LookupBroker(k)
			if !ok || key.ReadOnly || key.Check(v) != nil {
				continue
			}
			if src == SourceDynamicDefault {
				n.dynamicDefault[k] = v
				if own[k] != "" {
					continue
				}
			}
			n.Values[k] = v
			n.dynamic[k] = src
		}
	}
	// Static-only fields (listener, data dir, identity) keep their values.
	listen, advHost, advPort, dataDir, clusterID := c.ListenAddr, c.AdvertisedHost, c.AdvertisedPort, c.DataDir, c.ClusterID
	listeners, advertised, inter := c.Listeners, c.Advertised, c.InterBrokerListener
	if err := n.resolve(); err != nil {
		return c
	}
	n.ListenAddr, n.AdvertisedHost, n.AdvertisedPort, n.DataDir, n.ClusterID = listen, advHost, advPort, dataDir, clusterID
	n.Listeners, n.Advertised, n.InterBrokerListener = listeners, advertised, inter
	return &n
}

// Source says where a dynamic broker setting comes from.
type Source int8

// Dynamic sources (0: not dynamic).
const (
	SourceDynamic        Source = 1 // this node's dynamic setting
	SourceDynamicDefault Source = 2 // the cluster-wide dynamic default
)

// DynamicSource reports whether and how a broker setting's value comes from
// a dynamic (run-time) change.
func (c *Config) DynamicSource(name string) Source { return c.dynamic[name] }

// DynamicDefault returns a broker setting's cluster-wide dynamic default,
// whether or not this node's own dynamic setting hides it.
func (c *Config) DynamicDefault(name string) (string, bool) {
	v, ok := c.dynamicDefault[name]
	return v, ok
}

// IsDynamic reports whether a broker setting's value comes from a dynamic
// (run-time) change.
func (c *Config) IsDynamic(name string) bool { return c.dynamic[name] != 0 }

// CheckDynamic validates a dynamic broker change: the key must exist and be
// changeable without a restart, and the value must be legal.
func CheckDynamic(name, value string) error {
	key, ok := LookupBroker(name)
	if !ok {
		return fmt.Errorf("%w: unknown broker setting %q", ErrInvalid, name)
	}
	if key.ReadOnly {
		return fmt.Errorf("%w: %s cannot be changed without a restart; set it in server.properties", ErrReadOnly, name)
	}
	return key.Check(value)
}

// ErrReadOnly is returned for a dynamic change of a static-only setting.
var ErrReadOnly = errors.New("read-only setting")
