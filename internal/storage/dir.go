package storage

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// Files at the log dir level, named as Kafka names them.
const (
	recoveryPointFile  = "recovery-point-offset-checkpoint"
	logStartFile       = "log-start-offset-checkpoint"
	cleanerOffsetFile  = "cleaner-offset-checkpoint"
	cleanShutdownFile  = ".kafka_cleanshutdown"
	partitionMetaFile  = "partition.metadata"
	deleteDirSuffix    = "-delete"
	maxTopicNameLength = 249
)

// Dir is one entry of log.dirs, like Kafka's LogManager restricted to a
// single directory: it opens every partition log found in it, creates and
// deletes logs, and owns the dir-level checkpoint files and the
// clean-shutdown marker. Its methods are safe for concurrent use.
type Dir struct {
	path   string
	cfg    Config
	logger *slog.Logger

	mu     sync.Mutex // guards logs, creating and closed
	logs   map[TopicPartition]*Log
	closed bool
	// creating holds the logs CreateLog is making: their files are made
	// without mu, so many logs are created at once.
	creating map[TopicPartition]bool
	// space is the free-space guard (nil when log.dir.min.free.bytes is 0).
	space *spaceGuard
}

// LostPageCache reports whether the log dir at path (before it is
// opened) was left by an unclean shutdown that the OS did not outlive (a
// power cut, a kernel crash; or one that cannot be told apart from those:
// no boot id recorded), with logs in it: whatever was written to them and
// not fsynced may be gone, records the broker acknowledged as an in-sync
// replica among them. A kill -9 of the process alone loses nothing and is
// not reported.
func LostPageCache(path string) bool {
	if _, err := os.Stat(filepath.Join(path, cleanShutdownFile)); err == nil {
		return false
	}
	if sameBoot(path, bootID()) {
		return false
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if _, ok := parsePartitionDir(e.Name()); ok && e.IsDir() {
			return true
		}
	}
	return false
}

// OpenDir opens the log dir at path (creating it if needed) and every
// partition log in it, recovering them as needed. cfg is used for every
// log found; Log.SetConfig applies per-topic overrides afterwards. A
// clean-shutdown marker is honoured and then removed, so a crash from here
// on is seen as unclean by the next open.
func OpenDir(path string, cfg Config, logger *slog.Logger) (*Dir, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("storage: create log dir: %w", err)
	}
	d := &Dir{path: path, cfg: cfg, logger: logger, logs: make(map[TopicPartition]*Log)}
	if cfg.MinFreeBytes != 0 {
		d.space = newSpaceGuard(path, cfg.MinFreeBytes)
		info := d.space.poll()
		logger.Info("log dir free-space guard", "path", path, "log.dir.min.free.bytes", info.MinFree, "free_bytes", info.Free, "free_inodes", info.FreeInodes)
	}
	limit, derived, rlimit := deriveOpenFiles(cfg.MaxOpenFiles)
	files.setLimit(limit, derived, rlimit)
	logger.Info("segment file descriptor budget", "log.max.open.files", limit, "derived", derived, "rlimit_nofile", rlimit)
	_, err := os.Stat(filepath.Join(path, cleanShutdownFile))
	clean := err == nil
	boot := bootID()
	trusted := !clean && sameBoot(path, boot)
	recovery := d.readOffsets(recoveryPointFile)
	starts := d.readOffsets(logStartFile)
	cleaned := d.readOffsets(cleanerOffsetFile)
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("storage: list log dir: %w", err)
	}
	var jobs []openJob
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		if strings.HasSuffix(name, deleteDirSuffix) {
			// A deletion interrupted by a crash: finish it.
			if err := os.RemoveAll(filepath.Join(path, name)); err != nil {
				d.closeAll()
				return nil, fmt.Errorf("storage: finish deleting %s: %w", name, err)
			}
			continue
		}
		tp, ok := parsePartitionDir(name)
		if !ok {
			continue
		}
		st := logState{recoveryPoint: -1, logStart: -1, cleanerOffset: -1, clean: clean, sameBoot: trusted}
		if off, ok := cleaned[tp]; ok {
			st.cleanerOffset = off
		}
		if off, ok := recovery[tp]; ok {
			st.recoveryPoint = off
		}
		if off, ok := starts[tp]; ok {
			st.logStart = off
		}
		jobs = append(jobs, openJob{name, tp, st})
	}
	if err := d.openLogs(jobs, cfg, logger); err != nil {
		d.closeAll()
		return nil, err
	}
	if err := recordBoot(path, boot); err != nil {
		d.closeAll()
		return nil, err
	}
	if clean {
		if err := os.Remove(filepath.Join(path, cleanShutdownFile)); err != nil {
			d.closeAll()
			return nil, fmt.Errorf("storage: remove clean-shutdown marker: %w", err)
		}
		if err := syncDir(path); err != nil {
			d.closeAll()
			return nil, err
		}
	}
	logger.Info("opened log dir", "path", path, "logs", len(d.logs), "clean_shutdown", clean, "crc_checked", !clean && !trusted)
	return d, nil
}

type openJob struct {
	name string
	tp   TopicPartition
	st   logState
}

// openLogs opens (and, after a crash, recovers) the logs on as many
// goroutines as the process has cores: recovery validates every unflushed
// byte, and partitions are independent. Kafka's default
// (num.recovery.threads.per.data.dir=1) recovers one log at a time; a
// broker restarting after a crash is not serving anything else.
func (d *Dir) openLogs(jobs []openJob, cfg Config, logger *slog.Logger) error {
	var (
		mu    sync.Mutex // guards d.logs, first and next
		first error
		next  int
		wg    sync.WaitGroup
	)
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next == len(jobs) || first != nil {
					mu.Unlock()
					return
				}
				j := jobs[next]
				next++
				mu.Unlock()
				l, err := openLog(filepath.Join(d.path, j.name), j.tp, cfg, j.st, logger)
				mu.Lock()
				if err != nil {
					if first == nil {
						first = fmt.Errorf("storage: open %s: %w", j.name, err)
					}
				} else {
					l.space = d.space
					d.logs[j.tp] = l
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// readOffsets reads a dir-level checkpoint; an unreadable one is logged
// and ignored, which only costs a longer recovery.
func (d *Dir) readOffsets(name string) map[TopicPartition]int64 {
	m, err := readOffsetCheckpoint(filepath.Join(d.path, name))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		d.logger.Warn("ignoring unreadable checkpoint", "file", name, "err", err)
	}
	return m
}

// parsePartitionDir splits "<topic>-<partition>" at the last dash.
func parsePartitionDir(name string) (TopicPartition, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return TopicPartition{}, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 || validTopic(name[:i]) != nil {
		return TopicPartition{}, false
	}
	return TopicPartition{Topic: name[:i], Partition: int32(p)}, true
}

// validTopic applies Kafka's topic name rules.
func validTopic(t string) error {
	if t == "" || t == "." || t == ".." || len(t) > maxTopicNameLength {
		return fmt.Errorf("%w: %q", ErrInvalidTopic, t)
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: %q", ErrInvalidTopic, t)
		}
	}
	return nil
}

// Path returns the log dir.
func (d *Dir) Path() string { return d.path }

// Logs returns the open logs.
func (d *Dir) Logs() map[TopicPartition]*Log {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[TopicPartition]*Log, len(d.logs))
	for tp, l := range d.logs {
		out[tp] = l
	}
	return out
}

// Log returns the log of a partition, if this dir holds it.
func (d *Dir) Log(topic string, partition int32) (*Log, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	l, ok := d.logs[TopicPartition{Topic: topic, Partition: partition}]
	return l, ok
}

// CreateLog creates an empty log with its partition.metadata.
func (d *Dir) CreateLog(topic string, partition int32, topicID [16]byte, cfg Config) (*Log, error) {
	if err := validTopic(topic); err != nil {
		return nil, err
	}
	if partition < 0 {
		return nil, fmt.Errorf("%w: negative partition %d", ErrInvalidTopic, partition)
	}
	tp := TopicPartition{Topic: topic, Partition: partition}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, ErrClosed
	}
	if _, ok := d.logs[tp]; ok || d.creating[tp] {
		d.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrLogExists, tp)
	}
	if d.creating == nil {
		d.creating = map[TopicPartition]bool{}
	}
	d.creating[tp] = true
	d.mu.Unlock()
	l, err := d.createLog(tp, topicID, cfg)
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.creating, tp)
	if err != nil {
		return nil, err
	}
	if d.closed {
		l.Close()
		return nil, ErrClosed
	}
	d.logs[tp] = l
	return l, nil
}

// createLog makes a new log's directory and files.
func (d *Dir) createLog(tp TopicPartition, topicID [16]byte, cfg Config) (*Log, error) {
	dir := filepath.Join(d.path, tp.String())
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%w: %s", ErrLogExists, tp)
		}
		return nil, noSpace(fmt.Errorf("storage: create %s: %w", dir, err))
	}
	if err := writePartitionMetadata(dir, topicID); err != nil {
		os.RemoveAll(dir)
		return nil, noSpace(err)
	}
	if err := syncDir(d.path); err != nil {
		return nil, err
	}
	l, err := openLog(dir, tp, cfg, logState{recoveryPoint: 0, logStart: 0, cleanerOffset: -1, clean: true}, d.logger)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	l.space = d.space
	return l, nil
}

// DeleteLog closes a log and removes its directory. The directory is first
// renamed to "<topic>-<partition>.<random>-delete" (as Kafka does) so that a
// crash half way through the removal is finished at the next open instead
// of resurrecting a partial log.
func (d *Dir) DeleteLog(topic string, partition int32) error {
	tp := TopicPartition{Topic: topic, Partition: partition}
	d.mu.Lock()
	defer d.mu.Unlock()
	l, ok := d.logs[tp]
	if !ok {
		return fmt.Errorf("%w: %s", ErrLogNotFound, tp)
	}
	delete(d.logs, tp)
	cerr := l.Close()
	var rnd [8]byte
	rand.Read(rnd[:])
	doomed := filepath.Join(d.path, tp.String()+"."+hex.EncodeToString(rnd[:])+deleteDirSuffix)
	if err := os.Rename(l.dir, doomed); err != nil {
		return fmt.Errorf("storage: delete %s: %w", tp, err)
	}
	if err := syncDir(d.path); err != nil {
		return err
	}
	if err := os.RemoveAll(doomed); err != nil {
		return fmt.Errorf("storage: delete %s: %w", tp, err)
	}
	if cerr != nil {
		d.logger.Warn("error closing deleted log", "partition", tp, "err", cerr)
	}
	return nil
}

// Checkpoint writes recovery-point-offset-checkpoint and
// log-start-offset-checkpoint for every open log, and
// cleaner-offset-checkpoint for every log the cleaner has compacted. The broker calls it
// periodically (log.flush.offset.checkpoint.interval.ms) and after
// DeleteRecords; Close calls it too.
func (d *Dir) Checkpoint() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.checkpointLocked()
}

func (d *Dir) checkpointLocked() error {
	rp := make(map[TopicPartition]int64, len(d.logs))
	ls := make(map[TopicPartition]int64, len(d.logs))
	co := make(map[TopicPartition]int64)
	for tp, l := range d.logs {
		rp[tp] = l.RecoveryPoint()
		ls[tp] = l.LogStartOffset()
		if off := l.cleanerOffset.Load(); off >= 0 {
			co[tp] = off
		}
	}
	if err := writeOffsetCheckpoint(filepath.Join(d.path, recoveryPointFile), rp); err != nil {
		return err
	}
	if len(co) > 0 {
		if err := writeOffsetCheckpoint(filepath.Join(d.path, cleanerOffsetFile), co); err != nil {
			return err
		}
	}
	return writeOffsetCheckpoint(filepath.Join(d.path, logStartFile), ls)
}

// Close closes every log, writes the checkpoints and, if every log shut
// down cleanly, the clean-shutdown marker that lets the next open skip
// recovery.
func (d *Dir) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	if d.space != nil {
		d.space.close()
	}
	errs, clean := d.closeLogs()
	if err := d.checkpointLocked(); err != nil {
		errs = append(errs, err)
		clean = false
	}
	if clean && errors.Join(errs...) == nil {
		errs = append(errs, writeFileAtomic(filepath.Join(d.path, cleanShutdownFile), nil))
	}
	return errors.Join(errs...)
}

// closeLogs closes every log on a few goroutines: a close that must fsync
// waits on the disk, and other logs' closes can go on meanwhile. clean
// reports whether every log shut down cleanly.
func (d *Dir) closeLogs() (errs []error, clean bool) {
	logs := make(chan *Log)
	var (
		mu sync.Mutex // guards errs and clean
		wg sync.WaitGroup
	)
	clean = true
	for range min(4*runtime.GOMAXPROCS(0), len(d.logs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l := range logs {
				err := l.Close()
				ok := l.cleanlyClosed()
				mu.Lock()
				errs, clean = append(errs, err), clean && ok
				mu.Unlock()
			}
		}()
	}
	for _, l := range d.logs {
		logs <- l
	}
	close(logs)
	wg.Wait()
	return errs, clean
}

func (d *Dir) closeAll() {
	if d.space != nil {
		d.space.close()
		d.space = nil
	}
	for _, l := range d.logs {
		l.Close()
	}
}

// writePartitionMetadata writes Kafka's partition.metadata: "version: 0"
// and the topic id in Kafka's Uuid text form (URL-safe base64, no padding).
func writePartitionMetadata(dir string, id [16]byte) error {
	data := "version: 0\ntopic_id: " + base64.RawURLEncoding.EncodeToString(id[:]) + "\n"
	return writeFileAtomic(filepath.Join(dir, partitionMetaFile), []byte(data))
}

func readPartitionMetadata(d *partDir) ([16]byte, error) {
	var id [16]byte
	path := filepath.Join(d.path, partitionMetaFile)
	b, err := d.readFile(partitionMetaFile, 64<<10)
	if err != nil {
		return id, err
	}
	at := int64(0) // byte offset of line in the file
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) != "topic_id" {
			at += int64(len(line)) + 1
			continue
		}
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil || len(raw) != 16 {
			return id, corruptf(path, at, "bad topic_id %q", strings.TrimSpace(v))
		}
		copy(id[:], raw)
		return id, nil
	}
	return id, corruptf(path, 0, "no topic_id line")
}
