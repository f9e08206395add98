package broker

// DescribeCluster, key 60, v0-v2.
//   v1: endpoint type (1 brokers, 2 controllers; KIP-919).  v2: fenced
//   brokers (IncludeFencedBrokers, IsFenced).
// Endpoint type 2 lists the metadata quorum's voters at their controller
// addresses.
// ACLs: none on a broker listener (the cluster's authorized operations,
// when asked for, need DESCRIBE on it, else 0); ALTER on the cluster on
// the controller listener (CLUSTER_AUTHORIZATION_FAILED), as Kafka's
// controller.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func handleDescribeCluster(rc *reqCtx, req *kmsg.DescribeClusterRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.ClusterID = b.clusterID()
	resp.ControllerID = b.controllerID()
	resp.EndpointType = req.EndpointType
	resp.ClusterAuthorizedOperations = -2147483648
	if code := describeClusterAuth(rc, req, resp); code != 0 {
		resp.ErrorCode = code
		return resp
	}
	switch req.EndpointType {
	case 0, 1:
		for _, br := range b.brokerList(b.meta.Image(), req.IncludeFencedBrokers, rc.c.listener.Name) {
			rb := kmsg.NewDescribeClusterResponseBroker()
			rb.NodeID, rb.Host, rb.Port = br.ID, br.Host, br.Port
			rb.IsFenced = br.Fenced
			if br.Rack != "" {
				rack := br.Rack
				rb.Rack = &rack
			}
			resp.Brokers = append(resp.Brokers, rb)
		}
	case 2:
		im := b.meta.Image()
		for _, id := range b.voterIDs() {
			host, port, ok := controllerEndpoint(im, b.cfg.QuorumVoters, id)
			if !ok {
				continue
			}
			rb := kmsg.NewDescribeClusterResponseBroker()
			rb.NodeID, rb.Host, rb.Port = id, host, port
			resp.Brokers = append(resp.Brokers, rb)
		}
	default:
		resp.ErrorCode = kerr.UnsupportedEndpointType.Code
	}
	return resp
}
