package sasl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// OAuthConfig is how OAUTHBEARER tokens are validated, Kafka's
// sasl.oauthbearer.* settings (OAuthBearerValidatorCallbackHandler).
type OAuthConfig struct {
	JWKSURL   string        // sasl.oauthbearer.jwks.endpoint.url: https://..., or file:///path
	Audience  []string      // sasl.oauthbearer.expected.audience: the token's aud must hold one
	Issuer    string        // sasl.oauthbearer.expected.issuer
	ScopeName string        // sasl.oauthbearer.scope.claim.name (default "scope")
	SubName   string        // sasl.oauthbearer.sub.claim.name (default "sub")
	ClockSkew time.Duration // sasl.oauthbearer.clock.skew.seconds
}

// OAuthValidator checks JWTs against a JWKS (a file, or a URL refreshed
// in the background by github.com/MicahParks/keyfunc) and the expected
// claims, with github.com/golang-jwt/jwt.
type OAuthValidator struct {
	cfg OAuthConfig
	kf  keyfunc.Keyfunc
}

// NewOAuthValidator loads the key set. A file is read once; a URL is
// fetched now and refreshed by the library.
func NewOAuthValidator(ctx context.Context, cfg OAuthConfig) (*OAuthValidator, error) {
	if cfg.ScopeName == "" {
		cfg.ScopeName = "scope"
	}
	if cfg.SubName == "" {
		cfg.SubName = "sub"
	}
	var kf keyfunc.Keyfunc
	var err error
	switch {
	case cfg.JWKSURL == "":
		return nil, errors.New("sasl.oauthbearer.jwks.endpoint.url is not set: OAUTHBEARER needs the identity provider's keys")
	case strings.HasPrefix(cfg.JWKSURL, "file://"):
		raw, rerr := os.ReadFile(strings.TrimPrefix(cfg.JWKSURL, "file://"))
		if rerr != nil {
			return nil, fmt.Errorf("sasl.oauthbearer.jwks.endpoint.url: %w", rerr)
		}
		kf, err = keyfunc.NewJWKSetJSON(raw)
	default:
		kf, err = keyfunc.NewDefaultCtx(ctx, []string{cfg.JWKSURL})
	}
	if err != nil {
		return nil, fmt.Errorf("sasl.oauthbearer.jwks.endpoint.url: %w", err)
	}
	return &OAuthValidator{cfg: cfg, kf: kf}, nil
}

// Validate checks a compact JWT and returns its principal name (the sub
// claim, or sasl.oauthbearer.sub.claim.name) and expiry.
func (v *OAuthValidator) Validate(token string) (string, time.Time, error) {
	opts := []jwt.ParserOption{jwt.WithExpirationRequired(), jwt.WithLeeway(v.cfg.ClockSkew),
		jwt.WithValidMethods([]string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"})}
	if v.cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(v.cfg.Issuer))
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(token, claims, v.kf.Keyfunc, opts...); err != nil {
		return "", time.Time{}, err
	}
	if len(v.cfg.Audience) > 0 {
		aud, _ := claims.GetAudience()
		ok := false
		for _, want := range v.cfg.Audience {
			for _, have := range aud {
				ok = ok || want == have
			}
		}
		if !ok {
			return "", time.Time{}, errors.New("the token is not for an expected audience")
		}
	}
	sub, _ := claims[v.cfg.SubName].(string)
	if sub == "" {
		return "", time.Time{}, fmt.Errorf("the token has no %q claim", v.cfg.SubName)
	}
	exp, _ := claims.GetExpirationTime()
	return sub, exp.Time, nil
}

// OAuthBearer is one OAUTHBEARER exchange (RFC 7628): the client's initial
// response carries "auth=Bearer <token>". A bad token is refused at once
// (a TokenError: the broker answers SASL_AUTHENTICATION_FAILED), not with
// the RFC's JSON error challenge that Kafka's OAuthBearerSaslServer sends
// first: kafkajs takes any answer without an error code as success, and
// then sees its next request fail as a broken connection. Every client
// (Java, librdkafka, kafkajs, sarama, franz-go, kafka-python) reads an
// error code on its first SaslAuthenticate answer as the refusal.
type OAuthBearer struct {
	V       *OAuthValidator
	Expires time.Time // the token's expiry once authenticated
}

// TokenError is a refused token, with why (for the broker's log: it never
// holds the token).
type TokenError struct{ Err error }

func (e *TokenError) Error() string   { return "invalid OAUTHBEARER token: " + e.Err.Error() }
func (e *TokenError) Unwrap() []error { return []error{ErrAuthentication, e.Err} }

// Step implements Mechanism.
func (o *OAuthBearer) Step(in []byte) ([]byte, bool, string, error) {
	msg := string(in)
	// gs2-header "n,[a=authzid]," then kvpairs separated by \x01.
	parts := strings.Split(msg, "\x01")
	if len(parts) < 2 || !strings.HasPrefix(parts[0], "n,") {
		return nil, false, "", errors.Join(ErrAuthentication, errors.New("invalid OAUTHBEARER message"))
	}
	var token string
	for _, kv := range parts[1:] {
		if v, ok := strings.CutPrefix(kv, "auth="); ok {
			scheme, t, found := strings.Cut(v, " ")
			if found && strings.EqualFold(scheme, "Bearer") {
				token = strings.TrimSpace(t)
			}
		}
	}
	if token == "" {
		return nil, false, "", errors.Join(ErrAuthentication, errors.New("no bearer token"))
	}
	user, exp, err := o.V.Validate(token)
	if err != nil {
		return nil, false, "", &TokenError{err}
	}
	o.Expires = exp
	return nil, true, user, nil
}
