package broker

import (
	"cmp"
	"slices"

	"github.com/samsa-streaming/samsa/internal/coordinator/group"
	"github.com/samsa-streaming/samsa/internal/metrics"
)

// The families with one series per partition (and per group and
// partition) are written straight in the text format
// (metrics.Appender): at 10,000 partitions they are 60,000 series, which
// client_golang's per-series metrics take most of a second to build and
// encode. At metrics.partition.level=topic they are summed per topic.
const (
	famLogSize   = metrics.Namespace + "_log_size_bytes"
	famLogStart  = metrics.Namespace + "_log_start_offset"
	famLogEnd    = metrics.Namespace + "_log_end_offset"
	famHW        = metrics.Namespace + "_partition_high_watermark"
	famLag       = metrics.Namespace + "_consumer_group_lag"
	famCommitted = metrics.Namespace + "_consumer_group_committed_offset"
)

// partitionFamilies describes the appended families, for docs and tests:
// name, type, help.
var partitionFamilies = [][3]string{
	{famLogSize, "gauge", "Bytes of a partition's log segments on disk (summed per topic at metrics.partition.level=topic)."},
	{famLogStart, "gauge", "A partition's log start offset: the first offset readable (partition level only)."},
	{famLogEnd, "gauge", "A partition's log end offset: the offset the next record will get (partition level only)."},
	{famHW, "gauge", "A partition's high watermark: records below it are committed and visible to consumers (partition level only)."},
	{famLag, "gauge", "A consumer group's lag: the high watermark minus the committed offset, for groups this broker coordinates; partitions led elsewhere use their leader's high watermark, at most 5 s plus a round trip old (summed per group and topic at topic level)."},
	{famCommitted, "gauge", "A consumer group's committed offset (partition level only)."},
}

// PartitionFamilies lists the families AppendPartitionMetrics writes.
func PartitionFamilies() []string {
	out := make([]string, len(partitionFamilies))
	for i, f := range partitionFamilies {
		out[i] = f[0]
	}
	return out
}

// partSample is one partition's figures, read once per scrape.
type partSample struct {
	topic            string
	index            int32
	size, start, end int64
	hw               int64
	leader           bool // this node leads it: hw is exact
}

// scrapeScratch holds the buffers one scrape reuses from the last (the
// HTTP handler serves at most two scrapes at once, so it is guarded).
type scrapeScratch struct {
	parts   []partSample
	offsets []group.Committed
}

var (
	namesPart  = []string{"topic", "partition"}
	namesTopic = []string{"topic"}
	namesLagP  = []string{"group", "topic", "partition"}
	namesLagT  = []string{"group", "topic"}
)

// AppendPartitionMetrics is the broker's metrics.Appender.
func (b *Broker) AppendPartitionMetrics(buf []byte) []byte {
	if b.parts == nil {
		return buf
	}
	m := b.metrics
	m.scratchMu.Lock()
	defer m.scratchMu.Unlock()
	s := &m.scratch
	perPart := b.cfg.MetricsPerPartition()

	s.parts = s.parts[:0]
	for _, p := range b.parts.All() {
		l := p.Log()
		s.parts = append(s.parts, partSample{topic: p.Topic, index: p.Index, size: l.Size(),
			start: l.LogStartOffset(), end: l.LogEndOffset(), hw: p.HighWatermark(), leader: p.IsLeader()})
	}
	slices.SortFunc(s.parts, func(a, b partSample) int {
		return cmp.Or(cmp.Compare(a.topic, b.topic), cmp.Compare(a.index, b.index))
	})
	vals := make([]string, 3)
	if perPart {
		for f, get := range []func(*partSample) int64{
			func(p *partSample) int64 { return p.size },
			func(p *partSample) int64 { return p.start },
			func(p *partSample) int64 { return p.end },
			func(p *partSample) int64 { return p.hw },
		} {
			fam := partitionFamilies[f]
			buf = metrics.AppendHeader(buf, fam[0], fam[1], fam[2])
			for i := range s.parts {
				p := &s.parts[i]
				vals[0], vals[1] = p.topic, partLabel(p.index)
				buf = metrics.AppendSample(buf, fam[0], namesPart, vals[:2], get(p))
			}
		}
	} else {
		fam := partitionFamilies[0]
		buf = metrics.AppendHeader(buf, fam[0], fam[1], fam[2])
		for i := 0; i < len(s.parts); {
			t, sum := s.parts[i].topic, int64(0)
			for ; i < len(s.parts) && s.parts[i].topic == t; i++ {
				sum += s.parts[i].size
			}
			vals[0] = t
			buf = metrics.AppendSample(buf, fam[0], namesTopic, vals[:1], sum)
		}
	}
	if b.groups == nil {
		return buf
	}
	st := b.groups.Stats(s.offsets, true)
	s.offsets = st.Offsets
	slices.SortFunc(s.offsets, func(a, b group.Committed) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	// The high watermarks of partitions led here come from this scrape's
	// walk (sorted by topic and partition: a binary search instead of the
	// manager's lock). Of a partition led elsewhere the coordinator keeps
	// its leader's (group/lag.go); a follower replica's own is another
	// lower bound of the same growing number, and the larger is nearer.
	hwOf := func(topic string, part int32) (int64, bool) {
		i, hosted := slices.BinarySearchFunc(s.parts, partSample{topic: topic, index: part}, func(a, b partSample) int {
			return cmp.Or(cmp.Compare(a.topic, b.topic), cmp.Compare(a.index, b.index))
		})
		if hosted && s.parts[i].leader {
			return s.parts[i].hw, true
		}
		hw, remote := b.groups.RemoteEnd(topic, part)
		if hosted {
			hw = max(hw, s.parts[i].hw)
		}
		return hw, hosted || remote
	}
	fam := partitionFamilies[4]
	buf = metrics.AppendHeader(buf, fam[0], fam[1], fam[2])
	if perPart {
		for _, o := range s.offsets {
			if hw, ok := hwOf(o.Topic, o.Partition); ok {
				vals[0], vals[1], vals[2] = o.Group, o.Topic, partLabel(o.Partition)
				buf = metrics.AppendSample(buf, fam[0], namesLagP, vals, max(hw-o.Offset, 0))
			}
		}
		fam = partitionFamilies[5]
		buf = metrics.AppendHeader(buf, fam[0], fam[1], fam[2])
		for _, o := range s.offsets {
			vals[0], vals[1], vals[2] = o.Group, o.Topic, partLabel(o.Partition)
			buf = metrics.AppendSample(buf, fam[0], namesLagP, vals, o.Offset)
		}
		return buf
	}
	for i := 0; i < len(s.offsets); {
		g, t := s.offsets[i].Group, s.offsets[i].Topic
		var sum int64
		hosted := false
		for ; i < len(s.offsets) && s.offsets[i].Group == g && s.offsets[i].Topic == t; i++ {
			if hw, ok := hwOf(t, s.offsets[i].Partition); ok {
				sum += max(hw-s.offsets[i].Offset, 0)
				hosted = true
			}
		}
		if hosted {
			vals[0], vals[1] = g, t
			buf = metrics.AppendSample(buf, fam[0], namesLagT, vals[:2], sum)
		}
	}
	return buf
}
