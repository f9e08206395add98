package broker

import (
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

// TestEveryAPIRefused sends every API at every version, with a topic, a
// group and a transactional id in it, to a broker whose authorizer allows
// nothing (no ACLs, no super user): each must answer at once, without a
// panic, and encode; most answers carry an authorization error.
func TestEveryAPIRefused(t *testing.T) {
	b := newFuzzBroker(t)
	cfg, err := config.New(map[string]string{"log.dirs": t.TempDir(), "authorizer.class.name": config.StandardAuthorizer})
	if err != nil {
		t.Fatal(err)
	}
	b.authz = newAuthorizer(cfg, b.meta, b.logger)
	// An ACL for someone else on the topic, so even DESCRIBE is refused
	// there by the ACL rather than by default.
	if _, err := b.meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
		recs, _ := metadata.CreateACLRecords(im, []acl.Binding{{ResourceType: acl.ResourceTopic, Name: "t", PatternType: acl.PatternLiteral,
			Principal: "User:other", Host: "*", Operation: acl.OpAll, Permission: acl.Allow}})
		return recs, nil
	}); err != nil {
		t.Fatal(err)
	}
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() })
	c := newConn(b, server)
	topic, group, txnID := "t", "g", "tx"
	fill := func(r kmsg.Request) {
		switch r := r.(type) {
		case *kmsg.MetadataRequest:
			r.Topics = []kmsg.MetadataRequestTopic{{Topic: &topic}}
		case *kmsg.ProduceRequest:
			r.Acks, r.TransactionID = 1, &txnID
			r.Topics = []kmsg.ProduceRequestTopic{{Topic: topic, Partitions: []kmsg.ProduceRequestTopicPartition{{Records: []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 49, 0, 0, 0, 0, 2}}}}}
		case *kmsg.FetchRequest:
			r.Topics = []kmsg.FetchRequestTopic{{Topic: topic, Partitions: []kmsg.FetchRequestTopicPartition{{PartitionMaxBytes: 1000, CurrentLeaderEpoch: -1}}}}
		case *kmsg.ListOffsetsRequest:
			r.Topics = []kmsg.ListOffsetsRequestTopic{{Topic: topic, Partitions: []kmsg.ListOffsetsRequestTopicPartition{{Timestamp: -1, CurrentLeaderEpoch: -1}}}}
		case *kmsg.OffsetCommitRequest:
			r.Group = group
			r.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: topic, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0}}}}
		case *kmsg.OffsetFetchRequest:
			r.Group = group
			r.Groups = []kmsg.OffsetFetchRequestGroup{{Group: group}}
		case *kmsg.FindCoordinatorRequest:
			r.CoordinatorKey, r.CoordinatorKeys = group, []string{group, txnID}
		case *kmsg.JoinGroupRequest:
			r.Group, r.ProtocolType = group, "consumer"
		case *kmsg.HeartbeatRequest:
			r.Group = group
		case *kmsg.LeaveGroupRequest:
			r.Group = group
		case *kmsg.SyncGroupRequest:
			r.Group = group
		case *kmsg.DescribeGroupsRequest:
			r.Groups, r.IncludeAuthorizedOperations = []string{group, "h"}, true
		case *kmsg.DeleteGroupsRequest:
			r.Groups = []string{group}
		case *kmsg.OffsetDeleteRequest:
			r.Group = group
		case *kmsg.CreateTopicsRequest:
			r.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: "new", NumPartitions: 1, ReplicationFactor: 1}}
		case *kmsg.DeleteTopicsRequest:
			r.TopicNames = []string{topic}
			r.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: &topic}}
		case *kmsg.DeleteRecordsRequest:
			r.Topics = []kmsg.DeleteRecordsRequestTopic{{Topic: topic, Partitions: []kmsg.DeleteRecordsRequestTopicPartition{{Offset: -1}}}}
		case *kmsg.InitProducerIDRequest:
			r.TransactionalID = &txnID
		case *kmsg.AddPartitionsToTxnRequest:
			r.TransactionalID = txnID
			r.Topics = []kmsg.AddPartitionsToTxnRequestTopic{{Topic: topic, Partitions: []int32{0}}}
			r.Transactions = []kmsg.AddPartitionsToTxnRequestTransaction{{TransactionalID: txnID}}
		case *kmsg.AddOffsetsToTxnRequest:
			r.TransactionalID, r.Group = txnID, group
		case *kmsg.EndTxnRequest:
			r.TransactionalID = txnID
		case *kmsg.TxnOffsetCommitRequest:
			r.TransactionalID, r.Group = txnID, group
			r.Topics = []kmsg.TxnOffsetCommitRequestTopic{{Topic: topic, Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{{Partition: 0}}}}
		case *kmsg.WriteTxnMarkersRequest:
			r.Markers = []kmsg.WriteTxnMarkersRequestMarker{{Topics: []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: topic, Partitions: []int32{0}}}}}
		case *kmsg.DescribeConfigsRequest:
			r.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: topic}, {ResourceType: kmsg.ConfigResourceTypeBroker, ResourceName: "1"}}
		case *kmsg.CreatePartitionsRequest:
			r.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: topic, Count: 3}}
		case *kmsg.DescribeProducersRequest:
			r.Topics = []kmsg.DescribeProducersRequestTopic{{Topic: topic, Partitions: []int32{0}}}
		case *kmsg.DescribeTransactionsRequest:
			r.TransactionalIDs = []string{txnID}
		case *kmsg.DescribeTopicPartitionsRequest:
			r.Topics = []kmsg.DescribeTopicPartitionsRequestTopic{{Topic: topic}}
		case *kmsg.CreateACLsRequest:
			r.Creations = []kmsg.CreateACLsRequestCreation{{ResourceType: 2, ResourceName: topic, ResourcePatternType: 3, Principal: "User:x", Host: "*", Operation: 3, PermissionType: 3}}
		case *kmsg.DeleteACLsRequest:
			r.Filters = []kmsg.DeleteACLsRequestFilter{kmsg.NewDeleteACLsRequestFilter()}
		}
	}
	for _, k := range supportedKeys() {
		a := apiTable[k]
		for v := a.min; v <= a.max; v++ {
			frame := seedFrame(k, v, fill)
			p, err := c.handle(frame, 0)
			if err != nil {
				t.Fatalf("%s v%d: %v", kmsg.NameForKey(k), v, err)
			}
			select {
			case <-p.ready:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s v%d: no answer", kmsg.NameForKey(k), v)
			}
			if p.resp != nil {
				p.resp.AppendTo(nil)
			}
			switch r := p.resp.(type) {
			case *kmsg.MetadataResponse:
				if len(r.Topics) != 1 || r.Topics[0].ErrorCode != errTopicAuth {
					t.Errorf("Metadata v%d: %+v", v, r.Topics)
				}
			case *kmsg.ProduceResponse:
				if r.Topics[0].Partitions[0].ErrorCode != errTopicAuth && v < 13 { // v13+: by id, an unknown one
					t.Errorf("Produce v%d: %+v", v, r.Topics)
				}
			case *kmsg.EndTxnResponse:
				if r.ErrorCode != errTxnAuth {
					t.Errorf("EndTxn v%d: %d", v, r.ErrorCode)
				}
			case *kmsg.CreateACLsResponse:
				if r.Results[0].ErrorCode != errClusterAuth {
					t.Errorf("CreateAcls v%d: %d", v, r.Results[0].ErrorCode)
				}
			}
		}
	}
	if ops := b.authz.current().AuthorizedOperations(anonymous, "", acl.ResourceTopic, topic); ops != 0 {
		t.Fatalf("authorized operations %b", ops)
	}
}
