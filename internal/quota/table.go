package quota

import (
	"net/netip"
)

// The quota keys, Kafka's names (QuotaConfig).
const (
	ProducerByteRate       = "producer_byte_rate"       // bytes/s produced, user and client-id entities
	ConsumerByteRate       = "consumer_byte_rate"       // bytes/s fetched, user and client-id entities
	RequestPercentage      = "request_percentage"       // % of one request thread's time, user and client-id entities
	ControllerMutationRate = "controller_mutation_rate" // partitions created or deleted per second, user and client-id entities
	ConnectionCreationRate = "connection_creation_rate" // connections per second, IP entities
)

// ValueType is how a key's value must look, as Kafka's ConfigDef type.
type ValueType int8

const (
	Long ValueType = iota + 1
	Int
	Double
)

// Keys returns the keys an entity may have and their types: the IP keys
// for an IP entity, the user and client-id keys otherwise.
func Keys(ip bool) map[string]ValueType {
	if ip {
		return ipKeys
	}
	return clientKeys
}

var (
	clientKeys = map[string]ValueType{ProducerByteRate: Long, ConsumerByteRate: Long, RequestPercentage: Double, ControllerMutationRate: Double}
	ipKeys     = map[string]ValueType{ConnectionCreationRate: Int}
)

// Kind is a quota type enforced per user and client id.
type Kind int8

const (
	Produce  Kind = iota
	Fetch         // consumer bytes
	Request       // handler time
	Mutation      // partitions created or deleted (KIP-599)
	numKinds
)

// Key is the quota key that bounds a kind.
func (k Kind) Key() string {
	switch k {
	case Produce:
		return ProducerByteRate
	case Fetch:
		return ConsumerByteRate
	case Mutation:
		return ControllerMutationRate
	default:
		return RequestPercentage
	}
}

// Entity is a user and client-id quota entity: each part absent (empty,
// not Default), named, or the default entity of its type.
type Entity struct {
	User            string
	DefaultUser     bool
	ClientID        string
	DefaultClientID bool
}

// Table is the quotas in force, built once and never changed.
type Table struct {
	client [numKinds]map[Entity]float64
	ip     map[netip.Addr]float64
	ipDef  float64 // the default IP entity's connection rate; 0: none
}

// NewTable returns an empty table to fill with Set and SetIP before use.
func NewTable() *Table { return &Table{} }

// Set records one user or client-id quota value; keys other than the
// enforced ones are ignored.
func (t *Table) Set(e Entity, key string, v float64) {
	for k := Kind(0); k < numKinds; k++ {
		if k.Key() == key {
			if t.client[k] == nil {
				t.client[k] = map[Entity]float64{}
			}
			t.client[k][e] = v
		}
	}
}

// SetIP records an IP entity's connection creation rate; def marks the
// default IP entity. An ip that is not an address is ignored.
func (t *Table) SetIP(ip string, def bool, rate float64) {
	if def {
		t.ipDef = rate
		return
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return
	}
	if t.ip == nil {
		t.ip = map[netip.Addr]float64{}
	}
	t.ip[a.Unmap()] = rate
}

// HasClientQuotas reports whether any user or client-id quota is set.
func (t *Table) HasClientQuotas() bool {
	if t == nil {
		return false
	}
	for _, m := range t.client {
		if len(m) > 0 {
			return true
		}
	}
	return false
}

// HasIPQuotas reports whether any IP connection rate is set.
func (t *Table) HasIPQuotas() bool { return t != nil && (len(t.ip) > 0 || t.ipDef > 0) }

// IPRate returns the connection creation rate an address is held to: its
// own, else the default IP entity's.
func (t *Table) IPRate(a netip.Addr) (float64, bool) {
	if t == nil {
		return 0, false
	}
	if r, ok := t.ip[a.Unmap()]; ok {
		return r, true
	}
	return t.ipDef, t.ipDef > 0
}

// sensorKey names the sensor a client's traffic is counted in: the user
// and client id the quota was resolved at (empty for a part the quota
// does not depend on), per kind.
type sensorKey struct {
	kind     Kind
	user, id string
}

// Resolve finds the quota of kind for a user (the principal's name) and
// client id, with Kafka's precedence (KIP-55):
//
//  1. user and client id        5. default user and default client id
//  2. user and default client   6. default user
//  3. user                      7. client id
//  4. default user and client   8. default client id
//
// It returns the bound and the sensor to count in; ok is false when no
// quota applies. (An empty user or client id makes some levels the same
// entity as others; the empty entity is never in a table.)
func (t *Table) Resolve(kind Kind, user, clientID string) (bound float64, key sensorKey, ok bool) {
	if t == nil {
		return 0, sensorKey{}, false
	}
	m := t.client[kind]
	if len(m) == 0 {
		return 0, sensorKey{}, false
	}
	both := sensorKey{kind, user, clientID}
	userOnly := sensorKey{kind, user, ""}
	for _, l := range [...]struct {
		e   Entity
		key sensorKey
	}{
		{Entity{User: user, ClientID: clientID}, both},
		{Entity{User: user, DefaultClientID: true}, both},
		{Entity{User: user}, userOnly},
		{Entity{DefaultUser: true, ClientID: clientID}, both},
		{Entity{DefaultUser: true, DefaultClientID: true}, both},
		{Entity{DefaultUser: true}, userOnly},
		{Entity{ClientID: clientID}, sensorKey{kind, "", clientID}},
		{Entity{DefaultClientID: true}, sensorKey{kind, "", clientID}},
	} {
		if v, ok := m[l.e]; ok {
			return v, l.key, true
		}
	}
	return 0, sensorKey{}, false
}
