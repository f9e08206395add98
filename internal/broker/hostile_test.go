package broker_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// Hostile clients: connections that stall half-way through a request,
// and a client that floods the broker with Metadata requests. A franz-go
// producer is the well-behaved client that must keep being served.

// produceFrame encodes a whole Produce v9 request (size prefix included)
// carrying n one-byte records for partition 0 of topic.
func produceFrame(topic string, n int) []byte {
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(9)
	req.Acks, req.TimeoutMillis = -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batch(n, -1, -1, -1)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("staller")).AppendRequest(nil, req, 1)
}

// stall opens a connection, has one ApiVersions request answered (so the
// broker's reader has reached this connection), then sends head and
// stops. The caller closes the connection.
func stall(t *testing.T, addr string, head []byte) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write(append(frame(int16(kmsg.ApiVersions), 0, 1, nil), head...)); err != nil {
		t.Fatal(err)
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		t.Fatalf("ApiVersions before the stalled frame: %v", err)
	}
	if _, err := io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(size[:]))); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Time{})
	return c
}

func heapAllocated() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// TestStalledHalfRequests: hundreds of connections send a frame size of
// 100 MiB (socket.request.max.bytes) or 1 MiB and a little of the request,
// and stall; others send half of a small valid Produce frame. The broker
// must not allocate what they claim, and must keep reading other
// connections. It did allocate each frame's size as soon as it had read
// it, so a few dozen of them could fill queued.max.request.bytes.
func TestStalledHalfRequests(t *testing.T) {
	b := brokertest.Start(t)
	createTopic(t, b.Addr(), "t", 1, nil)
	cl := newClient(t, b.Addr(), kgo.ProducerLinger(0))
	if err := cl.ProduceSync(ctxT(t), &kgo.Record{Topic: "t", Value: []byte("warm")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	before := heapAllocated()
	full := produceFrame("t", 100)
	claim := func(size int) []byte {
		head := binary.BigEndian.AppendUint32(nil, uint32(size))
		return append(head, full[4:4+min(len(full)/2, size/2)]...)
	}
	// Claims of falling sizes: had each been granted its size, as it was,
	// they would fill queued.max.request.bytes (512 MiB) to within 64
	// bytes, and no other connection would be read until
	// connections.max.idle.ms closed them.
	var conns []net.Conn
	for _, g := range []struct {
		n    int
		head []byte
	}{
		{250, claim(100 << 20)}, {50, claim(1 << 20)}, {20, claim(64 << 10)},
		{20, claim(1 << 10)}, {20, claim(64)}, {100, full[:len(full)/2]},
	} {
		for i := 0; i < g.n; i++ {
			conns = append(conns, stall(t, b.Addr(), g.head))
		}
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})

	for i := 0; i < 20; i++ {
		if err := cl.ProduceSync(ctxT(t), &kgo.Record{Topic: "t", Value: []byte("ok")}).FirstErr(); err != nil {
			t.Fatalf("produce %d with %d stalled connections: %v", i, len(conns), err)
		}
	}
	// What they claim is 25 GiB; what they sent fits in a 16 KiB first
	// chunk each (~7 MiB). The rest is the test's and the client's.
	grew := heapAllocated() - before
	t.Logf("heap allocated while %d connections stalled: %d KiB", len(conns), grew>>10)
	if grew > 64<<20 {
		t.Fatalf("the broker allocated %d MiB for %d stalled frames", grew>>20, len(conns))
	}
	stillServes(t, b.Addr())
}

// TestIdleTimeoutClosesStalledConnection: with a short
// connections.max.idle.ms, a connection that stops half-way through a
// frame, and one that sends nothing, are closed by the broker; a frame
// that started keeps its own deadline (min(idle, 30 s)), not the rest of
// the idle time before it.
func TestIdleTimeoutClosesStalledConnection(t *testing.T) {
	b := brokertest.Start(t, "connections.max.idle.ms", "300")
	createTopic(t, b.Addr(), "t", 1, nil)
	full := produceFrame("t", 10)
	closed := func(c net.Conn, what string) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(15 * time.Second))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s: still open after 15 s with connections.max.idle.ms=300", what)
		}
		if err == nil {
			t.Fatalf("%s: the broker sent bytes", what)
		}
	}
	half := stall(t, b.Addr(), full[:len(full)/2])
	defer half.Close()
	sizeOnly := stall(t, b.Addr(), full[:4])
	defer sizeOnly.Close()
	idle, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	closed(half, "half a frame")
	closed(sizeOnly, "a frame size alone")
	closed(idle, "an idle connection")

	// A client that waits most of the idle time and then sends a whole
	// frame in two writes is answered: the body has its own deadline.
	c, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	api := frame(int16(kmsg.ApiVersions), 0, 9, nil)
	if _, err := c.Write(api[:4]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(api[4:]); err != nil {
		t.Fatal(err)
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		t.Fatalf("a frame sent in two writes was not answered: %v", err)
	}
	stillServes(t, b.Addr())
}

// TestMetadataFloodDoesNotStarveProduce: clients send Metadata for all of
// 100 topics back to back, pipelined, as fast as the broker answers;
// a producer with acks=all still gets every ack, and the flood is answered
// throughout (neither side is shut out).
func TestMetadataFloodDoesNotStarveProduce(t *testing.T) {
	b := brokertest.Start(t)
	adm := newClient(t, b.Addr())
	var names []string
	for i := 0; i < 100; i++ {
		names = append(names, fmt.Sprintf("topic-%03d", i))
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	for _, n := range names {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = n, 2, 1
		req.Topics = append(req.Topics, rt)
	}
	if _, err := req.RequestWith(ctxT(t), adm); err != nil {
		t.Fatal(err)
	}

	const flooders = 3
	md := kmsg.NewPtrMetadataRequest()
	md.SetVersion(12)
	md.Topics = nil // all topics
	mdFrame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("flood")).AppendRequest(nil, md, 1)
	var answered atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var conns []net.Conn
	defer func() {
		close(stop)
		for _, c := range conns {
			c.Close() // ends the reader, and a writer blocked in Write
		}
		wg.Wait()
	}()
	for i := 0; i < flooders; i++ {
		c, err := net.Dial("tcp", b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		wg.Add(2)
		go func() { // writer: 64 requests a write, until stopped
			defer wg.Done()
			burst := make([]byte, 0, 64*len(mdFrame))
			for j := 0; j < 64; j++ {
				burst = append(burst, mdFrame...)
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.Write(burst); err != nil {
					return
				}
			}
		}()
		go func() { // reader: counts the answers
			defer wg.Done()
			var size [4]byte
			for {
				if _, err := io.ReadFull(c, size[:]); err != nil {
					return
				}
				if _, err := io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(size[:]))); err != nil {
					return
				}
				answered.Add(1)
			}
		}()
	}

	cl := newClient(t, b.Addr(), kgo.ProducerLinger(0), kgo.RequiredAcks(kgo.AllISRAcks()))
	start := answered.Load()
	for i := 0; i < 50; i++ {
		if err := cl.ProduceSync(ctxT(t), &kgo.Record{Topic: names[i%len(names)], Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatalf("produce %d under a metadata flood: %v", i, err)
		}
	}
	during := answered.Load() - start
	t.Logf("metadata answers while 50 records were produced one by one: %d", during)
	if during == 0 {
		t.Fatal("the flood was not answered while the producer was")
	}
}

// TestGarbageFrames: the malformed frames bench/load hostile loops over,
// each on its own connection. Every one closes its connection (after an
// UNSUPPORTED_VERSION answer for an unknown key or version, before any
// for the rest), and the broker keeps serving.
func TestGarbageFrames(t *testing.T) {
	b := brokertest.Start(t)
	sized := func(n uint32, body []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, n), body...) }
	noise := make([]byte, 256)
	for i := range noise {
		noise[i] = byte(i*131 + 7)
	}
	for _, tc := range []struct {
		name   string
		frame  []byte
		answer bool
	}{
		{"size 2 GiB", sized(0x7fffffff, noise[:16]), false},
		{"size over socket.request.max.bytes", sized(200<<20, noise[:16]), false},
		{"negative size", sized(0xffffffff, noise[:16]), false},
		{"size below a request header", sized(4, noise[:4]), false},
		{"zero size", sized(0, nil), false},
		{"unknown API key", frame(999, 0, 7, nil), true},
		{"Produce v99", frame(0, 99, 7, nil), true},
		{"Produce v9 body of noise", frame(0, 9, 7, noise), false},
		{"noise", sized(256, noise), false},
	} {
		c, err := net.Dial("tcp", b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(tc.frame); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, err := io.ReadAll(c)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s: the connection stayed open", tc.name)
		}
		if answered := len(got) > 0; answered != tc.answer {
			t.Fatalf("%s: answered %v (%d bytes), want %v", tc.name, answered, len(got), tc.answer)
		}
		c.Close()
	}
	stillServes(t, b.Addr())
}

// TestUnreadResponsesBounded: clients that pipeline Metadata requests for
// all topics and never read the answers. Each connection may hold only a
// few answered-but-unsent responses, not queued.max.requests (500) of them.
func TestUnreadResponsesBounded(t *testing.T) {
	b := brokertest.Start(t)
	adm := newClient(t, b.Addr())
	req := kmsg.NewPtrCreateTopicsRequest()
	for i := 0; i < 300; i++ {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = fmt.Sprintf("topic-%03d", i), 4, 1
		req.Topics = append(req.Topics, rt)
	}
	if _, err := req.RequestWith(ctxT(t), adm); err != nil {
		t.Fatal(err)
	}
	md := kmsg.NewPtrMetadataRequest()
	md.SetVersion(12)
	md.Topics = nil
	one := kmsg.NewRequestFormatter(kmsg.FormatterClientID("deaf")).AppendRequest(nil, md, 1)
	var burst []byte
	for i := 0; i < 500; i++ {
		burst = append(burst, one...)
	}
	// The answer's size, to compare with what the broker holds.
	c, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c.Write(one)
	var size [4]byte
	io.ReadFull(c, size[:])
	answer := int(binary.BigEndian.Uint32(size[:]))
	c.Close()

	const conns = 20
	before := heapInUse()
	var deaf []net.Conn
	for i := 0; i < conns; i++ {
		c, err := net.Dial("tcp", b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		deaf = append(deaf, c)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetReadBuffer(4096) // take little of the answers into the kernel
		}
		go c.Write(burst) // blocks once the broker stops reading it
	}
	defer func() {
		for _, c := range deaf {
			c.Close()
		}
	}()
	// A producer still gets acks, and by then the broker has read what it
	// will read of the bursts: the heap is measured after it.
	cl := newClient(t, b.Addr(), kgo.ProducerLinger(0))
	for i := 0; i < 5; i++ {
		if err := cl.ProduceSync(ctxT(t), &kgo.Record{Topic: "topic-000", Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	grew := int64(heapInUse()) - int64(before)
	t.Logf("answer %d KiB; heap in use grew %d MiB with %d connections not reading", answer>>10, grew>>20, conns)
	if limit := int64(conns) * 32 * int64(answer) * 4; grew > limit {
		t.Fatalf("heap grew %d MiB for %d connections that do not read (answers of %d KiB)", grew>>20, conns, answer>>10)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestStalledSASLTokens: after SaslHandshake v0 the tokens come bare; a
// connection that sends a token size of sasl.server.max.receive.size
// (512 KiB) and stalls before authenticating holds what it sent, as a
// stalled request does (it held the size: 100 MiB for 200 connections).
func TestStalledSASLTokens(t *testing.T) {
	b := startSASL(t)
	addr := b.ListenerAddr("SASL_PLAINTEXT")
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("stall"))
	before := heapAllocated()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 200; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		hs := kmsg.NewPtrSASLHandshakeRequest()
		hs.Version, hs.Mechanism = 0, "PLAIN"
		claim := binary.BigEndian.AppendUint32(nil, 512<<10)
		c.Write(append(f.AppendRequest(nil, hs, 1), append(claim, "\x00alice\x00"...)...))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var size [4]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			t.Fatalf("handshake v0: %v", err)
		}
		if _, err := io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(size[:]))); err != nil {
			t.Fatal(err)
		}
	}
	cl := saslClient(t, addr, kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()))
	if err := cl.Ping(ctxT(t)); err != nil {
		t.Fatalf("a client logging in beside 200 stalled tokens: %v", err)
	}
	grew := heapAllocated() - before
	t.Logf("heap allocated while 200 SASL tokens stalled: %d KiB", grew>>10)
	if grew > 32<<20 {
		t.Fatalf("the broker allocated %d MiB for 200 stalled tokens", grew>>20)
	}
}
