package metadata

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

func topicRecs(name string, id byte, parts int) []Record {
	u := UUID{id}
	recs := []Record{{Type: TypeTopic, Topic: &TopicRecord{Name: name, ID: u}}}
	for p := 0; p < parts; p++ {
		recs = append(recs, Record{Type: TypePartition, Partition: &PartitionRecord{TopicID: u, Partition: int32(p), Replicas: []int32{1}, Leader: 1}})
	}
	return recs
}

func commitAll(t *testing.T, s *Store) {
	t.Helper()
	commit := func(recs []Record) {
		t.Helper()
		if _, err := s.Commit(func(*Image) ([]Record, error) { return recs, nil }); err != nil {
			t.Fatal(err)
		}
	}
	commit(topicRecs("a", 1, 3))
	commit(topicRecs("b", 2, 1))
	v := "compact"
	commit([]Record{{Type: TypeConfig, Config: &ConfigRecord{ResourceType: ResourceTopic, ResourceName: "a", Name: "cleanup.policy", Value: &v}}})
	commit([]Record{{Type: TypeRemoveTopic, RemoveTopic: &RemoveTopicRecord{ID: UUID{2}}}})
	commit([]Record{{Type: TypeProducerIDs, ProducerIDs: &ProducerIDsRecord{BrokerID: 1, Start: 0, Size: 1000}}})
	commit([]Record{{Type: TypeBroker, Broker: &BrokerRecord{ID: 1, Host: "h", Port: 9092, Incarnation: "x"}}})
	// A plan contradicting the image writes nothing.
	if _, err := s.Commit(func(*Image) ([]Record, error) { return topicRecs("a", 9, 1), nil }); err == nil {
		t.Fatal("duplicate topic committed")
	}
}

func checkImage(t *testing.T, got *Image, wantOffset int64) {
	t.Helper()
	if got.Offset != wantOffset || len(got.topics) != 1 || got.NextProducerID() != 1000 {
		t.Fatalf("image: offset %d/%d topics %v next pid %d", got.Offset, wantOffset, got.TopicNames(), got.NextProducerID())
	}
	a, ok := got.Topic("a")
	if !ok || len(a.Partitions) != 3 || got.Configs(ResourceTopic, "a")["cleanup.policy"] != "compact" {
		t.Fatalf("topic a: %+v", a)
	}
	if _, ok := got.TopicByID(UUID{2}); ok {
		t.Fatal("removed topic came back")
	}
}

func TestCommitReplay(t *testing.T) {
	for _, snapEvery := range []uint64{0, 2} { // 0: no snapshot taken; 2: replay from a snapshot
		dir := t.TempDir()
		s, err := OpenWith(Options{Dir: dir, NodeID: 1, SnapshotEntries: snapEvery})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		commitAll(t, s)
		want := s.Image()
		checkImage(t, want, want.Offset)
		s.Close()

		s2, err := OpenWith(Options{Dir: dir, NodeID: 1, SnapshotEntries: snapEvery})
		if err != nil {
			t.Fatal(err)
		}
		checkImage(t, s2.Image(), want.Offset)
		if b, ok := s2.Image().Broker(1); !ok || b.Port != 9092 {
			t.Fatalf("broker after replay: %+v", b)
		}
		// It goes on committing after the restart.
		if err := s2.Start(); err != nil {
			t.Fatal(err)
		}
		if _, err := s2.Commit(func(*Image) ([]Record, error) { return topicRecs("c", 3, 1), nil }); err != nil {
			t.Fatal(err)
		}
		s2.Close()
	}
}

// A data directory of a single-node Samsa from before the quorum: its
// metadata log (with a torn tail, as a crash leaves it) is imported once.
func TestLegacyLogImported(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LogFile)
	l, _, err := openLog(path)
	if err != nil {
		t.Fatal(err)
	}
	v := "compact"
	for _, recs := range [][]Record{
		topicRecs("a", 1, 3), topicRecs("b", 2, 1),
		{{Type: TypeConfig, Config: &ConfigRecord{ResourceType: ResourceTopic, ResourceName: "a", Name: "cleanup.policy", Value: &v}}},
		{{Type: TypeRemoveTopic, RemoveTopic: &RemoveTopicRecord{ID: UUID{2}}}},
		{{Type: TypeProducerIDs, ProducerIDs: &ProducerIDsRecord{BrokerID: 1, Start: 0, Size: 1000}}},
	} {
		if err := l.append(recs); err != nil {
			t.Fatal(err)
		}
	}
	l.close()
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{0, 0, 0, 50, 1, 2})
	f.Close()

	s, err := OpenWith(Options{Dir: dir, NodeID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !s.ImportPending() {
		t.Fatal("no import pending")
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	checkImage(t, s.Image(), 9)
	s.Close()
	if _, err := os.Stat(path + ".imported"); err != nil {
		t.Fatal("legacy log not renamed after import")
	}
	s2, err := Open(dir, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	checkImage(t, s2.Image(), 9)
}

func TestCorruptFramesStopReplay(t *testing.T) {
	recs, n := parseFrames([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1})
	if len(recs) != 0 || n != 0 {
		t.Fatal("garbage accepted")
	}
	if _, err := decode([]byte(`{"type":"topic"}`)); !errors.Is(err, ErrCorrupt) {
		t.Fatal("record without body accepted")
	}
}

func FuzzParseFrames(f *testing.F) {
	f.Add([]byte{0, 0, 0, 2, 0, 0, 0, 0, '{', '}'})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, n := parseFrames(b)
		if n > int64(len(b)) || (n == 0 && len(recs) > 0) {
			t.Fatalf("bad prefix %d of %d", n, len(b))
		}
		im := emptyImage()
		for _, r := range recs {
			if next, err := im.apply(r); err == nil {
				im = next
			}
		}
	})
}

func TestTopicNames(t *testing.T) {
	long := make([]byte, 250)
	for i := range long {
		long[i] = 'a'
	}
	for _, bad := range []string{"", ".", "..", "a b", "ü", string(long)} {
		if err := ValidateTopicName(bad); !errors.Is(err, ErrInvalidTopic) {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{"a", "a.b_c-D9", string(long[:249])} {
		if err := ValidateTopicName(good); err != nil {
			t.Errorf("%q rejected: %v", good, err)
		}
	}
	im := emptyImage()
	recs, err := CreateTopicRecords(im, CreateTopic{Name: "x.y", Partitions: 2, ReplicationFactor: 1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if im, err = im.apply(r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := CreateTopicRecords(im, CreateTopic{Name: "x_y", Partitions: 1, ReplicationFactor: 1}, 1); !errors.Is(err, ErrInvalidTopic) {
		t.Fatalf("collision accepted: %v", err)
	}
	if _, err := CreateTopicRecords(im, CreateTopic{Name: "__consumer_offsets", Partitions: 1, ReplicationFactor: 1}, 1); !errors.Is(err, ErrReservedTopic) {
		t.Fatalf("reserved accepted: %v", err)
	}
	if _, err := CreatePartitionsRecords(im, "x.y", 2, 1, nil); !errors.Is(err, ErrPartitionsNotGrowing) {
		t.Fatalf("shrink accepted: %v", err)
	}
}

func TestRackAwarePlacement(t *testing.T) {
	im := emptyImage()
	for _, b := range []struct {
		id   int32
		rack string
	}{{1, "a"}, {2, "a"}, {3, "b"}, {4, "b"}, {5, "c"}, {6, "c"}} {
		var err error
		if im, err = im.apply(Record{Type: TypeBroker, Broker: &BrokerRecord{ID: b.id, Rack: b.rack, Incarnation: "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := CreateTopicRecords(im, CreateTopic{Name: "t", Partitions: 12, ReplicationFactor: 3}, 1)
	if err != nil {
		t.Fatal(err)
	}
	rack := map[int32]string{1: "a", 2: "a", 3: "b", 4: "b", 5: "c", 6: "c"}
	leaders := map[int32]int{}
	for _, r := range recs {
		if r.Type != TypePartition {
			continue
		}
		seen := map[string]bool{}
		for _, id := range r.Partition.Replicas {
			seen[rack[id]] = true
		}
		if len(seen) != 3 {
			t.Errorf("partition %d replicas %v span racks %v, want all three", r.Partition.Partition, r.Partition.Replicas, seen)
		}
		leaders[r.Partition.Leader]++
	}
	for id := int32(1); id <= 6; id++ {
		if leaders[id] != 2 {
			t.Errorf("broker %d leads %d of 12 partitions, want 2 (%v)", id, leaders[id], leaders)
		}
	}
}
