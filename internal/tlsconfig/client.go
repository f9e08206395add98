package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
)

// ClientConfig is the configuration a broker dials another broker (or a
// controller) with, from the settings of the listener it dials: its key
// store as client certificate (if it has one, for listeners that want
// mTLS), the trust store as the authorities the server's certificate must
// chain to (the system's when there is no trust store), and the server's
// host name checked against its certificate only when
// ssl.endpoint.identification.algorithm is https (Kafka's default); with ""
// the chain is still verified, the name is not. serverName is the host
// dialed (a name or an IP address).
//
// The stores are read when it is called; call it again for each dial, or
// now and then, to pick up changed files.
func ClientConfig(s Settings, serverName string) (*tls.Config, error) {
	proto, err := parseProtocols(s)
	if err != nil {
		return nil, err
	}
	certs, _, err := loadKeyStore(s)
	if err != nil {
		return nil, err
	}
	roots, _, err := loadTrustStore(s)
	if err != nil {
		return nil, err
	}
	c := &tls.Config{
		Certificates: certs,
		RootCAs:      certPool(roots),
		ServerName:   serverName,
	}
	proto.apply(c)
	switch alg := strings.TrimSpace(s.EndpointIdentification); {
	case strings.EqualFold(alg, "https"):
	case alg == "":
		// Verify the chain ourselves, without the host name.
		pool := c.RootCAs
		c.InsecureSkipVerify = true
		c.VerifyConnection = func(st tls.ConnectionState) error {
			return verifyChain(st.PeerCertificates, pool)
		}
	default:
		return nil, fmt.Errorf("ssl.endpoint.identification.algorithm: %q is not supported (https, or empty to skip the host name check)", alg)
	}
	return c, nil
}

// verifyChain checks a server's certificate chain against the roots (the
// system's when nil), without a host name.
func verifyChain(chain []*x509.Certificate, roots *x509.CertPool) error {
	if len(chain) == 0 {
		return errors.New("tls: the server sent no certificate")
	}
	opts := x509.VerifyOptions{
		Roots:         roots,
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := chain[0].Verify(opts); err != nil {
		return fmt.Errorf("tls: the server's certificate: %w", err)
	}
	return nil
}
