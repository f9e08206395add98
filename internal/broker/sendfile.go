package broker

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/samsa-streaming/samsa/internal/storage"
)

// Fetch responses are encoded by kmsg like every other response, but the
// record data of each partition is not copied into the buffer. Instead the
// handler puts a 24-byte placeholder (a per-process random token plus the
// slice's index) in RecordBatches. After encoding, write finds each
// placeholder, replaces its length prefix with the real one, and streams
// the file range with sendfile(2) in its place. No field of a fetch
// response encloses the byte size of the records, so nothing else changes.

const markerSize = 24

var markerToken = func() [16]byte {
	var t [16]byte
	if _, err := rand.Read(t[:]); err != nil {
		panic(err)
	}
	return t
}()

// fileSlice is a byte range of a segment file to splice into a response.
type fileSlice struct {
	f    *os.File
	pos  int64
	size int64
	ref  storage.Slice // holds the segment file open until released
	// end is, for a consumer's read that reached the high watermark (or
	// last stable offset), the offset after the last record sent; -1
	// otherwise (partition.ServedTo).
	end int64
}

// releaseAll drops the file references of slices that were read but will
// not be sent (or have been sent).
func releaseAll(slices []fileSlice) {
	for i := range slices {
		slices[i].ref.Release()
	}
}

func marker(i int) []byte {
	m := make([]byte, markerSize)
	copy(m, markerToken[:])
	binary.BigEndian.PutUint64(m[16:], uint64(i))
	return m
}

// writeWithFiles sends buf (an encoded fetch response with placeholders)
// with each placeholder replaced by its file range.
func (c *conn) writeWithFiles(buf []byte, p *pending) error {
	flexible := p.version >= 12
	type piece struct {
		head     []byte // bytes to write before the file range
		slice    fileSlice
		prefixed []byte // the real length prefix
	}
	pieces := make([]piece, 0, len(p.fetch))
	total := 0
	last := 4
	for i, s := range p.fetch {
		m := marker(i)
		at := bytes.Index(buf[last:], m)
		if at < 0 {
			return fmt.Errorf("fetch placeholder %d not found", i)
		}
		at += last
		var oldPrefix int
		var prefix []byte
		if flexible {
			oldPrefix = 1 // uvarint(markerSize+1) fits one byte
			prefix = binary.AppendUvarint(nil, uint64(s.size)+1)
		} else {
			oldPrefix = 4
			prefix = binary.BigEndian.AppendUint32(nil, uint32(s.size))
		}
		pieces = append(pieces, piece{head: buf[last : at-oldPrefix], slice: s, prefixed: prefix})
		total += (at - oldPrefix - last) + len(prefix) + int(s.size)
		last = at + markerSize
	}
	tail := buf[last:]
	total += len(tail)
	binary.BigEndian.PutUint32(buf, uint32(total))

	out := make([]byte, 0, 4+len(pieces[0].head)+8)
	out = append(out, buf[:4]...)
	for _, pc := range pieces {
		out = append(out, pc.head...)
		out = append(out, pc.prefixed...)
		if _, err := c.nc.Write(out); err != nil {
			return err
		}
		out = out[:0]
		if err := c.sendFile(pc.slice); err != nil {
			return err
		}
	}
	_, err := c.nc.Write(tail)
	return err
}

// sendFile writes a file range to the connection, with sendfile(2) at an
// explicit offset when the connection is plain TCP (the file's own seek
// position is never used, so concurrent readers share one *os.File), and
// with pread plus write otherwise.
func (c *conn) sendFile(s fileSlice) error {
	if tc, ok := c.nc.(*net.TCPConn); ok {
		if err := sendfileTCP(tc, s); err != errNoSendfile {
			return err
		}
	}
	return copyPooled(c.nc, io.NewSectionReader(s.f, s.pos, s.size))
}

var errNoSendfile = errors.New("sendfile unavailable")

func sendfileTCP(tc *net.TCPConn, s fileSlice) error {
	rc, err := tc.SyscallConn()
	if err != nil {
		return errNoSendfile
	}
	fc, err := s.f.SyscallConn()
	if err != nil {
		return errNoSendfile
	}
	var inFD int
	if err := fc.Control(func(fd uintptr) { inFD = int(fd) }); err != nil {
		return errNoSendfile
	}
	off, remain := s.pos, s.size
	var werr error
	for remain > 0 && werr == nil {
		err := rc.Write(func(outFD uintptr) bool {
			for remain > 0 {
				chunk := remain
				if chunk > 1<<30 {
					chunk = 1 << 30
				}
				n, err := syscall.Sendfile(int(outFD), inFD, &off, int(chunk))
				if n > 0 {
					remain -= int64(n)
				}
				switch {
				case err == syscall.EAGAIN:
					return false // wait until the socket is writable
				case err == syscall.EINTR:
					continue
				case err != nil:
					werr = err
					return true
				case n == 0:
					werr = io.ErrUnexpectedEOF // the file is shorter than promised
					return true
				}
			}
			return true
		})
		if err != nil {
			return err
		}
	}
	return werr
}
