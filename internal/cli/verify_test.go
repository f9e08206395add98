package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samsa-streaming/samsa/internal/history"
)

// writeHistory records events into a file in dir and returns its path.
func writeHistory(t *testing.T, dir, name string, events ...history.Event) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	rec := history.NewRecorder(f)
	for _, e := range events {
		rec.Record(e)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	ack := func(seq, offset int64, value string) history.Produce {
		return history.Produce{Producer: "p1", Idempotent: true, Topic: "t", Value: value, Seq: seq,
			Start: seq, End: seq + 1, Outcome: history.OK, Offset: offset}
	}
	final := func(offset int64, value string) history.Consume {
		return history.Consume{Consumer: "final", Topic: "t", Offset: offset, Value: value, Time: 100, Final: true}
	}
	produced := writeHistory(t, dir, "produced.jsonl", ack(1, 0, "a"), ack(2, 1, "b"), ack(3, 2, "c"))
	clean := writeHistory(t, dir, "clean.jsonl", final(0, "a"), final(1, "b"), final(2, "c"))
	lossy := writeHistory(t, dir, "lossy.jsonl", final(0, "a"), final(2, "c"), final(3, "x"))
	garbage := filepath.Join(dir, "garbage.jsonl")
	if err := os.WriteFile(garbage, []byte(`{"type":"consume"}`+"\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	stdout, stderr, code := runCLI(t, "", "verify", produced, clean)
	if code != exitOK || !strings.Contains(stderr, "Verified 6 events from 2 file(s): no anomalies") {
		t.Errorf("clean: exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "CHECK") || !strings.Contains(stdout, "lost") || !strings.Contains(stdout, "acknowledged records") {
		t.Errorf("clean: stdout %q", stdout)
	}

	stdout, stderr, code = runCLI(t, "", "verify", produced, lossy)
	if code != exitFailure || !strings.Contains(stderr, "samsa: 2 anomalies (lost: 1, phantom: 1) in 6 events") {
		t.Errorf("lossy: exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, `lost: t-0 offset 1: record "b"`) || !strings.Contains(stdout, `phantom: t-0 offset 3`) {
		t.Errorf("lossy: stdout %q", stdout)
	}

	stdout, _, code = runCLI(t, "", "verify", "--json", produced, lossy)
	var report struct {
		FinalRead     bool           `json:"final_read"`
		AnomalyCounts map[string]int `json:"anomaly_counts"`
		Anomalies     []struct {
			Kind   string `json:"kind"`
			Events []struct {
				Type string `json:"type"`
			} `json:"events"`
		} `json:"anomalies"`
	}
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	if code != exitFailure || !report.FinalRead || report.AnomalyCounts["lost"] != 1 || len(report.Anomalies) != 2 ||
		report.Anomalies[0].Events[0].Type != "produce" {
		t.Errorf("--json: exit %d, report %+v", code, report)
	}

	// Standard input, and the first anomaly only.
	data, err := os.ReadFile(lossy)
	if err != nil {
		t.Fatal(err)
	}
	stdout, _, code = runCLI(t, string(data), "verify", "--show", "1", produced, "-")
	if code != exitFailure || !strings.Contains(stdout, "... and 1 more") {
		t.Errorf("stdin: exit %d, stdout %q", code, stdout)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"verify"}, "expected at least one history file"},
		{[]string{"verify", garbage}, "garbage.jsonl: line 1: consume: no consumer"},
		{[]string{"verify", filepath.Join(dir, "missing.jsonl")}, "no such file"},
		{[]string{"verify", produced, produced}, `value "a" is sent by two produce attempts`},
		{[]string{"verify", "--show", "-1", produced}, "--show must not be negative"},
		{[]string{"verify", os.DevNull}, "no events in " + os.DevNull},
	} {
		_, stderr, code := runCLI(t, "", tt.args...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q, want exit %d with %q", tt.args, code, stderr, exitUsage, tt.want)
		}
	}

	// Without a final read the ground-truth checks are skipped, and said to be.
	stdout, stderr, code = runCLI(t, "", "verify", produced)
	if code != exitOK || !strings.Contains(stderr, "Warning: the history has no final read") || !strings.Contains(stdout, "skipped: no final read") {
		t.Errorf("no final read: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
