package broker

// DescribeUserScramCredentials, key 50, v0: which SCRAM mechanisms each
// user has a credential for, with the iteration count (never the salt or
// keys). A null list describes every user; a user named without
// credentials is RESOURCE_NOT_FOUND, one named twice DUPLICATE_RESOURCE.
// ACLs: DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
)

func handleDescribeUserSCRAMCredentials(rc *reqCtx, req *kmsg.DescribeUserSCRAMCredentialsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeUserSCRAMCredentialsResponse)
	if !rc.authorizeCluster(acl.OpDescribe) {
		resp.ErrorCode = errClusterAuth
		return resp
	}
	im := rc.broker().meta.Image()
	byUser := map[string][]kmsg.DescribeUserSCRAMCredentialsResponseResultCredentialInfo{}
	var order []string
	for _, c := range im.ScramUsers() {
		if _, ok := byUser[c.User]; !ok {
			order = append(order, c.User)
		}
		byUser[c.User] = append(byUser[c.User], kmsg.DescribeUserSCRAMCredentialsResponseResultCredentialInfo{Mechanism: c.Mechanism, Iterations: c.Iterations})
	}
	if req.Users == nil {
		for _, u := range order {
			r := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
			r.User, r.CredentialInfos = u, byUser[u]
			resp.Results = append(resp.Results, r)
		}
		return resp
	}
	seen := map[string]int{}
	for _, u := range req.Users {
		seen[u.Name]++
	}
	for _, u := range req.Users {
		r := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
		r.User = u.Name
		switch {
		case seen[u.Name] > 1:
			r.ErrorCode = kerr.DuplicateResource.Code
			msg := "Cannot describe SCRAM credentials for the same user twice in a single request: " + u.Name
			r.ErrorMessage = &msg
		case len(byUser[u.Name]) == 0:
			r.ErrorCode = kerr.ResourceNotFound.Code
			msg := "Attempt to describe a user credential that does not exist: " + u.Name
			r.ErrorMessage = &msg
		default:
			r.CredentialInfos = byUser[u.Name]
		}
		resp.Results = append(resp.Results, r)
	}
	return resp
}
