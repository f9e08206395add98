package broker

import (
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	b := newBudget(100)
	stop := make(chan struct{})
	if !b.acquire(500, stop) {
		t.Fatal("an oversized request must be admitted when nothing is held")
	}
	got := make(chan bool)
	go func() { got <- b.acquire(10, stop) }()
	select {
	case <-got:
		t.Fatal("admitted past the limit")
	case <-time.After(50 * time.Millisecond):
	}
	b.release(500)
	if !<-got {
		t.Fatal("not admitted after release")
	}
	if !b.acquire(90, stop) {
		t.Fatal("90 more should fit under 100")
	}
	go func() { got <- b.acquire(1, stop) }()
	close(stop)
	b.wake()
	if <-got {
		t.Fatal("a stopped waiter was admitted")
	}
	if unbounded := newBudget(-1); !unbounded.acquire(1<<40, nil) || !unbounded.acquire(1<<40, nil) {
		t.Fatal("-1 must not bound")
	}
}

// TestBudgetOverdraft: frames being read hold bytes while they wait to
// grow; when only they hold the budget, one of them must still go on
// (the overdraft), and only one.
func TestBudgetOverdraft(t *testing.T) {
	b := newBudget(100)
	stop := make(chan struct{})
	var first, second bool
	b.acquire(60, stop) // frame A's first chunk
	b.acquire(40, stop) // frame B's first chunk: the budget is full
	if !b.grow(50, stop, &first) || !first {
		t.Fatal("with only part-read frames holding the budget, none could grow")
	}
	got := make(chan bool)
	go func() { got <- b.grow(10, stop, &second) }()
	select {
	case <-got:
		t.Fatal("a second frame went over the limit")
	case <-time.After(50 * time.Millisecond):
	}
	if !b.grow(30, stop, &first) {
		t.Fatal("the frame holding the overdraft could not grow further")
	}
	b.endOverdraft(&first) // frame A complete
	if !<-got || !second {
		t.Fatal("the overdraft was not passed on")
	}
	b.endOverdraft(&second)
	var none bool
	go func() { got <- b.grow(1, stop, &none) }()
	b.release(60 + 50 + 30) // frame A answered: 50 held, 1 fits
	if !<-got || none {
		t.Fatal("a grow that fits took the overdraft")
	}
	conn := newBudget(10) // a connection's: no overdraft (nil)
	conn.acquire(5, stop)
	go func() { got <- conn.grow(10, stop, nil) }()
	select {
	case <-got:
		t.Fatal("a budget without an overdraft went over its limit")
	case <-time.After(50 * time.Millisecond):
	}
	close(stop)
	conn.wake()
	if <-got {
		t.Fatal("a stopped grow was admitted")
	}
}

// TestWarnLimit: one warning per 100 ms gets through, carrying how many
// were held back since the last.
func TestWarnLimit(t *testing.T) {
	var w warnLimit
	if n, ok := w.allow(); !ok || n != 0 {
		t.Fatalf("first warning: %d %v", n, ok)
	}
	for i := 0; i < 1000; i++ {
		if _, ok := w.allow(); ok {
			t.Fatal("a second warning within 100 ms was let through")
		}
	}
	w.next.Store(mono()) // as if 100 ms had passed
	if n, ok := w.allow(); !ok || n != 1000 {
		t.Fatalf("after the pause: %d %v, want 1000 true", n, ok)
	}
}
