package broker

import (
	"bytes"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/partition"
)

func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	id, _ := strconv.ParseUint(string(b[:bytes.IndexByte(b, ' ')]), 10, 64)
	return id
}

// distinctJobs returns n jobs for n different partitions (never appended
// to: the tests pass their own run function).
func distinctJobs(n int) []appendJob {
	jobs := make([]appendJob, n)
	for i := range jobs {
		jobs[i].part = new(partition.Partition)
	}
	return jobs
}

// A panic on one of runAppends' helper goroutines must come back to the
// caller (the connection's goroutine, whose recover closes the connection)
// instead of killing the process.
func TestRunAppendsCarriesHelperPanicBack(t *testing.T) {
	// Helpers exist only with GOMAXPROCS >= 2, whatever the machine has.
	if prev := runtime.GOMAXPROCS(0); prev < 2 {
		runtime.GOMAXPROCS(2)
		defer runtime.GOMAXPROCS(prev)
	}
	caller := goroutineID()
	jobs := distinctJobs(8)
	var got any
	func() {
		defer func() { got = recover() }()
		runAppends(jobs, parallelAppendBytes, func(*appendJob) {
			if goroutineID() != caller {
				panic("from a helper")
			}
			time.Sleep(10 * time.Millisecond) // leave jobs for the helper
		})
	}()
	if got != "from a helper" {
		t.Fatalf("recovered %v, want the helper's panic", got)
	}
}

// Below the size threshold, or with one job, everything runs on the
// caller's goroutine.
func TestRunAppendsSmallStaysOnCaller(t *testing.T) {
	caller := goroutineID()
	for _, tc := range []struct{ jobs, bytes int }{{8, parallelAppendBytes - 1}, {1, 10 << 20}} {
		n := 0
		runAppends(distinctJobs(tc.jobs), tc.bytes, func(*appendJob) {
			if goroutineID() != caller {
				t.Errorf("%d jobs of %d bytes: ran on another goroutine", tc.jobs, tc.bytes)
			}
			n++
		})
		if n != tc.jobs {
			t.Errorf("%d jobs: ran %d", tc.jobs, n)
		}
	}
}
