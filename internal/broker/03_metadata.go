package broker

// Metadata, key 3, v0-v13.
//   v0: an empty topic array means all topics (v1+: null means all).
//   v1: controller id, rack, internal flag.  v2: cluster id.
//   v4: allow_auto_topic_creation.  v5: offline replicas.
//   v7: leader epoch.  v8-v10: authorized operations; topic ids (v10).
//   v9: flexible.  v11: cluster authorized operations removed.
//   v12: topics may be requested by id.  v13: top-level error code.
// ACLs: DESCRIBE on a topic; topics without it are left out of an
// all-topics answer and answered TOPIC_AUTHORIZATION_FAILED when named
// (whether they exist or not). Auto-creation needs CREATE on the cluster
// or on the topic. Authorized operations (v8+) as Kafka computes them.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

func handleMetadata(rc *reqCtx, req *kmsg.MetadataRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	clusterID := b.clusterID()
	resp.ClusterID = &clusterID
	im := b.meta.Image()
	resp.ControllerID = b.controllerID()
	for _, br := range b.brokersFor(im, rc.c.listener.Name) {
		mb := kmsg.NewMetadataResponseBroker()
		mb.NodeID, mb.Host, mb.Port = br.ID, br.Host, br.Port
		if br.Rack != "" {
			rack := br.Rack
			mb.Rack = &rack
		}
		resp.Brokers = append(resp.Brokers, mb)
	}
	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if all {
		for _, name := range im.TopicNames() {
			if !rc.authorizeQuiet(acl.OpDescribe, acl.ResourceTopic, name) {
				continue // not disclosed
			}
			t, _ := im.Topic(name)
			resp.Topics = append(resp.Topics, topicMetadata(b, t, nil))
		}
		return metadataAuthorizedOps(rc, req, resp)
	}
	autoCreate := b.config(im).AutoCreateTopics && (req.Version < 4 || req.AllowAutoTopicCreation)
	for _, rt := range req.Topics {
		var t *metadata.Topic
		var ok bool
		switch {
		case rt.Topic != nil && *rt.Topic != "":
			if !rc.authorize(acl.OpDescribe, acl.ResourceTopic, *rt.Topic) {
				resp.Topics = append(resp.Topics, errTopic(kmsg.MetadataRequestTopic{Topic: rt.Topic}, errTopicAuth))
				continue
			}
			t, ok = im.Topic(*rt.Topic)
			if !ok && autoCreate && !rc.mayCreateTopic(*rt.Topic) {
				resp.Topics = append(resp.Topics, errTopic(kmsg.MetadataRequestTopic{Topic: rt.Topic}, errTopicAuth))
				continue
			}
			if !ok && autoCreate {
				var err error
				im, err = b.autoCreate(*rt.Topic)
				if err != nil {
					resp.Topics = append(resp.Topics, errTopic(rt, errCode(err)))
					continue
				}
				t, ok = im.Topic(*rt.Topic)
			}
		case rt.TopicID != [16]byte{}:
			t, ok = im.TopicByID(rt.TopicID)
			if !ok {
				resp.Topics = append(resp.Topics, errTopic(rt, kerr.UnknownTopicID.Code))
				continue
			}
			if !rc.authorize(acl.OpDescribe, acl.ResourceTopic, t.Name) {
				// A topic id is not secret, its name is.
				resp.Topics = append(resp.Topics, errTopic(kmsg.MetadataRequestTopic{TopicID: rt.TopicID}, errTopicAuth))
				continue
			}
		}
		if !ok {
			code := kerr.UnknownTopicOrPartition.Code
			if rt.Topic != nil && metadata.ValidateTopicName(*rt.Topic) != nil {
				code = kerr.InvalidTopicException.Code
			}
			resp.Topics = append(resp.Topics, errTopic(rt, code))
			continue
		}
		resp.Topics = append(resp.Topics, topicMetadata(b, t, nil))
	}
	return metadataAuthorizedOps(rc, req, resp)
}

func errTopic(rt kmsg.MetadataRequestTopic, code int16) kmsg.MetadataResponseTopic {
	t := kmsg.NewMetadataResponseTopic()
	t.Topic, t.TopicID, t.ErrorCode = rt.Topic, rt.TopicID, code
	return t
}

func topicMetadata(b *Broker, t *metadata.Topic, _ []int32) kmsg.MetadataResponseTopic {
	im := b.meta.Image()
	rt := kmsg.NewMetadataResponseTopic()
	name := t.Name
	rt.Topic, rt.TopicID, rt.IsInternal = &name, t.ID, metadata.IsInternal(t.Name)
	for i, p := range t.Partitions {
		rp := kmsg.NewMetadataResponseTopicPartition()
		rp.Partition, rp.Leader, rp.LeaderEpoch = int32(i), p.Leader, p.LeaderEpoch
		rp.Replicas, rp.ISR = p.Replicas, p.ISR
		for _, r := range p.Replicas {
			if br, ok := im.Broker(r); !ok || br.Fenced {
				rp.OfflineReplicas = append(rp.OfflineReplicas, r)
			}
		}
		switch _, hosted := b.parts.Get(t.Name, int32(i)); {
		case p.Leader < 0:
			rp.ErrorCode = kerr.LeaderNotAvailable.Code
		case !hosted && p.Leader == b.cfg.NodeID:
			rp.ErrorCode = kerr.LeaderNotAvailable.Code
		}
		rt.Partitions = append(rt.Partitions, rp)
	}
	return rt
}

// autoCreate creates a topic with the broker defaults, as a Metadata
// request with auto-creation allowed does in Kafka.
func (b *Broker) autoCreate(name string) (*metadata.Image, error) {
	if err := metadata.ValidateTopicName(name); err != nil {
		return nil, err
	}
	if metadata.IsInternal(name) {
		return nil, metadata.ErrReservedTopic
	}
	var partitions int32
	im, err := b.meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
		if _, ok := im.Topic(name); ok {
			return nil, nil // created meanwhile
		}
		cfg := b.config(im)
		partitions = cfg.NumPartitions
		return metadata.CreateTopicRecords(im, metadata.CreateTopic{
			Name: name, Partitions: cfg.NumPartitions, ReplicationFactor: cfg.DefaultReplicationFactor,
		}, b.cfg.NodeID)
	})
	if err == nil && partitions > 0 {
		b.logger.Info("auto-created topic", "topic", name, "partitions", partitions)
	}
	return im, err
}

func (b *Broker) clusterID() string { return b.cfg.ClusterID }
