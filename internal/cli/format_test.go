package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func testRecord() *kgo.Record {
	return &kgo.Record{
		Topic:     "orders",
		Partition: 2,
		Offset:    41,
		Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC),
		Key:       []byte("user-1"),
		Value:     []byte("clicked\tbuy"),
		Headers: []kgo.RecordHeader{
			{Key: "source", Value: []byte("cli")},
			{Key: "bin", Value: []byte{0xff, 0x00}},
		},
	}
}

func TestRecordFormats(t *testing.T) {
	tests := []struct {
		spec string
		want string
	}{
		{"text", "clicked\tbuy\n"},
		{"", "clicked\tbuy\n"},
		{"kv", "user-1\tclicked\tbuy\n"},
		{"%k %v", "user-1 clicked\tbuy\n"},
		{"%t/%p/%o@%T", "orders/2/41@1767323045006\n"},
		{`%k\t%h\n`, "user-1\tsource=cli,bin=\xff\x00\n"},
		{"100%% %k", "100% user-1\n"},
		{"{{.Topic}}:{{.Partition}}:{{.Offset}} {{.Key}}", "orders:2:41 user-1\n"},
		{"{{range .Headers}}{{.Key}};{{end}}", "source;bin;\n"},
		{"{{quote .Value}} {{base64 .Key}}", "\"clicked\\tbuy\" dXNlci0x\n"},
		{"{{.Timestamp.UTC.Format \"15:04:05\"}} {{.TimestampMs}}\n", "03:04:05 1767323045006\n"},
	}
	for _, tt := range tests {
		f, err := newRecordFormatter(tt.spec)
		if err != nil {
			t.Fatalf("newRecordFormatter(%q): %v", tt.spec, err)
		}
		got, err := f(nil, testRecord())
		if err != nil {
			t.Fatalf("format %q: %v", tt.spec, err)
		}
		if string(got) != tt.want {
			t.Errorf("format %q = %q, want %q", tt.spec, got, tt.want)
		}
	}
}

func TestRecordFormatAppends(t *testing.T) {
	f, _ := newRecordFormatter("%o")
	dst := []byte("prefix:")
	got, _ := f(dst, testRecord())
	if string(got) != "prefix:41\n" {
		t.Fatalf("got %q", got)
	}
}

func TestRecordFormatErrors(t *testing.T) {
	for _, spec := range []string{"yaml", "%x", "trailing %", "{{.Nope"} {
		if _, err := newRecordFormatter(spec); err == nil {
			t.Errorf("newRecordFormatter(%q) succeeded, want an error", spec)
		}
	}
	f, err := newRecordFormatter("{{.Missing}}")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f(nil, testRecord()); err == nil {
		t.Error("a template naming a missing field must fail when executed")
	}
}

func TestJSONFormat(t *testing.T) {
	r := testRecord()
	r.Value = []byte{0xde, 0xad, 0xbe, 0xef}
	f, _ := newRecordFormatter("json")
	out, err := f(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(out), "}\n") || strings.Count(string(out), "\n") != 1 {
		t.Fatalf("want exactly one JSON line, got %q", out)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"topic": "orders", "partition": 2.0, "offset": 41.0,
		"timestamp": "2026-01-02T03:04:05.006Z", "timestamp_ms": 1767323045006.0,
		"key": "user-1", "value": "3q2+7w==", "value_encoding": "base64",
		"headers": []any{
			map[string]any{"key": "source", "value": "cli"},
			map[string]any{"key": "bin", "value": "/wA=", "value_encoding": "base64"},
		},
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("json record\n got  %s\n want %s", gotJSON, wantJSON)
	}
}

func TestJSONFormatNullsAndEmpty(t *testing.T) {
	r := &kgo.Record{Topic: "t", Value: []byte{}, Timestamp: time.UnixMilli(0)}
	f, _ := newRecordFormatter("json")
	out, _ := f(nil, r)
	var got struct {
		Key     *string           `json:"key"`
		Value   *string           `json:"value"`
		Headers []json.RawMessage `json:"headers"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got.Key != nil {
		t.Errorf("a missing key must be null, got %q", *got.Key)
	}
	if got.Value == nil || *got.Value != "" {
		t.Errorf("an empty value must be the empty string, got %v", got.Value)
	}
	if got.Headers == nil || len(got.Headers) != 0 {
		t.Errorf("no headers must be an empty array, got %s", out)
	}
	if !strings.Contains(string(out), `"key":null`) {
		t.Errorf("want an explicit null key in %s", out)
	}
}
