package broker

// DescribeClientQuotas, key 48, v0-v1 (v1: flexible): the client quotas
// whose entities match a filter, as Kafka's ClientQuotasImage.describe
// matches them. Each component names an entity type (user, client-id,
// ip) and matches it exactly (match type 0, a name), as the default
// entity (1, no name) or as any entity that has that type (2); strict
// leaves out entities with types the filter does not name. A bad filter
// is answered with the error for the whole request: INVALID_REQUEST (an
// empty or repeated type, a name with the wrong match type, an unknown
// match type, ip mixed with user or client-id), UNSUPPORTED_VERSION (an
// unknown entity type).
// ACLs: DESCRIBE_CONFIGS on the cluster (CLUSTER_AUTHORIZATION_FAILED).

import (
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

// The entity types of client quotas, Kafka's names.
const (
	quotaUser     = "user"
	quotaClientID = "client-id"
	quotaIP       = "ip"
)

// quotaFilter is a parsed DescribeClientQuotas filter: the exactly
// matched parts (nil name: the default entity) and the types matched by
// presence.
type quotaFilter struct {
	exact  map[string]*string
	typed  map[string]bool
	strict bool
}

func handleDescribeClientQuotas(rc *reqCtx, req *kmsg.DescribeClientQuotasRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeClientQuotasResponse)
	if !rc.authorizeCluster(acl.OpDescribeConfigs) {
		resp.ErrorCode = errClusterAuth
		return resp
	}
	f, code, msg := parseQuotaFilter(req)
	if code != 0 {
		resp.ErrorCode, resp.ErrorMessage = code, &msg
		return resp
	}
	// Entries is nullable: null only with an error, as Kafka sends it (the
	// Java admin client fails on a null list).
	resp.Entries = []kmsg.DescribeClientQuotasResponseEntry{}
	rc.broker().meta.Image().ClientQuotas().Each(func(e metadata.QuotaEntity, values map[string]float64) {
		if !f.matches(e) {
			return
		}
		entry := kmsg.NewDescribeClientQuotasResponseEntry()
		for _, p := range quotaEntityParts(e) {
			ent := kmsg.NewDescribeClientQuotasResponseEntryEntity()
			ent.Type, ent.Name = p.typ, p.name
			entry.Entity = append(entry.Entity, ent)
		}
		keys := make([]string, 0, len(values))
		for k := range values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := kmsg.NewDescribeClientQuotasResponseEntryValue()
			v.Key, v.Value = k, values[k]
			entry.Values = append(entry.Values, v)
		}
		resp.Entries = append(resp.Entries, entry)
	})
	return resp
}

func parseQuotaFilter(req *kmsg.DescribeClientQuotasRequest) (quotaFilter, int16, string) {
	f := quotaFilter{exact: map[string]*string{}, typed: map[string]bool{}, strict: req.Strict}
	bad := func(format string, args ...any) (quotaFilter, int16, string) {
		return f, kerr.InvalidRequest.Code, fmt.Sprintf(format, args...)
	}
	for _, c := range req.Components {
		_, isExact := f.exact[c.EntityType]
		switch {
		case c.EntityType == "":
			return bad("Invalid empty entity type.")
		case isExact || f.typed[c.EntityType]:
			return bad("Entity type %s cannot appear more than once in the filter.", c.EntityType)
		case c.EntityType != quotaUser && c.EntityType != quotaClientID && c.EntityType != quotaIP:
			return f, kerr.UnsupportedVersion.Code, "Unsupported entity type " + c.EntityType
		}
		switch c.MatchType {
		case 0:
			if c.Match == nil {
				return bad("Request specified MATCH_TYPE_EXACT, but set match string to null.")
			}
			f.exact[c.EntityType] = c.Match
		case 1:
			if c.Match != nil {
				return bad("Request specified MATCH_TYPE_DEFAULT, but also specified a match string.")
			}
			f.exact[c.EntityType] = nil
		case 2:
			if c.Match != nil {
				return bad("Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.")
			}
			f.typed[c.EntityType] = true
		default:
			return bad("Unknown match type %d", c.MatchType)
		}
	}
	has := func(t string) bool { _, ok := f.exact[t]; return ok || f.typed[t] }
	if has(quotaIP) && (has(quotaUser) || has(quotaClientID)) {
		return bad("Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.")
	}
	return f, 0, ""
}

func (f quotaFilter) matches(e metadata.QuotaEntity) bool {
	parts := quotaEntityParts(e)
	if f.strict && len(parts) != len(f.exact)+len(f.typed) {
		return false
	}
	find := func(t string) (quotaPart, bool) {
		for _, p := range parts {
			if p.typ == t {
				return p, true
			}
		}
		return quotaPart{}, false
	}
	for t, name := range f.exact {
		p, ok := find(t)
		if !ok || (name == nil) != (p.name == nil) || (name != nil && *name != *p.name) {
			return false
		}
	}
	for t := range f.typed {
		if _, ok := find(t); !ok {
			return false
		}
	}
	return true
}

// quotaPart is one part of an entity as the protocol has it: a type and a
// name (nil: the default entity).
type quotaPart struct {
	typ  string
	name *string
}

// quotaEntityParts lists an entity's parts: user, client-id, ip.
func quotaEntityParts(e metadata.QuotaEntity) []quotaPart {
	var out []quotaPart
	add := func(typ, name string, def bool) {
		switch {
		case def:
			out = append(out, quotaPart{typ, nil})
		case name != "":
			n := name
			out = append(out, quotaPart{typ, &n})
		}
	}
	add(quotaUser, e.User, e.DefaultUser)
	add(quotaClientID, e.ClientID, e.DefaultClientID)
	add(quotaIP, e.IP, e.DefaultIP)
	return out
}
