//go:build !linux

package storage

import "os"

// mapSegment is not supported here: the cleaner reads in chunks.
func mapSegment(*os.File, int64) ([]byte, func(), error) { return nil, func() {}, nil }

// startWriteback is a no-op here; the fsync does all the work.
func startWriteback(*os.File, int64, int64) {}

// allocOffHeap allocates on the heap here.
func allocOffHeap(n int) ([]byte, func()) { return make([]byte, n), func() {} }
