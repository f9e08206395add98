package chaos

import (
	"fmt"
	"os/exec"
	"strings"
)

// Net puts each node of a cluster in a network namespace of its own, all
// joined by a bridge in a hub namespace, where the campaign's clients run:
// every packet stays in namespaces the campaign made, and cutting a node's
// link on the bridge isolates it from the others and from the clients
// (no RST, no FIN: its connections just go silent, as in a real network
// partition). It needs root and iproute2.
type Net struct {
	Prefix string
	Nodes  int
}

// Subnet of the bridge; node i is 10.88.0.i, the hub 10.88.0.254. Each
// campaign has its own hub namespace, so runs do not collide.
const netPrefix = "10.88.0."

// Hub is the namespace with the bridge and the clients.
func (n *Net) Hub() string { return n.Prefix + "-hub" }

func (n *Net) ns(i int32) string { return fmt.Sprintf("%s-%d", n.Prefix, i) }

// Addr is node i's address for port.
func (n *Net) Addr(i int32, port int) string { return fmt.Sprintf("%s%d:%d", netPrefix, i, port) }

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// SetupNet creates the hub and one namespace per node.
func SetupNet(prefix string, nodes int) (*Net, error) {
	n := &Net{Prefix: prefix, Nodes: nodes}
	hub := n.Hub()
	steps := [][]string{
		{"netns", "add", hub},
		{"-n", hub, "link", "set", "lo", "up"},
		{"-n", hub, "link", "add", "br0", "type", "bridge"},
		{"-n", hub, "addr", "add", netPrefix + "254/24", "dev", "br0"},
		{"-n", hub, "link", "set", "br0", "up"},
	}
	for i := int32(1); i <= int32(nodes); i++ {
		ns, vb := n.ns(i), fmt.Sprintf("vb%d", i)
		steps = append(steps,
			[]string{"netns", "add", ns},
			[]string{"-n", ns, "link", "set", "lo", "up"},
			[]string{"-n", hub, "link", "add", vb, "type", "veth", "peer", "name", "eth0", "netns", ns},
			[]string{"-n", hub, "link", "set", vb, "master", "br0"},
			[]string{"-n", hub, "link", "set", vb, "up"},
			[]string{"-n", ns, "addr", "add", fmt.Sprintf("%s%d/24", netPrefix, i), "dev", "eth0"},
			[]string{"-n", ns, "link", "set", "eth0", "up"},
		)
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			n.Teardown()
			return nil, err
		}
	}
	return n, nil
}

// Isolate cuts node i off the bridge; Heal joins it again.
func (n *Net) Isolate(i int32) error {
	return ip("-n", n.Hub(), "link", "set", fmt.Sprintf("vb%d", i), "down")
}

// Heal undoes Isolate.
func (n *Net) Heal(i int32) error {
	return ip("-n", n.Hub(), "link", "set", fmt.Sprintf("vb%d", i), "up")
}

// Cut stops nodes a and b from reaching each other (a blackhole route to
// the other in each one's namespace) while both still reach every other
// node and the clients: a partial partition. Mend undoes it.
func (n *Net) Cut(a, b int32) error {
	if err := ip("-n", n.ns(a), "route", "add", "blackhole", fmt.Sprintf("%s%d/32", netPrefix, b)); err != nil {
		return err
	}
	return ip("-n", n.ns(b), "route", "add", "blackhole", fmt.Sprintf("%s%d/32", netPrefix, a))
}

// Mend undoes Cut.
func (n *Net) Mend(a, b int32) error {
	err1 := ip("-n", n.ns(a), "route", "del", "blackhole", fmt.Sprintf("%s%d/32", netPrefix, b))
	err2 := ip("-n", n.ns(b), "route", "del", "blackhole", fmt.Sprintf("%s%d/32", netPrefix, a))
	if err1 != nil {
		return err1
	}
	return err2
}

// Exec returns a command that runs name in node i's namespace.
func (n *Net) Exec(i int32, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.ns(i), name}, args...)...)
}

// Teardown deletes every namespace (and with them the links).
func (n *Net) Teardown() {
	for i := int32(1); i <= int32(n.Nodes); i++ {
		ip("netns", "del", n.ns(i))
	}
	ip("netns", "del", n.Hub())
}
