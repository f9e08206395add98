package broker

// SaslHandshake, key 17, v0-v1 (as Kafka 4.3 offers; librdkafka before 2.x
// refuses SASL with a broker that does not list v0).
//   v0: the SASL tokens follow as bare length-prefixed frames, without
//   Kafka headers (kafka-python 2.0.2 and old librdkafka send them).
//   v1: the tokens follow in SaslAuthenticate requests.
// Chooses the mechanism. On a listener that is not SASL it is
// ILLEGAL_SASL_STATE, as in Kafka. Sent again on an authenticated
// connection (v1) it starts a re-authentication (KIP-368).

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
			c.sasl.raw = req.Version == 0 && !c.sasl.authenticated
			return resp
		}
	}
	resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
	return resp
}
