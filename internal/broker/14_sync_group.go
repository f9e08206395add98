package broker

// SyncGroup, key 14, v0-v5.
//   v1: throttle time.  v2: no change.  v3: group.instance.id (KIP-345).
//   v4: flexible.  v5: protocol type and name, checked against the group's.
// The response waits for the leader's assignment to be stored.

import "github.com/twmb/franz-go/pkg/kmsg"

func handleSyncGroup(rc *reqCtx, p *pending, req kmsg.Request) {
	rc.broker().groups.SyncGroup(req.(*kmsg.SyncGroupRequest), p.complete)
}
