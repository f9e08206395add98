package main

import (
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"
)

// The security listeners of compat/run.sh, reached with sarama: SASL
// SCRAM-SHA-512 on the SASL_PLAINTEXT listener (sarama has no SCRAM of its
// own: the client side is xdg-go/scram) and TLS on the SSL listener. Each is
// saramaRoundTrip with the settings added to every sarama.Config it makes;
// the SCRAM one then checks that a wrong password is refused with
// ErrSASLAuthenticationFailed.
func init() {
	saramaScenarios["sasl-scram-sha-512"] = saramaSCRAM
	saramaScenarios["tls"] = saramaTLS
}

// saramaSecurity, when set, adds security settings to every configuration
// saramaConfig returns.
var saramaSecurity func(*sarama.Config)

func env(name string) (string, error) {
	if v := os.Getenv(name); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("$%s is not set (run by compat/run.sh?)", name)
}

// scramClient is sarama's SCRAMClient over an xdg-go/scram conversation.
type scramClient struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (c *scramClient) Begin(user, password, authzID string) error {
	client, err := c.hash.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	c.conv = client.NewConversation()
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) { return c.conv.Step(challenge) }
func (c *scramClient) Done() bool                            { return c.conv.Done() }

func scramSettings(user, password string) func(*sarama.Config) {
	return func(c *sarama.Config) {
		c.Net.SASL.Enable = true
		c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		c.Net.SASL.User = user
		c.Net.SASL.Password = password
		c.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient {
			return &scramClient{hash: scram.HashGeneratorFcn(sha512.New)}
		}
	}
}

func saramaSCRAM(string) error {
	bootstrap, err := env("BOOTSTRAP_SASL")
	if err != nil {
		return err
	}
	user, err := env("SCRAM_USER")
	if err != nil {
		return err
	}
	password, err := env("SCRAM_PASSWORD")
	if err != nil {
		return err
	}
	saramaSecurity = scramSettings(user, password)
	if err := saramaRoundTrip(bootstrap, "sarama-sasl-scram", sarama.MaxVersion, sarama.CompressionNone, true); err != nil {
		return err
	}
	saramaSecurity = scramSettings(user, "not-the-password")
	c := saramaConfig(sarama.MaxVersion)
	c.Metadata.Retry.Max = 0
	client, err := sarama.NewClient([]string{bootstrap}, c)
	if err == nil {
		client.Close()
		return errors.New("SCRAM-SHA-512 with a wrong password: NewClient succeeded")
	}
	if !errors.Is(err, sarama.ErrSASLAuthenticationFailed) {
		return fmt.Errorf("SCRAM-SHA-512 with a wrong password: %v, want ErrSASLAuthenticationFailed", err)
	}
	const msg = "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"
	if !strings.Contains(err.Error(), msg) {
		return fmt.Errorf("SCRAM-SHA-512 with a wrong password: %q does not carry the broker's message %q", err, msg)
	}
	fmt.Println("SCRAM-SHA-512 with a wrong password: refused as expected:", err)
	return nil
}

func saramaTLS(string) error {
	bootstrap, err := env("BOOTSTRAP_SSL")
	if err != nil {
		return err
	}
	dir, err := env("TLS_DIR")
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(dir + "/ca.crt")
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) {
		return fmt.Errorf("no certificate in %s/ca.crt", dir)
	}
	saramaSecurity = func(c *sarama.Config) {
		c.Net.TLS.Enable = true
		// The host name (127.0.0.1) is checked against the certificate.
		c.Net.TLS.Config = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return saramaRoundTrip(bootstrap, "sarama-tls", sarama.MaxVersion, sarama.CompressionNone, true)
}

// OAUTHBEARER with sarama's AccessTokenProvider on the SASL_PLAINTEXT
// listener: a round trip with a valid token, then an expired one refused
// (ErrSASLAuthenticationFailed with the broker's message).
func init() {
	saramaScenarios["sasl-oauthbearer"] = saramaOAuth
}

// tokenProvider is sarama's AccessTokenProvider for a fixed token.
type tokenProvider string

func (t tokenProvider) Token() (*sarama.AccessToken, error) {
	return &sarama.AccessToken{Token: string(t)}, nil
}

func oauthSettings(tok string) func(*sarama.Config) {
	return func(c *sarama.Config) {
		c.Net.SASL.Enable = true
		c.Net.SASL.Mechanism = sarama.SASLTypeOAuth
		c.Net.SASL.TokenProvider = tokenProvider(tok)
	}
}

func saramaOAuth(string) error {
	bootstrap, err := env("BOOTSTRAP_SASL")
	if err != nil {
		return err
	}
	good, err := token("good")
	if err != nil {
		return err
	}
	expired, err := token("expired")
	if err != nil {
		return err
	}
	saramaSecurity = oauthSettings(good)
	if err := saramaRoundTrip(bootstrap, "sarama-oauth", sarama.MaxVersion, sarama.CompressionNone, true); err != nil {
		return err
	}
	saramaSecurity = oauthSettings(expired)
	c := saramaConfig(sarama.MaxVersion)
	c.Metadata.Retry.Max = 0
	client, err := sarama.NewClient([]string{bootstrap}, c)
	if err == nil {
		client.Close()
		return errors.New("OAUTHBEARER with an expired token: NewClient succeeded")
	}
	if !errors.Is(err, sarama.ErrSASLAuthenticationFailed) {
		return fmt.Errorf("OAUTHBEARER with an expired token: %v, want ErrSASLAuthenticationFailed", err)
	}
	const msg = "Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER"
	if !strings.Contains(err.Error(), msg) {
		return fmt.Errorf("OAUTHBEARER with an expired token: %q does not carry the broker's message %q", err, msg)
	}
	fmt.Println("OAUTHBEARER with an expired token: refused as expected:", err)
	return nil
}
