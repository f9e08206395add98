package chaos

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Kafka makes a Cluster of Apache Kafka nodes (KRaft, every node broker
// and controller, as Samsa's) instead of Samsa's, so a campaign measures
// both the same way: same clients, same faults, same checker. Lib is a
// directory of Kafka's jars (what bench/run.sh fetches from Maven
// Central); Kafka keeps its own defaults (broker.session.timeout.ms 9 s).
type Kafka struct {
	Lib  string
	Java string // default "java"
}

func kafkaClusterID() string {
	var u [16]byte
	rand.Read(u[:])
	return base64.RawURLEncoding.EncodeToString(u[:])
}

// properties writes node n's server.properties and returns its path.
func (c *Cluster) kafkaProperties(n *Node) (string, error) {
	host, port, _ := strings.Cut(n.Addr, ":")
	_, cport, _ := strings.Cut(n.CtrlAddr, ":")
	var b strings.Builder
	fmt.Fprintf(&b, "process.roles=broker,controller\nnode.id=%d\ncontroller.quorum.voters=%s\n", n.ID, c.Voters())
	fmt.Fprintf(&b, "listeners=PLAINTEXT://%s:%s,CONTROLLER://%s:%s\nadvertised.listeners=PLAINTEXT://%s:%s\n", host, port, host, cport, host, port)
	b.WriteString("controller.listener.names=CONTROLLER\nlistener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\ninter.broker.listener.name=PLAINTEXT\n")
	fmt.Fprintf(&b, "log.dirs=%s\n", n.Dir)
	for _, e := range c.Extra {
		b.WriteString(e + "\n")
	}
	path := n.Dir + ".properties"
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}

// kafkaCommand formats node n's storage on first start and returns the
// command that runs it.
func (c *Cluster) kafkaCommand(n *Node) (*exec.Cmd, error) {
	props, err := c.kafkaProperties(n)
	if err != nil {
		return nil, err
	}
	java := c.Kafka.Java
	if java == "" {
		java = "java"
	}
	cp := filepath.Join(c.Kafka.Lib, "*")
	if _, err := os.Stat(filepath.Join(n.Dir, "meta.properties")); err != nil {
		out, err := exec.Command(java, "-Xmx256M", "-cp", cp, "kafka.tools.StorageTool", "format", "-t", c.ClusterID, "-c", props).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("formatting node %d: %v: %s", n.ID, err, out)
		}
	}
	return exec.Command(java, "-Xmx768M", "-Xms768M", "-XX:+UseG1GC", "-cp", cp, "kafka.Kafka", props), nil
}
