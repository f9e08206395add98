package interbroker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	kgosasl "github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/sasl"
	"github.com/samsa-streaming/samsa/internal/tlsconfig"
)

// ErrAuthentication wraps a refusal by the other node: its TLS handshake
// failed (an untrusted certificate, a client certificate it refused) or
// it refused this broker's SASL credentials. Retrying does not help until
// the configuration changes, so it is worth a louder log line than a
// connection that is simply down.
var ErrAuthentication = errors.New("inter-broker authentication failed")

// Dialer connects to one kind of listener of other nodes (the
// inter-broker listener, or the controller listener) with that listener's
// security protocol. It is safe for concurrent use.
type Dialer struct {
	listener string // the listener's name, for errors
	protocol string // config.Plaintext, SSL, SASLPlaintext or SASLSSL
	tls      tlsconfig.Settings
	// mechanism and the credentials are set for SASL protocols only.
	mechanism      string
	user, password string
	timeout        time.Duration
}

// dialTimeout bounds the TCP connect, the TLS handshake and the SASL
// exchange of one dial when the caller's context does not.
const dialTimeout = 10 * time.Second

// New returns the dialer for cfg's inter-broker listener. It loads what
// the protocol needs (key and trust stores, the SASL credentials) once to
// find mistakes at start.
func New(cfg *config.Config) (*Dialer, error) {
	l, ok := cfg.ListenerByName(cfg.InterBrokerListener)
	if !ok {
		// A controller-only node has no broker listener: it reaches
		// brokers in plaintext, as before there was anything else.
		return &Dialer{protocol: config.Plaintext, timeout: dialTimeout}, nil
	}
	d := &Dialer{listener: l.Name, protocol: l.Protocol, timeout: dialTimeout}
	if isTLS(l.Protocol) {
		d.tls = tlsconfig.FromConfig(cfg, l.Name)
		if _, err := tlsconfig.ClientConfig(d.tls, "localhost"); err != nil {
			return nil, fmt.Errorf("inter-broker listener %s: %w", l.Name, err)
		}
	}
	if isSASL(l.Protocol) {
		d.mechanism = cfg.InterBrokerMechanism()
		switch d.mechanism {
		case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		default:
			return nil, fmt.Errorf("inter-broker listener %s: sasl.mechanism.inter.broker.protocol %q: brokers authenticate to each other with %s",
				l.Name, d.mechanism, strings.Join(config.InterBrokerMechanisms, ", "))
		}
		jaas := cfg.JAAS(l.Name, strings.ToLower(d.mechanism))
		setting := fmt.Sprintf("listener.name.%s.%s.sasl.jaas.config", strings.ToLower(l.Name), strings.ToLower(d.mechanism))
		if jaas == "" {
			return nil, fmt.Errorf("inter-broker listener %s: %s is not set: it gives this broker's username and password towards the other brokers (username=\"...\" password=\"...\")", l.Name, setting)
		}
		_, opts, err := sasl.ParseJAAS(jaas)
		if err != nil {
			return nil, fmt.Errorf("inter-broker listener %s: %s: %w", l.Name, setting, err)
		}
		d.user, d.password = opts["username"], opts["password"]
		if d.user == "" || d.password == "" {
			return nil, fmt.Errorf("inter-broker listener %s: %s has no username and password: they are this broker's credentials towards the other brokers", l.Name, setting)
		}
	}
	return d, nil
}

// NewController returns the dialer for the controller listener (Kafka's
// controller.listener.names): plaintext, or TLS with that listener's
// ssl.* settings. The quorum's transport has no SASL exchange; the
// configuration refuses a SASL controller listener.
func NewController(cfg *config.Config) (*Dialer, error) {
	l, ok := cfg.ControllerListener()
	if !ok || l.Protocol == config.Plaintext {
		return &Dialer{listener: l.Name, protocol: config.Plaintext, timeout: dialTimeout}, nil
	}
	if l.Protocol != config.SSL {
		return nil, fmt.Errorf("controller listener %s: %s is not supported between controllers (SSL or PLAINTEXT)", l.Name, l.Protocol)
	}
	d := &Dialer{listener: l.Name, protocol: l.Protocol, timeout: dialTimeout, tls: tlsconfig.FromConfig(cfg, l.Name)}
	if _, err := tlsconfig.ClientConfig(d.tls, "localhost"); err != nil {
		return nil, fmt.Errorf("controller listener %s: %w", l.Name, err)
	}
	return d, nil
}

// Protocol is the security protocol the dialer speaks.
func (d *Dialer) Protocol() string { return d.protocol }

// Listener is the name of the listener the dialer reaches.
func (d *Dialer) Listener() string { return d.listener }

// Principal is the user this broker authenticates as with SASL ("" for
// other protocols).
func (d *Dialer) Principal() string {
	if d.user == "" {
		return ""
	}
	return "User:" + d.user
}

func isTLS(p string) bool  { return p == config.SSL || p == config.SASLSSL }
func isSASL(p string) bool { return p == config.SASLPlaintext || p == config.SASLSSL }

// Conn is an open, authenticated connection to another node.
type Conn struct {
	net.Conn
	// ReauthAt is when the SASL session ends (KIP-368): the other broker
	// closes the connection at its first request after that, so its owner
	// replaces it before. Zero: the session does not end.
	ReauthAt time.Time
}

// Dial connects to addr and, for SASL protocols, authenticates with
// clientID in the request headers. The connection is ready for Kafka
// requests.
func (d *Dialer) Dial(ctx context.Context, addr, clientID string) (*Conn, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.timeout)
		defer cancel()
	}
	nc, err := d.DialTLS(ctx, addr)
	if err != nil {
		return nil, err
	}
	c := &Conn{Conn: nc}
	if isSASL(d.protocol) {
		if dl, ok := ctx.Deadline(); ok {
			nc.SetDeadline(dl)
		}
		start := time.Now()
		lifetime, err := authenticate(ctx, nc, d.mechanismFor(), addr, clientID)
		nc.SetDeadline(time.Time{})
		if err != nil {
			nc.Close()
			return nil, err
		}
		if lifetime > 0 {
			// Renew at 85% of the session, as Kafka's clients do (between
			// 85 and 95%), so a request is never sent on an ended one.
			c.ReauthAt = start.Add(lifetime * 85 / 100)
		}
	}
	return c, nil
}

// DialTLS connects to addr and completes the TLS handshake when the
// protocol has TLS; it does not authenticate with SASL (a franz-go client
// does that itself with KgoOpts' mechanism).
func (d *Dialer) DialTLS(ctx context.Context, addr string) (net.Conn, error) {
	var nd net.Dialer
	if _, ok := ctx.Deadline(); !ok {
		nd.Timeout = d.timeout
	}
	nc, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil || !isTLS(d.protocol) {
		return nc, err
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		nc.Close()
		return nil, err
	}
	cfg, err := tlsconfig.ClientConfig(d.tls, host)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("%s listener: %w", d.listener, err)
	}
	tc := tls.Client(nc, cfg)
	hctx := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		hctx, cancel = context.WithTimeout(ctx, d.timeout)
		defer cancel()
	}
	if err := tc.HandshakeContext(hctx); err != nil {
		nc.Close()
		if isRefusal(err) {
			return nil, fmt.Errorf("%w: TLS with %s (listener %s): %v", ErrAuthentication, addr, d.listener, err)
		}
		return nil, fmt.Errorf("TLS with %s (listener %s): %w", addr, d.listener, err)
	}
	return tc, nil
}

// isRefusal tells a TLS handshake that failed over certificates (either
// side's) from one cut by the network.
func isRefusal(err error) bool {
	var alert tls.AlertError
	var verr *tls.CertificateVerificationError
	return errors.As(err, &alert) || errors.As(err, &verr) || strings.Contains(err.Error(), "certificate")
}

func (d *Dialer) mechanismFor() kgosasl.Mechanism {
	switch d.mechanism {
	case "PLAIN":
		return plain.Auth{User: d.user, Pass: d.password}.AsMechanism()
	case "SCRAM-SHA-256":
		return scram.Auth{User: d.user, Pass: d.password}.AsSha256Mechanism()
	case "SCRAM-SHA-512":
		return scram.Auth{User: d.user, Pass: d.password}.AsSha512Mechanism()
	}
	return nil
}

// KgoOpts are the options a franz-go client needs to reach other brokers'
// inter-broker listeners as this broker: the dialer (TLS) and the SASL
// mechanism, which franz-go runs on each connection and renews.
func (d *Dialer) KgoOpts() []kgo.Opt {
	var opts []kgo.Opt
	if isTLS(d.protocol) {
		opts = append(opts, kgo.Dialer(func(ctx context.Context, _, host string) (net.Conn, error) {
			return d.DialTLS(ctx, host)
		}))
	}
	if isSASL(d.protocol) {
		opts = append(opts, kgo.SASL(d.mechanismFor()))
	}
	return opts
}
