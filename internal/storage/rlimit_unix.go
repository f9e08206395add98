//go:build unix

package storage

import "syscall"

// processFileLimit is the soft RLIMIT_NOFILE (0 if unknown).
func processFileLimit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	return uint64(r.Cur)
}
