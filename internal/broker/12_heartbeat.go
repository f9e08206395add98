package broker

// Heartbeat, key 12, v0-v4.
//   v1: throttle time.  v2: no change.  v3: group.instance.id (KIP-345).
//   v4: flexible.
// ACLs: READ on the group (GROUP_AUTHORIZATION_FAILED).

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
)

func handleHeartbeat(rc *reqCtx, req *kmsg.HeartbeatRequest) kmsg.Response {
	if !rc.groupAllowed(acl.OpRead, req.Group) {
		resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
		resp.ErrorCode = errGroupAuth
		return resp
	}
	return rc.broker().groups.Heartbeat(req)
}
