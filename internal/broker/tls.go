package broker

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/tlsconfig"
)

// tlsHandshakeTimeout bounds a client's TLS handshake: a client that
// opens a connection and says nothing holds no goroutine for longer.
const tlsHandshakeTimeout = 10 * time.Second

// isTLS reports whether a listener's protocol runs over TLS.
func isTLS(protocol string) bool { return protocol == config.SSL || protocol == config.SASLSSL }

// listenerTLS loads a TLS listener's key and trust stores (ssl.*, per
// listener); an error names the setting at fault.
//
// On a SASL_SSL listener only listener.name.<l>.ssl.client.auth asks for
// client certificates: the broker-wide ssl.client.auth applies to SSL
// listeners alone, as in Kafka (KIP-684), since SASL authenticates there.
func (b *Broker) listenerTLS(l config.Listener) (*tlsconfig.Server, error) {
	s := tlsconfig.FromConfig(b.cfg, l.Name)
	if l.Protocol == config.SASLSSL && !b.cfg.IsSet("listener.name."+strings.ToLower(l.Name)+".ssl.client.auth") {
		s.ClientAuth = "none"
	}
	return tlsconfig.NewServer(s, b.logger.With("listener", l.Name))
}

// handshake completes a TLS connection's handshake before any request is
// read and, on an SSL listener, takes the client certificate's principal
// (User:ANONYMOUS without one, as Kafka). false: the connection is closed.
func (c *conn) handshake() bool {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), tlsHandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		c.b.logger.Info("TLS handshake failed", "remote", c.nc.RemoteAddr(), "listener", c.listener.Name, "err", err)
		return false
	}
	if c.listener.Protocol == config.SSL && c.tls != nil {
		p := c.tls.Principal(tc.ConnectionState())
		c.principal.Store(&p)
	}
	return true
}

// copyBufs are the buffers record data goes through on a TLS connection,
// which cannot use sendfile: it has to be encrypted in user space.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func copyPooled(w io.Writer, r io.Reader) error {
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	_, err := io.CopyBuffer(w, r, *buf)
	return err
}

// corkConn is the TCP connection under a TLS one. While corked it gathers
// what the TLS layer writes (one record of at most 16 KiB per write) and
// passes it on in writes of up to corkBytes: a fetch response of
// megabytes goes out in a few dozen system calls instead of hundreds, and
// the client is woken as many times fewer. The TLS layer writes through
// it at once when it is not corked (handshakes, alerts, small answers).
type corkConn struct {
	net.Conn
	mu     sync.Mutex // guards corked and buf
	corked bool
	buf    *[]byte
}

const corkBytes = 256 << 10

var corkBufs = sync.Pool{New: func() any { b := make([]byte, 0, corkBytes); return &b }}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return c.Conn.Write(p)
	}
	if len(*c.buf)+len(p) > corkBytes {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) >= corkBytes {
			return c.Conn.Write(p)
		}
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

func (c *corkConn) flushLocked() error {
	if len(*c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(*c.buf)
	*c.buf = (*c.buf)[:0]
	return err
}

// cork starts gathering writes.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked, c.buf = true, corkBufs.Get().(*[]byte)
	c.mu.Unlock()
}

// uncork writes what was gathered and writes through again.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return nil
	}
	err := c.flushLocked()
	*c.buf = (*c.buf)[:0]
	corkBufs.Put(c.buf)
	c.corked, c.buf = false, nil
	return err
}
