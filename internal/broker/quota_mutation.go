package broker

// The controller mutation quota (KIP-599): controller_mutation_rate of a
// user or client id bounds the partitions it creates (CreateTopics,
// CreatePartitions) and deletes (DeleteTopics) per second, measured with
// a token bucket (quota.TokenBucket). As Kafka's
// ControllerMutationQuotaManager:
//   - strict mode, for the versions that know the error (CreateTopics v6+,
//     CreatePartitions v3+, DeleteTopics v5+): a topic is refused with
//     THROTTLING_QUOTA_EXCEEDED while the client's bucket is below zero;
//     one that is accepted takes its partitions out even if that takes the
//     bucket below zero (so one large topic is never refused forever);
//   - permissive mode, for older versions: everything is done and counted,
//     and the client is only throttled;
//   - either way the answer's throttle_time_ms is how long until the
//     bucket is back at zero, and the connection is muted for it;
//   - validate_only requests and topics refused for other reasons count
//     nothing.

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// mutationQuota is one request's use of the controller mutation quota.
type mutationQuota struct {
	rc       *reqCtx
	strict   bool
	user     string
	throttle time.Duration
}

// mutationQuota starts the request's accounting; strict as above.
func (rc *reqCtx) mutationQuota(strict bool) *mutationQuota {
	return &mutationQuota{rc: rc, strict: strict, user: principalUser(rc.principal())}
}

// admit is called before a topic's mutation is committed: in strict mode,
// THROTTLING_QUOTA_EXCEEDED while the client's bucket is below zero.
func (q *mutationQuota) admit() error {
	mgr := q.rc.c.b.quotas.mgr
	if !q.strict || !mgr.Enabled() {
		return nil
	}
	if d := mgr.MutationThrottle(q.user, q.rc.clientID, time.Now()); d > 0 {
		q.throttle = max(q.throttle, d)
		return fmt.Errorf("%w: the controller mutation quota (controller_mutation_rate) is used up; retry in %d ms",
			kerr.ThrottlingQuotaExceeded, d.Milliseconds())
	}
	return nil
}

// record counts partitions created or deleted.
func (q *mutationQuota) record(partitions int) {
	mgr := q.rc.c.b.quotas.mgr
	if partitions <= 0 || !mgr.Enabled() {
		return
	}
	q.throttle = max(q.throttle, mgr.RecordMutation(q.user, q.rc.clientID, float64(partitions), time.Now()))
}

// done puts the request's throttle into its answer (throttle_time_ms) and
// mutes the connection for it, with the other quotas' throttles.
func (q *mutationQuota) done() {
	if q.throttle > 0 && q.rc.p != nil {
		q.rc.p.throttle = max(q.rc.p.throttle, q.throttle)
	}
}
