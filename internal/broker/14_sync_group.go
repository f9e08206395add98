package broker

// SyncGroup, key 14, v0-v5.
//   v1: throttle time.  v2: no change.  v3: group.instance.id (KIP-345).
//   v4: flexible.  v5: protocol type and name, checked against the group's.
// The response waits for the leader's assignment to be stored.
// ACLs: READ on the group (GROUP_AUTHORIZATION_FAILED).

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
)

func handleSyncGroup(rc *reqCtx, p *pending, req kmsg.Request) {
	sr := req.(*kmsg.SyncGroupRequest)
	if !rc.groupAllowed(acl.OpRead, sr.Group) {
		resp := sr.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode = errGroupAuth
		p.complete(resp)
		return
	}
	rc.broker().groups.SyncGroup(sr, p.complete)
}
