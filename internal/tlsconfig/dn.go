package tlsconfig

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"strings"
)

// rawATV is an attribute of a distinguished name with its value as encoded:
// the string type matters to how Java prints it.
type rawATV struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// rawRDNSET is one relative distinguished name (a SET, hence the name's
// suffix, which encoding/asn1 reads as SET OF).
type rawRDNSET []rawATV

// rfc2253Keywords are the attribute names Java's X500Principal.getName()
// (RFC 2253 format) prints; every other attribute is printed as its dotted
// OID with the value in hex.
var rfc2253Keywords = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.9":                    "STREET",
	"0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1":  "UID",
}

// ASN.1 universal tags of the string types Java prints as text.
const (
	tagUTF8String      = 12
	tagPrintableString = 19
	tagT61String       = 20
	tagIA5String       = 22
	tagGeneralString   = 27
	tagBMPString       = 30
)

// DistinguishedName returns the certificate's subject as Java's
// X500Principal.getName() prints it (RFC 2253): what Kafka's
// ssl.principal.mapping.rules match and its principals carry, e.g.
// "CN=alice,OU=eng,O=Acme,C=US".
//
// As Java does: the relative names in reverse order of their encoding (the
// most specific first), the attributes of a multi-valued one joined by "+"
// in their encoded order; CN, C, L, ST, O, OU, STREET, DC and UID by name,
// any other attribute (emailAddress, serialNumber, ...) as its dotted OID
// and "#" with the hex of its DER value; values of the string types
// (PrintableString, UTF8String, IA5String, T61String, BMPString,
// GeneralString) as text read as UTF-8 from their bytes (as Java does, even
// for BMPString), any other value type in hex; in text, each of , = + < > #
// ; " \ escaped with a backslash, a NUL as \00, and leading and trailing
// spaces (and carriage returns) escaped with a backslash.
func DistinguishedName(cert *x509.Certificate) string {
	var rdns []rawRDNSET
	if rest, err := asn1.Unmarshal(cert.RawSubject, &rdns); err != nil || len(rest) != 0 {
		// The certificate was parsed by crypto/x509, so this does not
		// happen; Go's own rendering is the best left.
		return cert.Subject.String()
	}
	var b strings.Builder
	for i := len(rdns) - 1; i >= 0; i-- {
		if i != len(rdns)-1 {
			b.WriteByte(',')
		}
		for j, atv := range rdns[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			writeATV(&b, atv)
		}
	}
	return b.String()
}

func writeATV(b *strings.Builder, atv rawATV) {
	oid := atv.Type.String()
	keyword, known := rfc2253Keywords[oid]
	if !known {
		keyword = oid
	}
	b.WriteString(keyword)
	b.WriteByte('=')
	v := atv.Value
	if !known || !isJavaString(v) {
		b.WriteByte('#')
		b.WriteString(hex.EncodeToString(v.FullBytes))
		return
	}
	// Escape the special characters, then escape leading and trailing
	// blanks of the escaped text, as Java's AVA.toRFC2253String does.
	var esc strings.Builder
	for _, r := range string(v.Bytes) {
		switch {
		case strings.ContainsRune(",=+<>#;\"\\", r):
			esc.WriteByte('\\')
			esc.WriteRune(r)
		case r == 0:
			esc.WriteString(`\00`)
		default:
			esc.WriteRune(r)
		}
	}
	s := esc.String()
	blank := func(c byte) bool { return c == ' ' || c == '\r' }
	lead := 0
	for lead < len(s) && blank(s[lead]) {
		lead++
	}
	trail := len(s) - 1
	for trail >= 0 && blank(s[trail]) {
		trail--
	}
	for i := 0; i < len(s); i++ {
		if i < lead || i > trail {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
}

// isJavaString reports whether Java prints a value as text: a universal
// string type it knows.
func isJavaString(v asn1.RawValue) bool {
	if v.Class != asn1.ClassUniversal || v.IsCompound {
		return false
	}
	switch v.Tag {
	case tagUTF8String, tagPrintableString, tagT61String, tagIA5String, tagGeneralString, tagBMPString:
		return true
	}
	return false
}
