package broker

// SaslHandshake, key 17, v1 (Kafka 4 removed v0, whose tokens came
// without Kafka framing). Chooses the mechanism; the tokens follow in
// SaslAuthenticate. On a listener that is not SASL it is
// ILLEGAL_SASL_STATE, as in Kafka. Sent again on an authenticated
// connection it starts a re-authentication (KIP-368).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func handleSASLHandshake(rc *reqCtx, req *kmsg.SASLHandshakeRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	c := rc.c
	if c.sasl == nil {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return resp
	}
	sl, err := rc.broker().saslListener(c.listener)
	if err != nil {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return resp
	}
	resp.SupportedMechanisms = sl.mechanisms
	for _, m := range sl.mechanisms {
		if m == req.Mechanism {
			c.sasl.mechanism, c.sasl.exchange = m, nil
			return resp
		}
	}
	resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
	return resp
}
