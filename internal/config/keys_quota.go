package config

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// quotaKeys are the client quota and connection limit settings, Kafka's
// names. The quotas themselves (producer_byte_rate and the others) are not
// settings: they live in the cluster metadata (kafka-configs --entity-type
// users|clients|ips). max.connections and max.connection.creation.rate may
// also be set per listener as listener.name.<listener>.<setting> (read at
// start). The broker-wide connection limits are dynamic broker configs:
// IncrementalAlterConfigs changes them without a restart.
var quotaKeys = []Key{
	{Name: "quota.window.num", Type: TypeInt, Default: "11", Min: 1, Max: maxInt32, ReadOnly: true, Doc: "Windows a client quota rate is measured over."},
	{Name: "quota.window.size.seconds", Type: TypeInt, Default: "1", Min: 1, Max: maxInt32, ReadOnly: true, Doc: "Length of one window of a client quota rate."},
	{Name: "controller.quota.window.num", Type: TypeInt, Default: "11", Min: 1, Max: maxInt32, ReadOnly: true, Doc: "Sizes the controller_mutation_rate token bucket: a client may create or delete its quota times this many windows of partitions at once."},
	{Name: "controller.quota.window.size.seconds", Type: TypeInt, Default: "1", Min: 1, Max: maxInt32, ReadOnly: true, Doc: "Length of one window of the controller_mutation_rate token bucket."},
	{Name: "client.quota.callback.class", Type: TypeClass, Default: "", ReadOnly: true, Inert: true, Doc: "Accepted for compatibility: quotas are resolved as Kafka's default callback does."},
	{Name: "max.connections.per.ip", Type: TypeInt, Default: "2147483647", Min: 0, Max: maxInt32, Doc: "Connections one IP address may have open at once; one more is closed as soon as it is accepted."},
	{Name: "max.connections.per.ip.overrides", Type: TypeString, Default: "", Doc: "Per-address exceptions to max.connections.per.ip: a comma-separated list of address:count (e.g. 10.0.0.5:200,::1:50)."},
	{Name: "max.connection.creation.rate", Type: TypeInt, Default: "2147483647", Min: 0, Max: maxInt32, Doc: "New connections accepted per second across the broker's listeners (per listener with the listener.name.<l>. prefix); over it, accepting waits (at most quota.window.size.seconds per connection)."},
}

// listenerQuotaKeys are the settings that may be set per listener.
var listenerQuotaKeys = map[string]bool{"max.connections": true, "max.connection.creation.rate": true}

// listenerQuotaKey resolves listener.name.<listener>.<setting> for the
// settings of listenerQuotaKeys, which are dynamic as in Kafka. The
// listener is named in lower case, as Kafka's listener prefixes are.
func listenerQuotaKey(name string) (*Key, bool) {
	rest, ok := strings.CutPrefix(name, listenerPrefix)
	if !ok {
		return nil, false
	}
	l, setting, ok := strings.Cut(rest, ".")
	if !ok || l == "" || l != strings.ToLower(l) || !listenerQuotaKeys[setting] {
		return nil, false
	}
	return brokerByName[setting], true
}

// ListenerQuotaSettings returns the listener.name.<l>.<setting> names set
// in the configuration (statically or dynamically) for the settings that
// may be set per listener, sorted.
func (c *Config) ListenerQuotaSettings() []string {
	var out []string
	for name := range c.Values {
		if _, ok := listenerQuotaKey(name); ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// ListenerInt returns an integer setting for one listener:
// listener.name.<listener>.<name> when set, else the setting itself.
func (c *Config) ListenerInt(listener, name string) int64 {
	v, _ := strconv.ParseInt(strings.TrimSpace(c.ListenerGet(listener, name)), 10, 64)
	return v
}

// QuotaWindow returns quota.window.num and quota.window.size.seconds.
func (c *Config) QuotaWindow() (samples int, window time.Duration) {
	return int(c.int("quota.window.num")), time.Duration(c.int("quota.window.size.seconds")) * time.Second
}

// ControllerQuotaWindow returns controller.quota.window.num and
// controller.quota.window.size.seconds.
func (c *Config) ControllerQuotaWindow() (samples int, window time.Duration) {
	return int(c.int("controller.quota.window.num")), time.Duration(c.int("controller.quota.window.size.seconds")) * time.Second
}

// MaxConnectionsPerIPOverrides parses max.connections.per.ip.overrides.
// Kafka also accepts host names (resolved once); Samsa takes addresses.
func (c *Config) MaxConnectionsPerIPOverrides() (map[netip.Addr]int, error) {
	return ParseMaxConnectionsPerIPOverrides(c.Get("max.connections.per.ip.overrides"))
}

// ParseMaxConnectionsPerIPOverrides parses a max.connections.per.ip.overrides
// value: address:count,...
func ParseMaxConnectionsPerIPOverrides(v string) (map[netip.Addr]int, error) {
	out := map[netip.Addr]int{}
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		i := strings.LastIndexByte(item, ':')
		if i <= 0 {
			return nil, fmt.Errorf("%w: max.connections.per.ip.overrides: %q is not address:count", ErrInvalid, item)
		}
		a, err := netip.ParseAddr(strings.Trim(item[:i], "[]"))
		n, err2 := strconv.ParseInt(item[i+1:], 10, 32)
		if err != nil || err2 != nil || n < 0 {
			return nil, fmt.Errorf("%w: max.connections.per.ip.overrides: %q is not address:count (an IP address, a count >= 0)", ErrInvalid, item)
		}
		out[a.Unmap()] = int(n)
	}
	return out, nil
}

func (c *Config) checkQuota() error {
	_, err := c.MaxConnectionsPerIPOverrides()
	return err
}
