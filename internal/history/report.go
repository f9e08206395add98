package history

import (
	"fmt"
	"strings"
	"time"
)

// Kind names a kind of anomaly.
type Kind string

// The kinds of anomaly, in the order a report lists them. Each is a
// broker failing a promise, not a client's bad luck; docs/history-checker.md
// says what each one decides.
const (
	// KindLost: an acknowledged record is not in the final read.
	KindLost Kind = "lost"
	// KindMoved: an acknowledged record is in the final read, but not at
	// the offset (or in the partition) it was acknowledged at.
	KindMoved Kind = "moved"
	// KindDuplicate: a record of an idempotent producer is in the final
	// read more than once.
	KindDuplicate Kind = "duplicate"
	// KindOrder: two acknowledged records of one idempotent producer to
	// one partition have offsets in the opposite order of their sends.
	KindOrder Kind = "order"
	// KindPhantom: the final read holds a value no producer sent.
	KindPhantom Kind = "phantom"
	// KindFinalConflict: the final read holds two values at one offset.
	KindFinalConflict Kind = "final-conflict"
	// KindOffsetOrder: a consumer session read an offset not above the
	// one it read before.
	KindOffsetOrder Kind = "offset-order"
	// KindReadUncommitted: a consumer read a record that the final read
	// does not hold at that offset: it read past a high watermark that
	// was later truncated.
	KindReadUncommitted Kind = "read-uncommitted-data"
	// KindTruncatedHW: a consumer saw a high watermark above the end of
	// the final read, so committed records were truncated.
	KindTruncatedHW Kind = "truncated-hw"
	// KindAbortedRead: a read_committed consumer read a record of an
	// aborted transaction.
	KindAbortedRead Kind = "aborted-read"
	// KindCommitRegression: a group's committed offset for a partition
	// moved backwards between two successful commits that did not overlap.
	KindCommitRegression Kind = "commit-regression"
	// KindDoubleOwnership: two members of a group owned one partition at
	// the same time.
	KindDoubleOwnership Kind = "double-ownership"
)

// Kinds lists every kind in report order.
var Kinds = []Kind{
	KindLost, KindMoved, KindDuplicate, KindOrder, KindPhantom, KindFinalConflict,
	KindOffsetOrder, KindReadUncommitted, KindTruncatedHW, KindAbortedRead,
	KindCommitRegression, KindDoubleOwnership,
}

// Anomaly is one broken promise, with the events that show it.
type Anomaly struct {
	Kind      Kind    `json:"kind"`
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Group     string  `json:"group,omitempty"`
	Offsets   []int64 `json:"offsets,omitempty"`
	Events    []Event `json:"events"`
	// Text says what happened in one sentence.
	Text string `json:"text"`
}

func (a Anomaly) String() string { return string(a.Kind) + ": " + a.Text }

// Counts says how much each check looked at, so that a clean report can
// be told from one that checked nothing.
type Counts struct {
	Events int `json:"events"`
	// Produced is every produce attempt, Acknowledged those with outcome
	// ok, and AckChecked those looked up in the final read; the others
	// were below the log start (removed by retention) or belong to a
	// transaction that did not commit, which no read need show.
	Produced         int `json:"produced"`
	Acknowledged     int `json:"acknowledged"`
	AckChecked       int `json:"acknowledged_checked"`
	AckBelowLogStart int `json:"acknowledged_below_log_start"`
	AckNotCommitted  int `json:"acknowledged_not_committed"`
	// UnackFound counts attempts with outcome error or unknown whose
	// record is in the final read anyway (allowed).
	UnackFound int `json:"unacknowledged_found"`
	// FinalRecords counts the distinct offsets of the final read over
	// FinalPartitions partitions, out of FinalEvents final consume events.
	FinalRecords    int `json:"final_records"`
	FinalPartitions int `json:"final_partitions"`
	FinalEvents     int `json:"final_events"`
	// DuplicatesNonIdempotent counts extra copies of records of
	// producers that are not idempotent (allowed: a retry may write twice).
	DuplicatesNonIdempotent int `json:"duplicates_non_idempotent"`
	// OrderPairs counts the consecutive acknowledged sends of idempotent
	// producers whose offsets were compared; ReorderedNonIdempotent the
	// pairs of other producers that were out of order (allowed).
	OrderPairs             int `json:"order_pairs"`
	ReorderedNonIdempotent int `json:"reordered_non_idempotent"`
	// Consumed counts consume events outside the final read, in Sessions
	// sessions (final-read sessions included); ConsumedChecked those
	// compared with the final read. Skipped: below the log start, or
	// records of transactions that did not commit and are not in the
	// final read.
	Consumed              int `json:"consumed"`
	Sessions              int `json:"sessions"`
	ConsumedChecked       int `json:"consumed_checked"`
	ConsumedBelowLogStart int `json:"consumed_below_log_start"`
	ConsumedNotCommitted  int `json:"consumed_not_committed"`
	// ReadCommitted counts read_committed consume events of transactional
	// records whose transaction's outcome is known.
	ReadCommitted int `json:"read_committed_checked"`
	// HighWatermarks counts observed high watermarks compared with the end
	// of the final read (only partitions whose final read recorded one).
	HighWatermarks int `json:"high_watermarks_checked"`
	// Commits counts successful commits; OwnershipIntervals the
	// assign-to-revoke intervals compared.
	Commits            int `json:"commits_checked"`
	OwnershipIntervals int `json:"ownership_intervals"`
}

// CheckResult is one line of the summary: one check, what it looked at
// and how many anomalies it found.
type CheckResult struct {
	Check     string `json:"check"`
	Kinds     []Kind `json:"kinds"`
	Checked   int    `json:"checked"`
	What      string `json:"what"`
	Anomalies int    `json:"anomalies"`
	// Skipped is set when the history lacks what the check needs (a
	// final read); Checked is then 0 and proves nothing.
	Skipped bool   `json:"skipped,omitempty"`
	Note    string `json:"note,omitempty"`
}

// Report is the result of Check.
type Report struct {
	// FinalRead says whether the history has a final read. Without one
	// only the checks that need no ground truth ran.
	FinalRead     bool          `json:"final_read"`
	Counts        Counts        `json:"counts"`
	Checks        []CheckResult `json:"checks"`
	AnomalyCounts map[Kind]int  `json:"anomaly_counts"`
	// Anomalies lists at most MaxAnomaliesPerKind anomalies of each kind,
	// grouped by kind in the order of Kinds; Omitted counts the rest.
	Anomalies []Anomaly `json:"anomalies"`
	Omitted   int       `json:"omitted"`
	Notes     []string  `json:"notes,omitempty"`
}

// MaxAnomaliesPerKind bounds the anomalies a Report lists, so a broker that
// lost a whole partition of ten million records yields a readable report
// in bounded memory; AnomalyCounts still counts every one.
const MaxAnomaliesPerKind = 1000

// Total returns the number of anomalies found, listed or not.
func (r *Report) Total() int {
	n := 0
	for _, c := range r.AnomalyCounts {
		n += c
	}
	return n
}

// Clean reports whether no anomaly was found.
func (r *Report) Clean() bool { return r.Total() == 0 }

// Summary says in one line how many anomalies of which kinds were found.
func (r *Report) Summary() string {
	if r.Clean() {
		return "no anomalies"
	}
	var parts []string
	for _, k := range Kinds {
		if n := r.AnomalyCounts[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d", k, n))
		}
	}
	noun := "anomalies"
	if r.Total() == 1 {
		noun = "anomaly"
	}
	return fmt.Sprintf("%d %s (%s)", r.Total(), noun, strings.Join(parts, ", "))
}

func (r *Report) add(a Anomaly) {
	r.AnomalyCounts[a.Kind]++
	if r.AnomalyCounts[a.Kind] > MaxAnomaliesPerKind {
		r.Omitted++
		return
	}
	r.Anomalies = append(r.Anomalies, a)
}

// checks builds the summary lines from the counts.
func (r *Report) checks() []CheckResult {
	c := &r.Counts
	noFinal := !r.FinalRead
	lines := []CheckResult{
		{Check: "lost", Kinds: []Kind{KindLost, KindMoved}, Checked: c.AckChecked, What: "acknowledged records", Skipped: noFinal,
			Note: fmt.Sprintf("%d below the log start, %d in transactions not committed", c.AckBelowLogStart, c.AckNotCommitted)},
		{Check: "duplicate", Kinds: []Kind{KindDuplicate}, Checked: c.Produced, What: "produce attempts", Skipped: noFinal,
			Note: fmt.Sprintf("%d extra copies from non-idempotent producers; %d unacknowledged attempts found", c.DuplicatesNonIdempotent, c.UnackFound)},
		{Check: "order", Kinds: []Kind{KindOrder}, Checked: c.OrderPairs, What: "consecutive acknowledged sends",
			Note: fmt.Sprintf("%d reordered pairs from non-idempotent producers", c.ReorderedNonIdempotent)},
		{Check: "corruption", Kinds: []Kind{KindPhantom, KindFinalConflict}, Checked: c.FinalRecords, What: "records in the final read", Skipped: noFinal,
			Note: fmt.Sprintf("%d partition(s)", c.FinalPartitions)},
		{Check: "offsets", Kinds: []Kind{KindOffsetOrder}, Checked: c.Consumed + c.FinalEvents, What: "consumed records",
			Note: fmt.Sprintf("%d session(s)", c.Sessions)},
		{Check: "truncation", Kinds: []Kind{KindReadUncommitted, KindTruncatedHW}, Checked: c.ConsumedChecked + c.HighWatermarks, What: "consumed records and high watermarks", Skipped: noFinal,
			Note: fmt.Sprintf("%d high watermarks; %d below the log start, %d in transactions not committed", c.HighWatermarks, c.ConsumedBelowLogStart, c.ConsumedNotCommitted)},
		{Check: "read-committed", Kinds: []Kind{KindAbortedRead}, Checked: c.ReadCommitted, What: "read_committed transactional records"},
		{Check: "commits", Kinds: []Kind{KindCommitRegression}, Checked: c.Commits, What: "successful commits"},
		{Check: "ownership", Kinds: []Kind{KindDoubleOwnership}, Checked: c.OwnershipIntervals, What: "assignment intervals"},
	}
	for i := range lines {
		for _, k := range lines[i].Kinds {
			lines[i].Anomalies += r.AnomalyCounts[k]
		}
		if lines[i].Skipped {
			lines[i].Note = "skipped: no final read"
		}
	}
	return lines
}

// tpName names a partition the way Kafka's tools do.
func tpName(topic string, partition int32) string {
	return fmt.Sprintf("%s-%d", topic, partition)
}

// fmtTime formats unix nanoseconds for an anomaly's sentence.
func fmtTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000000Z")
}

// quote quotes a value for a sentence, cut to a length a reader can take in.
func quote(v string) string {
	const maxLen = 64
	if len(v) > maxLen {
		return fmt.Sprintf("%q...", v[:maxLen])
	}
	return fmt.Sprintf("%q", v)
}
