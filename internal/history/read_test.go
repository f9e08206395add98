package history

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// every is one event of each type with every field set.
var every = []Event{
	Produce{Client: "c1", Producer: "p1", Idempotent: true, Topic: "t", Partition: 2, Key: "k", Value: "p1-1 \"<&>\" é",
		Seq: 1, Start: 100, End: 200, Outcome: OK, Offset: 42, Txn: "tx", TxnSeq: 3},
	Produce{Client: "c1", Producer: "p1", Topic: "t", Value: "p1-2", Seq: 2, Start: 100, End: 300, Outcome: Error,
		Offset: -1, Err: "NOT_LEADER_FOR_PARTITION"},
	Consume{Consumer: "c2", Group: "g", Isolation: ReadCommitted, Topic: "t", Partition: 2, Offset: 42, Key: "k",
		Value: "p1-1", Time: 400, Session: 1, Final: true},
	Commit{Group: "g", Member: "m1", Topic: "t", Partition: 2, Offset: 43, Outcome: Unknown, Start: 500, End: 600, Err: "timeout"},
	Assign{Group: "g", Member: "m1", Generation: 7, Topic: "t", Partition: 2, Time: 700},
	Revoke{Group: "g", Member: "m1", Generation: 7, Topic: "t", Partition: 2, Time: 800},
	HighWatermark{Consumer: "c2", Topic: "t", Partition: 2, Value: 50, LogStart: 3, Time: 900, Final: true},
	Txn{Producer: "p1", Txn: "tx", TxnSeq: 3, Outcome: TxnAbort, Start: 950, End: 1000},
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	rec := NewRecorder(&buf)
	for _, e := range every {
		rec.Record(e)
	}
	if err := rec.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(every) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(every), buf.String())
	}
	for i, l := range lines {
		if want := `{"type":"` + every[i].Type() + `",`; !strings.HasPrefix(l, want) {
			t.Errorf("line %d %q does not begin with %q", i+1, l, want)
		}
	}
	h, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Len(); got != len(every) {
		t.Fatalf("read %d events, want %d", got, len(every))
	}
	if !reflect.DeepEqual(h, hist(every...)) {
		t.Errorf("read back\n%+v\nwant\n%+v", h, hist(every...))
	}
}

func TestRecorderFillsTimes(t *testing.T) {
	var buf bytes.Buffer
	rec := NewRecorder(&buf)
	rec.Produce(Produce{Producer: "p", Topic: "t", Value: "v", Outcome: Unknown, Offset: 9})
	rec.Consume(Consume{Consumer: "c", Topic: "t", Value: "v"})
	rec.Commit(Commit{Group: "g", Topic: "t", Outcome: OK})
	rec.Assign(Assign{Group: "g", Member: "m", Topic: "t"})
	rec.Revoke(Revoke{Group: "g", Member: "m", Topic: "t"})
	rec.HighWatermark(HighWatermark{Topic: "t"})
	rec.Txn(Txn{Producer: "p", Outcome: TxnCommit})
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if h.Len() != 7 || h.Produces[0].End == 0 || h.Consumes[0].Time == 0 || h.Commits[0].End == 0 ||
		h.Assigns[0].Time == 0 || h.Revokes[0].Time == 0 || h.HighWatermarks[0].Time == 0 || h.Txns[0].End == 0 {
		t.Errorf("times not filled: %+v", h)
	}
	if h.Produces[0].Offset != -1 {
		t.Errorf("unacknowledged produce written with offset %d, want -1", h.Produces[0].Offset)
	}
}

func TestRecorderConcurrent(t *testing.T) {
	var buf bytes.Buffer
	rec := NewRecorder(&buf)
	const writers, each = 8, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				rec.Consume(Consume{Consumer: fmt.Sprintf("c%d", w), Topic: "t", Offset: int64(i), Value: strings.Repeat("x", i%300), Time: 1})
			}
		})
	}
	wg.Wait()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Consumes) != writers*each {
		t.Fatalf("read %d events, want %d", len(h.Consumes), writers*each)
	}
	// Each writer's events are in the order it recorded them.
	r, err := Check(h)
	if err != nil || r.AnomalyCounts[KindOffsetOrder] != 0 {
		t.Errorf("check: %v %v", err, r.Summary())
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestRecorderErrors(t *testing.T) {
	rec := NewRecorder(failWriter{})
	rec.Consume(Consume{Consumer: "c", Topic: "t"})
	if err := rec.Flush(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("flush: %v, want disk full", err)
	}
	rec.Consume(Consume{Consumer: "c", Topic: "t"})
	if err := rec.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("close: %v, want the first error", err)
	}

	var buf bytes.Buffer
	rec = NewRecorder(&buf)
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	rec.Consume(Consume{Consumer: "c", Topic: "t"})
	if err := rec.Flush(); !errors.Is(err, ErrClosed) {
		t.Errorf("record after close: %v, want ErrClosed", err)
	}
}

func TestReadRejects(t *testing.T) {
	good := `{"type":"consume","consumer":"c","topic":"t","partition":0,"offset":1,"value":"v","time":1}`
	tests := []struct {
		name, input, want string
	}{
		{"not JSON", "hello", "line 1: invalid character"},
		{"second line broken", good + "\n{", "line 2: unexpected end of JSON input"},
		{"unknown type", `{"type":"delete"}`, `line 1: unknown event type "delete"`},
		{"no type", `{"topic":"t"}`, `line 1: no "type" field`},
		{"null", `null`, `line 1: no "type" field`},
		{"array", `[1,2]`, "line 1: json: cannot unmarshal array"},
		{"two objects", good + good, "line 1: invalid character '{' after top-level value"},
		{"type not a string", `{"type":1}`, "line 1: json: cannot unmarshal number"},
		{"wrong field type", `{"type":"produce","producer":"p","topic":"t","partition":"0","outcome":"ok"}`, "line 1: json: cannot unmarshal string"},
		{"partition overflows", `{"type":"consume","consumer":"c","topic":"t","partition":4294967296}`, "line 1: json: cannot unmarshal number"},
		{"bad outcome", `{"type":"produce","producer":"p","topic":"t","outcome":"maybe"}`, `line 1: produce: outcome "maybe"`},
		{"acknowledged without offset", `{"type":"produce","producer":"p","topic":"t","outcome":"ok","offset":-1}`, "acknowledged at offset -1"},
		{"end before start", `{"type":"produce","producer":"p","topic":"t","outcome":"error","start":5,"end":4}`, "end before start"},
		{"no producer", `{"type":"produce","topic":"t","outcome":"ok"}`, "produce: no producer"},
		{"no consumer", `{"type":"consume","topic":"t"}`, "consume: no consumer"},
		{"negative offset", `{"type":"consume","consumer":"c","topic":"t","offset":-2}`, "consume: offset -2"},
		{"bad isolation", `{"type":"consume","consumer":"c","topic":"t","isolation":"serializable"}`, `isolation "serializable"`},
		{"negative partition", `{"type":"commit","group":"g","topic":"t","partition":-1,"outcome":"ok"}`, "commit: partition -1"},
		{"no member", `{"type":"revoke","group":"g","topic":"t"}`, "assign/revoke: no member"},
		{"log start above hw", `{"type":"hw","topic":"t","value":3,"log_start":4}`, "hw: log start 4 and high watermark 3"},
		{"bad txn outcome", `{"type":"txn","producer":"p","outcome":"ok"}`, `txn: outcome "ok"`},
		{"line too long", good + "\n" + `{"type":"consume","value":"` + strings.Repeat("x", MaxLineBytes) + `"}`, "line 2: line longer than 1 MiB"},
		{"binary", "\x00\xff\xfe", "line 1: invalid character"},
	}
	for _, tt := range tests {
		_, err := Read(strings.NewReader(tt.input))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
	if _, err := Read(strings.NewReader(strings.Repeat("y", MaxLineBytes+10))); !errors.Is(err, ErrLineTooLong) {
		t.Errorf("long line: %v, want ErrLineTooLong", err)
	}
}

func TestReadAccepts(t *testing.T) {
	input := "\n  \n" +
		`{"topic":"t","type":"consume","consumer":"c","offset":1,"value":"v","time":1,"new_field":[1,2]}` + "\r\n" +
		`{"type":"\u0061ssign","group":"g","member":"m","topic":"t"}` + "\n\n"
	h, err := Read(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Consumes) != 1 || len(h.Assigns) != 1 || h.Consumes[0].Offset != 1 {
		t.Errorf("read %+v", h)
	}
}

func TestMerge(t *testing.T) {
	a, b := hist(every[:4]...), hist(every[4:]...)
	a.Merge(b)
	if !reflect.DeepEqual(a, hist(every...)) {
		t.Errorf("merged %+v", a)
	}
}

// FuzzRead feeds arbitrary bytes to Read. It must never panic; a history
// it accepts must survive Check without a panic and must read back the
// same after the Recorder writes it again.
func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	rec := NewRecorder(&buf)
	for _, e := range every {
		rec.Record(e)
	}
	rec.Flush()
	f.Add(buf.Bytes())
	f.Add([]byte(`{"type":"produce","producer":"p","topic":"t","outcome":"ok","offset":9223372036854775807,"value":"a"}` + "\n" +
		`{"type":"consume","consumer":"c","topic":"t","offset":0,"value":"a","final":true}` + "\n" +
		`{"type":"consume","consumer":"c","topic":"t","offset":9223372036854775807,"value":"a","final":true}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		if _, err := Check(h); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("check: %v", err)
		}
		var out bytes.Buffer
		rec := NewRecorder(&out)
		for _, e := range events(h) {
			rec.Record(e)
		}
		if err := rec.Flush(); err != nil {
			t.Fatal(err)
		}
		h2, err := Read(&out)
		if err != nil {
			t.Fatalf("reading what the recorder wrote: %v\n%s", err, out.Bytes())
		}
		if !reflect.DeepEqual(normalize(h), h2) {
			t.Fatalf("round trip changed the history:\n%+v\n%+v", h, h2)
		}
	})
}

// events lists a history's events, type by type.
func events(h *History) []Event {
	var out []Event
	for _, e := range h.Produces {
		out = append(out, e)
	}
	for _, e := range h.Consumes {
		out = append(out, e)
	}
	for _, e := range h.Commits {
		out = append(out, e)
	}
	for _, e := range h.Assigns {
		out = append(out, e)
	}
	for _, e := range h.Revokes {
		out = append(out, e)
	}
	for _, e := range h.HighWatermarks {
		out = append(out, e)
	}
	for _, e := range h.Txns {
		out = append(out, e)
	}
	return out
}

// normalize returns h as the Recorder writes it: unacknowledged produce
// attempts carry offset -1.
func normalize(h *History) *History {
	n := hist(events(h)...)
	for i := range n.Produces {
		if n.Produces[i].Outcome != OK {
			n.Produces[i].Offset = -1
		}
	}
	return n
}
