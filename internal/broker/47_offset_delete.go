package broker

// OffsetDelete, key 47, v0 (KIP-496).
// Deletes committed offsets of topics the group does not subscribe to
// (GROUP_SUBSCRIBED_TO_TOPIC otherwise); the response waits for the
// tombstones to be stored.
// ACLs: DELETE on the group (GROUP_AUTHORIZATION_FAILED), READ on each
// topic (TOPIC_AUTHORIZATION_FAILED; authorize_group.go).

import "github.com/twmb/franz-go/pkg/kmsg"

func handleOffsetDelete(rc *reqCtx, p *pending, req kmsg.Request) {
	offsetDelete(rc, req.(*kmsg.OffsetDeleteRequest), p.complete)
}
