package broker

import (
	"context"
	"crypto/tls"
	"io"
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
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

func copyPooled(w io.Writer, r io.Reader) error {
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	_, err := io.CopyBuffer(w, r, *buf)
	return err
}
