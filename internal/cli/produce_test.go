package cli

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestSplitKey(t *testing.T) {
	tests := []struct {
		line, sep   string
		key, value  string
		wantNilKeys bool
	}{
		{"k:v", ":", "k", "v", false},
		{"k:v:w", ":", "k", "v:w", false},
		{":v", ":", "", "v", false},
		{"k:", ":", "k", "", false},
		{"novalue", ":", "", "novalue", true},
		{"k::v", "::", "k", "v", false},
		{"k:v", "", "", "k:v", true},
		{"", ":", "", "", true},
	}
	for _, tt := range tests {
		k, v := splitKey([]byte(tt.line), tt.sep)
		if (k == nil) != tt.wantNilKeys || string(k) != tt.key || string(v) != tt.value {
			t.Errorf("splitKey(%q, %q) = (%q nil=%v, %q), want (%q nil=%v, %q)",
				tt.line, tt.sep, k, k == nil, v, tt.key, tt.wantNilKeys, tt.value)
		}
	}
}

func TestParseAcks(t *testing.T) {
	tests := []struct {
		in         string
		acks       kgo.Acks
		idempotent bool
	}{
		{"all", kgo.AllISRAcks(), true},
		{"-1", kgo.AllISRAcks(), true},
		{"1", kgo.LeaderAck(), false},
		{"0", kgo.NoAck(), false},
	}
	for _, tt := range tests {
		acks, idem, err := parseAcks(tt.in)
		if err != nil || acks != tt.acks || idem != tt.idempotent {
			t.Errorf("parseAcks(%q) = %v, %v, %v", tt.in, acks, idem, err)
		}
	}
	if _, _, err := parseAcks("2"); err == nil {
		t.Error("parseAcks(2) must fail")
	}
}

func TestParseCompression(t *testing.T) {
	for _, name := range []string{"none", "gzip", "snappy", "lz4", "zstd", "ZSTD", ""} {
		if _, err := parseCompression(name); err != nil {
			t.Errorf("parseCompression(%q): %v", name, err)
		}
	}
	if _, err := parseCompression("brotli"); err == nil {
		t.Error("parseCompression(brotli) must fail")
	}
}

func TestParseHeaders(t *testing.T) {
	hs, err := parseHeaders([]string{"a=1", "b=x=y", "c="})
	if err != nil {
		t.Fatal(err)
	}
	want := []kgo.RecordHeader{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("x=y")}, {Key: "c", Value: []byte("")}}
	if len(hs) != len(want) {
		t.Fatalf("got %d headers", len(hs))
	}
	for i := range want {
		if hs[i].Key != want[i].Key || string(hs[i].Value) != string(want[i].Value) {
			t.Errorf("header %d = %s=%s", i, hs[i].Key, hs[i].Value)
		}
	}
	for _, bad := range []string{"novalue", "=v"} {
		if _, err := parseHeaders([]string{bad}); err == nil {
			t.Errorf("parseHeaders(%q) must fail", bad)
		}
	}
}

func readAll(t *testing.T, in io.Reader) ([]string, error) {
	t.Helper()
	var got []string
	err := produceLines(context.Background(), in, func(b []byte) error { got = append(got, string(b)); return nil })
	return got, err
}

func TestProduceLines(t *testing.T) {
	got, err := readAll(t, strings.NewReader("a\r\nb\n\nlast"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "b", "", "last"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines = %q, want %q", got, want)
	}

	long := strings.Repeat("x", 200<<10) // longer than the reader's buffer
	got, _ = readAll(t, strings.NewReader(long+"\n"))
	if len(got) != 1 || got[0] != long {
		t.Errorf("a long line was split or lost")
	}

	boom := errors.New("boom")
	if _, err := readAll(t, iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("read error = %v, want %v", err, boom)
	}
}

func TestProduceLinesStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	pr, pw := io.Pipe() // never written: a Read that blocks like a terminal
	defer pw.Close()
	err := produceLines(ctx, pr, func([]byte) error { t.Error("no line expected"); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestProducerOpts(t *testing.T) {
	o := produceOptions{acks: "1", compression: "lz4", partition: 3}
	if _, err := o.producerOpts(0); err != nil {
		t.Fatal(err)
	}
	o.acks = "maybe"
	if _, err := o.producerOpts(0); err == nil {
		t.Error("invalid acks must fail")
	}
	o.acks, o.compression = "all", "rar"
	if _, err := o.producerOpts(0); err == nil {
		t.Error("invalid compression must fail")
	}
}
