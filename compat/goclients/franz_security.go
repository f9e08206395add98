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
	"github.com/twmb/franz-go/pkg/kmsg"
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

// controller_mutation_rate (KIP-599) with franz-go: the quota is set with
// AlterClientQuotas for the client id franz-mutator, 2 partitions a
// second (a burst of 22 with the broker's 11 windows); one CreateTopics
// (franz-go's newest version, v7) of 20, 5 and 1 partitions creates the
// first two (the second takes the bucket below zero) and answers the third
// THROTTLING_QUOTA_EXCEEDED with throttle_time_ms until the bucket is back
// at zero; the refused topic does not exist.
func init() {
	franzScenarios["controller-mutation-quota"] = franzMutationQuota
}

func franzMutationQuota(bootstrap string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const id = "franz-mutator"
	admin, err := kgo.NewClient(kgo.SeedBrokers(bootstrap))
	if err != nil {
		return err
	}
	defer admin.Close()
	aq := kmsg.NewPtrAlterClientQuotasRequest()
	entry := kmsg.NewAlterClientQuotasRequestEntry()
	ent := kmsg.NewAlterClientQuotasRequestEntryEntity()
	ent.Type, ent.Name = "client-id", kmsg.StringPtr(id)
	op := kmsg.NewAlterClientQuotasRequestEntryOp()
	op.Key, op.Value = "controller_mutation_rate", 2
	entry.Entity, entry.Ops = append(entry.Entity, ent), append(entry.Ops, op)
	aq.Entries = append(aq.Entries, entry)
	ar, err := aq.RequestWith(ctx, admin)
	if err != nil || len(ar.Entries) != 1 || ar.Entries[0].ErrorCode != 0 {
		return fmt.Errorf("AlterClientQuotas: %v %+v", err, ar)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ClientID(id))
	if err != nil {
		return err
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 30000
	for _, t := range []struct {
		name string
		n    int32
	}{{"franz-mut-20", 20}, {"franz-mut-5", 5}, {"franz-mut-1", 1}} {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = t.name, t.n, 1
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("CreateTopics: %w", err)
	}
	if resp.Version < 6 {
		return fmt.Errorf("CreateTopics went out as v%d: franz-go should use v6+", resp.Version)
	}
	var got []string
	for _, t := range resp.Topics {
		got = append(got, fmt.Sprintf("%s=%v", t.Topic, kerr.ErrorForCode(t.ErrorCode)))
	}
	if len(resp.Topics) != 3 || resp.Topics[0].ErrorCode != 0 || resp.Topics[1].ErrorCode != 0 ||
		!errors.Is(kerr.ErrorForCode(resp.Topics[2].ErrorCode), kerr.ThrottlingQuotaExceeded) {
		return fmt.Errorf("CreateTopics v%d: %v, want the first two created and the third THROTTLING_QUOTA_EXCEEDED", resp.Version, got)
	}
	// 25 taken from 22: 3 below zero at 2 a second.
	if resp.ThrottleMillis < 1000 || resp.ThrottleMillis > 1500 {
		return fmt.Errorf("throttle_time_ms %d, want about 1500", resp.ThrottleMillis)
	}
	mreq := kmsg.NewPtrMetadataRequest()
	for _, name := range []string{"franz-mut-1", "franz-mut-20"} {
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr(name)
		mreq.Topics = append(mreq.Topics, mt)
	}
	md, err := mreq.RequestWith(ctx, admin)
	if err != nil {
		return fmt.Errorf("Metadata: %w", err)
	}
	for _, t := range md.Topics {
		switch name := *t.Topic; {
		case name == "franz-mut-1" && t.ErrorCode == 0:
			return errors.New("the refused topic franz-mut-1 exists")
		case name == "franz-mut-20" && (t.ErrorCode != 0 || len(t.Partitions) != 20):
			return fmt.Errorf("franz-mut-20: %v, %d partitions, want 20", kerr.ErrorForCode(t.ErrorCode), len(t.Partitions))
		}
	}
	fmt.Printf("CreateTopics v%d: %v, throttle_time_ms %d\n", resp.Version, got, resp.ThrottleMillis)
	return nil
}
