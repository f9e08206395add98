package broker_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/oauth"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// OAUTHBEARER: a JWT signed by a key of the configured JWKS, for the
// expected issuer and audience and not expired, authenticates as User:<sub>;
// any other token is refused.
func TestOAuthBearer(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
		"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
	}}})
	path := filepath.Join(t.TempDir(), "jwks.json")
	os.WriteFile(path, jwks, 0o644)
	b := brokertest.Start(t,
		"listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms", "OAUTHBEARER",
		"sasl.oauthbearer.jwks.endpoint.url", "file://"+path,
		"sasl.oauthbearer.expected.issuer", "https://idp.example",
		"sasl.oauthbearer.expected.audience", "kafka")
	createTopic(t, b.Addr(), "oauth", 1, nil)
	token := func(k *rsa.PrivateKey, claims jwt.MapClaims) string {
		tk := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
		tk.Header["kid"] = "k1"
		s, err := tk.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := jwt.MapClaims{"sub": "svc-a", "iss": "https://idp.example", "aud": "kafka", "exp": time.Now().Add(time.Hour).Unix()}
	try := func(tok string, wait time.Duration) error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.ListenerAddr("SASL_PLAINTEXT")), kgo.RetryTimeout(time.Second),
			kgo.SASL(oauth.Auth{Token: tok}.AsMechanism()), kgo.DefaultProduceTopic("oauth"), kgo.RecordRetries(1))
		if err != nil {
			return err
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		return cl.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr()
	}
	if err := try(token(key, good), 10*time.Second); err != nil {
		t.Fatalf("a good token: %v", err)
	}
	bad := map[string]string{
		"expired":        token(key, jwt.MapClaims{"sub": "svc-a", "iss": "https://idp.example", "aud": "kafka", "exp": time.Now().Add(-time.Hour).Unix()}),
		"other issuer":   token(key, jwt.MapClaims{"sub": "svc-a", "iss": "https://evil.example", "aud": "kafka", "exp": time.Now().Add(time.Hour).Unix()}),
		"other audience": token(key, jwt.MapClaims{"sub": "svc-a", "iss": "https://idp.example", "aud": "web", "exp": time.Now().Add(time.Hour).Unix()}),
		"forged":         token(other, good),
		"no sub":         token(key, jwt.MapClaims{"iss": "https://idp.example", "aud": "kafka", "exp": time.Now().Add(time.Hour).Unix()}),
		"not a JWT":      "garbage",
	}
	// Each refused on its first SaslAuthenticate answer, with Kafka's error
	// code (not a time-out, nor a connection the client sees break); the
	// client gives up after its metadata retries, a few seconds.
	var wg sync.WaitGroup
	for name, tok := range bad {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := try(tok, 20*time.Second); !errors.Is(err, kerr.SaslAuthenticationFailed) {
				t.Errorf("%s token: %v, want SASL_AUTHENTICATION_FAILED", name, err)
			}
		}()
	}
	wg.Wait()
}
