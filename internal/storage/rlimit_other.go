//go:build !unix

package storage

// processFileLimit is unknown here.
func processFileLimit() uint64 { return 0 }
