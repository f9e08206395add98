package broker

// DescribeCluster, key 60, v0-v2.
//   v1: endpoint type (1 brokers, 2 controllers; KIP-919).  v2: fenced
//   brokers (IncludeFencedBrokers, IsFenced).
// Every Samsa node is a combined broker and controller: endpoint type 2
// lists the quorum's voters at their controller addresses.

import (
	"net"
	"strconv"

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
	switch req.EndpointType {
	case 0, 1:
		for _, br := range b.brokerList(b.meta.Image(), req.IncludeFencedBrokers) {
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
		for _, id := range b.cfg.VoterIDs() {
			host, port, _ := net.SplitHostPort(b.cfg.QuorumVoters[id])
			p, _ := strconv.Atoi(port)
			rb := kmsg.NewDescribeClusterResponseBroker()
			rb.NodeID, rb.Host, rb.Port = id, host, int32(p)
			resp.Brokers = append(resp.Brokers, rb)
		}
	default:
		resp.ErrorCode = kerr.UnsupportedEndpointType.Code
	}
	return resp
}
