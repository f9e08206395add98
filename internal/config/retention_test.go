package config

import (
	"testing"
	"time"
)

func TestResolveRetention(t *testing.T) {
	for _, c := range []struct {
		broker    map[string]string
		overrides map[string]string
		want      time.Duration
	}{
		{nil, nil, 168 * time.Hour},
		{map[string]string{"log.retention.hours": "2"}, nil, 2 * time.Hour},
		{map[string]string{"log.retention.hours": "2", "log.retention.minutes": "5"}, nil, 5 * time.Minute},
		{map[string]string{"log.retention.minutes": "5", "log.retention.ms": "1000"}, nil, time.Second},
		{map[string]string{"log.retention.hours": "-1"}, nil, -time.Millisecond},
		{map[string]string{"log.retention.ms": "1000"}, map[string]string{"retention.ms": "-1"}, -time.Millisecond},
	} {
		cfg, err := New(c.broker)
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.ResolveTopic(c.overrides).Retention; got != c.want {
			t.Errorf("%v %v: retention %v, want %v", c.broker, c.overrides, got, c.want)
		}
	}
}

func TestResolveCleanup(t *testing.T) {
	cfg, err := New(map[string]string{"log.cleaner.delete.retention.ms": "1000", "log.segment.delete.delay.ms": "0"})
	if err != nil {
		t.Fatal(err)
	}
	tc := cfg.ResolveTopic(map[string]string{"cleanup.policy": "compact,delete", "min.cleanable.dirty.ratio": "0.25", "retention.bytes": "100"})
	if !tc.CleanupCompact || !tc.CleanupDelete || tc.MinCleanableRatio != 0.25 || tc.RetentionBytes != 100 ||
		tc.DeleteRetention != time.Second || tc.FileDeleteDelay != 0 || tc.MaxCompactionLag != 0 {
		t.Fatalf("resolved %+v", tc)
	}
	def := cfg.ResolveTopic(nil)
	if def.CleanupCompact || !def.CleanupDelete || def.RetentionBytes != -1 || def.MinCleanableRatio != 0.5 {
		t.Fatalf("defaults %+v", def)
	}
	if err := CheckTopic(map[string]string{"cleanup.policy": "compact,bogus"}); err == nil {
		t.Fatal("bad cleanup.policy accepted")
	}
	for _, k := range []string{"retention.ms", "delete.retention.ms", "min.compaction.lag.ms", "file.delete.delay.ms", "min.cleanable.dirty.ratio"} {
		if key, ok := LookupTopic(k); !ok || key.Inert {
			t.Errorf("%s: known %v, inert", k, ok)
		}
	}
}
