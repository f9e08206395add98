package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

type consumeOptions struct {
	fromBeginning bool
	offset        string
	partitions    []int32
	num           int
	idle          time.Duration
	format        string
	group         string
	properties    []string // kafka-console-consumer's --property
	progress      bool
	noProgress    bool
}

func newConsumeCmd(g *globals) *cobra.Command {
	var o consumeOptions
	cmd := &cobra.Command{
		Use:   "consume TOPIC",
		Short: "Print records from a topic, alone or as a consumer group member (-g)",
		Long: `Consume prints the records of a topic to stdout, one per line. Like
kafka-console-consumer it starts at the end of each partition and waits for
new records unless told otherwise, and it runs until Ctrl-C, until -n records
have been printed, or until no record arrived for --timeout-idle.

Formats (-f/--format):
  text     the value only (default)
  kv       key, a tab, then the value
  json     one JSON object per line: topic, partition, offset, timestamp
           (RFC 3339) and timestamp_ms, key, value and headers; bytes that are
           not valid UTF-8 are base64 and flagged by key_encoding or
           value_encoding = "base64" (--json selects this format too)
  %-layout %t topic, %p partition, %o offset, %k key, %v value,
           %T timestamp in ms, %h headers as k=v,k=v, %% percent; \n and \t work
  template a Go text/template over .Topic .Partition .Offset .Timestamp
           .TimestampMs .Key .Value .Headers (each with .Key and .Value);
           functions base64 and quote`,
		Example: `  samsa consume orders --from-beginning -n 10
  samsa consume orders -p 0 --offset -5 -f '%p/%o %k=%v'
  samsa consume orders --from-beginning --timeout-idle 2s -f json | jq .value
  samsa consume orders -f '{{.Offset}} {{.Key}} {{range .Headers}}{{.Key}}={{.Value}} {{end}}'`,
		Args: exactArgs(1, "one topic name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("format") && g.json {
				o.format = "json"
			}
			return runConsume(cmd, g, &o, args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.fromBeginning, "from-beginning", false, "start at the earliest offset instead of the end")
	f.StringVar(&o.offset, "offset", "",
		"start offset: N, earliest, latest, or -N for N records before the end of each partition")
	f.Int32SliceVarP(&o.partitions, "partition", "p", nil, "partition to read (repeatable; default all)")
	f.IntVarP(&o.num, "num", "n", 0, "stop after N records (default: no limit)")
	f.DurationVar(&o.idle, "timeout-idle", 0, "stop when no record arrived for this long (default: never)")
	f.StringVarP(&o.format, "format", "f", "text", "output format: text, kv, json, a %-layout or a {{template}}")
	f.StringVarP(&o.group, "group", "g", "", "consume as a member of this consumer group: start at its committed offsets and commit what was printed")
	f.StringArrayVar(&o.properties, "property", nil,
		"kafka-console-consumer's formatter property key=value: print.key, print.value, print.timestamp, "+
			"print.partition, print.offset, print.headers, key.separator, line.separator, headers.separator, "+
			"headers.key.separator, null.literal (repeatable; instead of -f)")
	f.BoolVar(&o.progress, "progress", false,
		"print records/s, total and lag to stderr every second (default: when stderr is a terminal and stdout is not)")
	f.BoolVar(&o.noProgress, "no-progress", false, "no live progress line")
	return cmd
}

// parseStartOffset resolves --from-beginning and --offset into a kgo offset.
// The default is the end of the log, as with kafka-console-consumer.
func parseStartOffset(fromBeginning bool, offset string) (kgo.Offset, error) {
	offset = strings.ToLower(strings.TrimSpace(offset))
	if fromBeginning && offset != "" {
		return kgo.Offset{}, errors.New("--from-beginning and --offset cannot be combined")
	}
	if fromBeginning {
		return kgo.NewOffset().AtStart(), nil
	}
	switch offset {
	case "", "latest", "end":
		return kgo.NewOffset().AtEnd(), nil
	case "earliest", "beginning", "start":
		return kgo.NewOffset().AtStart(), nil
	}
	n, err := strconv.ParseInt(offset, 10, 64)
	if err != nil {
		return kgo.Offset{}, fmt.Errorf("invalid --offset %q: want N, earliest, latest or -N", offset)
	}
	if n < 0 {
		return kgo.NewOffset().AtEnd().Relative(n), nil
	}
	return kgo.NewOffset().At(n), nil
}

// selectPartitions checks the requested partitions against the topic's
// metadata; no request means every partition.
func selectPartitions(td kadm.TopicDetail, requested []int32) ([]int32, error) {
	all := td.Partitions.Numbers()
	if len(requested) == 0 {
		return all, nil
	}
	var out []int32
	for _, p := range requested {
		if !slices.Contains(all, p) {
			return nil, fmt.Errorf("topic %q has no partition %d (it has %d partitions, numbered from 0)",
				td.Topic, p, len(all))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// lookupPartitions fetches the topic's metadata through a short-lived admin
// client, because a direct kgo consumer must be given its partitions when it
// is built.
func (g *globals) lookupPartitions(cmd *cobra.Command, topic string, requested []int32) ([]int32, error) {
	var parts []int32
	err := g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
		details, err := adm.ListTopicsWithInternal(ctx, topic)
		if err != nil {
			return err
		}
		if errs := missingTopics(details, []string{topic}); len(errs) > 0 {
			return errs[0]
		}
		parts, err = selectPartitions(details[topic], requested)
		return err
	})
	return parts, err
}

func runConsume(cmd *cobra.Command, g *globals, o *consumeOptions, topic string) error {
	start, err := parseStartOffset(o.fromBeginning, o.offset)
	if err != nil {
		return usageErrorf(cmd, "%v", err)
	}
	format, err := o.formatter(cmd)
	if err != nil {
		return usageErrorf(cmd, "%v", err)
	}
	if o.num < 0 {
		return usageErrorf(cmd, "-n/--num must not be negative")
	}
	if o.group != "" {
		return runGroupConsume(cmd, g, o, topic, format)
	}
	parts, err := g.lookupPartitions(cmd, topic, o.partitions)
	if err != nil {
		return err
	}
	offsets := make(map[int32]kgo.Offset, len(parts))
	for _, p := range parts {
		offsets[p] = start
	}
	cl, err := g.newClient(cmd,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}),
		// An explicit offset past either end of the log restarts at the
		// beginning, which is what someone asking for old records wants.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		return err
	}
	defer cl.Close()

	stats := newConsumeStats()
	live := o.startProgress(cmd, stats)
	count, err := consumeLoop(cmd.Context(), cl, bufio.NewWriter(cmd.OutOrStdout()), format, o.num, o.idle, stats)
	live.stop()
	fmt.Fprintf(cmd.ErrOrStderr(), "Processed a total of %d messages\n", count)
	return g.explain(cmd, err)
}

// formatter is -f/--format, or Kafka's formatter with --property.
func (o *consumeOptions) formatter(cmd *cobra.Command) (recordFormatter, error) {
	if len(o.properties) == 0 {
		return newRecordFormatter(o.format)
	}
	if cmd.Flags().Changed("format") {
		return nil, errors.New("-f/--format cannot be combined with --property")
	}
	props, err := parseProperties(o.properties, "--property")
	if err != nil {
		return nil, err
	}
	return newKafkaFormatter(props)
}

// startProgress starts the live progress line on stderr, if wanted.
func (o *consumeOptions) startProgress(cmd *cobra.Command, stats *consumeStats) *liveStatus {
	return startLiveStatus(cmd.ErrOrStderr(), cmd.OutOrStdout(), o.progress, o.noProgress, liveInterval, stats.line)
}

// consumeLoop polls and prints records until num records were printed
// (num > 0), no record arrived for idle (idle > 0), or ctx is cancelled.
// Cancellation is the normal way to stop an unbounded consume, so it is not
// an error. Output is flushed after every poll so that a person watching
// sees records as they arrive while a fast pipe still gets large writes.
func consumeLoop(ctx context.Context, cl *kgo.Client, w *bufio.Writer, format recordFormatter,
	num int, idle time.Duration, stats *consumeStats) (int64, error) {
	var (
		count int64
		buf   []byte
	)
	printed := map[topicPartition]int64{} // the offset after the last record printed
	for num == 0 || count < int64(num) {
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if idle > 0 {
			pollCtx, cancel = context.WithTimeout(ctx, idle)
		}
		var fetches kgo.Fetches
		if num > 0 {
			fetches = cl.PollRecords(pollCtx, num-int(count))
		} else {
			fetches = cl.PollFetches(pollCtx)
		}
		cancel()
		var fmtErr error
		fetches.EachRecord(func(r *kgo.Record) {
			if fmtErr != nil || (num > 0 && count >= int64(num)) {
				return
			}
			buf, fmtErr = format(buf[:0], r)
			if fmtErr == nil {
				_, fmtErr = w.Write(buf)
				count++
				stats.add(1)
				printed[topicPartition{r.Topic, r.Partition}] = r.Offset + 1
			}
		})
		stats.observe(fetches, printed)
		if err := errors.Join(fmtErr, w.Flush()); err != nil {
			return count, err
		}
		if stop, err := pollOutcome(ctx, fetches); stop || err != nil {
			return count, err
		}
	}
	return count, nil
}

// pollOutcome decides whether a poll's errors end the loop. A context error
// means the idle deadline passed or the user pressed Ctrl-C: stop cleanly.
// Any other fetch error is reported, since kgo already retries the
// retriable ones internally.
func pollOutcome(ctx context.Context, fetches kgo.Fetches) (stop bool, err error) {
	if fetches.IsClientClosed() {
		return true, nil
	}
	for _, fe := range fetches.Errors() {
		if errors.Is(fe.Err, context.Canceled) || errors.Is(fe.Err, context.DeadlineExceeded) {
			return true, nil
		}
		if fe.Topic == "" {
			return true, fmt.Errorf("fetching: %w", fe.Err)
		}
		return true, fmt.Errorf("fetching topic %q partition %d: %w", fe.Topic, fe.Partition, fe.Err)
	}
	return ctx.Err() != nil, nil
}
