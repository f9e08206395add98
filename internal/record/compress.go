package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// The record section of a batch is compressed as one unit with the codec
// in the low attribute bits. Only the log cleaner decompresses and
// recompresses (the produce and fetch paths never do), so these functions
// favour bounded memory over speed.

// ErrTooLarge means decompressed records would exceed the caller's bound.
var ErrTooLarge = fmt.Errorf("%w: decompressed records too large", ErrCorrupt)

// xerialMagic starts snappy data framed by the Java client's
// SnappyOutputStream (xerial snappy-java): the magic, then version and
// minimum compatible version (both 1) as big-endian int32s, then blocks of
// a big-endian int32 length and a raw snappy block.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const (
	xerialHeaderSize = 16
	xerialBlockSize  = 32 << 10 // what the Java stream writes
)

// IsXerial reports whether snappy-compressed records use the xerial
// framing (Java clients) rather than one raw snappy block (librdkafka,
// franz-go).
func IsXerial(src []byte) bool {
	return len(src) >= xerialHeaderSize && bytes.HasPrefix(src, xerialMagic)
}

var zstdDecoders = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
	if err != nil {
		panic(err) // only options can fail, and these are constant
	}
	return d
}}

var zstdEncoders = sync.Pool{New: func() any {
	e, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		panic(err)
	}
	return e
}}

// Decompress returns the records section src decompressed with codec,
// appended to dst[:0]. It fails with ErrTooLarge rather than produce more
// than maxBytes, whatever sizes src claims. CompressionNone returns src.
func Decompress(dst, src []byte, codec int, maxBytes int) ([]byte, error) {
	dst = dst[:0]
	var out []byte
	var err error
	switch codec {
	case CompressionNone:
		return src, nil
	case CompressionGzip:
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(src)); err == nil {
			out, err = readBounded(dst, zr, maxBytes)
		}
	case CompressionSnappy:
		if IsXerial(src) {
			out, err = xerialDecode(dst, src[xerialHeaderSize:], maxBytes)
		} else {
			out, err = snappyBlock(dst, src, maxBytes)
		}
	case CompressionLZ4:
		out, err = readBounded(dst, lz4.NewReader(bytes.NewReader(src)), maxBytes)
	case CompressionZstd:
		d := zstdDecoders.Get().(*zstd.Decoder)
		// A frame may declare any content size; bound by decoding
		// into a buffer whose growth we check afterwards is not enough,
		// so check the declared size first when there is one.
		var h zstd.Header
		if herr := h.Decode(src); herr == nil && h.HasFCS && h.FrameContentSize > uint64(maxBytes) {
			zstdDecoders.Put(d)
			return nil, ErrTooLarge
		}
		out, err = d.DecodeAll(src, dst)
		zstdDecoders.Put(d)
		if err == nil && len(out) > maxBytes {
			err = ErrTooLarge
		}
	default:
		return nil, fmt.Errorf("%w: unknown compression codec %d", ErrCorrupt, codec)
	}
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: decompress codec %d: %w", ErrCorrupt, codec, err)
	}
	return out, nil
}

func readBounded(dst []byte, r io.Reader, maxBytes int) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	n, err := buf.ReadFrom(io.LimitReader(r, int64(maxBytes)+1))
	if err != nil {
		return nil, err
	}
	if n > int64(maxBytes) {
		return nil, ErrTooLarge
	}
	return buf.Bytes(), nil
}

func snappyBlock(dst, src []byte, maxBytes int) ([]byte, error) {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return nil, err
	}
	if n > maxBytes-len(dst) {
		return nil, ErrTooLarge
	}
	at := len(dst)
	dst = append(dst, make([]byte, n)...)
	out, err := s2.Decode(dst[at:], src)
	if err != nil {
		return nil, err
	}
	return dst[:at+len(out)], nil
}

func xerialDecode(dst, src []byte, maxBytes int) ([]byte, error) {
	for len(src) > 0 {
		if len(src) < 4 {
			return nil, errors.New("malformed xerial framing")
		}
		size := int64(int32(binary.BigEndian.Uint32(src)))
		src = src[4:]
		if size < 0 || size > int64(len(src)) {
			return nil, errors.New("malformed xerial framing")
		}
		var err error
		if dst, err = snappyBlock(dst, src[:size], maxBytes); err != nil {
			return nil, err
		}
		src = src[size:]
	}
	return dst, nil
}

// Compress compresses a records section with codec, appending to dst[:0].
// For snappy, xerial selects the Java client's framing, so a batch the
// cleaner rewrites keeps the framing its producer chose.
func Compress(dst, src []byte, codec int, xerial bool) ([]byte, error) {
	dst = dst[:0]
	switch codec {
	case CompressionNone:
		return append(dst, src...), nil
	case CompressionGzip:
		buf := bytes.NewBuffer(dst)
		w := gzip.NewWriter(buf)
		if _, err := w.Write(src); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	case CompressionSnappy:
		if !xerial {
			return s2.EncodeSnappy(make([]byte, s2.MaxEncodedLen(len(src))), src), nil
		}
		dst = append(dst, xerialMagic...)
		dst = binary.BigEndian.AppendUint32(dst, 1)
		dst = binary.BigEndian.AppendUint32(dst, 1)
		for len(src) > 0 {
			n := min(len(src), xerialBlockSize)
			block := s2.EncodeSnappy(make([]byte, s2.MaxEncodedLen(n)), src[:n])
			dst = binary.BigEndian.AppendUint32(dst, uint32(len(block)))
			dst = append(dst, block...)
			src = src[n:]
		}
		return dst, nil
	case CompressionLZ4:
		buf := bytes.NewBuffer(dst)
		w := lz4.NewWriter(buf)
		if _, err := w.Write(src); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	case CompressionZstd:
		e := zstdEncoders.Get().(*zstd.Encoder)
		defer zstdEncoders.Put(e)
		return e.EncodeAll(src, dst), nil
	}
	return nil, fmt.Errorf("record: unknown compression codec %d", codec)
}
