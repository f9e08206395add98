package broker

// DescribeAcls, key 29, v0-v3.
//   v0: LITERAL patterns only (the field is absent; kmsg decodes LITERAL,
//   which also stands for ANY there, as Kafka normalises it).
//   v1: resource pattern types (KIP-290: PREFIXED, and ANY and MATCH in
//   filters).  v2: flexible.  v3: the USER resource type.
// Needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED); without an
// authorizer: SECURITY_DISABLED, as Kafka. A filter with an UNKNOWN element
// is INVALID_REQUEST (Kafka refuses it while parsing the request).

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
)

func handleDescribeACLs(rc *reqCtx, req *kmsg.DescribeACLsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeACLsResponse)
	fail := func(code int16, msg string) kmsg.Response {
		resp.ErrorCode, resp.ErrorMessage = code, &msg
		return resp
	}
	if !rc.authorizeCluster(acl.OpDescribe) {
		return fail(errClusterAuth, "not authorized to describe ACLs (DESCRIBE on the cluster)")
	}
	if rc.broker().authz == nil {
		return fail(kerr.SecurityDisabled.Code, securityDisabled)
	}
	f := aclFilter(req.ResourceType, req.ResourceName, req.ResourcePatternType, req.Principal, req.Host, req.Operation, req.PermissionType)
	if err := f.Validate(); err != nil {
		return fail(kerr.InvalidRequest.Code, err.Error())
	}
	type key struct {
		rt   acl.ResourceType
		pt   acl.PatternType
		name string
	}
	byResource := map[key][]acl.Binding{}
	for _, a := range rc.broker().meta.Image().ACLs().Matching(f) {
		k := key{a.ResourceType, a.PatternType, a.Name}
		byResource[k] = append(byResource[k], a.Binding)
	}
	keys := make([]key, 0, len(byResource))
	for k := range byResource {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].rt != keys[j].rt {
			return keys[i].rt < keys[j].rt
		}
		if keys[i].pt != keys[j].pt {
			return keys[i].pt < keys[j].pt
		}
		return keys[i].name < keys[j].name
	})
	for _, k := range keys {
		r := kmsg.NewDescribeACLsResponseResource()
		r.ResourceType, r.ResourceName, r.ResourcePatternType = kmsg.ACLResourceType(k.rt), k.name, kmsg.ACLResourcePatternType(k.pt)
		for _, b := range byResource[k] {
			e := kmsg.NewDescribeACLsResponseResourceACL()
			e.Principal, e.Host, e.Operation, e.PermissionType = b.Principal, b.Host, kmsg.ACLOperation(b.Operation), kmsg.ACLPermissionType(b.Permission)
			r.ACLs = append(r.ACLs, e)
		}
		resp.Resources = append(resp.Resources, r)
	}
	return resp
}
