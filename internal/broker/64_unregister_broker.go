package broker

// UnregisterBroker, key 64, v0 (KIP-631; kafka-cluster.sh unregister).
//
// Removes a broker's registration for good, as Kafka's controller does:
// it first leaves every ISR it can and leads nothing (as when fenced),
// its replicas stay assigned and offline until reassigned (move them
// first: `samsa cluster rebalance --remove-broker`), and it no longer
// counts for placement. A broker-only node also leaves the metadata
// quorum's observers. A process of that id that is still running
// registers again, as a Kafka broker does at its next heartbeat.
// BROKER_ID_NOT_REGISTERED if the id is not registered.
// ACLs: ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED).

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

func handleUnregisterBroker(rc *reqCtx, req *kmsg.UnregisterBrokerRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.UnregisterBrokerResponse)
	if !rc.authorizeCluster(acl.OpAlter) {
		resp.ErrorCode = errClusterAuth
		return resp
	}
	_, err := b.meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
		recs, ok := metadata.UnregisterBrokerRecords(im, req.BrokerID)
		if !ok {
			return nil, fmt.Errorf("%w: broker %d is not registered", kerr.BrokerIDNotRegistered, req.BrokerID)
		}
		return recs, nil
	})
	if err == nil {
		b.logger.Info("unregistered a broker", "node_id", req.BrokerID)
	}
	resp.ErrorCode, resp.ErrorMessage = errCode(err), errMessage(err)
	return resp
}
