package cli

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestParseStartOffset(t *testing.T) {
	tests := []struct {
		fromBeginning bool
		offset        string
		want          kgo.Offset
	}{
		{false, "", kgo.NewOffset().AtEnd()},
		{true, "", kgo.NewOffset().AtStart()},
		{false, "earliest", kgo.NewOffset().AtStart()},
		{false, "LATEST", kgo.NewOffset().AtEnd()},
		{false, "42", kgo.NewOffset().At(42)},
		{false, "0", kgo.NewOffset().At(0)},
		{false, "-5", kgo.NewOffset().AtEnd().Relative(-5)},
	}
	for _, tt := range tests {
		got, err := parseStartOffset(tt.fromBeginning, tt.offset)
		if err != nil {
			t.Errorf("parseStartOffset(%v, %q): %v", tt.fromBeginning, tt.offset, err)
			continue
		}
		if got != tt.want {
			t.Errorf("parseStartOffset(%v, %q) = %v, want %v", tt.fromBeginning, tt.offset, got, tt.want)
		}
	}
	for _, bad := range []struct {
		fromBeginning bool
		offset        string
	}{{true, "3"}, {false, "tomorrow"}, {false, "1.5"}} {
		if _, err := parseStartOffset(bad.fromBeginning, bad.offset); err == nil {
			t.Errorf("parseStartOffset(%v, %q) must fail", bad.fromBeginning, bad.offset)
		}
	}
}

func TestSelectPartitions(t *testing.T) {
	td := kadm.TopicDetail{Topic: "t", Partitions: kadm.PartitionDetails{
		0: {Partition: 0}, 1: {Partition: 1}, 2: {Partition: 2},
	}}
	all, err := selectPartitions(td, nil)
	if err != nil || len(all) != 3 || all[0] != 0 || all[2] != 2 {
		t.Errorf("all partitions = %v, %v", all, err)
	}
	some, err := selectPartitions(td, []int32{2, 0, 2})
	if err != nil || len(some) != 2 || some[0] != 2 || some[1] != 0 {
		t.Errorf("selected = %v, %v; want [2 0]", some, err)
	}
	if _, err := selectPartitions(td, []int32{3}); err == nil {
		t.Error("a partition the topic does not have must fail")
	}
}
