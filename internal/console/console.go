package console

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

//go:embed ui
var uiFiles embed.FS

// Limits on what one session cache and one request may hold.
const (
	maxSessions   = 32               // cached per-user clients
	sessionIdle   = 10 * time.Minute // an unused client is closed after this
	requestTime   = 15 * time.Second // one API call's deadline towards the broker
	maxBodyBytes  = 64 << 10         // a request body
	maxRecords    = 100              // records per message browser request
	maxFetchBytes = 1 << 20          // bytes the browser asks the broker for per request
)

// An Endpoint is one of the broker's Kafka listeners.
type Endpoint struct {
	Name       string   // listener name
	Addr       string   // host:port it is bound to
	Protocol   string   // PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
	Mechanisms []string // SASL mechanisms it offers (SASL listeners)
}

// Options configure a Console.
type Options struct {
	// Endpoints returns the broker's Kafka listeners; nil or empty while
	// they do not accept yet (the API answers 503 until then).
	Endpoints func() []Endpoint
	// Version is the running build's version, shown in the overview.
	Version string
	// NodeID is this broker's node.id.
	NodeID int32
	// Logger receives the console's errors; nil: slog.Default().
	Logger *slog.Logger
}

// Console serves the API and the UI.
type Console struct {
	opts   Options
	logger *slog.Logger

	mu       sync.Mutex // guards sessions and closed
	sessions map[string]*session
	closed   bool
}

// A session is one user's client (or the only one, without SASL).
type session struct {
	key     string
	user    string
	cl      *kgo.Client
	adm     *kadm.Client
	lastUse time.Time
}

// New returns a console; Close releases its clients.
func New(opts Options) *Console {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Console{opts: opts, logger: logger, sessions: map[string]*session{}}
}

// Handlers are the console's routes, patterns for an http.ServeMux:
// the API, the UI, and / redirecting to the UI.
func (c *Console) Handlers() map[string]http.Handler {
	sub, _ := fs.Sub(uiFiles, "ui")
	static := http.StripPrefix("/ui/", http.FileServer(http.FS(sub)))
	return map[string]http.Handler{
		"/api/": c.api(),
		"/ui/": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
			static.ServeHTTP(w, r)
		}),
		"/{$}": http.RedirectHandler("/ui/", http.StatusFound),
	}
}

// Close closes every client.
func (c *Console) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for k, s := range c.sessions {
		s.cl.Close()
		delete(c.sessions, k)
	}
}

// errUnauthorized is a missing or refused login.
var errUnauthorized = errors.New("authentication required")

// chooseEndpoint picks the listener the console dials: a SASL listener
// offering PLAIN or SCRAM first (then the console authenticates its users
// with those mechanisms, in the listener's order), then PLAINTEXT, then
// SSL. mechs is empty without SASL.
func chooseEndpoint(eps []Endpoint) (ep Endpoint, mechs []string, ok bool) {
	rank := func(e Endpoint) (int, []string) {
		switch e.Protocol {
		case "SASL_PLAINTEXT", "SASL_SSL":
			var ms []string
			for _, m := range e.Mechanisms {
				switch m = strings.ToUpper(m); m {
				case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
					ms = append(ms, m)
				}
			}
			if len(ms) == 0 {
				return -1, nil
			}
			if e.Protocol == "SASL_PLAINTEXT" {
				return 0, ms
			}
			return 1, ms
		case "PLAINTEXT":
			return 2, nil
		case "SSL":
			return 3, nil
		}
		return -1, nil
	}
	best := -1
	for _, e := range eps {
		r, ms := rank(e)
		if r >= 0 && (best < 0 || r < best || r == best && e.Name < ep.Name) {
			best, ep, mechs = r, e, ms
		}
	}
	return ep, mechs, best >= 0
}

// dialAddr turns a bound address into one to dial: an unspecified host
// (0.0.0.0, ::, empty) means loopback.
func dialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// AuthRequired reports whether the API asks for HTTP Basic credentials
// (the broker has a SASL listener the console uses).
func (c *Console) AuthRequired() bool {
	if c.opts.Endpoints == nil {
		return false
	}
	_, mechs, _ := chooseEndpoint(c.opts.Endpoints())
	return len(mechs) > 0
}

// session returns the client for r's user, making it if needed.
func (c *Console) session(r *http.Request) (*session, error) {
	var eps []Endpoint
	if c.opts.Endpoints != nil {
		eps = c.opts.Endpoints()
	}
	ep, mechs, ok := chooseEndpoint(eps)
	if !ok {
		return nil, errNotReady
	}
	user, pass := "", ""
	if len(mechs) > 0 {
		var has bool
		user, pass, has = r.BasicAuth()
		if !has || user == "" {
			return nil, errUnauthorized
		}
	}
	sum := sha256.Sum256([]byte(user + "\x00" + pass))
	key := fmt.Sprintf("%s|%s|%s|%x", ep.Addr, strings.Join(mechs, ","), user, sum)

	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errNotReady
	}
	now := time.Now()
	for k, s := range c.sessions {
		if now.Sub(s.lastUse) > sessionIdle {
			s.cl.Close()
			delete(c.sessions, k)
		}
	}
	if s, ok := c.sessions[key]; ok {
		s.lastUse = now
		c.mu.Unlock()
		return s, nil
	}
	c.mu.Unlock()

	s, err := c.login(r.Context(), ep, mechs, user, pass)
	if err != nil {
		return nil, err
	}
	s.key = key
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		s.cl.Close()
		return nil, errNotReady
	}
	if old, ok := c.sessions[key]; ok { // made concurrently
		s.cl.Close()
		old.lastUse = now
		return old, nil
	}
	if len(c.sessions) >= maxSessions {
		var oldest *session
		for _, o := range c.sessions {
			if oldest == nil || o.lastUse.Before(oldest.lastUse) {
				oldest = o
			}
		}
		oldest.cl.Close()
		delete(c.sessions, oldest.key)
	}
	s.lastUse = now
	c.sessions[key] = s
	return s, nil
}

// login makes a client for ep: without SASL at once, with SASL by trying
// the mechanisms in turn (a PLAIN user may have no SCRAM credentials and
// the other way round); the first the broker accepts is kept.
func (c *Console) login(ctx context.Context, ep Endpoint, mechs []string, user, pass string) (*session, error) {
	if len(mechs) == 0 {
		return c.dial(ctx, ep, "", "", "")
	}
	for _, m := range mechs {
		s, err := c.dial(ctx, ep, m, user, pass)
		if errors.Is(err, errUnauthorized) {
			continue
		}
		return s, err
	}
	return nil, errUnauthorized
}

// dial makes a client for ep and, with SASL, checks the credentials with
// one request, so a wrong password is a 401 and is not cached.
func (c *Console) dial(ctx context.Context, ep Endpoint, mech, user, pass string) (*session, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(dialAddr(ep.Addr)),
		kgo.ClientID("samsa-console"),
		kgo.RequestRetries(2),
		kgo.RetryTimeout(5 * time.Second),
		kgo.DialTimeout(5 * time.Second),
		kgo.MetadataMinAge(time.Second),
	}
	if strings.HasSuffix(ep.Protocol, "SSL") {
		// The console dials its own process's listener; it has no trust
		// store of its own to check the certificate against.
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{InsecureSkipVerify: true})) //nolint:gosec
	}
	if mech != "" {
		var m sasl.Mechanism
		switch mech {
		case "PLAIN":
			m = plain.Auth{User: user, Pass: pass}.AsMechanism()
		case "SCRAM-SHA-256":
			m = scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()
		default:
			m = scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()
		}
		opts = append(opts, kgo.SASL(m))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	s := &session{user: user, cl: cl, adm: kadm.NewClient(cl)}
	if mech != "" {
		ctx, cancel := context.WithTimeout(ctx, requestTime)
		defer cancel()
		if _, err := s.adm.BrokerMetadata(ctx); err != nil {
			cl.Close()
			if isAuthErr(err) {
				return nil, errUnauthorized
			}
			return nil, err
		}
	}
	return s, nil
}

// isAuthErr reports a refused SASL exchange.
func isAuthErr(err error) bool {
	return errors.Is(err, kerr.SaslAuthenticationFailed) || errors.Is(err, kerr.IllegalSaslState) ||
		errors.Is(err, kerr.UnsupportedSaslMechanism)
}
