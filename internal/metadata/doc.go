// Package metadata holds the cluster's metadata — topics, partitions,
// configuration overrides, producer-id blocks, brokers, ACLs, SCRAM
// credentials and client quotas — as a log of records applied in order to
// an in-memory Image, the way Kafka's KRaft controller does.
//
// Every change is first appended to the metadata log (and fsynced), then
// applied to a copy of the current image, which is then published
// atomically. Readers take the current *Image and never see a half-applied
// change. Because the log of records is the source of truth, a Raft quorum
// can later replicate exactly this log; only Store's append changes.
//
// Invariants:
//   - An Image is never mutated after it is published.
//   - A record is applied only after it is durable in the log.
//   - Replaying the log from the start reproduces the image exactly.
package metadata
