package record

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

func legacySet(magic int8, n int, base int64) []byte {
	var out []byte
	for i := 0; i < n; i++ {
		var key []byte
		if i%2 == 0 {
			key = []byte(fmt.Sprintf("k%d", i))
		}
		out = appendMessage(out, base+int64(i), magic, 0, 1000+int64(i), key, []byte(fmt.Sprintf("v%d", i)))
	}
	return out
}

func gzipWrapper(magic int8, inner []byte, lastOffset int64) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(inner)
	w.Close()
	return appendMessage(nil, lastOffset, magic, CompressionGzip, 2000, nil, buf.Bytes())
}

func TestLegacyRoundTrip(t *testing.T) {
	for _, magic := range []int8{0, 1} {
		for name, set := range map[string][]byte{
			"plain": legacySet(magic, 5, 0),
			"gzip":  gzipWrapper(magic, legacySet(magic, 5, 0), 4),
		} {
			t.Run(fmt.Sprintf("magic%d/%s", magic, name), func(t *testing.T) {
				batch, err := FromMessageSet(set)
				if err != nil {
					t.Fatal(err)
				}
				h, err := ValidateProduced(batch)
				if err != nil {
					t.Fatal(err)
				}
				if h.NumRecords != 5 {
					t.Fatalf("%d records", h.NumRecords)
				}
				SetBaseOffset(batch, 100)
				back, err := ToMessageSet(batch, 1, 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				var msgs []legacyMessage
				if err := walkMessageSet(back, 0, &msgs); err != nil {
					t.Fatal(err)
				}
				if len(msgs) != 5 {
					t.Fatalf("%d messages back", len(msgs))
				}
				for i, m := range msgs {
					if string(m.value) != fmt.Sprintf("v%d", i) || (i%2 == 0) != (m.key != nil) {
						t.Fatalf("message %d: %q=%q", i, m.key, m.value)
					}
					if magic == 1 && m.timestamp != 1000+int64(i) {
						t.Fatalf("message %d: timestamp %d", i, m.timestamp)
					}
				}
				if first := int64(binary.BigEndian.Uint64(back)); first != 100 {
					t.Fatalf("first offset %d, want 100", first)
				}
			})
		}
	}
}

func TestLegacyRejects(t *testing.T) {
	good := legacySet(1, 2, 0)
	bad := append([]byte(nil), good...)
	bad[len(bad)-1] ^= 1
	for name, set := range map[string][]byte{"crc": bad, "short": good[:10], "cut": good[:len(good)-3], "empty": nil} {
		if _, err := FromMessageSet(set); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzLegacy(f *testing.F) {
	f.Add(legacySet(1, 3, 0))
	f.Add(gzipWrapper(1, legacySet(1, 2, 0), 1))
	f.Add(makeBatch(2, -1, -1))
	f.Fuzz(func(t *testing.T, b []byte) {
		if batch, err := FromMessageSet(b); err == nil {
			if _, err := ValidateProduced(batch); err != nil {
				t.Fatalf("converted batch invalid: %v", err)
			}
		}
		_, _ = ToMessageSet(b, 0, 1<<20)
		_, _ = ToMessageSet(b, 1, 1<<20)
	})
}
