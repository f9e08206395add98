package quorum

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// helloMagic opens every connection between controllers. Read as a Kafka
// frame size it is over 1 GiB, so it can never be mistaken for the start
// of a Kafka request on a shared listener.
var helloMagic = [8]byte{'S', 'M', 'S', 'R', 'A', 'F', 'T', '1'}

// Frame kinds on the wire (after the hello).
const kindMessage byte = 10

const (
	peerQueue    = 4096 // messages waiting for one peer; more are dropped (Raft resends)
	recvQueue    = 8192 // inbound messages waiting for the node's goroutine
	dialTimeout  = time.Second
	writeTimeout = 10 * time.Second
)

// transport carries Raft messages between controllers over TCP. Each peer
// has one outbound connection fed by a bounded queue; inbound connections
// are read by one goroutine each and handed to deliver.
//
// A connection starts with a hello (magic, sender id, cluster id); a
// receiver refuses a sender of another cluster and closes the connection,
// so two clusters sharing addresses by mistake cannot mix their logs.
type transport struct {
	self      uint64
	clusterID string
	logger    *slog.Logger
	deliver   func(*pb.Message) // non-blocking; drops when the node is behind
	report    func(id uint64, snapshot bool, ok bool)

	mu    sync.Mutex // guards peers, conns, closed
	peers map[uint64]*peer
	conns map[net.Conn]struct{}
	ln    net.Listener

	closed bool
	wg     sync.WaitGroup
	stop   chan struct{}

	heardMu      sync.Mutex // guards heard, inbound, lost and incarnations
	heard        map[uint64]time.Time
	inbound      map[uint64]int       // open connections from each node
	lost         map[uint64]time.Time // when a node's last connection ended
	incarnations map[uint64]uint64    // the process behind each node's connections

	incarnation uint64       // this process, random per start
	duplicates  atomic.Int64 // hellos refused as a second process of a node id
}

// duplicateWindow: a node id heard from this recently belongs to a live
// process; a hello from another process with that id is refused.
const duplicateWindow = 2 * time.Second

type peer struct {
	id   uint64
	addr string
	q    chan *pb.Message
}

func newTransport(self uint64, clusterID string, logger *slog.Logger, deliver func(*pb.Message), report func(uint64, bool, bool)) *transport {
	return &transport{
		self: self, clusterID: clusterID, logger: logger, deliver: deliver, report: report,
		peers: map[uint64]*peer{}, conns: map[net.Conn]struct{}{}, stop: make(chan struct{}),
		heard: map[uint64]time.Time{}, inbound: map[uint64]int{}, lost: map[uint64]time.Time{},
		incarnations: map[uint64]uint64{}, incarnation: rand.Uint64(),
	}
}

// addPeer starts the sender for a peer at addr.
func (t *transport) addPeer(id uint64, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.peers[id]; ok || id == t.self || t.closed {
		return
	}
	p := &peer{id: id, addr: addr, q: make(chan *pb.Message, peerQueue)}
	t.peers[id] = p
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		t.sendLoop(p)
	}()
}

// send queues messages for their peers without blocking.
func (t *transport) send(msgs []*pb.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range msgs {
		p := t.peers[m.GetTo()]
		if p == nil {
			continue
		}
		select {
		case p.q <- m:
		default:
			t.report(p.id, m.GetType() == pb.MsgSnap, false)
		}
	}
}

func (t *transport) sendLoop(p *peer) {
	var backoff time.Duration
	for {
		conn, err := net.DialTimeout("tcp", p.addr, dialTimeout)
		if err == nil {
			t.track(conn, true)
			err = t.stream(conn, p)
			t.track(conn, false)
			conn.Close()
			if err == nil {
				return // closed
			}
			backoff = 0
		}
		select {
		case <-t.stop:
			return
		default:
		}
		t.report(p.id, false, false)
		// Drain what is queued: Raft resends what matters once the peer
		// answers again, and stale messages only slow the catch-up.
		for drained := false; !drained; {
			select {
			case m := <-p.q:
				if m.GetType() == pb.MsgSnap {
					t.report(p.id, true, false)
				}
			default:
				drained = true
			}
		}
		if backoff < 50*time.Millisecond {
			backoff = 50 * time.Millisecond
		} else if backoff *= 2; backoff > time.Second {
			backoff = time.Second
		}
		select {
		case <-t.stop:
			return
		case <-time.After(backoff):
		}
	}
}

// stream writes the hello and then p's messages to conn until an error
// (returned) or the transport closes (nil).
func (t *transport) stream(conn net.Conn, p *peer) error {
	w := bufio.NewWriterSize(conn, 64<<10)
	if err := writeHello(w, t.self, t.incarnation, t.clusterID); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for {
		var m *pb.Message
		select {
		case <-t.stop:
			return nil
		case m = <-p.q:
		}
		conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := writeMessage(w, m); err != nil {
			if m.GetType() == pb.MsgSnap {
				t.report(p.id, true, false)
			}
			return err
		}
		// Flush when nothing else is queued, so a burst goes out in one write.
		if len(p.q) == 0 {
			if err := w.Flush(); err != nil {
				return err
			}
		}
		if m.GetType() == pb.MsgSnap {
			t.report(p.id, true, true)
		}
	}
}

func writeHello(w io.Writer, from, incarnation uint64, clusterID string) error {
	buf := make([]byte, 0, 26+len(clusterID))
	buf = append(buf, helloMagic[:]...)
	buf = binary.BigEndian.AppendUint64(buf, from)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(clusterID)))
	buf = append(buf, clusterID...)
	buf = binary.BigEndian.AppendUint64(buf, incarnation)
	_, err := w.Write(buf)
	return err
}

func writeMessage(w io.Writer, m *pb.Message) error {
	frame, err := appendFrame(nil, kindMessage, m)
	if err != nil {
		return err
	}
	_, err = w.Write(frame)
	return err
}

// listen accepts controller connections on addr.
func (t *transport) listen(addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.ln = ln
	t.mu.Unlock()
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		t.acceptLoop(ln)
	}()
	return ln.Addr(), nil
}

// acceptLoop accepts until the listener closes. A failed accept (out of
// descriptors, say) backs off and retries; it never stops the listener.
func (t *transport) acceptLoop(ln net.Listener) {
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if backoff == 0 {
				backoff = 5 * time.Millisecond
			} else if backoff *= 2; backoff > time.Second {
				backoff = time.Second
			}
			t.logger.Warn("controller listener: accept failed; retrying", "err", err, "retry_in", backoff)
			select {
			case <-t.stop:
				return
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			t.serveConn(conn)
		}()
	}
}

// serveConn reads one inbound connection's messages.
func (t *transport) serveConn(conn net.Conn) {
	defer conn.Close()
	if !t.track(conn, true) {
		return
	}
	defer t.track(conn, false)
	r := bufio.NewReaderSize(conn, 64<<10)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	from, inc, cluster, err := readHello(r)
	if err != nil {
		t.logger.Warn("controller listener: bad hello; closing", "remote", conn.RemoteAddr(), "err", err)
		return
	}
	if cluster != t.clusterID {
		t.logger.Error("controller listener: refusing a node of another cluster", "remote", conn.RemoteAddr(),
			"node_id", from, "its_cluster_id", cluster, "cluster_id", t.clusterID)
		return
	}
	conn.SetReadDeadline(time.Time{})
	t.heardMu.Lock()
	// Two processes with one node id (a configuration mistake) would vote
	// twice and could elect two leaders: while a process of that id is
	// connected and heard from, another one is refused, loudly. A
	// restarted process is let in: its predecessor's connection is gone or
	// silent.
	if cur, ok := t.incarnations[from]; ok && cur != inc && t.inbound[from] > 0 && time.Since(t.heard[from]) < duplicateWindow {
		t.heardMu.Unlock()
		t.duplicates.Add(1)
		t.logger.Error("controller listener: refusing a second process with the same node id; check node.id on every node",
			"node_id", from, "remote", conn.RemoteAddr())
		return
	}
	t.incarnations[from] = inc
	t.inbound[from]++
	delete(t.lost, from)
	t.heardMu.Unlock()
	defer func() {
		t.heardMu.Lock()
		if t.inbound[from]--; t.inbound[from] == 0 {
			t.lost[from] = time.Now()
		}
		t.heardMu.Unlock()
	}()
	for {
		kind, payload, err := readFrame(r)
		if err != nil {
			return
		}
		if kind != kindMessage {
			t.logger.Warn("controller listener: unknown frame kind; closing", "node_id", from, "kind", kind)
			return
		}
		m := &pb.Message{}
		if err := proto.Unmarshal(payload, m); err != nil {
			t.logger.Warn("controller listener: undecodable message; closing", "node_id", from, "err", err)
			return
		}
		if m.GetFrom() != from || m.GetTo() != t.self {
			t.logger.Warn("controller listener: misaddressed message; closing", "hello_from", from, "from", m.GetFrom(), "to", m.GetTo())
			return
		}
		t.heardMu.Lock()
		t.heard[from] = time.Now()
		t.heardMu.Unlock()
		t.deliver(m)
	}
}

// lostSince is when node id's last connection to this node ended, if it
// has none now (zero: connected, or never connected).
func (t *transport) lostSince(id uint64) time.Time {
	t.heardMu.Lock()
	defer t.heardMu.Unlock()
	return t.lost[id]
}

// lastHeard is when a message from node id last arrived (zero: never).
func (t *transport) lastHeard(id uint64) time.Time {
	t.heardMu.Lock()
	defer t.heardMu.Unlock()
	return t.heard[id]
}

func readHello(r io.Reader) (from, incarnation uint64, cluster string, err error) {
	var hdr [18]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, 0, "", err
	}
	if [8]byte(hdr[:8]) != helloMagic {
		return 0, 0, "", fmt.Errorf("not a Samsa controller connection")
	}
	from = binary.BigEndian.Uint64(hdr[8:])
	id := make([]byte, binary.BigEndian.Uint16(hdr[16:])+8)
	if _, err := io.ReadFull(r, id); err != nil {
		return 0, 0, "", err
	}
	return from, binary.BigEndian.Uint64(id[len(id)-8:]), string(id[:len(id)-8]), nil
}

// readFrame reads one frame (the raft.log frame format) from a stream.
func readFrame(r io.Reader) (byte, []byte, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	size := binary.BigEndian.Uint32(hdr[:])
	if size < 1 || size > maxFrameBytes {
		return 0, nil, fmt.Errorf("frame of %d bytes", size)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, err
	}
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(hdr[4:]) {
		return 0, nil, fmt.Errorf("frame checksum mismatch")
	}
	return body[0], body[1:], nil
}

// track adds (or removes) a live connection; it refuses new ones after
// close.
func (t *transport) track(c net.Conn, add bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if add {
		if t.closed {
			return false
		}
		t.conns[c] = struct{}{}
	} else {
		delete(t.conns, c)
	}
	return true
}

func (t *transport) close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	close(t.stop)
	if t.ln != nil {
		t.ln.Close()
	}
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
}
