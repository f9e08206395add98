package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// The commands as someone used to Kafka's tools types them: Kafka's flag
// names, action flags and --property options, against a real broker.
func TestEndToEndKafkaToolFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	addr := brokertest.Start(t, "group.initial.rebalance.delay.ms", "0").Addr()
	run := func(stdin string, args ...string) (string, string) {
		t.Helper()
		stdout, stderr, code := runCLI(t, stdin, args...)
		if code != exitOK {
			t.Fatalf("samsa %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, stdout, stderr)
		}
		return stdout, stderr
	}
	bs := "--bootstrap-server"

	// kafka-topics.sh
	out, _ := run("", "topic", "create", "test-topic", bs, addr, "--partitions", "2", "--replication-factor", "1")
	if !strings.Contains(out, `Created topic "test-topic" with 2 partition(s)`) {
		t.Errorf("create: %q", out)
	}
	run("", "topic", "--create", "--topic", "other", "--partitions", "1", bs, addr)
	out, _ = run("", bs, addr, "topic", "--list")
	if !strings.Contains(out, "test-topic") || !strings.Contains(out, "other") {
		t.Errorf("--list: %q", out)
	}
	run("", "topic", "--alter", "--topic", "other", "--partitions", "3", bs, addr)
	out, _ = run("", "topic", "--describe", "--topic", "other", bs, addr)
	if !strings.Contains(out, "PartitionCount: 3") {
		t.Errorf("--describe after --alter --partitions 3: %q", out)
	}
	run("", "topic", "--delete", "--topic", "other", bs, addr)
	if _, stderr, code := runCLI(t, "", "topic", "--describe", "--topic", "other", bs, addr); code != exitFailure || !strings.Contains(stderr, "does not exist") {
		t.Errorf("describe after --delete: %d %q", code, stderr)
	}
	if _, stderr, code := runCLI(t, "", "topic", "--list", "--delete"); code != exitUsage || !strings.Contains(stderr, "give only one of") {
		t.Errorf("two actions: %d %q", code, stderr)
	}

	// kafka-console-producer.sh with parse.key and parse.headers.
	_, stderr := run("h1:a,h2:b|k1:one\nh1:c|k2:two\n", "produce", bs, addr, "--topic", "test-topic",
		"--property", "parse.key=true", "--property", "key.separator=:",
		"--property", "parse.headers=true", "--property", "headers.delimiter=|",
		"--request-required-acks", "all", "--compression-codec")
	if !strings.HasPrefix(stderr, `Produced 2 record(s) to "test-topic"`) {
		t.Errorf("produce: %q", stderr)
	}
	if _, stderr, code := runCLI(t, "nokey\n", "produce", bs, addr, "--topic", "test-topic", "--property", "parse.key=true"); code != exitFailure ||
		!strings.Contains(stderr, "line 1: no key separator") {
		t.Errorf("a line without the key separator: %d %q", code, stderr)
	}

	// kafka-console-consumer.sh with print.* properties.
	out, stderr = run("", "consume", bs, addr, "--topic", "test-topic", "--from-beginning", "--max-messages", "2",
		"--property", "print.key=true", "--property", "print.headers=true", "--property", "print.partition=true",
		"--property", "print.offset=true", "--property", "print.timestamp=true", "--timeout-ms", "20000")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(stderr, "Processed a total of 2 messages") {
		t.Fatalf("consume: %q %q", out, stderr)
	}
	for _, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) != 6 || !strings.HasPrefix(f[0], "CreateTime:") || !strings.HasPrefix(f[1], "Partition:") || !strings.HasPrefix(f[2], "Offset:") {
			t.Errorf("line %q", l)
		}
		if got := strings.Join(f[3:], " "); got != "h1:a,h2:b k1 one" && got != "h1:c k2 two" {
			t.Errorf("headers, key, value: %q", got)
		}
	}

	// A group member (--group), with the live progress line forced on.
	out, stderr = run("", "consume", bs, addr, "--topic", "test-topic", "--group", "g1", "--from-beginning",
		"--timeout-ms", "1500", "--progress")
	if len(strings.Fields(out)) != 2 || !strings.Contains(stderr, "rec/s") || !strings.Contains(stderr, "lag 0") {
		t.Errorf("group consume with --progress: %q %q", out, stderr)
	}

	// kafka-consumer-groups.sh
	out, _ = run("", "group", "--describe", "--group", "g1", bs, addr)
	if !strings.Contains(out, "Group g1: state Empty") {
		t.Errorf("group --describe: %q", out)
	}
	out, _ = run("", "group", "--list", bs, addr)
	if !strings.Contains(out, "g1") {
		t.Errorf("group --list: %q", out)
	}
	out, _ = run("", "group", "describe", "--all-groups", bs, addr)
	if !strings.Contains(out, "Group g1") {
		t.Errorf("describe --all-groups: %q", out)
	}
	run("", "group", "--reset-offsets", "--group", "g1", "--topic", "test-topic", "--to-earliest", "--execute", bs, addr)
}

// group describe --watch: one JSON line per refresh, rates from the second
// on.
func TestEndToEndGroupDescribeWatch(t *testing.T) {
	r := newCLIRunner(t)
	r.ok("", "topic", "create", "w", "-p", "1")
	r.ok("a\nb\nc\n", "produce", "w")
	r.ok("", "consume", "w", "-g", "wg", "--from-beginning", "-n", "3")

	out, _ := r.ok("", "group", "describe", "wg", "--watch", "--interval", "100ms", "--iterations", "2", "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 refreshes, got %q", out)
	}
	var frame struct {
		Time   string             `json:"time"`
		Groups []groupDescription `json:"groups"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &frame); err != nil || len(frame.Groups) != 1 {
		t.Fatalf("%v: %q", err, lines[1])
	}
	o := frame.Groups[0].Offsets[0]
	if o.ConsumeRate == nil || *o.ConsumeRate != 0 || o.ProduceRate == nil || frame.Groups[0].TotalLag != 0 {
		t.Errorf("second refresh: %+v", frame.Groups[0])
	}
	table, _ := r.ok("", "group", "describe", "wg", "--watch", "--interval", "100ms", "--iterations", "2")
	if strings.Count(table, "Every 100ms: samsa group describe wg") != 2 || !strings.Contains(table, "RATE/S") ||
		!strings.Contains(table, "consuming 0.0 rec/s") {
		t.Errorf("watch table:\n%s", table)
	}
}

func TestKafkaFormatter(t *testing.T) {
	r := &kgo.Record{Topic: "t", Partition: 2, Offset: 7, Key: []byte("k"), Value: []byte("v"),
		Timestamp: time.UnixMilli(1700000000000), Headers: []kgo.RecordHeader{{Key: "a", Value: []byte("1")}, {Key: "b"}}}
	noKey := &kgo.Record{Partition: 0, Offset: 1, Value: nil, Timestamp: time.UnixMilli(5)}
	tests := []struct {
		props []string
		rec   *kgo.Record
		want  string
	}{
		{nil, r, "v\n"},
		{[]string{"print.key=true"}, r, "k\tv\n"},
		{[]string{"print.key=true", "key.separator=|"}, r, "k|v\n"},
		{[]string{"print.key=true"}, noKey, "null\tnull\n"},
		{[]string{"print.key=true", "null.literal=<nil>"}, noKey, "<nil>\t<nil>\n"},
		{[]string{"print.timestamp=true", "print.partition=true", "print.offset=true"}, r,
			"CreateTime:1700000000000\tPartition:2\tOffset:7\tv\n"},
		{[]string{"print.headers=true", "print.value=false"}, r, "a:1,b:null\n"},
		{[]string{"print.headers=true"}, noKey, "NO_HEADERS\tnull\n"},
		{[]string{"print.headers=true", "headers.separator=;", "headers.key.separator==", "print.key=TRUE"}, r, "a=1;b=null\tk\tv\n"},
		{[]string{"print.offset=true", "print.value=false"}, r, "Offset:7\n"},
		{[]string{"print.key=true", "line.separator=\\n--\\n"}, r, "k\tv\n--\n"},
		{[]string{"value.deserializer=org.apache.kafka.common.serialization.StringDeserializer"}, r, "v\n"},
	}
	for _, tt := range tests {
		props, err := parseProperties(tt.props, "--property")
		if err != nil {
			t.Fatal(err)
		}
		f, err := newKafkaFormatter(props)
		if err != nil {
			t.Fatalf("%v: %v", tt.props, err)
		}
		got, _ := f(nil, tt.rec)
		if string(got) != tt.want {
			t.Errorf("%v: %q, want %q", tt.props, got, tt.want)
		}
	}
	for _, bad := range []string{"print.keys=true", "key.deserializer=io.confluent.kafka.serializers.KafkaAvroDeserializer"} {
		props, _ := parseProperties([]string{bad}, "--property")
		if _, err := newKafkaFormatter(props); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestKafkaLineReader(t *testing.T) {
	tests := []struct {
		props   []string
		line    string
		key     *string
		value   *string
		headers string
		err     string
	}{
		{nil, "a\tb", nil, ptr("a\tb"), "", ""},
		{[]string{"parse.key=true"}, "k\tv\tw", ptr("k"), ptr("v\tw"), "", ""},
		{[]string{"parse.key=true"}, "novalue", nil, nil, "", "no key separator"},
		{[]string{"parse.key=true", "ignore.error=true"}, "novalue", nil, ptr("novalue"), "", ""},
		{[]string{"parse.key=true", "key.separator=::"}, "k::v", ptr("k"), ptr("v"), "", ""},
		{[]string{"parse.key=true", "null.marker=NULL"}, "NULL\tNULL", nil, nil, "", ""},
		{[]string{"parse.headers=true", "parse.key=true"}, "a:1,b:2\tk\tv", ptr("k"), ptr("v"), "a=1 b=2", ""},
		{[]string{"parse.headers=true"}, "a1\tv", nil, nil, "", "has no \":\""},
		{[]string{"parse.headers=true", "null.marker=-"}, "a:-\tv", nil, ptr("v"), "a=<nil>", ""},
		{[]string{"parse.keys=true"}, "x", nil, nil, "", "not supported"},
	}
	for _, tt := range tests {
		props, _ := parseProperties(tt.props, "--property")
		read, err := newKafkaLineReader(props)
		var r *kgo.Record
		if err == nil {
			r, err = read([]byte(tt.line), 1)
		}
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%v %q: err %v, want %q", tt.props, tt.line, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v %q: %v", tt.props, tt.line, err)
			continue
		}
		var hs []string
		for _, h := range r.Headers {
			v := "<nil>"
			if h.Value != nil {
				v = string(h.Value)
			}
			hs = append(hs, h.Key+"="+v)
		}
		if !sameBytes(r.Key, tt.key) || !sameBytes(r.Value, tt.value) || strings.Join(hs, " ") != tt.headers {
			t.Errorf("%v %q: key %q value %q headers %v", tt.props, tt.line, r.Key, r.Value, hs)
		}
	}
}

func ptr(s string) *string { return &s }

func sameBytes(b []byte, s *string) bool {
	if s == nil {
		return b == nil
	}
	return b != nil && string(b) == *s
}

// Every alias in the tables exists, and the root takes --bootstrap-server
// and the properties flags under Kafka's names.
func TestKafkaFlagAliases(t *testing.T) {
	root := NewRoot("test") // panics if a table names a missing command or flag
	for _, name := range []string{"bootstrap-server", "command-config", "producer.config", "consumer.config",
		"client-property", "producer-property", "consumer-property", "command-property"} {
		if root.PersistentFlags().Lookup(name) == nil {
			t.Errorf("no global --%s", name)
		}
	}
	// --bootstrap-server wins over SAMSA_BROKERS as -b does.
	envAddr, flagAddr := closedAddr(t), closedAddr(t)
	t.Setenv(brokersEnv, envAddr)
	if _, stderr, _ := runCLI(t, "", "topic", "list", "--bootstrap-server", flagAddr); !strings.Contains(stderr, flagAddr) {
		t.Errorf("--bootstrap-server ignored: %q", stderr)
	}
	if _, stderr, code := runCLI(t, "", "consume", "t", "--timeout-ms", "soon"); code != exitUsage || !strings.Contains(stderr, "milliseconds") {
		t.Errorf("--timeout-ms soon: %d %q", code, stderr)
	}
	if _, stderr, code := runCLI(t, "", "consume", "t", "-f", "kv", "--property", "print.key=true"); code != exitUsage || !strings.Contains(stderr, "cannot be combined") {
		t.Errorf("-f with --property: %d %q", code, stderr)
	}
	if _, stderr, code := runCLI(t, "", "group", "describe"); code != exitUsage || !strings.Contains(stderr, "--all") {
		t.Errorf("describe without a group: %d %q", code, stderr)
	}
}
