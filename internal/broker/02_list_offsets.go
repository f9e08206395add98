package broker

// ListOffsets, key 2, v0-v11.
//   v0: max_num_offsets, old offsets array.  v1: one offset and timestamp.
//   v2: isolation level.  v4: current leader epoch, leader epoch in answer.
//   v6: flexible.  v7: max timestamp (-3, KIP-734).
//   v8: local log start (-4, KIP-405).  v9: last tiered offset (-5).
//   v10: timeout.  v11: earliest pending upload (-6).
// Special timestamps: -2 earliest, -1 latest, -3 max timestamp, -4 local
// log start (= earliest: nothing is tiered), -5 last tiered (-1: none).
// ACLs: DESCRIBE on each topic (TOPIC_AUTHORIZATION_FAILED).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
)

func handleListOffsets(rc *reqCtx, req *kmsg.ListOffsetsRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	ta := rc.topicAuthorizer(acl.OpDescribe)
	for _, rt := range req.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		allowed := ta.allowed(rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			if !allowed {
				sp.ErrorCode, sp.Timestamp, sp.Offset = errTopicAuth, -1, -1
				if req.Version == 0 {
					sp.OldStyleOffsets = []int64{}
				}
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			listOffset(b, rt.Topic, rp, &sp, req.Version, req.Version >= 2 && req.IsolationLevel == 1)
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// listOffset answers one partition; a read_committed request sees the
// log up to the last stable offset instead of the high watermark.
func listOffset(b *Broker, topic string, rp kmsg.ListOffsetsRequestTopicPartition, sp *kmsg.ListOffsetsResponseTopicPartition, version int16, committed bool) {
	sp.Timestamp, sp.Offset = -1, -1
	part, code := b.leaderFor(b.meta.Image(), topic, rp.Partition)
	if code != 0 {
		sp.ErrorCode = code
		return
	}
	if err := part.CheckEpoch(rp.CurrentLeaderEpoch); err != nil {
		sp.ErrorCode = errCode(err)
		return
	}
	log := part.Log()
	sp.LeaderEpoch = part.LeaderEpoch()
	visible := part.HighWatermark
	if committed {
		visible = part.LastStableOffset
	}
	switch rp.Timestamp {
	case -2, -4: // earliest, earliest local
		sp.Offset = log.LogStartOffset()
	case -1: // latest: the high watermark (or LSO), as consumers see it
		sp.Offset = visible()
	case -3: // max timestamp
		ts, off := log.MaxTimestamp()
		if off >= 0 && off < visible() {
			sp.Timestamp, sp.Offset = ts, off
		}
	case -5, -6: // nothing is tiered
	default:
		if rp.Timestamp < 0 {
			sp.ErrorCode = kerr.InvalidRequest.Code
			return
		}
		if off, ts, ok := log.OffsetForTimestamp(rp.Timestamp); ok && off < visible() {
			sp.Timestamp, sp.Offset = ts, off
		}
	}
	if version == 0 {
		sp.OldStyleOffsets = []int64{}
		if sp.Offset >= 0 && rp.MaxNumOffsets > 0 {
			sp.OldStyleOffsets = []int64{sp.Offset}
		}
	}
}
