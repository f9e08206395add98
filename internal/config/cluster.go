package config

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Listener is one entry of Kafka's listeners list: NAME://host:port.
type Listener struct {
	Name     string
	Protocol string // from listener.security.protocol.map
	Addr     string // host:port
}

// Security protocols, as Kafka names them.
const (
	Plaintext     = "PLAINTEXT"
	SSL           = "SSL"
	SASLPlaintext = "SASL_PLAINTEXT"
	SASLSSL       = "SASL_SSL"
)

// Endpoint is an advertised host and port.
type Endpoint struct {
	Host string
	Port int32
}

// protocols parses listener.security.protocol.map.
func (c *Config) protocols() map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(c.Get("listener.security.protocol.map"), ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), ":"); ok {
			out[strings.ToUpper(strings.TrimSpace(k))] = strings.ToUpper(strings.TrimSpace(v))
		}
	}
	return out
}

// parseListeners parses a listeners list. A bare host:port is a PLAINTEXT
// listener; every listener must map to a security protocol Samsa has.
func parseListeners(list string, protocols map[string]string) ([]Listener, error) {
	var out []Listener
	seen := map[string]bool{}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, hostport := "PLAINTEXT", item
		if i := strings.Index(item, "://"); i >= 0 {
			name, hostport = strings.ToUpper(item[:i]), item[i+3:]
		}
		proto, ok := protocols[name]
		if !ok {
			if name != "PLAINTEXT" && name != "SSL" && name != "SASL_PLAINTEXT" && name != "SASL_SSL" {
				return nil, fmt.Errorf("listener %q is not in listener.security.protocol.map", name)
			}
			proto = name
		}
		if proto != Plaintext && proto != SSL && proto != SASLPlaintext && proto != SASLSSL {
			return nil, fmt.Errorf("listener %q: unknown security protocol %q (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)", name, proto)
		}
		if seen[name] {
			return nil, fmt.Errorf("listener name %q appears twice", name)
		}
		seen[name] = true
		host, port, err := net.SplitHostPort(hostport)
		if err != nil {
			return nil, err
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return nil, fmt.Errorf("bad port %q", port)
		}
		out = append(out, Listener{Name: name, Protocol: proto, Addr: net.JoinHostPort(host, port)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no listener")
	}
	return out, nil
}

func (c *Config) isControllerListener(name string) bool {
	for _, n := range strings.Split(c.Get("controller.listener.names"), ",") {
		if strings.EqualFold(strings.TrimSpace(n), name) {
			return true
		}
	}
	return false
}

// parseVoters parses controller.quorum.voters: id@host:port,...
func parseVoters(list string) (map[int32]string, error) {
	out := map[int32]string{}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, addr, ok := strings.Cut(item, "@")
		if !ok {
			return nil, fmt.Errorf("%q: expected id@host:port", item)
		}
		n, err := strconv.ParseInt(id, 10, 32)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q: bad node id", item)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("%q: %v", item, err)
		}
		if _, dup := out[int32(n)]; dup {
			return nil, fmt.Errorf("node id %d appears twice", n)
		}
		out[int32(n)] = addr
	}
	return out, nil
}

// resolveCluster resolves the listeners, the roles and the quorum.
func (c *Config) resolveCluster() error {
	ls, err := parseListeners(c.Get("listeners"), c.protocols())
	if err != nil {
		return fmt.Errorf("%w: listeners: %v", ErrInvalid, err)
	}
	c.ListenAddr, c.ControllerListenAddr = "", ""
	c.Listeners = nil
	for _, l := range ls {
		if c.isControllerListener(l.Name) {
			if c.ControllerListenAddr == "" {
				c.ControllerListenAddr = l.Addr
			}
			continue
		}
		if c.ListenAddr == "" {
			c.ListenAddr = l.Addr
		}
		c.Listeners = append(c.Listeners, l)
	}
	if err := c.resolveInterBroker(); err != nil {
		return err
	}
	roles := map[string]bool{}
	for _, r := range strings.Split(c.Get("process.roles"), ",") {
		if r = strings.TrimSpace(r); r != "" {
			roles[r] = true
		}
	}
	for r := range roles {
		if r != "broker" && r != "controller" {
			return fmt.Errorf("%w: process.roles: unknown role %q (broker, controller)", ErrInvalid, r)
		}
	}
	if !roles["broker"] && !roles["controller"] {
		return fmt.Errorf("%w: process.roles is empty: set broker, controller, or both", ErrInvalid)
	}
	c.Broker, c.Controller = roles["broker"], roles["controller"]
	if c.ListenAddr == "" && c.Broker {
		return fmt.Errorf("%w: listeners %q has no broker listener (every one is named in controller.listener.names)", ErrInvalid, c.Get("listeners"))
	}
	if c.QuorumVoters, err = parseVoters(c.Get("controller.quorum.voters")); err != nil {
		return fmt.Errorf("%w: controller.quorum.voters: %v", ErrInvalid, err)
	}
	c.QuorumBootstrap = nil
	for _, a := range strings.Split(c.Get("controller.quorum.bootstrap.servers"), ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("%w: controller.quorum.bootstrap.servers: %q: %v", ErrInvalid, a, err)
		}
		c.QuorumBootstrap = append(c.QuorumBootstrap, a)
	}
	if err := c.checkSecurity(); err != nil {
		return err
	}
	c.QuorumElectionTimeout = time.Duration(c.int("controller.quorum.election.timeout.ms")) * time.Millisecond
	c.Rack = c.Get("broker.rack")
	_, voter := c.QuorumVoters[c.NodeID]
	c.Observer = false
	if !c.Controller {
		// A broker-only node follows the quorum as an observer.
		c.Observer = true
		switch {
		case voter:
			return fmt.Errorf("%w: node.id %d is in controller.quorum.voters, but process.roles=broker: a voter must have the controller role", ErrInvalid, c.NodeID)
		case len(c.QuorumVoters) == 0 && len(c.QuorumBootstrap) == 0:
			return fmt.Errorf("%w: process.roles=broker needs the controllers: set controller.quorum.voters (or controller.quorum.bootstrap.servers)", ErrInvalid)
		case c.ControllerListenAddr != "":
			return fmt.Errorf("%w: process.roles=broker, but listeners has a controller listener (%s); only controllers have one", ErrInvalid, c.ControllerListenAddr)
		case c.ClusterID == "":
			return fmt.Errorf("%w: a broker joining a cluster needs its cluster.id (`samsa cluster new-id` made it; every node has the same)", ErrInvalid)
		}
		return nil
	}
	switch {
	case len(c.QuorumVoters) == 0 && len(c.QuorumBootstrap) == 0:
		// This node alone: no controller listener is needed.
	case len(c.QuorumVoters) == 1 && voter && c.ControllerListenAddr == "":
		// A one-voter quorum naming this node, without a controller
		// listener: fine (no other node can join it).
	default:
		if c.ControllerListenAddr == "" {
			return fmt.Errorf("%w: a node with the controller role in a quorum of several needs a controller listener in listeners, named in controller.listener.names (%s), e.g. CONTROLLER://%s", ErrInvalid, c.Get("controller.listener.names"), c.QuorumVoters[c.NodeID])
		}
		if c.ClusterID == "" && (len(c.QuorumVoters) > 1 || !voter) {
			return fmt.Errorf("%w: a cluster of several nodes needs cluster.id, the same on every node (Kafka's `kafka-storage.sh format -t`); `samsa cluster new-id` prints a new one", ErrInvalid)
		}
		// A controller not among controller.quorum.voters joins as an
		// observer; kafka-metadata-quorum add-controller makes it a voter
		// (KIP-853). Once it is one, its stored membership says so.
		c.Observer = !voter
	}
	if !c.Broker && c.ControllerListenAddr == "" {
		return fmt.Errorf("%w: process.roles=controller needs controller.quorum.voters and a controller listener; brokers then join with process.roles=broker", ErrInvalid)
	}
	return nil
}

// VoterIDs returns the quorum's voter ids in order.
func (c *Config) VoterIDs() []int32 {
	out := make([]int32, 0, len(c.QuorumVoters))
	for id := range c.QuorumVoters {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// resolveInterBroker picks the listener brokers use to reach each other:
// inter.broker.listener.name, else the first listener whose protocol is
// security.inter.broker.protocol (Kafka's default PLAINTEXT), else the
// first broker listener.
func (c *Config) resolveInterBroker() error {
	c.InterBrokerListener = ""
	if len(c.Listeners) == 0 {
		return nil
	}
	if name := strings.ToUpper(strings.TrimSpace(c.Get("inter.broker.listener.name"))); name != "" {
		for _, l := range c.Listeners {
			if l.Name == name {
				c.InterBrokerListener = name
				return nil
			}
		}
		return fmt.Errorf("%w: inter.broker.listener.name %q is not a broker listener in listeners", ErrInvalid, name)
	}
	proto := strings.ToUpper(strings.TrimSpace(c.Get("security.inter.broker.protocol")))
	if proto == "" {
		proto = Plaintext
	}
	for _, l := range c.Listeners {
		if l.Protocol == proto {
			c.InterBrokerListener = l.Name
			return nil
		}
	}
	c.InterBrokerListener = c.Listeners[0].Name
	return nil
}

// ListenerByName returns the broker listener named name.
func (c *Config) ListenerByName(name string) (Listener, bool) {
	for _, l := range c.Listeners {
		if l.Name == name {
			return l, true
		}
	}
	return Listener{}, false
}
