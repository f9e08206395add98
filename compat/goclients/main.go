// Command goclients runs the Go client scenarios of Samsa's compatibility
// suite: IBM/sarama, segmentio/kafka-go and franz-go.
//
//	goclients BOOTSTRAP CLIENT SCENARIO   run one scenario; exit 0 if every check passes,
//	                                      else print "FAIL: why" and exit 1
//	goclients -version CLIENT             print the client's module version
//
// It is its own Go module (compat/goclients/go.mod) so that the broker's
// module does not depend on these clients.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"
)

// scenarios maps client name to scenario name to its function.
var scenarios = map[string]map[string]func(bootstrap string) error{
	"sarama":   saramaScenarios,
	"kafka-go": kafkaGoScenarios,
	"franz-go": franzScenarios,
}

var modules = map[string]string{
	"sarama":   "github.com/IBM/sarama",
	"kafka-go": "github.com/segmentio/kafka-go",
	"franz-go": "github.com/twmb/franz-go",
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "-version" {
		fmt.Println(moduleVersion(os.Args[2]))
		return
	}
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: goclients BOOTSTRAP CLIENT SCENARIO | goclients -version CLIENT")
		os.Exit(2)
	}
	bootstrap, client, name := os.Args[1], os.Args[2], os.Args[3]
	fn := scenarios[client][name]
	if fn == nil {
		fmt.Fprintf(os.Stderr, "FAIL: no scenario %s/%s\n", client, name)
		os.Exit(2)
	}
	if err := fn(bootstrap); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		os.Exit(1)
	}
	fmt.Println("ok", client, name)
}

func moduleVersion(client string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return client + " (unknown version)"
	}
	for _, d := range info.Deps {
		if d.Path == modules[client] {
			return client + " " + d.Version
		}
	}
	return client + " (not linked)"
}

// rec is one record as produced or consumed. Partition and Offset are -1 for
// a produced record whose client does not report where it landed.
type rec struct {
	Partition int32
	Offset    int64
	Key       string
	Value     string
	Headers   []header
}

type header struct{ Key, Value string }

// testRecords returns n keyed records with headers; record i has header seq=i.
func testRecords(n int, client string) []rec {
	rs := make([]rec, n)
	for i := range rs {
		rs[i] = rec{
			Partition: -1,
			Offset:    -1,
			Key:       fmt.Sprintf("key-%d", i%43),
			Value:     fmt.Sprintf("value-%d-%s", i, strings.Repeat("x", i%70)),
			Headers:   []header{{"seq", fmt.Sprint(i)}, {"client", client}},
		}
	}
	return rs
}

// seqOf returns the index of a record in testRecords: from its seq header,
// or, for message formats without headers, from its value.
func seqOf(r rec) int {
	for _, h := range r.Headers {
		if h.Key == "seq" {
			var n int
			fmt.Sscan(h.Value, &n)
			return n
		}
	}
	var n int
	if _, err := fmt.Sscanf(r.Value, "value-%d-", &n); err == nil {
		return n
	}
	return -1
}

// verify checks consumed records against the produced ones: every record
// exactly once with its key, value and headers; offsets 0..n-1 per partition;
// send order kept within each partition; each key on one partition; and where
// the producer reported partition and offset, that they match.
func verify(sent []rec, got map[int32][]rec) error {
	total := 0
	keyPart := map[string]int32{}
	seen := make([]bool, len(sent))
	for p, rs := range got {
		prev := -1
		for j, r := range rs {
			if r.Offset != int64(j) {
				return fmt.Errorf("partition %d: record %d has offset %d", p, j, r.Offset)
			}
			s := seqOf(r)
			if s < 0 || s >= len(sent) {
				return fmt.Errorf("partition %d offset %d: bad seq header %v", p, r.Offset, r.Headers)
			}
			if seen[s] {
				return fmt.Errorf("partition %d offset %d: record seq %d consumed twice", p, r.Offset, s)
			}
			seen[s] = true
			if s <= prev {
				return fmt.Errorf("partition %d offset %d: seq %d after %d (send order lost)", p, r.Offset, s, prev)
			}
			prev = s
			w := sent[s]
			if r.Key != w.Key || r.Value != w.Value {
				return fmt.Errorf("partition %d offset %d: got %s=%s, want %s=%s", p, r.Offset, r.Key, r.Value, w.Key, w.Value)
			}
			if fmt.Sprint(r.Headers) != fmt.Sprint(w.Headers) {
				return fmt.Errorf("partition %d offset %d: headers %v, want %v", p, r.Offset, r.Headers, w.Headers)
			}
			if w.Partition >= 0 && (w.Partition != p || w.Offset != r.Offset) {
				return fmt.Errorf("seq %d: producer reported %d@%d, consumed at %d@%d", s, w.Partition, w.Offset, p, r.Offset)
			}
			if kp, ok := keyPart[r.Key]; ok && kp != p {
				return fmt.Errorf("key %s in partitions %d and %d", r.Key, kp, p)
			}
			keyPart[r.Key] = p
			total++
		}
	}
	if total != len(sent) {
		return fmt.Errorf("consumed %d records, produced %d", total, len(sent))
	}
	if len(got) < 2 {
		return errors.New("every record landed in one partition")
	}
	parts := make([]int, 0, len(got))
	for p, rs := range got {
		parts = append(parts, int(p))
		_ = rs
	}
	sort.Ints(parts)
	fmt.Printf("verified %d records over partitions %v\n", total, parts)
	return nil
}

// eventually retries cond for up to d.
func eventually(d time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(d)
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not true after %v", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
