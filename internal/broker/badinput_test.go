package broker_test

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/brokertest"
	"github.com/samsa-streaming/samsa/internal/record"
)

// rawRequest sends one frame on a fresh connection and returns the
// response frame (without its size), or the read error.
func rawRequest(t *testing.T, addr string, frame []byte) ([]byte, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(frame); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err = io.ReadFull(c, body)
	return body, err
}

func frame(key, version int16, corr int32, body []byte) []byte {
	b := make([]byte, 4, 64+len(body))
	b = binary.BigEndian.AppendUint16(b, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = binary.BigEndian.AppendUint16(b, 4)
	b = append(b, "test"...)
	b = append(b, body...)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// stillServes checks the broker answers a normal client after bad input.
func stillServes(t *testing.T, addr string) {
	t.Helper()
	cl := newClient(t, addr)
	if err := cl.Ping(ctxT(t)); err != nil {
		t.Fatalf("broker stopped serving after bad input: %v", err)
	}
}

func TestUnknownAPIKeyAndVersion(t *testing.T) {
	b := brokertest.Start(t)
	for _, fr := range [][]byte{frame(999, 0, 7, nil), frame(int16(kmsg.Produce), 99, 7, nil), frame(int16(kmsg.Vote), 0, 7, nil)} {
		resp, err := rawRequest(t, b.Addr(), fr)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		if corr := int32(binary.BigEndian.Uint32(resp)); corr != 7 {
			t.Fatalf("correlation id %d", corr)
		}
		if code := int16(binary.BigEndian.Uint16(resp[4:])); code != kerr.UnsupportedVersion.Code {
			t.Fatalf("error code %d, want UNSUPPORTED_VERSION", code)
		}
	}
	stillServes(t, b.Addr())
}

func TestAPIVersionsFallback(t *testing.T) {
	b := brokertest.Start(t)
	resp, err := rawRequest(t, b.Addr(), frame(int16(kmsg.ApiVersions), 99, 3, nil))
	if err != nil {
		t.Fatal(err)
	}
	var av kmsg.ApiVersionsResponse // v0 body after the v0 header
	if err := av.ReadFrom(resp[4:]); err != nil {
		t.Fatal(err)
	}
	if av.ErrorCode != kerr.UnsupportedVersion.Code || len(av.ApiKeys) == 0 {
		t.Fatalf("fallback: code %d, %d keys", av.ErrorCode, len(av.ApiKeys))
	}
	found := false
	for _, k := range av.ApiKeys {
		if k.ApiKey == int16(kmsg.ApiVersions) && k.MaxVersion >= 3 {
			found = true
		}
	}
	if !found {
		t.Fatal("ApiVersions itself not advertised")
	}
}

func TestOversizedAndMalformedFrames(t *testing.T) {
	b := brokertest.Start(t, "socket.request.max.bytes", "1024")
	// A frame claiming 2 GB is refused before any allocation: the
	// connection is closed without an answer.
	huge := binary.BigEndian.AppendUint32(nil, 0x7fffffff)
	if _, err := rawRequest(t, b.Addr(), huge); err == nil {
		t.Fatal("oversized frame answered")
	}
	big := frame(int16(kmsg.Metadata), 1, 1, make([]byte, 2000))
	if _, err := rawRequest(t, b.Addr(), big); err == nil {
		t.Fatal("frame over socket.request.max.bytes answered")
	}
	// A Metadata v1 body that claims more topics than it carries does not
	// decode: only that connection closes.
	bad := frame(int16(kmsg.Metadata), 1, 1, []byte{0, 0, 0, 50, 0, 1})
	if _, err := rawRequest(t, b.Addr(), bad); err == nil {
		t.Fatal("malformed request answered")
	}
	stillServes(t, b.Addr())
}

// batch encodes one uncompressed v2 batch with the given producer fields.
func batch(n int, pid int64, epoch int16, seq int32) []byte {
	recs := make([]kmsg.Record, n)
	for i := range recs {
		recs[i] = kmsg.Record{OffsetDelta: int32(i), Value: []byte("v")}
	}
	return record.EncodeBatch(&kmsg.RecordBatch{FirstTimestamp: 1, MaxTimestamp: 1,
		ProducerID: pid, ProducerEpoch: epoch, FirstSequence: seq}, recs)
}

func produceRaw(t *testing.T, cl *kgo.Client, topic string, records []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	// kgo sends Produce v13, which names topics by id.
	if md, err := kadm.NewClient(cl).ListTopics(ctxT(t), topic); err == nil {
		rt.TopicID = md[topic].ID
	}
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("malformed response %+v", resp)
	}
	return resp.Topics[0].Partitions[0]
}

func TestCorruptAndOversizedBatches(t *testing.T) {
	b := brokertest.Start(t)
	createTopic(t, b.Addr(), "small", 1, map[string]*string{"max.message.bytes": ptr("200")})
	cl := newClient(t, b.Addr())

	good := batch(2, -1, -1, -1)
	badCRC := append([]byte(nil), good...)
	badCRC[len(badCRC)-1] ^= 0xff
	badMagic := append([]byte(nil), good...)
	badMagic[16] = 1
	badLen := append([]byte(nil), good...)
	binary.BigEndian.PutUint32(badLen[8:], 9999)
	for name, recs := range map[string][]byte{"crc": badCRC, "magic": badMagic, "length": badLen, "truncated": good[:40]} {
		if got := produceRaw(t, cl, "small", recs); got.ErrorCode != kerr.CorruptMessage.Code {
			t.Errorf("%s: error %d, want CORRUPT_MESSAGE", name, got.ErrorCode)
		}
	}
	if got := produceRaw(t, cl, "small", batch(30, -1, -1, -1)); got.ErrorCode != kerr.MessageTooLarge.Code {
		t.Errorf("oversized batch: error %d, want MESSAGE_TOO_LARGE", got.ErrorCode)
	}
	if got := produceRaw(t, cl, "nosuchtopic", good); got.ErrorCode != kerr.UnknownTopicID.Code {
		t.Errorf("unknown topic: error %d", got.ErrorCode)
	}
	if got := produceRaw(t, cl, "small", good); got.ErrorCode != 0 || got.BaseOffset != 0 {
		t.Errorf("good batch after bad ones: error %d offset %d", got.ErrorCode, got.BaseOffset)
	}
}

func ptr(s string) *string { return &s }

func TestIdempotentSequences(t *testing.T) {
	b := brokertest.Start(t)
	createTopic(t, b.Addr(), "idem", 1, nil)
	cl := newClient(t, b.Addr())
	init, err := kmsg.NewPtrInitProducerIDRequest().RequestWith(ctxT(t), cl)
	if err != nil || init.ErrorCode != 0 {
		t.Fatalf("init producer id: %v %d", err, init.ErrorCode)
	}
	pid := init.ProducerID
	steps := []struct {
		name   string
		epoch  int16
		seq    int32
		n      int
		code   int16
		offset int64
	}{
		{"first", 0, 0, 3, 0, 0},
		{"second", 0, 3, 2, 0, 3},
		{"retry of first is a duplicate", 0, 0, 3, 0, 0},
		{"retry of second is a duplicate", 0, 3, 2, 0, 3},
		{"gap", 0, 9, 1, kerr.OutOfOrderSequenceNumber.Code, -1},
		{"next in order", 0, 5, 1, 0, 5},
		{"new epoch must start at 0", 1, 6, 1, kerr.OutOfOrderSequenceNumber.Code, -1},
		{"new epoch", 1, 0, 1, 0, 6},
		{"fenced old epoch", 0, 6, 1, kerr.InvalidProducerEpoch.Code, -1},
	}
	for _, s := range steps {
		got := produceRaw(t, cl, "idem", batch(s.n, pid, s.epoch, s.seq))
		if got.ErrorCode != s.code || (s.code == 0 && got.BaseOffset != s.offset) {
			t.Fatalf("%s: error %s offset %d, want %d offset %d", s.name, kerr.ErrorForCode(got.ErrorCode), got.BaseOffset, s.code, s.offset)
		}
	}
	// The producer state survives a restart: the last batch is still
	// recognised as a duplicate, and the sequence continues.
	b.Restart()
	cl2 := newClient(t, b.Addr())
	if got := produceRaw(t, cl2, "idem", batch(1, pid, 1, 0)); got.ErrorCode != 0 || got.BaseOffset != 6 {
		t.Fatalf("duplicate after restart: error %d offset %d", got.ErrorCode, got.BaseOffset)
	}
	if got := produceRaw(t, cl2, "idem", batch(1, pid, 1, 1)); got.ErrorCode != 0 || got.BaseOffset != 7 {
		t.Fatalf("in order after restart: error %d offset %d", got.ErrorCode, got.BaseOffset)
	}
}

func TestInvalidTopicNames(t *testing.T) {
	b := brokertest.Start(t)
	cl := newClient(t, b.Addr())
	req := kmsg.NewPtrCreateTopicsRequest()
	for _, name := range []string{"bad name", "..", strings.Repeat("x", 250), "__consumer_offsets"} {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, 1, 1
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range resp.Topics {
		if rt.ErrorCode != kerr.InvalidTopicException.Code {
			t.Errorf("%q: error %d, want INVALID_TOPIC_EXCEPTION", rt.Topic, rt.ErrorCode)
		}
	}
	// Metadata for an invalid name is refused, not auto-created.
	md := kmsg.NewPtrMetadataRequest()
	bad := "bad name"
	md.Topics = []kmsg.MetadataRequestTopic{{Topic: &bad}}
	md.AllowAutoTopicCreation = true
	mresp, err := md.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if mresp.Topics[0].ErrorCode != kerr.InvalidTopicException.Code {
		t.Fatalf("metadata for invalid name: %d", mresp.Topics[0].ErrorCode)
	}
	if err := kerr.ErrorForCode(mresp.Topics[0].ErrorCode); !errors.Is(err, kerr.InvalidTopicException) {
		t.Fatal(err)
	}
}

// TestAPIVersionsRebootstrap: a v5 client naming another cluster or node
// is told to rebootstrap (KIP-1242); naming this one gets the versions.
func TestAPIVersionsRebootstrap(t *testing.T) {
	b := brokertest.Start(t)
	cl := newClient(t, b.Addr())
	meta, err := kadm.NewClient(cl).BrokerMetadata(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cluster string
		node    int32
		want    int16
	}{
		{meta.Cluster, meta.Brokers[0].NodeID, 0},
		{"another-cluster", meta.Brokers[0].NodeID, kerr.RebootstrapRequired.Code},
		{meta.Cluster, 42, kerr.RebootstrapRequired.Code},
	} {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = 5
		req.ClientSoftwareName, req.ClientSoftwareVersion = "test", "1.0"
		req.ClusterID, req.NodeID = &c.cluster, c.node
		body := append([]byte{0}, req.AppendTo(nil)...)
		raw, err := rawRequest(t, b.Addr(), frame(int16(kmsg.ApiVersions), 5, 1, body))
		if err != nil {
			t.Fatal(err)
		}
		resp := kmsg.NewPtrApiVersionsResponse()
		resp.Version = 5
		if err := resp.ReadFrom(raw[4:]); err != nil {
			t.Fatal(err)
		}
		if resp.ErrorCode != c.want || (c.want == 0 && len(resp.ApiKeys) == 0) {
			t.Fatalf("cluster %q node %d: error %d, %d keys", c.cluster, c.node, resp.ErrorCode, len(resp.ApiKeys))
		}
	}
}

func TestCompactedTopicRejectsKeylessRecords(t *testing.T) {
	b := brokertest.Start(t)
	createTopic(t, b.Addr(), "table", 1, map[string]*string{"cleanup.policy": ptr("compact")})
	cl := newClient(t, b.Addr())
	if got := produceRaw(t, cl, "table", batch(1, -1, -1, -1)); got.ErrorCode != kerr.InvalidRecord.Code {
		t.Fatalf("keyless record on a compacted topic: error %d, want INVALID_RECORD", got.ErrorCode)
	}
	keyed := record.NewBatch(1, kmsg.Record{Key: []byte("k"), Value: []byte("v")})
	if got := produceRaw(t, cl, "table", keyed); got.ErrorCode != 0 {
		t.Fatalf("keyed record: error %d", got.ErrorCode)
	}
}
