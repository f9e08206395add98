package broker

// AlterClientQuotas, key 49, v0-v1 (v1: flexible): sets and removes client
// quota values of user, client-id and ip entities (kafka-configs
// --entity-type users|clients|ips), as records in the metadata log, with
// the checks of Kafka's ClientQuotaControlManager; each failed entity is
// answered INVALID_REQUEST with Kafka's message and the others are
// applied, all in one metadata change. Keys: producer_byte_rate and
// consumer_byte_rate (whole numbers), request_percentage and
// controller_mutation_rate for users and client ids;
// connection_creation_rate (a whole number) for IP addresses. A value
// must be above 0; removing a value that is not set is a success that
// writes nothing, and so is setting the value already set. validate_only
// checks without writing.
// ACLs: ALTER_CONFIGS on the cluster (CLUSTER_AUTHORIZATION_FAILED for
// every entity).

import (
	"fmt"
	"math"
	"net/netip"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/quota"
)

// maxQuotaOps bounds the operations of one request, as Kafka bounds the
// records of one change (MAX_RECORDS_PER_USER_OP).
const maxQuotaOps = 10000

// quotaOp is one validated operation: a value to set, or (remove) to
// delete.
type quotaOp struct {
	key    string
	value  float64
	remove bool
}

func handleAlterClientQuotas(rc *reqCtx, p *pending, reqAny kmsg.Request) {
	req := reqAny.(*kmsg.AlterClientQuotasRequest)
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.AlterClientQuotasResponse)
	for _, e := range req.Entries {
		r := kmsg.NewAlterClientQuotasResponseEntry()
		for _, part := range e.Entity {
			ent := kmsg.NewAlterClientQuotasResponseEntryEntity()
			ent.Type, ent.Name = part.Type, part.Name
			r.Entity = append(r.Entity, ent)
		}
		resp.Entries = append(resp.Entries, r)
	}
	setErr := func(i int, code int16, msg string) {
		if resp.Entries[i].ErrorCode == 0 {
			resp.Entries[i].ErrorCode, resp.Entries[i].ErrorMessage = code, &msg
		}
	}
	if !rc.authorizeCluster(acl.OpAlterConfigs) {
		for i := range resp.Entries {
			setErr(i, errClusterAuth, "Cluster authorization failed.")
		}
		p.complete(resp)
		return
	}
	nops := 0
	for _, e := range req.Entries {
		nops += len(e.Ops)
	}
	if nops > maxQuotaOps {
		for i := range resp.Entries {
			setErr(i, kerr.InvalidRequest.Code, fmt.Sprintf("At most %d quota changes fit in one request", maxQuotaOps))
		}
		p.complete(resp)
		return
	}

	type alteration struct {
		i      int
		entity metadata.QuotaEntity
		ops    []quotaOp
	}
	var alts []alteration
	seen := map[metadata.QuotaEntity]int{}
	for i, e := range req.Entries {
		entity, msg := quotaEntityOf(e.Entity)
		if msg != "" {
			setErr(i, kerr.InvalidRequest.Code, msg)
			continue
		}
		if j, dup := seen[entity]; dup {
			// Kafka reports the repetition and may still apply the
			// first; here neither is applied.
			setErr(i, kerr.InvalidRequest.Code, "Ignoring duplicate entity "+entity.String())
			setErr(j, kerr.InvalidRequest.Code, "Ignoring duplicate entity "+entity.String())
			continue
		}
		seen[entity] = i
		ops, msg := quotaOpsOf(entity, e.Ops)
		if msg != "" {
			setErr(i, kerr.InvalidRequest.Code, msg)
			continue
		}
		alts = append(alts, alteration{i, entity, ops})
	}
	var ok []alteration
	for _, a := range alts {
		if resp.Entries[a.i].ErrorCode == 0 {
			ok = append(ok, a)
		}
	}
	if req.ValidateOnly || len(ok) == 0 {
		p.complete(resp)
		return
	}
	go func() {
		_, err := b.meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
			// Planned against the newest image: only what changes it.
			q := im.ClientQuotas()
			var recs []metadata.Record
			for _, a := range ok {
				for _, op := range a.ops {
					cur, set := q.Value(a.entity, op.key)
					switch {
					case op.remove && set:
						recs = append(recs, metadata.Record{Type: metadata.TypeQuota, Quota: &metadata.QuotaRecord{Entity: a.entity, Key: op.key, Remove: true}})
					case !op.remove && (!set || cur != op.value):
						recs = append(recs, metadata.Record{Type: metadata.TypeQuota, Quota: &metadata.QuotaRecord{Entity: a.entity, Key: op.key, Value: op.value}})
					}
				}
			}
			return recs, nil
		})
		if err != nil {
			for _, a := range ok {
				setErr(a.i, errCode(err), err.Error())
			}
		} else {
			b.logger.Info("client quotas altered", "entities", len(ok), "principal", rc.principal())
		}
		p.complete(resp)
	}()
}

// quotaEntityOf checks a request's entity as Kafka's controller does and
// converts it; msg is the INVALID_REQUEST message of a bad one.
func quotaEntityOf(parts []kmsg.AlterClientQuotasRequestEntryEntity) (e metadata.QuotaEntity, msg string) {
	if len(parts) == 0 {
		return e, "Invalid empty client quota entity"
	}
	seen := map[string]bool{}
	for _, p := range parts {
		if seen[p.Type] {
			return e, "Invalid client quota entity, duplicate entity entry " + p.Type
		}
		seen[p.Type] = true
		if p.Type != quotaUser && p.Type != quotaClientID && p.Type != quotaIP {
			return e, "Unhandled client quota entity type: " + p.Type
		}
		def := p.Name == nil
		var name string
		if !def {
			name = *p.Name
			if name == "" {
				return e, "Empty " + p.Type + " not supported"
			}
			if len(name) > 1024 {
				return e, fmt.Sprintf("The %s name is longer than 1024 bytes", p.Type)
			}
		}
		switch p.Type {
		case quotaUser:
			e.User, e.DefaultUser = name, def
		case quotaClientID:
			e.ClientID, e.DefaultClientID = name, def
		case quotaIP:
			if !def {
				a, err := netip.ParseAddr(name)
				if err != nil {
					return e, name + " is not a valid IP or resolvable host."
				}
				name = a.Unmap().String()
			}
			e.IP, e.DefaultIP = name, def
		}
	}
	if e.HasIP() && (e.HasUser() || e.HasClientID()) {
		return e, "Invalid quota entity combination, IP entity should not be combined with User or ClientId"
	}
	return e, ""
}

// quotaOpsOf checks an entity's operations as Kafka's controller does: a
// key once, values of the keys the entity type has, above 0, whole numbers
// where the key's type is integral. Removals are not checked.
func quotaOpsOf(e metadata.QuotaEntity, in []kmsg.AlterClientQuotasRequestEntryOp) ([]quotaOp, string) {
	keys := quota.Keys(e.HasIP())
	seen := map[string]bool{}
	out := make([]quotaOp, 0, len(in))
	for _, op := range in {
		if seen[op.Key] {
			return nil, fmt.Sprintf("Duplicate quota key %s not updating quota for this entity %s", op.Key, e)
		}
		seen[op.Key] = true
		if op.Remove {
			out = append(out, quotaOp{key: op.Key, remove: true})
			continue
		}
		typ, ok := keys[op.Key]
		v := op.Value
		switch {
		case !ok:
			return nil, "Invalid configuration key " + op.Key
		case math.IsNaN(v) || math.IsInf(v, 0):
			return nil, fmt.Sprintf("Quota %s must be a finite number", op.Key)
		case v <= 0:
			return nil, fmt.Sprintf("Quota %s must be greater than 0", op.Key)
		case typ == quota.Int && v > math.MaxInt32:
			return nil, fmt.Sprintf("Proposed value for %s is too large for an INT.", op.Key)
		case typ == quota.Long && v > math.MaxInt64:
			return nil, fmt.Sprintf("Proposed value for %s is too large for a LONG.", op.Key)
		case typ != quota.Double && math.Abs(math.Mod(v, 1)) > 1e-6:
			return nil, op.Key + " cannot be a fractional value."
		}
		out = append(out, quotaOp{key: op.Key, value: v})
	}
	return out, ""
}
