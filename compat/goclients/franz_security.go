package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
)

// OAUTHBEARER on the SASL_PLAINTEXT listener of compat/run.sh, reached with
// franz-go's sasl/oauth: a round trip with a valid token, and the tokens the
// broker must refuse (expired, signed by another key, for another audience),
// each answered SASL_AUTHENTICATION_FAILED with nothing produced. The
// scenario (clients/72-franz-go.sh) mints the tokens into $OAUTH_TOKENS.
func init() {
	franzScenarios["sasl-oauthbearer"] = franzOAuth
	franzScenarios["oauthbearer-refused"] = franzOAuthRefused
}

// token reads one of the scenario's token files ($OAUTH_TOKENS/name).
func token(name string) (string, error) {
	dir, err := env("OAUTH_TOKENS")
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(dir + "/" + name)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func franzOAuthOpt(tok string) kgo.Opt {
	return kgo.SASL(oauth.Oauth(func(context.Context) (oauth.Auth, error) {
		return oauth.Auth{Token: tok}, nil
	}))
}

func franzOAuth(string) error {
	bootstrap, err := env("BOOTSTRAP_SASL")
	if err != nil {
		return err
	}
	tok, err := token("good")
	if err != nil {
		return err
	}
	return franzRoundTrip(bootstrap, "franz-oauth", kgo.NoCompression(), franzOAuthOpt(tok))
}

// franzOAuthRefused produces to franz-oauth-refused (created by the
// scenario, checked empty afterwards) with each bad token.
func franzOAuthRefused(string) error {
	bootstrap, err := env("BOOTSTRAP_SASL")
	if err != nil {
		return err
	}
	const msg = "Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER"
	for _, name := range []string{"expired", "forged", "wrong-audience"} {
		tok, err := token(name)
		if err != nil {
			return err
		}
		err = func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), franzOAuthOpt(tok), kgo.RecordRetries(1))
			if err != nil {
				return err
			}
			defer cl.Close()
			return cl.ProduceSync(ctx, &kgo.Record{Topic: "franz-oauth-refused", Value: []byte("must not land")}).FirstErr()
		}()
		switch {
		case err == nil:
			return fmt.Errorf("a token %s: the record was produced", name)
		case !errors.Is(err, kerr.SaslAuthenticationFailed):
			return fmt.Errorf("a token %s: %v, want SASL_AUTHENTICATION_FAILED", name, err)
		case !strings.Contains(err.Error(), msg):
			return fmt.Errorf("a token %s: %q does not carry the broker's message %q", name, err, msg)
		}
		fmt.Printf("a token %s: refused as expected: %v\n", name, err)
	}
	return nil
}
