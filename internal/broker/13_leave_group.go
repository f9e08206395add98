package broker

// LeaveGroup, key 13, v0-v5.
//   v1: throttle time.  v2: no change.  v3: a batch of members, each with
//   an optional group.instance.id and its own error (KIP-345).
//   v4: flexible.  v5: a reason per member.

import "github.com/twmb/franz-go/pkg/kmsg"

func handleLeaveGroup(rc *reqCtx, req *kmsg.LeaveGroupRequest) kmsg.Response {
	return rc.broker().groups.LeaveGroup(req)
}
