package broker

// JoinGroup, key 11, v0-v9.
//   v1: rebalance timeout (KIP-62).  v2: throttle time.  v3: no change.
//   v4: a first join without a member id gets MEMBER_ID_REQUIRED and an id
//   to join with (KIP-394).  v5: group.instance.id (KIP-345).
//   v6: flexible.  v7: protocol type and name in the response.
//   v8: a reason.  v9: skip_assignment for a static leader rejoining a
//   stable group (KIP-814).
// The response waits for the rebalance's join phase to complete.
// ACLs: READ on the group (GROUP_AUTHORIZATION_FAILED).

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
)

func handleJoinGroup(rc *reqCtx, p *pending, req kmsg.Request) {
	jr := req.(*kmsg.JoinGroupRequest)
	if !rc.groupAllowed(acl.OpRead, jr.Group) {
		resp := jr.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode, resp.Generation = errGroupAuth, -1
		p.complete(resp)
		return
	}
	rc.broker().groups.JoinGroup(jr, rc.clientID, rc.clientHost(), p.complete)
}
