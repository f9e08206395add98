package metadata

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/samsa-streaming/samsa/internal/acl"
)

// ACLRecord creates one ACL (Kafka's AccessControlEntryRecord): a binding
// with an id. It applies only if the binding is valid, its id is new and
// the same binding does not exist yet (two nodes creating one ACL at once:
// the second plans again and finds it there).
type ACLRecord struct {
	ID           string `json:"id"`
	ResourceType int8   `json:"resource_type"`
	ResourceName string `json:"resource_name"`
	PatternType  int8   `json:"pattern_type"`
	Principal    string `json:"principal"`
	Host         string `json:"host"`
	Operation    int8   `json:"operation"`
	Permission   int8   `json:"permission"`
}

// RemoveACLRecord deletes one ACL by id (Kafka's
// RemoveAccessControlEntryRecord). It applies only if the id exists.
type RemoveACLRecord struct {
	ID string `json:"id"`
}

// Binding is the record's ACL.
func (r *ACLRecord) Binding() acl.Binding {
	return acl.Binding{ResourceType: acl.ResourceType(r.ResourceType), Name: r.ResourceName, PatternType: acl.PatternType(r.PatternType),
		Principal: r.Principal, Host: r.Host, Operation: acl.Operation(r.Operation), Permission: acl.Permission(r.Permission)}
}

func aclRecord(id string, b acl.Binding) Record {
	return Record{Type: TypeACL, ACL: &ACLRecord{ID: id, ResourceType: int8(b.ResourceType), ResourceName: b.Name, PatternType: int8(b.PatternType),
		Principal: b.Principal, Host: b.Host, Operation: int8(b.Operation), Permission: int8(b.Permission)}}
}

// ACL is one ACL of the image with its id.
type ACL struct {
	ID string
	acl.Binding
}

// MaxACLRecords bounds the ACL records of one change, as Kafka's
// controller bounds one user operation (MAX_RECORDS_PER_USER_OP).
const MaxACLRecords = 10000

// maxACLIDLength bounds an ACL id read from the log.
const maxACLIDLength = 64

// aclShards splits the ACL maps so that applying one record copies a
// 1/aclShards part of them, not all: creating 10,000 ACLs in one change
// stays linear enough.
const aclShards = 64

// ACLSet is the image's ACLs. It is immutable; every change of ACLs makes
// a new one, so a reader that keeps the pointer knows whether the ACLs
// changed since (the broker rebuilds its authorizer then).
type ACLSet struct {
	byID      [aclShards]map[string]acl.Binding
	byBinding [aclShards]map[acl.Binding]string
	n         int
}

var emptyACLs = &ACLSet{}

func shardOf(s string) int {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return int(h % aclShards)
}

func bindingShard(b acl.Binding) int { return shardOf(b.Name + "\x00" + b.Principal + "\x00" + b.Host) }

// Len is the number of ACLs.
func (s *ACLSet) Len() int { return s.n }

// Find returns the id of an ACL with exactly binding b.
func (s *ACLSet) Find(b acl.Binding) (string, bool) {
	id, ok := s.byBinding[bindingShard(b)][b]
	return id, ok
}

// Get returns the ACL of an id.
func (s *ACLSet) Get(id string) (acl.Binding, bool) {
	b, ok := s.byID[shardOf(id)][id]
	return b, ok
}

// All returns every ACL, sorted by id.
func (s *ACLSet) All() []ACL {
	out := make([]ACL, 0, s.n)
	for _, m := range s.byID {
		for id, b := range m {
			out = append(out, ACL{id, b})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Bindings returns every binding, in no particular order.
func (s *ACLSet) Bindings() []acl.Binding {
	out := make([]acl.Binding, 0, s.n)
	for _, m := range s.byID {
		for _, b := range m {
			out = append(out, b)
		}
	}
	return out
}

// Matching returns the ACLs a filter selects, sorted by id.
func (s *ACLSet) Matching(f acl.Filter) []ACL {
	var out []ACL
	for _, a := range s.All() {
		if f.Matches(a.Binding) {
			out = append(out, a)
		}
	}
	return out
}

func (s *ACLSet) with(id string, b acl.Binding) *ACLSet {
	next := *s
	i, j := shardOf(id), bindingShard(b)
	next.byID[i] = cloneMap(s.byID[i])
	next.byID[i][id] = b
	next.byBinding[j] = cloneMap(s.byBinding[j])
	next.byBinding[j][b] = id
	next.n++
	return &next
}

func (s *ACLSet) without(id string) *ACLSet {
	b := s.byID[shardOf(id)][id]
	next := *s
	i, j := shardOf(id), bindingShard(b)
	next.byID[i] = cloneMap(s.byID[i])
	delete(next.byID[i], id)
	next.byBinding[j] = cloneMap(s.byBinding[j])
	delete(next.byBinding[j], b)
	next.n--
	return &next
}

// ACLs returns the image's ACLs (never nil).
func (im *Image) ACLs() *ACLSet {
	if im.acls == nil {
		return emptyACLs
	}
	return im.acls
}

func (im *Image) applyACL(r *ACLRecord) (*ACLSet, error) {
	s := im.ACLs()
	b := r.Binding()
	if err := b.Validate(); err != nil {
		return nil, err
	}
	if r.ID == "" || len(r.ID) > maxACLIDLength {
		return nil, fmt.Errorf("ACL id %q: empty or longer than %d", r.ID, maxACLIDLength)
	}
	if _, ok := s.Get(r.ID); ok {
		return nil, fmt.Errorf("ACL id %s already exists", r.ID)
	}
	if id, ok := s.Find(b); ok {
		return nil, fmt.Errorf("ACL %v already exists as %s", b, id)
	}
	return s.with(r.ID, b), nil
}

func (im *Image) applyRemoveACL(r *RemoveACLRecord) (*ACLSet, error) {
	s := im.ACLs()
	if _, ok := s.Get(r.ID); !ok {
		return nil, fmt.Errorf("removing unknown ACL %s", r.ID)
	}
	return s.without(r.ID), nil
}

// records returns the records that rebuild the ACLs (a snapshot).
func (s *ACLSet) records() []Record {
	var out []Record
	for _, a := range s.All() {
		out = append(out, aclRecord(a.ID, a.Binding))
	}
	return out
}

func newACLID(s *ACLSet, taken map[string]bool) string {
	for {
		var b [16]byte
		rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		if _, ok := s.Get(id); !ok && !taken[id] {
			return id
		}
	}
}

// CreateACLRecords plans the creation of bindings, as Kafka's controller
// does: each binding is validated (errs[i] wraps acl.ErrInvalid if it is
// not valid), and one that exists already, or earlier in the list, is a
// success that needs no record.
func CreateACLRecords(im *Image, bindings []acl.Binding) (recs []Record, errs []error) {
	s := im.ACLs()
	errs = make([]error, len(bindings))
	seen := map[acl.Binding]bool{}
	taken := map[string]bool{}
	for i, b := range bindings {
		if err := b.Validate(); err != nil {
			errs[i] = err
			continue
		}
		if _, ok := s.Find(b); ok || seen[b] {
			continue
		}
		if len(recs) >= MaxACLRecords {
			errs[i] = fmt.Errorf("%w: more than %d ACLs in one request", acl.ErrInvalid, MaxACLRecords)
			continue
		}
		seen[b] = true
		id := newACLID(s, taken)
		taken[id] = true
		recs = append(recs, aclRecord(id, b))
	}
	return recs, errs
}

// DeleteACLRecords plans the deletion of every ACL that any of filters
// selects: deleted[i] are those filter i matched (an ACL matched by two
// filters is listed under both and removed once). A filter that does not
// validate matches nothing; the caller reports it.
func DeleteACLRecords(im *Image, filters []acl.Filter) (recs []Record, deleted [][]ACL, err error) {
	s := im.ACLs()
	deleted = make([][]ACL, len(filters))
	removed := map[string]bool{}
	all := s.All()
	for i, f := range filters {
		if f.Validate() != nil {
			continue
		}
		for _, a := range all {
			if !f.Matches(a.Binding) {
				continue
			}
			deleted[i] = append(deleted[i], a)
			if !removed[a.ID] {
				removed[a.ID] = true
				recs = append(recs, Record{Type: TypeRemoveACL, RemoveACL: &RemoveACLRecord{ID: a.ID}})
			}
		}
	}
	if len(recs) > MaxACLRecords {
		return nil, nil, fmt.Errorf("%w: the filters match %d ACLs; at most %d can be deleted at once", acl.ErrInvalid, len(recs), MaxACLRecords)
	}
	return recs, deleted, nil
}
