package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

func newClusterIDCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "new-id",
		Short: "Print a new random cluster id (for cluster.id on every node)",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), newClusterID())
		},
	}
}

func newClusterID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return base64.RawURLEncoding.EncodeToString(u[:])
}

func newClusterStartCmd() *cobra.Command {
	var (
		nodes    int
		dataDir  string
		host     string
		basePort int
		extra    []string
	)
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Start a local cluster of combined broker+controller nodes (Ctrl-C stops it)",
		Long: `Start a cluster of several samsa serve processes on this machine, for trying
replication and failover. Node i (from 1) listens for clients on
BASE+2(i-1) and for the other controllers on BASE+2(i-1)+1, so with the
defaults: 127.0.0.1:9092, :9094 and :9096 (controllers :9093, :9095, :9097).
Each node keeps its data in DATA-DIR/nodeI; the cluster id is kept in
DATA-DIR/cluster.id, so starting again reuses the data.

The exact samsa serve command of each node is printed first: they are what
you run by hand on separate machines. Each log line is prefixed with its node.
Ctrl-C (or SIGTERM) stops every node cleanly.`,
		Example: `  samsa cluster start
  samsa cluster start --nodes 5 --data-dir /tmp/samsa5
  kafka-topics.sh --bootstrap-server localhost:9092 --create --topic t --partitions 3 --replication-factor 3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if nodes < 1 || nodes > 32 {
				return fmt.Errorf("--nodes %d: 1 to 32", nodes)
			}
			return runLocalCluster(cmd.OutOrStdout(), nodes, dataDir, host, basePort, extra)
		},
	}
	f := cmd.Flags()
	f.IntVar(&nodes, "nodes", 3, "number of nodes")
	f.StringVar(&dataDir, "data-dir", "samsa-cluster", "directory for the nodes' data")
	f.StringVar(&host, "host", "127.0.0.1", "address the nodes listen on")
	f.IntVar(&basePort, "base-port", 9092, "first node's client port")
	f.StringArrayVar(&extra, "override", nil, "set a property on every node, key=value (repeatable)")
	return cmd
}

func runLocalCluster(out io.Writer, n int, dir, host string, base int, extra []string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	idPath := filepath.Join(dir, "cluster.id")
	id, err := os.ReadFile(idPath)
	if errors.Is(err, os.ErrNotExist) {
		id = []byte(newClusterID())
		err = os.WriteFile(idPath, id, 0o644)
	}
	if err != nil {
		return err
	}
	clusterID := strings.TrimSpace(string(id))
	var voters []string
	for i := 0; i < n; i++ {
		voters = append(voters, fmt.Sprintf("%d@%s", i+1, net.JoinHostPort(host, fmt.Sprint(base+2*i+1))))
	}
	var cmds []*exec.Cmd
	var wg sync.WaitGroup
	var outMu sync.Mutex
	for i := 0; i < n; i++ {
		args := []string{"serve", "--data-dir", filepath.Join(dir, fmt.Sprintf("node%d", i+1)),
			"--override", fmt.Sprintf("node.id=%d", i+1),
			"--override", "cluster.id=" + clusterID,
			"--override", fmt.Sprintf("listeners=PLAINTEXT://%s,CONTROLLER://%s",
				net.JoinHostPort(host, fmt.Sprint(base+2*i)), net.JoinHostPort(host, fmt.Sprint(base+2*i+1))),
			"--override", "controller.quorum.voters=" + strings.Join(voters, ","),
			// Each node its own metrics port: 9644, 9645, ... (moved
			// with --base-port).
			"--override", "metrics.listener=" + net.JoinHostPort(host, fmt.Sprint(base-9092+9644+i)),
		}
		for _, e := range extra {
			args = append(args, "--override", e)
		}
		fmt.Fprintf(out, "node %d: samsa %s\n", i+1, strings.Join(args, " "))
		c := exec.Command(self, args...)
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
		pr, pw := io.Pipe()
		c.Stdout, c.Stderr = pw, pw
		if err := c.Start(); err != nil {
			for _, o := range cmds {
				o.Process.Signal(syscall.SIGTERM)
			}
			return err
		}
		cmds = append(cmds, c)
		prefix := fmt.Sprintf("[node %d] ", i+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(pr)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				outMu.Lock()
				fmt.Fprintln(out, prefix+sc.Text())
				outMu.Unlock()
			}
		}()
		go func() { c.Wait(); pw.Close() }()
	}
	fmt.Fprintf(out, "cluster %s: %d nodes; clients bootstrap from %s\n", clusterID, n, net.JoinHostPort(host, fmt.Sprint(base)))
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	<-sigs
	for _, c := range cmds {
		c.Process.Signal(syscall.SIGTERM)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		for _, c := range cmds {
			c.Process.Kill()
		}
	}
	return nil
}
