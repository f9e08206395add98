package metadata

import (
	"fmt"
	"math"
	"sort"
)

// QuotaEntity names a client quota entity, as Kafka's ClientQuotaEntity:
// a user, a client id, both, or an IP address. Each part is absent (empty
// name, Default false), named, or the default entity of its type (Default
// set, name empty). Kafka refuses empty names, so an empty name never
// means a real user or client id.
type QuotaEntity struct {
	User            string `json:"user,omitempty"`
	DefaultUser     bool   `json:"default_user,omitempty"`
	ClientID        string `json:"client_id,omitempty"`
	DefaultClientID bool   `json:"default_client_id,omitempty"`
	IP              string `json:"ip,omitempty"`
	DefaultIP       bool   `json:"default_ip,omitempty"`
}

// HasUser, HasClientID and HasIP report whether the entity has that part
// (named or default).
func (e QuotaEntity) HasUser() bool     { return e.User != "" || e.DefaultUser }
func (e QuotaEntity) HasClientID() bool { return e.ClientID != "" || e.DefaultClientID }
func (e QuotaEntity) HasIP() bool       { return e.IP != "" || e.DefaultIP }

// String is the entity as Kafka prints one: user=alice, client-id=<default>.
func (e QuotaEntity) String() string {
	var s string
	part := func(typ, name string, def bool) {
		if name == "" && !def {
			return
		}
		if s != "" {
			s += ", "
		}
		if def {
			name = "<default>"
		}
		s += typ + "=" + name
	}
	part("user", e.User, e.DefaultUser)
	part("client-id", e.ClientID, e.DefaultClientID)
	part("ip", e.IP, e.DefaultIP)
	return s
}

// QuotaRecord sets (Remove false) or removes one quota value of one entity
// (Kafka's ClientQuotaRecord). Removing a value that is not set is
// harmless, as in Kafka's replay.
type QuotaRecord struct {
	Entity QuotaEntity `json:"entity"`
	Key    string      `json:"key"`
	Value  float64     `json:"value,omitempty"`
	Remove bool        `json:"remove,omitempty"`
}

// Bounds of what a quota record may hold.
const (
	maxQuotaNameLength = 1024
	maxQuotaKeyLength  = 64
)

func (r *QuotaRecord) check() error {
	e := r.Entity
	for _, p := range []struct {
		name string
		def  bool
	}{{e.User, e.DefaultUser}, {e.ClientID, e.DefaultClientID}, {e.IP, e.DefaultIP}} {
		if len(p.name) > maxQuotaNameLength || (p.def && p.name != "") {
			return fmt.Errorf("client quota: malformed entity %+v", e)
		}
	}
	switch {
	case !e.HasUser() && !e.HasClientID() && !e.HasIP():
		return fmt.Errorf("client quota: empty entity")
	case e.HasIP() && (e.HasUser() || e.HasClientID()):
		return fmt.Errorf("client quota: an IP entity combined with a user or client id: %s", e)
	case r.Key == "" || len(r.Key) > maxQuotaKeyLength:
		return fmt.Errorf("client quota: bad key length %d", len(r.Key))
	case !r.Remove && (math.IsNaN(r.Value) || math.IsInf(r.Value, 0) || r.Value <= 0):
		return fmt.Errorf("client quota %s of %s: bad value %v", r.Key, e, r.Value)
	}
	return nil
}

// Quotas are the client quotas of an image: each entity's values by key.
// Immutable once in a published image, so a reader may compare two images'
// *Quotas by pointer to see whether anything changed.
type Quotas struct {
	m map[QuotaEntity]map[string]float64
}

// Len is the number of entities with at least one quota.
func (q *Quotas) Len() int {
	if q == nil {
		return 0
	}
	return len(q.m)
}

// Get returns one entity's quota values (nil if it has none). The map must
// not be modified.
func (q *Quotas) Get(e QuotaEntity) map[string]float64 {
	if q == nil {
		return nil
	}
	return q.m[e]
}

// Value returns one quota value of an entity.
func (q *Quotas) Value(e QuotaEntity, key string) (float64, bool) {
	v, ok := q.Get(e)[key]
	return v, ok
}

// Each calls fn for every entity with quotas, in a stable order (by its
// String form).
func (q *Quotas) Each(fn func(e QuotaEntity, values map[string]float64)) {
	if q == nil {
		return
	}
	es := make([]QuotaEntity, 0, len(q.m))
	for e := range q.m {
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool { return es[i].String() < es[j].String() })
	for _, e := range es {
		fn(e, q.m[e])
	}
}

// ClientQuotas returns the image's client quotas (nil: none).
func (im *Image) ClientQuotas() *Quotas { return im.quotas }

func (im *Image) applyQuota(r *QuotaRecord) (*Quotas, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	cur := im.quotas.Get(r.Entity)
	if r.Remove {
		if _, ok := cur[r.Key]; !ok {
			return im.quotas, nil
		}
	}
	next := &Quotas{m: make(map[QuotaEntity]map[string]float64, im.quotas.Len()+1)}
	if im.quotas != nil {
		for e, v := range im.quotas.m {
			next.m[e] = v
		}
	}
	vals := make(map[string]float64, len(cur)+1)
	for k, v := range cur {
		vals[k] = v
	}
	if r.Remove {
		delete(vals, r.Key)
	} else {
		vals[r.Key] = r.Value
	}
	if len(vals) == 0 {
		delete(next.m, r.Entity)
	} else {
		next.m[r.Entity] = vals
	}
	if len(next.m) == 0 {
		return nil, nil
	}
	return next, nil
}

func (im *Image) quotaRecords() []Record {
	var out []Record
	im.quotas.Each(func(e QuotaEntity, values map[string]float64) {
		keys := make([]string, 0, len(values))
		for k := range values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, Record{Type: TypeQuota, Quota: &QuotaRecord{Entity: e, Key: k, Value: values[k]}})
		}
	})
	return out
}
