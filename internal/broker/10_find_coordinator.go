package broker

// FindCoordinator, key 10, v0-v6.
//   v1: key type (0 group, 1 transaction), throttle time, error message.
//   v2: no change.  v3: flexible.  v4: several keys per request (KIP-699),
//   answered per key.  v5: no change (transaction errors).  v6: key type 2
//   for share groups (KIP-932).
// A group's coordinator is the leader of its __consumer_offsets partition
// (created on the first request, as Kafka does). Share
// groups are not implemented yet: that key gets COORDINATOR_NOT_AVAILABLE.
// A transactional id's coordinator is the leader of its __transaction_state
// partition (created on the first request).
// ACLs: DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED) or on the
// transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), per key.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
)

func handleFindCoordinator(rc *reqCtx, req *kmsg.FindCoordinatorRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	keys := req.CoordinatorKeys
	if req.Version < 4 {
		keys = []string{req.CoordinatorKey}
	}
	for _, key := range keys {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key, c.NodeID, c.Host, c.Port = key, -1, "", -1
		ct := req.CoordinatorType
		switch {
		case ct == 0 && !rc.groupAllowed(acl.OpDescribe, key):
			c.ErrorCode, ct = errGroupAuth, -1
		case ct == 1 && !rc.authorize(acl.OpDescribe, acl.ResourceTransactionalID, key):
			c.ErrorCode, ct = errTxnAuth, -1
		}
		switch ct {
		case -1: // refused above
		case 0:
			if err := b.groups.EnsureTopic(); err != nil {
				c.ErrorCode, c.ErrorMessage = kerr.CoordinatorNotAvailable.Code, errMessage(err)
				break
			}
			leader := b.groups.Leader(key)
			found := false
			for _, br := range b.brokersFor(b.meta.Image(), rc.c.listener.Name) {
				if br.ID == leader {
					c.NodeID, c.Host, c.Port, found = br.ID, br.Host, br.Port, true
				}
			}
			if !found {
				c.ErrorCode = kerr.CoordinatorNotAvailable.Code
			}
		case 1:
			if err := b.txns.EnsureTopic(); err != nil {
				c.ErrorCode, c.ErrorMessage = kerr.CoordinatorNotAvailable.Code, errMessage(err)
				break
			}
			c.ErrorCode = kerr.CoordinatorNotAvailable.Code
			leader := b.txns.Leader(key)
			for _, br := range b.brokersFor(b.meta.Image(), rc.c.listener.Name) {
				if br.ID == leader {
					c.NodeID, c.Host, c.Port, c.ErrorCode = br.ID, br.Host, br.Port, 0
				}
			}
		case 2:
			c.ErrorCode = kerr.CoordinatorNotAvailable.Code
			msg := "share groups are not supported yet"
			c.ErrorMessage = &msg
		default:
			c.ErrorCode = kerr.InvalidRequest.Code
		}
		if c.ErrorCode != 0 {
			c.NodeID, c.Host, c.Port = -1, "", -1
		}
		resp.Coordinators = append(resp.Coordinators, c)
	}
	if req.Version < 4 {
		c := resp.Coordinators[0]
		resp.ErrorCode, resp.ErrorMessage, resp.NodeID, resp.Host, resp.Port = c.ErrorCode, c.ErrorMessage, c.NodeID, c.Host, c.Port
		resp.Coordinators = nil
	}
	return resp
}
