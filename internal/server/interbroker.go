package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/interbroker"
	"github.com/samsa-streaming/samsa/internal/tlsconfig"
)

// peering is how this node reaches the others: brokers dials their
// inter-broker listener (replica fetchers, transaction markers, forwarded
// requests), controllers their controller listener (the metadata quorum,
// requests forwarded to a controller-only node); ctlTLS is this node's
// SSL controller listener (nil when it has none, or a plaintext one).
type peering struct {
	brokers, controllers *interbroker.Dialer
	ctlTLS               *tlsconfig.Server
}

// newPeering builds the dialers and the controller listener's TLS from
// cfg, loading every store and credential once: a mistake fails the start.
func newPeering(cfg *config.Config, logger *slog.Logger) (peering, error) {
	var p peering
	var err error
	if p.brokers, err = interbroker.New(cfg); err != nil {
		return p, err
	}
	if p.controllers, err = interbroker.NewController(cfg); err != nil {
		return p, err
	}
	if l, ok := cfg.ControllerListener(); ok && cfg.ControllerListenAddr != "" && l.Protocol == config.SSL {
		if p.ctlTLS, err = tlsconfig.NewServer(tlsconfig.FromConfig(cfg, l.Name), logger.With("listener", l.Name)); err != nil {
			return p, fmt.Errorf("controller listener %s: %w", l.Name, err)
		}
	}
	if p.brokers.Protocol() != config.Plaintext || p.controllers.Protocol() != config.Plaintext {
		logger.Info("nodes reach each other securely", "inter_broker_listener", p.brokers.Listener(),
			"inter_broker_protocol", p.brokers.Protocol(), "inter_broker_principal", p.brokers.Principal(),
			"controller_listener", p.controllers.Listener(), "controller_protocol", p.controllers.Protocol())
	}
	return p, nil
}

// controllerDial is the quorum's dial (nil: plain TCP).
func (p peering) controllerDial() func(ctx context.Context, addr string) (net.Conn, error) {
	if p.controllers.Protocol() == config.Plaintext {
		return nil
	}
	return p.controllers.DialTLS
}

// controllerTLS is the controller listener's server configuration (nil:
// plain TCP).
func (p peering) controllerTLS() *tls.Config {
	if p.ctlTLS == nil {
		return nil
	}
	return p.ctlTLS.Config()
}
