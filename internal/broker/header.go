package broker

import (
	"encoding/binary"
	"errors"
	"fmt"
)

var errMalformed = errors.New("malformed request")

type header struct {
	key      int16
	version  int16
	corr     int32
	clientID string
}

// parseHeader reads a request header v1 (the client id is always an
// int16-length string, even in flexible versions) and returns the rest of
// the frame. Tagged fields of header v2 are left for skipTags, since only
// the API version tells whether they are there.
func parseHeader(b []byte) (header, []byte, error) {
	if len(b) < 10 {
		return header{}, nil, fmt.Errorf("%w: %d-byte frame", errMalformed, len(b))
	}
	h := header{
		key:     int16(binary.BigEndian.Uint16(b)),
		version: int16(binary.BigEndian.Uint16(b[2:])),
		corr:    int32(binary.BigEndian.Uint32(b[4:])),
	}
	n := int16(binary.BigEndian.Uint16(b[8:]))
	b = b[10:]
	if n > 0 {
		if int(n) > len(b) {
			return h, nil, fmt.Errorf("%w: client id runs past the frame", errMalformed)
		}
		h.clientID = string(b[:n])
		b = b[n:]
	} else if n < -1 {
		return h, nil, fmt.Errorf("%w: client id length %d", errMalformed, n)
	}
	return h, b, nil
}

// skipTags skips a tagged-field section (uvarint count, then per field a
// uvarint tag, a uvarint size and the bytes). The request header defines
// no tags Samsa uses.
func skipTags(b []byte) ([]byte, error) {
	count, n := binary.Uvarint(b)
	if n <= 0 {
		return nil, fmt.Errorf("%w: tag count", errMalformed)
	}
	b = b[n:]
	for i := uint64(0); i < count; i++ {
		if _, n = binary.Uvarint(b); n <= 0 {
			return nil, fmt.Errorf("%w: tag", errMalformed)
		}
		b = b[n:]
		size, n := binary.Uvarint(b)
		if n <= 0 || size > uint64(len(b)-n) {
			return nil, fmt.Errorf("%w: tag size", errMalformed)
		}
		b = b[n+int(size):]
	}
	return b, nil
}
