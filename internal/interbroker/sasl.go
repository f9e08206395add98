package interbroker

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	kgosasl "github.com/twmb/franz-go/pkg/sasl"
)

// maxSASLResponseBytes bounds a response read during authentication.
const maxSASLResponseBytes = 1 << 20

// authenticate runs a SASL exchange on a new connection: SaslHandshake v1
// names the mechanism, then SaslAuthenticate v1 carries its messages until
// the mechanism is done. Both versions are not flexible, so their headers
// need no tagged fields. It returns the session's lifetime (0: unbounded).
func authenticate(ctx context.Context, nc net.Conn, mech kgosasl.Mechanism, addr, clientID string) (time.Duration, error) {
	rt := &roundTripper{nc: nc, r: bufio.NewReader(nc), fmtr: kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID))}
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version = 1
	hs.Mechanism = mech.Name()
	resp, err := rt.request(hs)
	if err != nil {
		return 0, fmt.Errorf("SASL handshake with %s: %w", addr, err)
	}
	hr := resp.(*kmsg.SASLHandshakeResponse)
	if hr.ErrorCode != 0 {
		return 0, fmt.Errorf("%w: %s does not offer SASL mechanism %s (it offers %v): %v",
			ErrAuthentication, addr, mech.Name(), hr.SupportedMechanisms, kerr.ErrorForCode(hr.ErrorCode))
	}
	session, out, err := mech.Authenticate(ctx, addr)
	if err != nil {
		return 0, fmt.Errorf("SASL %s with %s: %w", mech.Name(), addr, err)
	}
	var lifetime time.Duration
	for done := false; !done; {
		ar, err := rt.saslAuthenticate(out)
		if err != nil {
			return 0, fmt.Errorf("SASL %s with %s: %w", mech.Name(), addr, err)
		}
		if ar.ErrorCode != 0 {
			msg := kerr.ErrorForCode(ar.ErrorCode).Error()
			if ar.ErrorMessage != nil {
				msg = *ar.ErrorMessage
			}
			return 0, fmt.Errorf("%w: %s refused this broker's SASL %s credentials: %s", ErrAuthentication, addr, mech.Name(), msg)
		}
		lifetime = time.Duration(ar.SessionLifetimeMillis) * time.Millisecond
		if done, out, err = session.Challenge(ar.SASLAuthBytes); err != nil {
			return 0, fmt.Errorf("%w: SASL %s with %s: %v", ErrAuthentication, mech.Name(), addr, err)
		}
		if done && len(out) > 0 {
			// A last message with no answer expected from the mechanism;
			// the broker still answers the request.
			if ar, err = rt.saslAuthenticate(out); err != nil {
				return 0, err
			}
			if ar.ErrorCode != 0 {
				return 0, fmt.Errorf("%w: %s refused this broker's SASL %s credentials", ErrAuthentication, addr, mech.Name())
			}
		}
	}
	return lifetime, nil
}

// roundTripper sends one request at a time on a connection and reads its
// response (response header v0: the correlation id only).
type roundTripper struct {
	nc   net.Conn
	r    *bufio.Reader
	fmtr *kmsg.RequestFormatter
	corr int32
}

func (rt *roundTripper) saslAuthenticate(msg []byte) (*kmsg.SASLAuthenticateResponse, error) {
	req := kmsg.NewPtrSASLAuthenticateRequest()
	req.Version = 1
	req.SASLAuthBytes = slices.Clone(msg)
	resp, err := rt.request(req)
	if err != nil {
		return nil, err
	}
	return resp.(*kmsg.SASLAuthenticateResponse), nil
}

func (rt *roundTripper) request(req kmsg.Request) (kmsg.Response, error) {
	rt.corr++
	if _, err := rt.nc.Write(rt.fmtr.AppendRequest(nil, req, rt.corr)); err != nil {
		return nil, err
	}
	var hdr [4]byte
	if _, err := io.ReadFull(rt.r, hdr[:]); err != nil {
		// A broker closes the connection on a request it does not take
		// before authentication (a listener that is not SASL, say).
		return nil, fmt.Errorf("no answer: %w", err)
	}
	size := binary.BigEndian.Uint32(hdr[:])
	if size < 4 || size > maxSASLResponseBytes {
		return nil, fmt.Errorf("response of %d bytes", size)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(rt.r, body); err != nil {
		return nil, err
	}
	if corr := int32(binary.BigEndian.Uint32(body)); corr != rt.corr {
		return nil, fmt.Errorf("correlation id %d, want %d", corr, rt.corr)
	}
	resp := req.ResponseKind()
	if err := resp.ReadFrom(body[4:]); err != nil {
		return nil, err
	}
	return resp, nil
}
