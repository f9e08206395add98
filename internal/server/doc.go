// Package server is the composition root: it builds the broker's parts in
// dependency order (data directory lock and identity, metadata store,
// partition manager, protocol listener), starts them, and stops them in
// reverse order so that a clean shutdown flushes and closes every segment.
package server
