package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

type produceOptions struct {
	keySeparator string
	headers      []string
	partition    int32
	acks         string
	compression  string
	linger       time.Duration
	properties   []string // kafka-console-producer's --property
}

func newProduceCmd(g *globals) *cobra.Command {
	var o produceOptions
	cmd := &cobra.Command{
		Use:   "produce TOPIC",
		Short: "Produce one record per line read from stdin",
		Long: `Produce reads stdin and sends one record per line (the line ending is not
part of the record). With --key-separator, the text before the first
separator is the key and the rest the value; a line without the separator
has no key. It waits until every record is acknowledged, prints a summary
to stderr and fails if any record could not be produced.`,
		Example: `  echo hello | samsa produce greetings
  printf 'user1:clicked\nuser2:viewed\n' | samsa produce events --key-separator : -H source=cli`,
		Args: exactArgs(1, "one topic name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProduce(cmd, g, &o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.keySeparator, "key-separator", "", "split each line into key and value at the first SEP")
	f.StringArrayVarP(&o.headers, "header", "H", nil, "header key=value added to every record (repeatable)")
	f.Int32VarP(&o.partition, "partition", "p", -1,
		"produce to this partition (default: hash the key like Kafka's Java client)")
	f.StringVar(&o.acks, "acks", "all", "acknowledgements to wait for: all, 1 or 0")
	f.StringVarP(&o.compression, "compression", "z", "none", "batch compression: none, gzip, snappy, lz4 or zstd")
	f.DurationVar(&o.linger, "batch-linger", 10*time.Millisecond, "how long to wait for more records before sending a batch")
	f.StringArrayVar(&o.properties, "property", nil,
		"kafka-console-producer's line reader property key=value: parse.key, key.separator, parse.headers, "+
			"headers.delimiter, headers.separator, headers.key.separator, null.marker, ignore.error (repeatable)")
	return cmd
}

// parseAcks maps --acks to kgo. Kafka only allows idempotent producing with
// acks=all, so any weaker setting must also disable idempotence, otherwise
// kgo refuses to build the client.
func parseAcks(s string) (acks kgo.Acks, idempotent bool, err error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "all", "-1":
		return kgo.AllISRAcks(), true, nil
	case "1", "leader":
		return kgo.LeaderAck(), false, nil
	case "0", "none":
		return kgo.NoAck(), false, nil
	}
	return kgo.Acks{}, false, fmt.Errorf("invalid --acks %q: want all, 1 or 0", s)
}

func parseCompression(s string) (kgo.CompressionCodec, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("invalid compression %q: want none, gzip, snappy, lz4 or zstd", s)
}

func parseHeaders(pairs []string) ([]kgo.RecordHeader, error) {
	var hs []kgo.RecordHeader
	for _, p := range pairs {
		k, v, err := parseKeyValue(p, "-H/--header")
		if err != nil {
			return nil, err
		}
		hs = append(hs, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	return hs, nil
}

// splitKey splits a line at the first sep. A line without sep, or an empty
// sep, yields a nil key (a record without a key, not an empty key), so that
// the default partitioner spreads such records instead of sending them all
// to the partition of the empty key.
func splitKey(line []byte, sep string) (key, value []byte) {
	if sep == "" {
		return nil, line
	}
	k, v, ok := bytes.Cut(line, []byte(sep))
	if !ok {
		return nil, line
	}
	return k, v
}

// trimLineEnding drops "\n" or "\r\n", so files written on Windows produce
// the same records as files written elsewhere.
func trimLineEnding(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}

// producerOpts builds the kgo options for the console producer.
func (o *produceOptions) producerOpts(deliveryTimeout time.Duration) ([]kgo.Opt, error) {
	acks, idempotent, err := parseAcks(o.acks)
	if err != nil {
		return nil, err
	}
	codec, err := parseCompression(o.compression)
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{
		kgo.RequiredAcks(acks),
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerLinger(o.linger),
		kgo.RecordDeliveryTimeout(deliveryTimeout),
	}
	if !idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	if o.partition >= 0 {
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	} else {
		// A nil hasher selects Kafka's murmur2, so keyed records land on the
		// same partitions as with the Java client.
		opts = append(opts, kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	}
	return opts, nil
}

// produceTally counts acknowledged records per partition and keeps the first
// failure. kgo calls promises serially, but the final read happens on
// another goroutine, hence the mutex.
type produceTally struct {
	mu          sync.Mutex
	perPart     map[int32]int64
	acked       int64
	failed      int64
	firstFailed error
}

func (t *produceTally) promise(r *kgo.Record, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.failed++
		if t.firstFailed == nil {
			t.firstFailed = err
		}
		return
	}
	t.acked++
	t.perPart[r.Partition]++
}

// lineReader picks how lines become records: Kafka's LineMessageReader
// with --property, else --key-separator; -H headers are added to both.
func (o *produceOptions) lineReader() (lineReader, error) {
	headers, err := parseHeaders(o.headers)
	if err != nil {
		return nil, err
	}
	withHeaders := func(r *kgo.Record) *kgo.Record {
		if len(headers) > 0 {
			r.Headers = append(r.Headers, headers...)
		}
		r.Partition = o.partition
		return r
	}
	if len(o.properties) > 0 {
		if o.keySeparator != "" {
			return nil, errors.New("--key-separator cannot be combined with --property (use --property parse.key=true --property key.separator=SEP)")
		}
		props, err := parseProperties(o.properties, "--property")
		if err != nil {
			return nil, err
		}
		read, err := newKafkaLineReader(props)
		if err != nil {
			return nil, err
		}
		return func(line []byte, n int64) (*kgo.Record, error) {
			r, err := read(line, n)
			if err != nil {
				return nil, err
			}
			return withHeaders(r), nil
		}, nil
	}
	return func(line []byte, _ int64) (*kgo.Record, error) {
		key, value := splitKey(line, o.keySeparator)
		return withHeaders(&kgo.Record{Key: key, Value: value}), nil
	}, nil
}

func runProduce(cmd *cobra.Command, g *globals, o *produceOptions, topic string) error {
	read, err := o.lineReader()
	if err != nil {
		return usageErrorf(cmd, "%v", err)
	}
	opts, err := o.producerOpts(g.timeout)
	if err != nil {
		return usageErrorf(cmd, "%v", err)
	}
	cl, err := g.newClient(cmd, append(opts, kgo.DefaultProduceTopic(topic))...)
	if err != nil {
		return err
	}
	defer cl.Close()

	tally := &produceTally{perPart: map[int32]int64{}}
	var lineNo int64
	readErr := produceLines(cmd.Context(), cmd.InOrStdin(), func(line []byte) error {
		lineNo++
		r, err := read(line, lineNo)
		if err != nil {
			return err
		}
		// Records are produced with a context that Ctrl-C does not cancel:
		// an interrupt stops reading, but lines already read are delivered.
		cl.Produce(context.Background(), r, tally.promise)
		return nil
	})
	// Every record has a delivery timeout of --timeout, so Flush returns on
	// its own; the bound only guards against a wedged client.
	flushCtx, cancel := context.WithTimeout(context.Background(), 2*g.timeout+o.linger)
	defer cancel()
	if err := cl.Flush(flushCtx); err != nil {
		return g.explain(cmd, fmt.Errorf("waiting for acknowledgements: %w", err))
	}
	if err := printProduceSummary(cmd, g, topic, tally); err != nil {
		return err
	}
	var bad *badLineError
	switch {
	case errors.As(readErr, &bad):
		return fmt.Errorf("stopped reading stdin at %w", bad.err)
	case readErr != nil && !errors.Is(readErr, context.Canceled):
		return fmt.Errorf("reading stdin: %w", readErr)
	}
	return produceFailure(cmd, g, topic, tally)
}

// badLineError is a line the reader refused; it stops produceLines.
type badLineError struct{ err error }

func (e *badLineError) Error() string { return e.err.Error() }

// produceLines reads lines from in and hands each to produce until EOF,
// until ctx is cancelled or until produce refuses a line. The reading happens on its own goroutine because
// a Read on a terminal cannot be interrupted: on Ctrl-C this function
// returns at once, and that goroutine stays blocked in Read until the
// process exits, which it does right after the summary is printed.
func produceLines(ctx context.Context, in io.Reader, produce func([]byte) error) error {
	lines := make(chan []byte, 256)
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(lines)
		br := bufio.NewReaderSize(in, 64<<10)
		for {
			line, err := br.ReadBytes('\n')
			if len(line) > 0 {
				select {
				case lines <- trimLineEnding(line):
				case <-stop:
					return
				}
			}
			if err != nil {
				if err != io.EOF {
					readErr <- err
				}
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case line, ok := <-lines:
			if !ok {
				select {
				case err := <-readErr:
					return err
				default:
					return nil
				}
			}
			if err := produce(line); err != nil {
				return &badLineError{err}
			}
		}
	}
}

type produceSummary struct {
	Topic      string          `json:"topic"`
	Records    int64           `json:"records"`
	Failed     int64           `json:"failed"`
	Partitions map[int32]int64 `json:"partitions"`
}

func printProduceSummary(cmd *cobra.Command, g *globals, topic string, t *produceTally) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if g.json {
		return printJSON(cmd.OutOrStdout(), produceSummary{
			Topic: topic, Records: t.acked, Failed: t.failed, Partitions: t.perPart,
		})
	}
	parts := make([]int32, 0, len(t.perPart))
	for p := range t.perPart {
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	var b strings.Builder
	fmt.Fprintf(&b, "Produced %d record(s) to %q", t.acked, topic)
	for i, p := range parts {
		sep := ", "
		if i == 0 {
			sep = " ("
		}
		fmt.Fprintf(&b, "%spartition %d: %d", sep, p, t.perPart[p])
	}
	if len(parts) > 0 {
		b.WriteString(")")
	}
	b.WriteString(".\n")
	_, err := io.WriteString(cmd.ErrOrStderr(), b.String())
	return err
}

// produceFailure turns the tally's first failure into the command's error,
// with a hint for the mistakes people make most.
func produceFailure(cmd *cobra.Command, g *globals, topic string, t *produceTally) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failed == 0 {
		return nil
	}
	cause := t.firstFailed
	if errors.Is(cause, kerr.UnknownTopicOrPartition) {
		cause = &brokerError{subject: fmt.Sprintf("topic %q", topic), message: "does not exist",
			hint: "create it with `samsa topic create " + topic + "`", err: cause}
	}
	return fmt.Errorf("%d of %d record(s) could not be produced: %w",
		t.failed, t.failed+t.acked, g.explain(cmd, cause))
}
