package storage

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// corruptSuffix is added to the name of a file that is damaged and cannot
// be rebuilt from anything else on disk: it is set aside, never read
// again, and kept for an operator to look at (nothing deletes it).
const corruptSuffix = ".corrupt"

// quarantine renames the damaged file at path to path.corrupt (replacing
// an older one) and logs why, with the file and the byte offset that
// cause carries. A file that cannot be renamed is removed, so that it is
// not read again either.
func quarantine(logger *slog.Logger, tp TopicPartition, path string, cause error) error {
	to := path + corruptSuffix
	err := os.Rename(path, to)
	if err != nil {
		err = os.Remove(path)
		to = ""
	}
	logger.Warn("damaged file set aside", "partition", tp, "file", path, "moved_to", to, "err", cause)
	if err != nil {
		return fmt.Errorf("storage: set aside %s: %w", path, err)
	}
	return nil
}

// SetTopicID writes partition.metadata with id and makes it the log's
// topic id. The partition layer calls it when the file was missing or
// damaged (the id is then zero, or one character away from the one the
// cluster metadata holds for the same topic name).
func (l *Log) SetTopicID(id [16]byte) error {
	if err := writePartitionMetadata(l.dir, id); err != nil {
		return err
	}
	l.stateMu.Lock()
	l.topicID = id
	l.stateMu.Unlock()
	return nil
}

// partitionMetadataPath is the log's partition.metadata file.
func (l *Log) partitionMetadataPath() string { return filepath.Join(l.dir, partitionMetaFile) }
