package quorum

import (
	"bufio"
	"context"
	"crypto/tls"
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

// learnerMagic opens a connection from a broker-only node (a Raft learner,
// Kafka's observer). It has no listener of its own: the controller answers
// with its own hello and then sends the learner's messages back over the
// same connection.
var learnerMagic = [8]byte{'S', 'M', 'S', 'R', 'A', 'F', 'T', 'L'}

// Frame kinds on the wire (after the hello).
const (
	kindMessage byte = 10 // a Raft message
	// kindLost: the sender's log ends (Index) before what the receiver,
	// the leader, believes the sender has: the sender lost entries it had
	// acknowledged (a restored or replaced disk). A pb.Message carries it.
	kindLost byte = 11
)

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
	// onLost receives kindLost notices (non-blocking); nil drops them.
	onLost func(from, lastIndex uint64)
	// kafka, if set, takes the connections on the controller listener that
	// do not start with a hello: Kafka clients (the admin client with
	// --bootstrap-controller). It owns the connection it is given.
	kafka func(net.Conn)
	// dial connects to a controller (TLS when the controller listener is
	// SSL); nil: plain TCP. tls makes listen's listener a TLS one. Both
	// are set before listen and never change (transport_tls.go).
	dial func(ctx context.Context, addr string) (net.Conn, error)
	tls  *tls.Config

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

	// learner: this node is a learner (an observer); it dials the
	// controllers and takes their messages on the same connections
	// (becomeLearner). Guarded by mu; closing upstreams ends those
	// connections.
	learner   bool
	upstreams chan struct{}
	joiners   map[uint64]int // learners connected to this controller (guarded by heardMu)
	// dialErrs is the last logged dial error to each address (guarded by
	// heardMu; transport_tls.go).
	dialErrs map[string]string
}

// duplicateWindow: a node id heard from this recently belongs to a live
// process; a hello from another process with that id is refused.
const duplicateWindow = 2 * time.Second

type peer struct {
	id   uint64
	addr string // "" for a route over a learner's connection
	q    chan *pb.Message
	lost chan *pb.Message // kindLost notices (at most one waiting)
	gone chan struct{}    // closed when the peer is removed
}

func newPeer(id uint64, addr string) *peer {
	return &peer{id: id, addr: addr, q: make(chan *pb.Message, peerQueue), lost: make(chan *pb.Message, 1), gone: make(chan struct{})}
}

func newTransport(self uint64, clusterID string, logger *slog.Logger, deliver func(*pb.Message), report func(uint64, bool, bool)) *transport {
	return &transport{
		self: self, clusterID: clusterID, logger: logger, deliver: deliver, report: report,
		peers: map[uint64]*peer{}, conns: map[net.Conn]struct{}{}, stop: make(chan struct{}),
		heard: map[uint64]time.Time{}, inbound: map[uint64]int{}, lost: map[uint64]time.Time{},
		incarnations: map[uint64]uint64{}, incarnation: rand.Uint64(), joiners: map[uint64]int{},
	}
}

// addPeer starts the sender for a peer at addr.
func (t *transport) addPeer(id uint64, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.peers[id]; ok || id == t.self || t.closed {
		return
	}
	p := newPeer(id, addr)
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
			// A learner that is not connected (or a node never heard of):
			// Raft probes it again once it answers.
			t.report(m.GetTo(), m.GetType() == pb.MsgSnap, false)
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
		conn, err := t.dialPeer(p.addr)
		t.dialFailed(p.addr, err)
		if err == nil {
			t.track(conn, true)
			err = t.stream(conn, p)
			t.track(conn, false)
			conn.Close()
			if err == nil {
				return // closed or removed
			}
			backoff = 0
		}
		select {
		case <-t.stop:
			return
		case <-p.gone:
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
		backoff = nextBackoff(backoff)
		select {
		case <-t.stop:
			return
		case <-p.gone:
			return
		case <-time.After(backoff):
		}
	}
}

// nextBackoff is the wait before the next dial: 50 ms doubling to 1 s.
func nextBackoff(d time.Duration) time.Duration {
	if d < 50*time.Millisecond {
		return 50 * time.Millisecond
	}
	return min(2*d, time.Second)
}

// removePeer stops sending to node id (it left the voters, or this node
// changes how it reaches it).
func (t *transport) removePeer(id uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.peers[id]; ok {
		delete(t.peers, id)
		close(p.gone)
	}
}

// setVoterPeer makes node id a voter this node dials at addr, replacing
// any other route to it (a learner's connection, an old address).
func (t *transport) setVoterPeer(id uint64, addr string) {
	t.mu.Lock()
	p, ok := t.peers[id]
	t.mu.Unlock()
	if ok && p.addr == addr {
		return
	}
	t.removePeer(id)
	t.addPeer(id, addr)
}

// stream writes the hello and then p's messages to conn until an error
// (returned) or the transport closes (nil).
func (t *transport) stream(conn net.Conn, p *peer) error {
	w := bufio.NewWriterSize(conn, 64<<10)
	if err := writeHello(w, helloMagic, t.self, t.incarnation, t.clusterID); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return t.pump(conn, w, p, nil)
}

// pump writes p's messages to conn until an error (returned), the
// transport closes, done closes or p is removed (nil).
func (t *transport) pump(conn net.Conn, w *bufio.Writer, p *peer, done <-chan struct{}) error {
	for {
		var m *pb.Message
		select {
		case <-t.stop:
			return nil
		case <-done:
			return nil
		case <-p.gone:
			return nil
		case n := <-p.lost:
			frame, err := appendFrame(nil, kindLost, n)
			if err == nil {
				_, err = w.Write(frame)
			}
			if err == nil {
				err = w.Flush()
			}
			if err != nil {
				return err
			}
			continue
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

func writeHello(w io.Writer, magic [8]byte, from, incarnation uint64, clusterID string) error {
	buf := make([]byte, 0, 26+len(clusterID))
	buf = append(buf, magic[:]...)
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
	bound := ln.Addr()
	if t.tls != nil {
		ln = tls.NewListener(ln, t.tls)
	}
	t.mu.Lock()
	t.ln = ln
	t.mu.Unlock()
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		t.acceptLoop(ln)
	}()
	return bound, nil
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

// serveConn reads one inbound connection's messages. A learner's
// connection also carries this node's messages to it.
func (t *transport) serveConn(conn net.Conn) {
	defer func() {
		if conn != nil {
			conn.Close()
			t.track(conn, false)
		}
	}()
	if !t.track(conn, true) {
		return
	}
	if !t.handshake(conn) {
		return
	}
	r := bufio.NewReaderSize(conn, 64<<10)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if t.kafka != nil {
		// A Kafka request starts with its size, which is never as large
		// as a hello's magic read as a size (over 1 GiB).
		head, err := r.Peek(len(helloMagic))
		if err != nil {
			return
		}
		if [8]byte(head) != helloMagic && [8]byte(head) != learnerMagic {
			conn.SetReadDeadline(time.Time{})
			t.track(conn, false)
			t.kafka(buffered(conn, r))
			conn = nil // the handler owns it now
			return
		}
	}
	magic, from, inc, cluster, err := readHello(r)
	if err != nil {
		t.logger.Warn("controller listener: bad hello; closing", "remote", conn.RemoteAddr(), "err", err)
		return
	}
	learner := magic == learnerMagic
	var w *bufio.Writer
	if learner {
		// The learner checks the cluster id too, and says why it is refused.
		w = bufio.NewWriterSize(conn, 64<<10)
		conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		if writeHello(w, helloMagic, t.self, t.incarnation, t.clusterID) != nil || w.Flush() != nil {
			return
		}
	}
	if cluster != t.clusterID {
		t.logger.Error("controller listener: refusing a node of another cluster", "remote", conn.RemoteAddr(),
			"node_id", from, "its_cluster_id", cluster, "cluster_id", t.clusterID)
		return
	}
	if learner && (t.isLearner() || from == t.self || t.isVoterPeer(from)) {
		t.logger.Error("controller listener: refusing a broker-only node whose node id is a controller's; check node.id on every node",
			"node_id", from, "remote", conn.RemoteAddr())
		return
	}
	conn.SetReadDeadline(time.Time{})
	if !t.admit(from, inc, conn.RemoteAddr()) {
		return
	}
	defer t.leave(from)
	if !learner {
		t.readMessages(r, from)
		return
	}
	// A learner: route this node's messages for it over this connection
	// while it lasts, and offer it to the leader for admission.
	p := newPeer(from, "")
	t.mu.Lock()
	if old, ok := t.peers[from]; ok {
		close(old.gone) // an older connection of the same learner
	}
	t.peers[from] = p
	t.mu.Unlock()
	t.heardMu.Lock()
	t.joiners[from]++
	t.heardMu.Unlock()
	done := make(chan struct{})
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		if t.pump(conn, w, p, done) != nil {
			conn.Close() // the reader below returns
		}
	}()
	t.readMessages(r, from)
	t.logger.Debug("controller listener: a learner's connection ended", "node_id", from)
	close(done)
	t.mu.Lock()
	if t.peers[from] == p {
		delete(t.peers, from)
		close(p.gone)
	}
	t.mu.Unlock()
	t.heardMu.Lock()
	if t.joiners[from]--; t.joiners[from] == 0 {
		delete(t.joiners, from)
	}
	t.heardMu.Unlock()
}

// isVoterPeer reports whether id is a controller this node dials.
func (t *transport) isVoterPeer(id uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.peers[id]
	return ok && p.addr != ""
}

// admit accounts a new connection from node id (process incarnation inc).
// Two processes with one node id (a configuration mistake) would vote
// twice and could elect two leaders: while a process of that id is
// connected and heard from, another one is refused, loudly. A restarted
// process is let in: its predecessor's connection is gone or silent.
func (t *transport) admit(from, inc uint64, remote net.Addr) bool {
	t.heardMu.Lock()
	defer t.heardMu.Unlock()
	if cur, ok := t.incarnations[from]; ok && cur != inc && t.inbound[from] > 0 && time.Since(t.heard[from]) < duplicateWindow {
		t.duplicates.Add(1)
		t.logger.Error("controller listener: refusing a second process with the same node id; check node.id on every node",
			"node_id", from, "remote", remote)
		return false
	}
	t.incarnations[from] = inc
	t.inbound[from]++
	delete(t.lost, from)
	return true
}

// leave accounts the end of a connection admitted from node id.
func (t *transport) leave(from uint64) {
	t.heardMu.Lock()
	defer t.heardMu.Unlock()
	if t.inbound[from]--; t.inbound[from] == 0 {
		t.lost[from] = time.Now()
	}
}

// readMessages delivers the messages node from sends on r until the
// connection ends or breaks the protocol.
func (t *transport) readMessages(r *bufio.Reader, from uint64) {
	for {
		kind, payload, err := readFrame(r)
		if err != nil {
			return
		}
		if kind != kindMessage && kind != kindLost {
			t.logger.Warn("controller connection: unknown frame kind; closing", "node_id", from, "kind", kind)
			return
		}
		m := &pb.Message{}
		if err := proto.Unmarshal(payload, m); err != nil {
			t.logger.Warn("controller connection: undecodable message; closing", "node_id", from, "err", err)
			return
		}
		if kind == kindLost {
			if t.onLost != nil && m.GetFrom() == from {
				t.onLost(from, m.GetIndex())
			}
			continue
		}
		// A follower forwards proposals (and leadership transfers) to the
		// leader as it got them, with the proposer's id.
		forwarded := m.GetType() == pb.MsgProp || m.GetType() == pb.MsgTransferLeader || m.GetType() == pb.MsgReadIndex
		if (m.GetFrom() != from && !forwarded) || m.GetTo() != t.self {
			t.logger.Warn("controller connection: misaddressed message; closing", "hello_from", from, "from", m.GetFrom(), "to", m.GetTo())
			return
		}
		t.heardMu.Lock()
		t.heard[from] = time.Now()
		t.heardMu.Unlock()
		t.deliver(m)
	}
}

// sendLost tells node to (the leader) that this node's log ends at
// lastIndex, before what to believes it has. Dropped if one is waiting.
func (t *transport) sendLost(to, lastIndex uint64) {
	t.mu.Lock()
	p := t.peers[to]
	t.mu.Unlock()
	if p == nil {
		return
	}
	select {
	case p.lost <- &pb.Message{From: &t.self, To: &to, Index: &lastIndex}:
	default:
	}
}

// joining lists the learners connected to this node.
func (t *transport) joining() []uint64 {
	t.heardMu.Lock()
	defer t.heardMu.Unlock()
	out := make([]uint64, 0, len(t.joiners))
	for id := range t.joiners {
		out = append(out, id)
	}
	return out
}

// becomeLearner makes this node a learner that reaches the controllers
// at addrs (upstream connections); its dialled voter peers are dropped.
func (t *transport) becomeLearner(addrs []string) {
	t.mu.Lock()
	if t.closed || t.learner {
		t.mu.Unlock()
		return
	}
	t.learner = true
	stop := make(chan struct{})
	t.upstreams = stop
	var ids []uint64
	for id, p := range t.peers {
		if p.addr != "" {
			ids = append(ids, id)
		}
	}
	t.mu.Unlock()
	for _, id := range ids {
		t.removePeer(id)
	}
	for _, a := range addrs {
		t.mu.Lock()
		t.wg.Add(1)
		t.mu.Unlock()
		go func() {
			defer t.wg.Done()
			t.upstreamLoop(a, stop)
		}()
	}
}

// becomeVoter ends this node's upstream connections (it was a learner):
// from now on it dials the voters (setVoterPeer) and they dial it.
func (t *transport) becomeVoter() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.learner {
		return
	}
	t.learner = false
	close(t.upstreams)
}

// voterPeers lists the nodes this node dials.
func (t *transport) voterPeers() []uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []uint64
	for id, p := range t.peers {
		if p.addr != "" {
			out = append(out, id)
		}
	}
	return out
}

// isLearner reports whether this node is reached over its own upstream
// connections.
func (t *transport) isLearner() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.learner
}

func (t *transport) upstreamLoop(addr string, stop <-chan struct{}) {
	var backoff time.Duration
	var lastErr string
	for {
		conn, err := t.dialPeer(addr)
		if err == nil {
			if !t.track(conn, true) {
				conn.Close()
				return
			}
			err = t.upstream(conn, stop)
			t.track(conn, false)
			conn.Close()
			if err == nil {
				return // closed
			}
		}
		select {
		case <-t.stop:
			return
		case <-stop:
			return
		default:
		}
		if err.Error() != lastErr {
			lastErr = err.Error()
			t.logger.Warn("metadata quorum: cannot reach a controller; retrying", "controller", addr, "err", err)
		} else {
			t.logger.Debug("metadata quorum: controller connection ended; retrying", "controller", addr, "err", err)
		}
		backoff = nextBackoff(backoff)
		select {
		case <-t.stop:
			return
		case <-stop:
			return
		case <-time.After(backoff):
		}
	}
}

// upstream runs one learner connection: hello both ways, then messages
// both ways until either side ends it.
func (t *transport) upstream(conn net.Conn, stop <-chan struct{}) error {
	w := bufio.NewWriterSize(conn, 64<<10)
	conn.SetDeadline(time.Now().Add(writeTimeout))
	if err := writeHello(w, learnerMagic, t.self, t.incarnation, t.clusterID); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	r := bufio.NewReaderSize(conn, 64<<10)
	magic, id, _, cluster, err := readHello(r)
	if err != nil {
		return fmt.Errorf("no answer to the hello: %w", err)
	}
	if magic != helloMagic {
		return fmt.Errorf("not a controller")
	}
	if cluster != t.clusterID {
		return fmt.Errorf("the controller is node %d of cluster %s, not of cluster %s", id, cluster, t.clusterID)
	}
	conn.SetDeadline(time.Time{})
	p := newPeer(id, "")
	t.mu.Lock()
	if _, ok := t.peers[id]; ok {
		t.mu.Unlock()
		return fmt.Errorf("already connected to node %d", id)
	}
	select {
	case <-stop:
		t.mu.Unlock()
		return nil
	default:
	}
	t.peers[id] = p
	t.mu.Unlock()
	t.heardMu.Lock()
	t.inbound[id]++
	delete(t.lost, id)
	t.heardMu.Unlock()
	done := make(chan struct{})
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		t.readMessages(r, id)
		close(done)
		conn.Close()
	}()
	go func() {
		select { // a switch to voter ends the connection
		case <-stop:
			conn.Close()
		case <-done:
		}
	}()
	err = t.pump(conn, w, p, done)
	conn.Close()
	<-done
	t.mu.Lock()
	if t.peers[id] == p {
		delete(t.peers, id)
	}
	t.mu.Unlock()
	t.leave(id)
	t.report(id, false, false)
	if err == nil {
		select {
		case <-t.stop:
			return nil
		case <-stop:
			return nil
		default:
			return fmt.Errorf("connection to node %d ended", id)
		}
	}
	return err
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

func readHello(r io.Reader) (magic [8]byte, from, incarnation uint64, cluster string, err error) {
	var hdr [18]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return magic, 0, 0, "", err
	}
	magic = [8]byte(hdr[:8])
	if magic != helloMagic && magic != learnerMagic {
		return magic, 0, 0, "", fmt.Errorf("not a Samsa controller connection")
	}
	from = binary.BigEndian.Uint64(hdr[8:])
	id := make([]byte, binary.BigEndian.Uint16(hdr[16:])+8)
	if _, err := io.ReadFull(r, id); err != nil {
		return magic, 0, 0, "", err
	}
	return magic, from, binary.BigEndian.Uint64(id[len(id)-8:]), string(id[:len(id)-8]), nil
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

// bufferedConn is a connection whose first bytes were read ahead into r.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
