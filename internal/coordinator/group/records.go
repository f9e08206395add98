package group

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/record"
)

// Topic is the internal compacted topic holding committed offsets and group
// metadata.
const Topic = "__consumer_offsets"

// Key versions of __consumer_offsets records (Kafka's CoordinatorRecord
// types): 0 and 1 are offset commits, 2 is group metadata.
const (
	keyOffsetCommitV0 = 0
	keyOffsetCommitV1 = 1
	keyGroupMetadata  = 2
)

// The value versions Samsa writes: those Kafka 3.x and 4.0 write for a
// classic group without an expire timestamp.
const (
	offsetValueVersion = 3
	groupValueVersion  = 3
)

// ErrCorruptRecord is wrapped by errors about __consumer_offsets records
// that do not decode. Loading skips such records and logs them.
var ErrCorruptRecord = errors.New("corrupt __consumer_offsets record")

// Record is one key/value pair of __consumer_offsets. A nil Value is a
// tombstone.
type Record struct {
	Key, Value []byte
}

// PartitionFor is the __consumer_offsets partition of a group, Kafka's
// Utils.abs(groupId.hashCode()) % n (abs masks the sign bit).
func PartitionFor(group string, n int32) int32 {
	return int32(javaStringHash(group)&0x7fffffff) % n
}

// javaStringHash is java.lang.String.hashCode over UTF-16 code units.
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + int32(0xd800+(r>>10))
			h = 31*h + int32(0xdc00+(r&0x3ff))
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}

func offsetKey(group, topic string, partition int32) []byte {
	k := kmsg.OffsetCommitKey{Version: keyOffsetCommitV1, Group: group, Topic: topic, Partition: partition}
	return k.AppendTo(nil)
}

func offsetValue(o offset) []byte {
	v := kmsg.NewOffsetCommitValue()
	v.Version = offsetValueVersion
	v.Offset, v.LeaderEpoch, v.Metadata, v.CommitTimestamp = o.offset, o.leaderEpoch, o.metadata, o.commitMs
	return v.AppendTo(nil)
}

func groupKey(group string) []byte {
	k := kmsg.GroupMetadataKey{Version: keyGroupMetadata, Group: group}
	return k.AppendTo(nil)
}

func groupValue(g *group) []byte {
	v := kmsg.NewGroupMetadataValue()
	v.Version = groupValueVersion
	v.ProtocolType = g.protocolType
	v.Generation = g.generation
	if g.protocol != "" {
		v.Protocol = &g.protocol
	}
	if g.leader != "" {
		v.Leader = &g.leader
	}
	v.CurrentStateTimestamp = g.stateSince.UnixMilli()
	for _, id := range g.order {
		m := g.members[id]
		vm := kmsg.NewGroupMetadataValueMember()
		vm.MemberID = m.id
		vm.InstanceID = strPtr(m.instanceID)
		vm.ClientID, vm.ClientHost = m.clientID, m.clientHost
		vm.RebalanceTimeoutMillis = int32(m.rebalanceTimeout.Milliseconds())
		vm.SessionTimeoutMillis = int32(m.sessionTimeout.Milliseconds())
		vm.Subscription = m.metadataFor(g.protocol)
		vm.Assignment = m.assignment
		v.Members = append(v.Members, vm)
	}
	return v.AppendTo(nil)
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// decoded is one __consumer_offsets record after decoding.
type decoded struct {
	group string
	// For offset commits (isOffset):
	isOffset  bool
	topic     string
	partition int32
	offset    *kmsg.OffsetCommitValue // nil: tombstone
	// For group metadata:
	meta *kmsg.GroupMetadataValue // nil: tombstone
}

// decodeRecord decodes a key and value. Unknown key versions (Kafka's
// KIP-848 and share-group records) are reported as ok=false, not errors.
func decodeRecord(key, value []byte) (d decoded, ok bool, err error) {
	if len(key) < 2 {
		return d, false, fmt.Errorf("%w: key of %d bytes", ErrCorruptRecord, len(key))
	}
	switch binary.BigEndian.Uint16(key) {
	case keyOffsetCommitV0, keyOffsetCommitV1:
		var k kmsg.OffsetCommitKey
		if err := k.ReadFrom(key); err != nil {
			return d, false, fmt.Errorf("%w: offset key: %v", ErrCorruptRecord, err)
		}
		d = decoded{group: k.Group, isOffset: true, topic: k.Topic, partition: k.Partition}
		if value != nil {
			var v kmsg.OffsetCommitValue
			if err := v.ReadFrom(value); err != nil {
				return d, false, fmt.Errorf("%w: offset value of %s/%s/%d: %v", ErrCorruptRecord, k.Group, k.Topic, k.Partition, err)
			}
			d.offset = &v
		}
		return d, true, nil
	case keyGroupMetadata:
		var k kmsg.GroupMetadataKey
		if err := k.ReadFrom(key); err != nil {
			return d, false, fmt.Errorf("%w: group key: %v", ErrCorruptRecord, err)
		}
		d = decoded{group: k.Group}
		if value != nil {
			var v kmsg.GroupMetadataValue
			if err := v.ReadFrom(value); err != nil {
				return d, false, fmt.Errorf("%w: group value of %s: %v", ErrCorruptRecord, k.Group, err)
			}
			d.meta = &v
		}
		return d, true, nil
	}
	return d, false, nil
}

// EncodeBatch builds one uncompressed v2 record batch holding recs, with
// offsets to be assigned by the log and no producer id.
func EncodeBatch(recs []Record, nowMs int64) []byte {
	krs := make([]kmsg.Record, len(recs))
	for i, r := range recs {
		krs[i] = kmsg.Record{Key: r.Key, Value: r.Value}
	}
	return record.NewBatch(nowMs, krs...)
}

// EncodeTxnBatch builds the transactional batch of a TxnOffsetCommit:
// uncompressed, producer id and epoch of the transaction, no sequence
// (the log checks only the epoch of coordinator writes).
func EncodeTxnBatch(recs []Record, p Producer, nowMs int64) []byte {
	krs := make([]kmsg.Record, len(recs))
	for i, r := range recs {
		krs[i] = kmsg.Record{Key: r.Key, Value: r.Value, OffsetDelta: int32(i)}
	}
	return record.EncodeBatch(&kmsg.RecordBatch{
		FirstTimestamp: nowMs, MaxTimestamp: nowMs, ProducerID: p.ID, ProducerEpoch: p.Epoch,
		FirstSequence: -1, Attributes: record.TransactionalBit,
	}, krs)
}

// Entry is one record of __consumer_offsets as WalkLog reads it, with
// what its batch says about transactions.
type Entry struct {
	Offset     int64
	Key, Value []byte
	// ProducerID is the batch's producer id (-1: none); Transactional
	// says the record belongs to a transaction of that producer, still
	// open until its marker.
	ProducerID    int64
	Transactional bool
	// Control marks a transaction marker of ProducerID (Key and Value
	// are those of the control record); Commit says which kind.
	Control, Commit bool
}

// Control record types (the int16 after the version in a control
// record's key).
const (
	controlAbort  = 0
	controlCommit = 1
)

// WalkBatches calls fn with the offset, key and value of every record in a
// run of v2 batches (compressed ones too: the log cleaner may write them)
// and returns the offset after the last whole batch. A trailing partial
// batch (a read cut at a byte limit) is ignored, as are control batches
// (transaction markers); WalkLog sees those.
func WalkBatches(data []byte, fn func(offset int64, key, value []byte)) (next int64, err error) {
	return WalkLog(data, func(e *Entry) {
		if !e.Control {
			fn(e.Offset, e.Key, e.Value)
		}
	})
}

// WalkLog is WalkBatches that also reports the producer of each record,
// whether it is transactional, and the transaction markers (COMMIT and
// ABORT control records; other control types are skipped). fn must not
// keep e or its slices.
func WalkLog(data []byte, fn func(e *Entry)) (next int64, err error) {
	next = -1
	var buf []byte
	for len(data) >= record.HeaderSize {
		n := int64(int32(binary.BigEndian.Uint32(data[8:]))) + record.LengthOffset
		if n < record.HeaderSize {
			return next, fmt.Errorf("%w: batch length %d", ErrCorruptRecord, n)
		}
		if n > int64(len(data)) {
			break
		}
		batch := data[:n]
		data = data[n:]
		h, err := record.ParseHeader(batch)
		if err != nil {
			return next, fmt.Errorf("%w: %w", ErrCorruptRecord, err)
		}
		next = h.LastOffset() + 1
		recs, err := record.BatchRecords(buf[:0], batch, &h)
		if err != nil {
			return next, fmt.Errorf("%w: batch at offset %d: %w", ErrCorruptRecord, h.BaseOffset, err)
		}
		if h.Compression() != record.CompressionNone {
			buf = recs
		}
		control := h.IsControl()
		err = record.WalkRecords(recs, h.NumRecords, func(r *record.Record) error {
			e := Entry{Offset: h.BaseOffset + int64(r.OffsetDelta), Key: r.Key, Value: r.Value,
				ProducerID: h.ProducerID, Transactional: h.IsTransactional() && !control}
			if control {
				if len(r.Key) < 4 {
					return nil // not a transaction marker
				}
				switch binary.BigEndian.Uint16(r.Key[2:]) {
				case controlAbort:
				case controlCommit:
					e.Commit = true
				default:
					return nil
				}
				e.Control = true
			}
			fn(&e)
			return nil
		})
		if err != nil {
			return next, fmt.Errorf("%w: batch at offset %d: %w", ErrCorruptRecord, h.BaseOffset, err)
		}
	}
	return next, nil
}
