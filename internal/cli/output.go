package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
)

// table prints aligned columns for people. Cells are separated by tabs and
// aligned when the table is flushed, so a table must be flushed once after
// its last row.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, headers ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	if len(headers) > 0 {
		t.row(toAny(headers)...)
	}
	return t
}

// row prints one line. Empty strings print as "-" so that columns stay
// aligned and readers can tell "none" from a formatting slip.
func (t *table) row(cells ...any) {
	for i, c := range cells {
		if i > 0 {
			io.WriteString(t.tw, "\t")
		}
		s := fmt.Sprint(c)
		if s == "" {
			s = "-"
		}
		io.WriteString(t.tw, strings.ReplaceAll(s, "\t", " "))
	}
	io.WriteString(t.tw, "\n")
}

func (t *table) flush() error { return t.tw.Flush() }

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// printJSON writes v as indented JSON followed by a newline. Scripts get one
// JSON document per command run (consume is the exception: it writes one
// object per line so that it can stream).
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// joinInt32s formats broker lists the way Kafka's tools do: "1,2,3".
func joinInt32s(ids []int32) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(int64(id), 10))
	}
	return b.String()
}

// isTerminal reports whether w is a character device, which is how progress
// bars decide whether anyone is watching. It needs no terminal library: a
// pipe, a file or a test buffer is never a character device.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// parseKeyValue splits "k=v" at the first '='. It backs -c/--config,
// --set and -H/--header; what names the flag for the error message.
func parseKeyValue(s, what string) (key, value string, err error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return "", "", fmt.Errorf("invalid %s %q: want key=value", what, s)
	}
	return k, v, nil
}
