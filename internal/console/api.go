package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
)

// errNotReady: the broker's listeners do not accept yet.
var errNotReady = errors.New("the broker is not serving clients yet")

// httpError is an error with the HTTP status it answers.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// badRequest is a 400 with a message.
func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// A handler answers one API call for an authenticated session and returns
// the value to encode as JSON (status 200), or an error.
type handler func(ctx context.Context, s *session, r *http.Request) (any, error)

// route is one API path with a handler per method.
type route struct {
	pattern string
	methods map[string]handler
}

// api is the router of /api/v1/.
func (c *Console) api() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range c.routes() {
		mux.Handle(rt.pattern, c.serve(rt))
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &httpError{http.StatusNotFound, "no such API path: " + r.URL.Path})
	})
	return mux
}

func (c *Console) routes() []route {
	return []route{
		{"/api/v1/session", map[string]handler{"GET": c.getSession}},
		{"/api/v1/cluster", map[string]handler{"GET": c.getCluster}},
		{"/api/v1/topics", map[string]handler{"GET": c.listTopics, "POST": c.createTopic}},
		{"/api/v1/topics/{topic}", map[string]handler{"GET": c.getTopic, "DELETE": c.deleteTopic}},
		{"/api/v1/topics/{topic}/configs", map[string]handler{"PATCH": c.alterTopicConfigs}},
		{"/api/v1/topics/{topic}/messages", map[string]handler{"GET": c.browse}},
		{"/api/v1/groups", map[string]handler{"GET": c.listGroups}},
		{"/api/v1/groups/{group}", map[string]handler{"GET": c.getGroup, "DELETE": c.deleteGroup}},
		{"/api/v1/groups/{group}/reset-offsets", map[string]handler{"POST": c.resetOffsets}},
		{"/api/v1/acls", map[string]handler{"GET": c.listACLs, "POST": c.createACL, "DELETE": c.deleteACL}},
		{"/api/v1/users", map[string]handler{"GET": c.listUsers, "POST": c.upsertUser}},
		{"/api/v1/users/{user}", map[string]handler{"DELETE": c.deleteUser}},
		{"/api/v1/transactions", map[string]handler{"GET": c.listTransactions}},
	}
}

// serve checks method, origin and body type, authenticates, runs h and
// writes its JSON answer.
func (c *Console) serve(rt route) http.Handler {
	var allowed []string
	for m := range rt.methods {
		allowed = append(allowed, m)
	}
	sort.Strings(allowed)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h, ok := rt.methods[r.Method]
		if !ok {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeError(w, &httpError{http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed here (allowed: %s)", r.Method, strings.Join(allowed, ", "))})
			return
		}
		if r.Method != http.MethodGet {
			if err := checkWrite(r); err != nil {
				writeError(w, err)
				return
			}
		}
		s, err := c.session(r)
		if err != nil {
			if errors.Is(err, errUnauthorized) {
				w.Header().Set("WWW-Authenticate", `Basic realm="samsa", charset="UTF-8"`)
			}
			writeError(w, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), requestTime)
		defer cancel()
		v, err := h(ctx, s, r)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

// checkWrite refuses a state-changing request from another site: its
// Origin, when sent, must be this host, and a body must be JSON (a form
// post from another page cannot set that type without a preflight).
func checkWrite(r *http.Request) error {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return &httpError{http.StatusForbidden, "cross-site request refused (Origin " + o + ")"}
		}
	}
	if r.ContentLength != 0 {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "application/json" {
			return &httpError{http.StatusUnsupportedMediaType, "the body must be JSON (Content-Type: application/json)"}
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// writeError answers err as {"error": "..."} with its status: the
// console's own errors carry theirs, Kafka errors map to the nearest HTTP
// status (authorization 403, unknown 404, conflicts 409, invalid 400).
func writeError(w http.ResponseWriter, err error) {
	status := http.StatusBadGateway
	var he *httpError
	var ke *kerr.Error
	switch {
	case errors.As(err, &he):
		status = he.status
	case errors.Is(err, errUnauthorized):
		status = http.StatusUnauthorized
	case errors.Is(err, errNotReady):
		status = http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		status = http.StatusGatewayTimeout
	case errors.As(err, &ke):
		status = kafkaStatus(ke)
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func kafkaStatus(ke *kerr.Error) int {
	switch ke {
	case kerr.TopicAuthorizationFailed, kerr.GroupAuthorizationFailed, kerr.ClusterAuthorizationFailed,
		kerr.TransactionalIDAuthorizationFailed, kerr.DelegationTokenAuthorizationFailed:
		return http.StatusForbidden
	case kerr.SaslAuthenticationFailed:
		return http.StatusUnauthorized
	case kerr.UnknownTopicOrPartition, kerr.UnknownTopicID, kerr.GroupIDNotFound, kerr.ResourceNotFound:
		return http.StatusNotFound
	case kerr.TopicAlreadyExists, kerr.NonEmptyGroup, kerr.UnknownMemberID, kerr.IllegalGeneration,
		kerr.RebalanceInProgress, kerr.FencedMemberEpoch, kerr.StaleMemberEpoch:
		return http.StatusConflict
	case kerr.InvalidTopicException, kerr.InvalidPartitions, kerr.InvalidReplicationFactor,
		kerr.InvalidReplicaAssignment, kerr.InvalidConfig, kerr.PolicyViolation, kerr.InvalidRequest,
		kerr.OffsetOutOfRange, kerr.InvalidGroupID, kerr.UnsupportedVersion, kerr.UnacceptableCredential,
		kerr.UnsupportedSaslMechanism, kerr.InvalidPrincipalType:
		return http.StatusBadRequest
	}
	return http.StatusBadGateway
}

// params reads a query string and refuses names it was not asked about.
type params struct {
	q    url.Values
	seen map[string]bool
	err  error
}

func query(r *http.Request) *params {
	q, err := url.ParseQuery(r.URL.RawQuery)
	p := &params{q: q, seen: map[string]bool{}}
	if err != nil {
		p.err = badRequest("malformed query string: %v", err)
	}
	return p
}

// str returns the parameter name ("" if absent); given twice is an error.
func (p *params) str(name string) string {
	p.seen[name] = true
	vs := p.q[name]
	if len(vs) > 1 && p.err == nil {
		p.err = badRequest("parameter %s given %d times", name, len(vs))
	}
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// has reports whether the parameter was given.
func (p *params) has(name string) bool {
	p.seen[name] = true
	_, ok := p.q[name]
	return ok
}

// int returns an integer parameter in [lo, hi], def when absent.
func (p *params) int(name string, def, lo, hi int64) int64 {
	s := p.str(name)
	if s == "" {
		if p.has(name) && p.err == nil {
			p.err = badRequest("parameter %s is empty", name)
		}
		return def
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if p.err == nil {
			p.err = badRequest("parameter %s: %q is not an integer", name, s)
		}
		return def
	}
	if v < lo || v > hi {
		if p.err == nil {
			p.err = badRequest("parameter %s: %d is out of range [%d, %d]", name, v, lo, hi)
		}
		return def
	}
	return v
}

// done returns the first problem, including parameters nobody read.
func (p *params) done() error {
	if p.err != nil {
		return p.err
	}
	var unknown []string
	for k := range p.q {
		if !p.seen[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return badRequest("unknown parameter %s", strings.Join(unknown, ", "))
	}
	return nil
}

// noParams refuses any query parameter.
func noParams(r *http.Request) error { return query(r).done() }

// readBody decodes a JSON object of at most maxBodyBytes into v, refusing
// unknown fields and trailing data.
func readBody(r *http.Request, v any) error {
	if r.ContentLength > maxBodyBytes {
		return &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", maxBodyBytes)}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return badRequest("reading the body: %v", err)
	}
	if len(body) > maxBodyBytes {
		return &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", maxBodyBytes)}
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return badRequest("a JSON body is required")
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid JSON body: %v", err)
	}
	if dec.More() {
		return badRequest("invalid JSON body: data after the object")
	}
	return nil
}

// topicName is Kafka's rule for topic names.
var topicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// pathTopic is the {topic} of the path, checked.
func pathTopic(r *http.Request) (string, error) {
	t := r.PathValue("topic")
	if t == "." || t == ".." || !topicName.MatchString(t) {
		return "", badRequest("invalid topic name %q: 1 to 249 of a-z A-Z 0-9 . _ -", t)
	}
	return t, nil
}

// maxGroupBytes bounds a group id (Kafka has no limit; 1,000 is far above
// any real one).
const maxGroupBytes = 1000

// pathGroup is the {group} of the path, checked.
func pathGroup(r *http.Request) (string, error) {
	g := r.PathValue("group")
	if g == "" || len(g) > maxGroupBytes {
		return "", badRequest("invalid group id: 1 to %d bytes", maxGroupBytes)
	}
	return g, nil
}
