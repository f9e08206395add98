package partition

import (
	"runtime"
	"syscall"
	"testing"
)

// nice is the calling thread's nice value (the raw syscall returns 20-nice).
func nice(t *testing.T) int {
	t.Helper()
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	if err != nil {
		t.Fatal(err)
	}
	return 20 - p
}

// TestRunBackgroundLowersOnlyItsThread: the function runs at the lowest
// priority, and no other goroutine's thread inherits it afterwards.
func TestRunBackgroundLowersOnlyItsThread(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := nice(t)
	var inside int
	runBackground(func() { inside = nice(t) })
	if inside != backgroundNice {
		t.Fatalf("nice %d inside runBackground, want %d", inside, backgroundNice)
	}
	if got := nice(t); got != before {
		t.Fatalf("caller's thread nice %d after runBackground, was %d", got, before)
	}
	// Threads the runtime hands to other goroutines keep the old value.
	for i := 0; i < 20; i++ {
		done := make(chan int)
		go func() { done <- nice(t) }()
		if got := <-done; got != before {
			t.Fatalf("a later goroutine runs at nice %d, want %d", got, before)
		}
	}
}
