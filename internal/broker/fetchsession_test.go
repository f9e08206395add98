package broker_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// TestFetchSessions walks a KIP-227 session by hand: a full fetch opens
// it, an incremental fetch with no changes returns only partitions with
// news, a wrong epoch is refused, and epoch -1 closes it.
func TestFetchSessions(t *testing.T) {
	b := brokertest.Start(t)
	createTopic(t, b.Addr(), "sess", 2, nil)
	cl := newClient(t, b.Addr())
	md, err := kadm.NewClient(cl).ListTopics(ctxT(t), "sess")
	if err != nil {
		t.Fatal(err)
	}
	id := md["sess"].ID

	fetch := func(sessionID, epoch int32, parts ...int32) *kmsg.FetchResponse {
		t.Helper()
		req := kmsg.NewPtrFetchRequest()
		req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 0, 1, 1<<20
		req.SessionID, req.SessionEpoch = sessionID, epoch
		if len(parts) > 0 {
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic, rt.TopicID = "sess", id
			for _, p := range parts {
				rp := kmsg.NewFetchRequestTopicPartition()
				rp.Partition, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = p, 1<<20, -1
				rt.Partitions = append(rt.Partitions, rp)
			}
			req.Topics = append(req.Topics, rt)
		}
		resp, err := req.RequestWith(ctxT(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	count := func(r *kmsg.FetchResponse) int {
		n := 0
		for _, t := range r.Topics {
			n += len(t.Partitions)
		}
		return n
	}

	full := fetch(0, 0, 0, 1)
	if full.ErrorCode != 0 || full.SessionID == 0 || count(full) != 2 {
		t.Fatalf("full fetch: error %d session %d partitions %d", full.ErrorCode, full.SessionID, count(full))
	}
	sid := full.SessionID
	if r := fetch(sid, 1); r.ErrorCode != 0 || count(r) != 0 {
		t.Fatalf("incremental with no news: error %d, %d partitions", r.ErrorCode, count(r))
	}
	// New data on partition 1 only.
	manual := newClient(t, b.Addr(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := manual.ProduceSync(ctxT(t), &kgo.Record{Topic: "sess", Partition: 1, Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	r := fetch(sid, 2)
	if r.ErrorCode != 0 || count(r) != 1 || r.Topics[0].Partitions[0].Partition != 1 || len(r.Topics[0].Partitions[0].RecordBatches) == 0 {
		t.Fatalf("incremental after produce: error %d, %d partitions", r.ErrorCode, count(r))
	}
	if r := fetch(sid, 7); r.ErrorCode != kerr.InvalidFetchSessionEpoch.Code {
		t.Fatalf("wrong epoch: %d", r.ErrorCode)
	}
	// Epoch 0 with the session id is how clients reset after an error:
	// the old session closes and a new one opens (KIP-227).
	reset := fetch(sid, 0, 0, 1)
	if reset.ErrorCode != 0 || reset.SessionID == 0 || reset.SessionID == sid || count(reset) != 2 {
		t.Fatalf("reset: error %d session %d (old %d) partitions %d", reset.ErrorCode, reset.SessionID, sid, count(reset))
	}
	if r := fetch(sid, 3); r.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("the reset session is still open: %d", r.ErrorCode)
	}
	sid = reset.SessionID
	if r := fetch(sid, -1, 0); r.ErrorCode != 0 || r.SessionID != 0 {
		t.Fatalf("closing: error %d session %d", r.ErrorCode, r.SessionID)
	}
	if r := fetch(sid, 2); r.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("closed session: %d", r.ErrorCode)
	}
}

// TestFetchEmptyPartitionIsNotNull: an empty partition's record set is
// sent as zero bytes, never as null (librdkafka rejects null).
func TestFetchEmptyPartitionIsNotNull(t *testing.T) {
	b := brokertest.Start(t)
	createTopic(t, b.Addr(), "empty", 1, nil)
	for _, v := range []int16{4, 11, 12} {
		req := kmsg.NewPtrFetchRequest()
		req.Version, req.MaxBytes, req.SessionEpoch = v, 1<<20, -1
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = "empty"
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = 1<<20, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		body := req.AppendTo(nil)
		frameBytes := frame(int16(kmsg.Fetch), v, 9, append(flexTag(req.IsFlexible()), body...))
		raw, err := rawRequest(t, b.Addr(), frameBytes)
		if err != nil {
			t.Fatal(err)
		}
		resp := kmsg.NewPtrFetchResponse()
		resp.Version = v
		skip := 4
		if resp.IsFlexible() {
			skip = 5
		}
		if err := resp.ReadFrom(raw[skip:]); err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		if got := resp.Topics[0].Partitions[0].RecordBatches; got == nil {
			t.Fatalf("v%d: empty partition sent a null record set", v)
		}
	}
}

func flexTag(flexible bool) []byte {
	if flexible {
		return []byte{0}
	}
	return nil
}
