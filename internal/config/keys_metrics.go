package config

import "strings"

// metricsKeys are Samsa's own settings for its HTTP listener (Prometheus
// metrics, health checks, pprof). Kafka exposes metrics over JMX, which has
// no equivalent here; the names are Samsa's.
var metricsKeys = []Key{
	{Name: "metrics.listener", Type: TypeString, Default: DefaultMetricsListener, ReadOnly: true, Doc: "HOST:PORT of the HTTP listener serving /metrics (Prometheus text format), /healthz and /readyz; empty turns it off. The default port is Redpanda's admin port, which dashboards and scrape configs for Kafka-compatible brokers often already expect. If the default port is taken (another broker on the same machine) the broker starts without it and says so; a port set explicitly must be free."},
	{Name: "metrics.pprof.enable", Type: TypeBoolean, Default: "false", ReadOnly: true, Doc: "Serve Go's profiles at /debug/pprof/ on metrics.listener. Off by default: profiles reveal memory contents and a CPU profile costs CPU while it runs."},
	{Name: "console.enable", Type: TypeBoolean, Default: "true", ReadOnly: true, Doc: "Serve the web console (/ui/) and its JSON API (/api/v1/) on metrics.listener. The console is a Kafka client of this broker: with a SASL listener it asks for the same user names and passwords, and the broker's ACLs apply to what it shows and does (docs/console.md)."},
	{Name: "metrics.partition.level", Type: TypeString, Default: "partition", ReadOnly: true, Enum: []string{"partition", "topic"}, Doc: "Label detail of the per-partition metrics (log size, offsets, consumer group lag): partition exports one series per partition, as Kafka's JMX does; topic sums them per topic (one series per topic), for brokers with so many partitions that the series count matters to the metrics store."},
}

// DefaultMetricsListener is metrics.listener's default.
const DefaultMetricsListener = "127.0.0.1:9644"

func init() {
	// keys.go's init (which runs first: files initialise in name order)
	// has indexed Broker already; index these too.
	for i := range metricsKeys {
		brokerByName[metricsKeys[i].Name] = &metricsKeys[i]
	}
	Broker = append(Broker, metricsKeys...)
}

// MetricsListener is the metrics HTTP listener's address ("" when off) and
// whether it was set explicitly (false: the default, which may be taken).
func (c *Config) MetricsListener() (addr string, explicit bool) {
	return strings.TrimSpace(c.Get("metrics.listener")), c.IsSet("metrics.listener")
}

// MetricsPprof reports whether metrics.pprof.enable is set.
func (c *Config) MetricsPprof() bool { return c.Get("metrics.pprof.enable") == "true" }

// MetricsPerPartition reports whether partition-level metrics carry a
// partition label (metrics.partition.level=partition).
func (c *Config) MetricsPerPartition() bool { return c.Get("metrics.partition.level") != "topic" }

// ConsoleEnabled reports whether the web console is served
// (console.enable).
func (c *Config) ConsoleEnabled() bool { return c.Get("console.enable") != "false" }
