package broker

// DeleteTopics, key 20, v0-v6.
//   v1: throttle.  v4: flexible.  v5: error messages.
//   v6: topics by name or id.
//   v5 also: THROTTLING_QUOTA_EXCEEDED (KIP-599).
// ACLs (as Kafka's controller): DELETE on the cluster, or else DESCRIBE and
// DELETE on the topic (TOPIC_AUTHORIZATION_FAILED; a topic named by id
// without DESCRIBE is answered without its name).
// Quotas: the partitions deleted count against controller_mutation_rate
// (quota_mutation.go), strictly from v5.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
)

func handleDeleteTopics(rc *reqCtx, req *kmsg.DeleteTopicsRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	mq := rc.mutationQuota(req.Version >= 5)
	defer mq.done()
	type target struct {
		name *string
		id   [16]byte
	}
	var targets []target
	if req.Version >= 6 {
		for _, t := range req.Topics {
			targets = append(targets, target{t.Topic, t.TopicID})
		}
	} else {
		for i := range req.TopicNames {
			targets = append(targets, target{&req.TopicNames[i], [16]byte{}})
		}
	}
	for _, t := range targets {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID = t.name, t.id
		if code := deleteTopicDenied(rc, &st, t.name, t.id); code != 0 {
			st.ErrorCode = code
			resp.Topics = append(resp.Topics, st)
			continue
		}
		st.ErrorCode = deleteTopic(b, &st, t.name, t.id, mq)
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

func deleteTopic(b *Broker, st *kmsg.DeleteTopicsResponseTopic, name *string, id [16]byte, mq *mutationQuota) int16 {
	im := b.meta.Image()
	if !b.config(im).DeleteTopicEnable {
		return kerr.TopicDeletionDisabled.Code
	}
	var t *metadata.Topic
	var ok bool
	if name != nil && *name != "" {
		t, ok = im.Topic(*name)
	} else {
		if t, ok = im.TopicByID(id); !ok {
			return kerr.UnknownTopicID.Code
		}
	}
	if !ok {
		return kerr.UnknownTopicOrPartition.Code
	}
	topic := t.Name
	st.Topic, st.TopicID = &topic, t.ID
	partitions := 0
	_, err := b.meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
		recs, err := metadata.DeleteTopicRecords(im, topic)
		if err == nil {
			err = mq.admit()
		}
		if t, ok := im.Topic(topic); ok {
			partitions = len(t.Partitions)
		}
		return recs, err
	})
	if err == nil {
		mq.record(partitions)
		b.logger.Info("deleted topic", "topic", topic)
	}
	st.ErrorMessage = errMessage(err)
	return errCode(err)
}
