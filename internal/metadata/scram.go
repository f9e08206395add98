package metadata

import (
	"fmt"
	"sort"
)

// ScramRecord sets one user's SCRAM credential for one mechanism (Kafka's
// UserScramCredentialRecord): the salt, the keys derived from the salted
// password and the iteration count; never the password.
type ScramRecord struct {
	User       string `json:"user"`
	Mechanism  int8   `json:"mechanism"` // 1 SCRAM-SHA-256, 2 SCRAM-SHA-512
	Salt       []byte `json:"salt"`
	StoredKey  []byte `json:"stored_key"`
	ServerKey  []byte `json:"server_key"`
	Iterations int32  `json:"iterations"`
}

// RemoveScramRecord deletes one user's credential for one mechanism
// (Kafka's RemoveUserScramCredentialRecord). It applies only if the
// credential exists.
type RemoveScramRecord struct {
	User      string `json:"user"`
	Mechanism int8   `json:"mechanism"`
}

type scramKey struct {
	user string
	mech int8
}

// Bounds of what a SCRAM record may hold.
const (
	maxScramUserLength = 1024
	maxScramKeyBytes   = 128
)

func (r *ScramRecord) check() error {
	switch {
	case r.User == "" || len(r.User) > maxScramUserLength:
		return fmt.Errorf("SCRAM credential: bad user name length %d", len(r.User))
	case r.Mechanism != 1 && r.Mechanism != 2:
		return fmt.Errorf("SCRAM credential: unknown mechanism %d", r.Mechanism)
	case len(r.Salt) == 0 || len(r.Salt) > maxScramKeyBytes || len(r.StoredKey) == 0 || len(r.StoredKey) > maxScramKeyBytes ||
		len(r.ServerKey) == 0 || len(r.ServerKey) > maxScramKeyBytes:
		return fmt.Errorf("SCRAM credential: bad key sizes")
	case r.Iterations < 1:
		return fmt.Errorf("SCRAM credential: bad iteration count %d", r.Iterations)
	}
	return nil
}

// Scram returns a user's credential for a mechanism.
func (im *Image) Scram(user string, mechanism int8) (ScramRecord, bool) {
	c, ok := im.scram[scramKey{user, mechanism}]
	return c, ok
}

// ScramUsers returns every user with a SCRAM credential and the
// credentials, sorted by user then mechanism.
func (im *Image) ScramUsers() []ScramRecord {
	out := make([]ScramRecord, 0, len(im.scram))
	for _, c := range im.scram {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].User != out[j].User {
			return out[i].User < out[j].User
		}
		return out[i].Mechanism < out[j].Mechanism
	})
	return out
}

func (im *Image) applyScram(r *ScramRecord) (map[scramKey]ScramRecord, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	next := make(map[scramKey]ScramRecord, len(im.scram)+1)
	for k, v := range im.scram {
		next[k] = v
	}
	next[scramKey{r.User, r.Mechanism}] = *r
	return next, nil
}

func (im *Image) applyRemoveScram(r *RemoveScramRecord) (map[scramKey]ScramRecord, error) {
	k := scramKey{r.User, r.Mechanism}
	if _, ok := im.scram[k]; !ok {
		return nil, fmt.Errorf("removing the SCRAM credential of %q (mechanism %d): there is none", r.User, r.Mechanism)
	}
	next := make(map[scramKey]ScramRecord, len(im.scram))
	for kk, v := range im.scram {
		if kk != k {
			next[kk] = v
		}
	}
	return next, nil
}

func (im *Image) scramRecords() []Record {
	var out []Record
	for _, c := range im.ScramUsers() {
		c := c
		out = append(out, Record{Type: TypeScram, Scram: &c})
	}
	return out
}
