package quorum

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"time"
)

// An SSL controller listener (Kafka's controller.listener.names mapped to
// SSL) carries the quorum's frames inside TLS: the listener completes each
// handshake before it reads the hello, and controllers and learners dial
// with the Dial the configuration gives (the listener's trust store, and
// its key store as client certificate). With ssl.client.auth=required on
// that listener only nodes holding a certificate its trust store signed
// can take part: TLS is how controllers authenticate each other, since
// their protocol has no SASL exchange.

// tlsHandshakeTimeout bounds an inbound TLS handshake.
const tlsHandshakeTimeout = 10 * time.Second

// dialPeer connects to a controller listener.
func (t *transport) dialPeer(addr string) (net.Conn, error) {
	if t.dial == nil {
		return net.DialTimeout("tcp", addr, dialTimeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*dialTimeout)
	defer cancel()
	return t.dial(ctx, addr)
}

// dialFailed logs a failed dial to a voter that is more than a peer being
// down (a TLS handshake the other side refused, a certificate this node
// does not trust), once per distinct error, so a configuration mistake is
// not silent while a stopped peer stays quiet.
func (t *transport) dialFailed(addr string, err error) {
	if err == nil {
		t.heardMu.Lock()
		delete(t.dialErrs, addr)
		t.heardMu.Unlock()
		return
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return // nothing listens there (yet): the peer is down
	}
	t.heardMu.Lock()
	if t.dialErrs == nil {
		t.dialErrs = map[string]string{}
	}
	same := t.dialErrs[addr] == err.Error()
	t.dialErrs[addr] = err.Error()
	t.heardMu.Unlock()
	if !same {
		t.logger.Warn("metadata quorum: cannot connect to a controller; retrying", "controller", addr, "err", err)
	}
}

// handshake completes an inbound TLS connection's handshake (true for a
// plain one); a failure is logged and the connection is to be closed.
func (t *transport) handshake(conn net.Conn) bool {
	tc, ok := conn.(*tls.Conn)
	if !ok {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), tlsHandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		t.logger.Info("controller listener: TLS handshake failed; closing", "remote", conn.RemoteAddr(), "err", err)
		return false
	}
	return true
}

// buffered wraps a connection whose first bytes r read ahead; a TLS one
// keeps its ConnectionState visible, so the Kafka handler can take the
// client certificate's principal.
func buffered(conn net.Conn, r *bufio.Reader) net.Conn {
	if tc, ok := conn.(*tls.Conn); ok {
		return &tlsBufferedConn{bufferedConn{Conn: conn, r: r}, tc}
	}
	return &bufferedConn{Conn: conn, r: r}
}

type tlsBufferedConn struct {
	bufferedConn
	tc *tls.Conn
}

// ConnectionState is the TLS connection's state.
func (c *tlsBufferedConn) ConnectionState() tls.ConnectionState { return c.tc.ConnectionState() }
