package cli

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The console tools' --property options: kafka-console-consumer's
// DefaultMessageFormatter (print.key, print.timestamp, ...) and
// kafka-console-producer's LineMessageReader (parse.key, key.separator,
// ...), with Kafka's defaults and output layout.

// parseProperties turns repeated key=value flags into a map.
func parseProperties(pairs []string, what string) (map[string]string, error) {
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, err := parseKeyValue(p, what)
		if err != nil {
			return nil, err
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, nil
}

// propertyBool reads a boolean property as Java's Boolean.parseBoolean
// does (only "true", in any case, is true); unset keeps def.
func propertyBool(props map[string]string, key string, def bool) bool {
	v, ok := props[key]
	if !ok {
		return def
	}
	return strings.EqualFold(strings.TrimSpace(v), "true")
}

func propertyString(props map[string]string, key, def string) string {
	if v, ok := props[key]; ok {
		return unescape(v)
	}
	return def
}

// checkProperties refuses keys outside known (the deserializer settings
// Kafka's users often copy are accepted when they name the string or
// byte-array deserializers, which print what samsa prints).
func checkProperties(props map[string]string, known []string, what string) error {
	for k, v := range props {
		if strings.HasSuffix(k, ".deserializer") || strings.HasSuffix(k, ".serializer") {
			if strings.HasSuffix(v, "StringDeserializer") || strings.HasSuffix(v, "ByteArrayDeserializer") ||
				strings.HasSuffix(v, "StringSerializer") || strings.HasSuffix(v, "ByteArraySerializer") {
				continue
			}
			return fmt.Errorf("%s %s=%s: samsa prints and reads bytes as they are; only the String and ByteArray (de)serializers are supported", what, k, v)
		}
		found := false
		for _, n := range known {
			found = found || n == k
		}
		if !found {
			sort.Strings(known)
			return fmt.Errorf("%s %q is not supported (known: %s)", what, k, strings.Join(known, ", "))
		}
	}
	return nil
}

var formatterProperties = []string{"print.timestamp", "print.key", "print.value", "print.partition", "print.offset",
	"print.headers", "key.separator", "line.separator", "headers.separator", "headers.key.separator", "null.literal"}

// newKafkaFormatter prints records as kafka-console-consumer's default
// formatter does, for example with print.timestamp, print.partition,
// print.offset, print.headers and print.key:
//
//	CreateTime:1700000000000	Partition:0	Offset:5	h1:v1,h2:v2	key	value
func newKafkaFormatter(props map[string]string) (recordFormatter, error) {
	if err := checkProperties(props, formatterProperties, "--property"); err != nil {
		return nil, err
	}
	var (
		printTS        = propertyBool(props, "print.timestamp", false)
		printKey       = propertyBool(props, "print.key", false)
		printValue     = propertyBool(props, "print.value", true)
		printPartition = propertyBool(props, "print.partition", false)
		printOffset    = propertyBool(props, "print.offset", false)
		printHeaders   = propertyBool(props, "print.headers", false)
		keySep         = propertyString(props, "key.separator", "\t")
		lineSep        = propertyString(props, "line.separator", "\n")
		headersSep     = propertyString(props, "headers.separator", ",")
		headersKeySep  = propertyString(props, "headers.key.separator", ":")
		nullLiteral    = propertyString(props, "null.literal", "null")
	)
	// sep ends a column: the key separator when more columns follow, the
	// line separator after the last one.
	sep := func(dst []byte, more bool) []byte {
		if more {
			return append(dst, keySep...)
		}
		return append(dst, lineSep...)
	}
	bytesOrNull := func(dst, b []byte) []byte {
		if b == nil {
			return append(dst, nullLiteral...)
		}
		return append(dst, b...)
	}
	return func(dst []byte, r *kgo.Record) ([]byte, error) {
		if printTS {
			if r.Attrs.TimestampType() == 1 {
				dst = append(dst, "LogAppendTime:"...)
			} else {
				dst = append(dst, "CreateTime:"...)
			}
			dst = strconv.AppendInt(dst, r.Timestamp.UnixMilli(), 10)
			dst = sep(dst, printPartition || printOffset || printHeaders || printKey || printValue)
		}
		if printPartition {
			dst = strconv.AppendInt(append(dst, "Partition:"...), int64(r.Partition), 10)
			dst = sep(dst, printOffset || printHeaders || printKey || printValue)
		}
		if printOffset {
			dst = strconv.AppendInt(append(dst, "Offset:"...), r.Offset, 10)
			dst = sep(dst, printHeaders || printKey || printValue)
		}
		if printHeaders {
			if len(r.Headers) == 0 {
				dst = append(dst, "NO_HEADERS"...)
			}
			for i, h := range r.Headers {
				if i > 0 {
					dst = append(dst, headersSep...)
				}
				dst = append(append(dst, h.Key...), headersKeySep...)
				dst = bytesOrNull(dst, h.Value)
			}
			dst = sep(dst, printKey || printValue)
		}
		if printKey {
			dst = sep(bytesOrNull(dst, r.Key), printValue)
		}
		if printValue {
			dst = append(bytesOrNull(dst, r.Value), lineSep...)
		}
		return dst, nil
	}, nil
}

var readerProperties = []string{"parse.key", "key.separator", "parse.headers", "headers.delimiter",
	"headers.separator", "headers.key.separator", "null.marker", "ignore.error"}

// lineReader turns one input line into a record (number is the line's,
// from 1, for messages).
type lineReader func(line []byte, number int64) (*kgo.Record, error)

// newKafkaLineReader reads lines as kafka-console-producer's
// LineMessageReader: with parse.headers, the line starts with headers
// (k:v,k:v) up to headers.delimiter (a tab); with parse.key, the key runs
// up to key.separator (a tab); the rest is the value. A key, value or
// header value equal to null.marker is null. A line without a separator
// it needs is an error, unless ignore.error=true, which takes the whole
// line as the value.
func newKafkaLineReader(props map[string]string) (lineReader, error) {
	if err := checkProperties(props, readerProperties, "--property"); err != nil {
		return nil, err
	}
	var (
		parseKey            = propertyBool(props, "parse.key", false)
		keySep              = propertyString(props, "key.separator", "\t")
		parseHeaders        = propertyBool(props, "parse.headers", false)
		headersDelim        = propertyString(props, "headers.delimiter", "\t")
		headersSep          = propertyString(props, "headers.separator", ",")
		headersKeySep       = propertyString(props, "headers.key.separator", ":")
		nullMarker, hasNull = props["null.marker"]
		ignoreError         = propertyBool(props, "ignore.error", false)
	)
	if parseKey && keySep == "" || parseHeaders && (headersDelim == "" || headersSep == "" || headersKeySep == "") {
		return nil, fmt.Errorf("--property: separators must not be empty")
	}
	orNull := func(b []byte) []byte {
		if hasNull && string(b) == nullMarker {
			return nil
		}
		return b
	}
	return func(line []byte, n int64) (*kgo.Record, error) {
		r := &kgo.Record{}
		rest := line
		if parseHeaders {
			head, tail, ok := bytes.Cut(rest, []byte(headersDelim))
			switch {
			case ok:
				for _, h := range bytes.Split(head, []byte(headersSep)) {
					if len(h) == 0 {
						continue
					}
					k, v, ok := bytes.Cut(h, []byte(headersKeySep))
					if !ok {
						return nil, fmt.Errorf("line %d: header %q has no %q between key and value", n, h, headersKeySep)
					}
					r.Headers = append(r.Headers, kgo.RecordHeader{Key: string(k), Value: orNull(v)})
				}
				rest = tail
			case !ignoreError:
				return nil, fmt.Errorf("line %d: no headers delimiter %q (parse.headers=true; ignore.error=true takes such lines as values)", n, headersDelim)
			}
		}
		if parseKey {
			k, v, ok := bytes.Cut(rest, []byte(keySep))
			switch {
			case ok:
				r.Key, rest = orNull(k), v
			case !ignoreError:
				return nil, fmt.Errorf("line %d: no key separator %q (parse.key=true; ignore.error=true takes such lines as values)", n, keySep)
			}
		}
		r.Value = orNull(rest)
		return r, nil
	}, nil
}
