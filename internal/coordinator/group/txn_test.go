package group

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// addBatch puts an encoded batch of n records at the end of partition p's
// test log.
func (h *harness) addBatch(p int32, b []byte, n int) {
	binary.BigEndian.PutUint64(b, uint64(h.next[p])) // base offset, outside the CRC
	h.batches[p] = append(h.batches[p], b)
	h.next[p] += int64(n)
}

// controlBatch is a transaction marker as partition leaders write it.
func controlBatch(pid int64, epoch int16, commit bool) []byte {
	typ := kmsg.ControlRecordKeyTypeAbort
	if commit {
		typ = kmsg.ControlRecordKeyTypeCommit
	}
	k := kmsg.ControlRecordKey{Version: 0, Type: typ}
	v := kmsg.EndTxnMarker{Version: 0, CoordinatorEpoch: 3}
	return record.EncodeBatch(&kmsg.RecordBatch{
		FirstTimestamp: 1, MaxTimestamp: 1, ProducerID: pid, ProducerEpoch: epoch, FirstSequence: -1,
		Attributes: record.TransactionalBit | record.ControlBit,
	}, []kmsg.Record{{Key: k.AppendTo(nil), Value: v.AppendTo(nil)}})
}

// marker writes a transaction marker of pid on group's partition and
// reports it, as the broker does once the marker is durable.
func (h *harness) marker(group string, pid int64, commit bool) {
	p := PartitionFor(group, h.c.cfg.Partitions)
	h.addBatch(p, controlBatch(pid, 0, commit), 1)
	h.c.CompleteTxn(p, pid, commit)
}

type txnReq struct {
	version    int16
	group      string
	pid        int64
	member     string
	generation int32
	instance   *string
	topic      string
	partition  int32
	offset     int64
	metadata   string
}

func (h *harness) txnCommit(r txnReq) *kmsg.TxnOffsetCommitResponse {
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.Version = r.version
	if req.Version == 0 {
		req.Version = 4
	}
	if r.topic == "" {
		r.topic = "t"
	}
	req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = "tx", r.group, r.pid, 1
	req.MemberID, req.Generation, req.InstanceID = r.member, r.generation, r.instance
	p := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	p.Partition, p.Offset, p.LeaderEpoch = r.partition, r.offset, 5
	if r.metadata != "" {
		p.Metadata = &r.metadata
	}
	req.Topics = []kmsg.TxnOffsetCommitRequestTopic{{Topic: r.topic, Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{p}}}
	b := &box{}
	h.apply(h.c.TxnOffsetCommit(h.now, req, func(t string, p int32) bool { return t != "missing" }, b))
	if len(b.got) == 0 {
		return nil
	}
	return b.last(h.t).(*kmsg.TxnOffsetCommitResponse)
}

func txnCode(r *kmsg.TxnOffsetCommitResponse) int16 { return r.Topics[0].Partitions[0].ErrorCode }

// simple is a commit from a producer outside any group (generation -1).
func simple(group string, pid int64, partition int32, off int64) txnReq {
	return txnReq{group: group, pid: pid, generation: -1, partition: partition, offset: off}
}

func TestTxnOffsetCommitPendingUntilMarker(t *testing.T) {
	h := newHarness(t, nil)
	h.auto = false
	if r := h.txnCommit(simple("g", 7, 0, 42)); r != nil {
		t.Fatal("answered before the batch was durable")
	}
	if f := h.fetched("g", "t", 0, true); f.ErrorCode != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("require stable while writing: %+v", f)
	}
	h.flush(nil)
	if len(h.pending) != 0 {
		t.Fatal("append left")
	}
	// Durable, but the transaction is open.
	if f := h.fetched("g", "t", 0, false); f.Offset != -1 || f.ErrorCode != 0 {
		t.Fatalf("visible before the transaction committed: %+v", f)
	}
	if f := h.fetched("g", "t", 0, true); f.ErrorCode != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("require stable while pending: %+v", f)
	}
	// Another producer's marker, or one on another partition, changes nothing.
	h.marker("g", 8, true)
	h.c.CompleteTxn(PartitionFor("g", 3)+1, 7, true)
	if f := h.fetched("g", "t", 0, true); f.ErrorCode != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("other marker ended the transaction: %+v", f)
	}
	h.marker("g", 7, true)
	if f := h.fetched("g", "t", 0, true); f.ErrorCode != 0 || f.Offset != 42 || f.LeaderEpoch != 5 {
		t.Fatalf("after commit: %+v", f)
	}
	// Abort drops the offsets: the last committed one stays.
	h.auto = true
	if c := txnCode(h.txnCommit(simple("g", 7, 0, 50))); c != 0 {
		t.Fatalf("second transaction: %d", c)
	}
	if f := h.fetched("g", "t", 0, false); f.Offset != 42 {
		t.Fatalf("non-stable fetch during a transaction: %+v", f)
	}
	h.marker("g", 7, false)
	if f := h.fetched("g", "t", 0, true); f.ErrorCode != 0 || f.Offset != 42 {
		t.Fatalf("after abort: %+v", f)
	}
	// A plain commit written after the transactional one wins at commit;
	// one written before loses.
	h.txnCommit(simple("g", 9, 0, 60))
	h.commit("g", "", -1, "t", 0, 70)
	h.txnCommit(simple("g", 9, 1, 61))
	h.commit("g", "", -1, "t", 1, 71) // after 61: 71 wins
	h.commit("g", "", -1, "t", 2, 72)
	h.txnCommit(simple("g", 9, 2, 62)) // after 72: 62 wins
	h.marker("g", 9, true)
	for p, want := range map[int32]int64{0: 70, 1: 71, 2: 62} {
		if f := h.fetched("g", "t", p, true); f.Offset != want {
			t.Errorf("partition %d: %d, want %d", p, f.Offset, want)
		}
	}
	// Listing all offsets shows only committed ones.
	h.txnCommit(simple("g", 10, 3, 63))
	all, _ := h.c.FetchOffsets("g", nil, true)
	if len(all) != 3 {
		t.Fatalf("all offsets: %+v", all)
	}
}

func TestTxnOffsetCommitErrors(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxMetadataBytes = 4 })
	r := h.txnCommit(txnReq{group: "g", pid: 1, generation: -1, topic: "missing"})
	if txnCode(r) != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("unknown topic: %d", txnCode(r))
	}
	if _, ok := h.c.Info("g"); ok {
		t.Fatal("a request with only unknown partitions created the group")
	}
	if c := txnCode(h.txnCommit(txnReq{group: "g", pid: 1, generation: -1, metadata: "too long"})); c != kerr.OffsetMetadataTooLarge.Code {
		t.Fatalf("metadata: %d", c)
	}
	if c := txnCode(h.txnCommit(txnReq{group: "", pid: 1, generation: -1})); c != kerr.InvalidGroupID.Code {
		t.Fatalf("empty group id: %d", c)
	}
	// A fenced producer: the log refuses its epoch.
	h.auto = false
	h.txnCommit(simple("g", 1, 0, 1))
	a := h.pending[0]
	h.pending = nil
	out := h.c.AppendDone(h.now, a.ID, fmt.Errorf("append: %w", storage.ErrInvalidProducerEpoch))
	resp := out.Replies[0].Resp.(*kmsg.TxnOffsetCommitResponse)
	if txnCode(resp) != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("fenced producer: %d", txnCode(resp))
	}
	if f := h.fetched("g", "t", 0, true); f.ErrorCode != 0 || f.Offset != -1 {
		t.Fatalf("failed commit left state: %+v", f)
	}
	// Loading: v2+ COORDINATOR_LOAD_IN_PROGRESS, v0-v1 COORDINATOR_NOT_AVAILABLE.
	h2 := &harness{t: t, c: New(DefaultConfig(), "x"), auto: true, batches: map[int32][][]byte{}, next: map[int32]int64{}}
	for v, want := range map[int16]int16{1: kerr.CoordinatorNotAvailable.Code, 2: kerr.CoordinatorLoadInProgress.Code} {
		r := simple("g", 1, 0, 1)
		r.version = v
		if c := txnCode(h2.txnCommit(r)); c != want {
			t.Errorf("loading, v%d: %d, want %d", v, c, want)
		}
	}
}

// TestTxnOffsetCommitFencing: KIP-447's group fields (v3+).
func TestTxnOffsetCommitFencing(t *testing.T) {
	h := newHarness(t, nil)
	ids, gen := h.stableGroup("s", 2)
	inst := "i1"
	for _, c := range []struct {
		name string
		r    txnReq
		want int16
	}{
		{"member", txnReq{member: ids[0], generation: gen}, 0},
		{"no group fields", txnReq{generation: -1}, 0},
		{"unknown member", txnReq{member: "ghost", generation: gen}, kerr.UnknownMemberID.Code},
		{"old generation", txnReq{member: ids[1], generation: gen - 1}, kerr.IllegalGeneration.Code},
		{"member without generation", txnReq{member: ids[1], generation: -1}, kerr.IllegalGeneration.Code},
		{"unknown instance", txnReq{member: ids[0], generation: gen, instance: &inst}, kerr.UnknownMemberID.Code},
		{"v2 carries no group fields", txnReq{version: 2, member: "ghost", generation: 99}, 0},
	} {
		c.r.group, c.r.pid = "s", 3
		if got := txnCode(h.txnCommit(c.r)); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	// A static member replaced by another instance holder is fenced.
	j := joinReq("st", "", 9)
	j.InstanceID = &inst
	b := h.join(j)
	h.advance(0)
	jr := b.last(t).(*kmsg.JoinGroupResponse)
	h.sync("st", jr.MemberID, jr.Generation, map[string][]byte{jr.MemberID: nil})
	for _, c := range []struct {
		member string
		want   int16
	}{{jr.MemberID, 0}, {"someone-else", kerr.FencedInstanceID.Code}} {
		r := txnReq{group: "st", pid: 4, member: c.member, generation: jr.Generation, instance: &inst}
		if got := txnCode(h.txnCommit(r)); got != c.want {
			t.Errorf("static member %q: %d, want %d", c.member, got, c.want)
		}
	}
	// A group that does not exist: created empty for generation -1,
	// ILLEGAL_GENERATION with one.
	if c := txnCode(h.txnCommit(txnReq{group: "new", pid: 5, generation: 2, member: "m"})); c != kerr.IllegalGeneration.Code {
		t.Fatalf("generation for an unknown group: %d", c)
	}
	if c := txnCode(h.txnCommit(txnReq{group: "new", pid: 5, generation: -1, member: "m"})); c != 0 {
		t.Fatalf("simple commit to an unknown group: %d", c)
	}
	if info, ok := h.c.Info("new"); !ok || info.State != Empty {
		t.Fatalf("group not created: %+v", info)
	}

	// KIP-848: the generation is the member epoch; a stale one is
	// ILLEGAL_GENERATION for this API, as in Kafka.
	r := h.cgh("a", 0, nil)
	member, epoch := "a", r.MemberEpoch
	if r.ErrorCode != 0 || epoch < 1 {
		t.Fatalf("consumer join: %d epoch %d", r.ErrorCode, epoch)
	}
	for _, c := range []struct {
		name string
		r    txnReq
		want int16
	}{
		{"member epoch", txnReq{member: member, generation: epoch}, 0},
		{"stale epoch", txnReq{member: member, generation: epoch + 5}, kerr.IllegalGeneration.Code},
		{"unknown member", txnReq{member: "ghost", generation: epoch}, kerr.UnknownMemberID.Code},
		{"no group fields", txnReq{generation: -1}, 0},
	} {
		c.r.group, c.r.pid = "cg", 6
		if got := txnCode(h.txnCommit(c.r)); got != c.want {
			t.Errorf("consumer group, %s: %d, want %d", c.name, got, c.want)
		}
	}
}

// replayLog rebuilds a Coordinator from the harness's batches with
// WalkLog and ReplayEntry, as a broker loading its partitions does.
func (h *harness) replayLog() *Coordinator {
	h.t.Helper()
	c := New(h.c.cfg, "restarted")
	for p, bs := range h.batches {
		var data []byte
		for _, b := range bs {
			data = append(data, b...)
		}
		next, err := WalkLog(data, func(e *Entry) {
			if err := c.ReplayEntry(h.now, p, e, h.topics()); err != nil {
				h.t.Fatal(err)
			}
		})
		if err != nil || next != h.next[p] {
			h.t.Fatalf("walk of partition %d: next %d (want %d), %v", p, next, h.next[p], err)
		}
	}
	c.FinishLoad(h.now)
	return c
}

// sameOffsets compares what two coordinators answer for groups' offsets,
// with and without require_stable.
func sameOffsets(t *testing.T, step string, want, got *Coordinator, groups ...string) {
	t.Helper()
	for _, g := range groups {
		for _, stable := range []bool{false, true} {
			q := []FetchTopic{{"t", []int32{0, 1, 2, 3}}, {"u", []int32{0, 1}}}
			w, wc := want.FetchOffsets(g, q, stable)
			o, oc := got.FetchOffsets(g, q, stable)
			if fmt.Sprint(w, wc) != fmt.Sprint(o, oc) {
				t.Fatalf("%s: group %s (stable %v):\n got %v %d\nwant %v %d", step, g, stable, o, oc, w, wc)
			}
		}
	}
}

func TestTxnOffsetReplay(t *testing.T) {
	h := newHarness(t, nil)
	groups := []string{"g", "h", "k"}
	check := func(step string) *Coordinator {
		t.Helper()
		c2 := h.replayLog()
		sameOffsets(t, step, h.c, c2, groups...)
		return c2
	}
	h.commit("g", "", -1, "t", 0, 5)
	h.txnCommit(simple("g", 7, 0, 10))
	h.txnCommit(simple("g", 7, 1, 11))
	h.txnCommit(simple("h", 7, 0, 20))
	h.txnCommit(simple("g", 8, 2, 12))
	check("two open transactions")
	h.marker("g", 7, true)
	if PartitionFor("h", 3) != PartitionFor("g", 3) {
		check("one committed in g's partition")
		h.marker("h", 7, true)
	}
	h.commit("g", "", -1, "t", 1, 30) // after the committed 11: wins
	h.txnCommit(simple("g", 9, 3, 13))
	h.marker("g", 8, false)
	h.txnCommit(simple("g", 9, 1, 14)) // written after 30: wins at commit
	h.txnCommit(simple("k", 9, 0, 40))
	c2 := check("committed, aborted, open")
	want := map[int32]int64{0: 10, 1: 30, 2: -1, 3: -1}
	for p, off := range want {
		if f := h.fetched("g", "t", p, false); f.Offset != off {
			t.Errorf("live g/%d: %d, want %d", p, f.Offset, off)
		}
	}
	if f := h.fetched("g", "t", 3, true); f.ErrorCode != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("open transaction after replay: %+v", f)
	}
	// The transaction still open at the end of the load ends later.
	for _, c := range []*Coordinator{h.c, c2} {
		for _, g := range []string{"g", "k"} {
			c.CompleteTxn(PartitionFor(g, 3), 9, true)
		}
	}
	sameOffsets(t, "open transaction committed after load", h.c, c2, groups...)
	if f := h.fetched("g", "t", 1, true); f.Offset != 14 {
		t.Fatalf("g/1 after commit: %+v", f)
	}
	if f := h.fetched("k", "t", 0, true); f.Offset != 40 {
		t.Fatalf("k/0 after commit: %+v", f)
	}
	for _, g := range groups {
		h.marker(g, 9, true) // in the log too (a second one is harmless)
	}
	check("after all markers")
}

// TestTxnOffsetsKeepGroups: pending transactional offsets keep a group
// from expiring; offset deletion and DeleteGroups remove them with
// tombstones, as Kafka does.
func TestTxnOffsetsKeepGroups(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.OffsetsRetention = time.Hour; c.RetentionCheck = time.Minute })
	h.txnCommit(simple("g", 7, 0, 1))
	h.commit("e", "", -1, "t", 0, 1)
	h.txnCommit(simple("e", 7, 1, 2))
	h.advance(2 * time.Hour)
	if _, ok := h.c.Info("g"); !ok {
		t.Fatal("a group with only pending offsets expired")
	}
	// Offsets of other partitions expire; the group stays.
	if f := h.fetched("e", "t", 0, false); f.Offset != -1 {
		t.Fatalf("offset beside a pending one did not expire: %+v", f)
	}
	if _, ok := h.c.Info("e"); !ok {
		t.Fatal("a group with pending offsets was deleted")
	}
	if c2 := h.replayLog(); c2 == nil {
		t.Fatal()
	} else if _, ok := c2.Info("g"); !ok {
		t.Fatal("load dropped a group with only pending offsets")
	}
	// OffsetDelete of a pending partition writes a tombstone ending it.
	od := kmsg.NewPtrOffsetDeleteRequest()
	od.Group = "e"
	od.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 1}}}}
	h.apply(h.c.OffsetDelete(h.now, od, &box{}))
	if f := h.fetched("e", "t", 1, true); f.ErrorCode != 0 || f.Offset != -1 {
		t.Fatalf("after offset delete: %+v", f)
	}
	// DeleteGroups of an empty group with pending offsets deletes it.
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{"g"}
	db := &box{}
	h.apply(h.c.DeleteGroups(h.now, del, db))
	if c := db.last(t).(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode; c != 0 {
		t.Fatalf("delete: %d", c)
	}
	h.marker("g", 7, true)
	if f := h.fetched("g", "t", 0, false); f.Offset != -1 {
		t.Fatalf("deleted group's transaction committed: %+v", f)
	}
	c2 := h.replayLog()
	sameOffsets(t, "after deletes", h.c, c2, "g", "e")
	if _, ok := c2.Info("g"); ok {
		t.Fatal("deleted group came back on load")
	}
	// A transactional commit in flight when the group is deleted is dropped.
	h.auto = false
	h.txnCommit(simple("d", 11, 0, 5))
	h.apply(h.c.DeleteGroups(h.now, &kmsg.DeleteGroupsRequest{Groups: []string{"d"}}, &box{}))
	h.flush(nil)
	h.auto = true
	h.marker("d", 11, true)
	sameOffsets(t, "deleted with a commit in flight", h.c, h.replayLog(), "d")
}

// TestTxnMarkerWhileLoading: a marker reported while its partition is
// being loaded is applied when the load finishes.
func TestTxnMarkerWhileLoading(t *testing.T) {
	h := newHarness(t, nil)
	h.txnCommit(simple("g", 7, 0, 42))
	p := PartitionFor("g", 3)
	c := New(h.c.cfg, "x")
	c.SetPartitioner(func(g string) int32 { return PartitionFor(g, 3) })
	c.FinishLoad(h.now)
	c.BeginLoad(p)
	c.CompleteTxn(p, 7, true) // the marker lies past what the load reads
	var data []byte
	for _, b := range h.batches[p] {
		data = append(data, b...)
	}
	if _, err := WalkLog(data, func(e *Entry) { c.ReplayEntry(h.now, p, e, topicsT) }); err != nil {
		t.Fatal(err)
	}
	c.FinishLoadPartition(h.now, p)
	got, _ := c.FetchOffsets("g", []FetchTopic{{"t", []int32{0}}}, true)
	if got[0].ErrorCode != 0 || got[0].Offset != 42 {
		t.Fatalf("after load: %+v", got[0])
	}
}

func TestWalkLogMarkers(t *testing.T) {
	var data []byte
	add := func(b []byte, base int64) {
		binary.BigEndian.PutUint64(b, uint64(base))
		data = append(data, b...)
	}
	add(EncodeBatch([]Record{{Key: []byte("k0"), Value: []byte("v")}}, 1), 0)
	add(EncodeTxnBatch([]Record{{Key: []byte("k1")}, {Key: []byte("k2")}}, Producer{ID: 9, Epoch: 2}, 1), 1)
	add(controlBatch(9, 2, true), 3)
	add(controlBatch(9, 2, false), 4)
	var got []string
	next, err := WalkLog(data, func(e *Entry) {
		got = append(got, fmt.Sprintf("%d:%s pid=%d txn=%v control=%v commit=%v", e.Offset, e.Key, e.ProducerID, e.Transactional, e.Control, e.Commit))
	})
	if err != nil || next != 5 {
		t.Fatalf("next %d, %v", next, err)
	}
	want := []string{
		"0:k0 pid=-1 txn=false control=false commit=false",
		"1:k1 pid=9 txn=true control=false commit=false",
		"2:k2 pid=9 txn=true control=false commit=false",
		fmt.Sprintf("3:%s pid=9 txn=false control=true commit=true", []byte{0, 0, 0, 1}),
		fmt.Sprintf("4:%s pid=9 txn=false control=true commit=false", []byte{0, 0, 0, 0}),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got\n%v\nwant\n%v", got, want)
	}
	// WalkBatches still skips markers.
	n := 0
	if _, err := WalkBatches(data, func(int64, []byte, []byte) { n++ }); err != nil || n != 3 {
		t.Fatalf("WalkBatches: %d records, %v", n, err)
	}
}
