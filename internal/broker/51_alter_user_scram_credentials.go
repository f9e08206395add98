package broker

// AlterUserScramCredentials, key 51, v0 (kafka-configs --entity-type
// users --alter --add-config 'SCRAM-SHA-256=[password=...]'). Upsertions
// carry the salted password (the client salts it); the broker stores the
// salt and the keys derived from it in the cluster metadata. Errors per
// user as Kafka's: UNSUPPORTED_SASL_MECHANISM, UNACCEPTABLE_CREDENTIAL
// (empty name, iterations outside 4096-16384, empty salt or password),
// RESOURCE_NOT_FOUND (deleting a credential that does not exist),
// DUPLICATE_RESOURCE (one user and mechanism twice in the request). A
// user's changes are committed together; other users' go on.
// ACLs: ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED for every user).

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/sasl"
)

func handleAlterUserSCRAMCredentials(rc *reqCtx, p *pending, reqAny kmsg.Request) {
	req := reqAny.(*kmsg.AlterUserSCRAMCredentialsRequest)
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.AlterUserSCRAMCredentialsResponse)
	if !rc.authorizeCluster(acl.OpAlter) {
		seen := map[string]bool{}
		for _, u := range append(scramDeletionUsers(req), scramUpsertionUsers(req)...) {
			if !seen[u] {
				seen[u] = true
				r := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
				r.User, r.ErrorCode = u, errClusterAuth
				resp.Results = append(resp.Results, r)
			}
		}
		p.complete(resp)
		return
	}
	type change struct {
		recs []metadata.Record
		code int16
		msg  string
	}
	users := map[string]*change{}
	var order []string
	get := func(u string) *change {
		c, ok := users[u]
		if !ok {
			c = &change{}
			users[u] = c
			order = append(order, u)
		}
		return c
	}
	setErr := func(c *change, code int16, msg string) {
		if c.code == 0 {
			c.code, c.msg = code, msg
		}
	}
	type um struct {
		u string
		m int8
	}
	count := map[um]int{}
	for _, d := range req.Deletions {
		count[um{d.Name, d.Mechanism}]++
	}
	for _, u := range req.Upsertions {
		count[um{u.Name, u.Mechanism}]++
	}
	im := b.meta.Image()
	for _, d := range req.Deletions {
		c := get(d.Name)
		switch {
		case d.Name == "":
			setErr(c, kerr.UnacceptableCredential.Code, "Username must not be empty")
		case d.Mechanism != int8(sasl.ScramSHA256) && d.Mechanism != int8(sasl.ScramSHA512):
			setErr(c, kerr.UnsupportedSaslMechanism.Code, "Unknown SCRAM mechanism")
		case count[um{d.Name, d.Mechanism}] > 1:
			setErr(c, kerr.DuplicateResource.Code, "A user credential cannot be altered twice in the same request")
		default:
			if _, ok := im.Scram(d.Name, d.Mechanism); !ok {
				setErr(c, kerr.ResourceNotFound.Code, "Attempt to delete a user credential that does not exist")
				continue
			}
			c.recs = append(c.recs, metadata.Record{Type: metadata.TypeRemoveScram, RemoveScram: &metadata.RemoveScramRecord{User: d.Name, Mechanism: d.Mechanism}})
		}
	}
	for _, u := range req.Upsertions {
		c := get(u.Name)
		switch {
		case u.Name == "":
			setErr(c, kerr.UnacceptableCredential.Code, "Username must not be empty")
		case u.Mechanism != int8(sasl.ScramSHA256) && u.Mechanism != int8(sasl.ScramSHA512):
			setErr(c, kerr.UnsupportedSaslMechanism.Code, "Unknown SCRAM mechanism")
		case count[um{u.Name, u.Mechanism}] > 1:
			setErr(c, kerr.DuplicateResource.Code, "A user credential cannot be altered twice in the same request")
		case u.Iterations < sasl.MinIterations || u.Iterations > sasl.MaxIterations:
			setErr(c, kerr.UnacceptableCredential.Code, fmt.Sprintf("Iterations %d is out of range [%d, %d]", u.Iterations, sasl.MinIterations, sasl.MaxIterations))
		case len(u.Salt) == 0 || len(u.SaltedPassword) == 0:
			setErr(c, kerr.UnacceptableCredential.Code, "Salt and password must not be empty")
		default:
			rec, err := scramUpsert(u)
			if err != nil {
				setErr(c, kerr.UnacceptableCredential.Code, err.Error())
				continue
			}
			c.recs = append(c.recs, rec)
		}
	}
	go func() {
		for _, u := range order {
			c := users[u]
			r := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
			r.User = u
			if c.code == 0 && len(c.recs) > 0 {
				recs := c.recs
				_, err := b.meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
					// Planned again on a newer image: a credential deleted
					// meanwhile needs no removal.
					var out []metadata.Record
					for _, r := range recs {
						if r.Type == metadata.TypeRemoveScram {
							if _, ok := im.Scram(r.RemoveScram.User, r.RemoveScram.Mechanism); !ok {
								continue
							}
						}
						out = append(out, r)
					}
					return out, nil
				})
				if err != nil {
					c.code, c.msg = errCode(err), err.Error()
				}
			}
			if c.code != 0 {
				msg := c.msg
				r.ErrorCode, r.ErrorMessage = c.code, &msg
			}
			resp.Results = append(resp.Results, r)
		}
		p.complete(resp)
	}()
}
