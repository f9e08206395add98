package broker

// CreateTopics, key 19, v0-v7.
//   v1: validate_only, error messages.  v2: throttle.
//   v4: -1 partitions/replication factor take the broker defaults (KIP-464).
//   v5: flexible; configs, partition count and replication factor in the
//   response.  v7: topic ids in the response.
//   v6: THROTTLING_QUOTA_EXCEEDED (KIP-599).
// ACLs: CREATE on the cluster or on the topic (TOPIC_AUTHORIZATION_FAILED);
// the configs in the answer need DESCRIBE_CONFIGS on the topic.
// Quotas: each topic's partitions count against controller_mutation_rate
// (quota_mutation.go), strictly from v6.

import (
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

func handleCreateTopics(rc *reqCtx, req *kmsg.CreateTopicsRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	mq := rc.mutationQuota(req.Version >= 6)
	defer mq.done()
	seen := map[string]int{}
	for _, rt := range req.Topics {
		seen[rt.Topic]++
	}
	for _, rt := range req.Topics {
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic = rt.Topic
		if seen[rt.Topic] > 1 {
			st.ErrorCode = kerr.InvalidRequest.Code
			st.ErrorMessage = errMessage(fmt.Errorf("topic %q appears more than once in the request", rt.Topic))
			resp.Topics = append(resp.Topics, st)
			continue
		}
		if !rc.mayCreateTopic(rt.Topic) {
			msg := "Authorization failed."
			st.ErrorCode, st.ErrorMessage = errTopicAuth, &msg
			st.NumPartitions, st.ReplicationFactor = -1, -1
			resp.Topics = append(resp.Topics, st)
			continue
		}
		err := b.createTopic(rt, req.ValidateOnly, &st, mq)
		st.ErrorCode, st.ErrorMessage = errCode(err), errMessage(err)
		if err != nil {
			st.NumPartitions, st.ReplicationFactor = -1, -1
		} else if !rc.authorizeQuiet(acl.OpDescribeConfigs, acl.ResourceTopic, rt.Topic) {
			st.Configs, st.ConfigErrorCode = nil, errTopicAuth
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

func (b *Broker) createTopic(rt kmsg.CreateTopicsRequestTopic, validateOnly bool, st *kmsg.CreateTopicsResponseTopic, mq *mutationQuota) error {
	var assignment [][]int32
	if len(rt.ReplicaAssignment) > 0 {
		if rt.NumPartitions != -1 || rt.ReplicationFactor != -1 {
			return fmt.Errorf("%w: both numPartitions or replicationFactor and replicasAssignments were set; with an assignment both must be -1", kerr.InvalidRequest)
		}
		assignment = make([][]int32, len(rt.ReplicaAssignment))
		for _, ra := range rt.ReplicaAssignment {
			if ra.Partition < 0 || int(ra.Partition) >= len(assignment) || assignment[ra.Partition] != nil {
				return fmt.Errorf("%w: partitions of a replica assignment must be 0 to %d, each once", kerr.InvalidReplicaAssignment, len(assignment)-1)
			}
			assignment[ra.Partition] = append([]int32{}, ra.Replicas...)
		}
	}
	overrides := map[string]string{}
	for _, c := range rt.Configs {
		if c.Value == nil {
			return fmt.Errorf("%w: config %q has a null value", config.ErrInvalid, c.Name)
		}
		overrides[c.Name] = *c.Value
	}
	if err := config.CheckTopic(overrides); err != nil {
		return err
	}
	ct := metadata.CreateTopic{Name: rt.Topic, Partitions: rt.NumPartitions, ReplicationFactor: rt.ReplicationFactor, Configs: overrides, Assignment: assignment}
	cfg := b.config(b.meta.Image())
	if assignment != nil {
		ct.Partitions, ct.ReplicationFactor = int32(len(assignment)), int16(len(assignment[0]))
	}
	if ct.Partitions == -1 {
		ct.Partitions = cfg.NumPartitions
	}
	if ct.ReplicationFactor == -1 {
		ct.ReplicationFactor = cfg.DefaultReplicationFactor
	}
	im, err := b.meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
		recs, err := metadata.CreateTopicRecords(im, ct, b.cfg.NodeID)
		if err == nil {
			err = b.checkSpaceFor(recs)
		}
		if validateOnly {
			return nil, err
		}
		if err == nil {
			// After the topic's own checks, as Kafka's controller applies it.
			err = mq.admit()
		}
		return recs, err
	})
	if err != nil {
		return err
	}
	if !validateOnly {
		mq.record(int(ct.Partitions))
	}
	st.NumPartitions, st.ReplicationFactor = ct.Partitions, ct.ReplicationFactor
	if t, ok := im.Topic(rt.Topic); ok {
		st.TopicID = t.ID
	}
	st.Configs = describeTopicConfigs(b.config(im), rt.Topic, overrides)
	if !validateOnly {
		b.logger.Info("created topic", "topic", rt.Topic, "partitions", ct.Partitions)
	}
	return nil
}

// checkSpaceFor refuses new partitions this broker would host if they
// would take its log dir below log.dir.min.free.bytes (KAFKA_STORAGE_ERROR
// naming the space; nothing is created). Only this broker's own share is
// checked: the others are not asked (Kafka checks no broker's space).
func (b *Broker) checkSpaceFor(recs []metadata.Record) error {
	n := 0
	for _, r := range recs {
		if r.Partition != nil && slices.Contains(r.Partition.Replicas, b.cfg.NodeID) {
			n++
		}
	}
	return b.parts.CheckSpaceFor(n)
}

// describeTopicConfigs lists a topic's effective configs for the
// CreateTopics v5+ response.
func describeTopicConfigs(cfg *config.Config, topic string, overrides map[string]string) []kmsg.CreateTopicsResponseTopicConfig {
	var out []kmsg.CreateTopicsResponseTopicConfig
	for _, name := range sortedTopicKeys() {
		v, isOverride := cfg.TopicValue(overrides, name)
		c := kmsg.NewCreateTopicsResponseTopicConfig()
		c.Name, c.Value = name, &v
		c.Source = int8(kmsg.ConfigSourceDefaultConfig)
		syn := config.BrokerSynonym(name)
		switch {
		case isOverride:
			c.Source = int8(kmsg.ConfigSourceDynamicTopicConfig)
		case syn != "" && cfg.IsDynamic(syn):
			c.Source = int8(dynamicSource(cfg, syn))
		case syn != "" && cfg.IsSet(syn):
			c.Source = int8(kmsg.ConfigSourceStaticBrokerConfig)
		}
		out = append(out, c)
	}
	return out
}
