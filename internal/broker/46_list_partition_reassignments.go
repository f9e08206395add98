package broker

// ListPartitionReassignments, key 46, v0.
//   v0: the reassignments running (KIP-455): a null topic list means every
//   partition; named partitions with none running are left out, as Kafka
//   does.
// ACLs: DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED).

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
)

func handleListPartitionReassignments(rc *reqCtx, req *kmsg.ListPartitionReassignmentsRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
	if !rc.authorizeCluster(acl.OpDescribe) {
		resp.ErrorCode = errClusterAuth
		return resp
	}
	im := b.meta.Image()
	running := im.Reassigning()
	add := func(topic string, parts []int32) {
		t, ok := im.Topic(topic)
		if !ok {
			return
		}
		st := kmsg.NewListPartitionReassignmentsResponseTopic()
		st.Topic = topic
		for _, p := range parts {
			if !slices.Contains(running[topic], p) {
				continue
			}
			pm := t.Partitions[p]
			sp := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
			sp.Partition, sp.Replicas, sp.AddingReplicas, sp.RemovingReplicas = p, pm.Replicas, pm.Adding, pm.Removing
			if sp.AddingReplicas == nil {
				sp.AddingReplicas = []int32{}
			}
			if sp.RemovingReplicas == nil {
				sp.RemovingReplicas = []int32{}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		if len(st.Partitions) > 0 {
			resp.Topics = append(resp.Topics, st)
		}
	}
	if req.Topics == nil {
		for _, name := range im.TopicNames() {
			add(name, running[name])
		}
		return resp
	}
	for _, rt := range req.Topics {
		add(rt.Topic, rt.Partitions)
	}
	return resp
}
