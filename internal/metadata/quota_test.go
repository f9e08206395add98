package metadata

import (
	"math"
	"testing"
)

func TestQuotaRecords(t *testing.T) {
	alice := QuotaEntity{User: "alice"}
	aliceApp := QuotaEntity{User: "alice", ClientID: "app"}
	defUser := QuotaEntity{DefaultUser: true}
	ip := QuotaEntity{IP: "10.0.0.1"}
	set := func(e QuotaEntity, k string, v float64) Record {
		return Record{Type: TypeQuota, Quota: &QuotaRecord{Entity: e, Key: k, Value: v}}
	}
	del := func(e QuotaEntity, k string) Record {
		return Record{Type: TypeQuota, Quota: &QuotaRecord{Entity: e, Key: k, Remove: true}}
	}
	im := emptyImage()
	if im.ClientQuotas() != nil {
		t.Fatal("an empty image has quotas")
	}
	im = applyAll(t, im, []Record{set(alice, "producer_byte_rate", 1024), set(alice, "consumer_byte_rate", 2048),
		set(aliceApp, "request_percentage", 50), set(defUser, "producer_byte_rate", 100), set(ip, "connection_creation_rate", 5)})
	q := im.ClientQuotas()
	if q.Len() != 4 {
		t.Fatalf("%d entities", q.Len())
	}
	if v, ok := q.Value(alice, "consumer_byte_rate"); !ok || v != 2048 {
		t.Fatal(v, ok)
	}
	if _, ok := q.Value(QuotaEntity{ClientID: "alice"}, "producer_byte_rate"); ok {
		t.Fatal("a client id matched a user")
	}
	// A snapshot rebuilds them.
	re := applyAll(t, emptyImage(), im.records())
	if v, ok := re.ClientQuotas().Value(defUser, "producer_byte_rate"); !ok || v != 100 || re.ClientQuotas().Len() != 4 {
		t.Fatal("lost in the snapshot")
	}
	// Removing the last value removes the entity; removing what is not
	// there changes nothing (and keeps the same set).
	before := im.ClientQuotas()
	im = applyAll(t, im, []Record{del(alice, "no_such")})
	if im.ClientQuotas() != before {
		t.Fatal("a no-op removal copied the set")
	}
	im = applyAll(t, im, []Record{del(aliceApp, "request_percentage"), del(ip, "connection_creation_rate")})
	if im.ClientQuotas().Get(aliceApp) != nil || im.ClientQuotas().Len() != 2 {
		t.Fatal("not removed")
	}
	// The set an older image holds is unchanged.
	if before.Len() != 4 {
		t.Fatal("a published set was changed")
	}
	for _, bad := range []QuotaRecord{
		{Entity: QuotaEntity{}, Key: "producer_byte_rate", Value: 1},
		{Entity: QuotaEntity{IP: "10.0.0.1", User: "u"}, Key: "connection_creation_rate", Value: 1},
		{Entity: QuotaEntity{User: "x", DefaultUser: true}, Key: "producer_byte_rate", Value: 1},
		{Entity: alice, Key: "", Value: 1},
		{Entity: alice, Key: "producer_byte_rate", Value: 0},
		{Entity: alice, Key: "producer_byte_rate", Value: math.NaN()},
	} {
		b := bad
		if _, err := im.apply(Record{Type: TypeQuota, Quota: &b}); err == nil {
			t.Errorf("%+v applied", bad)
		}
	}
}
