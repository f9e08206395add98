package txn

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// harness drives a Coordinator that owns every partition, completing
// appends at once and keeping the log it wrote for replays.
type harness struct {
	t    *testing.T
	c    *Coordinator
	now  time.Time
	log  []Append
	pids int64
	mk   []Markers
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, now: time.UnixMilli(1_700_000_000_000)}
	h.c = New(Config{MaxTimeout: 15 * time.Minute, IDExpiration: time.Hour, AbortInterval: time.Second, ExpireInterval: time.Minute},
		func(string) int32 { return 0 }, func() (int64, error) { h.pids++; return 1000 + h.pids, nil })
	h.c.BeginLoad(0, 7)
	h.run(h.c.FinishLoad(h.now, 0))
	return h
}

// run performs out: appends complete successfully, replies run, markers
// are remembered (not completed).
func (h *harness) run(out Out) {
	for len(out.Appends) > 0 || len(out.Replies) > 0 {
		next := Out{}
		for _, a := range out.Appends {
			h.log = append(h.log, a)
			o := h.c.AppendDone(h.now, a.ID, nil)
			next.Appends = append(next.Appends, o.Appends...)
			next.Replies = append(next.Replies, o.Replies...)
			next.Markers = append(next.Markers, o.Markers...)
		}
		for _, f := range out.Replies {
			f()
		}
		h.mk = append(h.mk, out.Markers...)
		out = next
	}
	h.mk = append(h.mk, out.Markers...)
}

func (h *harness) init(id string, version int16, pid int64, epoch int16) *kmsg.InitProducerIDResponse {
	req := kmsg.NewPtrInitProducerIDRequest()
	req.Version, req.TransactionalID, req.TransactionTimeoutMillis = version, &id, 60000
	req.ProducerID, req.ProducerEpoch = pid, epoch
	var resp *kmsg.InitProducerIDResponse
	h.run(h.c.InitProducerID(h.now, req, func(r *kmsg.InitProducerIDResponse) { resp = r }))
	if resp == nil {
		h.t.Fatal("InitProducerID not answered")
	}
	return resp
}

func (h *harness) add(id string, pid int64, epoch int16, tps ...TopicPartition) int16 {
	code := int16(-1)
	h.run(h.c.AddPartitions(h.now, id, pid, epoch, tps, 3, func(c int16) { code = c }))
	return code
}

func (h *harness) end(id string, version int16, pid int64, epoch int16, commit bool) *kmsg.EndTxnResponse {
	req := kmsg.NewPtrEndTxnRequest()
	req.Version, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = version, id, pid, epoch, commit
	var resp *kmsg.EndTxnResponse
	h.run(h.c.EndTxn(h.now, req, func(r *kmsg.EndTxnResponse) { resp = r }))
	if resp == nil {
		h.t.Fatal("EndTxn not answered")
	}
	return resp
}

// markersDone completes every outstanding marker job.
func (h *harness) markersDone() []Markers {
	mk := h.mk
	h.mk = nil
	for _, m := range mk {
		h.run(h.c.MarkersDone(h.now, m.ID))
	}
	return mk
}

func (h *harness) state(id string) Info {
	i, ok := h.c.Info(id)
	if !ok {
		h.t.Fatalf("%s unknown", id)
	}
	return i
}

func TestInitBumpsEpochAndFences(t *testing.T) {
	h := newHarness(t)
	r := h.init("a", 4, -1, -1)
	if r.ErrorCode != 0 || r.ProducerID != 1001 || r.ProducerEpoch != 0 {
		t.Fatalf("first init: %+v", r)
	}
	r = h.init("a", 4, -1, -1)
	if r.ErrorCode != 0 || r.ProducerID != 1001 || r.ProducerEpoch != 1 {
		t.Fatalf("second init: %+v", r)
	}
	// The old epoch is fenced.
	if code := h.add("a", 1001, 0, TopicPartition{"t", 0}); code != kerr.ProducerFenced.Code {
		t.Fatalf("add with fenced epoch (v3): %d", code)
	}
	// KIP-360: re-init with the current id and epoch bumps it.
	r = h.init("a", 4, 1001, 1)
	if r.ErrorCode != 0 || r.ProducerEpoch != 2 {
		t.Fatalf("KIP-360 init: %+v", r)
	}
	// A retry of that bump (lost answer) gets the same epoch.
	r = h.init("a", 4, 1001, 1)
	if r.ErrorCode != 0 || r.ProducerEpoch != 2 {
		t.Fatalf("retried KIP-360 init: %+v", r)
	}
	// Another id's producer is fenced.
	if r = h.init("a", 4, 999, 0); r.ErrorCode != kerr.ProducerFenced.Code {
		t.Fatalf("init with a foreign producer id: %+v", r)
	}
	if r = h.init("", 4, -1, -1); r.ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("empty id: %+v", r)
	}
}

func TestCommitV1(t *testing.T) {
	h := newHarness(t)
	r := h.init("a", 4, -1, -1)
	pid, ep := r.ProducerID, r.ProducerEpoch
	if code := h.add("a", pid, ep, TopicPartition{"t", 0}, TopicPartition{"t", 1}); code != 0 {
		t.Fatalf("add: %d", code)
	}
	if s := h.state("a"); s.State != "Ongoing" || s.Partitions != 2 {
		t.Fatalf("after add: %+v", s)
	}
	if e := h.end("a", 3, pid, ep, true); e.ErrorCode != 0 {
		t.Fatalf("end: %+v", e)
	}
	if s := h.state("a"); s.State != "PrepareCommit" {
		t.Fatalf("after end: %+v", s)
	}
	// Before the markers are written, a new add must wait.
	if code := h.add("a", pid, ep, TopicPartition{"t", 0}); code != kerr.ConcurrentTransactions.Code {
		t.Fatalf("add during PrepareCommit: %d", code)
	}
	// A retried commit is CONCURRENT_TRANSACTIONS, an abort INVALID_TXN_STATE.
	if e := h.end("a", 3, pid, ep, true); e.ErrorCode != kerr.ConcurrentTransactions.Code {
		t.Fatalf("retried end: %+v", e)
	}
	if e := h.end("a", 3, pid, ep, false); e.ErrorCode != kerr.InvalidTxnState.Code {
		t.Fatalf("abort after commit: %+v", e)
	}
	mk := h.markersDone()
	if len(mk) != 1 || !mk[0].Commit || len(mk[0].Partitions) != 2 || mk[0].ProducerEpoch != ep || mk[0].CoordinatorEpoch != 7 {
		t.Fatalf("markers: %+v", mk)
	}
	if s := h.state("a"); s.State != "CompleteCommit" || s.Partitions != 0 {
		t.Fatalf("after markers: %+v", s)
	}
	if e := h.end("a", 3, pid, ep, true); e.ErrorCode != 0 {
		t.Fatalf("commit retried after completion: %+v", e)
	}
	if e := h.end("a", 3, pid, ep, false); e.ErrorCode != kerr.InvalidTxnState.Code {
		t.Fatalf("abort of a completed commit: %+v", e)
	}
}

func TestEndTxnV2BumpsEpoch(t *testing.T) {
	h := newHarness(t)
	r := h.init("a", 5, -1, -1)
	pid, ep := r.ProducerID, r.ProducerEpoch
	h.add("a", pid, ep, TopicPartition{"t", 0})
	e := h.end("a", 5, pid, ep, true)
	if e.ErrorCode != 0 || e.ProducerID != pid || e.ProducerEpoch != ep+1 {
		t.Fatalf("end v5: %+v", e)
	}
	mk := h.markersDone()
	if len(mk) != 1 || mk[0].ProducerEpoch != ep+1 || mk[0].TransactionVersion != 2 {
		t.Fatalf("markers carry the bumped epoch: %+v", mk)
	}
	// A retry with the old epoch is recognised and answered the same.
	if e2 := h.end("a", 5, pid, ep, true); e2.ErrorCode != 0 || e2.ProducerEpoch != ep+1 {
		t.Fatalf("retried end v5: %+v", e2)
	}
	// The old epoch can no longer add partitions.
	if code := h.add("a", pid, ep, TopicPartition{"t", 0}); code != kerr.ProducerFenced.Code {
		t.Fatalf("add with the pre-end epoch: %d", code)
	}
	// Aborting with nothing added is allowed in V2.
	if e3 := h.end("a", 5, pid, ep+1, false); e3.ErrorCode != 0 || e3.ProducerEpoch != ep+2 {
		t.Fatalf("empty abort v5: %+v", e3)
	}
}

func TestInitAbortsOngoing(t *testing.T) {
	h := newHarness(t)
	r := h.init("a", 4, -1, -1)
	h.add("a", r.ProducerID, r.ProducerEpoch, TopicPartition{"t", 0})
	r2 := h.init("a", 4, -1, -1)
	if r2.ErrorCode != kerr.ConcurrentTransactions.Code {
		t.Fatalf("init during a transaction: %+v", r2)
	}
	mk := h.markersDone()
	if len(mk) != 1 || mk[0].Commit || mk[0].ProducerEpoch != r.ProducerEpoch+1 {
		t.Fatalf("fencing abort markers: %+v", mk)
	}
	r3 := h.init("a", 4, -1, -1)
	if r3.ErrorCode != 0 || r3.ProducerEpoch != r.ProducerEpoch+2 {
		t.Fatalf("init after the abort: %+v", r3)
	}
}

func TestTimeoutAndExpiry(t *testing.T) {
	h := newHarness(t)
	r := h.init("a", 4, -1, -1)
	h.add("a", r.ProducerID, r.ProducerEpoch, TopicPartition{"t", 0})
	h.run(h.c.Tick(h.now)) // arms the timers
	h.now = h.now.Add(61 * time.Second)
	h.run(h.c.Tick(h.now))
	if s := h.state("a"); s.State != "PrepareAbort" || s.Epoch != r.ProducerEpoch+1 {
		t.Fatalf("after the timeout: %+v", s)
	}
	h.markersDone()
	if s := h.state("a"); s.State != "CompleteAbort" {
		t.Fatalf("after the abort markers: %+v", s)
	}
	h.now = h.now.Add(2 * time.Hour)
	h.run(h.c.Tick(h.now))
	if _, ok := h.c.Info("a"); ok {
		t.Fatal("an expired transactional id is still known")
	}
	if last := h.log[len(h.log)-1]; last.Value != nil {
		t.Fatal("expiry wrote no tombstone")
	}
}

// Replaying what was written rebuilds the same state, and a transaction
// found half-ended gets its markers sent again.
func TestReplayResendsMarkers(t *testing.T) {
	h := newHarness(t)
	r := h.init("a", 4, -1, -1)
	h.add("a", r.ProducerID, r.ProducerEpoch, TopicPartition{"t", 0}, TopicPartition{"u", 3})
	h.end("a", 3, r.ProducerID, r.ProducerEpoch, true)
	r2 := h.init("b", 4, -1, -1)
	h.add("b", r2.ProducerID, r2.ProducerEpoch, TopicPartition{"t", 1})

	c2 := New(Config{MaxTimeout: time.Minute}, func(string) int32 { return 0 }, nil)
	c2.BeginLoad(0, 8)
	for _, a := range h.log {
		if err := c2.Replay(0, a.Key, a.Value); err != nil {
			t.Fatal(err)
		}
	}
	out := c2.FinishLoad(h.now, 0)
	if len(out.Markers) != 1 || out.Markers[0].TransactionalID != "a" || out.Markers[0].CoordinatorEpoch != 8 || len(out.Markers[0].Partitions) != 2 {
		t.Fatalf("markers after replay: %+v", out.Markers)
	}
	if i, _ := c2.Info("b"); i.State != "Ongoing" || i.Partitions != 1 || i.ProducerID != r2.ProducerID {
		t.Fatalf("b after replay: %+v", i)
	}
}

func TestNotCoordinatorAndLoading(t *testing.T) {
	c := New(Config{MaxTimeout: time.Minute}, func(id string) int32 { return int32(len(id)) }, nil)
	id := "ab"
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionalID, req.TransactionTimeoutMillis = &id, 1000
	var code int16
	run := func(out Out) {
		for _, f := range out.Replies {
			f()
		}
	}
	run(c.InitProducerID(time.Now(), req, func(r *kmsg.InitProducerIDResponse) { code = r.ErrorCode }))
	if code != kerr.NotCoordinator.Code {
		t.Fatalf("unowned partition: %d", code)
	}
	c.BeginLoad(2, 1)
	run(c.InitProducerID(time.Now(), req, func(r *kmsg.InitProducerIDResponse) { code = r.ErrorCode }))
	if code != kerr.CoordinatorLoadInProgress.Code {
		t.Fatalf("loading partition: %d", code)
	}
	req.TransactionTimeoutMillis = 2 * 60 * 1000
	run(c.InitProducerID(time.Now(), req, func(r *kmsg.InitProducerIDResponse) { code = r.ErrorCode }))
	if code != kerr.InvalidTransactionTimeout.Code {
		t.Fatalf("timeout over the max: %d", code)
	}
}
