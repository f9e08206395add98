package broker

// ConsumerGroupHeartbeat, key 68, v0-v1 (KIP-848: the consumer group
// protocol with server-side assignment, group.protocol=consumer).
//   v0: join with epoch 0 (the coordinator assigns the member id),
//   heartbeat, leave with epoch -1 (-2 for a static member).
//   v1: the client generates its member id; subscribed topic regex.
// Assignors: uniform (default) and range. The group's membership is kept
// in memory only: after a restart members rejoin (UNKNOWN_MEMBER_ID);
// committed offsets are durable as for classic groups.

import "github.com/twmb/franz-go/pkg/kmsg"

func handleConsumerGroupHeartbeat(rc *reqCtx, req *kmsg.ConsumerGroupHeartbeatRequest) kmsg.Response {
	return rc.broker().groups.ConsumerGroupHeartbeat(req, rc.clientID, rc.clientHost())
}
