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
		p.close = true
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
	out, done, user, err := c.sasl.exchange.Step(req.SASLAuthBytes)
	if err != nil {
		c.sasl.exchange = nil
		msg := fmt.Sprintf("Authentication failed during authentication due to invalid credentials with SASL mechanism %s", c.sasl.mechanism)
		if !errors.Is(err, sasl.ErrAuthentication) {
			msg = fmt.Sprintf("Authentication failed with SASL mechanism %s", c.sasl.mechanism)
		}
		b.logger.Info("SASL authentication failed", "remote", c.nc.RemoteAddr(), "listener", c.listener.Name, "mechanism", c.sasl.mechanism)
		fail(kerr.SaslAuthenticationFailed.Code, msg)
		return
	}
	resp.SASLAuthBytes = out
	if done {
		principal := "User:" + user
		if prev := c.principal.Load(); c.sasl.authenticated && prev != nil && *prev != principal {
			// KIP-368: a re-authentication may not change who it is.
			fail(kerr.SaslAuthenticationFailed.Code, "Cannot change principals during re-authentication")
			return
		}
		c.principal.Store(&principal)
		c.sasl.authenticated, c.sasl.exchange = true, nil
		if sl.reauth > 0 && req.Version >= 1 {
			resp.SessionLifetimeMillis = sl.reauth.Milliseconds()
			c.sasl.expires = time.Now().Add(sl.reauth)
		}
	}
	p.complete(resp)
}
