package broker

// LeaveGroup, key 13, v0-v5.
//   v1: throttle time.  v2: no change.  v3: a batch of members, each with
//   an optional group.instance.id and its own error (KIP-345).
//   v4: flexible.  v5: a reason per member.
// ACLs: READ on the group (GROUP_AUTHORIZATION_FAILED).

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
)

func handleLeaveGroup(rc *reqCtx, req *kmsg.LeaveGroupRequest) kmsg.Response {
	if !rc.groupAllowed(acl.OpRead, req.Group) {
		resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
		resp.ErrorCode = errGroupAuth
		return resp
	}
	return rc.broker().groups.LeaveGroup(req)
}
