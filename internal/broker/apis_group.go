package broker

// groupAPIs returns the consumer-group APIs (FindCoordinator, JoinGroup,
// OffsetCommit, ...). Empty until the group coordinator lands (issue 6).
func groupAPIs() map[int16]api {
	return map[int16]api{}
}
