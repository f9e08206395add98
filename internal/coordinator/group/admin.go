package group

import (
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupOperations is the authorized-operations bit set of a group for a
// client allowed everything: READ (3), DELETE (6), DESCRIBE (8).
const groupOperations = 1<<3 | 1<<6 | 1<<8

// ListGroups handles a ListGroups request, with the state (v4+) and type
// (v5+) filters compared case-insensitively as Kafka does.
func (c *Coordinator) ListGroups(req *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse {
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	if c.loading {
		resp.ErrorCode = kerr.CoordinatorLoadInProgress.Code
		return resp
	}
	match := func(filter []string, v string) bool {
		if len(filter) == 0 {
			return true
		}
		for _, f := range filter {
			if strings.EqualFold(f, v) {
				return true
			}
		}
		return false
	}
	for _, id := range c.sortedGroups() {
		g := c.groups[id]
		state, typ := string(g.state), "classic"
		if g.cg != nil && len(g.members) == 0 {
			state, typ = g.cg.state(), "consumer"
		}
		if g.state == Dead || !c.coordinates(id) || !match(req.StatesFilter, state) || !match(req.TypesFilter, typ) {
			continue
		}
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group, lg.ProtocolType, lg.GroupState, lg.GroupType = g.id, g.protocolType, state, typ
		resp.Groups = append(resp.Groups, lg)
	}
	return resp
}

// DescribeGroups handles a DescribeGroups request. Member metadata and
// assignments are shown only for a Stable group, as Kafka does.
func (c *Coordinator) DescribeGroups(req *kmsg.DescribeGroupsRequest) *kmsg.DescribeGroupsResponse {
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, id := range req.Groups {
		dg := kmsg.NewDescribeGroupsResponseGroup()
		dg.Group = id
		if req.IncludeAuthorizedOperations {
			dg.AuthorizedOperations = groupOperations
		}
		g := c.groups[id]
		switch {
		case c.groupLoading(id):
			dg.ErrorCode = kerr.CoordinatorLoadInProgress.Code
		case !c.coordinates(id):
			dg.ErrorCode = kerr.NotCoordinator.Code
		case g == nil || g.state == Dead || (g.cg != nil && len(g.members) == 0):
			// A KIP-848 group is not a classic group: Kafka answers as
			// for an unknown group, with its own message from v6.
			dg.State = string(Dead)
			if req.Version >= 6 {
				dg.ErrorCode = kerr.GroupIDNotFound.Code
				msg := "Group " + id + " not found."
				if g != nil && g.state != Dead {
					msg = "Group " + id + " is not a classic group."
				}
				dg.ErrorMessage = &msg
			}
		default:
			dg.State, dg.ProtocolType = string(g.state), g.protocolType
			stable := g.state == Stable
			if stable {
				dg.Protocol = g.protocol
			}
			for _, mid := range g.order {
				m := g.members[mid]
				dm := kmsg.NewDescribeGroupsResponseGroupMember()
				dm.MemberID, dm.InstanceID, dm.ClientID, dm.ClientHost = m.id, strPtr(m.instanceID), m.clientID, m.clientHost
				dm.ProtocolMetadata, dm.MemberAssignment = []byte{}, []byte{}
				if stable {
					dm.ProtocolMetadata, dm.MemberAssignment = m.metadataFor(g.protocol), m.assignment
				}
				dg.Members = append(dg.Members, dm)
			}
		}
		resp.Groups = append(resp.Groups, dg)
	}
	return resp
}

// DeleteGroups handles a DeleteGroups request: empty groups are deleted
// with tombstones for their metadata and every offset; the answer comes
// once all tombstones are durable.
func (c *Coordinator) DeleteGroups(now time.Time, req *kmsg.DeleteGroupsRequest, to Caller) Out {
	var out Out
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	waiting := 0
	for i, id := range req.Groups {
		dg := kmsg.NewDeleteGroupsResponseGroup()
		dg.Group = id
		resp.Groups = append(resp.Groups, dg)
		if code := c.checkGroupID(id); code != 0 {
			resp.Groups[i].ErrorCode = code
			continue
		}
		g := c.groups[id]
		switch {
		case g == nil || g.state == Dead:
			resp.Groups[i].ErrorCode = kerr.GroupIDNotFound.Code
			continue
		case g.state != Empty:
			resp.Groups[i].ErrorCode = kerr.NonEmptyGroup.Code
			continue
		}
		// Pending transactional offsets go too (Kafka deletes a group with
		// open transactions and writes tombstones for their partitions;
		// replaying a tombstone drops pending offsets). A transactional
		// commit still in flight is dropped when it completes, so its
		// partitions get tombstones as well.
		recs := groupTombstones(g)
		parts := g.offsetPartitions()
		seen := map[tp]bool{}
		for _, t := range parts {
			seen[t] = true
		}
		for t := range g.txnInflight {
			if !seen[t] {
				parts = append(parts, t)
			}
		}
		sortTPs(parts)
		for _, t := range parts {
			recs = append(recs, Record{Key: offsetKey(id, t.topic, t.partition)})
		}
		c.forgetTxns(g)
		g.transition(Dead, now)
		delete(c.groups, id)
		waiting++
		c.append(&out, id, recs, func(now time.Time, err error, out *Out) {
			if err != nil {
				resp.Groups[i].ErrorCode = storeError(err)
			}
			if waiting--; waiting == 0 {
				out.reply(to, resp)
			}
		})
	}
	if waiting == 0 {
		out.reply(to, resp)
	}
	return out
}

// GroupInfo summarizes a group for tests and tools.
type GroupInfo struct {
	ID           string
	State        State
	Generation   int32
	ProtocolType string
	Protocol     string
	Leader       string
	Members      []string
	Offsets      int
}

// Info returns a summary of a group; ok is false if it does not exist.
func (c *Coordinator) Info(id string) (GroupInfo, bool) {
	g := c.groups[id]
	if g == nil {
		return GroupInfo{}, false
	}
	return GroupInfo{ID: id, State: g.state, Generation: g.generation, ProtocolType: g.protocolType,
		Protocol: g.protocol, Leader: g.leader, Members: append([]string(nil), g.order...), Offsets: len(g.offsets)}, true
}
