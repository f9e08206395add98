package broker

// DeleteGroups, key 42, v0-v3.
//   v1: no change.  v2: flexible.  v3: an error message per group.
// Only empty groups are deleted (NON_EMPTY_GROUP otherwise); the response
// waits for the tombstones to be stored.
// ACLs: DELETE on each group (GROUP_AUTHORIZATION_FAILED for that group).

import "github.com/twmb/franz-go/pkg/kmsg"

func handleDeleteGroups(rc *reqCtx, p *pending, req kmsg.Request) {
	deleteGroups(rc, req.(*kmsg.DeleteGroupsRequest), p.complete)
}
