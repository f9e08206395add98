package broker

// DescribeTopicPartitions, key 75, v0 (Kafka 3.7+; KIP-966).
//   v0: topics by name (none: every topic), a partition limit per response
//   and a cursor to page through large topics.
// Kafka's admin client uses it for describeTopics when the broker offers
// it (kafka-topics.sh --describe). The partitions are Metadata's (leader,
// epoch, replicas, ISR, offline replicas: 03_metadata.go); eligible leader
// replicas (KIP-966's ELR) do not exist in Samsa, so both ELR lists are
// empty. As in Kafka, topics are answered in name order, a partition has
// no error code of its own, a named topic that does not exist gets
// UNKNOWN_TOPIC_OR_PARTITION (INVALID_TOPIC_EXCEPTION for an invalid name)
// and a zero topic id, and a cursor naming a topic outside a non-empty
// topic list is an INVALID_REQUEST for every topic asked for.
// ACLs: DESCRIBE on each topic: left out of an all-topics answer,
// TOPIC_AUTHORIZATION_FAILED when named.

import (
	"fmt"
	"slices"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

// maxDescribePartitions caps the partitions of one response whatever the
// client asks: Kafka's max.request.partition.size.limit default.
const maxDescribePartitions = 2000

func handleDescribeTopicPartitions(rc *reqCtx, req *kmsg.DescribeTopicPartitionsRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.DescribeTopicPartitionsResponse)
	im := b.meta.Image()
	all := len(req.Topics) == 0
	cursorTopic, cursorPartition := "", int32(0)
	if req.Cursor != nil {
		cursorTopic, cursorPartition = req.Cursor.Topic, max(req.Cursor.Partition, 0)
	}
	var names []string
	if all {
		names = im.TopicNames()
	} else {
		seen := map[string]bool{}
		for _, t := range req.Topics {
			if !seen[t.Topic] {
				seen[t.Topic] = true
				names = append(names, t.Topic)
			}
		}
		if req.Cursor != nil && !seen[cursorTopic] {
			err := fmt.Errorf("%w: the topic list does not contain the cursor's topic %q", kerr.InvalidRequest, cursorTopic)
			for _, name := range names {
				rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
				rt.Topic, rt.ErrorCode = &name, errCode(err)
				resp.Topics = append(resp.Topics, rt)
			}
			return resp
		}
		sort.Strings(names)
	}
	remaining := min(int32(maxDescribePartitions), req.ResponsePartitionLimit)
	for _, name := range names {
		if name < cursorTopic {
			continue
		}
		if remaining == 0 {
			// The next page starts at this topic; the previous topics
			// were answered in full.
			resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: name}
			break
		}
		if remaining < 0 {
			break
		}
		if !describeTopicAllowed(rc, name, all) {
			if !all { // named: refused; all topics: left out
				rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
				rt.Topic, rt.ErrorCode = &name, errTopicAuth
				resp.Topics = append(resp.Topics, rt)
			}
			continue
		}
		t, ok := im.Topic(name)
		if !ok {
			if !all {
				resp.Topics = append(resp.Topics, unknownDescribedTopic(name))
			}
			continue
		}
		start := int32(0)
		if name == cursorTopic {
			start = cursorPartition
		}
		rt, next := describeTopicPartitions(b, t, start, remaining)
		rt.AuthorizedOperations = rc.authorizedOperations(acl.ResourceTopic, name)
		resp.Topics = append(resp.Topics, rt)
		if next >= 0 {
			resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: name, Partition: next}
			break
		}
		remaining -= int32(len(rt.Partitions))
	}
	return resp
}

// describeTopicPartitions answers partitions [start, start+limit) of t,
// and the first partition left out (-1 if none).
func describeTopicPartitions(b *Broker, t *metadata.Topic, start, limit int32) (kmsg.DescribeTopicPartitionsResponseTopic, int32) {
	md := topicMetadata(b, t, nil)
	rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
	rt.Topic, rt.TopicID, rt.IsInternal = md.Topic, md.TopicID, md.IsInternal
	count := int32(len(md.Partitions))
	end := count
	if start < count && limit < count-start {
		end = start + limit
	}
	for i := start; i < end; i++ {
		mp := md.Partitions[i]
		rp := kmsg.NewDescribeTopicPartitionsResponseTopicPartition()
		rp.Partition, rp.LeaderID, rp.LeaderEpoch = mp.Partition, mp.Leader, mp.LeaderEpoch
		rp.Replicas, rp.ISR, rp.OfflineReplicas = mp.Replicas, mp.ISR, mp.OfflineReplicas
		// Empty, not null: both are nullable on the wire, and Kafka's admin
		// client reads a null one as an error (a NullPointerException in
		// kafka-topics.sh --describe).
		rp.EligibleLeaderReplicas, rp.LastKnownELR = []int32{}, []int32{}
		if int(i) < len(t.Partitions) && len(t.Partitions[i].ELR) > 0 {
			rp.EligibleLeaderReplicas = slices.Clone(t.Partitions[i].ELR)
		}
		rt.Partitions = append(rt.Partitions, rp)
	}
	if end < count {
		return rt, end
	}
	return rt, -1
}

// unknownDescribedTopic is the answer for a named topic that does not
// exist.
func unknownDescribedTopic(name string) kmsg.DescribeTopicPartitionsResponseTopic {
	rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
	rt.Topic, rt.IsInternal = &name, metadata.IsInternal(name)
	rt.ErrorCode = kerr.UnknownTopicOrPartition.Code
	if err := metadata.ValidateTopicName(name); err != nil {
		rt.ErrorCode = errCode(err)
	}
	return rt
}
