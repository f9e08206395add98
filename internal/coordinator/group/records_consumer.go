package group

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kbin"
)

// This file encodes and decodes the KIP-848 consumer group records of
// __consumer_offsets in Kafka 4.x's schemas (group-coordinator's
// ConsumerGroup*Key/Value, docs/format/consumer-offsets.md). kmsg has no
// types for them, so they are written field by field with kbin.
//
// A key is the record type (Kafka's CoordinatorRecordType, written where
// older keys have their version) followed by the key's fields in the
// non-flexible encoding. A value is an int16 value version (0, the only
// one Kafka defines) followed by the fields in the flexible encoding:
// compact strings and arrays, and a tagged-field section after every
// struct.

// Record types of the KIP-848 consumer group records.
const (
	keyConsumerGroupMetadata      = 3 // group epoch
	keyConsumerGroupPartitionMeta = 4 // subscribed topic metadata: read past, not written
	keyConsumerGroupMember        = 5 // member metadata (subscription, client)
	keyConsumerGroupTargetMeta    = 6 // target assignment epoch
	keyConsumerGroupTargetMember  = 7 // a member's target assignment
	keyConsumerGroupCurrent       = 8 // a member's current assignment and epochs
	keyConsumerGroupRegex         = 16
)

// consumerValueVersion is the value version of every consumer group record.
const consumerValueVersion = 0

// The member states of ConsumerGroupCurrentMemberAssignmentValue.State
// (Kafka's MemberState).
const (
	memberStable               int8 = 0 // owns its whole target
	memberUnrevokedPartitions  int8 = 1 // must first give up partitions
	memberUnreleasedPartitions int8 = 2 // waits for partitions others still own
)

// idPartitions is one topic's partitions, the topic named by id.
type idPartitions struct {
	topicID    [16]byte
	partitions []int32
}

// consumerGroupMetadata is ConsumerGroupMetadataValue.
type consumerGroupMetadata struct {
	epoch        int32
	metadataHash int64 // tag 0 (Kafka 4.1+); 0 is the default and not written
}

// consumerMemberMetadata is ConsumerGroupMemberMetadataValue. The tagged
// ClassicMemberMetadata (members of a classic group upgraded in place) is
// never written and skipped when read.
type consumerMemberMetadata struct {
	instanceID, rackID     *string
	clientID, clientHost   string
	subscribedTopicNames   []string
	subscribedTopicRegex   *string
	rebalanceTimeoutMillis int32
	serverAssignor         *string
}

// consumerTargetMetadata is ConsumerGroupTargetAssignmentMetadataValue.
type consumerTargetMetadata struct {
	assignmentEpoch int32
	timestampMillis int64 // tag 0 (Kafka 4.3+); 0 is not written
}

// consumerCurrentAssignment is ConsumerGroupCurrentMemberAssignmentValue.
// The per-topic tagged AssignmentEpochs (Kafka 4.3+) is not written and
// skipped when read.
type consumerCurrentAssignment struct {
	memberEpoch, previousMemberEpoch int32
	state                            int8
	assigned, pendingRevocation      []idPartitions
}

// consumerRecord is one decoded consumer group record. For a tombstone
// every value pointer is nil.
type consumerRecord struct {
	typ    int16
	group  string
	member string // types 5, 7 and 8

	metadata     *consumerGroupMetadata
	memberMD     *consumerMemberMetadata
	target       *consumerTargetMetadata
	targetMember *consumerTargetMember
	current      *consumerCurrentAssignment
}

// consumerTargetMember is ConsumerGroupTargetAssignmentMemberValue.
type consumerTargetMember struct {
	partitions []idPartitions
}

func isConsumerKey(typ uint16) bool {
	switch typ {
	case keyConsumerGroupMetadata, keyConsumerGroupPartitionMeta, keyConsumerGroupMember,
		keyConsumerGroupTargetMeta, keyConsumerGroupTargetMember, keyConsumerGroupCurrent, keyConsumerGroupRegex:
		return true
	}
	return false
}

func hasMemberKey(typ int16) bool {
	return typ == keyConsumerGroupMember || typ == keyConsumerGroupTargetMember || typ == keyConsumerGroupCurrent
}

// consumerKey encodes a key of a group-wide record (types 3, 4, 6).
func consumerKey(typ int16, group string) []byte {
	b := kbin.AppendInt16(make([]byte, 0, 4+len(group)), typ)
	return kbin.AppendString(b, group)
}

// consumerMemberKey encodes a key of a per-member record (types 5, 7, 8).
func consumerMemberKey(typ int16, group, member string) []byte {
	b := kbin.AppendInt16(make([]byte, 0, 6+len(group)+len(member)), typ)
	b = kbin.AppendString(b, group)
	return kbin.AppendString(b, member)
}

func (v *consumerGroupMetadata) encode() []byte {
	b := kbin.AppendInt16(nil, consumerValueVersion)
	b = kbin.AppendInt32(b, v.epoch)
	if v.metadataHash == 0 {
		return kbin.AppendUvarint(b, 0)
	}
	b = kbin.AppendUvarint(b, 1) // one tagged field
	b = kbin.AppendUvarint(b, 0) // tag 0: MetadataHash
	b = kbin.AppendUvarint(b, 8)
	return kbin.AppendInt64(b, v.metadataHash)
}

func (v *consumerMemberMetadata) encode() []byte {
	b := kbin.AppendInt16(nil, consumerValueVersion)
	b = kbin.AppendCompactNullableString(b, v.instanceID)
	b = kbin.AppendCompactNullableString(b, v.rackID)
	b = kbin.AppendCompactString(b, v.clientID)
	b = kbin.AppendCompactString(b, v.clientHost)
	b = kbin.AppendCompactArrayLen(b, len(v.subscribedTopicNames))
	for _, t := range v.subscribedTopicNames {
		b = kbin.AppendCompactString(b, t)
	}
	b = kbin.AppendCompactNullableString(b, v.subscribedTopicRegex)
	b = kbin.AppendInt32(b, v.rebalanceTimeoutMillis)
	b = kbin.AppendCompactNullableString(b, v.serverAssignor)
	return kbin.AppendUvarint(b, 0) // ClassicMemberMetadata (tag 0) is null
}

func (v *consumerTargetMetadata) encode() []byte {
	b := kbin.AppendInt16(nil, consumerValueVersion)
	b = kbin.AppendInt32(b, v.assignmentEpoch)
	if v.timestampMillis == 0 {
		return kbin.AppendUvarint(b, 0)
	}
	b = kbin.AppendUvarint(b, 1)
	b = kbin.AppendUvarint(b, 0) // tag 0: AssignmentTimestamp
	b = kbin.AppendUvarint(b, 8)
	return kbin.AppendInt64(b, v.timestampMillis)
}

func (v *consumerTargetMember) encode() []byte {
	b := kbin.AppendInt16(nil, consumerValueVersion)
	b = appendIDPartitions(b, v.partitions)
	return kbin.AppendUvarint(b, 0)
}

func (v *consumerCurrentAssignment) encode() []byte {
	b := kbin.AppendInt16(nil, consumerValueVersion)
	b = kbin.AppendInt32(b, v.memberEpoch)
	b = kbin.AppendInt32(b, v.previousMemberEpoch)
	b = kbin.AppendInt8(b, v.state)
	b = appendIDPartitions(b, v.assigned)
	b = appendIDPartitions(b, v.pendingRevocation)
	return kbin.AppendUvarint(b, 0)
}

func appendIDPartitions(b []byte, parts []idPartitions) []byte {
	b = kbin.AppendCompactArrayLen(b, len(parts))
	for _, p := range parts {
		b = kbin.AppendUuid(b, p.topicID)
		b = kbin.AppendCompactArrayLen(b, len(p.partitions))
		for _, n := range p.partitions {
			b = kbin.AppendInt32(b, n)
		}
		b = kbin.AppendUvarint(b, 0) // no tagged fields (AssignmentEpochs)
	}
	return b
}

// decodeConsumerRecord decodes a consumer group record. ok is false for
// record types read past without being applied (4 and 16), whose values
// are not decoded.
func decodeConsumerRecord(key, value []byte) (r consumerRecord, ok bool, err error) {
	d := &decoder{Reader: kbin.Reader{Src: key}}
	r.typ = d.Int16()
	if !isConsumerKey(uint16(r.typ)) {
		return r, false, nil
	}
	r.group = d.String()
	if hasMemberKey(r.typ) {
		r.member = d.String()
	}
	if err := d.done(); err != nil {
		return r, false, fmt.Errorf("%w: key of type %d: %v", ErrCorruptRecord, r.typ, err)
	}
	if r.typ == keyConsumerGroupPartitionMeta || r.typ == keyConsumerGroupRegex {
		return r, false, nil
	}
	if value == nil {
		return r, true, nil
	}
	d = &decoder{Reader: kbin.Reader{Src: value}}
	if v := d.Int16(); v != consumerValueVersion && d.Ok() {
		return r, false, fmt.Errorf("%w: type %d value version %d of group %s", ErrCorruptRecord, r.typ, v, r.group)
	}
	switch r.typ {
	case keyConsumerGroupMetadata:
		r.metadata = d.groupMetadata()
	case keyConsumerGroupMember:
		r.memberMD = d.memberMetadata()
	case keyConsumerGroupTargetMeta:
		r.target = d.targetMetadata()
	case keyConsumerGroupTargetMember:
		r.targetMember = &consumerTargetMember{partitions: d.idPartitions()}
		d.tags(nil)
	case keyConsumerGroupCurrent:
		r.current = d.currentAssignment()
	}
	if err := d.done(); err != nil {
		return r, false, fmt.Errorf("%w: type %d value of group %s: %v", ErrCorruptRecord, r.typ, r.group, err)
	}
	return r, true, nil
}

// decoder is a kbin.Reader that also remembers a schema violation (a
// negative array length, a tagged field of the wrong size).
type decoder struct {
	kbin.Reader
	err error
}

var errBadLength = errors.New("invalid length")

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.Src = nil
}

func (d *decoder) ok() bool { return d.err == nil && d.Ok() }

func (d *decoder) done() error {
	if d.err != nil {
		return d.err
	}
	return d.Complete()
}

// arrayLen reads a non-nullable compact array length; the reader already
// checks there is at least one byte left per element.
func (d *decoder) arrayLen() int {
	n := d.CompactArrayLen()
	if n < 0 {
		d.fail(errBadLength)
		return 0
	}
	return int(n)
}

// tags reads a tagged-field section, handing known tags to fn (which must
// consume its reader exactly) and skipping the others.
func (d *decoder) tags(fn func(tag uint32, r *decoder)) {
	n := d.Uvarint()
	for i := uint32(0); i < n && d.ok(); i++ {
		tag := d.Uvarint()
		data := d.Span(int(d.Uvarint()))
		if fn == nil || !d.ok() {
			continue
		}
		sub := &decoder{Reader: kbin.Reader{Src: data}}
		fn(tag, sub)
		if err := sub.done(); err != nil || len(sub.Src) != 0 {
			d.fail(fmt.Errorf("tagged field %d: %w", tag, errBadLength))
		}
	}
}

func (d *decoder) groupMetadata() *consumerGroupMetadata {
	v := &consumerGroupMetadata{epoch: d.Int32()}
	d.tags(func(tag uint32, r *decoder) {
		if tag == 0 {
			v.metadataHash = r.Int64()
		} else {
			r.Src = nil
		}
	})
	return v
}

func (d *decoder) memberMetadata() *consumerMemberMetadata {
	v := &consumerMemberMetadata{}
	v.instanceID = d.CompactNullableString()
	v.rackID = d.CompactNullableString()
	v.clientID = d.CompactString()
	v.clientHost = d.CompactString()
	if n := d.arrayLen(); n > 0 {
		v.subscribedTopicNames = make([]string, n)
		for i := range v.subscribedTopicNames {
			v.subscribedTopicNames[i] = d.CompactString()
		}
	}
	v.subscribedTopicRegex = d.CompactNullableString()
	v.rebalanceTimeoutMillis = d.Int32()
	v.serverAssignor = d.CompactNullableString()
	d.tags(nil)
	return v
}

func (d *decoder) targetMetadata() *consumerTargetMetadata {
	v := &consumerTargetMetadata{assignmentEpoch: d.Int32()}
	d.tags(func(tag uint32, r *decoder) {
		if tag == 0 {
			v.timestampMillis = r.Int64()
		} else {
			r.Src = nil
		}
	})
	return v
}

func (d *decoder) currentAssignment() *consumerCurrentAssignment {
	v := &consumerCurrentAssignment{memberEpoch: d.Int32(), previousMemberEpoch: d.Int32(), state: d.Int8()}
	v.assigned = d.idPartitions()
	v.pendingRevocation = d.idPartitions()
	d.tags(nil)
	return v
}

func (d *decoder) idPartitions() []idPartitions {
	n := d.arrayLen()
	if n == 0 {
		return nil
	}
	out := make([]idPartitions, n)
	for i := range out {
		out[i].topicID = d.Uuid()
		if m := d.arrayLen(); m > 0 {
			out[i].partitions = make([]int32, m)
			for j := range out[i].partitions {
				out[i].partitions[j] = d.Int32()
			}
		}
		d.tags(nil) // AssignmentEpochs (tag 0) is not used
	}
	return out
}
