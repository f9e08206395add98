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

func TestCommitReplay(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
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
	// A plan contradicting the image writes nothing.
	if _, err := s.Commit(func(*Image) ([]Record, error) { return topicRecs("a", 9, 1), nil }); err == nil {
		t.Fatal("duplicate topic committed")
	}
	want := s.Image()
	s.Close()

	// Tear the tail: a crash mid-append must lose only the torn record.
	path := filepath.Join(dir, LogFile)
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{0, 0, 0, 50, 1, 2})
	f.Close()

	s2, err := Open(dir, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got := s2.Image()
	if got.Offset != want.Offset || len(got.topics) != 1 || got.NextProducerID() != 1000 {
		t.Fatalf("replay: offset %d/%d topics %v next pid %d", got.Offset, want.Offset, got.TopicNames(), got.NextProducerID())
	}
	a, ok := got.Topic("a")
	if !ok || len(a.Partitions) != 3 || got.Configs(ResourceTopic, "a")["cleanup.policy"] != "compact" {
		t.Fatalf("topic a after replay: %+v", a)
	}
	if _, ok := got.TopicByID(UUID{2}); ok {
		t.Fatal("removed topic came back")
	}
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
	if _, err := CreatePartitionsRecords(im, "x.y", 2, 1); !errors.Is(err, ErrPartitionsNotGrowing) {
		t.Fatalf("shrink accepted: %v", err)
	}
}
