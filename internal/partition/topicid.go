package partition

import "encoding/base64"

// uuidString is a topic id in Kafka's text form (URL-safe base64, no
// padding), as partition.metadata holds it.
func uuidString(id [16]byte) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// damagedTopicID reports whether a log's stored topic id, which differs
// from the id the cluster metadata has for the same topic name, is a
// missing or damaged partition.metadata rather than a log of an older
// topic of that name: the id is zero (the file was missing or could not
// be read, and was set aside), or its text form is one character away
// from the metadata's (a damaged byte; two random ids are that close with
// a probability of about 2^-120).
func damagedTopicID(stored, want [16]byte) bool {
	if stored == ([16]byte{}) {
		return true
	}
	a, b := uuidString(stored), uuidString(want)
	diff := 0
	for i := range a {
		if a[i] != b[i] {
			diff++
		}
	}
	return diff <= 1
}
