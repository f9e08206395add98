package cli

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// mib is the "MB" of Kafka's perf tools, which divide by 1024*1024; using
// the same unit keeps numbers comparable with theirs.
const mib = 1024 * 1024

// maxLatency bounds the latency histogram; slower acknowledgements are
// clamped (and still reported exactly as the maximum).
const maxLatency = time.Hour

func newBenchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure produce and consume throughput and latency against any cluster",
		RunE:  groupRunE,
	}
	cmd.AddCommand(newBenchProduceCmd(g), newBenchConsumeCmd(g))
	return cmd
}

// benchCommon holds the flags both benchmarks share.
type benchCommon struct {
	topic      string
	numRecords int64
	duration   time.Duration
	warmup     time.Duration
	noProgress bool
}

func (c *benchCommon) register(f *pflag.FlagSet, numHelp string) {
	f.StringVar(&c.topic, "topic", "samsa-bench", "topic to use")
	f.Int64Var(&c.numRecords, "num-records", 0, numHelp)
	f.DurationVar(&c.duration, "duration", 0, "run for this long instead of a record count")
	f.DurationVar(&c.warmup, "warmup", 0, "run this long before measuring; warmup records are not counted")
	f.BoolVar(&c.noProgress, "no-progress", false, "do not show the progress bar")
}

func (c *benchCommon) validate(cmd *cobra.Command) error {
	switch {
	case c.topic == "":
		return usageErrorf(cmd, "--topic must not be empty")
	case c.numRecords < 0:
		return usageErrorf(cmd, "--num-records must not be negative")
	case c.duration < 0 || c.warmup < 0:
		return usageErrorf(cmd, "--duration and --warmup must not be negative")
	}
	return nil
}

type benchProduceOptions struct {
	benchCommon
	recordSize    int
	throughput    float64
	partitions    int32
	acks          string
	idempotent    bool
	linger        time.Duration
	batchMaxBytes int32
	compression   string
	partitioner   string
	// deliveryTimeout bounds how long a record may wait for its
	// acknowledgement (Kafka's delivery.timeout.ms): a broker that cannot
	// take records makes the run fail with its error, not hang.
	deliveryTimeout time.Duration
	// transactionalID makes the producer transactional; a transaction is
	// committed every txnDuration (kafka-producer-perf-test's
	// --transactional-id and --transaction-duration-ms).
	transactionalID string
	txnDuration     time.Duration
}

func newBenchProduceCmd(g *globals) *cobra.Command {
	var o benchProduceOptions
	cmd := &cobra.Command{
		Use:   "produce",
		Short: "Produce records as fast as allowed and report throughput and latency percentiles",
		Long: `Produce fixed-size records and report records/s, MB/s and the latency from
each Produce call to its acknowledgement (average, maximum, p50, p95, p99,
p99.9), like kafka-producer-perf-test. The topic is created with --partitions
partitions if it does not exist. It stops after --num-records (default
1,000,000) or --duration, whichever comes first; Ctrl-C stops early and still
reports. A record not acknowledged within --delivery-timeout (2m, Kafka's
delivery.timeout.ms) fails, and the run ends with its error.`,
		Example: `  samsa bench produce --topic bench --num-records 500000 --record-size 1024
  samsa bench produce --topic bench --duration 30s --warmup 5s --throughput 20000 --json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(cmd); err != nil {
				return err
			}
			return runBenchProduce(cmd, g, &o)
		},
	}
	f := cmd.Flags()
	o.register(f, "records to produce (default 1000000 unless --duration is set)")
	f.IntVar(&o.recordSize, "record-size", 1024, "value size in bytes")
	f.Float64Var(&o.throughput, "throughput", -1, "records/s limit (-1: unlimited)")
	f.Int32Var(&o.partitions, "partitions", 8, "partitions of the topic if it has to be created")
	f.StringVar(&o.acks, "acks", "all", "acknowledgements to wait for: all, 1 or 0")
	f.BoolVar(&o.idempotent, "idempotent", true, "use the idempotent producer (requires --acks all)")
	f.DurationVar(&o.linger, "linger", 5*time.Millisecond, "how long a partition waits for more records before sending")
	f.StringVar(&o.partitioner, "partitioner", "sticky", "how records (which have no key) are spread: sticky (fill a batch on one partition, then pick another at random), uniform-bytes (franz-go's default: a new partition every 64 KiB, preferring those with less buffered), batch-size (a new random partition every 16 KiB, the batch.size at which Kafka's Java producer moves on, without franz-go's scan of every partition) or round-robin")
	f.Int32Var(&o.batchMaxBytes, "batch-max-bytes", mib, "largest record batch to build")
	f.StringVarP(&o.compression, "compression", "z", "none", "batch compression: none, gzip, snappy, lz4 or zstd")
	f.DurationVar(&o.deliveryTimeout, "delivery-timeout", 2*time.Minute, "how long a record may wait for its acknowledgement before it fails (Kafka's delivery.timeout.ms)")
	f.StringVar(&o.transactionalID, "transactional-id", "", "produce in transactions with this transactional id (requires --acks all and idempotence)")
	f.DurationVar(&o.txnDuration, "transaction-duration", 100*time.Millisecond, "with --transactional-id, commit a transaction this often")
	return cmd
}

func (o *benchProduceOptions) validate(cmd *cobra.Command) error {
	if err := o.benchCommon.validate(cmd); err != nil {
		return err
	}
	if o.numRecords == 0 && o.duration == 0 {
		o.numRecords = 1_000_000
	}
	switch {
	case o.recordSize < 0:
		return usageErrorf(cmd, "--record-size must not be negative")
	case o.batchMaxBytes <= 0:
		return usageErrorf(cmd, "--batch-max-bytes must be positive")
	case o.partitions <= 0:
		return usageErrorf(cmd, "--partitions must be positive")
	case o.deliveryTimeout <= 0:
		return usageErrorf(cmd, "--delivery-timeout must be positive")
	case o.transactionalID != "" && o.txnDuration <= 0:
		return usageErrorf(cmd, "--transaction-duration must be positive")
	}
	return nil
}

// clientOpts translates the producer flags. A weaker --acks turns
// idempotence off unless the user asked for it explicitly, in which case
// the combination is refused: Kafka only allows idempotence with acks=all.
func (o *benchProduceOptions) clientOpts(cmd *cobra.Command) ([]kgo.Opt, error) {
	acks, idempotentOK, err := parseAcks(o.acks)
	if err != nil {
		return nil, usageErrorf(cmd, "%v", err)
	}
	if !idempotentOK && o.idempotent && cmd.Flags().Changed("idempotent") {
		return nil, usageErrorf(cmd, "--idempotent requires --acks all; add --idempotent=false")
	}
	codec, err := parseCompression(o.compression)
	if err != nil {
		return nil, usageErrorf(cmd, "%v", err)
	}
	// sticky is the default: franz-go's adaptive partitioner looks at
	// every partition each time it starts a batch, which with 10,000
	// partitions took half the client's CPU time and made the benchmark
	// measure the client, not the broker.
	var partitioner kgo.Partitioner
	switch o.partitioner {
	case "sticky":
		partitioner = kgo.StickyPartitioner()
	case "uniform-bytes":
		partitioner = kgo.UniformBytesPartitioner(64<<10, true, true, nil)
	case "batch-size":
		partitioner = kgo.UniformBytesPartitioner(16<<10, false, true, nil)
	case "round-robin":
		partitioner = kgo.RoundRobinPartitioner()
	default:
		return nil, usageErrorf(cmd, "--partitioner %q: want sticky, uniform-bytes, batch-size or round-robin", o.partitioner)
	}
	opts := []kgo.Opt{
		kgo.RequiredAcks(acks),
		kgo.RecordDeliveryTimeout(o.deliveryTimeout),
		kgo.ProducerLinger(o.linger),
		kgo.ProducerBatchMaxBytes(o.batchMaxBytes),
		kgo.ProducerBatchCompression(codec),
		kgo.RecordPartitioner(partitioner),
	}
	if !idempotentOK || !o.idempotent {
		if o.transactionalID != "" {
			return nil, usageErrorf(cmd, "--transactional-id requires --acks all and idempotence")
		}
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	if o.transactionalID != "" {
		opts = append(opts, kgo.TransactionalID(o.transactionalID))
	}
	return opts, nil
}

// ensureTopic creates the benchmark topic when it does not exist yet.
func ensureTopic(ctx context.Context, adm *kadm.Client, topic string, partitions int32) (created bool, err error) {
	details, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return false, err
	}
	if details.Has(topic) {
		return false, topicError(topic, details[topic].Err, "")
	}
	r, err := adm.CreateTopic(ctx, partitions, -1, nil, topic)
	if errors.Is(err, kerr.TopicAlreadyExists) {
		return false, nil // Another run created it first.
	}
	if err != nil {
		return false, topicError(topic, err, r.ErrMessage)
	}
	return true, nil
}

// produceBench is the state of one producer benchmark. The produce loop
// owns payload, pool and throttle; promises (called serially by kgo) write
// the statistics under mu, and the progress bar reads the atomic counter.
type produceBench struct {
	payload      []byte
	measureStart time.Time // records produced earlier are warmup
	pool         sync.Pool
	acked        atomic.Int64

	mu       sync.Mutex // guards the fields below
	hist     *histogram
	lastAck  time.Time
	failed   int64
	firstErr error
	txns     int64 // transactions committed (--transactional-id)
}

func newProduceBench(recordSize int, measureStart time.Time) *produceBench {
	b := &produceBench{
		payload:      randomPayload(recordSize),
		measureStart: measureStart,
		hist:         newHistogram(maxLatency),
	}
	b.pool.New = func() any { return &benchRecord{Context: context.Background()} }
	return b
}

// randomPayload returns printable random bytes, as Kafka's perf test does,
// so compression has realistic (not trivially compressible) input.
func randomPayload(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = 'A' + byte(rand.IntN(26))
	}
	return p
}

// benchRecord pairs a pooled record with the time of its Produce call.
// kgo truncates Record.Timestamp to milliseconds, which would drop the
// monotonic clock reading and up to a millisecond of latency, so the send
// time travels in the record's Context field instead: kgo only reads that
// field (it cancels through the context passed to Produce), and pointing it
// at the benchRecord itself costs no allocation. Embedding a background
// context is what makes *benchRecord a context.Context.
type benchRecord struct {
	context.Context
	rec  kgo.Record
	sent time.Time
}

// promise records the latency of one acknowledged record, from the Produce
// call to this callback, and recycles the record.
func (b *produceBench) promise(r *kgo.Record, err error) {
	now := time.Now()
	br := r.Context.(*benchRecord)
	b.mu.Lock()
	switch {
	case err == nil:
		if !br.sent.Before(b.measureStart) {
			b.hist.record(now.Sub(br.sent))
			b.lastAck = now
		}
	case errors.Is(err, context.Canceled):
		// Interrupted before it was sent: not a broker failure.
	default:
		b.failed++
		if b.firstErr == nil {
			b.firstErr = err
		}
	}
	b.mu.Unlock()
	if err == nil {
		b.acked.Add(1)
	}
	b.pool.Put(br)
}

// run produces until numRecords measured records were sent (numRecords > 0),
// the measured phase has lasted duration (duration > 0), or ctx is done.
func (b *produceBench) run(ctx context.Context, cl *kgo.Client, o *benchProduceOptions, th *throttle) {
	done := ctx.Done()
	var measureEnd time.Time
	if o.duration > 0 {
		measureEnd = b.measureStart.Add(o.duration)
	}
	var sent, measured int64
	var txnStart time.Time
	if o.transactionalID != "" {
		if err := b.beginTxn(cl); err != nil {
			return
		}
		txnStart = time.Now()
		defer b.endTxn(ctx, cl)
	}
	for o.numRecords <= 0 || measured < o.numRecords {
		select {
		case <-done:
			return
		default:
		}
		now := time.Now()
		if !measureEnd.IsZero() && now.After(measureEnd) {
			return
		}
		br := b.pool.Get().(*benchRecord)
		br.sent = now
		br.rec = kgo.Record{Topic: o.topic, Value: b.payload, Timestamp: now, Context: br}
		cl.Produce(ctx, &br.rec, b.promise)
		sent++
		if !now.Before(b.measureStart) {
			measured++
		}
		th.wait(ctx, sent)
		if !txnStart.IsZero() && now.Sub(txnStart) >= o.txnDuration {
			if !b.endTxn(ctx, cl) || b.beginTxn(cl) != nil {
				return
			}
			txnStart = time.Now()
		}
	}
}

// beginTxn starts a transaction, recording a failure as the run's error.
func (b *produceBench) beginTxn(cl *kgo.Client) error {
	err := cl.BeginTransaction()
	if err != nil {
		b.fail(fmt.Errorf("beginning a transaction: %w", err))
	}
	return err
}

// endTxn waits for the transaction's records and commits it, as Kafka's
// commitTransaction does; false (with the run's error recorded) if that
// failed.
func (b *produceBench) endTxn(ctx context.Context, cl *kgo.Client) bool {
	if err := cl.Flush(ctx); err != nil {
		if !errors.Is(err, context.Canceled) {
			b.fail(fmt.Errorf("flushing a transaction: %w", err))
		}
		return false
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		if !errors.Is(err, context.Canceled) {
			b.fail(fmt.Errorf("committing a transaction: %w", err))
		}
		return false
	}
	b.mu.Lock()
	b.txns++
	b.mu.Unlock()
	return true
}

func (b *produceBench) fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failed++
	if b.firstErr == nil {
		b.firstErr = err
	}
}

func runBenchProduce(cmd *cobra.Command, g *globals, o *benchProduceOptions) error {
	opts, err := o.clientOpts(cmd)
	if err != nil {
		return err
	}
	var created bool
	err = g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
		created, err = ensureTopic(ctx, adm, o.topic, o.partitions)
		return err
	})
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(cmd.ErrOrStderr(), "Created topic %q with %d partitions.\n", o.topic, o.partitions)
	}
	cl, err := g.newClient(cmd, opts...)
	if err != nil {
		return err
	}
	defer cl.Close()

	ctx := cmd.Context()
	start := time.Now()
	b := newProduceBench(o.recordSize, start.Add(o.warmup))
	bar := startProgress(cmd.ErrOrStderr(), !o.noProgress, progressSpec{
		label: "produce", total: o.numRecords, duration: o.warmup + o.duration, current: b.acked.Load,
		status: func() string { return rateStatus(b.acked.Load(), start) },
	})
	b.run(ctx, cl, o, newThrottle(o.throughput, start))
	flushErr := cl.Flush(ctx)
	bar.finish()

	res := b.result(o.recordSize)
	if err := printBenchResult(cmd, g, res, res.line()); err != nil {
		return err
	}
	if flushErr != nil && !errors.Is(flushErr, context.Canceled) {
		return g.explain(cmd, fmt.Errorf("waiting for acknowledgements: %w", flushErr))
	}
	if res.Failed > 0 {
		b.mu.Lock()
		defer b.mu.Unlock()
		return fmt.Errorf("%d record(s) failed; first error: %w", res.Failed, g.explain(cmd, b.firstErr))
	}
	return nil
}

// produceResult is the outcome of a producer benchmark; latencies are in
// milliseconds, as in Kafka's perf test output.
type produceResult struct {
	Records       int64   `json:"records"`
	Failed        int64   `json:"failed"`
	RecordSize    int     `json:"record_size"`
	ElapsedSec    float64 `json:"elapsed_s"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	AvgLatencyMs  float64 `json:"avg_latency_ms"`
	MaxLatencyMs  float64 `json:"max_latency_ms"`
	P50Ms         float64 `json:"p50_ms"`
	P95Ms         float64 `json:"p95_ms"`
	P99Ms         float64 `json:"p99_ms"`
	P999Ms        float64 `json:"p99_9_ms"`
	// Transactions is how many transactions were committed (only with
	// --transactional-id).
	Transactions int64 `json:"transactions,omitempty"`
}

func (b *produceBench) result(recordSize int) produceResult {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.hist
	res := produceResult{Records: int64(h.count()), Failed: b.failed, RecordSize: recordSize, Transactions: b.txns}
	if res.Records > 0 {
		res.ElapsedSec = b.lastAck.Sub(b.measureStart).Seconds()
	}
	if res.ElapsedSec > 0 {
		res.RecordsPerSec = float64(res.Records) / res.ElapsedSec
		res.MBPerSec = res.RecordsPerSec * float64(recordSize) / mib
	}
	res.AvgLatencyMs = millis(h.mean())
	res.MaxLatencyMs = millis(h.maximum())
	res.P50Ms = millis(h.quantile(0.50))
	res.P95Ms = millis(h.quantile(0.95))
	res.P99Ms = millis(h.quantile(0.99))
	res.P999Ms = millis(h.quantile(0.999))
	return res
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// line renders the result the way kafka-producer-perf-test does, with
// fractional milliseconds because a local broker answers in well under one.
func (r produceResult) line() string {
	return fmt.Sprintf("%d records sent, %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, "+
		"%.2f ms max latency, %.2f ms 50th, %.2f ms 95th, %.2f ms 99th, %.2f ms 99.9th.",
		r.Records, r.RecordsPerSec, r.MBPerSec, r.AvgLatencyMs, r.MaxLatencyMs,
		r.P50Ms, r.P95Ms, r.P99Ms, r.P999Ms)
}

func printBenchResult(cmd *cobra.Command, g *globals, res any, line string) error {
	if g.json {
		return printJSON(cmd.OutOrStdout(), res)
	}
	_, err := fmt.Fprintln(cmd.OutOrStdout(), line)
	return err
}

// throttle paces a loop to a target rate. Like Kafka's ThroughputThrottler
// it compares the records sent so far with the time elapsed and sleeps only
// when ahead of schedule, so an oversleep is caught up by not sleeping on
// the following records.
type throttle struct {
	start time.Time
	rate  float64 // records per second; <= 0 means unlimited
	timer *time.Timer
}

func newThrottle(rate float64, start time.Time) *throttle {
	return &throttle{start: start, rate: rate}
}

// wait blocks until sent records are due, or ctx is done.
func (t *throttle) wait(ctx context.Context, sent int64) {
	if t.rate <= 0 {
		return
	}
	due := t.start.Add(time.Duration(float64(sent) / t.rate * float64(time.Second)))
	d := time.Until(due)
	if d <= 0 {
		return
	}
	if t.timer == nil {
		t.timer = time.NewTimer(d)
	} else {
		t.timer.Reset(d)
	}
	select {
	case <-ctx.Done():
		t.timer.Stop()
	case <-t.timer.C:
	}
}

type benchConsumeOptions struct {
	benchCommon
	idle time.Duration
}

func newBenchConsumeCmd(g *globals) *cobra.Command {
	var o benchConsumeOptions
	cmd := &cobra.Command{
		Use:   "consume",
		Short: "Read a topic from the beginning as fast as possible and report throughput",
		Long: `Read every partition of the topic from its start offset and report MB/s,
records/s, elapsed time and the number of fetch responses, like
kafka-consumer-perf-test. By default it reads the records present when it
starts; --num-records or --duration bound it instead. It gives up when no
record arrives for --timeout-idle.`,
		Example: `  samsa bench produce --topic bench --num-records 1000000 --no-progress
  samsa bench consume --topic bench`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(cmd); err != nil {
				return err
			}
			return runBenchConsume(cmd, g, &o)
		},
	}
	o.register(cmd.Flags(), "records to read (default: all records in the topic at start)")
	cmd.Flags().DurationVar(&o.idle, "timeout-idle", 10*time.Second, "stop when no record arrived for this long")
	return cmd
}

// fetchCounter counts successful Fetch responses through a kgo hook.
type fetchCounter struct{ n atomic.Int64 }

// fetchKey is the Kafka API key of Fetch.
const fetchKey = 1

func (c *fetchCounter) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if key == fetchKey && err == nil {
		c.n.Add(1)
	}
}

// topicBacklog returns how many records the topic holds from its start to
// its end offsets; it also checks that the topic exists.
func topicBacklog(ctx context.Context, adm *kadm.Client, topic string) (int64, error) {
	details, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return 0, err
	}
	if errs := missingTopics(details, []string{topic}); len(errs) > 0 {
		return 0, errs[0]
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return 0, err
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, err
	}
	var n int64
	ends.Each(func(e kadm.ListedOffset) {
		if s, ok := starts.Lookup(e.Topic, e.Partition); ok && e.Err == nil && s.Err == nil {
			n += max(e.Offset-s.Offset, 0)
		}
	})
	return n, nil
}

// consumeResult is the outcome of a consumer benchmark.
type consumeResult struct {
	Records       int64   `json:"records"`
	Bytes         int64   `json:"bytes"`
	MB            float64 `json:"mb"`
	ElapsedSec    float64 `json:"elapsed_s"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	Fetches       int64   `json:"fetches"`
	StoppedIdle   bool    `json:"stopped_idle"`
}

func (r consumeResult) line() string {
	return fmt.Sprintf("%d records consumed (%.2f MB) in %.2f s, %.1f records/sec (%.2f MB/sec), %d fetches.",
		r.Records, r.MB, r.ElapsedSec, r.RecordsPerSec, r.MBPerSec, r.Fetches)
}

func runBenchConsume(cmd *cobra.Command, g *globals, o *benchConsumeOptions) error {
	var backlog int64
	err := g.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) (err error) {
		backlog, err = topicBacklog(ctx, adm, o.topic)
		return err
	})
	if err != nil {
		return err
	}
	if o.numRecords == 0 && o.duration == 0 {
		if backlog == 0 {
			return fmt.Errorf("topic %q is empty: fill it first, e.g. `samsa bench produce --topic %s`", o.topic, o.topic)
		}
		o.numRecords = backlog
	}
	fetches := &fetchCounter{}
	cl, err := g.newClient(cmd,
		kgo.ConsumeTopics(o.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.WithHooks(fetches),
	)
	if err != nil {
		return err
	}
	defer cl.Close()

	start := time.Now()
	c := &consumeBench{measureStart: start.Add(o.warmup)}
	bar := startProgress(cmd.ErrOrStderr(), !o.noProgress, progressSpec{
		label: "consume", total: o.numRecords, duration: o.warmup + o.duration, current: c.consumed.Load,
		status: func() string { return rateStatus(c.consumed.Load(), start) },
	})
	pollErr := c.run(cmd.Context(), cl, o)
	bar.finish()

	res := c.result(fetches.n.Load())
	if res.StoppedIdle {
		fmt.Fprintf(cmd.ErrOrStderr(), "Stopped: no record arrived for %s.\n", o.idle)
	}
	if err := printBenchResult(cmd, g, res, res.line()); err != nil {
		return err
	}
	return g.explain(cmd, pollErr)
}

// consumeBench is the state of one consumer benchmark. Only the poll loop
// writes it; consumed is atomic because the progress bar reads it.
type consumeBench struct {
	measureStart time.Time
	consumed     atomic.Int64 // all records, warmup included

	records, bytes int64 // measured records only
	lastRecord     time.Time
	stoppedIdle    bool
}

// run polls until numRecords were read, the measured phase lasted duration,
// no record arrived for the idle timeout, or ctx is done.
func (c *consumeBench) run(ctx context.Context, cl *kgo.Client, o *benchConsumeOptions) error {
	var measureEnd time.Time
	if o.duration > 0 {
		measureEnd = c.measureStart.Add(o.duration)
	}
	for o.numRecords <= 0 || c.consumed.Load() < o.numRecords {
		pollCtx, cancel := context.WithTimeout(ctx, o.idle)
		fs := cl.PollFetches(pollCtx)
		cancel()
		now := time.Now()
		measured := !now.Before(c.measureStart)
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			c.consumed.Add(int64(len(p.Records)))
			if !measured {
				return
			}
			for _, r := range p.Records {
				c.bytes += int64(len(r.Key) + len(r.Value))
			}
			c.records += int64(len(p.Records))
		})
		if measured && fs.NumRecords() > 0 {
			c.lastRecord = now
		}
		for _, fe := range fs.Errors() {
			switch {
			case errors.Is(fe.Err, context.DeadlineExceeded) && ctx.Err() == nil:
				c.stoppedIdle = true
				return nil
			case errors.Is(fe.Err, context.Canceled), errors.Is(fe.Err, context.DeadlineExceeded):
				return nil
			default:
				return fmt.Errorf("fetching topic %q partition %d: %w", fe.Topic, fe.Partition, fe.Err)
			}
		}
		if !measureEnd.IsZero() && now.After(measureEnd) {
			return nil
		}
	}
	return nil
}

func (c *consumeBench) result(fetches int64) consumeResult {
	res := consumeResult{Records: c.records, Bytes: c.bytes, MB: float64(c.bytes) / mib,
		Fetches: fetches, StoppedIdle: c.stoppedIdle}
	if c.records > 0 {
		res.ElapsedSec = c.lastRecord.Sub(c.measureStart).Seconds()
	}
	if res.ElapsedSec > 0 {
		res.RecordsPerSec = float64(res.Records) / res.ElapsedSec
		res.MBPerSec = res.MB / res.ElapsedSec
	}
	return res
}
