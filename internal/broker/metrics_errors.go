package broker

import "github.com/twmb/franz-go/pkg/kmsg"

// eachErrorCode calls fn with every error code a response carries, top
// level and per partition, for samsa_request_errors_total (Kafka's
// ErrorsPerSec). It knows the responses of the APIs clients use all the
// time; others are not looked into (their errors are rare and logged).
func eachErrorCode(resp kmsg.Response, fn func(int16)) {
	switch r := resp.(type) {
	case *kmsg.ProduceResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				fn(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.FetchResponse:
		fn(r.ErrorCode)
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				fn(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.ListOffsetsResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				fn(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.MetadataResponse:
		for i := range r.Topics {
			fn(r.Topics[i].ErrorCode)
		}
	case *kmsg.OffsetCommitResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				fn(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.OffsetFetchResponse:
		fn(r.ErrorCode)
		for i := range r.Groups {
			fn(r.Groups[i].ErrorCode)
		}
	case *kmsg.FindCoordinatorResponse:
		fn(r.ErrorCode)
		for i := range r.Coordinators {
			fn(r.Coordinators[i].ErrorCode)
		}
	case *kmsg.JoinGroupResponse:
		fn(r.ErrorCode)
	case *kmsg.SyncGroupResponse:
		fn(r.ErrorCode)
	case *kmsg.HeartbeatResponse:
		fn(r.ErrorCode)
	case *kmsg.LeaveGroupResponse:
		fn(r.ErrorCode)
	case *kmsg.ConsumerGroupHeartbeatResponse:
		fn(r.ErrorCode)
	case *kmsg.InitProducerIDResponse:
		fn(r.ErrorCode)
	case *kmsg.EndTxnResponse:
		fn(r.ErrorCode)
	case *kmsg.AddOffsetsToTxnResponse:
		fn(r.ErrorCode)
	case *kmsg.SASLHandshakeResponse:
		fn(r.ErrorCode)
	case *kmsg.SASLAuthenticateResponse:
		fn(r.ErrorCode)
	case *kmsg.ApiVersionsResponse:
		fn(r.ErrorCode)
	case *kmsg.CreateTopicsResponse:
		for i := range r.Topics {
			fn(r.Topics[i].ErrorCode)
		}
	case *kmsg.DeleteTopicsResponse:
		for i := range r.Topics {
			fn(r.Topics[i].ErrorCode)
		}
	}
}
