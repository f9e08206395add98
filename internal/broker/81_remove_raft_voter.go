package broker

// RemoveRaftVoter, key 81, v0 (KIP-853; kafka-metadata-quorum
// remove-controller --controller-id N --controller-directory-id D).
//
// Removes a voter from the metadata quorum; it then follows the quorum as
// an observer until it is stopped. A leader that removes itself hands
// over first. Errors, as Kafka's: INCONSISTENT_CLUSTER_ID for another
// cluster's id, VOTER_NOT_FOUND if no voter has that id and directory id,
// INVALID_REQUEST for the last voter, REQUEST_TIMED_OUT if the change was
// not applied in time (it may still be).
// ACLs: ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED).

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
)

func handleRemoveRaftVoter(rc *reqCtx, req *kmsg.RemoveRaftVoterRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.RemoveRaftVoterResponse)
	if !rc.authorizeCluster(acl.OpAlter) {
		resp.ErrorCode = errClusterAuth
		return resp
	}
	err := b.removeRaftVoter(req)
	resp.ErrorCode, resp.ErrorMessage = errCode(err), errMessage(err)
	return resp
}

func (b *Broker) removeRaftVoter(req *kmsg.RemoveRaftVoterRequest) error {
	if req.ClusterID != nil && *req.ClusterID != b.clusterID() {
		return fmt.Errorf("%w: cluster id %s, this cluster is %s", kerr.InconsistentClusterID, *req.ClusterID, b.clusterID())
	}
	id := req.VoterID
	voters := b.meta.Voters()
	if !slices.Contains(voters, id) {
		return fmt.Errorf("%w: node %d is not a voter (voters: %v)", kerr.VoterNotFound, id, voters)
	}
	if c, ok := b.meta.Image().Controller(id); ok {
		if got := base64.RawURLEncoding.EncodeToString(req.VoterDirectoryID[:]); got != c.DirectoryID {
			return fmt.Errorf("%w: voter %d has directory id %s, the request names %s", kerr.VoterNotFound, id, c.DirectoryID, got)
		}
	}
	if len(voters) == 1 {
		return fmt.Errorf("%w: node %d is the last voter", kerr.InvalidRequest, id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), raftVoterTimeout(0))
	defer cancel()
	if err := b.meta.ChangeVoter(ctx, id, false); err != nil {
		return err
	}
	b.logger.Info("removed a voter from the metadata quorum", "node_id", id, "voters", b.meta.Voters())
	return nil
}
