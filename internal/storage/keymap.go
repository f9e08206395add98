package storage

import (
	"math"
	"unsafe"
)

// keyMap is the cleaner's map of the keys of the dirty range. Like Kafka's
// SkimpyOffsetMap it keeps a digest of each key, not the key, in an
// open-addressing table with linear probing. The digest (digestKey) has 96
// bits: two distinct keys of one log share one with a probability of about
// n^2/2^97 for n keys (below 10^-11 for a billion keys). It is the digest
// the key files beside segments hold (keys.go), so the map pass can read
// those instead of the records.
//
// Each distinct key gets a dense id, in order of first sight, and the map
// keeps by id the ordinal of the key's latest record: the map pass numbers
// every record it walks and notes each one's key id and position, so the
// rewriting pass knows which records to keep without hashing a key,
// probing the table or even reading the records it drops. Records outside
// the mapped range (all older than it) are looked up by key: such a record
// is obsolete if its key is in the map at all.
//
// Both arrays live outside the Go heap (allocOffHeap): a pass that grew
// them on the heap set off garbage collections the rest of the broker
// felt. free releases them.
type keyMap struct {
	slots  []keySlot // len is a power of two; at most 3/4 full
	latest []uint32  // by id: the ordinal of the key's latest record
	frees  [2]func() // of slots and latest
}

// keySlot is one table entry, 16 bytes: 64 bits of the digest pick the
// slot and are compared, 32 more are compared; id is the key's id plus one
// (zero: empty).
type keySlot struct {
	h0     uint64
	h1, id uint32
}

// Ids of records that the map pass walked but did not map: a keyless
// record (obsolete in a compacted log), and a record older than the first
// dirty offset, which the rewriting pass looks up by key.
const (
	noKeyID  = math.MaxUint32
	lookupID = math.MaxUint32 - 1
)

const (
	keySlotBytes     = 16 // unsafe.Sizeof(keySlot{})
	minKeyMapSlots   = 1 << 10
	keyMapRecordSize = 8 // per record walked: id and position
	keyMapIDBytes    = 4 // per key, in latest
)

func newKeyMap() *keyMap {
	m := &keyMap{frees: [2]func(){func() {}, func() {}}}
	m.slots, m.frees[0] = allocSlots(minKeyMapSlots)
	return m
}

func allocSlots(n int) ([]keySlot, func()) {
	b, free := allocOffHeap(n * keySlotBytes)
	return unsafe.Slice((*keySlot)(unsafe.Pointer(&b[0])), n), free
}

// free releases the map's memory; the map must not be used after.
func (m *keyMap) free() {
	m.frees[0]()
	m.frees[1]()
	m.slots, m.latest = nil, nil
}

// appendLatest adds an id's entry to latest, doubling it off the heap.
func (m *keyMap) appendLatest(ord uint32) {
	if len(m.latest) == cap(m.latest) {
		n := max(2*cap(m.latest), 1<<12)
		b, free := allocOffHeap(n * keyMapIDBytes)
		grown := unsafe.Slice((*uint32)(unsafe.Pointer(&b[0])), n)[:len(m.latest)]
		copy(grown, m.latest)
		m.frees[1]()
		m.latest, m.frees[1] = grown, free
	}
	m.latest = append(m.latest, ord)
}

// keyDigest is the 96-bit digest of a key.
type keyDigest struct {
	h0 uint64
	h1 uint32
}

// put records ord as the ordinal of the latest record of the key with
// digest d and returns the key's id. Ordinals must be put in increasing
// order.
func (m *keyMap) put(d keyDigest, ord uint32) uint32 {
	mask := uint64(len(m.slots) - 1)
	for i := d.h0 & mask; ; i = (i + 1) & mask {
		s := &m.slots[i]
		if s.id == 0 {
			id := uint32(len(m.latest))
			*s = keySlot{h0: d.h0, h1: d.h1, id: id + 1}
			m.appendLatest(ord)
			if 4*len(m.latest) > 3*len(m.slots) {
				m.grow()
			}
			return id
		}
		if s.h0 == d.h0 && s.h1 == d.h1 {
			m.latest[s.id-1] = ord
			return s.id - 1
		}
	}
}

// id returns the id of the key, if it is in the map.
func (m *keyMap) id(key []byte) (uint32, bool) {
	d := digestKey(key)
	mask := uint64(len(m.slots) - 1)
	for i := d.h0 & mask; ; i = (i + 1) & mask {
		s := &m.slots[i]
		if s.id == 0 {
			return 0, false
		}
		if s.h0 == d.h0 && s.h1 == d.h1 {
			return s.id - 1, true
		}
	}
}

// has reports whether key is in the map.
func (m *keyMap) has(key []byte) bool {
	_, ok := m.id(key)
	return ok
}

func (m *keyMap) grow() {
	old, freeOld := m.slots, m.frees[0]
	defer freeOld()
	m.slots, m.frees[0] = allocSlots(2 * len(old))
	mask := uint64(len(m.slots) - 1)
	for _, s := range old {
		if s.id == 0 {
			continue
		}
		i := s.h0 & mask
		for m.slots[i].id != 0 {
			i = (i + 1) & mask
		}
		m.slots[i] = s
	}
}

// len is the number of distinct keys.
func (m *keyMap) len() int { return len(m.latest) }

// bytes is the memory the map holds.
func (m *keyMap) bytes() int64 {
	return int64(cap(m.slots))*keySlotBytes + int64(cap(m.latest))*keyMapIDBytes
}
