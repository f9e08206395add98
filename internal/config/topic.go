package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Topic is a topic's effective configuration: its overrides on top of the
// broker's settings.
type Topic struct {
	SegmentBytes       int64
	SegmentRoll        time.Duration
	IndexIntervalBytes int32
	SegmentIndexBytes  int32
	FlushMessages      int64
	// WritebackBytes is the broker's log.writeback.interval.bytes; no topic
	// overrides it.
	WritebackBytes  int64
	FlushInterval   time.Duration // 0: no time-based flush
	MaxMessageBytes int32
	LogAppendTime   bool
	// MinInsyncReplicas is min.insync.replicas: an acks=all produce needs
	// at least this many replicas in the ISR.
	MinInsyncReplicas int

	// Retention and compaction (internal/storage.Config mirrors these).
	CleanupDelete     bool          // cleanup.policy has delete
	CleanupCompact    bool          // cleanup.policy has compact
	Retention         time.Duration // retention.ms; negative keeps forever
	RetentionBytes    int64         // retention.bytes; negative is unlimited
	FileDeleteDelay   time.Duration // file.delete.delay.ms
	DeleteRetention   time.Duration // delete.retention.ms
	MinCompactionLag  time.Duration // min.compaction.lag.ms
	MaxCompactionLag  time.Duration // max.compaction.lag.ms
	MinCleanableRatio float64       // min.cleanable.dirty.ratio

	// Replication throttles (leader/follower.replication.throttled.replicas).
	LeaderThrottled, FollowerThrottled ThrottledReplicas
}

// CheckTopic validates topic overrides as CreateTopics and AlterConfigs
// receive them.
func CheckTopic(overrides map[string]string) error {
	var errs []error
	for k, v := range overrides {
		key, ok := topicByName[k]
		if !ok {
			errs = append(errs, fmt.Errorf("%w: unknown topic config %q", ErrInvalid, k))
			continue
		}
		if err := key.Check(v); err != nil {
			errs = append(errs, err)
		}
	}
	sortErrs(errs)
	return errors.Join(errs...)
}

// TopicValue returns the effective value of a topic setting and whether it
// is a topic override (as opposed to inherited from the broker or default).
func (c *Config) TopicValue(overrides map[string]string, key string) (value string, override bool) {
	if v, ok := overrides[key]; ok {
		return v, true
	}
	if b := topicToBroker[key]; b != "" {
		switch b {
		case "log.roll.ms":
			if !c.IsSet(b) {
				return strconv.FormatInt(c.int("log.roll.hours")*3600*1000, 10), false
			}
		case "log.retention.ms":
			// Kafka's precedence: ms, then minutes, then hours; any
			// negative value keeps forever.
			if !c.IsSet(b) {
				if c.IsSet("log.retention.minutes") {
					return strconv.FormatInt(max(c.int("log.retention.minutes")*60*1000, -1), 10), false
				}
				return strconv.FormatInt(max(c.int("log.retention.hours")*3600*1000, -1), 10), false
			}
		}
		return c.Get(b), false
	}
	if k, ok := topicByName[key]; ok {
		return k.Default, false
	}
	return "", false
}

// ResolveTopic computes a topic's effective configuration. Overrides are
// assumed to have passed CheckTopic.
func (c *Config) ResolveTopic(overrides map[string]string) Topic {
	num := func(k string) int64 {
		v, _ := c.TopicValue(overrides, k)
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		return n
	}
	t := Topic{
		WritebackBytes:     c.int("log.writeback.interval.bytes"),
		SegmentBytes:       num("segment.bytes"),
		SegmentRoll:        ms(num("segment.ms")),
		IndexIntervalBytes: int32(num("index.interval.bytes")),
		SegmentIndexBytes:  int32(num("segment.index.bytes")),
		FlushMessages:      num("flush.messages"),
		MaxMessageBytes:    int32(num("max.message.bytes")),
		MinInsyncReplicas:  int(num("min.insync.replicas")),
	}
	if v, _ := c.TopicValue(overrides, "flush.ms"); v != "" {
		t.FlushInterval = ms(num("flush.ms"))
	}
	tt, _ := c.TopicValue(overrides, "message.timestamp.type")
	t.LogAppendTime = strings.EqualFold(tt, "LogAppendTime")
	policy, _ := c.TopicValue(overrides, "cleanup.policy")
	for _, p := range strings.Split(policy, ",") {
		switch strings.TrimSpace(p) {
		case "delete":
			t.CleanupDelete = true
		case "compact":
			t.CleanupCompact = true
		}
	}
	t.Retention = ms(num("retention.ms"))
	t.RetentionBytes = num("retention.bytes")
	t.FileDeleteDelay = ms(num("file.delete.delay.ms"))
	t.DeleteRetention = ms(num("delete.retention.ms"))
	t.MinCompactionLag = ms(num("min.compaction.lag.ms"))
	t.MaxCompactionLag = ms(num("max.compaction.lag.ms")) // MaxInt64 ms overflows to a negative: no bound
	if mc := num("max.compaction.lag.ms"); mc > int64(math.MaxInt64/time.Millisecond) {
		t.MaxCompactionLag = 0
	}
	ratio, _ := c.TopicValue(overrides, "min.cleanable.dirty.ratio")
	t.MinCleanableRatio, _ = strconv.ParseFloat(strings.TrimSpace(ratio), 64)
	lt, _ := c.TopicValue(overrides, "leader.replication.throttled.replicas")
	t.LeaderThrottled, _ = ParseThrottledReplicas(lt)
	ft, _ := c.TopicValue(overrides, "follower.replication.throttled.replicas")
	t.FollowerThrottled, _ = ParseThrottledReplicas(ft)
	return t
}
