package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// clientID is sent in every request header so that broker logs and quotas
// can tell the CLI apart from applications.
const clientID = "samsa-cli"

// defaultPort is the port kgo assumes for a seed given without one; the
// reachability check must assume the same.
const defaultPort = "9092"

// newClient checks that at least one seed broker accepts TCP connections and
// then builds a kgo client with the shared options plus opts. The up-front
// check exists because kgo retries refused connections until its deadline,
// which would turn "nothing is listening" into a ten-second wait followed by
// a vague timeout.
func (g *globals) newClient(cmd *cobra.Command, opts ...kgo.Opt) (*kgo.Client, error) {
	seeds := g.seeds(cmd)
	if len(seeds) == 0 {
		return nil, usageErrorf(cmd, "no brokers given: set -b/--brokers or %s", brokersEnv)
	}
	secOpts, sec, err := g.clientOpts(cmd)
	if err != nil {
		return nil, err
	}
	g.sec = sec
	if err := checkReachable(cmd.Context(), seeds, g.timeout); err != nil {
		return nil, err
	}
	base := []kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.ClientID(clientID),
		kgo.DialTimeout(g.timeout),
	}
	base = append(base, secOpts...) // a client.id property replaces ours
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("cannot configure client for %s: %w", strings.Join(seeds, ","), err)
	}
	return cl, nil
}

// newAdmin returns an admin client whose broker-side timeouts (for topic
// creation and deletion) match --timeout, plus the kgo client to close.
func (g *globals) newAdmin(cmd *cobra.Command) (*kadm.Client, *kgo.Client, error) {
	cl, err := g.newClient(cmd)
	if err != nil {
		return nil, nil, err
	}
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(g.timeout.Milliseconds()))
	return adm, cl, nil
}

// opContext bounds one broker operation by --timeout.
func (g *globals) opContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return context.WithTimeout(cmd.Context(), g.timeout)
}

// explain turns transport failures into messages that say what to do. Kafka
// protocol errors pass through untouched; callers wrap those with the topic
// they concern (see brokerError).
func (g *globals) explain(cmd *cobra.Command, err error) error {
	if err == nil {
		return nil
	}
	seedList := g.seeds(cmd)
	seeds := strings.Join(seedList, ",")
	var op *net.OpError
	var eof *kgo.ErrFirstReadEOF
	switch {
	case errors.As(err, &eof):
		return fmt.Errorf("the broker at %s closed the connection at once: its listener may use another security protocol "+
			"than %s; set security.protocol (and ssl.*, sasl.*) with --command-config or -X (%w)", seeds, g.sec.protocolName(), err)
	case errors.As(err, &op) && op.Op == "dial":
		// The seeds answered the reachability check, so a failed dial to
		// another address means a broker advertises an address that this
		// machine cannot reach, a configuration mistake worth naming.
		if op.Addr != nil && !isSeed(op.Addr.String(), seedList) {
			return fmt.Errorf("the cluster at %s advertises broker address %s, which cannot be reached from here: "+
				"check the broker's advertised.listeners (%w)", seeds, op.Addr, err)
		}
		return unreachableError(seeds, err)
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		who := "as user " + strconv.Quote(g.sec.user)
		if g.sec.user == "" {
			who = "with the token given"
		}
		return fmt.Errorf("authentication failed %s (%s) at %s: check the user name and password in sasl.jaas.config "+
			"and that the broker has this user for %s (%w)", who, g.sec.mechanism, seeds, g.sec.mechanism, err)
	case errors.Is(err, kerr.UnsupportedSaslMechanism):
		return fmt.Errorf("the broker at %s does not offer SASL mechanism %s: set sasl.mechanism to one of its sasl.enabled.mechanisms (%w)",
			seeds, g.sec.mechanism, err)
	case errors.Is(err, kerr.IllegalSaslState):
		return fmt.Errorf("the listener at %s does not expect SASL: check security.protocol (%w)", seeds, err)
	case isHostnameError(err):
		return fmt.Errorf("TLS: the certificate of the broker at %s does not name the address dialed: connect by a name it has, "+
			"or set ssl.endpoint.identification.algorithm= (empty) to skip the host name check (%w)", seeds, err)
	case isTLSVerifyError(err):
		return fmt.Errorf("TLS: the certificate of the broker at %s is not trusted: set ssl.truststore.location "+
			"(or ssl.truststore.certificates) to the authority that signed it (%w)", seeds, err)
	case errors.Is(err, context.DeadlineExceeded):
		hint := "raise --timeout or check its advertised listeners"
		if g.sec.protocol == "" || g.sec.protocol == "PLAINTEXT" {
			hint += "; if the listener uses TLS or SASL, set security.protocol with --command-config or -X"
		}
		return fmt.Errorf("timed out after %s waiting for the cluster at %s: the broker may be overloaded, "+
			"advertise an address this machine cannot reach, or speak another security protocol; %s",
			g.timeout, seeds, hint)
	}
	return err
}

func unreachableError(addr string, err error) error {
	return fmt.Errorf("cannot reach broker at %s: is `samsa serve` running? set -b/--brokers or %s (%w)",
		addr, brokersEnv, err)
}

// checkReachable dials each seed in turn and succeeds at the first that
// accepts a connection; it reports the first seed's error otherwise.
func checkReachable(ctx context.Context, seeds []string, timeout time.Duration) error {
	var firstErr error
	var firstAddr string
	d := net.Dialer{Timeout: timeout}
	for _, s := range seeds {
		addr := withDefaultPort(s)
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			conn.Close()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if firstErr == nil {
			firstErr, firstAddr = err, addr
		}
	}
	return unreachableError(firstAddr, firstErr)
}

func isHostnameError(err error) bool {
	var host x509.HostnameError
	return errors.As(err, &host)
}

// isTLSVerifyError reports whether err is a failed check of the broker's
// certificate.
func isTLSVerifyError(err error) bool {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var inval x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	return errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &inval) || errors.As(err, &verify)
}

// isSeed reports whether addr is one of the seeds.
func isSeed(addr string, seeds []string) bool {
	for _, s := range seeds {
		if withDefaultPort(s) == addr {
			return true
		}
	}
	return false
}

// withDefaultPort appends Kafka's default port to an address without one,
// as kgo does for its seeds.
func withDefaultPort(addr string) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	return net.JoinHostPort(strings.Trim(addr, "[]"), defaultPort)
}

// brokerError reports a Kafka error about one subject (usually a topic),
// preferring the broker's own message, naming the error code so it can be
// searched for, and adding a hint when the fix is well known.
type brokerError struct {
	subject string
	message string // the broker's error message, if it sent one
	hint    string
	err     error
}

func (e *brokerError) Error() string {
	var b strings.Builder
	b.WriteString(e.subject)
	b.WriteString(": ")
	var ke *kerr.Error
	switch {
	case errors.As(e.err, &ke) && e.message != "":
		fmt.Fprintf(&b, "%s (%s)", e.message, ke.Message)
	case errors.As(e.err, &ke):
		fmt.Fprintf(&b, "%s (%s)", strings.TrimSuffix(ke.Description, "."), ke.Message)
	case e.message != "":
		fmt.Fprintf(&b, "%s (%v)", e.message, e.err)
	default:
		b.WriteString(e.err.Error())
	}
	if e.hint != "" {
		b.WriteString("; ")
		b.WriteString(e.hint)
	}
	return b.String()
}

func (e *brokerError) Unwrap() error { return e.err }

// topicError wraps a per-topic error from an admin response. It returns nil
// for a nil err so callers can wrap unconditionally.
func topicError(topic string, err error, message string) error {
	if err == nil {
		return nil
	}
	subject := fmt.Sprintf("topic %q", topic)
	switch {
	case errors.Is(err, kerr.UnknownTopicOrPartition), errors.Is(err, kerr.UnknownTopicID):
		return &brokerError{subject: subject, message: "does not exist",
			hint: "list topics with `samsa topic list`", err: err}
	case errors.Is(err, kerr.TopicAlreadyExists):
		return &brokerError{subject: subject, message: "already exists",
			hint: "inspect it with `samsa topic describe " + topic + "`", err: err}
	case errors.Is(err, kerr.InvalidReplicationFactor):
		return &brokerError{subject: subject, message: message,
			hint: "use -r/--replication-factor no larger than the broker count (see `samsa cluster info`)", err: err}
	}
	return &brokerError{subject: subject, message: message, err: err}
}

// withAdmin runs fn with an admin client and a context bounded by --timeout,
// closes the client afterwards and explains transport errors.
func (g *globals) withAdmin(cmd *cobra.Command, fn func(ctx context.Context, adm *kadm.Client) error) error {
	adm, cl, err := g.newAdmin(cmd)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := g.opContext(cmd)
	defer cancel()
	return g.explain(cmd, fn(ctx, adm))
}
