// Package lazyfs mounts a directory through FUSE with the page cache a
// power cut empties: every file operation reaches the backing directory at
// once except the data written into files, which is held in memory until
// the file is fsynced. Cut unmounts the file system and drops everything
// written and not fsynced since, which leaves in the backing directory
// what a disk would hold after the power went out: the contents of every
// file as of its last fsync (a truncation not fsynced is lost too), and
// every name created, renamed or removed (the directory operations are
// kept, as a journalling file system's metadata journal would).
//
// It is a test instrument, in the spirit of Jepsen's LazyFS: the fault
// campaigns (internal/chaos) run each broker's data directory on one and
// cut the power under a running broker, so the broker's real storage,
// Raft log and checkpoints are what recover. The model is a strict one
// for data (a file's bytes survive only through its own fsync, never
// through a later write-back the kernel might have made anyway) and a
// lenient one for names (ext4's ordered mode can lose a rename or a
// create that no directory fsync followed; this does not).
//
// Mounting needs /dev/fuse and the right to mount (root, or a user
// namespace that grants it); no fusermount helper is used.
package lazyfs
