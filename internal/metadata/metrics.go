package metadata

// RaftProgress is the metadata quorum's term and commit index as this node
// knows them, for metrics; it reads a copy the quorum publishes and never
// waits for it.
func (s *Store) RaftProgress() (term, commit uint64) {
	b := s.q.Basic()
	return b.Term, b.Commit
}
