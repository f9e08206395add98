package broker

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/partition"
)

// brokers returns the cluster's brokers at their inter-broker endpoints,
// for requests this broker sends to others.
func (b *Broker) brokers(im *metadata.Image) []metadata.Broker {
	return b.brokerList(im, false, b.cfg.InterBrokerListener)
}

// brokersFor returns the cluster's brokers as a client of listener sees
// them (Kafka answers each client with the endpoints of the listener it
// came in on): every registered broker that is not fenced and has that
// listener, as Kafka's Metadata lists them, and this one even before its
// registration is committed (a client that found it must find it in
// Metadata too).
func (b *Broker) brokersFor(im *metadata.Image, listener string) []metadata.Broker {
	return b.brokerList(im, false, listener)
}

// brokerList is brokersFor, with the fenced ones too if fenced is set
// (DescribeCluster's IncludeFencedBrokers). Host and Port of each are its
// endpoint for listener.
func (b *Broker) brokerList(im *metadata.Image, fenced bool, listener string) []metadata.Broker {
	var out []metadata.Broker
	self := false
	mine := b.cfg.Advertised[listener]
	if mine.Host == "" {
		mine = config.Endpoint{Host: b.cfg.AdvertisedHost, Port: b.cfg.AdvertisedPort}
	}
	for _, br := range im.Brokers() {
		if br.Fenced && !fenced && br.ID != b.cfg.NodeID {
			continue
		}
		if br.ID == b.cfg.NodeID {
			self = true
			// This process's own address wins over a registration of an
			// earlier start that may have advertised another port.
			out = append(out, metadata.Broker{ID: br.ID, Host: mine.Host, Port: mine.Port, Rack: b.cfg.Rack})
			continue
		}
		host, port, ok := br.Endpoint(listener)
		if !ok {
			continue // no such listener there: Kafka leaves it out too
		}
		e := *br
		e.Host, e.Port = host, port
		out = append(out, e)
	}
	if !self {
		out = append(out, metadata.Broker{ID: b.cfg.NodeID, Host: mine.Host, Port: mine.Port, Rack: b.cfg.Rack})
	}
	return out
}

// controllerID is what Metadata and DescribeCluster report as the
// controller: the quorum's leader, or this broker while none is known.
// Any broker takes admin requests (they are proposed to the quorum), so
// the id only has to name a live broker.
// voterIDs are the metadata quorum's voters (the controllers).
func (b *Broker) voterIDs() []int32 { return b.meta.Voters() }

func (b *Broker) controllerID() int32 {
	if l := b.meta.Leader(); l >= 0 {
		if _, ok := b.meta.Image().Broker(l); ok {
			return l
		}
	}
	return b.cfg.NodeID
}

// leaderFor returns the partition when this broker leads it. Otherwise
// the error code says why: NOT_LEADER_OR_FOLLOWER when another broker
// leads it (the client refreshes its metadata and moves there),
// UNKNOWN_TOPIC_OR_PARTITION when it does not exist, or when this broker
// should lead it but could not open its log.
func (b *Broker) leaderFor(im *metadata.Image, topic string, p int32) (*partition.Partition, int16) {
	t, ok := im.Topic(topic)
	if !ok || p < 0 || int(p) >= len(t.Partitions) {
		return nil, kerr.UnknownTopicOrPartition.Code
	}
	if t.Partitions[p].Leader != b.cfg.NodeID || !b.meta.CaughtUp() {
		// Not caught up since it started: the image this broker stopped
		// with may name it the leader of a partition another broker has
		// led since; writes taken here would be lost when it learns that.
		return nil, kerr.NotLeaderForPartition.Code
	}
	part, ok := b.parts.Get(topic, p)
	if !ok {
		return nil, kerr.UnknownTopicOrPartition.Code
	}
	return part, 0
}

// currentLeader is the KIP-951 hint sent with NOT_LEADER_OR_FOLLOWER, so a
// client moves to the new leader without a metadata round trip; none
// before this broker has caught up with the cluster's metadata.
func (b *Broker) currentLeader(im *metadata.Image, topic string, p int32) (leader, epoch int32, ok bool) {
	if !b.meta.CaughtUp() {
		return -1, -1, false
	}
	t, found := im.Topic(topic)
	if !found || p < 0 || int(p) >= len(t.Partitions) {
		return -1, -1, false
	}
	pm := t.Partitions[p]
	return pm.Leader, pm.LeaderEpoch, true
}

// produceEndpoints lists the brokers named in leader hints (Produce v10+).
func (b *Broker) produceEndpoints(im *metadata.Image, ids map[int32]bool, listener string) []kmsg.ProduceResponseBroker {
	var out []kmsg.ProduceResponseBroker
	for _, br := range b.brokersFor(im, listener) {
		if ids[br.ID] {
			e := kmsg.NewProduceResponseBroker()
			e.NodeID, e.Host, e.Port = br.ID, br.Host, br.Port
			if br.Rack != "" {
				rack := br.Rack
				e.Rack = &rack
			}
			out = append(out, e)
		}
	}
	return out
}

// fetchEndpoints lists the brokers named in leader hints (Fetch v16+):
// the same entries as Produce's, which kmsg declares as a type of its own.
func (b *Broker) fetchEndpoints(im *metadata.Image, ids map[int32]bool, listener string) []kmsg.FetchResponseBroker {
	var out []kmsg.FetchResponseBroker
	for _, e := range b.produceEndpoints(im, ids, listener) {
		out = append(out, kmsg.FetchResponseBroker(e))
	}
	return out
}
