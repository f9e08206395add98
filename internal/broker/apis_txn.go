package broker

import (
	"context"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/coordinator/txn"
	"github.com/samsa-streaming/samsa/internal/interbroker"
)

// txnAPIs returns the transaction APIs, served by the transaction
// coordinator (internal/coordinator/txn) and, for markers, by partition
// leaders.
func txnAPIs() map[int16]api {
	return map[int16]api{
		kmsg.AddPartitionsToTxn.Int16():   {0, 5, handleAddPartitionsToTxn},
		kmsg.AddOffsetsToTxn.Int16():      {0, 4, handleAddOffsetsToTxn},
		kmsg.EndTxn.Int16():               {0, 5, handleEndTxn},
		kmsg.WriteTxnMarkers.Int16():      {0, 1, handleWriteTxnMarkers},
		kmsg.TxnOffsetCommit.Int16():      {0, 5, handleTxnOffsetCommit},
		kmsg.DescribeTransactions.Int16(): {0, 0, now(handleDescribeTransactions)},
		kmsg.ListTransactions.Int16():     {0, 2, now(handleListTransactions)},
	}
}

// transactionVersion is the finalized level of the transaction.version
// feature advertised in ApiVersions: 2 is KIP-890 part 2 (partitions added
// by Produce v12, an epoch bump at every EndTxn), which Kafka 4 clients
// use when the broker finalizes it.
const transactionVersion = 2

// newTxnCoordinator builds the transaction coordinator runtime.
func newTxnCoordinator(cfg *config.Config, b *Broker) *txn.Runtime {
	tc := txn.Config{
		Partitions: cfg.TxnTopicPartitions, ReplicationFactor: cfg.TxnTopicReplication, MinISR: cfg.TxnTopicMinISR,
		ClusterSize: len(cfg.QuorumVoters), MaxTimeout: cfg.TxnMaxTimeout, IDExpiration: cfg.TxnIDExpiration,
		AbortInterval: cfg.TxnAbortInterval, ExpireInterval: cfg.TxnExpireInterval,
	}
	return txn.NewRuntime(tc, b.meta, b.parts, cfg.NodeID, b.pids.allocate, b.sendMarkers, b.logger)
}

// peers are franz-go clients to other brokers, one per node, for the
// requests a broker sends on its own behalf (transaction markers,
// transaction verification). franz-go negotiates versions and reconnects.
type peers struct {
	mu  sync.Mutex
	cls map[int32]peerClient
	// brokers and controllers reach other nodes' inter-broker and
	// controller listeners with their TLS and SASL (interbroker.go); nil:
	// plain TCP. Set before serving.
	brokers, controllers *interbroker.Dialer
}

type peerClient struct {
	addr string
	cl   *kgo.Client
}

// peerTimeout bounds one inter-broker request.
const peerTimeout = 10 * time.Second

// request sends req to node's Kafka listener.
func (b *Broker) peerRequest(node int32, req kmsg.Request) (kmsg.Response, error) {
	var addr string
	for _, br := range b.brokers(b.meta.Image()) {
		if br.ID == node {
			addr = net.JoinHostPort(br.Host, strconv.Itoa(int(br.Port)))
		}
	}
	if addr == "" {
		return nil, kerr.BrokerNotAvailable
	}
	b.peers.mu.Lock()
	pc, ok := b.peers.cls[node]
	if !ok || pc.addr != addr {
		if ok {
			pc.cl.Close()
		}
		opts := []kgo.Opt{kgo.SeedBrokers(addr), kgo.ClientID("samsa-broker-" + strconv.Itoa(int(b.cfg.NodeID))),
			kgo.RequestRetries(0), kgo.RetryTimeout(peerTimeout)}
		if b.peers.brokers != nil {
			opts = append(opts, b.peers.brokers.KgoOpts()...)
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			b.peers.mu.Unlock()
			return nil, err
		}
		pc = peerClient{addr: addr, cl: cl}
		if b.peers.cls == nil {
			b.peers.cls = map[int32]peerClient{}
		}
		b.peers.cls[node] = pc
	}
	b.peers.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	seeds := pc.cl.SeedBrokers()
	if len(seeds) == 0 {
		return nil, kerr.BrokerNotAvailable
	}
	return seeds[0].Request(ctx, req)
}

func (p *peers) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pc := range p.cls {
		pc.cl.Close()
	}
	p.cls = nil
}

// sendMarkers writes markers on node: here directly, elsewhere through
// its WriteTxnMarkers.
func (b *Broker) sendMarkers(node int32, req *kmsg.WriteTxnMarkersRequest) (*kmsg.WriteTxnMarkersResponse, error) {
	if node == b.cfg.NodeID {
		return b.writeMarkers(req), nil
	}
	resp, err := b.peerRequest(node, req)
	if err != nil {
		return nil, err
	}
	return resp.(*kmsg.WriteTxnMarkersResponse), nil
}

// addToTxn adds (add) or verifies (!add) partitions of a transactional
// producer with its coordinator, for Produce (KIP-890): here directly when
// this node coordinates, else with AddPartitionsToTxn v5 to the
// coordinator. It returns a code per partition (missing: verified).
func (b *Broker) addToTxn(id string, pid int64, epoch int16, parts []txn.TopicPartition, add bool) (map[txn.TopicPartition]int16, int16) {
	leader := b.txns.Leader(id)
	if leader < 0 {
		return nil, kerr.CoordinatorNotAvailable.Code
	}
	if leader == b.cfg.NodeID {
		if !add {
			return b.txns.VerifyPartitions(id, pid, epoch, parts)
		}
		done := make(chan int16, 1)
		b.txns.AddPartitions(id, pid, epoch, parts, 5, func(code int16) { done <- code })
		return nil, <-done
	}
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.Version = 5
	t := kmsg.NewAddPartitionsToTxnRequestTransaction()
	t.TransactionalID, t.ProducerID, t.ProducerEpoch, t.VerifyOnly = id, pid, epoch, !add
	byTopic := map[string]int{}
	for _, tp := range parts {
		i, ok := byTopic[tp.Topic]
		if !ok {
			i = len(t.Topics)
			byTopic[tp.Topic] = i
			t.Topics = append(t.Topics, kmsg.AddPartitionsToTxnRequestTransactionTopic{Topic: tp.Topic})
		}
		t.Topics[i].Partitions = append(t.Topics[i].Partitions, tp.Partition)
	}
	req.Transactions = []kmsg.AddPartitionsToTxnRequestTransaction{t}
	r, err := b.peerRequest(leader, req)
	if err != nil {
		return nil, kerr.NetworkException.Code
	}
	resp := r.(*kmsg.AddPartitionsToTxnResponse)
	if resp.ErrorCode != 0 {
		return nil, resp.ErrorCode
	}
	out := map[txn.TopicPartition]int16{}
	for _, tr := range resp.Transactions {
		for _, rt := range tr.Topics {
			for _, rp := range rt.Partitions {
				out[txn.TopicPartition{Topic: rt.Topic, Partition: rp.Partition}] = rp.ErrorCode
			}
		}
	}
	return out, 0
}
