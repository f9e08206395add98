package broker

// DescribeQuorum, key 55, v0-v2 (Kafka 4's range).
//   v1: last fetch and last caught-up timestamps per replica.
//   v2: error message, replica directory ids, and the voters' endpoints
//   (Nodes; KIP-853).
// The one partition described is __cluster_metadata-0, the Raft log: the
// leader epoch is the Raft term, the high watermark the commit index, and
// a replica's log end offset the index it has replicated (Raft indexes
// count from 1, so index N is the end of N entries, as a Kafka log end
// offset is).
//
// Only the quorum's leader knows how far every voter has replicated. A
// Kafka broker forwards DescribeQuorum to the active controller, which
// answers NOT_LEADER_OR_FOLLOWER if it is not the Raft leader; Samsa does
// the same in one step: a node that is not the leader forwards the request
// to the leader's Kafka listener and relays its answer, so
// `kafka-metadata-quorum.sh --bootstrap-server ANY-NODE describe --status`
// (or --replication) shows the leader's view whichever node it reaches. A
// forwarded request is never forwarded again (leadership may have moved
// meanwhile: the receiver answers NOT_LEADER_OR_FOLLOWER, and the admin
// client retries); neither is one that cannot reach the leader.
//
// Timestamps: the leader reports itself as fetching and caught up now, as
// Kafka's leader does; a voter whose replicated index equals the leader's
// log end is caught up now. A voter's last fetch is when the quorum last
// heard from it (-1 if never).
// ACLs: DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED). A request
// forwarded to the leader is authorized there as the forwarding node's
// connection, User:ANONYMOUS until inter-broker authentication.

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

// metadataTopic is the Raft log's name in DescribeQuorum, as in Kafka.
const metadataTopic = "__cluster_metadata"

// forwardedClientID marks a DescribeQuorum one node forwarded to another,
// so that it is never forwarded again.
const forwardedClientID = "samsa-describe-quorum-forward"

// describeQuorumTimeout bounds asking the quorum's goroutine for its status
// and, separately, a forwarded request's round trip.
const describeQuorumTimeout = 5 * time.Second

// maxForwardedResponseBytes bounds a forwarded answer: a few voters'
// states and endpoints.
const maxForwardedResponseBytes = 1 << 20

func handleDescribeQuorum(rc *reqCtx, req *kmsg.DescribeQuorumRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.DescribeQuorumResponse)
	if !rc.authorizeCluster(acl.OpDescribe) {
		resp.ErrorCode = errClusterAuth
		return resp
	}
	if !describesMetadataLog(req) {
		// Kafka answers every partition asked for with this error: the
		// metadata log is the only Raft partition there is.
		for _, t := range req.Topics {
			rt := kmsg.NewDescribeQuorumResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewDescribeQuorumResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, kerr.UnknownTopicOrPartition.Code
				rp.LeaderID, rp.LeaderEpoch = -1, -1
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	}
	leader := b.meta.Leader()
	if leader != b.cfg.NodeID {
		if leader < 0 || rc.clientID == forwardedClientID {
			return quorumError(resp, kerr.NotLeaderForPartition, fmt.Sprintf("node %d is not the metadata quorum's leader (leader: %d)", b.cfg.NodeID, leader))
		}
		fwd, err := b.forwardDescribeQuorum(leader, req)
		if err != nil {
			b.logger.Warn("could not forward DescribeQuorum to the quorum leader", "leader", leader, "err", err)
			return quorumError(resp, kerr.NotLeaderForPartition, fmt.Sprintf("node %d could not reach the metadata quorum's leader %d", b.cfg.NodeID, leader))
		}
		return fwd
	}
	ctx, cancel := context.WithTimeout(context.Background(), describeQuorumTimeout)
	defer cancel()
	st, err := b.meta.QuorumStatus(ctx)
	if err != nil {
		err = fmt.Errorf("%w: quorum status: %v", metadata.ErrUnavailable, err)
		resp.ErrorCode, resp.ErrorMessage = errCode(err), errMessage(err)
		return resp
	}
	if st.Leader != uint64(b.cfg.NodeID) || st.Progress == nil {
		// Leadership moved between the two looks.
		return quorumError(resp, kerr.NotLeaderForPartition, fmt.Sprintf("node %d is no longer the metadata quorum's leader", b.cfg.NodeID))
	}
	nowMs := b.now().UnixMilli()
	leo := int64(st.LastIndex)
	im := b.meta.Image()
	replica := func(id uint64) kmsg.DescribeQuorumResponseTopicPartitionReplicaState {
		rs := kmsg.NewDescribeQuorumResponseTopicPartitionReplicaState()
		rs.ReplicaID, rs.LogEndOffset = int32(id), -1
		if c, ok := im.Controller(int32(id)); ok {
			rs.ReplicaDirectoryID = directoryID(c.DirectoryID)
		}
		switch pr, ok := st.Progress[id]; {
		case id == st.Leader:
			rs.LogEndOffset, rs.LastFetchTimestamp, rs.LastCaughtUpTimestamp = leo, nowMs, nowMs
		case ok:
			rs.LogEndOffset = int64(pr.Match)
			if heard := b.meta.LastHeard(int32(id)); !heard.IsZero() {
				rs.LastFetchTimestamp = heard.UnixMilli()
			}
			if pr.RecentActive && rs.LogEndOffset >= leo {
				rs.LastCaughtUpTimestamp = rs.LastFetchTimestamp
				if rs.LastCaughtUpTimestamp < 0 {
					rs.LastCaughtUpTimestamp = nowMs
				}
			}
		}
		return rs
	}
	rp := kmsg.NewDescribeQuorumResponseTopicPartition()
	rp.Partition, rp.LeaderID, rp.LeaderEpoch, rp.HighWatermark = 0, int32(st.Leader), int32(st.Term), int64(st.Commit)
	for _, id := range st.Voters {
		rp.CurrentVoters = append(rp.CurrentVoters, replica(id))
	}
	for _, id := range st.Learners {
		rp.Observers = append(rp.Observers, replica(id))
	}
	rt := kmsg.NewDescribeQuorumResponseTopic()
	rt.Topic, rt.Partitions = metadataTopic, []kmsg.DescribeQuorumResponseTopicPartition{rp}
	resp.Topics = []kmsg.DescribeQuorumResponseTopic{rt}
	resp.Nodes = b.quorumNodes(im, st.Voters)
	return resp
}

// describesMetadataLog reports whether req asks for __cluster_metadata-0
// and nothing else, the only request Kafka's Raft client answers.
func describesMetadataLog(req *kmsg.DescribeQuorumRequest) bool {
	return len(req.Topics) == 1 && req.Topics[0].Topic == metadataTopic &&
		len(req.Topics[0].Partitions) == 1 && req.Topics[0].Partitions[0].Partition == 0
}

func quorumError(resp *kmsg.DescribeQuorumResponse, err *kerr.Error, msg string) *kmsg.DescribeQuorumResponse {
	resp.ErrorCode, resp.ErrorMessage = err.Code, &msg
	return resp
}

// quorumNodes lists each voter's controller endpoint (v2): as the voter
// registered it, else from controller.quorum.voters. The listener name is
// the first of controller.listener.names, the name Kafka's tools print
// with it.
func (b *Broker) quorumNodes(im *metadata.Image, voters []uint64) []kmsg.DescribeQuorumResponseNode {
	name := strings.TrimSpace(strings.Split(b.cfg.Get("controller.listener.names"), ",")[0])
	if name == "" {
		name = "CONTROLLER"
	}
	var out []kmsg.DescribeQuorumResponseNode
	for _, id := range voters {
		n := kmsg.NewDescribeQuorumResponseNode()
		n.NodeID = int32(id)
		if host, port, ok := controllerEndpoint(im, b.cfg.QuorumVoters, int32(id)); ok {
			l := kmsg.NewDescribeQuorumResponseNodeListener()
			l.Name, l.Host, l.Port = name, host, uint16(port)
			n.Listeners = append(n.Listeners, l)
		}
		out = append(out, n)
	}
	return out
}

// controllerEndpoint is where controller id listens: its registration, or
// its entry in controller.quorum.voters.
func controllerEndpoint(im *metadata.Image, voters map[int32]string, id int32) (string, int32, bool) {
	if c, ok := im.Controller(id); ok {
		return c.Host, c.Port, true
	}
	host, port, err := net.SplitHostPort(voters[id])
	p, perr := strconv.ParseUint(port, 10, 16)
	if err != nil || perr != nil {
		return "", 0, false
	}
	return host, int32(p), true
}

// directoryID decodes a meta.properties directory.id (Kafka's URL-safe
// base64 UUID); zero if it is not one.
func directoryID(s string) [16]byte {
	var out [16]byte
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil && len(b) == 16 {
		copy(out[:], b)
	}
	return out
}

// forwardDescribeQuorum sends req to the Kafka listener of node leader and
// returns its answer. One connection per request: the admin tools ask
// rarely, and a pooled connection would need an owner to close it.
func (b *Broker) forwardDescribeQuorum(leader int32, req *kmsg.DescribeQuorumRequest) (kmsg.Response, error) {
	var addr string
	im := b.meta.Image()
	for _, br := range b.brokers(im) {
		if br.ID == leader {
			addr = net.JoinHostPort(br.Host, strconv.Itoa(int(br.Port)))
		}
	}
	controller := false
	if addr == "" {
		// A controller-only leader: its controller listener takes Kafka
		// requests for the controller APIs.
		if host, port, ok := controllerEndpoint(im, b.cfg.QuorumVoters, leader); ok {
			addr, controller = net.JoinHostPort(host, strconv.Itoa(int(port))), true
		}
	}
	if addr == "" {
		return nil, fmt.Errorf("node %d is not registered", leader)
	}
	ctx, cancel := context.WithTimeout(context.Background(), describeQuorumTimeout)
	defer cancel()
	nc, err := b.dialPeer(ctx, addr, controller)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(describeQuorumTimeout))
	const corr = 1
	fwd := &kmsg.DescribeQuorumRequest{Version: req.Version, Topics: req.Topics}
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID(forwardedClientID)).AppendRequest(nil, fwd, corr)
	if _, err := nc.Write(frame); err != nil {
		return nil, err
	}
	r := bufio.NewReader(nc)
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 5 || n > maxForwardedResponseBytes {
		return nil, fmt.Errorf("forwarded DescribeQuorum: response of %d bytes", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	if got := int32(binary.BigEndian.Uint32(body)); got != corr {
		return nil, fmt.Errorf("forwarded DescribeQuorum: correlation id %d, want %d", got, corr)
	}
	// Every DescribeQuorum version is flexible: the response header ends
	// with its tagged fields, which carry nothing here.
	body, err = skipTags(body[4:])
	if err != nil {
		return nil, err
	}
	resp := fwd.ResponseKind().(*kmsg.DescribeQuorumResponse)
	if err := resp.ReadFrom(body); err != nil {
		return nil, errors.Join(errors.New("forwarded DescribeQuorum: undecodable response"), err)
	}
	return resp, nil
}
