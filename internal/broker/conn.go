package broker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/tlsconfig"
)

// conn is one client connection.
type conn struct {
	b  *Broker
	nc net.Conn
	// cork is the TCP connection under a TLS nc (nil without TLS): fetch
	// responses are written corked.
	cork *corkConn
	// controller: a connection on the controller listener, offered the
	// controller APIs only (controllerAPIs).
	controller bool
	// listener is the broker listener the connection came in on: its
	// name decides which endpoints Metadata and FindCoordinator answer.
	listener config.Listener
	// sasl is the SASL authentication of a connection on a SASL listener
	// (nil elsewhere); only the reader goroutine uses it.
	sasl *saslState
	// tls is the TLS listener's configuration (nil on plain listeners);
	// nc is then a *tls.Conn whose handshake serve completes first.
	tls *tlsconfig.Server

	queue    chan *pending // responses in request order; bounded
	done     chan struct{} // closed when the connection is shutting down
	stopOnce sync.Once

	// budget bounds the request bytes held by requests not yet answered,
	// so a client pipelining large produces cannot make the broker hold
	// more than socket.request.max.bytes per connection.
	budget *budget

	wbuf []byte // writer goroutine's encode buffer

	// principal is who the connection authenticated as, in Kafka's form
	// ("User:alice"); "User:ANONYMOUS" on a PLAINTEXT listener. Set before
	// any request is handled (the TLS handshake, SASL) and read by
	// handlers for authorization.
	principal atomic.Pointer[string]

	// mutedUntil (unix ns) holds the reader while the client is throttled
	// (quota.go): none of its requests is handled before then.
	mutedUntil atomic.Int64

	// unsettled are the consumer fetch responses whose records out are
	// counted at the connection's next fetch (metrics.go).
	unsettled unsettled

	// unsent counts the responses that were ready when their handler
	// returned and are not written yet; the reader stops reading while
	// there are maxUnsent, and the writer signals written after each.
	// A client that pipelines Metadata requests and never reads the
	// answers otherwise made the broker hold queued.max.requests (500)
	// of them per connection: 77 MiB each for 300 topics.
	unsent  atomic.Int32
	written chan struct{}
}

// maxUnsent bounds the answered requests a connection holds for a client
// that does not read them. Produce and fetch answers, which are ready
// later, are bounded by the budgets and by what they hold (file ranges).
const maxUnsent = 16

// anonymous is the principal of an unauthenticated connection, as Kafka's
// KafkaPrincipal.ANONYMOUS.
const anonymous = "User:ANONYMOUS"

// pending is a response that may not be ready yet.
type pending struct {
	corr       int32
	key        int16
	version    int16
	flexHeader bool // response header v1 (tag buffer)
	held       int64
	frame      []byte // the pooled request frame, returned after the write
	// frameDone is set once the frame and its budget bytes are released:
	// after the write, or earlier by a handler that no longer needs them
	// (produce, while waiting for an fsync).
	frameDone atomic.Bool

	ready chan struct{}
	once  sync.Once
	resp  kmsg.Response // nil: send nothing (acks=0 produce)
	raw   []byte        // a pre-encoded body, used instead of resp
	// bare sends raw alone, length-prefixed, with no response header: a
	// SASL token after a SaslHandshake v0 (Kafka's unframed tokens).
	bare bool
	// closeDelay holds the connection open this long after a closing
	// answer (a refused authentication: Kafka's
	// connection.failed.authentication.delay.ms).
	closeDelay time.Duration
	fetch      []fileSlice // record data spliced into a fetch response
	close      bool        // close the connection after sending
	unsent     bool        // counted in conn.unsent until written

	// Client quotas (quota.go), set only while some quota exists: the
	// client id, a throttle the handler found (a fetch over its quota),
	// and the request-time quota's.
	clientID    string
	throttle    time.Duration
	reqThrottle atomic.Int64

	// Timing for the request metrics (mono() readings): the frame's
	// first bytes, the handler's start, the response ready (0: no
	// handler). Written before the writer reads them (queue, ready).
	arrived, started, readyAt int64
}

// complete hands the response to the writer. Only the first call counts.
func (p *pending) complete(resp kmsg.Response) {
	p.once.Do(func() {
		p.resp = resp
		p.readyAt = mono()
		close(p.ready)
	})
}

func newConn(b *Broker, nc net.Conn) *conn {
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
		if b.cfg.SocketSendBuffer > 0 {
			tc.SetWriteBuffer(b.cfg.SocketSendBuffer)
		}
		if b.cfg.SocketRecvBuffer > 0 {
			tc.SetReadBuffer(b.cfg.SocketRecvBuffer)
		}
	}
	return &conn{b: b, nc: nc, queue: make(chan *pending, b.cfg.QueuedMaxRequests), done: make(chan struct{}),
		budget: newBudget(int64(b.cfg.SocketRequestMaxBytes)), written: make(chan struct{}, 1)}
}

func (c *conn) shutdown() {
	c.stopOnce.Do(func() {
		close(c.done)
		c.nc.Close()
		c.budget.wake()
		c.b.budget.wake()
	})
}

// serve runs the reader loop on the calling goroutine and the writer on
// another, and returns when both have stopped.
func (c *conn) serve() {
	if !c.handshake() {
		c.shutdown()
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer c.recoverPanic("writer")
		c.writeLoop()
	}()
	func() {
		defer c.recoverPanic("reader")
		if err := c.readLoop(); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
			c.b.logger.Debug("connection closed", "remote", c.nc.RemoteAddr(), "err", err)
		}
	}()
	// Kafka clients never half-close: once reading stops, nobody will read
	// the answers, so stop waiting for them (long polls included).
	c.shutdown()
	close(c.queue)
	wg.Wait()
}

func (c *conn) recoverPanic(where string) {
	if r := recover(); r != nil {
		c.b.logger.Error("panic serving connection; closing it", "where", where, "remote", c.nc.RemoteAddr(), "panic", r, "stack", string(debug.Stack()))
		c.shutdown()
	}
}

// acquire blocks until n more request bytes fit in the connection's and
// the broker's budgets.
func (c *conn) acquire(n int64) bool {
	if !c.budget.acquire(n, c.done) {
		return false
	}
	if !c.b.budget.acquire(n, c.done) {
		c.budget.release(n)
		return false
	}
	return true
}

func (c *conn) release(n int64) {
	c.b.budget.release(n)
	c.budget.release(n)
}

func (c *conn) readLoop() error {
	var sizeBuf [4]byte
	for {
		// Between requests the connection may be idle for
		// connections.max.idle.ms (forever if 0); readFrame sets the
		// deadline of a frame's body.
		for c.unsent.Load() >= maxUnsent {
			select {
			case <-c.written:
			case <-c.done:
				return net.ErrClosed
			}
		}
		var idle time.Time
		if c.b.cfg.ConnectionsMaxIdle > 0 {
			idle = time.Now().Add(c.b.cfg.ConnectionsMaxIdle)
		}
		c.nc.SetReadDeadline(idle)
		if _, err := io.ReadFull(c.nc, sizeBuf[:]); err != nil {
			return err
		}
		size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
		arrived := mono()
		if s := c.sasl; s != nil && s.raw && !s.authenticated {
			// After SaslHandshake v0 the client sends bare tokens.
			p, err := c.rawSASLToken(size)
			if err != nil {
				return err
			}
			select {
			case c.queue <- p:
			case <-c.done:
				return net.ErrClosed
			}
			continue
		}
		if size < 8 || size > c.b.cfg.SocketRequestMaxBytes {
			// Kafka closes the connection on an invalid frame size
			// without reading it (InvalidReceiveException).
			if n, ok := badFrameWarnings.allow(); ok {
				c.b.logger.Warn("refusing request frame", "remote", c.nc.RemoteAddr(), "bytes", size, "max", c.b.cfg.SocketRequestMaxBytes, "not_logged_since_last", n)
			}
			return fmt.Errorf("frame size %d outside [8, %d]", size, c.b.cfg.SocketRequestMaxBytes)
		}
		buf, err := c.readFrame(int(size))
		if err != nil {
			return err
		}
		if c.b.quotas.mgr.Enabled() && !c.waitMuted() {
			putFrame(buf)
			c.release(int64(size))
			return net.ErrClosed
		}
		p, err := c.handle(buf, int64(size))
		if err != nil {
			putFrame(buf)
			c.release(int64(size))
			return err
		}
		p.arrived = arrived
		select {
		case <-p.ready:
			p.unsent = true
			c.unsent.Add(1)
		default:
		}
		select {
		case c.queue <- p:
		case <-c.done:
			// The writer will not see it: give its budget bytes back
			// here (its handler may still be using the frame).
			c.releaseFrame(p, false)
			return net.ErrClosed
		}
	}
}

// badFrameWarnings keeps the warnings about refused frames to one every
// 100 ms: a client that loops malformed frames made the broker write
// ~15,000 lines a second.
var badFrameWarnings warnLimit

// warnLimit lets one warning through per 100 ms and counts the others.
type warnLimit struct {
	next    atomic.Int64 // mono() before which warnings are counted, not logged
	skipped atomic.Int64
}

// allow reports whether to log now and how many were skipped before.
func (w *warnLimit) allow() (skipped int64, ok bool) {
	now, next := mono(), w.next.Load()
	if now < next || !w.next.CompareAndSwap(next, now+int64(100*time.Millisecond)) {
		w.skipped.Add(1)
		return 0, false
	}
	return w.skipped.Swap(0), true
}

// A frame's bytes are taken from the budgets as they arrive: the first
// firstFrameChunk (or the frame's size, if smaller), then frameGrowth
// times as much each time that fills. So a frame that is still arriving
// holds at most frameGrowth times the bytes its client has sent, or
// firstFrameChunk, never the size it claims: a client that sends a 100 MiB
// size and stops costs 16 KiB of the budgets, not 100 MiB.
//
// The buffer follows the budget in the same steps, copying what it holds
// into each larger one (about a third of a large frame's bytes again),
// unless a free buffer of the frame's full size is in the frame pool: then
// the frame is read into it without copies. A free buffer is memory the
// broker already has (the pool holds at most largeFreeBytes of large
// ones), so a stalled frame holding one costs no new memory; frames of the
// sizes clients keep sending find one. Growing in steps alone cost about
// 10% of single-node produce throughput with 16 MiB requests.
const (
	firstFrameChunk = 16 << 10
	frameGrowth     = 4
	// frameReadTimeout bounds the time a client may take, waiting on the
	// client only, to send the rest of a frame once its size has arrived
	// (connections.max.idle.ms if shorter). Kafka has only the idle timer,
	// so a frame that stops half-way holds its memory for 10 minutes; a
	// client's own request.timeout.ms (30 s by default) has given up on
	// the request by then, so nothing a client still waits for is lost.
	frameReadTimeout = 30 * time.Second
)

// readFrame reads a request frame's size bytes (after its size), taking
// them from the budgets as the buffer grows. The time spent waiting for
// the budgets does not count against the client's deadline.
func (c *conn) readFrame(size int) ([]byte, error) {
	timeout := frameReadTimeout
	if idle := c.b.cfg.ConnectionsMaxIdle; idle > 0 && idle < timeout {
		timeout = idle
	}
	deadline := time.Now().Add(timeout)
	held := min(size, firstFrameChunk)
	if !c.acquire(int64(held)) {
		return nil, net.ErrClosed
	}
	var over bool // this frame holds the broker budget's overdraft
	defer c.b.budget.endOverdraft(&over)
	// buf is the frame's full size when the pool had one (direct), else
	// held bytes long.
	buf, got := takeFrame(size), 0
	direct := buf != nil
	if !direct {
		buf = getFrame(held)
	}
	for {
		c.nc.SetReadDeadline(deadline)
		n, err := io.ReadFull(c.nc, buf[got:held])
		got += n
		if err != nil {
			putFrame(buf)
			c.release(int64(held))
			return nil, err
		}
		if got == size {
			return buf, nil
		}
		next := min(size, held*frameGrowth)
		waited := time.Now()
		if !c.grow(int64(next-held), &over) {
			putFrame(buf)
			c.release(int64(held))
			return nil, net.ErrClosed
		}
		deadline = deadline.Add(time.Since(waited))
		if !direct {
			nb := takeFrame(size)
			if direct = nb != nil; !direct {
				nb = getFrame(next)
			}
			copy(nb, buf[:got])
			putFrame(buf)
			buf = nb
		}
		held = next
	}
}

// grow is acquire for a frame being read (budget.grow).
func (c *conn) grow(n int64, over *bool) bool {
	if !c.budget.grow(n, c.done, nil) {
		return false
	}
	if !c.b.budget.grow(n, c.done, over) {
		c.budget.release(n)
		return false
	}
	return true
}

// handle parses the request header, decodes the body with kmsg and starts
// the handler. An error closes the connection.
func (c *conn) handle(buf []byte, held int64) (*pending, error) {
	h, body, err := parseHeader(buf)
	if err != nil {
		return nil, err
	}
	p := &pending{corr: h.corr, key: h.key, version: h.version, ready: make(chan struct{}), held: held, frame: buf, started: mono()}
	api, known := apiTable[h.key]
	if h.key == kmsg.ApiVersions.Int16() && h.version > api.max {
		// KIP-511: answer a v0 body with the supported ranges so the
		// client can retry with a version we know.
		p.raw = apiVersionsFallback(c.controller)
		close(p.ready)
		return p, nil
	}
	req := kmsg.RequestForKey(h.key)
	if c.controller && !controllerAPIs[h.key] {
		known = false
	}
	if s := c.sasl; s != nil && !preAuthAPIs[h.key] {
		// Kafka closes a SASL connection that sends anything else before
		// it has authenticated, or after its session expired (KIP-368).
		if !s.authenticated {
			return nil, fmt.Errorf("%s before SASL authentication", kmsg.NameForKey(h.key))
		}
		if !s.expires.IsZero() && time.Now().After(s.expires) {
			return nil, fmt.Errorf("SASL session expired (connections.max.reauth.ms); %s refused", kmsg.NameForKey(h.key))
		}
	}
	if !known || req == nil || h.version < api.min || h.version > api.max {
		if n, ok := badFrameWarnings.allow(); ok {
			c.b.logger.Warn("unsupported request; answering UNSUPPORTED_VERSION and closing", "key", h.key, "version", h.version, "client", h.clientID, "not_logged_since_last", n)
		}
		p.raw = binary.BigEndian.AppendUint16(nil, uint16(kerr.UnsupportedVersion.Code))
		p.close = true
		close(p.ready)
		return p, nil
	}
	req.SetVersion(h.version)
	if req.IsFlexible() {
		if body, err = skipTags(body); err != nil {
			return nil, err
		}
	}
	p.flexHeader = req.IsFlexible() && h.key != kmsg.ApiVersions.Int16()
	if err := req.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("decoding %s v%d: %w", kmsg.NameForKey(h.key), h.version, err)
	}
	rc := &reqCtx{c: c, clientID: h.clientID, key: h.key, p: p}
	if c.b.quotas.mgr.Enabled() {
		p.clientID = h.clientID
		start := time.Now()
		api.handle(rc, p, req)
		c.recordHandled(p, req, h.clientID, time.Since(start))
		return p, nil
	}
	api.handle(rc, p, req)
	return p, nil
}

// releaseFrame gives back a request's budget bytes and, if reuse is set,
// its frame to the pool; only the first call for a request counts. A
// handler may call it (with reuse) as soon as nothing refers to the frame
// any more: nothing decoded from it is used after that.
func (c *conn) releaseFrame(p *pending, reuse bool) {
	if !p.frameDone.CompareAndSwap(false, true) {
		return
	}
	if reuse {
		putFrame(p.frame)
	}
	c.release(p.held)
}

// reqCtx is what a handler knows about the request besides its body.
type reqCtx struct {
	c        *conn
	clientID string
	key      int16    // the request's API key (for the authorizer's log)
	p        *pending // the request's place in the connection's queue (its throttle)
}

func (rc *reqCtx) broker() *Broker { return rc.c.b }

// principal is the authenticated principal of the request's connection.
func (rc *reqCtx) principal() string {
	if p := rc.c.principal.Load(); p != nil {
		return *p
	}
	return anonymous
}

func (c *conn) writeLoop() {
	var lastEnd int64 // when the last response was written (metrics)
	for p := range c.queue {
		select {
		case <-p.ready:
		case <-c.done:
			// Release what a completed fetch holds; one still running
			// releases its own reads when it sees c.done.
			select {
			case <-p.ready:
				releaseAll(p.fetch)
				c.releaseFrame(p, true)
			default:
				// A handler may still be using the frame; let the
				// garbage collector have it.
				c.releaseFrame(p, false)
			}
			continue
		}
		if c.b.quotas.mgr.Enabled() {
			c.applyThrottle(p)
		}
		err := c.write(p)
		if p.unsent {
			c.unsent.Add(-1)
			select {
			case c.written <- struct{}{}:
			default:
			}
		}
		lastEnd = c.b.metrics.requestDone(p, lastEnd)
		releaseAll(p.fetch)
		c.releaseFrame(p, true)
		if err == nil && p.close && p.closeDelay > 0 {
			select {
			case <-time.After(p.closeDelay):
			case <-c.done:
			}
		}
		if err != nil || p.close {
			c.shutdown()
		}
	}
}

// write encodes and sends one response frame.
func (c *conn) write(p *pending) error {
	if p.resp == nil && p.raw == nil {
		return nil
	}
	if p.bare {
		frame := binary.BigEndian.AppendUint32(nil, uint32(len(p.raw)))
		_, err := c.nc.Write(append(frame, p.raw...))
		return err
	}
	buf := append(c.wbuf[:0], 0, 0, 0, 0)
	buf = binary.BigEndian.AppendUint32(buf, uint32(p.corr))
	if p.flexHeader {
		buf = append(buf, 0)
	}
	if p.raw != nil {
		buf = append(buf, p.raw...)
	} else {
		buf = p.resp.AppendTo(buf)
	}
	c.wbuf = buf[:0]
	if c.b.cfg.ConnectionsMaxIdle > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(c.b.cfg.ConnectionsMaxIdle))
	}
	if len(p.fetch) > 0 {
		if c.cork == nil {
			return c.writeWithFiles(buf, p)
		}
		c.cork.cork()
		err := c.writeWithFiles(buf, p)
		if uerr := c.cork.uncork(); err == nil {
			err = uerr
		}
		return err
	}
	binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))
	_, err := c.nc.Write(buf)
	if cap(c.wbuf) > 1<<20 {
		c.wbuf = nil // do not pin a large buffer per idle connection
	}
	return err
}
