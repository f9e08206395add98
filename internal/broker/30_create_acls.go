package broker

// CreateAcls, key 30, v0-v3.
//   v0: LITERAL patterns only.  v1: PREFIXED patterns (KIP-290).
//   v2: flexible.  v3: the USER resource type.
// Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED for every
// creation); without an authorizer: SECURITY_DISABLED, as Kafka. Each
// creation is checked as Kafka's controller does (acl.Binding.Validate):
// UNKNOWN or ANY types, a MATCH or ANY pattern, an empty name, a cluster
// not named kafka-cluster, a principal without "Type:" are
// INVALID_REQUEST for that creation alone. An ACL that exists already is
// a success. The new ACLs are one metadata change: all or none.

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

func handleCreateACLs(rc *reqCtx, req *kmsg.CreateACLsRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.CreateACLsResponse)
	all := func(code int16, msg string) kmsg.Response {
		for range req.Creations {
			r := kmsg.NewCreateACLsResponseResult()
			r.ErrorCode, r.ErrorMessage = code, &msg
			resp.Results = append(resp.Results, r)
		}
		return resp
	}
	if !rc.authorizeCluster(acl.OpAlter) {
		return all(errClusterAuth, "not authorized to create ACLs (ALTER on the cluster)")
	}
	if b.authz == nil {
		return all(kerr.SecurityDisabled.Code, securityDisabled)
	}
	bindings := make([]acl.Binding, len(req.Creations))
	for i, c := range req.Creations {
		bindings[i] = acl.Binding{ResourceType: acl.ResourceType(c.ResourceType), Name: c.ResourceName, PatternType: acl.PatternType(c.ResourcePatternType),
			Principal: c.Principal, Host: c.Host, Operation: acl.Operation(c.Operation), Permission: acl.Permission(c.PermissionType)}
	}
	errs := make([]error, len(bindings))
	var created int
	_, err := b.meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
		var recs []metadata.Record
		recs, errs = metadata.CreateACLRecords(im, bindings)
		created = len(recs)
		return recs, nil
	})
	for i := range req.Creations {
		r := kmsg.NewCreateACLsResponseResult()
		e := errs[i]
		if e == nil {
			e = err
		}
		r.ErrorCode, r.ErrorMessage = errCode(e), errMessage(e)
		resp.Results = append(resp.Results, r)
	}
	if err == nil && created > 0 {
		b.logger.Info("created ACLs", "count", created, "principal", rc.principal())
	} else if err != nil && !errors.Is(err, acl.ErrInvalid) {
		b.logger.Warn("creating ACLs failed", "err", err)
	}
	return resp
}
