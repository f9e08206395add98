package broker

// SaslAuthenticate, key 36, v0-v2.
//   v1: session lifetime (KIP-368 re-authentication).  v2: flexible.
// Each request carries the client's next token of the mechanism chosen by
// SaslHandshake. A refusal is SASL_AUTHENTICATION_FAILED with Kafka's
// message (naming the mechanism, never the credentials) and the
// connection closes after the answer, as Kafka's does. On success the
// connection's principal becomes User:<name>; with connections.max.reauth.ms
// set, the answer carries the session lifetime, and a request other than
// a re-authentication after it ends closes the connection.

import (
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/sasl"
)

func handleSASLAuthenticate(rc *reqCtx, p *pending, reqAny kmsg.Request) {
	req := reqAny.(*kmsg.SASLAuthenticateRequest)
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	c, b := rc.c, rc.broker()
	fail := func(code int16, msg string) {
		resp.ErrorCode, resp.ErrorMessage = code, &msg
		p.close, p.closeDelay = true, failedAuthDelay(b)
		p.complete(resp)
	}
	if c.sasl == nil || c.sasl.mechanism == "" {
		fail(kerr.IllegalSaslState.Code, "SaslAuthenticate before SaslHandshake")
		return
	}
	sl, err := b.saslListener(c.listener)
	if err != nil {
		fail(kerr.IllegalSaslState.Code, err.Error())
		return
	}
	if c.sasl.exchange == nil {
		if c.sasl.exchange, err = b.newExchange(sl, c.sasl.mechanism); err != nil {
			fail(kerr.UnsupportedSaslMechanism.Code, err.Error())
			return
		}
	}
	out, done, err := c.saslStep(sl, req.SASLAuthBytes, req.Version >= 1)
	if err != nil {
		fail(kerr.SaslAuthenticationFailed.Code, err.Error())
		return
	}
	resp.SASLAuthBytes = out
	if done && !c.sasl.expires.IsZero() {
		resp.SessionLifetimeMillis = max(time.Until(c.sasl.expires).Milliseconds(), 1)
	}
	p.complete(resp)
}

// failedAuthDelay is connection.failed.authentication.delay.ms: how long
// a refused client's connection stays open after the refusal (KIP-306),
// so clients read the answer before the close and retry no faster.
func failedAuthDelay(b *Broker) time.Duration {
	var ms int64
	fmt.Sscan(b.cfg.Get("connection.failed.authentication.delay.ms"), &ms)
	return time.Duration(ms) * time.Millisecond
}

// saslStep runs one token of the connection's exchange. On success with
// done the connection is authenticated (principal set, session expiry
// armed when reauth is on); an error is the client-facing refusal.
func (c *conn) saslStep(sl *saslListener, token []byte, sessions bool) ([]byte, bool, error) {
	b := c.b
	exchange := c.sasl.exchange
	out, done, user, err := exchange.Step(token)
	if err != nil {
		c.sasl.exchange = nil
		attrs := []any{"remote", c.nc.RemoteAddr(), "listener", c.listener.Name, "mechanism", c.sasl.mechanism}
		var te *sasl.TokenError
		if errors.As(err, &te) {
			// Why a token was refused (expired, signature, audience): never the token.
			attrs = append(attrs, "reason", te.Err.Error())
		}
		b.logger.Info("SASL authentication failed", attrs...)
		if !errors.Is(err, sasl.ErrAuthentication) {
			return nil, false, fmt.Errorf("Authentication failed with SASL mechanism %s", c.sasl.mechanism)
		}
		return nil, false, fmt.Errorf("Authentication failed during authentication due to invalid credentials with SASL mechanism %s", c.sasl.mechanism)
	}
	if !done {
		return out, false, nil
	}
	principal := "User:" + user
	if prev := c.principal.Load(); c.sasl.authenticated && prev != nil && *prev != principal {
		// KIP-368: a re-authentication may not change who it is.
		return nil, false, errors.New("Cannot change principals during re-authentication")
	}
	c.principal.Store(&principal)
	c.sasl.authenticated, c.sasl.exchange = true, nil
	if sl.reauth > 0 && sessions {
		c.sasl.expires = time.Now().Add(sl.reauth)
		// A token's session ends with the token, as in Kafka.
		if ob, ok := exchange.(*sasl.OAuthBearer); ok && !ob.Expires.IsZero() && ob.Expires.Before(c.sasl.expires) {
			c.sasl.expires = ob.Expires
		}
	}
	return out, true, nil
}

// rawSASLToken reads one bare SASL token (after SaslHandshake v0, whose
// tokens come length-prefixed without a Kafka header) and answers it the
// same way; a refusal closes the connection, as Kafka does.
func (c *conn) rawSASLToken(size int32) (*pending, error) {
	var max int64 = 524288
	fmt.Sscan(c.b.cfg.ListenerGet(c.listener.Name, "sasl.server.max.receive.size"), &max)
	if size < 0 || int64(size) > max {
		return nil, fmt.Errorf("SASL token of %d bytes (sasl.server.max.receive.size %d)", size, max)
	}
	// Read as a request frame is (conn.readFrame): a token that stalls
	// holds what was sent of it, not its size. Its bytes are given back
	// to the budgets at once; the buffer is left to the collector, in
	// case the exchange keeps a reference into it.
	token := []byte{}
	if size > 0 {
		var err error
		if token, err = c.readFrame(int(size)); err != nil {
			return nil, err
		}
		c.release(int64(size))
	}
	p := &pending{bare: true, ready: make(chan struct{})}
	p.frameDone.Store(true) // no pooled frame, no budget held
	sl, err := c.b.saslListener(c.listener)
	if err == nil && c.sasl.exchange == nil {
		c.sasl.exchange, err = c.b.newExchange(sl, c.sasl.mechanism)
	}
	if err != nil {
		return nil, err
	}
	out, done, err := c.saslStep(sl, token, false)
	if err != nil {
		p.close, p.closeDelay = true, failedAuthDelay(c.b)
		p.raw = []byte{}
		close(p.ready)
		return p, nil
	}
	if done {
		c.sasl.raw = false // Kafka requests from here on
	}
	if out == nil {
		out = []byte{}
	}
	p.raw = out
	close(p.ready)
	return p, nil
}
