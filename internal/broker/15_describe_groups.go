package broker

// DescribeGroups, key 15, v0-v6.
//   v1: throttle time.  v2: no change.  v3: authorized operations.
//   v4: group.instance.id of members.  v5: flexible.  v6: an unknown group
//   is GROUP_ID_NOT_FOUND with a message (before: state Dead, no error).
// ACLs: DESCRIBE on each group (GROUP_AUTHORIZATION_FAILED for that group;
// authorize_group.go).

import "github.com/twmb/franz-go/pkg/kmsg"

func handleDescribeGroups(rc *reqCtx, req *kmsg.DescribeGroupsRequest) kmsg.Response {
	return describeGroups(rc, req)
}
