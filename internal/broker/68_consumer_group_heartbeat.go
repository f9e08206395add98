package broker

// ConsumerGroupHeartbeat, key 68, v0-v1 (KIP-848: the consumer group
// protocol with server-side assignment, group.protocol=consumer).
//   v0: join with epoch 0 (the coordinator assigns the member id),
//   heartbeat, leave with epoch -1 (-2 for a static member).
//   v1: the client generates its member id; subscribed topic regex.
// Assignors: uniform (default) and range. The group's membership,
// epochs and assignments are stored in __consumer_offsets (Kafka's
// ConsumerGroup* records), so members carry on across a broker restart.
// The response is sent once the records the heartbeat wrote are durable
// under log.flush.mode.
// ACLs: READ on the group (GROUP_AUTHORIZATION_FAILED).

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
)

func handleConsumerGroupHeartbeat(rc *reqCtx, p *pending, req kmsg.Request) {
	hr := req.(*kmsg.ConsumerGroupHeartbeatRequest)
	if !rc.groupAllowed(acl.OpRead, hr.Group) {
		resp := hr.ResponseKind().(*kmsg.ConsumerGroupHeartbeatResponse)
		resp.ErrorCode = errGroupAuth
		p.complete(resp)
		return
	}
	rc.broker().groups.ConsumerGroupHeartbeat(hr, rc.clientID, rc.clientHost(), p.complete)
}
