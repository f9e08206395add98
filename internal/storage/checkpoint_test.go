package storage

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDirCheckpointFiles(t *testing.T) {
	path := t.TempDir()
	d := openTestDir(t, path)
	a, _ := d.CreateLog("orders", 1, [16]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, Config{})
	b, _ := d.CreateLog("orders", 0, [16]byte{}, Config{})
	for i := 0; i < 3; i++ {
		mustAppend(t, a, makeBatch(t, spec{}), 0)
	}
	mustAppend(t, b, makeBatch(t, spec{records: 5}), 0)
	a.Flush()
	if err := a.DeleteRecordsBefore(2); err != nil {
		t.Fatal(err)
	}
	if err := d.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		recoveryPointFile: "0\n2\norders 0 0\norders 1 3\n",
		logStartFile:      "0\n2\norders 0 0\norders 1 2\n",
		filepath.Join("orders-1", partitionMetaFile): "version: 0\ntopic_id: AAECAwQFBgcICQoLDA0ODw\n",
	}
	for name, content := range want {
		got, err := os.ReadFile(filepath.Join(path, name))
		if err != nil || string(got) != content {
			t.Errorf("%s = %q (%v), want %q", name, got, err, content)
		}
	}
	if _, err := d.CreateLog("orders", 1, [16]byte{}, Config{}); !errors.Is(err, ErrLogExists) {
		t.Errorf("duplicate CreateLog: %v", err)
	}
	if _, err := d.CreateLog("bad/name", 0, [16]byte{}, Config{}); !errors.Is(err, ErrInvalidTopic) {
		t.Errorf("bad topic: %v", err)
	}
	if err := d.DeleteLog("orders", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(path, "orders-0")); !os.IsNotExist(err) {
		t.Errorf("deleted log dir still there: %v", err)
	}
	if err := d.DeleteLog("orders", 0); !errors.Is(err, ErrLogNotFound) {
		t.Errorf("second DeleteLog: %v", err)
	}
	// A deletion interrupted by a crash is finished at the next open.
	os.Mkdir(filepath.Join(path, "orders-7.abc-delete"), 0o755)
	d.Close()
	d = openTestDir(t, path)
	defer d.Close()
	if _, err := os.Stat(filepath.Join(path, "orders-7.abc-delete")); !os.IsNotExist(err) {
		t.Errorf("leftover -delete dir: %v", err)
	}
	if logs := d.Logs(); len(logs) != 1 {
		t.Errorf("logs after reopen: %v", logs)
	}
}

func TestReadCheckpointRejectsMalformed(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"version":   "1\n0\n",
		"count":     "0\n2\nt 0 1\n",
		"fields":    "0\n1\nt 0\n",
		"negative":  "0\n1\nt 0 -5\n",
		"not a num": "0\n1\nt x 5\n",
	} {
		p := filepath.Join(dir, "cp")
		os.WriteFile(p, []byte(content), 0o644)
		if _, err := readOffsetCheckpoint(p); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

// TestCheckpointErrorsCarryTheLine: a bad line of a checkpoint is reported
// with its byte offset in the file.
func TestCheckpointErrorsCarryTheLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), recoveryPointFile)
	data := "0\n2\nt 0 15\nt 1 x7\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := readOffsetCheckpoint(path)
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.Path != path || ce.Pos != int64(strings.Index(data, "t 1 x7")) {
		t.Fatalf("got %v, want a corruption at byte %d of %s", err, strings.Index(data, "t 1 x7"), path)
	}
}
