package broker

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Fetch sessions (KIP-227). A client opens a session with a full fetch
// (session id 0, epoch 0); later fetches (epoch 1, 2, ...) carry only the
// partitions whose fetch position changed, and the broker answers with only
// the partitions that have news: records, an error, or a changed high
// watermark or log start offset. Epoch -1 closes the session.

// fetchPart is one partition in a fetch: what the client asked for and,
// inside a session, what the client was last told.
type fetchPart struct {
	topic       string
	topicID     [16]byte
	partition   int32
	offset      int64
	maxBytes    int32
	leaderEpoch int32

	sentHW, sentLogStart int64 // -1 until first sent
}

// fetchSession is a client's cached fetch state.
type fetchSession struct {
	id       int32
	mu       sync.Mutex // held while a fetch on this session runs
	epoch    int32      // the epoch the next request must carry
	parts    []*fetchPart
	index    map[partKey]*fetchPart
	lastUsed time.Time
}

type partKey struct {
	topic     string
	partition int32
}

// sessionCache holds at most slots sessions, evicting the least recently
// used when full.
type sessionCache struct {
	mu       sync.Mutex // guards sessions
	slots    int
	sessions map[int32]*fetchSession
	// evictions counts sessions evicted for a new one (metrics).
	evictions atomic.Uint64
}

func newSessionCache(slots int) *sessionCache {
	return &sessionCache{slots: slots, sessions: map[int32]*fetchSession{}}
}

// create returns a new session, or nil when sessions are disabled.
func (sc *sessionCache) create(now time.Time) *fetchSession {
	if sc.slots <= 0 {
		return nil
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if len(sc.sessions) >= sc.slots {
		var oldest *fetchSession
		for _, s := range sc.sessions {
			if oldest == nil || s.lastUsed.Before(oldest.lastUsed) {
				oldest = s
			}
		}
		delete(sc.sessions, oldest.id)
		sc.evictions.Add(1)
	}
	s := &fetchSession{index: map[partKey]*fetchPart{}, lastUsed: now} // epoch 0 now; done moves it to 1
	for s.id == 0 || sc.sessions[s.id] != nil {
		s.id = rand.Int32()
	}
	sc.sessions[s.id] = s
	return s
}

func (sc *sessionCache) get(id int32) *fetchSession {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.sessions[id]
}

func (sc *sessionCache) remove(id int32) {
	sc.mu.Lock()
	delete(sc.sessions, id)
	sc.mu.Unlock()
}

// add inserts or updates a partition of the session.
func (s *fetchSession) add(fp *fetchPart) {
	k := partKey{fp.topic, fp.partition}
	if old, ok := s.index[k]; ok {
		old.offset, old.maxBytes, old.leaderEpoch, old.topicID = fp.offset, fp.maxBytes, fp.leaderEpoch, fp.topicID
		return
	}
	s.index[k] = fp
	s.parts = append(s.parts, fp)
}

func (s *fetchSession) forget(topic string, partition int32) {
	k := partKey{topic, partition}
	if _, ok := s.index[k]; !ok {
		return
	}
	delete(s.index, k)
	for i, fp := range s.parts {
		if fp.topic == topic && fp.partition == partition {
			s.parts = append(s.parts[:i], s.parts[i+1:]...)
			break
		}
	}
}

// fetchPlan is a fetch request resolved against sessions: the partitions
// to read and how to answer.
type fetchPlan struct {
	parts       []*fetchPart
	session     *fetchSession // nil: sessionless
	incremental bool
	errCode     int16
	// listener is the client's listener, for the endpoints of leader
	// hints (KIP-951).
	listener string
	// denied are the topics the request may not read (authorize.go);
	// their partitions are answered TOPIC_AUTHORIZATION_FAILED.
	denied map[string]bool
}

// planFetch resolves the session fields of a request. names maps topic ids
// to names for v13+ requests.
func (b *Broker) planFetch(req *kmsg.FetchRequest, parts []*fetchPart, forgotten []partKey) fetchPlan {
	now := b.now()
	switch {
	case req.Version < 7 || (req.SessionID == 0 && req.SessionEpoch == -1):
		return fetchPlan{parts: parts}
	case req.SessionEpoch == 0:
		// Epoch 0 asks for a new session; with a session id it also
		// closes that one (clients reset this way after an error).
		if req.SessionID != 0 {
			b.fetchSessions.remove(req.SessionID)
		}
		s := b.fetchSessions.create(now)
		if s == nil {
			return fetchPlan{parts: parts}
		}
		s.mu.Lock()
		for _, fp := range parts {
			s.add(fp)
		}
		return fetchPlan{parts: s.parts, session: s}
	case req.SessionEpoch == -1:
		b.fetchSessions.remove(req.SessionID)
		return fetchPlan{parts: parts}
	case req.SessionID == 0:
		return fetchPlan{errCode: kerr.InvalidFetchSessionEpoch.Code}
	}
	s := b.fetchSessions.get(req.SessionID)
	if s == nil {
		return fetchPlan{errCode: kerr.FetchSessionIDNotFound.Code}
	}
	if !s.mu.TryLock() {
		// Another fetch on this session is still running: the client
		// broke the protocol; never block the connection's reader.
		return fetchPlan{errCode: kerr.InvalidFetchSessionEpoch.Code}
	}
	if req.SessionEpoch != s.epoch {
		s.mu.Unlock()
		return fetchPlan{errCode: kerr.InvalidFetchSessionEpoch.Code}
	}
	s.lastUsed = now
	for _, fp := range parts {
		s.add(fp)
	}
	for _, k := range forgotten {
		s.forget(k.topic, k.partition)
	}
	return fetchPlan{parts: s.parts, session: s, incremental: true}
}

// done ends the plan's use of its session, moving the epoch on.
func (fp *fetchPlan) done() {
	if fp.session != nil {
		fp.session.epoch++
		if fp.session.epoch < 0 {
			fp.session.epoch = 1
		}
		fp.session.mu.Unlock()
	}
}
