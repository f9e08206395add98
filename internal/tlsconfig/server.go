package tlsconfig

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Anonymous is the principal of a TLS client that sent no certificate.
const Anonymous = "User:ANONYMOUS"

// reloadInterval is how often, at most, handshakes look at the store files.
const reloadInterval = time.Second

// Server is one listener's TLS configuration: the key store it presents,
// the trust store client certificates are checked against, and how their
// names become principals. Its key and trust store files are reloaded
// when they change on disk.
type Server struct {
	settings   Settings
	logger     *slog.Logger
	mapper     *Mapper
	proto      protocolConfig
	clientAuth tls.ClientAuthType
	base       *tls.Config // what Config returns

	interval  atomic.Int64 // nanoseconds between looks at the files
	lastCheck atomic.Int64 // unix nanoseconds of the last look at the files
	mu        sync.Mutex   // one reload at a time; guards the fields below
	keyFile   *storeFile   // nil: no key store file (PEM strings)
	trustFile *storeFile   // nil: no trust store file
	certs     []tls.Certificate
	roots     []*x509.Certificate

	current atomic.Pointer[tls.Config] // the configuration handshakes use
}

// NewServer loads and checks a listener's ssl.* settings: its key store
// (required), trust store, client authentication, protocols, cipher suites
// and principal mapping rules. Every problem is an error naming the
// setting; nothing is deferred to the first handshake.
func NewServer(s Settings, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	srv := &Server{settings: s, logger: logger}
	srv.interval.Store(int64(reloadInterval))
	var err error
	if srv.proto, err = parseProtocols(s); err != nil {
		return nil, err
	}
	switch strings.ToLower(strings.TrimSpace(s.ClientAuth)) {
	case "", "none":
		srv.clientAuth = tls.NoClientCert
	case "requested":
		srv.clientAuth = tls.VerifyClientCertIfGiven
	case "required":
		srv.clientAuth = tls.RequireAndVerifyClientCert
	default:
		return nil, fmt.Errorf("ssl.client.auth: %q is not none, requested or required", s.ClientAuth)
	}
	rules := s.PrincipalMappingRules
	if strings.TrimSpace(rules) == "" {
		rules = "DEFAULT" // unset; Kafka's default
	}
	if srv.mapper, err = ParseMappingRules(rules); err != nil {
		return nil, err
	}
	if len(srv.mapper.rules) == 0 && srv.clientAuth != tls.NoClientCert {
		return nil, fmt.Errorf("ssl.principal.mapping.rules: %q has no rule, so every client certificate would be refused", s.PrincipalMappingRules)
	}
	if srv.certs, srv.keyFile, err = loadKeyStore(s); err != nil {
		return nil, err
	}
	if len(srv.certs) == 0 {
		return nil, errors.New("ssl.keystore.location: not set: a TLS listener needs a key store (or, with ssl.keystore.type=PEM, ssl.keystore.certificate.chain and ssl.keystore.key)")
	}
	if srv.roots, srv.trustFile, err = loadTrustStore(s); err != nil {
		return nil, err
	}
	if len(srv.roots) == 0 && srv.clientAuth != tls.NoClientCert {
		return nil, fmt.Errorf("ssl.client.auth=%s needs a trust store to check client certificates against: set ssl.truststore.location (or, with ssl.truststore.type=PEM, ssl.truststore.certificates)", strings.ToLower(s.ClientAuth))
	}
	srv.warnExpiry(srv.certs)
	srv.current.Store(srv.build(srv.certs, srv.roots))
	srv.lastCheck.Store(time.Now().UnixNano())
	srv.base = &tls.Config{
		MinVersion: srv.proto.minVersion,
		MaxVersion: srv.proto.maxVersion,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			srv.maybeReload()
			return srv.current.Load(), nil
		},
	}
	return srv, nil
}

// Config returns the configuration for tls.NewListener or tls.Server. Each
// handshake takes the current key and trust stores, and at most once per
// second looks whether their files changed on disk; a change is loaded and
// logged, and a file that fails to load is logged and ignored (the
// previous key and certificates stay in use) until it changes again.
func (s *Server) Config() *tls.Config { return s.base }

// build makes the configuration handshakes use from loaded material.
func (s *Server) build(certs []tls.Certificate, roots []*x509.Certificate) *tls.Config {
	c := &tls.Config{
		Certificates: certs,
		ClientAuth:   s.clientAuth,
		ClientCAs:    certPool(roots),
	}
	s.proto.apply(c)
	if s.clientAuth != tls.NoClientCert {
		c.VerifyConnection = s.verifyConnection
	}
	return c
}

// verifyConnection refuses a verified client certificate whose name no
// mapping rule applies to: Kafka would fail to build its principal and
// close the connection; here the handshake fails.
func (s *Server) verifyConnection(st tls.ConnectionState) error {
	if len(st.VerifiedChains) == 0 || len(st.VerifiedChains[0]) == 0 {
		return nil
	}
	dn := DistinguishedName(st.VerifiedChains[0][0])
	if _, err := s.mapper.Name(dn); err != nil {
		s.logger.Warn("tls: client certificate refused", "subject", dn, "err", err)
		return err
	}
	return nil
}

// Principal returns the principal of a TLS connection as Kafka's default
// principal builder does: "User:" and the mapped name of the client's
// verified certificate, or User:ANONYMOUS when the client sent none. It
// returns "" when the name maps to nothing, which a handshake through
// Config never lets through.
func (s *Server) Principal(st tls.ConnectionState) string {
	if len(st.VerifiedChains) == 0 || len(st.VerifiedChains[0]) == 0 {
		return Anonymous
	}
	name, err := s.mapper.Name(DistinguishedName(st.VerifiedChains[0][0]))
	if err != nil {
		return ""
	}
	return "User:" + name
}

// maybeReload looks at the store files if the last look is more than the
// interval ago and no other handshake is looking now.
func (s *Server) maybeReload() {
	now := time.Now().UnixNano()
	last := s.lastCheck.Load()
	if now-last < s.interval.Load() || !s.lastCheck.CompareAndSwap(last, now) {
		return
	}
	if !s.mu.TryLock() {
		return
	}
	defer s.mu.Unlock()
	s.reload()
}

// reload loads the store files that changed; s.mu is held.
func (s *Server) reload() {
	certs, roots := s.certs, s.roots
	changed := false
	if f := s.keyFile; f != nil {
		if _, ok := f.changed(); ok {
			data, nf, err := readStore(f.setting, f.path)
			if err == nil && nf.sum == f.sum {
				s.keyFile = nf // touched, same content
			} else {
				if err == nil {
					typ, _, _, _ := keyStoreSpec(s.settings)
					certs, err = parseKeyStoreFile(s.settings, typ, f.path, data)
				}
				if err != nil {
					s.logger.Error("tls: key store reload failed; the previous key and certificate stay in use", "path", f.path, "err", err)
					s.keyFile = failed(f, nf)
					certs = s.certs
				} else {
					s.keyFile = nf
					changed = true
					s.logger.Info("tls: key store reloaded", "path", f.path, "subject", DistinguishedName(certs[0].Leaf), "not_after", certs[0].Leaf.NotAfter)
					s.warnExpiry(certs)
				}
			}
		}
	}
	if f := s.trustFile; f != nil {
		if _, ok := f.changed(); ok {
			data, nf, err := readStore(f.setting, f.path)
			if err == nil && nf.sum == f.sum {
				s.trustFile = nf
			} else {
				if err == nil {
					typ, _, _, _ := trustStoreSpec(s.settings)
					roots, err = parseTrustStoreFile(s.settings, typ, f.path, data)
				}
				if err != nil {
					s.logger.Error("tls: trust store reload failed; the previous trusted certificates stay in use", "path", f.path, "err", err)
					s.trustFile = failed(f, nf)
					roots = s.roots
				} else {
					s.trustFile = nf
					changed = true
					s.logger.Info("tls: trust store reloaded", "path", f.path, "certificates", len(roots))
				}
			}
		}
	}
	if changed {
		s.certs, s.roots = certs, roots
		s.current.Store(s.build(certs, roots))
	}
}

// failed records a file that failed to load so it is not tried (and
// logged) again until it changes again; the content sum stays the loaded
// one's, so going back to that content counts as a change too.
func failed(loaded, read *storeFile) *storeFile {
	f := *loaded
	if read != nil {
		f.info = read.info
	} else if info, err := os.Stat(loaded.path); err == nil {
		f.info = info
	}
	f.sum = [sha256.Size]byte{} // whatever is there next differs from this
	return &f
}

// warnExpiry logs certificates of the key store that have expired or are
// about to.
func (s *Server) warnExpiry(certs []tls.Certificate) {
	now := time.Now()
	for _, c := range certs {
		if c.Leaf == nil {
			continue
		}
		switch {
		case now.After(c.Leaf.NotAfter):
			s.logger.Warn("tls: the key store's certificate has expired", "subject", DistinguishedName(c.Leaf), "not_after", c.Leaf.NotAfter)
		case c.Leaf.NotAfter.Sub(now) < 7*24*time.Hour:
			s.logger.Warn("tls: the key store's certificate expires within a week", "subject", DistinguishedName(c.Leaf), "not_after", c.Leaf.NotAfter)
		}
	}
}
