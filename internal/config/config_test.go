package config

import (
	"errors"
	"strings"
	"testing"
)

func TestDefaults(t *testing.T) {
	c := Default()
	if c.ListenAddr != "127.0.0.1:9092" || c.NumPartitions != 1 || !c.AutoCreateTopics || c.FlushMode != "page-cache" {
		t.Fatalf("defaults: %+v", c)
	}
	tc := c.ResolveTopic(nil)
	if tc.SegmentBytes != 1<<30 || tc.SegmentRoll.Hours() != 168 || tc.MaxMessageBytes != 1048588 {
		t.Fatalf("topic defaults: %+v", tc)
	}
}

func TestLoadPropertiesAndOverrides(t *testing.T) {
	props := "# comment\nlog.dirs=/tmp/a,/tmp/b\nnum.partitions = 3\nlisteners=PLAINTEXT://0.0.0.0:19092\nlog.segment.bytes=\\\n  1024\n"
	vals, err := ReadProperties(strings.NewReader(props))
	if err != nil {
		t.Fatal(err)
	}
	if vals["log.segment.bytes"] != "1024" {
		t.Fatalf("continuation: %q", vals["log.segment.bytes"])
	}
	c, err := New(vals)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/tmp/a" || c.NumPartitions != 3 || c.ListenAddr != "0.0.0.0:19092" || c.AdvertisedHost != "127.0.0.1" || c.AdvertisedPort != 19092 {
		t.Fatalf("resolved: %+v", c)
	}
	if got := c.ResolveTopic(map[string]string{"segment.bytes": "2048"}).SegmentBytes; got != 2048 {
		t.Fatalf("topic override: %d", got)
	}
	if got := c.ResolveTopic(nil).SegmentBytes; got != 1024 {
		t.Fatalf("broker default for topic: %d", got)
	}
}

func TestRejects(t *testing.T) {
	for _, vals := range []map[string]string{
		{"no.such.key": "1"},
		{"num.partitions": "zero"},
		{"num.partitions": "0"},
		{"auto.create.topics.enable": "yes"},
		{"log.flush.mode": "sometimes"},
		{"listeners": "SSL://x:1"},
		{"listeners": "PLAINTEXT://nohost"},
	} {
		if _, err := New(vals); !errors.Is(err, ErrInvalid) {
			t.Errorf("%v accepted: %v", vals, err)
		}
	}
	if err := CheckTopic(map[string]string{"cleanup.policy": "compact,delete", "retention.ms": "-1"}); err != nil {
		t.Fatal(err)
	}
	if err := CheckTopic(map[string]string{"segment.bytes": "x"}); !errors.Is(err, ErrInvalid) {
		t.Fatal("bad topic value accepted")
	}
	if err := CheckTopic(map[string]string{"bogus": "1"}); !errors.Is(err, ErrInvalid) {
		t.Fatal("unknown topic key accepted")
	}
	if _, err := Load("", []string{"novalue"}); !errors.Is(err, ErrInvalid) {
		t.Fatal("bad override accepted")
	}
}

// Listener-prefixed settings are accepted and never crash the start-up
// report of inert settings.
func TestListenerPrefixedSettings(t *testing.T) {
	c, err := New(map[string]string{
		"listeners":               "PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9093",
		"sasl.enabled.mechanisms": "PLAIN",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config":   `org.apache.kafka.common.security.plain.PlainLoginModule required user_a="b";`,
		"listener.name.sasl_plaintext.ssl.engine.factory.class": "x",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Unsupported(); len(got) != 1 || got[0] != "listener.name.sasl_plaintext.ssl.engine.factory.class" {
		t.Fatalf("unsupported: %v", got)
	}
	if c.JAAS("SASL_PLAINTEXT", "PLAIN") == "" {
		t.Fatal("per-listener JAAS not found")
	}
	if !Sensitive("listener.name.sasl_plaintext.plain.sasl.jaas.config") {
		t.Fatal("a listener's JAAS configuration is not sensitive")
	}
}
