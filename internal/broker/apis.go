package broker

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// api is one supported API key: the versions advertised in ApiVersions and
// its handler. Version ranges cover every version Kafka 3.9 or 4.x accepts
// for the API, except where noted in the handler's file.
type api struct {
	min, max int16
	handle   func(rc *reqCtx, p *pending, req kmsg.Request)
}

// now adapts a handler that answers at once.
func now[Req kmsg.Request](fn func(rc *reqCtx, req Req) kmsg.Response) func(*reqCtx, *pending, kmsg.Request) {
	return func(rc *reqCtx, p *pending, req kmsg.Request) {
		p.complete(fn(rc, req.(Req)))
	}
}

var apiTable map[int16]api

func init() {
	// Assigned in init to break the initialization cycle between the
	// table and the ApiVersions handler, which reads the table.
	apiTable = map[int16]api{
		kmsg.Produce.Int16():                    {0, 13, handleProduce},
		kmsg.Fetch.Int16():                      {0, 18, handleFetch},
		kmsg.ListOffsets.Int16():                {0, 11, now(handleListOffsets)},
		kmsg.Metadata.Int16():                   {0, 13, now(handleMetadata)},
		kmsg.ApiVersions.Int16():                {0, 5, now(handleAPIVersions)},
		kmsg.CreateTopics.Int16():               {0, 7, now(handleCreateTopics)},
		kmsg.DeleteTopics.Int16():               {0, 6, now(handleDeleteTopics)},
		kmsg.DeleteRecords.Int16():              {0, 2, now(handleDeleteRecords)},
		kmsg.InitProducerID.Int16():             {0, 5, handleInitProducerID},
		kmsg.OffsetForLeaderEpoch.Int16():       {0, 4, now(handleOffsetForLeaderEpoch)},
		kmsg.DescribeConfigs.Int16():            {0, 4, now(handleDescribeConfigs)},
		kmsg.AlterConfigs.Int16():               {0, 2, now(handleAlterConfigs)},
		kmsg.IncrementalAlterConfigs.Int16():    {0, 1, now(handleIncrementalAlterConfigs)},
		kmsg.DescribeLogDirs.Int16():            {0, 5, now(handleDescribeLogDirs)},
		kmsg.CreatePartitions.Int16():           {0, 3, now(handleCreatePartitions)},
		kmsg.DescribeCluster.Int16():            {0, 2, now(handleDescribeCluster)},
		kmsg.DescribeProducers.Int16():          {0, 0, now(handleDescribeProducers)},
		kmsg.AlterPartitionAssignments.Int16():  {0, 1, now(handleAlterPartitionReassignments)},
		kmsg.ListPartitionReassignments.Int16(): {0, 0, now(handleListPartitionReassignments)},
		kmsg.ElectLeaders.Int16():               {0, 2, now(handleElectLeaders)},
		kmsg.DescribeQuorum.Int16():             {0, 2, now(handleDescribeQuorum)},
		kmsg.DescribeTopicPartitions.Int16():    {0, 0, now(handleDescribeTopicPartitions)},
		kmsg.UnregisterBroker.Int16():           {0, 0, now(handleUnregisterBroker)},
		kmsg.AddRaftVoter.Int16():               {0, 1, now(handleAddRaftVoter)},
		kmsg.RemoveRaftVoter.Int16():            {0, 0, now(handleRemoveRaftVoter)},
	}
	// Each feature area registers its APIs in a table of its own.
	for _, extra := range []map[int16]api{groupAPIs(), txnAPIs(), securityAPIs(), saslAPIs()} {
		for k, a := range extra {
			apiTable[k] = a
		}
	}
}

// controllerAPIs are the APIs the controller listener offers, as Kafka's
// controller listener does (kafka-metadata-quorum, kafka-topics and the
// admin client with --bootstrap-controller): the metadata changes and the
// quorum's own; no produce, fetch or groups.
var controllerAPIs = map[int16]bool{
	kmsg.ApiVersions.Int16():                true,
	kmsg.DescribeQuorum.Int16():             true,
	kmsg.DescribeCluster.Int16():            true,
	kmsg.AddRaftVoter.Int16():               true,
	kmsg.RemoveRaftVoter.Int16():            true,
	kmsg.UnregisterBroker.Int16():           true,
	kmsg.CreateTopics.Int16():               true,
	kmsg.DeleteTopics.Int16():               true,
	kmsg.CreatePartitions.Int16():           true,
	kmsg.DescribeConfigs.Int16():            true,
	kmsg.AlterConfigs.Int16():               true,
	kmsg.IncrementalAlterConfigs.Int16():    true,
	kmsg.ElectLeaders.Int16():               true,
	kmsg.AlterPartitionAssignments.Int16():  true,
	kmsg.ListPartitionReassignments.Int16(): true,
	kmsg.DescribeACLs.Int16():               true,
	kmsg.CreateACLs.Int16():                 true,
	kmsg.DeleteACLs.Int16():                 true,
	kmsg.AlterClientQuotas.Int16():          true,
}

// supportedKeys returns the API keys in ascending order.
func supportedKeys() []int16 {
	keys := make([]int16, 0, len(apiTable))
	for k := range apiTable {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
