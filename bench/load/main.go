// Command load is the benchmark harness's load generator: one franz-go
// client, the same settings for every broker under test, results as one JSON
// object on stdout. bench/run.sh drives it.
//
//	load produce  --brokers B --topic T [--bytes N | --duration D] [--rate R] [--warmup W] [--keys K] [--topic-config k=v,...] [--timeline FILE]
//	load consume  --brokers B --topic T
//	load e2e      --brokers B --topic T --rate R --duration D [--warmup W]
//	load first    --brokers B --topic T --since UNIX_NANOS [--deadline D]
//	load topic    --brokers B --topic T --partitions P
//	load conns    --brokers B --conns N --duration D
//	load admin    --brokers B --duration D
//	load hostile  --brokers B --duration D [--stallers N] [--garbage N] [--metadata-flood N] [--overload N] [--idle N] [--deaf N] [--stall-bytes S]
//
// It exists beside `samsa bench` because that command reports only a few
// latency percentiles (the harness plots whole distributions) and cannot
// measure end-to-end latency or time to first produce.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// options are the flags shared by every subcommand; each uses a subset.
type options struct {
	brokers    string
	topic      string
	partitions int
	recordSize int
	bytes      int64
	duration   time.Duration
	warmup     time.Duration
	rate       float64
	linger     time.Duration
	since      int64
	deadline   time.Duration
	keys       int                // produce: keys drawn from this many (0: no key)
	conns      int                // conns: connections to open and hold
	topicCfg   map[string]*string // topic configs of a topic this command creates
	timeline   string             // produce: file for each measured record's send time and latency
	hostile    hostileOptions     // hostile: how many clients of each kind
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: load produce|consume|e2e|first|topic [flags]")
		os.Exit(2)
	}
	var o options
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	fs.StringVar(&o.brokers, "brokers", "127.0.0.1:9092", "bootstrap broker host:port")
	fs.StringVar(&o.topic, "topic", "bench", "topic")
	fs.IntVar(&o.partitions, "partitions", 16, "partitions of a topic this command creates")
	fs.IntVar(&o.recordSize, "record-size", 1024, "value size in bytes")
	fs.Int64Var(&o.bytes, "bytes", 0, "produce: stop after this many value bytes")
	fs.DurationVar(&o.duration, "duration", 0, "produce, e2e: measure for this long")
	fs.DurationVar(&o.warmup, "warmup", 0, "produce, e2e: run this long before measuring")
	fs.Float64Var(&o.rate, "rate", 0, "records/s (0: as fast as possible)")
	fs.DurationVar(&o.linger, "linger", 5*time.Millisecond, "producer linger")
	fs.Int64Var(&o.since, "since", 0, "first: the broker's start time, Unix nanoseconds")
	fs.DurationVar(&o.deadline, "deadline", 3*time.Minute, "first: give up after this long")
	fs.IntVar(&o.conns, "conns", 1000, "conns: connections to open and hold for --duration")
	fs.IntVar(&o.keys, "keys", 0, "produce: give each record a key drawn uniformly from this many (0: no keys)")
	fs.StringVar(&o.timeline, "timeline", "", "produce: write \"send_unix_ns latency_ns\" per measured record to this file")
	fs.IntVar(&o.hostile.stallers, "stallers", 0, "hostile: connections that send half a Produce frame and stall")
	fs.IntVar(&o.hostile.garbage, "garbage", 0, "hostile: connections sending malformed and oversized frames")
	fs.IntVar(&o.hostile.flood, "metadata-flood", 0, "hostile: connections sending Metadata for all topics back to back")
	fs.IntVar(&o.hostile.overload, "overload", 0, "hostile: producers flat out")
	fs.IntVar(&o.hostile.idle, "idle", 0, "hostile: idle connections")
	fs.IntVar(&o.hostile.deaf, "deaf", 0, "hostile: connections pipelining Metadata requests and never reading the answers")
	fs.IntVar(&o.hostile.stallBytes, "stall-bytes", 64<<10, "hostile: records in each stalled Produce frame, bytes")
	topicCfg := fs.String("topic-config", "", "configs of a topic this command creates, k=v,k=v")
	_ = fs.Parse(os.Args[2:])
	if *topicCfg != "" {
		o.topicCfg = map[string]*string{}
		for _, kv := range strings.Split(*topicCfg, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				fmt.Fprintf(os.Stderr, "load: --topic-config %q: want k=v\n", kv)
				os.Exit(2)
			}
			o.topicCfg[k] = &v
		}
	}

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancel()
	var (
		res any
		err error
	)
	switch os.Args[1] {
	case "produce":
		res, err = runProduce(ctx, o)
	case "consume":
		res, err = runConsume(ctx, o)
	case "e2e":
		res, err = runE2E(ctx, o)
	case "first":
		res, err = runFirst(ctx, o)
	case "conns":
		// The result was printed when every connection was open.
		if _, err := runConns(ctx, o); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		return
	case "admin":
		res, err = runAdmin(ctx, o)
	case "hostile":
		res, err = runHostile(ctx, o)
	case "topic":
		err = ensureTopic(ctx, o)
		res = map[string]any{"topic": o.topic, "partitions": o.partitions}
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(withCPU(res, start))
}

// withCPU adds this process's CPU time (user+system, all threads) and the
// cores it kept busy on average, so a report can tell a client-bound run.
func withCPU(res any, start time.Time) any {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return res
	}
	b, err := json.Marshal(res)
	m := map[string]any{}
	if err != nil || json.Unmarshal(b, &m) != nil {
		return res
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	m["client_cpu_s"] = cpu.Seconds()
	m["client_cores"] = cpu.Seconds() / time.Since(start).Seconds()
	return m
}

// producerOpts are the producer settings of every workload: acks=all,
// idempotent (kgo's default), linger, 1 MiB batches, no compression.
func producerOpts(o options) []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(strings.Split(o.brokers, ",")...),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(o.linger),
		kgo.ProducerBatchMaxBytes(1 << 20),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.DefaultProduceTopic(o.topic),
	}
}

// ensureTopic creates the topic with o.partitions partitions (replication
// factor 1) unless it exists, and waits until the broker serves metadata for
// every partition with a leader.
func ensureTopic(ctx context.Context, o options) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(o.brokers, ",")...))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	resp, err := adm.CreateTopic(ctx, int32(o.partitions), 1, o.topicCfg, o.topic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("creating %s: %w", o.topic, err)
	}
	if resp.Err != nil && !errors.Is(resp.Err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("creating %s: %w", o.topic, resp.Err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		md, err := adm.Metadata(ctx, o.topic)
		if err == nil {
			if td, ok := md.Topics[o.topic]; ok && td.Err == nil && len(td.Partitions) > 0 {
				ready := true
				for _, p := range td.Partitions {
					ready = ready && p.Err == nil && p.Leader >= 0
				}
				if ready {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topic %s has no leaders after 30s (last error: %v)", o.topic, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// payload returns printable random bytes, as Kafka's perf test sends.
func payload(n int) []byte {
	p := make([]byte, n)
	x := uint32(2463534242)
	for i := range p {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		p[i] = 'A' + byte(x%26)
	}
	return p
}

// pacer paces a loop to rate records/s like Kafka's ThroughputThrottler:
// it sleeps only when ahead of schedule, so an oversleep is caught up.
type pacer struct {
	start time.Time
	rate  float64
}

func (p pacer) wait(sent int64) {
	if p.rate <= 0 {
		return
	}
	due := p.start.Add(time.Duration(float64(sent) / p.rate * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

const mib = 1 << 20
