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

import "github.com/twmb/franz-go/pkg/kmsg"

func handleConsumerGroupHeartbeat(rc *reqCtx, p *pending, req kmsg.Request) {
	rc.broker().groups.ConsumerGroupHeartbeat(req.(*kmsg.ConsumerGroupHeartbeatRequest), rc.clientID, rc.clientHost(), p.complete)
}
