package history

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
)

// Builders for hand-made histories. Every event is on topic "t"; times
// are small integers, which is all the checks compare.

func hist(events ...Event) *History {
	h := &History{}
	for _, e := range events {
		h.Add(e)
	}
	return h
}

// ack is a produce attempt of an idempotent producer acknowledged at offset.
func ack(producer string, partition int32, seq, offset int64, value string) Produce {
	return Produce{Client: "c-" + producer, Producer: producer, Idempotent: true, Topic: "t", Partition: partition,
		Value: value, Seq: seq, Start: seq * 10, End: seq*10 + 5, Outcome: OK, Offset: offset}
}

// attempt is a produce attempt that was not acknowledged.
func attempt(producer string, partition int32, seq int64, value string, o Outcome) Produce {
	p := ack(producer, partition, seq, -1, value)
	p.Outcome = o
	return p
}

func plain(p Produce) Produce { p.Idempotent = false; return p }

func inTxn(p Produce, seq int64) Produce { p.Txn = "tx-" + p.Producer; p.TxnSeq = seq; return p }

func fin(partition int32, offset int64, value string) Consume {
	return Consume{Consumer: "final", Topic: "t", Partition: partition, Offset: offset, Value: value, Time: 1000 + offset, Final: true}
}

func read(consumer string, session int64, partition int32, offset int64, value string) Consume {
	return Consume{Consumer: consumer, Topic: "t", Partition: partition, Offset: offset, Value: value, Time: 100 + offset, Session: session}
}

func committedRead(c Consume) Consume { c.Isolation = ReadCommitted; return c }

func commit(member string, partition int32, offset, start, end int64) Commit {
	return Commit{Group: "g", Member: member, Topic: "t", Partition: partition, Offset: offset, Outcome: OK, Start: start, End: end}
}

func assign(group, member string, partition int32, time int64) Assign {
	return Assign{Group: group, Member: member, Topic: "t", Partition: partition, Time: time}
}

func revoke(group, member string, partition int32, time int64) Revoke {
	return Revoke(assign(group, member, partition, time))
}

func hw(consumer string, partition int32, value, logStart int64, final bool) HighWatermark {
	return HighWatermark{Consumer: consumer, Topic: "t", Partition: partition, Value: value, LogStart: logStart, Time: 500, Final: final}
}

// checkCase is one history and the anomalies it must yield, exactly.
type checkCase struct {
	name  string
	h     *History
	want  map[Kind]int
	check func(t *testing.T, r *Report) // optional: more about the report
}

func runCheckCases(t *testing.T, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Check(tc.h)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == nil {
				want = map[Kind]int{}
			}
			if !maps.Equal(r.AnomalyCounts, want) {
				t.Errorf("anomalies %v, want %v\n%s", r.AnomalyCounts, want, anomalyLines(r))
			}
			if len(r.Anomalies) != r.Total() {
				t.Errorf("%d anomalies listed, %d counted", len(r.Anomalies), r.Total())
			}
			for _, a := range r.Anomalies {
				if a.Text == "" || len(a.Events) == 0 || a.Topic == "" {
					t.Errorf("anomaly without text, events or topic: %+v", a)
				}
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

func anomalyLines(r *Report) string {
	var b strings.Builder
	for _, a := range r.Anomalies {
		fmt.Fprintf(&b, "  %s\n", a)
	}
	return b.String()
}

// generate makes a clean history of about n events: idempotent producers
// writing to 16 partitions (1% of attempts without an answer and not
// written), a group of four consumers each reading four partitions and
// committing every 100 records, and the final read of every partition.
func generate(n int, seed uint64) *History {
	const (
		partitions = 16
		producers  = 8
		consumers  = 4
	)
	rng := rand.New(rand.NewPCG(seed, seed))
	h := &History{}
	// About 2.5 events per attempt: the produce, the final read, half a
	// consumer read and the occasional commit.
	attempts := n * 2 / 5
	next := make([]int64, partitions)
	seq := make([]int64, producers)
	type rec struct {
		offset int64
		value  string
	}
	logs := make([][]rec, partitions)
	for i := range attempts {
		pr := rng.IntN(producers)
		part := int32(rng.IntN(partitions))
		producer := fmt.Sprintf("p%d", pr)
		seq[pr]++
		value := fmt.Sprintf("%s-%d-%016x", producer, seq[pr], rng.Uint64())
		start := int64(i) * 1000
		p := Produce{Client: "client-" + producer, Producer: producer, Idempotent: true, Topic: "bench", Partition: part,
			Key: fmt.Sprintf("k%d", rng.IntN(1000)), Value: value, Seq: seq[pr], Start: start, End: start + 900}
		if rng.IntN(100) == 0 {
			p.Outcome, p.Offset = Unknown, -1
		} else {
			p.Outcome, p.Offset = OK, next[part]
			logs[part] = append(logs[part], rec{next[part], value})
			next[part]++
		}
		h.Produces = append(h.Produces, p)
	}
	for ci := range consumers {
		member := fmt.Sprintf("m%d", ci)
		for part := int32(ci * partitions / consumers); part < int32((ci+1)*partitions/consumers); part++ {
			h.Assigns = append(h.Assigns, Assign{Group: "g", Member: member, Generation: 1, Topic: "bench", Partition: part, Time: 1})
			for j, r := range logs[part] {
				if rng.IntN(2) == 0 {
					h.Consumes = append(h.Consumes, Consume{Consumer: member, Group: "g", Topic: "bench", Partition: part,
						Offset: r.offset, Value: r.value, Time: int64(j) * 1000})
				}
				if j%100 == 99 {
					t := int64(j) * 1000
					h.Commits = append(h.Commits, Commit{Group: "g", Member: member, Topic: "bench", Partition: part,
						Offset: r.offset + 1, Outcome: OK, Start: t, End: t + 500})
				}
			}
		}
	}
	for part := range int32(partitions) {
		for _, r := range logs[part] {
			h.Consumes = append(h.Consumes, Consume{Consumer: "final", Topic: "bench", Partition: part,
				Offset: r.offset, Value: r.value, Time: 1 << 40, Final: true})
		}
		h.HighWatermarks = append(h.HighWatermarks, HighWatermark{Consumer: "final", Topic: "bench", Partition: part,
			Value: next[part], Time: 1 << 40, Final: true})
	}
	return h
}
