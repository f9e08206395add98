//go:build !linux

package partition

// runBackground runs fn; only Linux lowers the priority of one thread.
func runBackground(fn func()) { fn() }
