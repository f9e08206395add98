package broker

// DescribeCluster, key 60, v0-v2.
//   v1: endpoint type (brokers or controllers).  v2: fenced brokers.

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

func handleDescribeCluster(rc *reqCtx, req *kmsg.DescribeClusterRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.ClusterID = b.clusterID()
	resp.ControllerID = b.cfg.NodeID
	resp.EndpointType = req.EndpointType
	br := kmsg.NewDescribeClusterResponseBroker()
	br.NodeID, br.Host, br.Port = b.cfg.NodeID, b.cfg.AdvertisedHost, b.cfg.AdvertisedPort
	resp.Brokers = []kmsg.DescribeClusterResponseBroker{br}
	resp.ClusterAuthorizedOperations = -2147483648
	return resp
}
