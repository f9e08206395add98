package config

import (
	"testing"
	"time"
)

// The consumer group settings are acted on (internal/coordinator/group):
// they must parse, resolve to typed fields and not be reported as inert.
func TestGroupSettings(t *testing.T) {
	c, err := New(map[string]string{
		"group.initial.rebalance.delay.ms": "0", "group.min.session.timeout.ms": "500",
		"group.max.session.timeout.ms": "60000", "group.max.size": "10", "offsets.topic.num.partitions": "5",
		"offsets.retention.minutes": "60", "offsets.retention.check.interval.ms": "1000", "offset.metadata.max.bytes": "100",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.GroupInitialRebalanceDelay != 0 || c.GroupMinSessionTimeout != 500*time.Millisecond || c.GroupMaxSessionTimeout != time.Minute ||
		c.GroupMaxSize != 10 || c.OffsetsTopicPartitions != 5 || c.OffsetsRetention != time.Hour ||
		c.OffsetsRetentionCheck != time.Second || c.OffsetMetadataMaxBytes != 100 {
		t.Fatalf("resolved: %+v", c)
	}
	if u := c.Unsupported(); len(u) != 0 {
		t.Fatalf("reported as inert: %v", u)
	}
	d := Default()
	if d.GroupInitialRebalanceDelay != 3*time.Second || d.GroupMinSessionTimeout != 6*time.Second ||
		d.GroupMaxSessionTimeout != 30*time.Minute || d.OffsetsTopicPartitions != 50 || d.OffsetsRetention != 7*24*time.Hour {
		t.Fatalf("defaults: %+v", d)
	}
}
