package broker

// AddRaftVoter, key 80, v0-v1 (KIP-853; kafka-metadata-quorum
// add-controller).
//   v1: AckWhenCommitted (Samsa always answers once the change is applied
//   here, which is after it is committed).
//
// Makes a controller a voter of the metadata quorum. The controller must
// be running as an observer: started with the controller role and a
// controller listener, not among controller.quorum.voters (or with
// controller.quorum.bootstrap.servers), so it has registered its listener
// and directory id and caught up with the log. Errors, as Kafka's:
// INCONSISTENT_CLUSTER_ID for another cluster's id, DUPLICATE_VOTER if it
// is a voter already, INVALID_REQUEST if it is not a registered observer
// controller or its directory id differs (the tool read another node's
// meta.properties), REQUEST_TIMED_OUT if the change was not applied within
// TimeoutMillis (it may still be).
//
// Any node takes the request (the admin client sends it to a broker with
// --bootstrap-server): the change is proposed to the quorum's leader.
// ACLs: ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED).

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
)

func handleAddRaftVoter(rc *reqCtx, req *kmsg.AddRaftVoterRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.AddRaftVoterResponse)
	if !rc.authorizeCluster(acl.OpAlter) {
		resp.ErrorCode = errClusterAuth
		return resp
	}
	err := b.addRaftVoter(req)
	resp.ErrorCode, resp.ErrorMessage = errCode(err), errMessage(err)
	return resp
}

func (b *Broker) addRaftVoter(req *kmsg.AddRaftVoterRequest) error {
	if req.ClusterID != nil && *req.ClusterID != b.clusterID() {
		return fmt.Errorf("%w: cluster id %s, this cluster is %s", kerr.InconsistentClusterID, *req.ClusterID, b.clusterID())
	}
	id := req.VoterID
	if slices.Contains(b.meta.Voters(), id) {
		return fmt.Errorf("%w: node %d is a voter already", kerr.DuplicateVoter, id)
	}
	c, ok := b.meta.Image().Controller(id)
	if !ok {
		return fmt.Errorf("%w: node %d has not registered as a controller (yet): start it with the controller role and a controller listener, not among controller.quorum.voters, and wait until it is up", kerr.InvalidRequest, id)
	}
	if got := base64.RawURLEncoding.EncodeToString(req.VoterDirectoryID[:]); got != c.DirectoryID {
		return fmt.Errorf("%w: node %d has directory id %s, the request names %s", kerr.InvalidRequest, id, c.DirectoryID, got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), raftVoterTimeout(req.TimeoutMillis))
	defer cancel()
	learners, err := b.meta.Learners(ctx)
	if err != nil {
		return fmt.Errorf("%w: quorum status: %v", kerr.RequestTimedOut, err)
	}
	if !slices.Contains(learners, id) {
		return fmt.Errorf("%w: node %d is not following the metadata quorum as an observer (is it running?)", kerr.InvalidRequest, id)
	}
	if err := b.meta.ChangeVoter(ctx, id, true); err != nil {
		return err
	}
	b.logger.Info("added a voter to the metadata quorum", "node_id", id, "voters", b.meta.Voters())
	return nil
}

// raftVoterTimeout is how long a voter change may take: the request's
// TimeoutMillis, 15 s if it gives none, at most a minute.
func raftVoterTimeout(ms int32) time.Duration {
	if ms <= 0 {
		return 15 * time.Second
	}
	return min(time.Duration(ms)*time.Millisecond, time.Minute)
}
