package config

import (
	"errors"
	"fmt"
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
	FlushInterval      time.Duration // 0: no time-based flush
	MaxMessageBytes    int32
	LogAppendTime      bool
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
			if !c.IsSet(b) {
				return strconv.FormatInt(c.int("log.retention.hours")*3600*1000, 10), false
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
		SegmentBytes:       num("segment.bytes"),
		SegmentRoll:        ms(num("segment.ms")),
		IndexIntervalBytes: int32(num("index.interval.bytes")),
		SegmentIndexBytes:  int32(num("segment.index.bytes")),
		FlushMessages:      num("flush.messages"),
		MaxMessageBytes:    int32(num("max.message.bytes")),
	}
	if v, _ := c.TopicValue(overrides, "flush.ms"); v != "" {
		t.FlushInterval = ms(num("flush.ms"))
	}
	tt, _ := c.TopicValue(overrides, "message.timestamp.type")
	t.LogAppendTime = strings.EqualFold(tt, "LogAppendTime")
	return t
}
