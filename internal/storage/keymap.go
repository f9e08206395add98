package storage

import (
	"hash/maphash"
	"math"
)

// keyMap is the cleaner's map of the keys of the dirty range. Like Kafka's
// SkimpyOffsetMap it keeps a digest of each key, not the key, in an
// open-addressing table with linear probing. The digest has 96 bits: two
// distinct keys of one log share one with a probability of about n^2/2^97
// for n keys (below 10^-11 for a billion keys).
//
// Each distinct key gets a dense id, in order of first sight, and the map
// keeps by id the ordinal of the key's latest record: the map pass numbers
// every record it walks and notes each one's key id and position, so the
// rewriting pass knows which records to keep without hashing a key,
// probing the table or even reading the records it drops. Records outside
// the mapped range (all older than it) are looked up by key: such a record
// is obsolete if its key is in the map at all.
type keyMap struct {
	seeds  [2]maphash.Seed
	slots  []keySlot // len is a power of two; at most 3/4 full
	latest []uint32  // by id: the ordinal of the key's latest record
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
	return &keyMap{
		seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		slots: make([]keySlot, minKeyMapSlots),
	}
}

// keyDigest is the 96-bit digest of a key.
type keyDigest struct {
	h0 uint64
	h1 uint32
}

func (m *keyMap) digest(key []byte) keyDigest {
	return keyDigest{maphash.Bytes(m.seeds[0], key), uint32(maphash.Bytes(m.seeds[1], key))}
}

// put records ord as the ordinal of key's latest record and returns the
// key's id. Ordinals must be put in increasing order.
func (m *keyMap) put(key []byte, ord uint32) uint32 {
	d := m.digest(key)
	mask := uint64(len(m.slots) - 1)
	for i := d.h0 & mask; ; i = (i + 1) & mask {
		s := &m.slots[i]
		if s.id == 0 {
			id := uint32(len(m.latest))
			*s = keySlot{h0: d.h0, h1: d.h1, id: id + 1}
			m.latest = append(m.latest, ord)
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

// has reports whether key is in the map.
func (m *keyMap) has(key []byte) bool {
	d := m.digest(key)
	mask := uint64(len(m.slots) - 1)
	for i := d.h0 & mask; ; i = (i + 1) & mask {
		s := &m.slots[i]
		if s.id == 0 {
			return false
		}
		if s.h0 == d.h0 && s.h1 == d.h1 {
			return true
		}
	}
}

func (m *keyMap) grow() {
	old := m.slots
	m.slots = make([]keySlot, 2*len(old))
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
