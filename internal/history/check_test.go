package history

import (
	"errors"
	"strings"
	"testing"
)

// want is shorthand for an exact anomaly count of one kind.
func want(k Kind, n int) map[Kind]int { return map[Kind]int{k: n} }

func TestCheckLost(t *testing.T) {
	runCheckCases(t, []checkCase{
		{name: "clean", h: hist(
			ack("p1", 0, 1, 0, "a"), ack("p1", 0, 2, 1, "b"), ack("p1", 0, 3, 2, "c"),
			fin(0, 0, "a"), fin(0, 1, "b"), fin(0, 2, "c"),
		), check: func(t *testing.T, r *Report) {
			if r.Counts.AckChecked != 3 || r.Counts.FinalRecords != 3 || !r.FinalRead {
				t.Errorf("counts %+v, final read %v", r.Counts, r.FinalRead)
			}
		}},
		{name: "one missing", h: hist(
			ack("p1", 0, 1, 0, "a"), ack("p1", 0, 2, 1, "b"), ack("p1", 0, 3, 2, "c"),
			fin(0, 0, "a"), fin(0, 2, "c"),
		), want: want(KindLost, 1), check: func(t *testing.T, r *Report) {
			if a := r.Anomalies[0]; a.Offsets[0] != 1 || !strings.Contains(a.Text, `"b"`) {
				t.Errorf("anomaly %+v", a)
			}
		}},
		{name: "tail truncated", h: hist(
			ack("p1", 0, 1, 0, "a"), ack("p1", 0, 2, 1, "b"), ack("p1", 0, 3, 2, "c"),
			fin(0, 0, "a"),
		), want: want(KindLost, 2)},
		{name: "partition empty in the final read", h: hist(
			ack("p1", 0, 1, 0, "a"), ack("p1", 1, 2, 0, "b"), ack("p1", 1, 3, 1, "c"),
			fin(0, 0, "a"),
		), want: want(KindLost, 2)},
		{name: "below the recorded log start", h: hist(
			ack("p1", 0, 1, 0, "a"), ack("p1", 0, 2, 1, "b"), ack("p1", 0, 3, 2, "c"),
			fin(0, 2, "c"), hw("final", 0, 3, 2, true),
		), check: func(t *testing.T, r *Report) {
			if r.Counts.AckBelowLogStart != 2 || r.Counts.AckChecked != 1 {
				t.Errorf("counts %+v", r.Counts)
			}
		}},
		{name: "missing below the first offset read without a log start", h: hist(
			ack("p1", 0, 1, 0, "a"), ack("p1", 0, 2, 1, "b"),
			fin(0, 1, "b"),
		), want: want(KindLost, 1)},
		{name: "error and unknown outcomes may be missing", h: hist(
			ack("p1", 0, 1, 0, "a"), attempt("p1", 0, 2, "b", Error), attempt("p1", 0, 3, "c", Unknown),
			fin(0, 0, "a"),
		)},
		{name: "unknown outcome present", h: hist(
			ack("p1", 0, 1, 0, "a"), attempt("p1", 0, 2, "b", Unknown),
			fin(0, 0, "a"), fin(0, 1, "b"),
		), check: func(t *testing.T, r *Report) {
			if r.Counts.UnackFound != 1 {
				t.Errorf("unacknowledged found %d, want 1", r.Counts.UnackFound)
			}
		}},
		{name: "aborted transaction need not be read", h: hist(
			inTxn(ack("p1", 0, 1, 0, "a"), 1), Txn{Producer: "p1", TxnSeq: 1, Outcome: TxnAbort},
			ack("p2", 0, 1, 2, "b"), fin(0, 2, "b"),
		)},
		{name: "committed transaction lost", h: hist(
			inTxn(ack("p1", 0, 1, 0, "a"), 1), Txn{Producer: "p1", TxnSeq: 1, Outcome: TxnCommit},
			ack("p2", 0, 1, 2, "b"), fin(0, 2, "b"),
		), want: want(KindLost, 1)},
		{name: "no final read: nothing decided", h: hist(
			ack("p1", 0, 1, 0, "a"),
		), check: func(t *testing.T, r *Report) {
			if r.FinalRead || len(r.Notes) == 0 || !r.Checks[0].Skipped {
				t.Errorf("final read %v, notes %q, checks %+v", r.FinalRead, r.Notes, r.Checks[0])
			}
		}},
	})
}

func TestCheckMoved(t *testing.T) {
	runCheckCases(t, []checkCase{
		{name: "clean", h: hist(ack("p1", 0, 1, 0, "a"), fin(0, 0, "a"))},
		{name: "other offset", h: hist(
			ack("p1", 0, 1, 0, "a"), ack("p1", 0, 2, 1, "b"),
			fin(0, 0, "a"), fin(0, 2, "b"),
		), want: want(KindMoved, 1)},
		{name: "copied to another partition", h: hist(
			ack("p1", 0, 1, 0, "a"), ack("p1", 1, 2, 1, "b"),
			fin(0, 0, "a"), fin(1, 0, "a"), fin(1, 1, "b"),
		), want: map[Kind]int{KindDuplicate: 1}},
		{name: "only in another partition", h: hist(
			ack("p1", 0, 1, 0, "a"), fin(1, 0, "a"),
		), want: want(KindMoved, 1), check: func(t *testing.T, r *Report) {
			if !strings.Contains(r.Anomalies[0].Text, "t-1 offset 0") {
				t.Errorf("text %q does not say where", r.Anomalies[0].Text)
			}
		}},
	})
}

func TestCheckDuplicate(t *testing.T) {
	runCheckCases(t, []checkCase{
		{name: "clean", h: hist(ack("p1", 0, 1, 0, "a"), ack("p1", 0, 2, 1, "b"), fin(0, 0, "a"), fin(0, 1, "b"))},
		{name: "idempotent twice", h: hist(
			ack("p1", 0, 1, 0, "a"), ack("p1", 0, 2, 2, "b"),
			fin(0, 0, "a"), fin(0, 1, "a"), fin(0, 2, "b"),
		), want: want(KindDuplicate, 1), check: func(t *testing.T, r *Report) {
			if got := r.Anomalies[0].Offsets; len(got) != 2 || got[0] != 0 || got[1] != 1 {
				t.Errorf("offsets %v, want [0 1]", got)
			}
		}},
		{name: "idempotent unknown outcome twice", h: hist(
			attempt("p1", 0, 1, "a", Unknown), fin(0, 0, "a"), fin(0, 1, "a"),
		), want: want(KindDuplicate, 1)},
		{name: "not idempotent: counted only", h: hist(
			plain(ack("p1", 0, 1, 0, "a")), fin(0, 0, "a"), fin(0, 1, "a"), fin(0, 2, "a"),
		), check: func(t *testing.T, r *Report) {
			if r.Counts.DuplicatesNonIdempotent != 2 {
				t.Errorf("non-idempotent duplicates %d, want 2", r.Counts.DuplicatesNonIdempotent)
			}
		}},
		{name: "same offset read twice is one record", h: hist(
			ack("p1", 0, 1, 0, "a"), fin(0, 0, "a"),
			Consume{Consumer: "final2", Topic: "t", Offset: 0, Value: "a", Final: true},
		)},
	})
}

func TestCheckOrder(t *testing.T) {
	runCheckCases(t, []checkCase{
		{name: "clean across partitions", h: hist(
			ack("p1", 0, 1, 5, "a"), ack("p1", 1, 2, 0, "b"), ack("p1", 0, 3, 6, "c"),
		)},
		{name: "idempotent inverted", h: hist(
			ack("p1", 0, 1, 1, "a"), ack("p1", 0, 2, 0, "b"), ack("p1", 0, 3, 2, "c"),
			fin(0, 0, "b"), fin(0, 1, "a"), fin(0, 2, "c"),
		), want: want(KindOrder, 1)},
		{name: "recorded out of seq order", h: hist(
			ack("p1", 0, 2, 1, "b"), ack("p1", 0, 1, 0, "a"),
		)},
		{name: "not idempotent: counted only", h: hist(
			plain(ack("p1", 0, 1, 1, "a")), plain(ack("p1", 0, 2, 0, "b")),
		), check: func(t *testing.T, r *Report) {
			if r.Counts.ReorderedNonIdempotent != 1 || r.Counts.OrderPairs != 0 {
				t.Errorf("counts %+v", r.Counts)
			}
		}},
		{name: "two producers interleave", h: hist(
			ack("p1", 0, 1, 0, "a"), ack("p2", 0, 1, 1, "b"), ack("p1", 0, 2, 2, "c"), ack("p2", 0, 2, 3, "d"),
		)},
	})
}

func TestCheckPhantom(t *testing.T) {
	runCheckCases(t, []checkCase{
		{name: "clean", h: hist(ack("p1", 0, 1, 0, "a"), fin(0, 0, "a"))},
		{name: "never sent", h: hist(
			ack("p1", 0, 1, 0, "a"), fin(0, 0, "a"), fin(0, 1, "garbage"),
		), want: want(KindPhantom, 1)},
		{name: "unacknowledged but sent", h: hist(
			ack("p1", 0, 1, 0, "a"), attempt("p1", 0, 2, "b", Error), fin(0, 0, "a"), fin(0, 1, "b"),
		)},
	})
}

func TestCheckFinalConflict(t *testing.T) {
	other := fin(0, 0, "b")
	other.Consumer = "final2"
	same := fin(0, 0, "a")
	same.Consumer = "final2"
	runCheckCases(t, []checkCase{
		{name: "two final reads agree", h: hist(ack("p1", 0, 1, 0, "a"), fin(0, 0, "a"), same)},
		{name: "two final reads disagree", h: hist(
			ack("p1", 0, 1, 0, "a"), attempt("p1", 0, 2, "b", Unknown), fin(0, 0, "a"), other,
		), want: want(KindFinalConflict, 1)},
	})
}

func TestCheckOffsetOrder(t *testing.T) {
	base := []Event{ack("p1", 0, 1, 0, "a"), ack("p1", 0, 2, 1, "b"), ack("p1", 0, 3, 2, "c"),
		fin(0, 0, "a"), fin(0, 1, "b"), fin(0, 2, "c")}
	with := func(events ...Event) *History { return hist(append(append([]Event{}, base...), events...)...) }
	runCheckCases(t, []checkCase{
		{name: "clean with a gap", h: with(read("c1", 0, 0, 0, "a"), read("c1", 0, 0, 2, "c"))},
		{name: "repeated offset", h: with(read("c1", 0, 0, 0, "a"), read("c1", 0, 0, 1, "b"), read("c1", 0, 0, 1, "b")),
			want: want(KindOffsetOrder, 1)},
		{name: "backwards", h: with(read("c1", 0, 0, 0, "a"), read("c1", 0, 0, 2, "c"), read("c1", 0, 0, 1, "b")),
			want: want(KindOffsetOrder, 1)},
		{name: "backwards in a new session", h: with(read("c1", 0, 0, 2, "c"), read("c1", 1, 0, 0, "a"), read("c1", 1, 0, 1, "b"))},
		{name: "two consumers", h: with(read("c1", 0, 0, 2, "c"), read("c2", 0, 0, 0, "a"))},
		{name: "final read backwards", h: with(fin(0, 0, "a")), want: want(KindOffsetOrder, 1)},
	})
}

func TestCheckReadUncommitted(t *testing.T) {
	base := []Event{ack("p1", 0, 1, 0, "a"), ack("p1", 0, 2, 1, "b"), attempt("p1", 0, 3, "c", Unknown),
		fin(0, 0, "a"), fin(0, 1, "b")}
	with := func(events ...Event) *History { return hist(append(append([]Event{}, base...), events...)...) }
	runCheckCases(t, []checkCase{
		{name: "clean", h: with(read("c1", 0, 0, 0, "a"), read("c1", 0, 0, 1, "b")), check: func(t *testing.T, r *Report) {
			if r.Counts.ConsumedChecked != 2 || r.Counts.Consumed != 2 {
				t.Errorf("counts %+v", r.Counts)
			}
		}},
		{name: "read a record later truncated", h: with(read("c1", 0, 0, 1, "b"), read("c1", 0, 0, 2, "c")),
			want: want(KindReadUncommitted, 1)},
		{name: "read a record later replaced", h: with(read("c1", 0, 0, 1, "c")),
			want: want(KindReadUncommitted, 1)},
		{name: "below the log start", h: hist(
			ack("p1", 0, 1, 0, "a"), ack("p1", 0, 2, 1, "b"), fin(0, 1, "b"), hw("final", 0, 2, 1, true),
			read("c1", 0, 0, 0, "a"),
		), check: func(t *testing.T, r *Report) {
			if r.Counts.ConsumedBelowLogStart != 1 {
				t.Errorf("counts %+v", r.Counts)
			}
		}},
		{name: "aborted record absent from a read_committed final read", h: hist(
			inTxn(ack("p1", 0, 1, 0, "a"), 1), Txn{Producer: "p1", TxnSeq: 1, Outcome: TxnAbort},
			inTxn(ack("p1", 0, 2, 2, "b"), 2), Txn{Producer: "p1", TxnSeq: 2, Outcome: TxnCommit},
			committedRead(fin(0, 2, "b")), read("c1", 0, 0, 0, "a"),
		), check: func(t *testing.T, r *Report) {
			if r.Counts.ConsumedNotCommitted != 1 {
				t.Errorf("counts %+v", r.Counts)
			}
		}},
		{name: "no final read", h: hist(attempt("p1", 0, 1, "c", Unknown), read("c1", 0, 0, 5, "c"))},
	})
}

func TestCheckTruncatedHW(t *testing.T) {
	base := []Event{ack("p1", 0, 1, 0, "a"), fin(0, 0, "a")}
	with := func(events ...Event) *History { return hist(append(append([]Event{}, base...), events...)...) }
	runCheckCases(t, []checkCase{
		{name: "clean", h: with(hw("c1", 0, 1, 0, false), hw("final", 0, 1, 0, true)), check: func(t *testing.T, r *Report) {
			if r.Counts.HighWatermarks != 1 {
				t.Errorf("counts %+v", r.Counts)
			}
		}},
		{name: "above the final end", h: with(hw("c1", 0, 3, 0, false), hw("final", 0, 1, 0, true)),
			want: want(KindTruncatedHW, 1)},
		{name: "no final high watermark", h: with(hw("c1", 0, 3, 0, false))},
	})
}

func TestCheckAbortedRead(t *testing.T) {
	base := []Event{
		inTxn(ack("p1", 0, 1, 0, "a"), 1), Txn{Producer: "p1", TxnSeq: 1, Outcome: TxnAbort},
		inTxn(ack("p1", 0, 2, 2, "b"), 2), Txn{Producer: "p1", TxnSeq: 2, Outcome: TxnCommit},
		inTxn(ack("p1", 0, 3, 4, "c"), 3),
		committedRead(fin(0, 2, "b")),
	}
	with := func(events ...Event) *History { return hist(append(append([]Event{}, base...), events...)...) }
	runCheckCases(t, []checkCase{
		{name: "committed read", h: with(committedRead(read("c1", 0, 0, 2, "b"))), check: func(t *testing.T, r *Report) {
			if r.Counts.ReadCommitted != 2 { // the consumer's and the final read's
				t.Errorf("counts %+v", r.Counts)
			}
		}},
		{name: "aborted read by read_committed", h: with(committedRead(read("c1", 0, 0, 0, "a"))),
			want: want(KindAbortedRead, 1)},
		{name: "aborted read by read_uncommitted", h: with(read("c1", 0, 0, 0, "a"))},
		{name: "outcome unknown", h: with(committedRead(read("c1", 0, 0, 4, "c")))},
		{name: "aborted in the final read", h: with(committedRead(fin(0, 0, "a"))),
			want: map[Kind]int{KindAbortedRead: 1, KindOffsetOrder: 1}},
	})
}

func TestCheckCommits(t *testing.T) {
	runCheckCases(t, []checkCase{
		{name: "rising", h: hist(commit("m1", 0, 5, 0, 1), commit("m1", 0, 10, 2, 3), commit("m2", 0, 10, 4, 5))},
		{name: "backwards", h: hist(commit("m1", 0, 10, 0, 1), commit("m2", 0, 5, 2, 3)),
			want: want(KindCommitRegression, 1)},
		{name: "backwards twice", h: hist(commit("m1", 0, 10, 0, 1), commit("m2", 0, 5, 2, 3), commit("m2", 0, 7, 4, 5)),
			want: want(KindCommitRegression, 2)},
		{name: "concurrent commits are not ordered", h: hist(commit("m1", 0, 10, 0, 5), commit("m2", 0, 5, 1, 3))},
		{name: "failed commit ignored", h: hist(commit("m1", 0, 10, 0, 1), func() Commit {
			c := commit("m2", 0, 5, 2, 3)
			c.Outcome = Error
			return c
		}())},
		{name: "partitions apart", h: hist(commit("m1", 0, 10, 0, 1), commit("m1", 1, 5, 2, 3))},
		{name: "recorded out of order", h: hist(commit("m2", 0, 5, 2, 3), commit("m1", 0, 10, 0, 1)),
			want: want(KindCommitRegression, 1)},
	})
}

func TestCheckOwnership(t *testing.T) {
	runCheckCases(t, []checkCase{
		{name: "handed over", h: hist(
			assign("g", "m1", 0, 0), revoke("g", "m1", 0, 5), assign("g", "m2", 0, 5),
			revoke("g", "m2", 0, 9), assign("g", "m1", 0, 10),
		), check: func(t *testing.T, r *Report) {
			if r.Counts.OwnershipIntervals != 3 {
				t.Errorf("counts %+v", r.Counts)
			}
		}},
		{name: "overlap", h: hist(assign("g", "m1", 0, 0), assign("g", "m2", 0, 5), revoke("g", "m1", 0, 10)),
			want: want(KindDoubleOwnership, 1)},
		{name: "never revoked", h: hist(assign("g", "m1", 0, 0), assign("g", "m2", 0, 5)),
			want: want(KindDoubleOwnership, 1)},
		{name: "three at once", h: hist(assign("g", "m1", 0, 0), assign("g", "m2", 0, 5), assign("g", "m3", 0, 6)),
			want: want(KindDoubleOwnership, 2)},
		{name: "groups apart", h: hist(assign("g", "m1", 0, 0), assign("h", "m2", 0, 5))},
		{name: "partitions apart", h: hist(assign("g", "m1", 0, 0), assign("g", "m2", 1, 5))},
		{name: "assigned twice to one member", h: hist(assign("g", "m1", 0, 0), assign("g", "m1", 0, 5))},
		{name: "recorded out of time order", h: hist(assign("g", "m2", 0, 5), revoke("g", "m1", 0, 5), assign("g", "m1", 0, 0))},
	})
}

func TestCheckInvalid(t *testing.T) {
	tests := []struct {
		name string
		h    *History
		want string
	}{
		{"value sent twice", hist(ack("p1", 0, 1, 0, "a"), ack("p2", 0, 1, 1, "a")), `value "a" is sent by two produce attempts`},
		{"transaction both ways", hist(
			Txn{Producer: "p1", TxnSeq: 1, Outcome: TxnCommit}, Txn{Producer: "p1", TxnSeq: 1, Outcome: TxnAbort},
		), "both committed and aborted"},
	}
	for _, tt := range tests {
		_, err := Check(tt.h)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want ErrInvalid with %q", tt.name, err, tt.want)
		}
	}
	// An unknown outcome next to a known one is not a contradiction.
	h := hist(Txn{Producer: "p1", TxnSeq: 1, Outcome: TxnUnknown}, Txn{Producer: "p1", TxnSeq: 1, Outcome: TxnAbort})
	if _, err := Check(h); err != nil {
		t.Error(err)
	}
}

func TestCheckGenerated(t *testing.T) {
	h := generate(20000, 1)
	r, err := Check(h)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Clean() {
		t.Fatalf("generated history: %s\n%s", r.Summary(), anomalyLines(r))
	}
	c := r.Counts
	if c.AckChecked < 7000 || c.AckChecked != c.Acknowledged || c.FinalRecords != c.Acknowledged ||
		c.ConsumedChecked != c.Consumed || c.Commits == 0 || c.OrderPairs == 0 || c.HighWatermarks != 0 {
		t.Errorf("counts %+v", c)
	}

	// Losing one record in the middle of a partition is found, and only it.
	for i := range h.Consumes {
		if e := &h.Consumes[i]; e.Final && e.Partition == 3 && e.Offset == 40 {
			h.Consumes = append(h.Consumes[:i], h.Consumes[i+1:]...)
			break
		}
	}
	r, err = Check(h)
	if err != nil {
		t.Fatal(err)
	}
	got := r.AnomalyCounts
	if got[KindLost] != 1 || got[KindReadUncommitted] > 1 || r.Total() != got[KindLost]+got[KindReadUncommitted] {
		t.Errorf("after removing one record: %s\n%s", r.Summary(), anomalyLines(r))
	}
}

func TestReportCapsAnomalies(t *testing.T) {
	h := &History{}
	for i := range MaxAnomaliesPerKind + 10 {
		h.Produces = append(h.Produces, ack("p1", 0, int64(i), int64(i), string(rune('a'+i%26))+strings.Repeat("x", i)))
	}
	h.HighWatermarks = append(h.HighWatermarks, hw("final", 0, 0, 0, true))
	r, err := Check(h)
	if err != nil {
		t.Fatal(err)
	}
	if r.AnomalyCounts[KindLost] != MaxAnomaliesPerKind+10 || len(r.Anomalies) != MaxAnomaliesPerKind || r.Omitted != 10 {
		t.Errorf("lost %d, listed %d, omitted %d", r.AnomalyCounts[KindLost], len(r.Anomalies), r.Omitted)
	}
	if !strings.HasPrefix(r.Summary(), "1010 anomalies (lost: 1010)") {
		t.Errorf("summary %q", r.Summary())
	}
}
