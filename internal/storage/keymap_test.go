package storage

import (
	"fmt"
	"testing"
)

func TestKeyMap(t *testing.T) {
	m := newKeyMap()
	defer m.free()
	const n = 100_000
	ids := make([]uint32, n)
	for i := range n {
		ids[i] = m.put(digestKey([]byte(fmt.Sprintf("k%d", i))), uint32(i))
	}
	// A second round moves every key's latest ordinal; ids stay.
	for i := range n {
		if id := m.put(digestKey([]byte(fmt.Sprintf("k%d", i))), uint32(n+i)); id != ids[i] {
			t.Fatalf("key %d: id %d, first %d", i, id, ids[i])
		}
	}
	if m.len() != n {
		t.Fatalf("%d keys, want %d", m.len(), n)
	}
	for i := range n {
		if !m.has([]byte(fmt.Sprintf("k%d", i))) || m.latest[ids[i]] != uint32(n+i) {
			t.Fatalf("key %d: latest %d", i, m.latest[ids[i]])
		}
	}
	for _, k := range []string{"", "k-1", fmt.Sprint("k", n)} {
		if m.has([]byte(k)) {
			t.Fatalf("%q found", k)
		}
	}
	if 3*len(m.slots) < 4*n || m.bytes() < int64(n)*(keySlotBytes+keyMapIDBytes) {
		t.Fatalf("%d slots, %d bytes for %d keys", len(m.slots), m.bytes(), n)
	}
}
