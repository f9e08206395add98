package txn

import (
	"testing"
	"time"
)

// FuzzReplay feeds arbitrary __transaction_state records to loading: a
// record that does not decode is an error, never a panic, and whatever
// loads can be described and listed.
func FuzzReplay(f *testing.F) {
	t := &txnState{id: "app-1", pid: 7, prevPID: -1, nextPID: -1, epoch: 3, timeoutMs: 60000, state: stateOngoing, startMs: 1, updateMs: 2, tv: 2}
	t.add("orders", 0)
	t.add("orders", 5)
	f.Add(key("app-1"), value(t))
	f.Add(key(""), []byte{})
	f.Add([]byte{0, 1, 0, 1, 'x'}, []byte{0, 0})
	f.Fuzz(func(tt *testing.T, k, v []byte) {
		c := New(Config{MaxTimeout: time.Minute}, func(string) int32 { return 0 }, nil)
		c.BeginLoad(0, 1)
		_ = c.Replay(0, k, v)
		out := c.FinishLoad(time.Now(), 0)
		for id := range c.txns {
			c.Describe(time.Now(), id)
		}
		_ = out
	})
}
