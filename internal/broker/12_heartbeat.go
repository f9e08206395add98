package broker

// Heartbeat, key 12, v0-v4.
//   v1: throttle time.  v2: no change.  v3: group.instance.id (KIP-345).
//   v4: flexible.

import "github.com/twmb/franz-go/pkg/kmsg"

func handleHeartbeat(rc *reqCtx, req *kmsg.HeartbeatRequest) kmsg.Response {
	return rc.broker().groups.Heartbeat(req)
}
