// Package quota measures what clients do against the client quotas of
// Kafka (KIP-13, KIP-55, KIP-124, KIP-219, KIP-612) and says how long each
// must be throttled.
//
// Rate is Kafka's windowed rate (a Rate over a WindowedSum): the sum of
// the values recorded in the last Samples windows of Window each, divided
// by the time they cover, counted as at least Samples-1 whole windows so a
// new sensor does not see a burst as a huge rate. A client over its quota
// is throttled for (observed - quota) / quota * window: the time after
// which, recording nothing more, its rate is back at the quota.
//
// Table is an immutable view of the quotas in the cluster metadata, with
// Kafka's precedence between the user, client-id and default entities
// (Resolve). Manager keeps one sensor per quota type and the entity the
// quota was resolved to, as Kafka's ClientQuotaManager does: every client
// id of a user with a user-level quota shares that user's sensor.
//
// Invariants:
//   - A Table is never changed once built; Manager swaps them atomically.
//   - With no client quota in the Table, Manager.Enabled is false and
//     callers record nothing: the request path pays one atomic load.
//   - Sensors idle for an hour are dropped, as Kafka expires its sensors.
package quota
