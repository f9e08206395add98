package quota

import (
	"sync"
	"sync/atomic"
	"time"
)

// sensorExpiry is how long an idle sensor is kept (Kafka's
// InactiveSensorExpirationTimeSeconds).
const sensorExpiry = time.Hour

// Manager measures clients against the user and client-id quotas of its
// current Table. It is safe for concurrent use.
type Manager struct {
	cfg     Config
	mutCfg  Config // the controller mutation quota's windows
	table   atomic.Pointer[Table]
	enabled atomic.Bool

	mu        sync.Mutex // guards sensors and lastSweep
	sensors   map[sensorKey]*sensor
	lastSweep int64
}

type sensor struct {
	mu     sync.Mutex // guards rate, bucket and lastMs
	rate   Rate
	bucket TokenBucket // the Mutation kind's measure
	lastMs int64
}

// NewManager returns a manager with no quotas. cfg is how byte and
// request rates are measured (quota.window.*), mutation how the
// controller mutation quota's bucket is sized (controller.quota.window.*).
func NewManager(cfg, mutation Config) *Manager {
	return &Manager{cfg: cfg, mutCfg: mutation, sensors: map[sensorKey]*sensor{}}
}

// Config is how the manager measures rates.
func (m *Manager) Config() Config { return m.cfg }

// SetTable puts t in force (nil: no quotas). Sensors are kept: a quota
// that changes applies to the rate measured so far, as in Kafka.
func (m *Manager) SetTable(t *Table) {
	m.table.Store(t)
	m.enabled.Store(t.HasClientQuotas())
}

// Table is the table in force (nil: none).
func (m *Manager) Table() *Table { return m.table.Load() }

// Enabled reports whether any user or client-id quota is set; when it is
// not, nothing needs recording.
func (m *Manager) Enabled() bool { return m.enabled.Load() }

// Record counts v (bytes, or request-time percentage units) for a user
// and client id at now and returns how long the client must be throttled
// (0 within its quota, or when no quota applies). A request-time throttle
// is at most one window.
func (m *Manager) Record(kind Kind, user, clientID string, v float64, now time.Time) time.Duration {
	if !m.Enabled() {
		return 0
	}
	bound, key, ok := m.table.Load().Resolve(kind, user, clientID)
	if !ok {
		return 0
	}
	nowMs := now.UnixMilli()
	s := m.sensor(key, nowMs)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastMs = nowMs
	s.rate.Record(m.cfg, v, nowMs)
	d := s.rate.Throttle(m.cfg, bound, nowMs)
	if kind == Request {
		// Kafka bounds request-time throttles by one window
		// (ClientRequestQuotaManager); byte-rate ones are not bounded.
		d = min(d, m.cfg.Window)
	}
	return d
}

// MutationThrottle reports whether a user and client id have exhausted
// their controller_mutation_rate (their bucket is below zero), and for how
// long. A strict caller (CreateTopics v6+, CreatePartitions v3+,
// DeleteTopics v5+) refuses a topic with THROTTLING_QUOTA_EXCEEDED while
// it is, as Kafka's StrictControllerMutationQuota checks before it
// records.
func (m *Manager) MutationThrottle(user, clientID string, now time.Time) time.Duration {
	if !m.Enabled() {
		return 0
	}
	bound, key, ok := m.table.Load().Resolve(Mutation, user, clientID)
	if !ok {
		return 0
	}
	nowMs := now.UnixMilli()
	s := m.sensor(key, nowMs)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastMs = nowMs
	return s.bucket.Throttle(m.mutCfg, bound, nowMs)
}

// RecordMutation takes partitions mutated (created or deleted) out of the
// client's controller mutation bucket and returns how long it must now be
// throttled (0 if the bucket is not below zero, or no quota applies).
func (m *Manager) RecordMutation(user, clientID string, partitions float64, now time.Time) time.Duration {
	if !m.Enabled() || partitions <= 0 {
		return 0
	}
	bound, key, ok := m.table.Load().Resolve(Mutation, user, clientID)
	if !ok {
		return 0
	}
	nowMs := now.UnixMilli()
	s := m.sensor(key, nowMs)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastMs = nowMs
	s.bucket.Record(m.mutCfg, bound, partitions, nowMs)
	return s.bucket.Throttle(m.mutCfg, bound, nowMs)
}

// Unrecord takes back a value recorded at now (a throttled fetch answered
// empty, as Kafka's unrecordQuotaSensor).
func (m *Manager) Unrecord(kind Kind, user, clientID string, v float64, now time.Time) {
	if !m.Enabled() {
		return
	}
	if _, key, ok := m.table.Load().Resolve(kind, user, clientID); ok {
		nowMs := now.UnixMilli()
		s := m.sensor(key, nowMs)
		s.mu.Lock()
		s.rate.Record(m.cfg, -v, nowMs)
		s.mu.Unlock()
	}
}

// MaxInWindow is the most a client may take at once without being sure
// to be throttled: its quota times Samples-1 windows (Kafka's
// getMaxValueInQuotaWindow, which bounds a fetch's size). ok is false
// when no quota applies.
func (m *Manager) MaxInWindow(kind Kind, user, clientID string) (float64, bool) {
	if !m.Enabled() {
		return 0, false
	}
	bound, _, ok := m.table.Load().Resolve(kind, user, clientID)
	if !ok {
		return 0, false
	}
	return bound * float64(m.cfg.samples()-1) * m.cfg.Window.Seconds(), true
}

func (m *Manager) sensor(key sensorKey, nowMs int64) *sensor {
	m.mu.Lock()
	defer m.mu.Unlock()
	if nowMs-m.lastSweep >= sensorExpiry.Milliseconds()/4 {
		m.lastSweep = nowMs
		for k, s := range m.sensors {
			s.mu.Lock()
			idle := nowMs-s.lastMs >= sensorExpiry.Milliseconds()
			s.mu.Unlock()
			if idle {
				delete(m.sensors, k)
			}
		}
	}
	s, ok := m.sensors[key]
	if !ok {
		s = &sensor{lastMs: nowMs}
		m.sensors[key] = s
	}
	return s
}
