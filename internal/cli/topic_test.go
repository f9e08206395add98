package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestParseConfigs(t *testing.T) {
	cfg, err := parseConfigs([]string{"retention.ms=1000", "cleanup.policy=compact,delete", "empty="}, "-c")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg) != 3 || *cfg["retention.ms"] != "1000" || *cfg["cleanup.policy"] != "compact,delete" || *cfg["empty"] != "" {
		t.Errorf("configs = %v", cfg)
	}
	if cfg, err := parseConfigs(nil, "-c"); cfg != nil || err != nil {
		t.Errorf("no configs = %v, %v; want nil, nil", cfg, err)
	}
	if _, err := parseConfigs([]string{"x"}, "-c"); err == nil {
		t.Error("a config without '=' must fail")
	}
}

func TestBuildAlterConfigs(t *testing.T) {
	alters, err := buildAlterConfigs([]string{"a=1"}, []string{"b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(alters) != 2 || alters[0].Op != kadm.SetConfig || *alters[0].Value != "1" ||
		alters[1].Op != kadm.DeleteConfig || alters[1].Name != "b" || alters[1].Value != nil {
		t.Errorf("alters = %+v", alters)
	}
	for _, bad := range [][2][]string{{nil, nil}, {{"x"}, nil}, {nil, {" "}}} {
		if _, err := buildAlterConfigs(bad[0], bad[1]); err == nil {
			t.Errorf("buildAlterConfigs(%q, %q) must fail", bad[0], bad[1])
		}
	}
}

func TestOverridesAndFormat(t *testing.T) {
	v := func(s string) *string { return &s }
	rc := kadm.ResourceConfig{Configs: []kadm.Config{
		{Key: "retention.ms", Value: v("1000"), Source: kmsg.ConfigSourceDynamicTopicConfig},
		{Key: "segment.bytes", Value: v("1"), Source: kmsg.ConfigSourceDefaultConfig},
		{Key: "max.message.bytes", Value: v("9"), Source: kmsg.ConfigSourceStaticBrokerConfig},
		{Key: "secret", Sensitive: true, Source: kmsg.ConfigSourceDynamicTopicConfig},
		{Key: "cleanup.policy", Value: v("compact"), Source: kmsg.ConfigSourceDynamicTopicConfig},
	}}
	got := formatConfigs(overrides(rc))
	if want := "cleanup.policy=compact,retention.ms=1000,secret=(sensitive)"; got != want {
		t.Errorf("overrides = %q, want %q", got, want)
	}
}

func TestTopicIDString(t *testing.T) {
	if topicIDString(kadm.TopicID{}) != "" {
		t.Error("the zero topic ID must print as empty")
	}
	id := kadm.TopicID{0xfb, 0xff}
	// Kafka prints Uuids as URL-safe base64 without padding.
	if got := topicIDString(id); got != "-_8AAAAAAAAAAAAAAAAAAA" {
		t.Errorf("topicIDString = %q", got)
	}
}

func TestTopicErrorMessages(t *testing.T) {
	tests := []struct {
		err     error
		message string
		want    string
	}{
		{kerr.UnknownTopicOrPartition, "", `topic "t": does not exist (UNKNOWN_TOPIC_OR_PARTITION); list topics with ` + "`samsa topic list`"},
		{kerr.TopicAlreadyExists, "Topic 't' already exists.", `topic "t": already exists (TOPIC_ALREADY_EXISTS); inspect it with ` + "`samsa topic describe t`"},
		{kerr.InvalidReplicationFactor, "replication factor 3 exceeds 1 broker", `topic "t": replication factor 3 exceeds 1 broker (INVALID_REPLICATION_FACTOR); use -r`},
		{kerr.PolicyViolation, "", `topic "t": Request parameters do not satisfy the configured policy (POLICY_VIOLATION)`},
		{errors.New("plain"), "", `topic "t": plain`},
	}
	for _, tt := range tests {
		err := topicError("t", tt.err, tt.message)
		if !errors.Is(err, tt.err) {
			t.Errorf("topicError must wrap %v", tt.err)
		}
		if !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("topicError = %q, want prefix %q", err, tt.want)
		}
	}
	if topicError("t", nil, "") != nil {
		t.Error("topicError(nil) must be nil")
	}
}

func TestTable(t *testing.T) {
	var b strings.Builder
	tb := newTable(&b, "A", "LONGER")
	tb.row(1, "")
	tb.row("wide value", joinInt32s([]int32{1, 2, 3}))
	if err := tb.flush(); err != nil {
		t.Fatal(err)
	}
	want := "A           LONGER\n1           -\nwide value  1,2,3\n"
	if b.String() != want {
		t.Errorf("table =\n%s\nwant\n%s", b.String(), want)
	}
}
