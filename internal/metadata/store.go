package metadata

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// Store owns the metadata log and the current image. Commit is serialized
// by mu; Image is lock-free.
type Store struct {
	logger *slog.Logger
	mu     sync.Mutex // guards log and serializes commits
	log    *fileLog
	image  atomic.Pointer[Image]
	// onCommit observers are called, under mu, with the image before and
	// after each commit, so the broker can create or delete logs.
	onCommit []func(prev, next *Image, recs []Record)
}

// LogFile is the metadata log's file name inside the data directory.
const LogFile = "__cluster_metadata.log"

// Open replays the metadata log in dir into an image.
func Open(dir string, logger *slog.Logger) (*Store, error) {
	l, recs, err := openLog(filepath.Join(dir, LogFile))
	if err != nil {
		return nil, fmt.Errorf("metadata log: %w", err)
	}
	im := emptyImage()
	for i, r := range recs {
		if im, err = im.apply(r); err != nil {
			l.close()
			return nil, fmt.Errorf("%w: record %d: %v", ErrCorrupt, i, err)
		}
	}
	s := &Store{logger: logger, log: l}
	s.image.Store(im)
	logger.Info("metadata loaded", "records", len(recs), "topics", len(im.topics))
	return s, nil
}

// Image returns the current image.
func (s *Store) Image() *Image { return s.image.Load() }

// OnCommit registers fn to run after every commit, in commit order.
func (s *Store) OnCommit(fn func(prev, next *Image, recs []Record)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCommit = append(s.onCommit, fn)
}

// Commit runs plan against the current image under the commit lock; plan
// returns the records to append (or an error, which aborts with nothing
// written). The records are made durable, applied, and published as one
// step: either all of them are, or none.
func (s *Store) Commit(plan func(im *Image) ([]Record, error)) (*Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.image.Load()
	recs, err := plan(prev)
	if err != nil || len(recs) == 0 {
		return prev, err
	}
	next := prev
	for _, r := range recs {
		if err := r.validate(); err != nil {
			return prev, err
		}
		if next, err = next.apply(r); err != nil {
			return prev, fmt.Errorf("metadata plan is inconsistent: %w", err)
		}
	}
	if err := s.log.append(recs); err != nil {
		return prev, fmt.Errorf("metadata log append: %w", err)
	}
	s.image.Store(next)
	for _, fn := range s.onCommit {
		fn(prev, next, recs)
	}
	return next, nil
}

// Close closes the log.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.close()
}
