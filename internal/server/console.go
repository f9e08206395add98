package server

import (
	"net/http"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/console"
)

// console makes the web console (console.enable) for the metrics
// listener: its routes, and what releases its clients when the listener
// closes. It starts before the Kafka listeners accept; until they do its
// API answers 503. A controller-only node has no Kafka listener and no
// console.
func (s *Server) console() (map[string]http.Handler, func()) {
	if !s.cfg.ConsoleEnabled() || !s.cfg.Broker {
		return nil, nil
	}
	c := console.New(console.Options{
		Version: Version, NodeID: s.cfg.NodeID, Logger: s.logger,
		Endpoints: func() []console.Endpoint {
			br := s.brokerRef.Load()
			if br == nil || !s.state.listening.Load() {
				return nil
			}
			var out []console.Endpoint
			for name, addr := range br.Addrs() {
				l, ok := s.cfg.ListenerByName(name)
				if !ok {
					continue
				}
				ep := console.Endpoint{Name: name, Addr: addr.String(), Protocol: l.Protocol}
				if l.Protocol == config.SASLPlaintext || l.Protocol == config.SASLSSL {
					ep.Mechanisms = s.cfg.ListenerMechanisms(name)
				}
				out = append(out, ep)
			}
			return out
		},
	})
	return c.Handlers(), c.Close
}
