package broker

// ListGroups, key 16, v0-v5.
//   v1: throttle time.  v2: no change.  v3: flexible.  v4: state filter and
//   group state (KIP-518).  v5: type filter and group type (KIP-848);
//   every group here is "classic".
// ACLs: every group with DESCRIBE on the cluster, else only the groups
// with DESCRIBE on them (authorize_group.go).

import "github.com/twmb/franz-go/pkg/kmsg"

func handleListGroups(rc *reqCtx, req *kmsg.ListGroupsRequest) kmsg.Response {
	return listGroups(rc, req)
}
