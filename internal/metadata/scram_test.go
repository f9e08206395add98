package metadata

import (
	"bytes"
	"testing"
)

func TestScramRecords(t *testing.T) {
	c := ScramRecord{User: "alice", Mechanism: 1, Salt: []byte("salt"), StoredKey: bytes.Repeat([]byte{1}, 32), ServerKey: bytes.Repeat([]byte{2}, 32), Iterations: 4096}
	im := applyAll(t, emptyImage(), []Record{{Type: TypeScram, Scram: &c}})
	got, ok := im.Scram("alice", 1)
	if !ok || got.Iterations != 4096 || !bytes.Equal(got.StoredKey, c.StoredKey) {
		t.Fatalf("%+v %v", got, ok)
	}
	if _, ok := im.Scram("alice", 2); ok {
		t.Fatal("SCRAM-SHA-512 credential appeared")
	}
	// A snapshot rebuilds it.
	re := applyAll(t, emptyImage(), im.records())
	if got, ok := re.Scram("alice", 1); !ok || !bytes.Equal(got.ServerKey, c.ServerKey) {
		t.Fatal("lost in the snapshot")
	}
	im = applyAll(t, im, []Record{{Type: TypeRemoveScram, RemoveScram: &RemoveScramRecord{User: "alice", Mechanism: 1}}})
	if _, ok := im.Scram("alice", 1); ok || len(im.ScramUsers()) != 0 {
		t.Fatal("not removed")
	}
	if _, err := im.apply(Record{Type: TypeRemoveScram, RemoveScram: &RemoveScramRecord{User: "alice", Mechanism: 1}}); err == nil {
		t.Fatal("removing a missing credential applied")
	}
	for _, bad := range []ScramRecord{{User: "", Mechanism: 1, Salt: []byte("s"), StoredKey: []byte("k"), ServerKey: []byte("k"), Iterations: 1},
		{User: "u", Mechanism: 3, Salt: []byte("s"), StoredKey: []byte("k"), ServerKey: []byte("k"), Iterations: 1},
		{User: "u", Mechanism: 1, StoredKey: []byte("k"), ServerKey: []byte("k"), Iterations: 1},
		{User: "u", Mechanism: 1, Salt: []byte("s"), StoredKey: []byte("k"), ServerKey: []byte("k"), Iterations: 0}} {
		b := bad
		if _, err := im.apply(Record{Type: TypeScram, Scram: &b}); err == nil {
			t.Errorf("%+v applied", bad)
		}
	}
}
