package console

import (
	"context"
	"encoding/base64"
	"net/http"
	"sort"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// topicID is a topic id as Kafka prints it (URL-safe base64, no padding).
func topicID(id [16]byte) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

type topicSummary struct {
	Name              string `json:"name"`
	Internal          bool   `json:"internal"`
	Partitions        int    `json:"partitions"`
	ReplicationFactor int    `json:"replicationFactor"`
	UnderReplicated   int    `json:"underReplicated"`
	Offline           int    `json:"offline"`
	Records           int64  `json:"records"`   // end minus start offsets, summed
	SizeBytes         int64  `json:"sizeBytes"` // every replica's bytes on disk
	Error             string `json:"error,omitempty"`
}

// listTopics is GET /api/v1/topics: every topic the user may describe.
func (c *Console) listTopics(ctx context.Context, s *session, r *http.Request) (any, error) {
	p := query(r)
	internal := p.str("internal")
	if err := p.done(); err != nil {
		return nil, err
	}
	if internal != "" && internal != "true" && internal != "false" {
		return nil, badRequest("parameter internal: %q is not true or false", internal)
	}
	var (
		td  kadm.TopicDetails
		err error
	)
	if internal == "true" {
		td, err = s.adm.ListTopicsWithInternal(ctx)
	} else {
		td, err = s.adm.ListTopics(ctx)
	}
	if err != nil {
		return nil, err
	}
	names := td.Names()
	starts, _ := s.adm.ListStartOffsets(ctx, names...)
	ends, _ := s.adm.ListEndOffsets(ctx, names...)
	sizes := topicSizes(ctx, s, td)
	out := []topicSummary{}
	for _, t := range td.Sorted() {
		ts := topicSummary{Name: t.Topic, Internal: t.IsInternal, Partitions: len(t.Partitions)}
		if t.Err != nil {
			ts.Error = t.Err.Error()
		}
		for _, pd := range t.Partitions {
			if len(pd.Replicas) > ts.ReplicationFactor {
				ts.ReplicationFactor = len(pd.Replicas)
			}
			if len(pd.ISR) < len(pd.Replicas) {
				ts.UnderReplicated++
			}
			if pd.Leader < 0 {
				ts.Offline++
			}
			st, ok1 := starts.Lookup(t.Topic, pd.Partition)
			en, ok2 := ends.Lookup(t.Topic, pd.Partition)
			if ok1 && ok2 && st.Err == nil && en.Err == nil && en.Offset > st.Offset {
				ts.Records += en.Offset - st.Offset
			}
		}
		for _, sz := range sizes[t.Topic] {
			ts.SizeBytes += sz.total
		}
		out = append(out, ts)
	}
	return out, nil
}

// partSize is a partition's bytes: on its leader and summed over replicas.
type partSize struct{ leader, total int64 }

// topicSizes describes every broker's log directories for the topics.
func topicSizes(ctx context.Context, s *session, td kadm.TopicDetails) map[string]map[int32]partSize {
	out := map[string]map[int32]partSize{}
	if len(td) == 0 {
		return out
	}
	leaders := map[string]map[int32]int32{}
	set := kadm.TopicsSet{}
	for _, t := range td {
		leaders[t.Topic] = map[int32]int32{}
		for _, p := range t.Partitions {
			leaders[t.Topic][p.Partition] = p.Leader
			set.Add(t.Topic, p.Partition)
		}
	}
	dirs, err := s.adm.DescribeAllLogDirs(ctx, set)
	if err != nil {
		return out
	}
	dirs.Each(func(d kadm.DescribedLogDir) {
		d.Topics.Each(func(p kadm.DescribedLogDirPartition) {
			if out[p.Topic] == nil {
				out[p.Topic] = map[int32]partSize{}
			}
			ps := out[p.Topic][p.Partition]
			ps.total += p.Size
			if leaders[p.Topic][p.Partition] == p.Broker {
				ps.leader = p.Size
			}
			out[p.Topic][p.Partition] = ps
		})
	})
	return out
}

type partitionInfo struct {
	Partition   int32   `json:"partition"`
	Leader      int32   `json:"leader"`
	LeaderEpoch int32   `json:"leaderEpoch"`
	Replicas    []int32 `json:"replicas"`
	ISR         []int32 `json:"isr"`
	StartOffset int64   `json:"startOffset"`
	EndOffset   int64   `json:"endOffset"`
	SizeBytes   int64   `json:"sizeBytes"` // on the leader
	Error       string  `json:"error,omitempty"`
}

type configInfo struct {
	Name      string  `json:"name"`
	Value     *string `json:"value"`
	Source    string  `json:"source"`
	Sensitive bool    `json:"sensitive"`
}

type topicInfo struct {
	Name       string          `json:"name"`
	ID         string          `json:"id"`
	Internal   bool            `json:"internal"`
	Partitions []partitionInfo `json:"partitions"`
	Configs    []configInfo    `json:"configs"`
	SizeBytes  int64           `json:"sizeBytes"`
	Records    int64           `json:"records"`
}

// getTopic is GET /api/v1/topics/{topic}: partitions and configs.
func (c *Console) getTopic(ctx context.Context, s *session, r *http.Request) (any, error) {
	topic, err := pathTopic(r)
	if err != nil {
		return nil, err
	}
	if err := noParams(r); err != nil {
		return nil, err
	}
	td, err := s.adm.ListTopicsWithInternal(ctx, topic)
	if err != nil {
		return nil, err
	}
	t, ok := td[topic]
	if !ok {
		return nil, &httpError{http.StatusNotFound, "no topic " + topic}
	}
	if t.Err != nil {
		return nil, t.Err
	}
	out := topicInfo{Name: topic, ID: topicID(t.ID), Internal: t.IsInternal, Partitions: []partitionInfo{}, Configs: []configInfo{}}
	starts, _ := s.adm.ListStartOffsets(ctx, topic)
	ends, _ := s.adm.ListEndOffsets(ctx, topic)
	sizes := topicSizes(ctx, s, td)[topic]
	for _, pd := range t.Partitions.Sorted() {
		pi := partitionInfo{Partition: pd.Partition, Leader: pd.Leader, LeaderEpoch: pd.LeaderEpoch,
			Replicas: nonNil(pd.Replicas), ISR: nonNil(pd.ISR), StartOffset: -1, EndOffset: -1, SizeBytes: sizes[pd.Partition].leader}
		if pd.Err != nil {
			pi.Error = pd.Err.Error()
		}
		if o, ok := starts.Lookup(topic, pd.Partition); ok && o.Err == nil {
			pi.StartOffset = o.Offset
		}
		if o, ok := ends.Lookup(topic, pd.Partition); ok && o.Err == nil {
			pi.EndOffset = o.Offset
		}
		if pi.EndOffset > pi.StartOffset && pi.StartOffset >= 0 {
			out.Records += pi.EndOffset - pi.StartOffset
		}
		out.SizeBytes += pi.SizeBytes
		out.Partitions = append(out.Partitions, pi)
	}
	cfgs, err := s.adm.DescribeTopicConfigs(ctx, topic)
	if err == nil && len(cfgs) == 1 && cfgs[0].Err == nil {
		for _, cf := range cfgs[0].Configs {
			out.Configs = append(out.Configs, configInfo{Name: cf.Key, Value: cf.Value, Source: configSource(cf.Source), Sensitive: cf.Sensitive})
		}
		sort.Slice(out.Configs, func(i, j int) bool { return out.Configs[i].Name < out.Configs[j].Name })
	}
	return out, nil
}

func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}

func configSource(s kmsg.ConfigSource) string {
	switch s {
	case kmsg.ConfigSourceDynamicTopicConfig:
		return "topic"
	case kmsg.ConfigSourceDynamicBrokerConfig, kmsg.ConfigSourceDynamicDefaultBrokerConfig, kmsg.ConfigSourceStaticBrokerConfig:
		return "broker"
	case kmsg.ConfigSourceDefaultConfig:
		return "default"
	}
	return s.String()
}

// Bounds on what a create or alter may ask for.
const (
	maxPartitions  = 10000
	maxConfigOps   = 200
	maxConfigBytes = 1 << 14
)

type createTopicBody struct {
	Name              string            `json:"name"`
	Partitions        *int32            `json:"partitions"`
	ReplicationFactor *int16            `json:"replicationFactor"`
	Configs           map[string]string `json:"configs"`
}

// createTopic is POST /api/v1/topics.
func (c *Console) createTopic(ctx context.Context, s *session, r *http.Request) (any, error) {
	if err := noParams(r); err != nil {
		return nil, err
	}
	var b createTopicBody
	if err := readBody(r, &b); err != nil {
		return nil, err
	}
	if b.Name == "." || b.Name == ".." || !topicName.MatchString(b.Name) {
		return nil, badRequest("invalid topic name %q: 1 to 249 of a-z A-Z 0-9 . _ -", b.Name)
	}
	parts, rf := int32(-1), int16(-1) // the broker's defaults
	if b.Partitions != nil {
		if *b.Partitions < 1 || *b.Partitions > maxPartitions {
			return nil, badRequest("partitions: %d is out of range [1, %d]", *b.Partitions, maxPartitions)
		}
		parts = *b.Partitions
	}
	if b.ReplicationFactor != nil {
		if *b.ReplicationFactor < 1 {
			return nil, badRequest("replicationFactor: %d must be at least 1", *b.ReplicationFactor)
		}
		rf = *b.ReplicationFactor
	}
	if err := checkConfigs(b.Configs, nil); err != nil {
		return nil, err
	}
	configs := map[string]*string{}
	for k, v := range b.Configs {
		configs[k] = &v
	}
	resp, err := s.adm.CreateTopic(ctx, parts, rf, configs, b.Name)
	if err != nil {
		return nil, err
	}
	if resp.Err != nil {
		return nil, withMessage(resp.Err, resp.ErrMessage)
	}
	return map[string]any{"name": resp.Topic, "id": topicID(resp.ID), "partitions": resp.NumPartitions, "replicationFactor": resp.ReplicationFactor}, nil
}

// checkConfigs bounds a set of config names and values.
func checkConfigs(set map[string]string, del []string) error {
	if len(set)+len(del) > maxConfigOps {
		return badRequest("at most %d configs at once", maxConfigOps)
	}
	for k, v := range set {
		if k == "" || len(k) > 255 {
			return badRequest("config name %q: 1 to 255 bytes", k)
		}
		if len(v) > maxConfigBytes {
			return badRequest("config %s: value longer than %d bytes", k, maxConfigBytes)
		}
	}
	for _, k := range del {
		if k == "" || len(k) > 255 {
			return badRequest("config name %q: 1 to 255 bytes", k)
		}
		if _, ok := set[k]; ok {
			return badRequest("config %s is both set and deleted", k)
		}
	}
	return nil
}

// withMessage adds the broker's error message to a Kafka error, keeping
// the error (and so its HTTP status).
func withMessage(err error, msg string) error {
	if msg == "" {
		return err
	}
	return &detailed{err: err, msg: msg}
}

type detailed struct {
	err error
	msg string
}

func (d *detailed) Error() string { return d.err.Error() + ": " + d.msg }
func (d *detailed) Unwrap() error { return d.err }

// deleteTopic is DELETE /api/v1/topics/{topic}.
func (c *Console) deleteTopic(ctx context.Context, s *session, r *http.Request) (any, error) {
	topic, err := pathTopic(r)
	if err != nil {
		return nil, err
	}
	if err := noParams(r); err != nil {
		return nil, err
	}
	resp, err := s.adm.DeleteTopic(ctx, topic)
	if err != nil {
		return nil, err
	}
	if resp.Err != nil {
		return nil, withMessage(resp.Err, resp.ErrMessage)
	}
	return map[string]string{"deleted": topic}, nil
}

type alterConfigsBody struct {
	Set    map[string]string `json:"set"`
	Delete []string          `json:"delete"`
}

// alterTopicConfigs is PATCH /api/v1/topics/{topic}/configs: set and
// delete topic configs (IncrementalAlterConfigs).
func (c *Console) alterTopicConfigs(ctx context.Context, s *session, r *http.Request) (any, error) {
	topic, err := pathTopic(r)
	if err != nil {
		return nil, err
	}
	if err := noParams(r); err != nil {
		return nil, err
	}
	var b alterConfigsBody
	if err := readBody(r, &b); err != nil {
		return nil, err
	}
	if len(b.Set)+len(b.Delete) == 0 {
		return nil, badRequest("nothing to change: give set and/or delete")
	}
	if err := checkConfigs(b.Set, b.Delete); err != nil {
		return nil, err
	}
	var ops []kadm.AlterConfig
	for k, v := range b.Set {
		ops = append(ops, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: &v})
	}
	for _, k := range b.Delete {
		ops = append(ops, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
	}
	resps, err := s.adm.AlterTopicConfigs(ctx, ops, topic)
	if err != nil {
		return nil, err
	}
	for _, rsp := range resps {
		if rsp.Err != nil {
			return nil, withMessage(rsp.Err, rsp.ErrMessage)
		}
	}
	return map[string]any{"topic": topic, "set": len(b.Set), "deleted": len(b.Delete)}, nil
}
