package config

import (
	"fmt"
	"slices"
	"strings"
)

// InterBrokerMechanisms are the SASL mechanisms a broker can authenticate
// with when it dials another broker (sasl.mechanism.inter.broker.protocol).
// OAUTHBEARER would need a token source on the broker, and GSSAPI is not
// offered at all.
var InterBrokerMechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}

// InterBrokerMechanism is sasl.mechanism.inter.broker.protocol, upper case.
func (c *Config) InterBrokerMechanism() string {
	return strings.ToUpper(strings.TrimSpace(c.Get("sasl.mechanism.inter.broker.protocol")))
}

// ControllerListener is the listener controllers talk to each other (and
// broker-only nodes to them) on: this node's first listener named in
// controller.listener.names, or, on a node without one (a broker-only
// node), the first name in controller.listener.names with its protocol
// from listener.security.protocol.map, as Kafka's brokers find how to
// reach the controllers. ok is false when there is no such name.
func (c *Config) ControllerListener() (Listener, bool) {
	if ls, err := parseListeners(c.Get("listeners"), c.protocols()); err == nil {
		for _, l := range ls {
			if c.isControllerListener(l.Name) {
				return l, true
			}
		}
	}
	for _, n := range strings.Split(c.Get("controller.listener.names"), ",") {
		name := strings.ToUpper(strings.TrimSpace(n))
		if name == "" {
			continue
		}
		proto, ok := c.protocols()[name]
		if !ok {
			// Not in the map: a name that is a protocol is that protocol
			// (as in listeners); anything else is PLAINTEXT, what the
			// controller listener was before it could be anything else.
			proto = Plaintext
			if slices.Contains([]string{SSL, SASLPlaintext, SASLSSL}, name) {
				proto = name
			}
		}
		return Listener{Name: name, Protocol: proto}, true
	}
	return Listener{}, false
}

// inCluster reports whether this node talks to other nodes: a quorum of
// several voters, or a node that joins one.
func (c *Config) inCluster() bool {
	return len(c.QuorumVoters) > 1 || len(c.QuorumBootstrap) > 0 || (len(c.QuorumVoters) == 1 && !c.Controller)
}

// checkInterBroker refuses inter-broker and controller listener settings
// that cannot work: a SASL inter-broker listener without a mechanism
// brokers can use with each other, and a SASL controller listener (the
// quorum's own protocol between controllers is not Kafka's, so it has no
// SASL exchange: SSL with ssl.client.auth=required authenticates
// controllers instead).
func (c *Config) checkInterBroker() error {
	if ctl, ok := c.ControllerListener(); ok && (c.ControllerListenAddr != "" || c.inCluster()) {
		if ctl.Protocol == SASLPlaintext || ctl.Protocol == SASLSSL {
			return fmt.Errorf("%w: the controller listener %s is %s: controllers reach each other with TLS (SSL) or in plaintext, not with SASL (their protocol between each other is not Kafka's); map %s to SSL and set listener.name.%s.ssl.client.auth=required so that only nodes with a certificate your trust store signed can join",
				ErrInvalid, ctl.Name, ctl.Protocol, ctl.Name, strings.ToLower(ctl.Name))
		}
		if ctl.Protocol == SSL && c.ControllerListenAddr != "" {
			pemStrings := strings.EqualFold(c.ListenerGet(ctl.Name, "ssl.keystore.type"), "PEM") &&
				c.ListenerGet(ctl.Name, "ssl.keystore.certificate.chain") != "" && c.ListenerGet(ctl.Name, "ssl.keystore.key") != ""
			if c.ListenerGet(ctl.Name, "ssl.keystore.location") == "" && !pemStrings {
				return fmt.Errorf("%w: the controller listener %s (SSL) needs a key store: ssl.keystore.location (or listener.name.%s.ssl.keystore.location)",
					ErrInvalid, ctl.Name, strings.ToLower(ctl.Name))
			}
		}
	}
	l, ok := c.ListenerByName(c.InterBrokerListener)
	if !ok || !c.inCluster() || (l.Protocol != SASLPlaintext && l.Protocol != SASLSSL) {
		return nil
	}
	mech := c.InterBrokerMechanism()
	if !slices.Contains(InterBrokerMechanisms, mech) {
		return fmt.Errorf("%w: the inter-broker listener %s is %s and sasl.mechanism.inter.broker.protocol is %q: brokers authenticate to each other with %s; set it to one of them (and give the broker's username and password in listener.name.%s.<mechanism>.sasl.jaas.config)",
			ErrInvalid, l.Name, l.Protocol, c.Get("sasl.mechanism.inter.broker.protocol"), strings.Join(InterBrokerMechanisms, ", "), strings.ToLower(l.Name))
	}
	if !slices.Contains(c.ListenerMechanisms(l.Name), mech) {
		return fmt.Errorf("%w: sasl.mechanism.inter.broker.protocol %s is not among the mechanisms the inter-broker listener %s offers (sasl.enabled.mechanisms: %q)",
			ErrInvalid, mech, l.Name, c.ListenerGet(l.Name, "sasl.enabled.mechanisms"))
	}
	return nil
}
