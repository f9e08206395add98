// Package broker speaks the Kafka wire protocol: it accepts connections,
// reads request frames, decodes them with franz-go's kmsg, dispatches each
// to its handler (one file per API, named after its key: 00_produce.go,
// 01_fetch.go, ...), and writes the responses back in request order.
//
// Connections: each has a reader goroutine and a writer goroutine joined
// by a bounded queue of pending responses (queued.max.requests). The
// reader decodes and runs handlers; a handler either completes its
// response at once or later (produce waiting for group commit, fetch long
// polls). The writer sends responses strictly in queue order, so
// pipelined requests are answered in order while their work overlaps.
// Fetch responses carry record data straight from segment files with
// sendfile(2) at explicit offsets.
//
// Invariants:
//   - A handler must not keep a reference into its request after it has
//     completed its pending response: the request frame goes back to a pool
//     once the response is written (decoded []byte fields alias the frame).
//   - Every storage.Slice read for a fetch is released exactly once: after
//     the response is written, or at once when a long-poll attempt is not
//     sent.
//
// Robustness: a frame over socket.request.max.bytes is refused before any
// allocation; a frame that does not decode closes only its connection; a
// panic in a handler is recovered, logged, and closes only its connection.
// Errors are mapped to Kafka error codes here, at the edge, and nowhere
// else.
//
// Authorization: with authorizer.class.name set, every handler checks
// what Kafka's KafkaApis checks (authorize.go, authorize_group.go,
// authorize_txn.go) against an acl.Authorizer built from the metadata
// image's ACLs; a refusal is an error code in the response, checked before
// whether the resource exists. Without an authorizer b.authz is nil and
// every check allows.
package broker
