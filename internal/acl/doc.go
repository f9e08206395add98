// Package acl is Samsa's authorizer: Kafka's ACL model (resource types,
// pattern types, operations and permissions with Kafka's wire codes), the
// Binding (one ACL) and Filter (DescribeAcls, DeleteAcls) types, and an
// Authorizer that decides with the semantics of Kafka's StandardAuthorizer.
//
// It knows nothing of the broker or the metadata log. The bindings live in
// the replicated metadata log (internal/metadata, records "acl" and
// "remove_acl"), so every node has them; the broker builds an Authorizer
// from the image whenever the bindings change and swaps it in atomically.
//
// Semantics, as Kafka's StandardAuthorizer (docs/security.md has the user
// side):
//   - Principals in super.users are allowed everything.
//   - The ACLs that apply to a resource are its type's LITERAL ones of its
//     exact name, the LITERAL ones named "*", and the PREFIXED ones whose
//     name is a prefix of the resource's name.
//   - An entry matches a request if its principal is the request's or
//     User:*, its host is the client's address or "*", and its operation
//     is the one asked for or ALL. ALLOW entries of READ, WRITE, DELETE and
//     ALTER also match DESCRIBE, and ALLOW entries of ALTER_CONFIGS also
//     DESCRIBE_CONFIGS; DENY entries imply nothing.
//   - A matching DENY entry wins; else a matching ALLOW entry allows; else,
//     if ACLs apply to the resource, the request is denied; if none apply
//     at all, allow.everyone.if.no.acl.found decides (default false).
//
// Invariants:
//   - An Authorizer is never modified after New: Authorize takes no lock
//     and allocates nothing.
//   - Authorize costs a map lookup for the literal name, one for "*", and
//     one pass over the name's bytes for the PREFIXED patterns (a rolling
//     FNV-1a hash, looked up only at lengths some prefix has), whatever
//     the number of bindings. Within a pattern, entries are found by
//     principal and folded into bit masks of operations.
//   - Hosts are compared in CanonicalHost's spelling, so "::1" and Java's
//     "0:0:0:0:0:0:0:1" are the same address.
package acl
