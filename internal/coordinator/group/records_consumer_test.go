package group

import (
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kbin"
)

// encodeValue is the inverse of the value half of decodeConsumerRecord.
func (r *consumerRecord) encodeValue() []byte {
	switch {
	case r.metadata != nil:
		return r.metadata.encode()
	case r.memberMD != nil:
		return r.memberMD.encode()
	case r.target != nil:
		return r.target.encode()
	case r.targetMember != nil:
		return r.targetMember.encode()
	case r.current != nil:
		return r.current.encode()
	}
	return nil
}

func (r *consumerRecord) encodeKey() []byte {
	if hasMemberKey(r.typ) {
		return consumerMemberKey(r.typ, r.group, r.member)
	}
	return consumerKey(r.typ, r.group)
}

func sp(s string) *string { return &s }

func sampleConsumerRecords() []consumerRecord {
	t1, t2 := [16]byte{1, 2, 3}, [16]byte{0xff, 9}
	return []consumerRecord{
		{typ: keyConsumerGroupMetadata, group: "g", metadata: &consumerGroupMetadata{epoch: 7}},
		{typ: keyConsumerGroupMetadata, group: "g", metadata: &consumerGroupMetadata{epoch: 8, metadataHash: -12345}},
		{typ: keyConsumerGroupMetadata, group: "g"}, // tombstone
		{typ: keyConsumerGroupMember, group: "g", member: "m1", memberMD: &consumerMemberMetadata{
			clientID: "c", clientHost: "/127.0.0.1", subscribedTopicNames: []string{"a", "b"}, rebalanceTimeoutMillis: 45000}},
		{typ: keyConsumerGroupMember, group: "g", member: "m2", memberMD: &consumerMemberMetadata{
			instanceID: sp("i"), rackID: sp("r"), clientID: "c2", clientHost: "/::1",
			subscribedTopicRegex: sp("t.*"), rebalanceTimeoutMillis: -1, serverAssignor: sp("range")}},
		{typ: keyConsumerGroupMember, group: "g", member: "m2"},
		{typ: keyConsumerGroupTargetMeta, group: "g", target: &consumerTargetMetadata{assignmentEpoch: 3}},
		{typ: keyConsumerGroupTargetMeta, group: "g", target: &consumerTargetMetadata{assignmentEpoch: 4, timestampMillis: 1_700_000_000_000}},
		{typ: keyConsumerGroupTargetMember, group: "g", member: "m1", targetMember: &consumerTargetMember{}},
		{typ: keyConsumerGroupTargetMember, group: "g", member: "m1", targetMember: &consumerTargetMember{
			partitions: []idPartitions{{t1, []int32{0, 2}}, {t2, nil}}}},
		{typ: keyConsumerGroupCurrent, group: "g", member: "m1", current: &consumerCurrentAssignment{
			memberEpoch: 5, previousMemberEpoch: 4, state: memberUnrevokedPartitions,
			assigned: []idPartitions{{t1, []int32{1}}}, pendingRevocation: []idPartitions{{t2, []int32{0, 1}}}}},
		{typ: keyConsumerGroupCurrent, group: "g", member: "m1"},
		{typ: keyConsumerGroupMetadata, group: strings.Repeat("é", 100), metadata: &consumerGroupMetadata{epoch: 1 << 30}},
	}
}

func TestConsumerRecordsRoundTrip(t *testing.T) {
	for _, want := range sampleConsumerRecords() {
		got, ok, err := decodeConsumerRecord(want.encodeKey(), want.encodeValue())
		if err != nil || !ok {
			t.Fatalf("type %d: ok %v err %v", want.typ, ok, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("type %d:\n got %+v\nwant %+v", want.typ, got, want)
		}
	}
}

// TestConsumerRecordBytes pins the encoding to Kafka's schemas byte by byte
// (the examples of docs/format/consumer-offsets.md).
func TestConsumerRecordBytes(t *testing.T) {
	id := [16]byte{0: 0xaa, 15: 0xbb}
	for _, c := range []struct {
		name string
		got  []byte
		want string
	}{
		{"metadata key", consumerKey(keyConsumerGroupMetadata, "g"), "0003 0001 67"},
		{"member key", consumerMemberKey(keyConsumerGroupCurrent, "g", "m"), "0008 0001 67 0001 6d"},
		{"metadata", (&consumerGroupMetadata{epoch: 5}).encode(), "0000 00000005 00"},
		{"metadata with hash", (&consumerGroupMetadata{epoch: 5, metadataHash: 1}).encode(), "0000 00000005 01 00 08 0000000000000001"},
		{"member", (&consumerMemberMetadata{clientID: "c", clientHost: "h", subscribedTopicNames: []string{"t"},
			rebalanceTimeoutMillis: 300000, serverAssignor: sp("uniform")}).encode(),
			"0000 00 00 02 63 02 68 02 02 74 00 000493e0 08 756e69666f726d 00"},
		{"target metadata", (&consumerTargetMetadata{assignmentEpoch: 2}).encode(), "0000 00000002 00"},
		{"target member", (&consumerTargetMember{partitions: []idPartitions{{id, []int32{0, 3}}}}).encode(),
			"0000 02 aa0000000000000000000000000000bb 03 00000000 00000003 00 00"},
		{"current", (&consumerCurrentAssignment{memberEpoch: 3, previousMemberEpoch: 2, state: memberStable,
			assigned: []idPartitions{{id, []int32{1}}}}).encode(),
			"0000 00000003 00000002 00 02 aa0000000000000000000000000000bb 02 00000001 00 01 00"},
	} {
		if want := strings.ReplaceAll(c.want, " ", ""); hex.EncodeToString(c.got) != want {
			t.Errorf("%s: %x, want %s", c.name, c.got, want)
		}
	}
}

// TestConsumerRecordsForwardCompatible: tagged fields Samsa does not know
// (or ignores, like Kafka 4.3's AssignmentEpochs) are skipped; other value
// versions and broken lengths are errors, not panics.
func TestConsumerRecordsForwardCompatible(t *testing.T) {
	id := [16]byte{7}
	v := kbin.AppendInt16(nil, 0)
	v = kbin.AppendInt32(v, 9)
	v = kbin.AppendInt32(v, 8)
	v = kbin.AppendInt8(v, memberStable)
	v = kbin.AppendCompactArrayLen(v, 1)
	v = kbin.AppendUuid(v, id)
	v = kbin.AppendCompactArrayLen(v, 1)
	v = kbin.AppendInt32(v, 4)
	v = kbin.AppendUvarint(v, 1) // AssignmentEpochs, tag 0
	v = kbin.AppendUvarint(v, 0)
	v = kbin.AppendUvarint(v, 6)
	v = kbin.AppendCompactArrayLen(v, 1)
	v = kbin.AppendInt32(v, 9)
	v = kbin.AppendUvarint(v, 0) // struct tags
	v = kbin.AppendCompactArrayLen(v, 0)
	v = kbin.AppendUvarint(v, 1) // an unknown tag 5 of the value
	v = kbin.AppendUvarint(v, 5)
	v = kbin.AppendUvarint(v, 3)
	v = append(v, 1, 2, 3)
	key := consumerMemberKey(keyConsumerGroupCurrent, "g", "m")
	r, ok, err := decodeConsumerRecord(key, v)
	if err != nil || !ok {
		t.Fatalf("decode: %v", err)
	}
	want := &consumerCurrentAssignment{memberEpoch: 9, previousMemberEpoch: 8, assigned: []idPartitions{{id, []int32{4}}}}
	if !reflect.DeepEqual(r.current, want) {
		t.Fatalf("got %+v", r.current)
	}
	bad := map[string][]byte{
		"version 1":         append([]byte{0, 1}, v[2:]...),
		"truncated":         v[:len(v)-1],
		"negative array":    append(slicesClone(v[:11]), 0xfe, 0xff, 0xff, 0xff, 0x0f),
		"short tagged hash": {0, 0, 0, 0, 0, 1, 1, 0, 2, 1, 2},
	}
	for name, val := range bad {
		k := key
		if name == "short tagged hash" {
			k = consumerKey(keyConsumerGroupMetadata, "g")
		}
		if _, _, err := decodeConsumerRecord(k, val); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	// Types 4 and 16 are read past, whatever their value.
	for _, typ := range []int16{keyConsumerGroupPartitionMeta, keyConsumerGroupRegex} {
		if _, ok, err := decodeConsumerRecord(consumerKey(typ, "g"), []byte{9}); ok || err != nil {
			t.Errorf("type %d: ok %v err %v", typ, ok, err)
		}
	}
}

func slicesClone(b []byte) []byte { return append([]byte(nil), b...) }

// FuzzDecodeConsumerRecord: no input panics or hangs, and whatever decodes
// encodes back to something that decodes the same.
func FuzzDecodeConsumerRecord(f *testing.F) {
	for _, r := range sampleConsumerRecords() {
		f.Add(r.encodeKey(), r.encodeValue())
	}
	f.Add([]byte{0, 8, 0, 0}, []byte{0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, key, value []byte) {
		r, ok, err := decodeConsumerRecord(key, value)
		if err != nil || !ok {
			return
		}
		again, ok, err := decodeConsumerRecord(r.encodeKey(), r.encodeValue())
		if err != nil || !ok {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !reflect.DeepEqual(normalize(r), normalize(again)) {
			t.Fatalf("round trip:\n%+v\n%+v", r, again)
		}
	})
}

// normalize maps empty slices to nil: the encoding does not tell them
// apart for non-nullable arrays.
func normalize(r consumerRecord) consumerRecord {
	fix := func(ps []idPartitions) []idPartitions {
		if len(ps) == 0 {
			return nil
		}
		out := make([]idPartitions, len(ps))
		for i, p := range ps {
			out[i] = p
			if len(p.partitions) == 0 {
				out[i].partitions = nil
			}
		}
		return out
	}
	if r.targetMember != nil {
		r.targetMember = &consumerTargetMember{partitions: fix(r.targetMember.partitions)}
	}
	if r.current != nil {
		c := *r.current
		c.assigned, c.pendingRevocation = fix(c.assigned), fix(c.pendingRevocation)
		r.current = &c
	}
	if r.memberMD != nil && len(r.memberMD.subscribedTopicNames) == 0 {
		m := *r.memberMD
		m.subscribedTopicNames = nil
		r.memberMD = &m
	}
	return r
}

func TestConsumerKeyNotConsumer(t *testing.T) {
	if _, ok, err := decodeConsumerRecord([]byte{0, 2, 0, 0}, nil); ok || err != nil {
		t.Fatalf("group metadata key decoded as a consumer record: %v %v", ok, err)
	}
	if _, _, err := decodeConsumerRecord([]byte{0, 3, 0}, nil); err == nil {
		t.Fatal("short key decoded")
	}
}
