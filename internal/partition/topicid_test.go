package partition

import "testing"

// TestDamagedTopicID: a stored topic id that is zero or one text
// character from the cluster's is a damaged partition.metadata (the log is
// kept and the file rewritten); any other id is an older topic's.
func TestDamagedTopicID(t *testing.T) {
	want := [16]byte{0x3c, 0x91, 0x07, 0xaa, 0x52, 0x10, 0xee, 0x4f, 0x81, 0x2d, 0x66, 0x09, 0xb3, 0x70, 0x1e, 0xc5}
	oneBit := want
	oneBit[5] ^= 0x04
	twoBytes := want
	twoBytes[0] ^= 0xff
	twoBytes[15] ^= 0xff
	other := [16]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	for _, c := range []struct {
		name   string
		stored [16]byte
		want   bool
	}{
		{"zero (missing or unreadable file)", [16]byte{}, true},
		{"one bit flipped", oneBit, true},
		{"two bytes far apart", twoBytes, false},
		{"another topic", other, false},
	} {
		if got := damagedTopicID(c.stored, want); got != c.want {
			t.Errorf("%s: %s against %s: %v, want %v", c.name, uuidString(c.stored), uuidString(want), got, c.want)
		}
	}
}
