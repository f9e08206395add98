package partition

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/interbroker"
)

// maxReplicaResponseBytes bounds one response read from a leader.
const maxReplicaResponseBytes = 128 << 20

// wireConn is a follower's connection to its leader's Kafka listener: one
// request at a time, encoded and decoded by kmsg.
type wireConn struct {
	nc   net.Conn
	r    *bufio.Reader
	fmtr *kmsg.RequestFormatter
	corr int32
	buf  []byte
	// resp is reused for every response: what a response holds (record
	// batches) is consumed before the next request is sent.
	resp []byte

	// reauthAt is when the connection's SASL session ends (zero: never);
	// the fetcher replaces the connection before then.
	reauthAt time.Time
}

// dialWire connects to a leader's inter-broker listener with d (TLS and
// SASL as that listener needs), or in plain TCP when d is nil.
func dialWire(d *interbroker.Dialer, addr string, clientID string, timeout time.Duration) (*wireConn, error) {
	var nc net.Conn
	var reauthAt time.Time
	if d == nil {
		c, err := net.DialTimeout("tcp", addr, timeout)
		if err != nil {
			return nil, err
		}
		nc = c
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		c, err := d.Dial(ctx, addr, clientID)
		if err != nil {
			return nil, err
		}
		nc, reauthAt = c, c.ReauthAt
	}
	return &wireConn{nc: nc, r: bufio.NewReaderSize(nc, 256<<10), fmtr: kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID)), reauthAt: reauthAt}, nil
}

// request sends req and reads its response within timeout.
func (w *wireConn) request(req kmsg.Request, timeout time.Duration) (kmsg.Response, error) {
	w.corr++
	w.buf = w.fmtr.AppendRequest(w.buf[:0], req, w.corr)
	w.nc.SetDeadline(time.Now().Add(timeout))
	if _, err := w.nc.Write(w.buf); err != nil {
		return nil, err
	}
	var hdr [4]byte
	if _, err := io.ReadFull(w.r, hdr[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(hdr[:])
	if size < 4 || size > maxReplicaResponseBytes {
		return nil, fmt.Errorf("response of %d bytes", size)
	}
	if cap(w.resp) < int(size) {
		w.resp = make([]byte, size)
	}
	body := w.resp[:size]
	if _, err := io.ReadFull(w.r, body); err != nil {
		return nil, err
	}
	if corr := int32(binary.BigEndian.Uint32(body)); corr != w.corr {
		return nil, fmt.Errorf("correlation id %d, want %d", corr, w.corr)
	}
	body = body[4:]
	resp := req.ResponseKind()
	if resp.IsFlexible() && req.Key() != kmsg.ApiVersions.Int16() {
		// The flexible response header ends with tagged fields.
		var err error
		if body, err = skipTags(body); err != nil {
			return nil, err
		}
	}
	if err := resp.ReadFrom(body); err != nil {
		return nil, err
	}
	return resp, nil
}

func skipTags(b []byte) ([]byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, fmt.Errorf("bad tag count")
	}
	b = b[k:]
	for i := uint64(0); i < n; i++ {
		if _, k = binary.Uvarint(b); k <= 0 {
			return nil, fmt.Errorf("bad tag")
		}
		b = b[k:]
		size, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < size {
			return nil, fmt.Errorf("bad tag size")
		}
		b = b[k+int(size):]
	}
	return b, nil
}

func (w *wireConn) close() { w.nc.Close() }

// expiring reports whether the connection's SASL session ends soon: it
// is replaced rather than used for another request that could outlast it.
func (w *wireConn) expiring(now time.Time) bool {
	return !w.reauthAt.IsZero() && !now.Before(w.reauthAt)
}
