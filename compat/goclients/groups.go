package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Consumer groups, the same check for each client: a first member reads at
// least half of the records, commits exactly what it processed and leaves;
// a second member of the group then reads exactly the rest, no record twice
// and none missing.

const groupRecords = 1000

func init() {
	saramaScenarios["consumer-group"] = saramaGroup
	kafkaGoScenarios["reader-group"] = kafkaGoGroup
	franzScenarios["consumer-group"] = franzGroup
}

// groupFixture creates a 3-partition topic holding groupRecords records with
// values v0..v999, through franz-go.
func groupFixture(bootstrap, topic string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.DefaultProduceTopic(topic))
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := franzCreate(ctx, cl, topic, 3); err != nil {
		return err
	}
	recs := make([]*kgo.Record, groupRecords)
	for i := range recs {
		recs[i] = &kgo.Record{Key: []byte(fmt.Sprint("k", i%13)), Value: []byte(fmt.Sprint("v", i))}
	}
	return cl.ProduceSync(ctx, recs...).FirstErr()
}

// tally counts values seen by the two members.
type tally struct {
	mu    sync.Mutex
	first map[string]bool
	rest  map[string]bool
}

func newTally() *tally { return &tally{first: map[string]bool{}, rest: map[string]bool{}} }

func (t *tally) add(second bool, v string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.first[v] || t.rest[v] {
		return fmt.Errorf("record %s consumed twice (second member: %v)", v, second)
	}
	if second {
		t.rest[v] = true
	} else {
		t.first[v] = true
	}
	return nil
}

func (t *tally) count(second bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if second {
		return len(t.rest)
	}
	return len(t.first)
}

func (t *tally) check() error {
	if len(t.first) < groupRecords/2 || len(t.first)+len(t.rest) != groupRecords {
		return fmt.Errorf("first member %d records, second %d, want %d in all", len(t.first), len(t.rest), groupRecords)
	}
	fmt.Printf("first member %d records, second member the other %d\n", len(t.first), len(t.rest))
	return nil
}

// sarama

type saramaHandler struct {
	t      *tally
	second bool
	want   int
	cancel context.CancelFunc
	err    error
	mu     sync.Mutex
}

func (h *saramaHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *saramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		h.mu.Lock()
		done := h.t.count(h.second) >= h.want
		if !done {
			if err := h.t.add(h.second, string(m.Value)); err != nil && h.err == nil {
				h.err = err
			}
			s.MarkMessage(m, "")
			done = h.t.count(h.second) >= h.want
		}
		h.mu.Unlock()
		if done {
			h.cancel()
			return nil
		}
	}
	return nil
}

func saramaGroup(bootstrap string) error {
	const topic, group = "sarama-group", "sarama-group"
	if err := groupFixture(bootstrap, topic); err != nil {
		return err
	}
	t := newTally()
	for _, second := range []bool{false, true} {
		cfg := saramaConfig(sarama.MaxVersion)
		cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
		cfg.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
		cg, err := sarama.NewConsumerGroup([]string{bootstrap}, group, cfg)
		if err != nil {
			return fmt.Errorf("NewConsumerGroup: %w", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		want := groupRecords / 2
		if second {
			want = groupRecords - t.count(false)
		}
		h := &saramaHandler{t: t, second: second, want: want, cancel: cancel}
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{topic}, h); err != nil {
				cancel()
				cg.Close()
				return fmt.Errorf("Consume: %w", err)
			}
		}
		timedOut := ctx.Err() == context.DeadlineExceeded
		cancel()
		if err := cg.Close(); err != nil {
			return fmt.Errorf("ConsumerGroup.Close: %w", err)
		}
		if h.err != nil {
			return h.err
		}
		if timedOut {
			return fmt.Errorf("member %d: %d of %d records in 60s", map[bool]int{false: 1, true: 2}[second], t.count(second), want)
		}
	}
	return t.check()
}

// kafka-go

func kafkaGoGroup(bootstrap string) error {
	const topic, group = "kgo-group", "kgo-group"
	if err := groupFixture(bootstrap, topic); err != nil {
		return err
	}
	t := newTally()
	for _, second := range []bool{false, true} {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: []string{bootstrap}, GroupID: group, Topic: topic, StartOffset: kafka.FirstOffset,
			MaxWait: 200 * time.Millisecond,
		})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		want := groupRecords / 2
		if second {
			want = groupRecords - t.count(false)
		}
		for t.count(second) < want {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				cancel()
				r.Close()
				return fmt.Errorf("FetchMessage after %d of %d: %w", t.count(second), want, err)
			}
			if err := t.add(second, string(m.Value)); err != nil {
				cancel()
				r.Close()
				return err
			}
			if err := r.CommitMessages(ctx, m); err != nil {
				cancel()
				r.Close()
				return fmt.Errorf("CommitMessages: %w", err)
			}
		}
		cancel()
		if err := r.Close(); err != nil {
			return fmt.Errorf("Reader.Close: %w", err)
		}
	}
	return t.check()
}

// franz-go

func franzGroup(bootstrap string) error {
	const topic, group = "franz-group", "franz-group"
	if err := groupFixture(bootstrap, topic); err != nil {
		return err
	}
	t := newTally()
	for _, second := range []bool{false, true} {
		cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
			kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		want := groupRecords / 2
		if second {
			want = groupRecords - t.count(false)
		}
		var done []*kgo.Record
		for t.count(second) < want {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				cancel()
				cl.Close()
				return fmt.Errorf("%d of %d records in 60s", t.count(second), want)
			}
			var ferr error
			fs.EachError(func(tp string, p int32, err error) { ferr = fmt.Errorf("fetch %s/%d: %w", tp, p, err) })
			if ferr != nil {
				cancel()
				cl.Close()
				return ferr
			}
			fs.EachRecord(func(r *kgo.Record) {
				if t.count(second) < want {
					if err := t.add(second, string(r.Value)); err != nil && ferr == nil {
						ferr = err
					}
					done = append(done, r)
				}
			})
			if ferr != nil {
				cancel()
				cl.Close()
				return ferr
			}
		}
		// Commit exactly the processed records, then leave the group.
		err = cl.CommitRecords(ctx, done...)
		cancel()
		cl.Close()
		if err != nil {
			return fmt.Errorf("CommitRecords: %w", err)
		}
	}
	return t.check()
}
