package metadata

import "time"

// A store whose quorum is driven by its caller (Options.OpenQuorum opening
// a quorum with quorum.Config.Send) cannot wait in Commit: nothing applies
// entries while it waits. These are Commit and the active controller's
// check cut at the proposal: the plan, its check and the entry are the
// ones Commit makes; whether the entry was applied or skipped as a
// conflict shows in the image once it commits.

// ProposeStep plans records against the current image and proposes them
// without waiting. A nil error means the quorum took the proposal, not
// that it commits.
func (s *Store) ProposeStep(plan func(im *Image) ([]Record, error)) error {
	prev := s.image.Load()
	recs, err := plan(prev)
	if err != nil || len(recs) == 0 {
		return err
	}
	if err := checkPlan(prev, recs); err != nil {
		return err
	}
	data, err := s.encode(&entry{Records: recs})
	if err != nil {
		return err
	}
	return s.q.ProposeStep(data)
}

// ControlStep is the active controller's periodic check (runController)
// at now, for a node that has led the quorum since leaderSince: it
// proposes fencing the brokers it has not heard from, unfencing those it
// hears again and electing leaders for partitions without one.
func (s *Store) ControlStep(now, leaderSince time.Time) error {
	_, _, plan := s.controlPlan(now, leaderSince)
	if plan == nil {
		return nil
	}
	return s.ProposeStep(plan)
}
