package tlsconfig

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

func atv(oid asn1.ObjectIdentifier, tag int, value string) rawATV {
	return rawATV{Type: oid, Value: asn1.RawValue{Class: asn1.ClassUniversal, Tag: tag, Bytes: []byte(value)}}
}

func bmp(s string) string {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r>>8), byte(r))
	}
	return string(b)
}

var (
	oidCN     = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidC      = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidL      = asn1.ObjectIdentifier{2, 5, 4, 7}
	oidST     = asn1.ObjectIdentifier{2, 5, 4, 8}
	oidStreet = asn1.ObjectIdentifier{2, 5, 4, 9}
	oidO      = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU     = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidSerial = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidEmail  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	oidDC     = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	oidUID    = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
)

// TestDistinguishedName checks the subject printed as Java's
// X500Principal.getName() prints it.
func TestDistinguishedName(t *testing.T) {
	for _, tc := range []struct {
		name string
		rdns []rawRDNSET // in encoded order: the most general first
		want string
	}{
		{"order", []rawRDNSET{{atv(oidC, tagPrintableString, "US")}, {atv(oidO, tagPrintableString, "Acme")}, {atv(oidOU, tagUTF8String, "eng")}, {atv(oidCN, tagUTF8String, "alice")}}, "CN=alice,OU=eng,O=Acme,C=US"},
		{"specials", []rawRDNSET{{atv(oidCN, tagUTF8String, "a,b+c")}}, `CN=a\,b\+c`},
		{"equals and hash anywhere", []rawRDNSET{{atv(oidCN, tagUTF8String, "#x=y#")}}, `CN=\#x\=y\#`},
		{"angle brackets, semicolon, quote, backslash", []rawRDNSET{{atv(oidCN, tagUTF8String, `<>;"\`)}}, `CN=\<\>\;\"\\`},
		{"leading and trailing spaces", []rawRDNSET{{atv(oidCN, tagUTF8String, " lead trail ")}}, `CN=\ lead trail\ `},
		{"only spaces", []rawRDNSET{{atv(oidCN, tagUTF8String, "  ")}}, `CN=\ \ `},
		{"trailing carriage return", []rawRDNSET{{atv(oidCN, tagUTF8String, "a\r")}}, "CN=a\\\r"},
		{"NUL", []rawRDNSET{{atv(oidCN, tagUTF8String, "a\x00b")}}, `CN=a\00b`},
		{"non-ASCII kept", []rawRDNSET{{atv(oidCN, tagUTF8String, "Zoë_@*")}}, `CN=Zoë_@*`},
		{"empty value", []rawRDNSET{{atv(oidCN, tagUTF8String, "")}}, `CN=`},
		{"IA5String", []rawRDNSET{{atv(oidCN, tagIA5String, "web")}}, `CN=web`},
		{"T61String", []rawRDNSET{{atv(oidCN, tagT61String, "t61")}}, `CN=t61`},
		{"BMPString read as UTF-8 bytes, as Java does", []rawRDNSET{{atv(oidCN, tagBMPString, bmp("ab"))}}, `CN=\00a\00b`},
		{"UniversalString in hex", []rawRDNSET{{atv(oidCN, 28, "\x00\x00\x00a")}}, `CN=#1c0400000061`},
		{"non-string value in hex", []rawRDNSET{{atv(oidCN, 2, "\x05")}}, `CN=#020105`},
		{"email by OID in hex", []rawRDNSET{{atv(oidCN, tagUTF8String, "bob")}, {atv(oidEmail, tagIA5String, "a@b.c")}}, `1.2.840.113549.1.9.1=#16056140622e63,CN=bob`},
		{"serialNumber by OID in hex", []rawRDNSET{{atv(oidSerial, tagPrintableString, "123")}}, `2.5.4.5=#1303313233`},
		{"DC and UID", []rawRDNSET{{atv(oidDC, tagIA5String, "com")}, {atv(oidDC, tagIA5String, "example")}, {atv(oidUID, tagUTF8String, "jdoe")}}, `UID=jdoe,DC=example,DC=com`},
		{"ST, L, STREET", []rawRDNSET{{atv(oidST, tagUTF8String, "CA")}, {atv(oidL, tagUTF8String, "SF")}, {atv(oidStreet, tagUTF8String, "Main St")}}, `STREET=Main St,L=SF,ST=CA`},
		{"multi-valued", []rawRDNSET{{atv(oidO, tagUTF8String, "Acme")}, {atv(oidCN, tagUTF8String, "ab"), atv(oidOU, tagUTF8String, "cd")}}, `CN=ab+OU=cd,O=Acme`},
		{"empty", nil, ``},
	} {
		der, err := asn1.Marshal(tc.rdns)
		if tc.rdns == nil {
			der, err = asn1.Marshal([]rawRDNSET{})
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := DistinguishedName(&x509.Certificate{RawSubject: der}); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestDistinguishedNameOfCertificate checks names as crypto/x509 encodes
// them in real certificates.
func TestDistinguishedNameOfCertificate(t *testing.T) {
	ca := newCA(t, "Test CA")
	cert, _ := ca.issue(t, pkix.Name{
		CommonName:         "Tkac, Adam",
		OrganizationalUnit: []string{"ITZ"},
		Organization:       []string{"Acme+Co"},
		Locality:           []string{"Praha"},
		Province:           []string{"CZ-10"},
		Country:            []string{"CZ"},
		ExtraNames:         []pkix.AttributeTypeAndValue{{Type: oidEmail, Value: "a@b.c"}},
	}, false, nil)
	// crypto/x509 encodes C, ST, L, O, OU, CN, then the extra names (the
	// email address as a UTF8String, "@" not being printable); Java prints
	// an email address by OID, in hex.
	got := DistinguishedName(cert)
	want := `1.2.840.113549.1.9.1=#0c056140622e63,CN=Tkac\, Adam,OU=ITZ,O=Acme\+Co,L=Praha,ST=CZ-10,C=CZ`
	if got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
