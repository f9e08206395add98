package broker

import (
	"net"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/coordinator/group"
)

// groupAPIs returns the consumer-group APIs, served by the group
// coordinator (internal/coordinator/group). This node coordinates every
// group. Version ranges: every version Kafka 3.9 or 4.x accepts that kmsg
// encodes; see each handler's file.
func groupAPIs() map[int16]api {
	return map[int16]api{
		kmsg.OffsetCommit.Int16():    {0, 10, handleOffsetCommit},
		kmsg.OffsetFetch.Int16():     {0, 10, now(handleOffsetFetch)},
		kmsg.FindCoordinator.Int16(): {0, 6, now(handleFindCoordinator)},
		kmsg.JoinGroup.Int16():       {0, 9, handleJoinGroup},
		kmsg.Heartbeat.Int16():       {0, 4, now(handleHeartbeat)},
		kmsg.LeaveGroup.Int16():      {0, 5, now(handleLeaveGroup)},
		kmsg.SyncGroup.Int16():       {0, 5, handleSyncGroup},
		kmsg.DescribeGroups.Int16():  {0, 6, now(handleDescribeGroups)},
		kmsg.ListGroups.Int16():      {0, 5, now(handleListGroups)},
		kmsg.DeleteGroups.Int16():    {0, 3, handleDeleteGroups},
		kmsg.OffsetDelete.Int16():    {0, 0, handleOffsetDelete},

		kmsg.ConsumerGroupHeartbeat.Int16(): {0, 1, handleConsumerGroupHeartbeat},
		kmsg.ConsumerGroupDescribe.Int16():  {0, 1, now(handleConsumerGroupDescribe)},
	}
}

// newGroupCoordinator builds the group coordinator runtime from the broker
// settings; StartCoordinators loads it.
func newGroupCoordinator(cfg *config.Config, b *Broker) *group.Runtime {
	gc := group.DefaultConfig()
	gc.InitialRebalanceDelay = cfg.GroupInitialRebalanceDelay
	gc.MinSessionTimeout, gc.MaxSessionTimeout = cfg.GroupMinSessionTimeout, cfg.GroupMaxSessionTimeout
	gc.MaxSize = cfg.GroupMaxSize
	gc.Partitions = cfg.OffsetsTopicPartitions
	gc.ReplicationFactor = cfg.OffsetsTopicReplication
	gc.ClusterSize = len(cfg.QuorumVoters)
	gc.OffsetsRetention, gc.RetentionCheck = cfg.OffsetsRetention, cfg.OffsetsRetentionCheck
	gc.MaxMetadataBytes = cfg.OffsetMetadataMaxBytes
	gc.ConsumerHeartbeatInterval, gc.ConsumerSessionTimeout = cfg.ConsumerHeartbeatInterval, cfg.ConsumerSessionTimeout
	rt := group.NewRuntime(gc, b.meta, b.parts, cfg.NodeID, b.logger)
	// Lag of partitions led elsewhere: their leaders' high watermarks.
	rt.SetRequester(b.peerRequest)
	return rt
}

// StartCoordinators starts loading the coordinators' state from their
// internal topics; until loaded they answer COORDINATOR_LOAD_IN_PROGRESS.
func (b *Broker) StartCoordinators() {
	b.groups.Start()
	b.txns.Start()
}

// clientHost is the client's address as Kafka reports it ("/127.0.0.1").
func (rc *reqCtx) clientHost() string {
	if a, ok := rc.c.nc.RemoteAddr().(*net.TCPAddr); ok {
		return "/" + a.IP.String()
	}
	return "/" + rc.c.nc.RemoteAddr().String()
}

// partitionKnown reports whether a topic partition exists now.
func (b *Broker) partitionKnown(topic string, partition int32) bool {
	t, ok := b.meta.Image().Topic(topic)
	return ok && partition >= 0 && int(partition) < len(t.Partitions)
}
