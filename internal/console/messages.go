package console

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxFetchRounds bounds the Fetch requests one browse sends (each reads
// at most what is left of maxBytes).
const maxFetchRounds = 8

// payload is a key, value or header value: its bytes in base64 and, when
// they are UTF-8, as text (the UI shows text, JSON or hex from these).
type payload struct {
	Null   bool    `json:"null,omitempty"`
	Size   int     `json:"size"`
	Base64 string  `json:"base64"`
	Text   *string `json:"text,omitempty"`
}

func toPayload(b []byte, null bool) payload {
	p := payload{Null: null, Size: len(b), Base64: base64.StdEncoding.EncodeToString(b)}
	if !null && utf8.Valid(b) {
		s := string(b)
		p.Text = &s
	}
	return p
}

type header struct {
	Key   string  `json:"key"`
	Value payload `json:"value"`
}

type message struct {
	Offset      int64    `json:"offset"`
	Timestamp   int64    `json:"timestamp"` // milliseconds
	LeaderEpoch int32    `json:"leaderEpoch"`
	Key         payload  `json:"key"`
	Value       payload  `json:"value"`
	Headers     []header `json:"headers"`
}

type browseResult struct {
	Topic       string    `json:"topic"`
	Partition   int32     `json:"partition"`
	StartOffset int64     `json:"startOffset"` // the log start
	EndOffset   int64     `json:"endOffset"`   // the high watermark
	From        int64     `json:"from"`        // where reading started
	Next        int64     `json:"next"`        // the offset after the last record returned
	Bytes       int       `json:"bytes"`       // record bytes the broker sent
	Records     []message `json:"records"`
}

// browse is GET /api/v1/topics/{topic}/messages: records of one partition
// from an offset, a timestamp, the beginning or the end (the last limit
// records), at most limit records (<= maxRecords) and about maxBytes bytes
// (<= maxFetchBytes) read from the broker.
func (c *Console) browse(ctx context.Context, s *session, r *http.Request) (any, error) {
	topic, err := pathTopic(r)
	if err != nil {
		return nil, err
	}
	p := query(r)
	part := int32(p.int("partition", 0, 0, maxPartitions))
	limit := int(p.int("limit", 20, 1, maxRecords))
	maxBytes := int32(p.int("maxBytes", maxFetchBytes, 1, maxFetchBytes))
	hasOffset, hasTime := p.has("offset"), p.has("timestamp")
	offset := p.int("offset", 0, 0, 1<<62)
	ts := p.int("timestamp", 0, 0, 1<<62)
	from := p.str("from")
	if err := p.done(); err != nil {
		return nil, err
	}
	n := 0
	for _, b := range []bool{hasOffset, hasTime, from != ""} {
		if b {
			n++
		}
	}
	if n > 1 {
		return nil, badRequest("give at most one of offset, timestamp and from")
	}
	if from != "" && from != "beginning" && from != "end" {
		return nil, badRequest("parameter from: %q is not beginning or end", from)
	}

	md, err := s.adm.Metadata(ctx, topic)
	if err != nil {
		return nil, err
	}
	td, ok := md.Topics[topic]
	if !ok {
		return nil, &httpError{http.StatusNotFound, "no topic " + topic}
	}
	if td.Err != nil {
		return nil, td.Err
	}
	pd, ok := td.Partitions[part]
	if !ok {
		return nil, &httpError{http.StatusNotFound, "topic " + topic + " has no partition " + itoa(int64(part))}
	}
	if pd.Leader < 0 {
		return nil, &httpError{http.StatusServiceUnavailable, "partition " + itoa(int64(part)) + " has no leader"}
	}
	starts, err := s.adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	ends, err := s.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	st, _ := starts.Lookup(topic, part)
	en, _ := ends.Lookup(topic, part)
	if st.Err != nil {
		return nil, st.Err
	}
	if en.Err != nil {
		return nil, en.Err
	}
	res := browseResult{Topic: topic, Partition: part, StartOffset: st.Offset, EndOffset: en.Offset, Records: []message{}}
	start := st.Offset
	switch {
	case hasOffset:
		start = max(offset, st.Offset)
	case hasTime:
		byTime, err := s.adm.ListOffsetsAfterMilli(ctx, ts, topic)
		if err != nil {
			return nil, err
		}
		o, _ := byTime.Lookup(topic, part)
		if o.Err != nil {
			return nil, o.Err
		}
		start = en.Offset
		if o.Offset >= 0 {
			start = o.Offset
		}
	case from == "end":
		start = max(en.Offset-int64(limit), st.Offset)
	}
	res.From, res.Next = start, start
	if start >= en.Offset {
		return res, nil
	}

	recs, first, next, n, err := readRecords(ctx, s, readSpec{topic: topic, id: td.ID, part: part, leader: pd.Leader,
		at: start, end: en.Offset, limit: limit, budget: maxBytes, minTS: tsOrNone(hasTime, ts)})
	if err != nil {
		return nil, err
	}
	res.From, res.Next, res.Bytes = first, next, n
	for _, r := range recs {
		res.Records = append(res.Records, toMessage(r))
	}
	return res, nil
}

func tsOrNone(has bool, ts int64) int64 {
	if has {
		return ts
	}
	return -1
}

// readSpec says what readRecords reads: records of one partition from at
// (before end), at most limit of them, about budget bytes, skipping
// records older than minTS (-1: none) before the first one kept.
type readSpec struct {
	topic   string
	id      [16]byte
	part    int32
	leader  int32
	at, end int64
	limit   int
	budget  int32
	minTS   int64
}

// readRecords sends Fetch requests to the partition's leader, at most
// maxFetchRounds of them and together asking for at most spec.budget
// bytes (the broker may exceed a request's limit by one batch, as Kafka).
// It returns the records, where reading really started (after skipped
// older records), the offset after the last record returned, and the bytes
// the broker sent.
func readRecords(ctx context.Context, s *session, spec readSpec) (recs []*kgo.Record, from, next int64, n int, err error) {
	broker := s.cl.Broker(int(spec.leader))
	budget := spec.budget
	at := spec.at
	from, next = at, at
	for round := 0; round < maxFetchRounds && len(recs) < spec.limit && budget > 0 && at < spec.end; round++ {
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID = -1
		req.MaxWaitMillis = 0
		req.MinBytes = 1
		req.MaxBytes = budget
		req.IsolationLevel = 0
		req.SessionEpoch = -1
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = spec.topic
		rt.TopicID = spec.id
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = spec.part
		rp.FetchOffset = at
		rp.CurrentLeaderEpoch = -1
		rp.LogStartOffset = -1
		rp.PartitionMaxBytes = budget
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		kresp, err := broker.Request(ctx, req)
		if err != nil {
			return nil, 0, 0, 0, err
		}
		resp := kresp.(*kmsg.FetchResponse)
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			return nil, 0, 0, 0, err
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			return nil, 0, 0, 0, errors.New("the broker answered a fetch for one partition with another shape")
		}
		fp := &resp.Topics[0].Partitions[0]
		if err := kerr.ErrorForCode(fp.ErrorCode); err != nil {
			return nil, 0, 0, 0, err
		}
		got := len(fp.RecordBatches)
		if got == 0 {
			break
		}
		n += got
		budget -= int32(min(got, int(budget)))
		parsed, _ := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{
			Offset: at, Topic: spec.topic, Partition: spec.part,
		}, fp, kgo.DefaultDecompressor(), nil)
		if parsed.Err != nil {
			return nil, 0, 0, 0, parsed.Err
		}
		step := at
		for _, rec := range parsed.Records {
			if rec.Offset < at {
				continue
			}
			step = rec.Offset + 1
			if len(recs) == 0 && spec.minTS >= 0 && rec.Timestamp.UnixMilli() < spec.minTS {
				// ListOffsets may answer a compressed batch's first
				// offset; the records before the time are skipped.
				from, next = step, step
				continue
			}
			if len(recs) < spec.limit {
				recs = append(recs, rec)
				next = step
			}
		}
		if step == at {
			// Only control records or aborted data came back: step past
			// them by the batches' own offsets.
			last := lastOffset(fp.RecordBatches)
			if last < at {
				break
			}
			step = last + 1
			if len(recs) == 0 {
				from = step
			}
			next = step
		}
		at = step
	}
	return recs, from, next, n, nil
}

func toMessage(r *kgo.Record) message {
	m := message{Offset: r.Offset, Timestamp: r.Timestamp.UnixMilli(), LeaderEpoch: r.LeaderEpoch,
		Key: toPayload(r.Key, r.Key == nil), Value: toPayload(r.Value, r.Value == nil), Headers: []header{}}
	if r.Timestamp.IsZero() {
		m.Timestamp = -1
	}
	for _, h := range r.Headers {
		m.Headers = append(m.Headers, header{Key: h.Key, Value: toPayload(h.Value, h.Value == nil)})
	}
	return m
}

// lastOffset is the last offset of the last whole v2 batch header in b
// (-1 if none), read from its base offset and last offset delta.
func lastOffset(b []byte) int64 {
	last := int64(-1)
	for len(b) >= 61 {
		base := int64(be64(b[0:8]))
		length := int(be32(b[8:12]))
		if length < 49 || 12+length > len(b) {
			break
		}
		last = base + int64(int32(be32(b[23:27])))
		b = b[12+length:]
	}
	return last
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
func be64(b []byte) uint64 { return uint64(be32(b[0:4]))<<32 | uint64(be32(b[4:8])) }
