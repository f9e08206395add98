package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
)

// recordFormatter appends the printed form of one record, including its
// trailing newline, to dst.
type recordFormatter func(dst []byte, r *kgo.Record) ([]byte, error)

// newRecordFormatter builds a formatter for -f/--format:
//
//	text   the value only, like kafka-console-consumer
//	kv     key, a tab, then the value (a record without a key prints an empty key)
//	json   one JSON object per line (see jsonRecord)
//	%...   a printf-like layout: %t topic, %p partition, %o offset, %k key,
//	       %v value, %T timestamp in ms, %h headers as k=v,k=v, %% a percent;
//	       \n, \t and \\ are unescaped
//	{{..}} a Go text/template executed with a templateRecord
//
// Layouts and templates get a newline appended unless they already end in one.
func newRecordFormatter(spec string) (recordFormatter, error) {
	switch spec {
	case "text", "":
		return formatText, nil
	case "kv":
		return formatKV, nil
	case "json":
		return formatJSON, nil
	}
	switch {
	case strings.Contains(spec, "{{"):
		return newTemplateFormatter(spec)
	case strings.Contains(spec, "%"):
		return newLayoutFormatter(spec)
	}
	return nil, fmt.Errorf("invalid format %q: want text, kv, json, a %%-layout such as '%%k %%v' or a {{template}}", spec)
}

func formatText(dst []byte, r *kgo.Record) ([]byte, error) {
	dst = append(dst, r.Value...)
	return append(dst, '\n'), nil
}

func formatKV(dst []byte, r *kgo.Record) ([]byte, error) {
	dst = append(dst, r.Key...)
	dst = append(dst, '\t')
	dst = append(dst, r.Value...)
	return append(dst, '\n'), nil
}

// jsonRecord is the stable JSON shape of a consumed record. Keys, values and
// header values are strings when they are valid UTF-8; otherwise they are
// base64 and the matching *_encoding field says "base64". A missing key or
// value is null.
type jsonRecord struct {
	Topic         string       `json:"topic"`
	Partition     int32        `json:"partition"`
	Offset        int64        `json:"offset"`
	Timestamp     string       `json:"timestamp"`
	TimestampMs   int64        `json:"timestamp_ms"`
	Key           *string      `json:"key"`
	KeyEncoding   string       `json:"key_encoding,omitempty"`
	Value         *string      `json:"value"`
	ValueEncoding string       `json:"value_encoding,omitempty"`
	Headers       []jsonHeader `json:"headers"`
}

type jsonHeader struct {
	Key           string  `json:"key"`
	Value         *string `json:"value"`
	ValueEncoding string  `json:"value_encoding,omitempty"`
}

// encodeBytes returns b as a JSON-safe string and its encoding: "" for
// UTF-8 text, "base64" otherwise, and a nil string for nil bytes.
func encodeBytes(b []byte) (*string, string) {
	if b == nil {
		return nil, ""
	}
	if utf8.Valid(b) {
		s := string(b)
		return &s, ""
	}
	s := base64.StdEncoding.EncodeToString(b)
	return &s, "base64"
}

func toJSONRecord(r *kgo.Record) jsonRecord {
	j := jsonRecord{
		Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		Timestamp:   r.Timestamp.UTC().Format(time.RFC3339Nano),
		TimestampMs: r.Timestamp.UnixMilli(),
		Headers:     make([]jsonHeader, 0, len(r.Headers)),
	}
	j.Key, j.KeyEncoding = encodeBytes(r.Key)
	j.Value, j.ValueEncoding = encodeBytes(r.Value)
	for _, h := range r.Headers {
		jh := jsonHeader{Key: h.Key}
		jh.Value, jh.ValueEncoding = encodeBytes(h.Value)
		j.Headers = append(j.Headers, jh)
	}
	return j
}

func formatJSON(dst []byte, r *kgo.Record) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(toJSONRecord(r)); err != nil { // Encode appends the newline.
		return dst, err
	}
	return append(dst, buf.Bytes()...), nil
}

// layoutPart is one piece of a %-layout: literal text, or a verb to expand.
type layoutPart struct {
	literal string
	verb    byte
}

func newLayoutFormatter(spec string) (recordFormatter, error) {
	spec = withNewline(unescape(spec))
	var parts []layoutPart
	var lit strings.Builder
	for i := 0; i < len(spec); i++ {
		c := spec[i]
		if c != '%' {
			lit.WriteByte(c)
			continue
		}
		if i+1 >= len(spec) {
			return nil, fmt.Errorf("invalid format %q: ends with a lone %%", spec)
		}
		i++
		switch v := spec[i]; v {
		case '%':
			lit.WriteByte('%')
		case 't', 'p', 'o', 'k', 'v', 'T', 'h':
			parts = append(parts, layoutPart{literal: lit.String()}, layoutPart{verb: v})
			lit.Reset()
		default:
			return nil, fmt.Errorf("invalid format verb %%%c: want %%t %%p %%o %%k %%v %%T %%h or %%%%", v)
		}
	}
	parts = append(parts, layoutPart{literal: lit.String()})
	return func(dst []byte, r *kgo.Record) ([]byte, error) {
		for _, p := range parts {
			dst = appendLayoutPart(dst, p, r)
		}
		return dst, nil
	}, nil
}

func appendLayoutPart(dst []byte, p layoutPart, r *kgo.Record) []byte {
	switch p.verb {
	case 0:
		return append(dst, p.literal...)
	case 't':
		return append(dst, r.Topic...)
	case 'p':
		return strconv.AppendInt(dst, int64(r.Partition), 10)
	case 'o':
		return strconv.AppendInt(dst, r.Offset, 10)
	case 'k':
		return append(dst, r.Key...)
	case 'v':
		return append(dst, r.Value...)
	case 'T':
		return strconv.AppendInt(dst, r.Timestamp.UnixMilli(), 10)
	case 'h':
		for i, h := range r.Headers {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, h.Key...)
			dst = append(dst, '=')
			dst = append(dst, h.Value...)
		}
	}
	return dst
}

// unescape turns the two-character sequences \n, \t and \\ into the
// characters they name, because shells make literal tabs and newlines
// awkward to type inside a flag.
func unescape(s string) string {
	return strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\t`, "\t").Replace(s)
}

func withNewline(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

// templateRecord is what a {{template}} format sees: keys, values and
// header values as strings (a missing key is the empty string).
type templateRecord struct {
	Topic       string
	Partition   int32
	Offset      int64
	Timestamp   time.Time
	TimestampMs int64
	Key         string
	Value       string
	Headers     []templateHeader
}

type templateHeader struct {
	Key   string
	Value string
}

func newTemplateFormatter(spec string) (recordFormatter, error) {
	tmpl, err := template.New("format").Funcs(template.FuncMap{
		"base64": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"quote":  strconv.Quote,
	}).Parse(withNewline(unescape(spec)))
	if err != nil {
		return nil, fmt.Errorf("invalid format template: %w", err)
	}
	return func(dst []byte, r *kgo.Record) ([]byte, error) {
		tr := templateRecord{
			Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
			Timestamp: r.Timestamp, TimestampMs: r.Timestamp.UnixMilli(),
			Key: string(r.Key), Value: string(r.Value),
		}
		for _, h := range r.Headers {
			tr.Headers = append(tr.Headers, templateHeader{Key: h.Key, Value: string(h.Value)})
		}
		buf := bytes.NewBuffer(dst)
		if err := tmpl.Execute(buf, tr); err != nil {
			return dst, fmt.Errorf("format template: %w", err)
		}
		return buf.Bytes(), nil
	}, nil
}
