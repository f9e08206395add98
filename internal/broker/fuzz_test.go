package broker

import (
	"encoding/binary"
	"log/slog"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/partition"
)

// newFuzzBroker builds a real broker (metadata log, partition logs on disk)
// without a listener, with one topic to aim requests at.
func newFuzzBroker(t testing.TB) *Broker {
	cfg, err := config.New(map[string]string{"log.dirs": t.TempDir(), "fetch.max.bytes": "65536"})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	meta, err := metadata.Open(cfg.DataDir, logger)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := partition.NewManager(cfg, meta.Image(), logger)
	if err != nil {
		t.Fatal(err)
	}
	meta.OnCommit(parts.Apply)
	t.Cleanup(func() { parts.Close(); meta.Close() })
	b := New(cfg, meta, parts, logger)
	if _, err := meta.Commit(func(im *metadata.Image) ([]metadata.Record, error) {
		return metadata.CreateTopicRecords(im, metadata.CreateTopic{Name: "t", Partitions: 2, ReplicationFactor: 1}, cfg.NodeID)
	}); err != nil {
		t.Fatal(err)
	}
	return b
}

// seedFrame encodes a default request of key at version v (header v1 or v2).
func seedFrame(key, v int16, fill func(kmsg.Request)) []byte {
	req := kmsg.RequestForKey(key)
	req.SetVersion(v)
	if fill != nil {
		fill(req)
	}
	b := binary.BigEndian.AppendUint16(nil, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(v))
	b = binary.BigEndian.AppendUint32(b, 1)
	b = binary.BigEndian.AppendUint16(b, 1)
	b = append(b, 'f')
	if req.IsFlexible() {
		b = append(b, 0)
	}
	return req.AppendTo(b)
}

// FuzzRequest feeds arbitrary frames to the request path: header parsing,
// kmsg decoding and every handler. Nothing may panic.
func FuzzRequest(f *testing.F) {
	topic := "t"
	for _, k := range supportedKeys() {
		a := apiTable[k]
		for _, v := range []int16{a.min, a.max} {
			f.Add(seedFrame(k, v, func(r kmsg.Request) {
				switch r := r.(type) {
				case *kmsg.MetadataRequest:
					r.Topics = []kmsg.MetadataRequestTopic{{Topic: &topic}}
				case *kmsg.ProduceRequest:
					r.Acks = 1
					r.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Records: []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 49, 0, 0, 0, 0, 2}}}}}
				case *kmsg.FetchRequest:
					r.Topics = []kmsg.FetchRequestTopic{{Topic: "t", Partitions: []kmsg.FetchRequestTopicPartition{{PartitionMaxBytes: 1000, CurrentLeaderEpoch: -1}}}}
				case *kmsg.ListOffsetsRequest:
					r.Topics = []kmsg.ListOffsetsRequestTopic{{Topic: "t", Partitions: []kmsg.ListOffsetsRequestTopicPartition{{Timestamp: -1, CurrentLeaderEpoch: -1}}}}
				}
			}))
		}
	}
	f.Add([]byte{0, 99, 0, 0, 0, 0, 0, 1, 255, 255})
	b := newFuzzBroker(f)
	client, server := net.Pipe()
	f.Cleanup(func() { client.Close(); server.Close() })
	c := newConn(b, server)
	f.Fuzz(func(t *testing.T, frame []byte) {
		done := make(chan struct{})
		var p *pending
		var err error
		go func() {
			defer close(done)
			// A copy: a handler may hand its frame to the pool.
			p, err = c.handle(append([]byte(nil), frame...), 0)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			buf := make([]byte, 1<<20)
			t.Fatalf("handle blocked on %x\n%s", frame, buf[:runtime.Stack(buf, true)])
		}
		if err == nil && p == nil {
			t.Fatal("no error and no response")
		}
	})
}

func TestParseHeaderBounds(t *testing.T) {
	for _, b := range [][]byte{nil, {0}, {0, 0, 0, 0, 0, 0, 0, 0, 0, 9}, {0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0}} {
		if _, _, err := parseHeader(b); err == nil {
			t.Errorf("%v accepted", b)
		}
	}
	if _, err := skipTags([]byte{5, 1}); err == nil {
		t.Error("truncated tags accepted")
	}
}
