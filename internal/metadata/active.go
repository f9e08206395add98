package metadata

import (
	"context"
	"time"
)

// The active controller: the node that leads the metadata quorum also
// watches the brokers, as Kafka's QuorumController does with broker
// heartbeats. Samsa's brokers are all quorum members (voters, or learners
// for broker-only nodes), so the leader hears
// from each at every Raft heartbeat; one it has not heard from for
// broker.session.timeout.ms is fenced (its partitions get new leaders, it
// leaves every ISR), one it hears from again is unfenced, and partitions
// left without a leader get one as soon as an ISR member can lead.

// controllerInterval is how often the active controller looks.
const controllerInterval = 100 * time.Millisecond

// runController runs the active controller's checks whenever this node
// leads the quorum, until the store closes.
func (s *Store) runController() {
	tick := time.NewTicker(controllerInterval)
	defer tick.Stop()
	var leaderSince, lastRebalance time.Time
	for {
		select {
		case <-s.closed:
			return
		case now := <-tick.C:
			if s.Leader() != s.opts.NodeID {
				leaderSince = time.Time{}
				continue
			}
			if leaderSince.IsZero() {
				leaderSince, lastRebalance = now, now
			}
			s.controlOnce(now, leaderSince)
			if r := s.opts.LeaderRebalance; r > 0 && now.Sub(lastRebalance) >= r {
				lastRebalance = now
				s.rebalanceLeaders()
			}
		}
	}
}

// connLossGrace is how long a broker whose connection to the controller
// ended may take to reconnect before it is fenced: five heartbeats (half
// the election timeout), at least 300 ms, at most the session timeout.
func connLossGrace(election, session time.Duration) time.Duration {
	return min(session, max(election/2, 300*time.Millisecond))
}

// controlOnce fences, unfences and elects as the brokers' liveness asks.
func (s *Store) controlOnce(now, leaderSince time.Time) {
	dead, back, plan := s.controlPlan(now, leaderSince)
	if plan == nil {
		return
	}
	_, err := s.Commit(plan)
	if err != nil {
		s.logger.Warn("controller: fencing/election not committed", "err", err)
		return
	}
	for _, id := range dead {
		s.logger.Warn("controller: fenced a silent broker; its partitions moved", "node_id", id, "session_timeout", s.opts.SessionTimeout)
	}
	for _, id := range back {
		s.logger.Info("controller: unfenced a broker", "node_id", id)
	}
}

// controlPlan finds the brokers to fence (dead) and unfence (back) and
// returns the plan that does it and elects leaders where partitions have
// none (nil: nothing to do).
func (s *Store) controlPlan(now, leaderSince time.Time) (dead, back []int32, plan func(*Image) ([]Record, error)) {
	session := s.opts.SessionTimeout
	// A new leader has heard from nobody yet (followers talk only to the
	// leader): every broker gets one election timeout from the start of
	// this term to show up, which a live one does at the first heartbeat.
	grace := min(s.opts.ElectionTimeout, session)
	floor := leaderSince.Add(grace - session)
	im := s.Image()
	for _, b := range im.Brokers() {
		if b.ID == s.opts.NodeID {
			if b.Fenced {
				back = append(back, b.ID)
			}
			continue
		}
		heard := s.q.LastHeard(uint64(b.ID))
		if heard.Before(floor) {
			heard = floor
		}
		alive := now.Sub(heard) <= session
		// A connection that ended and was not reopened within a few
		// heartbeats is a process that died: its kernel closed it. A live
		// node redials within tens of milliseconds.
		if lost := s.q.LostSince(uint64(b.ID)); !lost.IsZero() && now.Sub(lost) > connLossGrace(s.opts.ElectionTimeout, session) {
			alive = false
		}
		switch {
		case alive && b.Fenced:
			back = append(back, b.ID)
		case !alive && !b.Fenced:
			dead = append(dead, b.ID)
		}
	}
	if len(dead) == 0 && len(back) == 0 && len(ElectOfflineRecords(im, s.unclean(im))) == 0 && len(CompleteReassignmentRecords(im)) == 0 {
		return nil, nil, nil
	}
	return dead, back, func(im *Image) ([]Record, error) {
		var out []Record
		cur := im
		add := func(recs []Record) {
			for _, r := range recs {
				if next, err := cur.apply(r); err == nil {
					cur = next
					out = append(out, r)
				}
			}
		}
		for _, id := range dead {
			add(FenceBrokerRecords(cur, id))
		}
		for _, id := range back {
			add(UnfenceBrokerRecords(cur, id))
		}
		add(ElectOfflineRecords(cur, s.unclean(cur)))
		add(CompleteReassignmentRecords(cur))
		return out, nil
	}
}

// rebalanceLeaders moves leadership back to preferred replicas.
func (s *Store) rebalanceLeaders() {
	var moved int
	_, err := s.Commit(func(im *Image) ([]Record, error) {
		recs := PreferredLeaderRecords(im, s.opts.ImbalancePercent)
		moved = len(recs)
		return recs, nil
	})
	if err != nil {
		s.logger.Warn("controller: preferred leader election not committed", "err", err)
	} else if moved > 0 {
		s.logger.Info("controller: moved leadership back to preferred replicas", "partitions", moved)
	}
}

// Shutdown moves this broker's leaderships to other in-sync replicas and
// fences it, as Kafka's controlled shutdown does, and hands the quorum's
// leadership to another voter if it holds it. It gives up after timeout:
// the broker stops anyway and the controller fences it when it goes
// silent.
func (s *Store) Shutdown(timeout time.Duration) error {
	if s.alone() {
		return nil
	}
	opts := s.opts
	_, err := s.commit(context.Background(), func(im *Image) ([]Record, error) { return ShutdownRecords(im, opts.NodeID), nil }, timeout)
	if s.Leader() == opts.NodeID {
		for _, id := range s.Voters() {
			if id != opts.NodeID && !s.q.LastHeard(uint64(id)).IsZero() && time.Since(s.q.LastHeard(uint64(id))) < opts.ElectionTimeout {
				s.q.TransferLeadership(uint64(id))
				break
			}
		}
	}
	return err
}

// unclean returns whether a topic allows unclean leader election in im
// (nil when the broker gives no rule: never).
func (s *Store) unclean(im *Image) func(topic string) bool {
	if s.opts.Unclean == nil {
		return nil
	}
	return func(topic string) bool { return s.opts.Unclean(im.Configs(ResourceTopic, topic)) }
}
