package broker

// DeleteAcls, key 31, v0-v3.
//   v0: LITERAL patterns only (LITERAL also stands for ANY, as Kafka
//   normalises it).  v1: pattern types (KIP-290: PREFIXED, ANY, MATCH).
//   v2: flexible.  v3: the USER resource type.
// Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED for every
// filter); without an authorizer: SECURITY_DISABLED, as Kafka. A filter
// with an UNKNOWN element is INVALID_REQUEST for that filter. Every ACL a
// filter matches is deleted and listed under it (an ACL matched by two
// filters is listed under both); the deletions are one metadata change.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

func handleDeleteACLs(rc *reqCtx, req *kmsg.DeleteACLsRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.DeleteACLsResponse)
	all := func(code int16, msg string) kmsg.Response {
		for range req.Filters {
			r := kmsg.NewDeleteACLsResponseResult()
			r.ErrorCode, r.ErrorMessage = code, &msg
			resp.Results = append(resp.Results, r)
		}
		return resp
	}
	if !rc.authorizeCluster(acl.OpAlter) {
		return all(errClusterAuth, "not authorized to delete ACLs (ALTER on the cluster)")
	}
	if b.authz == nil {
		return all(kerr.SecurityDisabled.Code, securityDisabled)
	}
	filters := make([]acl.Filter, len(req.Filters))
	for i, f := range req.Filters {
		filters[i] = aclFilter(f.ResourceType, f.ResourceName, f.ResourcePatternType, f.Principal, f.Host, f.Operation, f.PermissionType)
	}
	var deleted [][]metadata.ACL
	var removed int
	_, err := b.meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
		recs, d, err := metadata.DeleteACLRecords(im, filters)
		deleted, removed = d, len(recs)
		return recs, err
	})
	for i, f := range filters {
		r := kmsg.NewDeleteACLsResponseResult()
		switch verr := f.Validate(); {
		case verr != nil:
			r.ErrorCode, r.ErrorMessage = errCode(verr), errMessage(verr)
		case err != nil:
			r.ErrorCode, r.ErrorMessage = errCode(err), errMessage(err)
		default:
			for _, a := range deleted[i] {
				m := kmsg.NewDeleteACLsResponseResultMatchingACL()
				m.ResourceType, m.ResourceName, m.ResourcePatternType = kmsg.ACLResourceType(a.ResourceType), a.Name, kmsg.ACLResourcePatternType(a.PatternType)
				m.Principal, m.Host = a.Principal, a.Host
				m.Operation, m.PermissionType = kmsg.ACLOperation(a.Operation), kmsg.ACLPermissionType(a.Permission)
				r.MatchingACLs = append(r.MatchingACLs, m)
			}
		}
		resp.Results = append(resp.Results, r)
	}
	if err == nil && removed > 0 {
		b.logger.Info("deleted ACLs", "count", removed, "principal", rc.principal())
	}
	return resp
}
