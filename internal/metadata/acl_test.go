package metadata

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/samsa-streaming/samsa/internal/acl"
)

func applyACLs(t *testing.T, im *Image, recs []Record) *Image {
	t.Helper()
	for _, r := range recs {
		if err := r.validate(); err != nil {
			t.Fatal(err)
		}
		var err error
		if im, err = im.apply(r); err != nil {
			t.Fatal(err)
		}
	}
	return im
}

func TestACLRecords(t *testing.T) {
	read := acl.Binding{ResourceType: acl.ResourceTopic, Name: "t", PatternType: acl.PatternLiteral, Principal: "User:a", Host: "*", Operation: acl.OpRead, Permission: acl.Allow}
	deny := read
	deny.Permission = acl.Deny
	pre := read
	pre.PatternType, pre.Name = acl.PatternPrefixed, "app."
	bad := read
	bad.Principal = "alice"

	im := emptyImage()
	recs, errs := CreateACLRecords(im, []acl.Binding{read, deny, read, bad, pre})
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3 (the duplicate and the invalid binding make none)", len(recs))
	}
	for i, want := range []bool{false, false, false, true, false} {
		if (errs[i] != nil) != want {
			t.Errorf("binding %d: error %v", i, errs[i])
		}
	}
	if !errors.Is(errs[3], acl.ErrInvalid) {
		t.Errorf("invalid binding: %v", errs[3])
	}
	im = applyACLs(t, im, recs)
	if im.ACLs().Len() != 3 {
		t.Fatalf("%d ACLs", im.ACLs().Len())
	}
	before := im.ACLs()

	// Creating what exists is a success without records.
	recs, errs = CreateACLRecords(im, []acl.Binding{read})
	if len(recs) != 0 || errs[0] != nil {
		t.Fatalf("existing binding: %v %v", recs, errs)
	}

	// Preconditions: a binding or id that exists, an invalid binding,
	// an unknown id are refused when applied.
	id, _ := im.ACLs().Find(read)
	for name, r := range map[string]Record{
		"same binding":   aclRecord("other", read),
		"same id":        aclRecord(id, acl.Binding{ResourceType: acl.ResourceGroup, Name: "g", PatternType: acl.PatternLiteral, Principal: "User:a", Host: "*", Operation: acl.OpRead, Permission: acl.Allow}),
		"invalid":        aclRecord("x", bad),
		"empty id":       aclRecord("", acl.Binding{ResourceType: acl.ResourceGroup, Name: "g", PatternType: acl.PatternLiteral, Principal: "User:a", Host: "*", Operation: acl.OpRead, Permission: acl.Allow}),
		"unknown remove": {Type: TypeRemoveACL, RemoveACL: &RemoveACLRecord{ID: "nope"}},
	} {
		if _, err := im.apply(r); err == nil {
			t.Errorf("%s: applied", name)
		}
	}
	if im.ACLs() != before {
		t.Fatal("a refused record changed the image")
	}

	// Filters: MATCH on "t" finds the two literal ACLs, not the prefix.
	name := "t"
	recs, deleted, err := DeleteACLRecords(im, []acl.Filter{
		{ResourceType: acl.ResourceTopic, Name: &name, PatternType: acl.PatternMatch, Operation: acl.OpAny, Permission: acl.PermissionAny},
		{ResourceType: acl.ResourceAny, PatternType: acl.PatternAny, Operation: acl.OpAny, Permission: acl.Deny},
		{ResourceType: acl.ResourceUnknown},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || len(deleted[0]) != 2 || len(deleted[1]) != 1 || len(deleted[2]) != 0 {
		t.Fatalf("recs %d, deleted %v", len(recs), deleted)
	}
	im2 := applyACLs(t, im, recs)
	if got := im2.ACLs().Bindings(); !reflect.DeepEqual(got, []acl.Binding{pre}) {
		t.Fatalf("left %v", got)
	}
	if im.ACLs().Len() != 3 {
		t.Fatal("the earlier image changed")
	}

	// A snapshot rebuilds the same ACLs with the same ids.
	re := applyACLs(t, emptyImage(), im.records())
	if !reflect.DeepEqual(re.ACLs().All(), im.ACLs().All()) {
		t.Fatal("snapshot lost ACLs")
	}
	if !im.hasData() {
		t.Fatal("ACLs are data")
	}
}

func TestACLRecordJSON(t *testing.T) {
	r := aclRecord("0123", acl.Binding{ResourceType: acl.ResourceTopic, Name: "t", PatternType: acl.PatternPrefixed, Principal: "User:a", Host: "*", Operation: acl.OpWrite, Permission: acl.Deny})
	b, err := encode(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"acl","acl":{"id":"0123","resource_type":2,"resource_name":"t","pattern_type":4,"principal":"User:a","host":"*","operation":4,"permission":2}}`
	if string(b) != want {
		t.Fatalf("got %s\nwant %s", b, want)
	}
	d, err := decode(b)
	if err != nil || !reflect.DeepEqual(d, r) {
		t.Fatalf("round trip: %v %+v", err, d)
	}
	for _, bad := range []string{`{"type":"acl"}`, `{"type":"remove_acl","acl":{}}`, `{"type":"acl","acl":{},"remove_acl":{}}`} {
		if _, err := decode([]byte(bad)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestManyACLsInOneChange(t *testing.T) {
	var bs []acl.Binding
	for i := 0; i < MaxACLRecords+5; i++ {
		bs = append(bs, acl.Binding{ResourceType: acl.ResourceTopic, Name: fmt.Sprint("t", i), PatternType: acl.PatternLiteral, Principal: "User:a", Host: "*", Operation: acl.OpRead, Permission: acl.Allow})
	}
	recs, errs := CreateACLRecords(emptyImage(), bs)
	if len(recs) != MaxACLRecords || errs[MaxACLRecords] == nil || errs[0] != nil {
		t.Fatalf("%d records", len(recs))
	}
	im := applyACLs(t, emptyImage(), recs)
	if im.ACLs().Len() != MaxACLRecords {
		t.Fatal(im.ACLs().Len())
	}
	recs, _, err := DeleteACLRecords(im, []acl.Filter{acl.AnyFilter})
	if err != nil || len(recs) != MaxACLRecords {
		t.Fatal(err, len(recs))
	}
	if applyACLs(t, im, recs).ACLs().Len() != 0 {
		t.Fatal("not all deleted")
	}
}

// FuzzACLRecord applies arbitrary records to an image that has ACLs: a
// bad record is refused, never a panic, and a refused record leaves the
// image alone.
func FuzzACLRecord(f *testing.F) {
	f.Add([]byte(`{"type":"acl","acl":{"id":"1","resource_type":2,"resource_name":"t","pattern_type":3,"principal":"User:a","host":"*","operation":3,"permission":3}}`))
	f.Add([]byte(`{"type":"acl","acl":{"id":"2","resource_type":99,"resource_name":"","pattern_type":-1,"principal":"","host":"","operation":77,"permission":0}}`))
	f.Add([]byte(`{"type":"remove_acl","remove_acl":{"id":"a"}}`))
	f.Add([]byte(`{"type":"remove_acl","remove_acl":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		im := emptyImage()
		recs, _ := CreateACLRecords(im, []acl.Binding{{ResourceType: acl.ResourceTopic, Name: "t", PatternType: acl.PatternLiteral, Principal: "User:a", Host: "*", Operation: acl.OpRead, Permission: acl.Allow}})
		for _, r := range recs {
			im, _ = im.apply(r)
		}
		r, err := decode(b)
		if err != nil {
			return
		}
		next, err := im.apply(r)
		if err != nil {
			return
		}
		// Whatever was applied is a valid ACL set and rebuilds alike.
		for _, a := range next.ACLs().All() {
			if a.Validate() != nil {
				t.Fatalf("invalid ACL in the image: %+v", a)
			}
		}
		re := emptyImage()
		for _, r := range next.records() {
			if re, err = re.apply(r); err != nil {
				t.Fatal(err)
			}
		}
	})
}
