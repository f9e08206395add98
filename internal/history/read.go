package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxLineBytes bounds one line of a history. Events are a few hundred
// bytes; a longer line is a corrupt file or a value a test should not
// record, and refusing it keeps Read's memory bounded by the line, not by
// whatever the input claims.
const MaxLineBytes = 1 << 20

// ErrLineTooLong is wrapped by Read's error for a line over MaxLineBytes.
var ErrLineTooLong = errors.New("line longer than 1 MiB")

// History is the events of one or more recordings, by type, each slice in
// the order the events were read. The checker relies on that order for
// one thing only: a consumer's reads within one session are in the order
// it made them.
type History struct {
	Produces       []Produce
	Consumes       []Consume
	Commits        []Commit
	Assigns        []Assign
	Revokes        []Revoke
	HighWatermarks []HighWatermark
	Txns           []Txn
}

// Len returns the number of events.
func (h *History) Len() int {
	return len(h.Produces) + len(h.Consumes) + len(h.Commits) + len(h.Assigns) +
		len(h.Revokes) + len(h.HighWatermarks) + len(h.Txns)
}

// Add appends one event to the slice of its type.
func (h *History) Add(e Event) {
	switch e := e.(type) {
	case Produce:
		h.Produces = append(h.Produces, e)
	case Consume:
		h.Consumes = append(h.Consumes, e)
	case Commit:
		h.Commits = append(h.Commits, e)
	case Assign:
		h.Assigns = append(h.Assigns, e)
	case Revoke:
		h.Revokes = append(h.Revokes, e)
	case HighWatermark:
		h.HighWatermarks = append(h.HighWatermarks, e)
	case Txn:
		h.Txns = append(h.Txns, e)
	}
}

// Merge appends o's events to h, as if o's lines followed h's. Histories
// recorded by different processes of one test are merged before a check.
func (h *History) Merge(o *History) {
	h.Produces = append(h.Produces, o.Produces...)
	h.Consumes = append(h.Consumes, o.Consumes...)
	h.Commits = append(h.Commits, o.Commits...)
	h.Assigns = append(h.Assigns, o.Assigns...)
	h.Revokes = append(h.Revokes, o.Revokes...)
	h.HighWatermarks = append(h.HighWatermarks, o.HighWatermarks...)
	h.Txns = append(h.Txns, o.Txns...)
}

// Read parses a history of JSON lines. Blank lines are skipped; any other
// line must be one event of a known type with valid fields, or Read fails
// with an error that names the line. Unknown fields are ignored, so a
// newer recorder's extra fields do not break an older checker; an unknown
// event type is an error, because silently dropping events could hide an
// anomaly.
func Read(r io.Reader) (*History, error) {
	sc := bufio.NewScanner(r)
	// The buffer must hold the longest line plus its newline.
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes+2)
	h := &History{}
	in := interner{}
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if len(b) > MaxLineBytes {
			return nil, fmt.Errorf("line %d: %w", line, ErrLineTooLong)
		}
		if err := h.parseLine(b, in); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: %w", line+1, ErrLineTooLong)
		}
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return h, nil
}

// typePrefix is how every line the Recorder writes begins.
var typePrefix = []byte(`{"type":"`)

// lineType returns the event type of a line: from its first field when the
// line begins the way the Recorder writes it, else by decoding the line
// once just for the type (hand-written histories may put it anywhere).
func lineType(b []byte) (string, error) {
	if rest, ok := bytes.CutPrefix(b, typePrefix); ok {
		if i := bytes.IndexByte(rest, '"'); i > 0 && bytes.IndexByte(rest[:i], '\\') < 0 {
			return string(rest[:i]), nil
		}
	}
	var t struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return "", err
	}
	return t.Type, nil
}

func (h *History) parseLine(b []byte, in interner) error {
	typ, err := lineType(b)
	if err != nil {
		return err
	}
	switch typ {
	case typeProduce:
		var e Produce
		if err := json.Unmarshal(b, &e); err != nil {
			return err
		}
		if err := e.validate(); err != nil {
			return err
		}
		e.Client, e.Producer, e.Topic, e.Txn = in.s(e.Client), in.s(e.Producer), in.s(e.Topic), in.s(e.Txn)
		h.Produces = append(h.Produces, e)
	case typeConsume:
		var e Consume
		if err := json.Unmarshal(b, &e); err != nil {
			return err
		}
		if err := e.validate(); err != nil {
			return err
		}
		e.Consumer, e.Group, e.Topic = in.s(e.Consumer), in.s(e.Group), in.s(e.Topic)
		h.Consumes = append(h.Consumes, e)
	case typeCommit:
		var e Commit
		if err := json.Unmarshal(b, &e); err != nil {
			return err
		}
		if err := e.validate(); err != nil {
			return err
		}
		h.Commits = append(h.Commits, e)
	case typeAssign, typeRevoke:
		var e Assign
		if err := json.Unmarshal(b, &e); err != nil {
			return err
		}
		if err := e.validate(); err != nil {
			return err
		}
		if typ == typeAssign {
			h.Assigns = append(h.Assigns, e)
		} else {
			h.Revokes = append(h.Revokes, Revoke(e))
		}
	case typeHW:
		var e HighWatermark
		if err := json.Unmarshal(b, &e); err != nil {
			return err
		}
		if err := e.validate(); err != nil {
			return err
		}
		h.HighWatermarks = append(h.HighWatermarks, e)
	case typeTxn:
		var e Txn
		if err := json.Unmarshal(b, &e); err != nil {
			return err
		}
		if err := e.validate(); err != nil {
			return err
		}
		h.Txns = append(h.Txns, e)
	case "":
		return errors.New(`no "type" field`)
	default:
		return fmt.Errorf("unknown event type %q", typ)
	}
	return nil
}

// interner shares the strings that repeat on every line (topic, producer,
// consumer, group), so that a history of ten million events holds one
// copy of each instead of ten million.
type interner map[string]string

// internMax bounds the interner: a history whose names never repeat gains
// nothing from it and must not double its memory.
const internMax = 1 << 16

func (in interner) s(v string) string {
	if v == "" {
		return ""
	}
	if c, ok := in[v]; ok {
		return c
	}
	if len(in) < internMax {
		in[v] = v
	}
	return v
}

func (p *Produce) validate() error {
	switch {
	case p.Producer == "":
		return errors.New("produce: no producer")
	case p.Topic == "":
		return errors.New("produce: no topic")
	case p.Partition < 0:
		return fmt.Errorf("produce: partition %d", p.Partition)
	case !p.Outcome.valid():
		return fmt.Errorf("produce: outcome %q, want ok, error or unknown", p.Outcome)
	case p.Outcome == OK && p.Offset < 0:
		return fmt.Errorf("produce: acknowledged at offset %d", p.Offset)
	case p.End < p.Start:
		return errors.New("produce: end before start")
	}
	return nil
}

func (c *Consume) validate() error {
	switch {
	case c.Consumer == "":
		return errors.New("consume: no consumer")
	case c.Topic == "":
		return errors.New("consume: no topic")
	case c.Partition < 0:
		return fmt.Errorf("consume: partition %d", c.Partition)
	case c.Offset < 0:
		return fmt.Errorf("consume: offset %d", c.Offset)
	case !c.Isolation.valid():
		return fmt.Errorf("consume: isolation %q, want read_uncommitted or read_committed", c.Isolation)
	}
	return nil
}

func (c *Commit) validate() error {
	switch {
	case c.Group == "":
		return errors.New("commit: no group")
	case c.Topic == "":
		return errors.New("commit: no topic")
	case c.Partition < 0:
		return fmt.Errorf("commit: partition %d", c.Partition)
	case c.Offset < 0:
		return fmt.Errorf("commit: offset %d", c.Offset)
	case !c.Outcome.valid():
		return fmt.Errorf("commit: outcome %q, want ok, error or unknown", c.Outcome)
	case c.End < c.Start:
		return errors.New("commit: end before start")
	}
	return nil
}

func (a *Assign) validate() error {
	switch {
	case a.Group == "":
		return errors.New("assign/revoke: no group")
	case a.Member == "":
		return errors.New("assign/revoke: no member")
	case a.Topic == "":
		return errors.New("assign/revoke: no topic")
	case a.Partition < 0:
		return fmt.Errorf("assign/revoke: partition %d", a.Partition)
	}
	return nil
}

func (hw *HighWatermark) validate() error {
	switch {
	case hw.Topic == "":
		return errors.New("hw: no topic")
	case hw.Partition < 0:
		return fmt.Errorf("hw: partition %d", hw.Partition)
	case hw.Value < 0 || hw.LogStart < 0 || hw.LogStart > hw.Value:
		return fmt.Errorf("hw: log start %d and high watermark %d", hw.LogStart, hw.Value)
	}
	return nil
}

func (t *Txn) validate() error {
	switch {
	case t.Producer == "":
		return errors.New("txn: no producer")
	case !t.Outcome.valid():
		return fmt.Errorf("txn: outcome %q, want commit, abort or unknown", t.Outcome)
	}
	return nil
}
