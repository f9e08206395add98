package broker

// AlterPartitionReassignments, key 45, v0-v1.
//   v0: reassign partitions (replicas) or cancel (null replicas), KIP-455.
//   v1: AllowReplicationFactorChange (KIP-860); Samsa allows it.
// Each partition's change is planned and committed on its own, so one bad
// partition does not fail the others. The move itself (new replicas
// copying from the leader, joining the ISR, the old ones leaving) is the
// controller's: see metadata/reassign.go.
// ACLs: ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED).

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

func handleAlterPartitionReassignments(rc *reqCtx, req *kmsg.AlterPartitionAssignmentsRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	if !rc.authorizeCluster(acl.OpAlter) {
		resp.ErrorCode = errClusterAuth
		for _, rt := range req.Topics {
			st := kmsg.NewAlterPartitionAssignmentsResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, errClusterAuth
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp
	}
	for _, rt := range req.Topics {
		st := kmsg.NewAlterPartitionAssignmentsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			sp.Partition = rp.Partition
			_, err := b.meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
				return metadata.ReassignRecords(im, rt.Topic, rp.Partition, rp.Replicas)
			})
			switch {
			case err == nil:
			case errors.Is(err, metadata.ErrInvalidReplicaAssignment):
				sp.ErrorCode = kerr.InvalidReplicaAssignment.Code
			case errors.Is(err, metadata.ErrNoReassignment):
				sp.ErrorCode = kerr.NoReassignmentInProgress.Code
			default:
				sp.ErrorCode = errCode(err)
			}
			sp.ErrorMessage = errMessage(err)
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
