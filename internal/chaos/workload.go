package chaos

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/history"
)

// Producer produces unique values continuously with an idempotent acks=all
// franz-go client, recording every attempt.
type Producer struct {
	name  string
	topic string
	cl    *kgo.Client
	rec   *history.Recorder
	seq   atomic.Int64
	acked atomic.Int64
	stop  chan struct{}
	wg    sync.WaitGroup

	gmu     sync.Mutex // guards lastAck, maxGap, watchFrom and firstAck
	lastAck time.Time
	maxGap  time.Duration
	// watchFrom/firstAck measure failover: for a watched partition, the
	// first acknowledgement of a record sent after the fault.
	watchFrom map[int32]int64
	firstAck  map[int32]time.Time
}

// Watch starts measuring partitions: FailoverTime reports how long after
// t0 the first record sent after t0 was acknowledged on each.
func (p *Producer) Watch(parts []int32, t0 time.Time) {
	p.gmu.Lock()
	defer p.gmu.Unlock()
	p.watchFrom, p.firstAck = map[int32]int64{}, map[int32]time.Time{}
	for _, q := range parts {
		p.watchFrom[q] = t0.UnixNano()
	}
}

// FailoverTime is the longest, over the watched partitions, from the fault
// to the first acknowledgement of a record sent after it (ok false while
// some partition has had none).
func (p *Producer) FailoverTime() (d time.Duration, ok bool) {
	p.gmu.Lock()
	defer p.gmu.Unlock()
	for q, from := range p.watchFrom {
		at, seen := p.firstAck[q]
		if !seen {
			return 0, false
		}
		d = max(d, at.Sub(time.Unix(0, from)))
	}
	return d, true
}

func (p *Producer) noteWatched(part int32, start int64, now time.Time) {
	p.gmu.Lock()
	if from, ok := p.watchFrom[part]; ok && start > from {
		if _, seen := p.firstAck[part]; !seen {
			p.firstAck[part] = now
		}
	}
	p.gmu.Unlock()
}

// MaxGap is the longest time between two acknowledgements so far: how long
// producing stalled at worst (failover time, seen by a client).
func (p *Producer) MaxGap() time.Duration {
	p.gmu.Lock()
	defer p.gmu.Unlock()
	return p.maxGap
}

func (p *Producer) noteAck(now time.Time) {
	p.gmu.Lock()
	if !p.lastAck.IsZero() && now.Sub(p.lastAck) > p.maxGap {
		p.maxGap = now.Sub(p.lastAck)
	}
	p.lastAck = now
	p.gmu.Unlock()
}

// StartProducer starts producing to topic through seeds, at most inFlight
// records outstanding at a time and, if rate > 0, at most rate records a
// second on average (a long campaign's history stays a bounded size).
func StartProducer(name string, seeds []string, topic string, rec *history.Recorder, inFlight, rate int) (*Producer, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ClientID(name),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.RecordDeliveryTimeout(60*time.Second), kgo.ProducerLinger(2*time.Millisecond),
		kgo.MetadataMinAge(100*time.Millisecond))
	if err != nil {
		return nil, err
	}
	p := &Producer{name: name, topic: topic, cl: cl, rec: rec, stop: make(chan struct{})}
	slots := make(chan struct{}, inFlight)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		began := time.Now()
		for {
			select {
			case <-p.stop:
				return
			case slots <- struct{}{}:
			}
			seq := p.seq.Add(1)
			if rate > 0 {
				due := began.Add(time.Duration(seq) * time.Second / time.Duration(rate))
				if wait := time.Until(due); wait > 0 {
					select {
					case <-p.stop:
						<-slots
						return
					case <-time.After(wait):
					}
				}
			}
			value := fmt.Sprintf("%s-%09d", name, seq)
			start := time.Now().UnixNano()
			p.wg.Add(1)
			cl.Produce(context.Background(), &kgo.Record{Topic: topic, Value: []byte(value)}, func(r *kgo.Record, err error) {
				defer p.wg.Done()
				defer func() { <-slots }()
				ev := history.Produce{Client: name, Producer: name, Idempotent: true, Topic: topic, Partition: r.Partition,
					Value: value, Seq: seq, Start: start, Outcome: history.OK, Offset: r.Offset}
				if err != nil {
					// A record that failed may still have been written:
					// its outcome is unknown, not a failure.
					ev.Outcome, ev.Offset, ev.Err = history.Unknown, -1, err.Error()
				} else {
					p.acked.Add(1)
					now := time.Now()
					p.noteAck(now)
					p.noteWatched(r.Partition, start, now)
				}
				rec.Produce(ev)
			})
		}
	}()
	return p, nil
}

// Acked is how many records were acknowledged so far.
func (p *Producer) Acked() int64 { return p.acked.Load() }

// Stop stops producing, waits for every outstanding record's outcome and
// closes the client.
func (p *Producer) Stop() {
	close(p.stop)
	p.cl.Flush(context.Background())
	p.wg.Wait()
	p.cl.Close()
}

// GroupConsumer reads topic as a member of a consumer group, committing
// as it goes, and records what it reads.
type GroupConsumer struct {
	name    string
	cl      *kgo.Client
	rec     *history.Recorder
	read    atomic.Int64
	stop    chan struct{}
	done    chan struct{}
	smu     sync.Mutex
	session map[int32]int64
	nextSes int64
}

// StartGroupConsumer joins group and reads until Stop.
// With readCommitted it reads with isolation.level=read_committed.
func StartGroupConsumer(name string, seeds []string, group, topic string, rec *history.Recorder, readCommitted bool) (*GroupConsumer, error) {
	g := &GroupConsumer{name: name, rec: rec, stop: make(chan struct{}), done: make(chan struct{}), session: map[int32]int64{}}
	isolation, level := history.ReadUncommitted, kgo.ReadUncommitted()
	if readCommitted {
		isolation, level = history.ReadCommitted, kgo.ReadCommitted()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ClientID(name), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(level),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.MetadataMinAge(100*time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			g.smu.Lock()
			for _, ps := range m {
				for _, p := range ps {
					g.nextSes++
					g.session[p] = g.nextSes
					rec.Assign(history.Assign{Group: group, Member: name, Topic: topic, Partition: p})
				}
			}
			g.smu.Unlock()
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
			cl.CommitMarkedOffsets(ctx)
			for _, ps := range m {
				for _, p := range ps {
					rec.Revoke(history.Revoke{Group: group, Member: name, Topic: topic, Partition: p})
				}
			}
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			for _, ps := range m {
				for _, p := range ps {
					rec.Revoke(history.Revoke{Group: group, Member: name, Topic: topic, Partition: p})
				}
			}
		}))
	if err != nil {
		return nil, err
	}
	g.cl = cl
	go func() {
		defer close(g.done)
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-g.stop; cancel() }()
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				g.smu.Lock()
				ses := g.session[r.Partition]
				g.smu.Unlock()
				rec.Consume(history.Consume{Consumer: name, Group: group, Isolation: isolation, Topic: r.Topic, Partition: r.Partition,
					Offset: r.Offset, Value: string(r.Value), Session: ses})
				g.read.Add(1)
			})
		}
	}()
	return g, nil
}

// Read is how many records it has read.
func (g *GroupConsumer) Read() int64 { return g.read.Load() }

// Stop leaves the group and closes the client.
func (g *GroupConsumer) Stop() {
	close(g.stop)
	<-g.done
	g.cl.Close()
}

// FinalRead reads every partition of topic from its start to its end
// offset, recording each record as part of the final read.
// A transactional topic (txn) may end with markers, which no record
// reaches: there the read also ends once no record came for a while.
func FinalRead(ctx context.Context, seeds []string, topic string, rec *history.Recorder, txn bool) (int, error) {
	acl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return 0, err
	}
	defer acl.Close()
	adm := kadm.NewClient(acl)
	var ends kadm.ListedOffsets
	for {
		ends, err = adm.ListEndOffsets(ctx, topic)
		if err == nil && ends.Error() == nil {
			break
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("end offsets: %v %v", err, ends.Error())
		}
		time.Sleep(200 * time.Millisecond)
	}
	want := map[int32]int64{}
	offsets := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		want[o.Partition] = o.Offset
		offsets[o.Partition] = kgo.NewOffset().AtStart()
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	next := map[int32]int64{}
	done := func() bool {
		for p, end := range want {
			if next[p] < end {
				return false
			}
		}
		return true
	}
	const finalQuiet = 5 * time.Second
	last := time.Now()
	n := 0
	for !done() && (!txn || time.Since(last) < finalQuiet) {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return n, fmt.Errorf("final read incomplete: have %v, want %v", next, want)
		}
		var ferr error
		fs.EachError(func(_ string, p int32, err error) {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				ferr = fmt.Errorf("partition %d: %w", p, err)
			}
		})
		_ = ferr // transient errors are retried by the client
		fs.EachRecord(func(r *kgo.Record) {
			rec.Consume(history.Consume{Consumer: "final", Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
				Value: string(r.Value), Final: true, Session: int64(r.Partition) + 1})
			next[r.Partition] = r.Offset + 1
			n++
			last = time.Now()
		})
	}
	return n, nil
}
