package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/history"
)

// txnSize is how many records each transaction of a TxnProducer writes.
const txnSize = 10

// TxnProducer writes transactions of txnSize records to a topic, commits
// most and aborts about one in five on purpose, and records every record
// with its transaction and every transaction's outcome as its producer
// saw it. When a transaction's end fails (its outcome is then unknown) or
// the client is fenced, it closes the client and starts a new one with
// the same transactional id: a new logical producer whose
// InitProducerId fences the old one and aborts what it left open.
type TxnProducer struct {
	name      string
	id        string
	seeds     []string
	topic     string
	rec       *history.Recorder
	rng       *rand.Rand
	seq       atomic.Int64 // records attempted
	committed atomic.Int64 // transactions committed
	aborted   atomic.Int64 // transactions aborted
	unknown   atomic.Int64 // transactions whose end failed
	stop      chan struct{}
	done      chan struct{}
}

// StartTxnProducer starts writing transactions to topic until Stop.
func StartTxnProducer(name, txnID string, seeds []string, topic string, rec *history.Recorder, seed uint64) *TxnProducer {
	p := &TxnProducer{name: name, id: txnID, seeds: seeds, topic: topic, rec: rec,
		rng: rand.New(rand.NewPCG(seed, seed^0x7478)), stop: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	return p
}

// Committed is how many transactions were committed so far.
func (p *TxnProducer) Committed() int64 { return p.committed.Load() }

// Counts returns the transactions committed, aborted and of unknown end.
func (p *TxnProducer) Counts() (committed, aborted, unknown int64) {
	return p.committed.Load(), p.aborted.Load(), p.unknown.Load()
}

// Stop ends the current transaction and closes the client.
func (p *TxnProducer) Stop() {
	close(p.stop)
	<-p.done
}

func (p *TxnProducer) stopped() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}

func (p *TxnProducer) run() {
	defer close(p.done)
	for gen := 1; !p.stopped(); gen++ {
		producer := fmt.Sprintf("%s-%d", p.name, gen)
		cl, err := kgo.NewClient(kgo.SeedBrokers(p.seeds...), kgo.ClientID(producer), kgo.TransactionalID(p.id),
			kgo.DefaultProduceTopic(p.topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
			kgo.TransactionTimeout(20*time.Second), kgo.RecordDeliveryTimeout(30*time.Second),
			kgo.RetryTimeout(30*time.Second), kgo.MetadataMinAge(100*time.Millisecond))
		if err != nil {
			time.Sleep(time.Second)
			continue
		}
		p.transactions(cl, producer)
		cl.Close()
	}
}

// transactions runs transactions on cl until Stop or a failed end.
func (p *TxnProducer) transactions(cl *kgo.Client, producer string) {
	for txnSeq := int64(1); !p.stopped(); txnSeq++ {
		if err := cl.BeginTransaction(); err != nil {
			return
		}
		start := time.Now().UnixNano()
		var wg sync.WaitGroup
		var failed atomic.Bool
		for range txnSize {
			seq := p.seq.Add(1)
			value := fmt.Sprintf("%s-%09d", p.name, seq)
			began := time.Now().UnixNano()
			wg.Add(1)
			cl.Produce(context.Background(), &kgo.Record{Value: []byte(value)}, func(r *kgo.Record, err error) {
				defer wg.Done()
				ev := history.Produce{Client: producer, Producer: producer, Idempotent: true, Topic: p.topic, Partition: r.Partition,
					Value: value, Seq: seq, Start: began, Outcome: history.OK, Offset: r.Offset, Txn: p.id, TxnSeq: txnSeq}
				if err != nil {
					failed.Store(true)
					ev.Outcome, ev.Offset, ev.Err = history.Unknown, -1, err.Error()
				}
				ev.End = time.Now().UnixNano()
				p.rec.Produce(ev)
			})
		}
		wg.Wait()
		commit := !failed.Load() && p.rng.IntN(5) != 0
		try := kgo.TryAbort
		if commit {
			try = kgo.TryCommit
		}
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		err := cl.EndTransaction(ctx, try)
		cancel()
		ev := history.Txn{Producer: producer, Txn: p.id, TxnSeq: txnSeq, Start: start, End: time.Now().UnixNano()}
		switch {
		case err != nil:
			ev.Outcome = history.TxnUnknown
			p.unknown.Add(1)
		case commit:
			ev.Outcome = history.TxnCommit
			p.committed.Add(1)
		default:
			ev.Outcome = history.TxnAbort
			p.aborted.Add(1)
		}
		p.rec.Txn(ev)
		if err != nil || failed.Load() {
			return // start over with a new client: the old one may be fenced
		}
	}
}
