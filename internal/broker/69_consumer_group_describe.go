package broker

// ConsumerGroupDescribe, key 69, v0-v1 (KIP-848).
//   v1: member type (classic or consumer protocol).
// ACLs: DESCRIBE on each group (GROUP_AUTHORIZATION_FAILED for that group).

import "github.com/twmb/franz-go/pkg/kmsg"

func handleConsumerGroupDescribe(rc *reqCtx, req *kmsg.ConsumerGroupDescribeRequest) kmsg.Response {
	return consumerGroupDescribe(rc, req)
}
