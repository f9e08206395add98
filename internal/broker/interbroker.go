package broker

import (
	"context"
	"net"

	"github.com/samsa-streaming/samsa/internal/interbroker"
	"github.com/samsa-streaming/samsa/internal/tlsconfig"
)

// SetDialers gives the broker how it reaches other nodes: brokers' at
// their inter-broker listener (transaction markers, AddPartitionsToTxn,
// forwarded requests), controllers at their controller listener (a
// request forwarded to a controller-only node), each with its listener's
// TLS and SASL; and ctlTLS, the controller listener's TLS server (nil: not
// TLS), whose client certificates name the principal of Kafka clients that
// connect there. Call it before serving.
func (b *Broker) SetDialers(brokers, controllers *interbroker.Dialer, ctlTLS *tlsconfig.Server) {
	b.peers.brokers, b.peers.controllers, b.ctlTLS = brokers, controllers, ctlTLS
}

// dialPeer connects to another node's inter-broker listener, or its
// controller listener when controller is set, authenticated as this
// broker.
func (b *Broker) dialPeer(ctx context.Context, addr string, controller bool) (net.Conn, error) {
	d := b.peers.brokers
	if controller {
		d = b.peers.controllers
	}
	if d == nil {
		var nd net.Dialer
		return nd.DialContext(ctx, "tcp", addr)
	}
	c, err := d.Dial(ctx, addr, forwardedClientID)
	if err != nil {
		return nil, err
	}
	return c, nil
}
