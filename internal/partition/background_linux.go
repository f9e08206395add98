package partition

import (
	"runtime"
	"syscall"
)

// backgroundNice is the nice value of the cleaner's thread: the lowest
// priority, so that when the cores are busy the kernel runs request
// handling (and the clients on the same machine) first, and the cleaner
// takes what is left. On an idle machine it still gets a whole core.
const backgroundNice = 19

// runBackground runs fn on an OS thread of its own at backgroundNice and
// waits for it. Linux keeps a nice value per thread (setpriority(2) on a
// thread id); an unprivileged process cannot raise it back, so the thread
// is not returned to the Go scheduler: the goroutine exits still locked to
// it, and the runtime ends the thread.
func runBackground(fn func()) {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer close(done)
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), backgroundNice)
		fn()
	}()
	<-done
}
