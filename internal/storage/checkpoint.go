package storage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Kafka's checkpoint files (recovery-point-offset-checkpoint,
// log-start-offset-checkpoint, leader-epoch-checkpoint) share one text
// format: a version line "0", a count line, then count lines of
// space-separated fields. See docs/format/log.md.
const checkpointVersion = 0

// maxCheckpointBytes bounds what is read from a checkpoint file.
const maxCheckpointBytes = 64 << 20

// readCheckpoint parses a checkpoint file whose entry lines have exactly
// fields fields, and returns them with the byte offset of each line in
// the file (for the errors of callers that check the values). A missing
// file returns an error matching os.ErrNotExist.
func readCheckpoint(path string, fields int) (rows [][]string, at []int64, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if st.Size() > maxCheckpointBytes {
		return nil, nil, corruptf(path, 0, "checkpoint file of %d bytes is too large", st.Size())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	at = make([]int64, len(lines))
	for i := 1; i < len(lines); i++ {
		at[i] = at[i-1] + int64(len(lines[i-1])) + 1
	}
	if len(lines) < 2 {
		return nil, nil, corruptf(path, 0, "checkpoint file has %d lines, want at least 2", len(lines))
	}
	if v, err := strconv.Atoi(strings.TrimSpace(lines[0])); err != nil || v != checkpointVersion {
		return nil, nil, corruptf(path, 0, "unsupported checkpoint version %q", lines[0])
	}
	n, err := strconv.Atoi(strings.TrimSpace(lines[1]))
	if err != nil || n < 0 || n != len(lines)-2 {
		return nil, nil, corruptf(path, at[1], "checkpoint count %q does not match %d entry lines", lines[1], len(lines)-2)
	}
	rows = make([][]string, 0, n)
	for i, line := range lines[2:] {
		f := strings.Fields(line)
		if len(f) != fields {
			return nil, nil, corruptf(path, at[i+2], "checkpoint line %d has %d fields, want %d", i+3, len(f), fields)
		}
		rows = append(rows, f)
	}
	return rows, at[2:], nil
}

// formatCheckpoint renders entry lines in the checkpoint format.
func formatCheckpoint(lines []string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d\n%d\n", checkpointVersion, len(lines))
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// writeFileAtomic replaces path with data so that a crash leaves either the
// old or the new content: write path.tmp, fsync it, rename it over path,
// fsync the directory.
func writeFileAtomic(path string, data []byte) error {
	if err := replaceFile(path, data); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func replaceFile(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := files.openTransient(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("storage: write %s: %w", path, err)
	}
	werr := injectedFault(OpWrite, path)
	if werr == nil {
		_, werr = f.Write(data)
	}
	var serr error
	if werr == nil {
		if serr = injectedFault(OpSync, path); serr == nil {
			serr = f.Sync()
		}
	}
	cerr := files.closeTransient(f)
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("storage: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("storage: write %s: %w", path, err)
	}
	return nil
}

// syncDir fsyncs a directory so that file creations, renames and removals
// in it are durable.
func syncDir(dir string) error {
	if err := injectedFault(OpSync, dir); err != nil {
		return fmt.Errorf("storage: fsync dir %s: %w", dir, err)
	}
	d, err := files.openTransient(dir, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("storage: fsync dir %s: %w", dir, err)
	}
	defer files.closeTransient(d)
	if err := d.Sync(); err != nil {
		return fmt.Errorf("storage: fsync dir %s: %w", dir, err)
	}
	return nil
}

// readOffsetCheckpoint reads a dir-level "topic partition offset" file.
// Unparseable lines make the whole file corrupt: a half-trusted recovery
// point is worse than none (none means full recovery).
func readOffsetCheckpoint(path string) (map[TopicPartition]int64, error) {
	rows, at, err := readCheckpoint(path, 3)
	if err != nil {
		return nil, err
	}
	out := make(map[TopicPartition]int64, len(rows))
	for i, r := range rows {
		p, err1 := strconv.ParseInt(r[1], 10, 32)
		off, err2 := strconv.ParseInt(r[2], 10, 64)
		if err1 != nil || err2 != nil || p < 0 || off < 0 {
			return nil, corruptf(path, at[i], "bad checkpoint line %d %q", i+3, strings.Join(r, " "))
		}
		out[TopicPartition{Topic: r[0], Partition: int32(p)}] = off
	}
	return out, nil
}

// writeOffsetCheckpoint writes a dir-level checkpoint, sorted for stable
// diffs.
func writeOffsetCheckpoint(path string, offsets map[TopicPartition]int64) error {
	tps := make([]TopicPartition, 0, len(offsets))
	for tp := range offsets {
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].Topic != tps[j].Topic {
			return tps[i].Topic < tps[j].Topic
		}
		return tps[i].Partition < tps[j].Partition
	})
	lines := make([]string, len(tps))
	for i, tp := range tps {
		lines[i] = fmt.Sprintf("%s %d %d", tp.Topic, tp.Partition, offsets[tp])
	}
	return writeFileAtomic(path, formatCheckpoint(lines))
}
