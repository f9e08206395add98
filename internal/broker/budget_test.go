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
