package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The hostile workload: clients that misbehave, for bench/hostile.sh to
// measure a well-behaved producer beside them.
//
//	--stallers N        connections that send ApiVersions and Metadata, then
//	                    the first half of a valid Produce frame (its size
//	                    claims the whole, --stall-bytes) and stall; when the
//	                    broker closes one it reconnects and stalls again
//	--garbage N         connections sending malformed and oversized frames
//	                    one per connection, flat out, reconnecting
//	--metadata-flood N  connections sending Metadata for all topics back to
//	                    back, one in flight each
//	--overload N        franz-go producers flat out (acks=all, 1 KiB)
//	--idle N            connections that send ApiVersions and Metadata and
//	                    then nothing
//	--deaf N            connections that pipeline Metadata requests for all
//	                    topics and never read the answers
//
// It prints one JSON line when every connection has been opened once
// ("ready") and another with the counts when --duration has passed or a
// SIGINT or SIGTERM came.

type hostileOptions struct {
	stallers, garbage, flood, overload, idle int
	deaf                                     int
	stallBytes                               int
}

type connCounts struct {
	Conns          int    `json:"conns"`
	Opened         int64  `json:"opened"`           // reconnects included
	ClosedByBroker int64  `json:"closed_by_broker"` // before the run ended
	Failed         int64  `json:"failed"`           // dials or first exchanges that failed
	FirstErr       string `json:"first_error,omitempty"`
	firstErr       atomic.Value
	opened, closed atomic.Int64
	failed         atomic.Int64
}

func (c *connCounts) fail(err error) {
	c.failed.Add(1)
	c.firstErr.CompareAndSwap(nil, err.Error())
}

func (c *connCounts) settle() {
	c.Opened, c.ClosedByBroker, c.Failed = c.opened.Load(), c.closed.Load(), c.failed.Load()
	if e, ok := c.firstErr.Load().(string); ok {
		c.FirstErr = e
	}
}

type stallCounts struct {
	connCounts
	ClaimedBytes int `json:"claimed_bytes"` // each stalled frame's size
	SentBytes    int `json:"sent_bytes"`    // of which each sends
}

type garbageKind struct {
	Name     string `json:"name"`
	Sent     int64  `json:"sent"`
	Answered int64  `json:"answered"`  // a response came back before the close
	Closed   int64  `json:"closed"`    // the broker closed the connection
	TimedOut int64  `json:"timed_out"` // neither within 10 s
	frame    []byte
	sent     atomic.Int64
	answered atomic.Int64
	closed   atomic.Int64
	timedOut atomic.Int64
}

type garbageCounts struct {
	Conns int            `json:"conns"`
	Kinds []*garbageKind `json:"kinds"`
}

type floodCounts struct {
	connCounts
	Answered int64   `json:"answered"`
	PerSec   float64 `json:"answered_per_s"`
	answered atomic.Int64
}

type overloadCounts struct {
	Producers int     `json:"producers"`
	Acked     int64   `json:"acked"`
	Failed    int64   `json:"failed"`
	MiBPerSec float64 `json:"mib_per_s"`
	FirstErr  string  `json:"first_error,omitempty"`
}

type hostileResult struct {
	DurationS float64         `json:"duration_s"`
	Stallers  *stallCounts    `json:"stallers,omitempty"`
	Garbage   *garbageCounts  `json:"garbage,omitempty"`
	Flood     *floodCounts    `json:"metadata_flood,omitempty"`
	Overload  *overloadCounts `json:"overload,omitempty"`
	Idle      *connCounts     `json:"idle,omitempty"`
	Deaf      *deafCounts     `json:"deaf,omitempty"`
}

type deafCounts struct {
	connCounts
	Sent int64 `json:"requests_sent"` // written, most into kernel buffers, before the writes blocked
	sent atomic.Int64
}

func (d *deafCounts) counts() *connCounts {
	if d == nil {
		return nil
	}
	return &d.connCounts
}

func runHostile(ctx context.Context, o options) (*hostileResult, error) {
	h := o.hostile
	if h.stallers > 0 || h.overload > 0 {
		if err := ensureTopic(ctx, o); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	// SIGINT or SIGTERM ends the run early, with the counts so far.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	addr := strings.Split(o.brokers, ",")[0]
	res := &hostileResult{}
	var wg, ready sync.WaitGroup
	start := time.Now()
	spawn := func(n int, f func()) {
		for range n {
			ready.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				f()
			}()
		}
	}
	if h.stallers > 0 {
		res.Stallers = &stallCounts{}
		res.Stallers.Conns = h.stallers
		half := stallFrame(o.topic, h.stallBytes)
		res.Stallers.ClaimedBytes, res.Stallers.SentBytes = len(half)-4, len(half)/2
		spawn(h.stallers, func() { stallLoop(ctx, addr, half[:len(half)/2], &res.Stallers.connCounts, &ready) })
	}
	if h.idle > 0 {
		res.Idle = &connCounts{Conns: h.idle}
		spawn(h.idle, func() { stallLoop(ctx, addr, nil, res.Idle, &ready) })
	}
	if h.deaf > 0 {
		res.Deaf = &deafCounts{}
		res.Deaf.Conns = h.deaf
		spawn(h.deaf, func() { deafLoop(ctx, addr, res.Deaf, &ready) })
	}
	if h.garbage > 0 {
		res.Garbage = &garbageCounts{Conns: h.garbage, Kinds: garbageKinds()}
		spawn(h.garbage, func() { ready.Done(); garbageLoop(ctx, addr, res.Garbage.Kinds) })
	}
	if h.flood > 0 {
		res.Flood = &floodCounts{}
		res.Flood.Conns = h.flood
		spawn(h.flood, func() { floodLoop(ctx, addr, res.Flood, &ready) })
	}
	if h.overload > 0 {
		res.Overload = &overloadCounts{Producers: h.overload}
		var acked, failed atomic.Int64
		var first atomic.Value
		spawn(h.overload, func() { ready.Done(); overloadLoop(ctx, o, &acked, &failed, &first) })
		defer func() {
			res.Overload.Acked, res.Overload.Failed = acked.Load(), failed.Load()
			res.Overload.MiBPerSec = float64(acked.Load()) * float64(o.recordSize) / mib / res.DurationS
			if e, ok := first.Load().(string); ok {
				res.Overload.FirstErr = e
			}
		}()
	}
	go func() {
		ready.Wait()
		_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"ready": true, "after_s": time.Since(start).Seconds()})
	}()
	wg.Wait()
	res.DurationS = time.Since(start).Seconds()
	for _, c := range []*connCounts{countsOf(res.Stallers), res.Idle, countsOf(res.Flood), countsOf(res.Deaf)} {
		if c != nil {
			c.settle()
		}
	}
	if res.Deaf != nil {
		res.Deaf.Sent = res.Deaf.sent.Load()
	}
	if res.Flood != nil {
		res.Flood.Answered = res.Flood.answered.Load()
		res.Flood.PerSec = float64(res.Flood.Answered) / res.DurationS
	}
	if res.Garbage != nil {
		for _, k := range res.Garbage.Kinds {
			k.Sent, k.Answered, k.Closed, k.TimedOut = k.sent.Load(), k.answered.Load(), k.closed.Load(), k.timedOut.Load()
		}
	}
	return res, nil
}

func countsOf(v interface{ counts() *connCounts }) *connCounts {
	if v == nil {
		return nil
	}
	return v.counts()
}

func (s *stallCounts) counts() *connCounts {
	if s == nil {
		return nil
	}
	return &s.connCounts
}

func (f *floodCounts) counts() *connCounts {
	if f == nil {
		return nil
	}
	return &f.connCounts
}

// stallFrame is a whole Produce v9 request (size prefix included) for
// partition 0 of topic whose records come to about n bytes.
func stallFrame(topic string, n int) []byte {
	var recs []kmsg.Record
	value := payload(1000)
	for i := 0; i*1024 < n; i++ {
		recs = append(recs, kmsg.Record{OffsetDelta: int32(i), Value: value})
	}
	rb := kmsg.RecordBatch{FirstTimestamp: time.Now().UnixMilli(), MaxTimestamp: time.Now().UnixMilli(),
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, Magic: 2, NumRecords: int32(len(recs)),
		LastOffsetDelta: int32(len(recs) - 1)}
	for _, r := range recs {
		rb.Records = r.AppendTo(rb.Records)
	}
	records := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(records[8:], uint32(len(records)-12))
	binary.BigEndian.PutUint32(records[17:], crc32.Checksum(records[21:], crc32.MakeTable(crc32.Castagnoli)))
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(9)
	req.Acks, req.TimeoutMillis = -1, 30000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("load-staller")).AppendRequest(nil, req, 2)
}

// stallLoop opens a connection, exchanges ApiVersions and Metadata, sends
// head (nothing: an idle connection) and waits; when the broker closes the
// connection it opens another, until ctx ends.
func stallLoop(ctx context.Context, addr string, head []byte, c *connCounts, ready *sync.WaitGroup) {
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("load-hostile"))
	first := true
	defer func() {
		if first {
			ready.Done()
		}
	}()
	for ctx.Err() == nil {
		nc, err := dialHello(ctx, addr, f)
		if err == nil && len(head) > 0 {
			_, err = nc.Write(head)
		}
		if err != nil {
			if ctx.Err() == nil {
				c.fail(err)
				sleepCtx(ctx, 100*time.Millisecond)
			}
			continue
		}
		c.opened.Add(1)
		if first {
			first = false
			ready.Done()
		}
		stop := context.AfterFunc(ctx, func() { nc.Close() })
		_, err = nc.Read(make([]byte, 1))
		if stop() && err != nil {
			c.closed.Add(1) // the broker closed it, not us
		}
		nc.Close()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// garbageKinds are the malformed frames the garbage connections send, one
// per connection, in turn.
func garbageKinds() []*garbageKind {
	size := func(n uint32, body []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, n), body...) }
	header := func(key, version int16, body []byte) []byte {
		b := binary.BigEndian.AppendUint16(nil, uint16(key))
		b = binary.BigEndian.AppendUint16(b, uint16(version))
		b = binary.BigEndian.AppendUint32(b, 7)
		b = binary.BigEndian.AppendUint16(b, 4)
		b = append(b, "junk"...)
		b = append(b, body...)
		return size(uint32(len(b)), b)
	}
	noise := payload(256)
	return []*garbageKind{
		{Name: "size 2 GiB", frame: size(0x7fffffff, noise[:16])},
		{Name: "size over socket.request.max.bytes (200 MiB)", frame: size(200<<20, noise[:16])},
		{Name: "negative size", frame: size(0xffffffff, noise[:16])},
		{Name: "size below a header (4)", frame: size(4, noise[:4])},
		{Name: "unknown API key 999", frame: header(999, 0, nil)},
		{Name: "Produce v99", frame: header(0, 99, nil)},
		{Name: "Metadata v1 claiming 50 topics, carrying none", frame: header(3, 1, []byte{0, 0, 0, 50, 0, 1})},
		{Name: "Produce v9 body of random bytes", frame: header(0, 9, noise)},
		{Name: "random bytes", frame: size(256, noise)},
	}
}

func garbageLoop(ctx context.Context, addr string, kinds []*garbageKind) {
	d := net.Dialer{Timeout: 10 * time.Second}
	buf := make([]byte, 4096)
	for i := 0; ctx.Err() == nil; i++ {
		k := kinds[i%len(kinds)]
		nc, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			sleepCtx(ctx, 100*time.Millisecond)
			continue
		}
		stop := context.AfterFunc(ctx, func() { nc.Close() })
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		k.sent.Add(1)
		if _, err := nc.Write(k.frame); err == nil {
			answered := false
		read:
			for {
				n, err := nc.Read(buf)
				if n > 0 {
					answered = true
				}
				if err != nil {
					var ne net.Error
					switch {
					case !stop():
						// the run ended
					case errors.As(err, &ne) && ne.Timeout():
						k.timedOut.Add(1)
					default:
						k.closed.Add(1)
					}
					break read
				}
			}
			if answered {
				k.answered.Add(1)
			}
		}
		stop()
		nc.Close()
	}
}

// floodLoop sends Metadata (all topics) and reads the answer, back to
// back, reconnecting if the connection fails.
func floodLoop(ctx context.Context, addr string, c *floodCounts, ready *sync.WaitGroup) {
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("load-flood"))
	md := kmsg.NewPtrMetadataRequest()
	md.SetVersion(12)
	md.Topics = nil // all
	req := f.AppendRequest(nil, md, 9)
	first := true
	defer func() {
		if first {
			ready.Done()
		}
	}()
	for ctx.Err() == nil {
		nc, err := dialHello(ctx, addr, f)
		if err != nil {
			if ctx.Err() == nil {
				c.fail(err)
				sleepCtx(ctx, 100*time.Millisecond)
			}
			continue
		}
		c.opened.Add(1)
		if first {
			first = false
			ready.Done()
		}
		stop := context.AfterFunc(ctx, func() { nc.Close() })
		r := bufio.NewReaderSize(nc, 64<<10)
		for {
			if _, err = nc.Write(req); err != nil {
				break
			}
			var size [4]byte
			if _, err = io.ReadFull(r, size[:]); err != nil {
				break
			}
			if _, err = io.CopyN(io.Discard, r, int64(binary.BigEndian.Uint32(size[:]))); err != nil {
				break
			}
			c.answered.Add(1)
		}
		if stop() {
			c.closed.Add(1)
			c.fail(fmt.Errorf("flood connection: %w", err))
		}
		nc.Close()
	}
}

// deafLoop writes Metadata requests (all topics) one after another and
// reads nothing; the writes block once the broker stops reading them.
func deafLoop(ctx context.Context, addr string, c *deafCounts, ready *sync.WaitGroup) {
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("load-deaf"))
	md := kmsg.NewPtrMetadataRequest()
	md.SetVersion(12)
	md.Topics = nil
	req := f.AppendRequest(nil, md, 9)
	first := true
	defer func() {
		if first {
			ready.Done()
		}
	}()
	for ctx.Err() == nil {
		nc, err := dialHello(ctx, addr, f)
		if err != nil {
			if ctx.Err() == nil {
				c.fail(err)
				sleepCtx(ctx, 100*time.Millisecond)
			}
			continue
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			tc.SetReadBuffer(4096) // keep few answers in this side's kernel
		}
		c.opened.Add(1)
		if first {
			first = false
			ready.Done()
		}
		stop := context.AfterFunc(ctx, func() { nc.Close() })
		for {
			if _, err = nc.Write(req); err != nil {
				break
			}
			c.sent.Add(1)
		}
		if stop() {
			c.closed.Add(1)
		}
		nc.Close()
	}
}

// overloadLoop produces 1 KiB records as fast as the client takes them
// (kgo blocks Produce when its buffer is full) until ctx ends.
func overloadLoop(ctx context.Context, o options, acked, failed *atomic.Int64, first *atomic.Value) {
	cl, err := kgo.NewClient(producerOpts(o)...)
	if err != nil {
		first.CompareAndSwap(nil, err.Error())
		return
	}
	defer cl.Close()
	value := payload(o.recordSize)
	promise := func(_ *kgo.Record, err error) {
		switch {
		case err == nil:
			acked.Add(1)
		case ctx.Err() == nil:
			failed.Add(1)
			first.CompareAndSwap(nil, err.Error())
		}
	}
	for ctx.Err() == nil {
		cl.Produce(ctx, &kgo.Record{Value: value}, promise)
	}
	cl.Flush(context.Background())
}
