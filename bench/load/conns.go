package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

type connsResult struct {
	Conns     int     `json:"conns"`
	Failed    int64   `json:"failed"`
	ConnectS  float64 `json:"connect_s"`
	FirstErr  string  `json:"first_error,omitempty"`
	HeldUntil string  `json:"held_until"`
}

// runConns opens o.conns connections to the first broker, each sending
// ApiVersions and a Metadata request for no topics as a client does on
// connecting, and holds them idle for o.duration (or until the context
// ends). The result line is printed as soon as all are open, so a script
// can measure the broker while they are held.
func runConns(ctx context.Context, o options) (*connsResult, error) {
	addr := strings.Split(o.brokers, ",")[0]
	var (
		mu     sync.Mutex
		held   []net.Conn
		failed atomic.Int64
		first  atomic.Value
		wg     sync.WaitGroup
		next   atomic.Int64
	)
	start := time.Now()
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("load-conns"))
			for next.Add(1) <= int64(o.conns) {
				c, err := dialHello(ctx, addr, f)
				if err != nil {
					failed.Add(1)
					first.CompareAndSwap(nil, err.Error())
					continue
				}
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res := &connsResult{Conns: len(held), Failed: failed.Load(), ConnectS: time.Since(start).Seconds()}
	if e, ok := first.Load().(string); ok {
		res.FirstErr = e
	}
	res.HeldUntil = time.Now().Add(o.duration).UTC().Format(time.RFC3339)
	_ = json.NewEncoder(os.Stdout).Encode(res)
	select {
	case <-ctx.Done():
	case <-time.After(o.duration):
	}
	for _, c := range held {
		c.Close()
	}
	return nil, nil
}

// dialHello connects and exchanges ApiVersions and Metadata.
func dialHello(ctx context.Context, addr string, f *kmsg.RequestFormatter) (net.Conn, error) {
	d := net.Dialer{Timeout: 30 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	av := kmsg.NewPtrApiVersionsRequest()
	av.SetVersion(3)
	av.ClientSoftwareName, av.ClientSoftwareVersion = "load", "1"
	md := kmsg.NewPtrMetadataRequest()
	md.SetVersion(12)
	md.Topics = []kmsg.MetadataRequestTopic{}
	r := bufio.NewReader(c)
	for i, req := range []kmsg.Request{av, md} {
		if _, err := c.Write(f.AppendRequest(nil, req, int32(i))); err != nil {
			c.Close()
			return nil, err
		}
		var size [4]byte
		if _, err := io.ReadFull(r, size[:]); err != nil {
			c.Close()
			return nil, fmt.Errorf("reading response %d: %w", i, err)
		}
		if _, err := io.CopyN(io.Discard, r, int64(binary.BigEndian.Uint32(size[:]))); err != nil {
			c.Close()
			return nil, err
		}
	}
	c.SetDeadline(time.Time{})
	return c, nil
}
