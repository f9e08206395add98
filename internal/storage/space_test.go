package storage

import (
	"errors"
	"testing"
)

// TestSpaceGuardRefusesAndResumes: below log.dir.min.free.bytes a client
// append is refused with ErrNoSpace naming the figures, the log is not
// failed, coordinator writes still go, and appends resume once the
// threshold is met again; CheckSpaceFor refuses partitions that would
// take the directory below it.
func TestSpaceGuardRefusesAndResumes(t *testing.T) {
	cfg := smallConfig()
	cfg.MinFreeBytes = 1 << 20
	d, err := OpenDir(t.TempDir(), cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	l, err := d.CreateLog("t", 0, [16]byte{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, makeBatch(t, spec{records: 1}), 0)
	if info := d.Space(); info.Low || info.MinFree != 1<<20 || info.Free <= 0 || info.Total <= 0 {
		t.Fatalf("Space() = %+v", info)
	}
	if err := d.CheckSpaceFor(10); err != nil {
		t.Fatalf("CheckSpaceFor(10) with space: %v", err)
	}
	d.SetMinFreeBytes(1 << 62) // more than any disk: space is low
	if !d.Space().Low {
		t.Fatal("guard not low")
	}
	_, err = l.Append(makeBatch(t, spec{records: 1}), 0, testNow)
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("append with space low: %v, want ErrNoSpace", err)
	}
	if l.Failed() != nil {
		t.Fatalf("the log failed: %v", l.Failed())
	}
	if _, err := l.AppendCoordinator(makeBatch(t, spec{records: 1}), 0, testNow); err != nil {
		t.Fatalf("coordinator append with space low: %v", err)
	}
	if err := d.CheckSpaceFor(1); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("CheckSpaceFor with space low: %v", err)
	}
	d.SetMinFreeBytes(1 << 20)
	res := mustAppend(t, l, makeBatch(t, spec{records: 1}), 0)
	if res.BaseOffset != 2 {
		t.Fatalf("append after space returned at %d, want 2", res.BaseOffset)
	}
	d.SetMinFreeBytes(0) // off
	if err := d.CheckSpaceFor(1 << 40); err != nil {
		t.Fatalf("CheckSpaceFor with the guard off: %v", err)
	}
}
