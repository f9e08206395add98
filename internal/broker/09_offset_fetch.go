package broker

// OffsetFetch, key 9, v0-v10.
//   v1: offsets from __consumer_offsets (v0 read ZooKeeper in old Kafka;
//   Samsa answers both the same).  v2: a null topic list fetches every
//   committed offset; top-level error code.  v3: throttle time.
//   v5: leader epoch.  v6: flexible.  v7: require_stable (KIP-447).
//   v8: several groups per request.  v9: member id and epoch for KIP-848
//   groups (not checked for classic groups).  v10: topics by id.
// ACLs: DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED) and on each
// topic: a named topic without it is TOPIC_AUTHORIZATION_FAILED, an
// all-topics answer leaves it out (authorize_group.go).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/coordinator/group"
)

func handleOffsetFetch(rc *reqCtx, req *kmsg.OffsetFetchRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if req.Version < 8 {
		var topics []group.FetchTopic
		if req.Topics != nil || req.Version < 2 {
			topics = []group.FetchTopic{}
			for _, t := range req.Topics {
				topics = append(topics, group.FetchTopic{Topic: t.Topic, Partitions: t.Partitions})
			}
		}
		offsets, code := fetchOffsets(rc, req.Group, topics, req.RequireStable)
		if code != 0 {
			resp.ErrorCode = code
			if req.Version < 2 {
				// No top-level error before v2: report it per partition.
				offsets = nil
				for _, t := range req.Topics {
					for _, p := range t.Partitions {
						offsets = append(offsets, group.FetchedOffset{Topic: t.Topic, Partition: p, Offset: -1, LeaderEpoch: -1, ErrorCode: code})
					}
				}
			}
		}
		for _, o := range offsets {
			if n := len(resp.Topics); n == 0 || resp.Topics[n-1].Topic != o.Topic {
				t := kmsg.NewOffsetFetchResponseTopic()
				t.Topic = o.Topic
				resp.Topics = append(resp.Topics, t)
			}
			rp := kmsg.NewOffsetFetchResponseTopicPartition()
			meta := o.Metadata
			rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata, rp.ErrorCode = o.Partition, o.Offset, o.LeaderEpoch, &meta, o.ErrorCode
			t := &resp.Topics[len(resp.Topics)-1]
			t.Partitions = append(t.Partitions, rp)
		}
		return resp
	}
	im := b.meta.Image()
	for _, rg := range req.Groups {
		g := kmsg.NewOffsetFetchResponseGroup()
		g.Group = rg.Group
		var topics []group.FetchTopic
		ids := map[string][16]byte{}
		var unknown []kmsg.OffsetFetchResponseGroupTopic
		if rg.Topics != nil {
			topics = []group.FetchTopic{}
			for _, t := range rg.Topics {
				name := t.Topic
				if req.Version >= 10 {
					tt, ok := im.TopicByID(t.TopicID)
					if !ok {
						ut := kmsg.NewOffsetFetchResponseGroupTopic()
						ut.TopicID = t.TopicID
						for _, p := range t.Partitions {
							up := kmsg.NewOffsetFetchResponseGroupTopicPartition()
							up.Partition, up.Offset, up.LeaderEpoch, up.ErrorCode = p, -1, -1, kerr.UnknownTopicID.Code
							ut.Partitions = append(ut.Partitions, up)
						}
						unknown = append(unknown, ut)
						continue
					}
					name = tt.Name
				}
				ids[name] = t.TopicID
				topics = append(topics, group.FetchTopic{Topic: name, Partitions: t.Partitions})
			}
		}
		offsets, code := fetchOffsets(rc, rg.Group, topics, req.RequireStable)
		g.ErrorCode = code
		for _, o := range offsets {
			if n := len(g.Topics); n == 0 || g.Topics[n-1].Topic != o.Topic {
				t := kmsg.NewOffsetFetchResponseGroupTopic()
				t.Topic = o.Topic
				if id, ok := ids[o.Topic]; ok {
					t.TopicID = id
				} else if tt, ok := im.Topic(o.Topic); ok {
					t.TopicID = tt.ID
				}
				g.Topics = append(g.Topics, t)
			}
			rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
			meta := o.Metadata
			rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata, rp.ErrorCode = o.Partition, o.Offset, o.LeaderEpoch, &meta, o.ErrorCode
			t := &g.Topics[len(g.Topics)-1]
			t.Partitions = append(t.Partitions, rp)
		}
		g.Topics = append(g.Topics, unknown...)
		resp.Groups = append(resp.Groups, g)
	}
	return resp
}
