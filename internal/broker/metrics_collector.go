package broker

import (
	"slices"
	"strconv"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/metrics"
	"github.com/samsa-streaming/samsa/internal/partition"
)

// RegisterMetrics adds the broker's metrics to reg: the request-path
// series (metrics.go) and a collector that reads the broker's state when
// scraped, so that nothing of it is maintained on the request path.
func (b *Broker) RegisterMetrics(reg prometheus.Registerer) {
	reg.MustRegister(b.metrics.collectors()...)
	reg.MustRegister(newCollector(b))
	b.meta.OnCommit(b.metrics.onMetadata(b.cfg.NodeID))
}

// onMetadata counts the ISR shrinks and expands of partitions this node
// leads (Kafka's IsrShrinksPerSec / IsrExpandsPerSec on the leader).
func (m *brokerMetrics) onMetadata(self int32) func(prev, next *metadata.Image, recs []metadata.Record) {
	return func(prev, next *metadata.Image, recs []metadata.Record) {
		for _, r := range recs {
			pr := r.Partition
			if r.Type != metadata.TypePartition || pr == nil || pr.Leader != self || pr.ISR == nil {
				continue
			}
			t, ok := prev.TopicByID(pr.TopicID)
			if !ok || int(pr.Partition) >= len(t.Partitions) {
				continue
			}
			old := t.Partitions[pr.Partition].ISR
			switch {
			case len(pr.ISR) < len(old):
				m.isrShrinks.Add(1)
			case len(pr.ISR) > len(old):
				m.isrExpands.Add(1)
			}
		}
	}
}

// collector reads the broker's state at scrape time: partitions and
// their logs, the log directory, consumer groups, fetch sessions,
// connections, purgatories, and the cluster as the metadata image and
// the quorum show it.
type collector struct {
	b     *Broker
	descs []*prometheus.Desc
	d     collectorDescs
}

type collectorDescs struct {
	partitions, leaders, underReplicated, underMinISR, atMinISR, failedLogs      *prometheus.Desc
	corruptBatches                                                               *prometheus.Desc
	dirSize, dirFree, dirTotal                                                   *prometheus.Desc
	topicBytesIn, topicRecordsIn, topicBytesOut, topicRecordsOut                 *prometheus.Desc
	replicationBytesOut                                                          *prometheus.Desc
	flush, retentionPasses, retentionDeleted, scrubbed                           *prometheus.Desc
	cleanerPasses, cleanerRead, cleanerWritten, cleanerSeconds, cleanerErrors    *prometheus.Desc
	groups, groupMembers                                                         *prometheus.Desc
	fetchSessions, fetchEvictions, conns, connsOpened, purgatory                 *prometheus.Desc
	isrShrinks, isrExpands, activeController, offline, globalTopics, globalParts *prometheus.Desc
	brokers, raftTerm, raftCommit, raftApplied, raftLeader, raftVoters, raftRole *prometheus.Desc
}

func newCollector(b *Broker) *collector {
	c := &collector{b: b}
	nd := func(name, help string, labels ...string) *prometheus.Desc {
		d := prometheus.NewDesc(metrics.Namespace+"_"+name, help, labels, nil)
		c.descs = append(c.descs, d)
		return d
	}
	c.d = collectorDescs{
		partitions:      nd("partitions", "Partition replicas hosted on this broker (Kafka's PartitionCount)."),
		leaders:         nd("leader_partitions", "Partitions this broker leads (Kafka's LeaderCount)."),
		underReplicated: nd("under_replicated_partitions", "Partitions this broker leads whose ISR is smaller than their replica set (Kafka's UnderReplicatedPartitions)."),
		underMinISR:     nd("under_min_isr_partitions", "Partitions this broker leads whose ISR is below min.insync.replicas: acks=all produce fails (Kafka's UnderMinIsrPartitionCount)."),
		atMinISR:        nd("at_min_isr_partitions", "Partitions this broker leads whose ISR is exactly min.insync.replicas (Kafka's AtMinIsrPartitionCount)."),
		failedLogs:      nd("failed_logs", "Logs that failed a write or fsync and refuse appends until restart (Kafka's OfflineLogDirectoryCount, per log)."),
		corruptBatches:  nd("log_corrupt_batches", "Damaged record batches (bad length, offsets or CRC) found by the first read of segment bytes that were on disk at start, in the logs hosted here; never served."),

		dirSize:  nd("log_dir_size_bytes", "Bytes of every log in the log directory.", "dir"),
		dirFree:  nd("log_dir_free_bytes", "Bytes free to unprivileged users on the log directory's filesystem.", "dir"),
		dirTotal: nd("log_dir_total_bytes", "Size of the log directory's filesystem.", "dir"),

		topicBytesIn:        nd("topic_bytes_in_total", "Record batch bytes appended by producers, per topic (Kafka's BytesInPerSec).", "topic"),
		topicRecordsIn:      nd("topic_records_in_total", "Records appended by producers, per topic (Kafka's MessagesInPerSec).", "topic"),
		topicBytesOut:       nd("topic_bytes_out_total", "Record bytes sent to consumers, per topic (Kafka's BytesOutPerSec; replication excluded).", "topic"),
		topicRecordsOut:     nd("topic_records_out_total", "Offsets delivered to consumers, per topic: records, plus transaction markers and compaction gaps among them; counted from offsets, not by parsing (docs/metrics.md).", "topic"),
		replicationBytesOut: nd("replication_bytes_out_total", "Record bytes sent to follower replicas (Kafka's ReplicationBytesOutPerSec)."),

		flush:            nd("log_flush_seconds", "Latency of log flushes: the fsyncs of one partition's new data and indexes (Kafka's LogFlushRateAndTimeMs)."),
		retentionPasses:  nd("retention_passes_total", "Retention checks over every partition (log.retention.check.interval.ms)."),
		scrubbed:         nd("log_scrubbed_bytes_total", "Segment bytes on disk at start that the background scrub checked (log.scrub.bytes.per.second) before any read did."),
		retentionDeleted: nd("retention_deleted_segments_total", "Segments deleted by retention.ms, retention.bytes or DeleteRecords."),
		cleanerPasses:    nd("cleaner_passes_total", "Log cleaner (compaction) passes completed."),
		cleanerRead:      nd("cleaner_read_bytes_total", "Bytes the log cleaner read."),
		cleanerWritten:   nd("cleaner_written_bytes_total", "Bytes the log cleaner wrote."),
		cleanerSeconds:   nd("cleaner_seconds_total", "Time spent in log cleaner passes (Kafka's cleaner-recopy-percent and max-clean-time-secs in one)."),
		cleanerErrors:    nd("cleaner_errors_total", "Log cleaner passes that failed (Kafka marks such logs uncleanable)."),

		groups:       nd("consumer_groups", "Consumer groups this broker coordinates, by state.", "state"),
		groupMembers: nd("consumer_group_members", "Members of a consumer group this broker coordinates.", "group"),

		fetchSessions:  nd("fetch_sessions", "Incremental fetch sessions cached (Kafka's NumIncrementalFetchSessions)."),
		fetchEvictions: nd("fetch_session_evictions_total", "Fetch sessions evicted to make room for a new one (Kafka's IncrementalFetchSessionEvictionsPerSec)."),
		conns:          nd("connections", "Open client connections, by listener (Kafka's connection-count).", "listener"),
		connsOpened:    nd("connections_opened_total", "Connections accepted, by listener (Kafka's connection-creation-rate).", "listener"),
		purgatory:      nd("purgatory_size", "Requests waiting: produce = acks=all appends waiting for the in-sync replicas (or fsync), fetch = fetches waiting for min.bytes (Kafka's PurgatorySize).", "operation"),

		isrShrinks:       nd("isr_shrinks_total", "ISR shrinks of partitions this broker leads (Kafka's IsrShrinksPerSec)."),
		isrExpands:       nd("isr_expands_total", "ISR expansions of partitions this broker leads (Kafka's IsrExpandsPerSec)."),
		activeController: nd("active_controller", "1 on the node that is the active controller (the metadata quorum's leader), else 0 (Kafka's ActiveControllerCount)."),
		offline:          nd("offline_partitions", "Partitions without a leader, reported by the active controller only (Kafka's OfflinePartitionsCount)."),
		globalTopics:     nd("global_topics", "Topics in the cluster, reported by the active controller only (Kafka's GlobalTopicCount)."),
		globalParts:      nd("global_partitions", "Partitions in the cluster, reported by the active controller only (Kafka's GlobalPartitionCount)."),
		brokers:          nd("brokers", "Registered brokers by state (active, fenced), reported by the active controller only (Kafka's ActiveBrokerCount / FencedBrokerCount).", "state"),
		raftTerm:         nd("raft_term", "The metadata quorum's current term as this node sees it (Kafka's current-epoch)."),
		raftCommit:       nd("raft_commit_index", "The metadata log's commit index as this node knows it (Kafka's high-watermark of the metadata log)."),
		raftApplied:      nd("raft_applied_index", "The last metadata log index applied to this node's image (Kafka's last-applied-record-offset)."),
		raftLeader:       nd("raft_leader", "Node id of the metadata quorum's leader, -1 if none known (Kafka's current-leader)."),
		raftVoters:       nd("raft_voters", "Voters of the metadata quorum."),
		raftRole:         nd("raft_role", "1 for this node's role in the metadata quorum: leader, follower (a voter) or observer (Kafka's current-state).", "role"),
	}
	return c
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(d *prometheus.Desc, v uint64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	b := c.b
	im := b.meta.Image()
	if b.parts != nil {
		c.collectPartitions(ch, im)
		c.collectGroups(ch)
	}
	c.collectTraffic(ch, im)
	c.collectConnections(ch)
	c.collectCluster(ch, im)
}

// partLabel returns the partition label of index i; numbers below
// len(partNames) are formatted once.
func partLabel(i int32) string {
	if i >= 0 && int(i) < len(partNames) {
		return partNames[i]
	}
	return strconv.Itoa(int(i))
}

var partNames = func() []string {
	s := make([]string, 4096)
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

// collectPartitions walks every hosted partition once.
func (c *collector) collectPartitions(ch chan<- prometheus.Metric, im *metadata.Image) {
	b, d := c.b, &c.d
	parts := b.parts.All()
	self := b.cfg.NodeID
	var leaders, under, underMin, atMin, failed, pendingAcks int
	var dirBytes, corrupt int64
	var lastTopic string
	var lastMeta *metadata.Topic
	for _, p := range parts {
		l := p.Log()
		size := l.Size()
		dirBytes += size
		if l.Failed() != nil {
			failed++
		}
		corrupt += l.CorruptBatches()
		if p.Topic != lastTopic || lastMeta == nil {
			lastTopic = p.Topic
			lastMeta, _ = im.Topic(p.Topic)
		}
		if lastMeta == nil || int(p.Index) >= len(lastMeta.Partitions) {
			continue
		}
		pm := &lastMeta.Partitions[p.Index]
		if pm.Leader != self {
			continue
		}
		leaders++
		pendingAcks += p.PendingAcks()
		isr := len(pm.ISR)
		if isr < len(pm.Replicas) {
			under++
		}
		if minISR := p.Config().MinInsyncReplicas; isr < minISR {
			underMin++
		} else if isr == minISR {
			atMin++
		}
	}
	ch <- gauge(d.partitions, float64(len(parts)))
	ch <- gauge(d.leaders, float64(leaders))
	ch <- gauge(d.underReplicated, float64(under))
	ch <- gauge(d.underMinISR, float64(underMin))
	ch <- gauge(d.atMinISR, float64(atMin))
	ch <- gauge(d.failedLogs, float64(failed))
	ch <- gauge(d.corruptBatches, float64(corrupt))
	ch <- gauge(d.purgatory, float64(pendingAcks), "produce")

	dir := b.parts.DataDir()
	ch <- gauge(d.dirSize, float64(dirBytes), dir)
	var fs syscall.Statfs_t
	if syscall.Statfs(dir, &fs) == nil {
		ch <- gauge(d.dirFree, float64(fs.Bavail)*float64(fs.Bsize), dir)
		ch <- gauge(d.dirTotal, float64(fs.Blocks)*float64(fs.Bsize), dir)
	}

	st := b.parts.Stats()
	counts, n, sum := st.Flush.Snapshot()
	buckets := make(map[float64]uint64, len(partition.LatencyBounds))
	var cum uint64
	for i, bound := range partition.LatencyBounds {
		cum += counts[i]
		buckets[bound.Seconds()] = cum
	}
	ch <- prometheus.MustNewConstHistogram(d.flush, n, sum.Seconds(), buckets)
	ch <- counter(d.retentionPasses, st.RetentionPasses.Load())
	ch <- counter(d.scrubbed, st.ScrubbedBytes.Load())
	ch <- counter(d.retentionDeleted, st.RetentionSegmentsDeleted.Load())
	ch <- counter(d.cleanerPasses, st.CleanerPasses.Load())
	ch <- counter(d.cleanerRead, st.CleanerBytesRead.Load())
	ch <- counter(d.cleanerWritten, st.CleanerBytesWritten.Load())
	ch <- prometheus.MustNewConstMetric(d.cleanerSeconds, prometheus.CounterValue, float64(st.CleanerNanos.Load())/1e9)
	ch <- counter(d.cleanerErrors, st.CleanerErrors.Load())
}

// collectGroups reports the groups this node coordinates (their lag is
// appended with the partition families: metrics_partitions.go).
func (c *collector) collectGroups(ch chan<- prometheus.Metric) {
	b, d := c.b, &c.d
	if b.groups == nil {
		return
	}
	st := b.groups.Stats(nil, false)
	for state, n := range st.States {
		ch <- gauge(d.groups, float64(n), state)
	}
	for g, n := range st.Members {
		ch <- gauge(d.groupMembers, float64(n), g)
	}
}

// collectTraffic exports the per-topic counters, dropping those of
// deleted topics.
func (c *collector) collectTraffic(ch chan<- prometheus.Metric, im *metadata.Image) {
	m, d := c.b.metrics, &c.d
	m.topics.Range(func(k, v any) bool {
		name := k.(string)
		if _, ok := im.Topic(name); !ok {
			m.topics.Delete(name)
			return true
		}
		t := v.(*topicStats)
		ch <- counter(d.topicBytesIn, t.bytesIn.Load(), name)
		ch <- counter(d.topicRecordsIn, t.recordsIn.Load(), name)
		ch <- counter(d.topicBytesOut, t.bytesOut.Load(), name)
		ch <- counter(d.topicRecordsOut, t.recordsOut.Load(), name)
		return true
	})
	ch <- counter(d.replicationBytesOut, m.replicationBytesOut.Load())
	ch <- gauge(d.purgatory, float64(m.fetchWaiting.Load()), "fetch")
	ch <- counter(d.isrShrinks, m.isrShrinks.Load())
	ch <- counter(d.isrExpands, m.isrExpands.Load())
}

func (c *collector) collectConnections(ch chan<- prometheus.Metric) {
	b, d := c.b, &c.d
	open := map[string]int{}
	for _, l := range b.lns {
		open[l.cfg.Name] = 0
	}
	b.mu.Lock()
	for cn := range b.live {
		open[cn.listener.Name]++
	}
	b.mu.Unlock()
	for name, n := range open {
		ch <- gauge(d.conns, float64(n), name)
	}
	b.metrics.connsOpened.Range(func(k, v any) bool {
		ch <- counter(d.connsOpened, v.(interface{ Load() uint64 }).Load(), k.(string))
		return true
	})
	sc := b.fetchSessions
	sc.mu.Lock()
	n := len(sc.sessions)
	sc.mu.Unlock()
	ch <- gauge(d.fetchSessions, float64(n))
	ch <- counter(d.fetchEvictions, sc.evictions.Load())
}

// collectCluster reports the metadata quorum as this node sees it, and,
// on the active controller only (as Kafka's controller metrics), the
// cluster-wide counts, so that summing over the cluster's nodes gives the
// cluster's figure.
func (c *collector) collectCluster(ch chan<- prometheus.Metric, im *metadata.Image) {
	b, d := c.b, &c.d
	self := b.cfg.NodeID
	leader := b.meta.Leader()
	voters := b.meta.Voters()
	active := leader == self
	ch <- gauge(d.activeController, b2f(active))
	ch <- gauge(d.raftLeader, float64(leader))
	ch <- gauge(d.raftVoters, float64(len(voters)))
	ch <- gauge(d.raftApplied, float64(im.Index))
	term, commit := b.meta.RaftProgress()
	ch <- gauge(d.raftTerm, float64(term))
	ch <- gauge(d.raftCommit, float64(commit))
	role := "observer"
	if active {
		role = "leader"
	} else if slices.Contains(voters, self) {
		role = "follower"
	}
	for _, r := range []string{"leader", "follower", "observer"} {
		ch <- gauge(d.raftRole, b2f(r == role), r)
	}
	var offline, nparts, topics, fenced, live int
	if active {
		for _, name := range im.TopicNames() {
			t, _ := im.Topic(name)
			topics++
			for i := range t.Partitions {
				nparts++
				if t.Partitions[i].Leader < 0 {
					offline++
				}
			}
		}
		for _, br := range im.Brokers() {
			if br.Fenced {
				fenced++
			} else {
				live++
			}
		}
	}
	ch <- gauge(d.offline, float64(offline))
	ch <- gauge(d.globalTopics, float64(topics))
	ch <- gauge(d.globalParts, float64(nparts))
	ch <- gauge(d.brokers, float64(live), "active")
	ch <- gauge(d.brokers, float64(fenced), "fenced")
}

func b2f(v bool) float64 {
	if v {
		return 1
	}
	return 0
}
