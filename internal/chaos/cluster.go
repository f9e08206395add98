package chaos

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/samsa-streaming/samsa/internal/lazyfs"
)

// Node is one `samsa serve` process of a Cluster.
type Node struct {
	ID       int32
	Addr     string // Kafka listener
	CtrlAddr string // controller listener
	Dir      string

	cmd     *exec.Cmd
	exited  chan struct{}
	paused  bool
	logFile *os.File
}

// Cluster is a set of samsa processes forming one cluster.
type Cluster struct {
	Binary    string
	ClusterID string
	Nodes     []*Node
	// Extra are --override key=value settings for every node.
	Extra []string
	// Net, if set, runs each node in its own network namespace.
	Net *Net
	// Kafka, if set, runs Apache Kafka nodes instead of Samsa's.
	Kafka *Kafka
	// Lazy runs each node's data directory on a lazyfs mount (backed by
	// the directory beside it named .disk), so that PowerCut can drop what
	// the node wrote and did not fsync.
	Lazy bool

	mu    sync.Mutex // guards the nodes' process fields and disks
	disks map[int32]*lazyfs.FS
}

// NewCluster lays out n nodes under dir (data and logs) on free loopback
// ports, or in the namespaces of net if not nil; nothing is started.
func NewCluster(binary, dir string, n int, net *Net, extra ...string) (*Cluster, error) {
	var addrs []string
	if net == nil {
		var err error
		if addrs, err = freeAddrs(2 * n); err != nil {
			return nil, err
		}
	} else {
		for i := 1; i <= n; i++ {
			addrs = append(addrs, net.Addr(int32(i), 9092))
		}
		for i := 1; i <= n; i++ {
			addrs = append(addrs, net.Addr(int32(i), 9093))
		}
	}
	c := &Cluster{Binary: binary, ClusterID: "chaos-" + fmt.Sprint(time.Now().UnixNano()), Extra: extra, Net: net}
	for i := 0; i < n; i++ {
		c.Nodes = append(c.Nodes, &Node{ID: int32(i + 1), Addr: addrs[i], CtrlAddr: addrs[n+i], Dir: filepath.Join(dir, fmt.Sprintf("node%d", i+1))})
	}
	return c, nil
}

// Node returns node id (1-based).
func (c *Cluster) Node(id int32) *Node { return c.Nodes[id-1] }

// Voters is the controller.quorum.voters setting.
func (c *Cluster) Voters() string {
	var v []string
	for _, n := range c.Nodes {
		v = append(v, fmt.Sprintf("%d@%s", n.ID, n.CtrlAddr))
	}
	return strings.Join(v, ",")
}

// Args are the command-line arguments that start node n.
func (c *Cluster) Args(n *Node) []string {
	level := "info"
	if l := os.Getenv("SAMSA_CHAOS_LOG_LEVEL"); l != "" { // debug, to see why a campaign stalled
		level = l
	}
	args := []string{"serve", "--data-dir", n.Dir, "--log-level", level,
		"--override", fmt.Sprintf("node.id=%d", n.ID),
		"--override", "cluster.id=" + c.ClusterID,
		"--override", fmt.Sprintf("listeners=PLAINTEXT://%s,CONTROLLER://%s", n.Addr, n.CtrlAddr),
		"--override", "controller.quorum.voters=" + c.Voters(),
	}
	for _, e := range c.Extra {
		args = append(args, "--override", e)
	}
	return args
}

// Start starts node id and waits until its Kafka listener accepts.
func (c *Cluster) Start(id int32) error {
	if err := c.launch(id); err != nil {
		return err
	}
	return c.waitListening(id)
}

// launch starts node id's process.
func (c *Cluster) launch(id int32) error {
	n := c.Node(id)
	c.mu.Lock()
	if n.cmd != nil {
		c.mu.Unlock()
		return fmt.Errorf("node %d is running", id)
	}
	if err := os.MkdirAll(n.Dir, 0o755); err != nil {
		c.mu.Unlock()
		return err
	}
	if err := c.mountLocked(n); err != nil {
		c.mu.Unlock()
		return err
	}
	lf, err := os.OpenFile(n.Dir+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	fmt.Fprintf(lf, "=== start %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(c.Binary, c.Args(n)...)
	if c.Net != nil {
		// ip netns exec enters the namespace and execs: the process is samsa.
		cmd = c.Net.Exec(n.ID, c.Binary, c.Args(n)...)
	}
	if c.Kafka != nil {
		var err error
		if cmd, err = c.kafkaCommand(n); err != nil {
			lf.Close()
			c.mu.Unlock()
			return err
		}
	}
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		c.mu.Unlock()
		return err
	}
	n.cmd, n.logFile, n.exited, n.paused = cmd, lf, make(chan struct{}), false
	exited := n.exited
	go func() { cmd.Wait(); close(exited) }()
	c.mu.Unlock()
	return nil
}

// mountLocked mounts node n's lazyfs disk if the cluster has them and it
// is not mounted.
func (c *Cluster) mountLocked(n *Node) error {
	if !c.Lazy || c.disks[n.ID] != nil {
		return nil
	}
	if err := os.MkdirAll(n.Dir+".disk", 0o755); err != nil {
		return err
	}
	d, err := lazyfs.Mount(n.Dir+".disk", n.Dir)
	if err != nil {
		return err
	}
	if c.disks == nil {
		c.disks = map[int32]*lazyfs.FS{}
	}
	c.disks[n.ID] = d
	return nil
}

// PowerCut kills node id with SIGKILL and drops everything it wrote to
// its data directory and did not fsync, as a power cut of its machine
// would (the cluster must be Lazy); with torn set, part of the unsynced
// data had reached the disk, at random (lazyfs.CutTorn). The machine
// reboots: the kernel boot id the node recorded in its log dirs is no
// longer the current one, so it recovers as after an OS crash. Start
// brings it back.
func (c *Cluster) PowerCut(id int32, torn *rand.Rand) (lazyfs.Stats, error) {
	c.mu.Lock()
	lazy := c.Lazy
	c.mu.Unlock()
	if !lazy {
		return lazyfs.Stats{}, fmt.Errorf("power cuts need the nodes' data on lazyfs (Cluster.Lazy)")
	}
	if c.Running(id) {
		if err := c.Kill(id); err != nil {
			return lazyfs.Stats{}, err
		}
	}
	c.mu.Lock()
	d := c.disks[id]
	delete(c.disks, id)
	c.mu.Unlock()
	if d == nil {
		return lazyfs.Stats{}, nil
	}
	before := d.Stats()
	var err error
	if torn != nil {
		err = d.CutTorn(torn)
	} else {
		err = d.Cut()
	}
	st := d.Stats()
	st.Dropped -= before.Dropped
	return st, errors.Join(err, rebooted(d.Backing))
}

// rebooted makes every boot id a node recorded under dir (storage's
// .samsa_boot) differ from the kernel's, as a reboot would.
func rebooted(dir string) error {
	return filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.Name() != ".samsa_boot" {
			return err
		}
		return os.WriteFile(path, []byte("before-the-power-cut\n"), 0o644)
	})
}

// waitListening waits until node id's Kafka listener accepts.
func (c *Cluster) waitListening(id int32) error {
	n := c.Node(id)
	c.mu.Lock()
	exited := n.exited
	c.mu.Unlock()
	deadline := time.Now().Add(90 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", n.Addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("node %d exited at start (log %s.log)", id, n.Dir)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %d did not listen on %s", id, n.Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StartAll starts every node that is not running, all at once (a Kafka
// node does not open its listener before a quorum of controllers is up),
// then waits for their listeners.
func (c *Cluster) StartAll() error {
	var started []int32
	for _, n := range c.Nodes {
		if !c.Running(n.ID) {
			if err := c.launch(n.ID); err != nil {
				return err
			}
			started = append(started, n.ID)
		}
	}
	for _, id := range started {
		if err := c.waitListening(id); err != nil {
			return err
		}
	}
	return nil
}

// Running reports whether node id has a process (paused or not).
func (c *Cluster) Running(id int32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Node(id).cmd != nil
}

func (c *Cluster) signal(id int32, sig syscall.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.Node(id)
	if n.cmd == nil {
		return fmt.Errorf("node %d is not running", id)
	}
	return n.cmd.Process.Signal(sig)
}

// Kill sends SIGKILL to node id and waits for the process to end.
func (c *Cluster) Kill(id int32) error { return c.stop(id, syscall.SIGKILL, 0) }

// Terminate sends SIGTERM (a clean, controlled shutdown) and waits up to
// timeout before killing.
func (c *Cluster) Terminate(id int32, timeout time.Duration) error {
	return c.stop(id, syscall.SIGTERM, timeout)
}

func (c *Cluster) stop(id int32, sig syscall.Signal, timeout time.Duration) error {
	n := c.Node(id)
	c.mu.Lock()
	if n.paused {
		n.cmd.Process.Signal(syscall.SIGCONT)
		n.paused = false
	}
	c.mu.Unlock()
	if err := c.signal(id, sig); err != nil {
		return err
	}
	c.mu.Lock()
	exited, lf := n.exited, n.logFile
	c.mu.Unlock()
	if timeout > 0 {
		select {
		case <-exited:
		case <-time.After(timeout):
			c.signal(id, syscall.SIGKILL)
			<-exited
		}
	} else {
		<-exited
	}
	c.mu.Lock()
	n.cmd = nil
	c.mu.Unlock()
	fmt.Fprintf(lf, "=== stopped by %v %s\n", sig, time.Now().Format(time.RFC3339Nano))
	return lf.Close()
}

// Pause stops node id with SIGSTOP; Resume continues it.
func (c *Cluster) Pause(id int32) error {
	if err := c.signal(id, syscall.SIGSTOP); err != nil {
		return err
	}
	c.mu.Lock()
	c.Node(id).paused = true
	c.mu.Unlock()
	return nil
}

// Resume continues a paused node.
func (c *Cluster) Resume(id int32) error {
	if err := c.signal(id, syscall.SIGCONT); err != nil {
		return err
	}
	c.mu.Lock()
	c.Node(id).paused = false
	c.mu.Unlock()
	return nil
}

// Addrs are the Kafka addresses of every node (a client's seeds).
func (c *Cluster) Addrs() []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, n.Addr)
	}
	return out
}

// Close kills every process and unmounts the lazyfs disks, writing what
// they held to their backing directories.
func (c *Cluster) Close() {
	for _, n := range c.Nodes {
		if c.Running(n.ID) {
			c.Kill(n.ID)
		}
	}
	c.mu.Lock()
	disks := c.disks
	c.disks = nil
	c.mu.Unlock()
	for _, d := range disks {
		d.Unmount()
	}
}

func freeAddrs(n int) ([]string, error) {
	var lns []net.Listener
	var out []string
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		out = append(out, l.Addr().String())
	}
	return out, nil
}
