package tlsconfig

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/pavlo-v-chernykh/keystore-go/v4"
	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"
)

// maxStoreSize bounds the key and trust store files read: real ones are a
// few kilobytes.
const maxStoreSize = 16 << 20

// storeFile is a key or trust store file as last read: what a reload
// compares the file on disk with.
type storeFile struct {
	setting string // the setting naming the file, ssl.keystore.location or ssl.truststore.location
	path    string
	info    os.FileInfo // stat taken before the read
	sum     [sha256.Size]byte
}

// readStore stats and reads a store file, refusing a missing, unreadable
// or oversized one with an error naming the setting.
func readStore(setting, path string) ([]byte, *storeFile, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", setting, err)
	}
	if !info.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: %s is not a regular file", setting, path)
	}
	if info.Size() > maxStoreSize {
		return nil, nil, fmt.Errorf("%s: %s is %d bytes, more than any key or trust store (limit %d)", setting, path, info.Size(), maxStoreSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", setting, err)
	}
	if len(data) > maxStoreSize {
		return nil, nil, fmt.Errorf("%s: %s is more than %d bytes", setting, path, maxStoreSize)
	}
	return data, &storeFile{setting: setting, path: path, info: info, sum: sha256.Sum256(data)}, nil
}

// changed reports whether the file on disk may differ from the one read:
// another file (renamed into place), another size or modification time.
// A file that cannot be stat'ed counts as unchanged: the old material stays.
func (f *storeFile) changed() (os.FileInfo, bool) {
	info, err := os.Stat(f.path)
	if err != nil {
		return nil, false
	}
	if !os.SameFile(info, f.info) || info.Size() != f.info.Size() || !info.ModTime().Equal(f.info.ModTime()) {
		return info, true
	}
	return nil, false
}

// keyStoreSpec checks which key store the settings describe: a file
// (path != ""), PEM strings (inline), or none.
func keyStoreSpec(s Settings) (typ, path string, inline bool, err error) {
	typ, err = storeType("ssl.keystore.type", s.KeystoreType)
	if err != nil {
		return "", "", false, err
	}
	if s.KeystoreCertChain != "" || s.KeystoreKey != "" {
		switch {
		case typ != "PEM":
			return "", "", false, fmt.Errorf("ssl.keystore.certificate.chain and ssl.keystore.key need ssl.keystore.type=PEM (it is %s)", typ)
		case s.KeystoreLocation != "":
			return "", "", false, errors.New("ssl.keystore.location is set together with ssl.keystore.certificate.chain/ssl.keystore.key: set one or the other")
		case s.KeystoreCertChain == "":
			return "", "", false, errors.New("ssl.keystore.certificate.chain: missing (ssl.keystore.key is set)")
		case s.KeystoreKey == "":
			return "", "", false, errors.New("ssl.keystore.key: missing (ssl.keystore.certificate.chain is set)")
		}
		return typ, "", true, nil
	}
	return typ, s.KeystoreLocation, false, nil
}

// loadKeyStore loads the key store the settings describe: its certificates
// (none when there is no key store) and, for a file, what was read.
func loadKeyStore(s Settings) ([]tls.Certificate, *storeFile, error) {
	typ, path, inline, err := keyStoreSpec(s)
	if err != nil {
		return nil, nil, err
	}
	if inline {
		certs, err := parsePEMKeyStore([]byte(s.KeystoreCertChain), []byte(s.KeystoreKey), s.KeyPassword,
			"ssl.keystore.certificate.chain", "ssl.keystore.key")
		if err != nil {
			return nil, nil, err
		}
		return certs, nil, nil
	}
	if path == "" {
		return nil, nil, nil
	}
	data, f, err := readStore("ssl.keystore.location", path)
	if err != nil {
		return nil, nil, err
	}
	certs, err := parseKeyStoreFile(s, typ, path, data)
	if err != nil {
		return nil, nil, err
	}
	return certs, f, nil
}

// parseKeyStoreFile parses a key store file of the given type. As Java does
// (keystore.type.compat), a JKS store holding a PKCS12 file, or the other
// way round, is read as what it is.
func parseKeyStoreFile(s Settings, typ, path string, data []byte) ([]tls.Certificate, error) {
	switch typ {
	case "PEM":
		certs, err := parsePEMKeyStore(data, data, s.KeyPassword, "ssl.keystore.location", "ssl.keystore.location")
		if err != nil {
			return nil, fmt.Errorf("%w (PEM file %s)", err, path)
		}
		return certs, nil
	case "JKS", "PKCS12":
		if isJKS(data) {
			return parseJKSKeyStore(s, path, data)
		}
		if typ == "JKS" && !looksDER(data) {
			return nil, fmt.Errorf("ssl.keystore.location: %s is not a JKS key store (nor a PKCS12 one)", path)
		}
		return parsePKCS12KeyStore(s, path, data)
	}
	return nil, fmt.Errorf("ssl.keystore.type: unknown type %q", typ)
}

// isJKS reports whether data starts with JKS's magic number.
func isJKS(data []byte) bool {
	return len(data) >= 4 && binary.BigEndian.Uint32(data) == 0xFEEDFEED
}

// looksDER reports whether data starts as a DER SEQUENCE, as PKCS12 does.
func looksDER(data []byte) bool { return len(data) > 0 && data[0] == 0x30 }

// parsePEMKeyStore reads a private key and its certificate chain from PEM
// (the same text for a key store file; ssl.keystore.key and
// ssl.keystore.certificate.chain otherwise). certSetting and keySetting name
// the settings for errors.
func parsePEMKeyStore(certPEM, keyPEM []byte, keyPassword, certSetting, keySetting string) ([]tls.Certificate, error) {
	var chain []*x509.Certificate
	rest := certPEM
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %w", certSetting, len(chain)+1, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate (-----BEGIN CERTIFICATE-----) found", certSetting)
	}
	var key crypto.Signer
	rest = keyPEM
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if !strings.HasSuffix(b.Type, "PRIVATE KEY") {
			continue
		}
		if key != nil {
			return nil, fmt.Errorf("%s: more than one private key", keySetting)
		}
		k, err := parsePEMKey(b, keyPassword, keySetting)
		if err != nil {
			return nil, err
		}
		key = k
	}
	if key == nil {
		return nil, fmt.Errorf("%s: no PEM private key (-----BEGIN PRIVATE KEY-----) found", keySetting)
	}
	c, err := certificate(key, chain)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keySetting, err)
	}
	return []tls.Certificate{c}, nil
}

// parsePEMKey decodes one PEM private key: PKCS#8 (encrypted with
// ssl.key.password or not), PKCS#1 RSA or SEC 1 EC.
func parsePEMKey(b *pem.Block, password, setting string) (crypto.Signer, error) {
	var (
		k   any
		err error
	)
	switch b.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "RSA PRIVATE KEY", "EC PRIVATE KEY":
		if _, ok := b.Headers["DEK-Info"]; ok {
			return nil, fmt.Errorf("%s: the %s uses OpenSSL's legacy PEM encryption, which is not supported: convert it to encrypted PKCS#8 (openssl pkcs8 -topk8 -v2 aes-256-cbc) or use a PKCS12 key store", setting, strings.ToLower(b.Type))
		}
		if b.Type == "RSA PRIVATE KEY" {
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		} else {
			k, err = x509.ParseECPrivateKey(b.Bytes)
		}
	case "ENCRYPTED PRIVATE KEY":
		if password == "" {
			return nil, fmt.Errorf("ssl.key.password: the private key in %s is encrypted and ssl.key.password is not set", setting)
		}
		k, err = decryptPKCS8(b.Bytes, password)
		if err != nil {
			return nil, fmt.Errorf("ssl.key.password: cannot decrypt the private key in %s: %w", setting, err)
		}
	default:
		return nil, fmt.Errorf("%s: unsupported PEM block %q: use PKCS#8 (BEGIN PRIVATE KEY or BEGIN ENCRYPTED PRIVATE KEY), PKCS#1 or SEC 1", setting, b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", setting, strings.ToLower(b.Type), err)
	}
	signer, err := tlsKey(k)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	return signer, nil
}

// maxKDFIterations bounds PBKDF2's iteration count in an encrypted key, so a
// corrupt or hostile file cannot keep the broker busy for hours.
const maxKDFIterations = 10_000_000

// decryptPKCS8 decrypts an encrypted PKCS#8 key (PBES2: PBKDF2 or scrypt,
// AES or 3DES) with github.com/youmark/pkcs8. Its decryption trusts the
// file's parameters (an IV of the wrong size makes it panic), so the
// parameters are checked first and a panic becomes an error.
func decryptPKCS8(der []byte, password string) (key any, err error) {
	var info struct {
		Algo pkix.AlgorithmIdentifier
		Data []byte
	}
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		return nil, fmt.Errorf("not an encrypted PKCS#8 key: %w", err)
	}
	pbes2 := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	if !info.Algo.Algorithm.Equal(pbes2) {
		return nil, fmt.Errorf("encryption scheme %v is not supported (PBES2 is; use openssl pkcs8 -topk8 -v2 aes-256-cbc)", info.Algo.Algorithm)
	}
	var params struct {
		KDF, Scheme pkix.AlgorithmIdentifier
	}
	if _, err := asn1.Unmarshal(info.Algo.Parameters.FullBytes, &params); err != nil {
		return nil, fmt.Errorf("bad PBES2 parameters: %w", err)
	}
	pbkdf2OID := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	if params.KDF.Algorithm.Equal(pbkdf2OID) {
		var kdf struct {
			Salt       []byte
			Iterations int
			Rest       asn1.RawValue `asn1:"optional"`
		}
		if _, err := asn1.Unmarshal(params.KDF.Parameters.FullBytes, &kdf); err != nil {
			return nil, fmt.Errorf("bad PBKDF2 parameters: %w", err)
		}
		if kdf.Iterations < 1 || kdf.Iterations > maxKDFIterations {
			return nil, fmt.Errorf("PBKDF2 iteration count %d out of range", kdf.Iterations)
		}
	}
	scryptOID := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11591, 4, 11}
	if params.KDF.Algorithm.Equal(scryptOID) {
		var kdf struct {
			Salt    []byte
			N, R, P int
			Rest    asn1.RawValue `asn1:"optional"`
		}
		if _, err := asn1.Unmarshal(params.KDF.Parameters.FullBytes, &kdf); err != nil {
			return nil, fmt.Errorf("bad scrypt parameters: %w", err)
		}
		if kdf.N < 2 || kdf.R < 1 || kdf.P < 1 || kdf.N > 1<<20 || kdf.R > 64 || kdf.P > 16 {
			return nil, fmt.Errorf("scrypt parameters N=%d r=%d p=%d out of range", kdf.N, kdf.R, kdf.P)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			key, err = nil, fmt.Errorf("malformed encrypted key (%v)", r)
		}
	}()
	key, err = pkcs8.ParsePKCS8PrivateKey(der, []byte(password))
	if err != nil {
		return nil, errors.New("wrong password, or an encryption this library cannot read")
	}
	return key, nil
}

// tlsKey checks that a parsed private key is one TLS can sign with.
func tlsKey(k any) (crypto.Signer, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("private key of type %T cannot sign TLS handshakes (RSA, ECDSA or Ed25519 can)", k)
}

// certificate pairs a private key with its chain: the certificate holding
// the key's public half goes first (Kafka wants it first; it is found
// wherever it is), the others follow in their order.
func certificate(key crypto.Signer, chain []*x509.Certificate) (tls.Certificate, error) {
	type publicKey interface{ Equal(crypto.PublicKey) bool }
	pub, ok := key.Public().(publicKey)
	if !ok {
		return tls.Certificate{}, errors.New("unsupported public key type")
	}
	leaf := -1
	for i, c := range chain {
		if pub.Equal(c.PublicKey) {
			leaf = i
			break
		}
	}
	if leaf < 0 {
		return tls.Certificate{}, fmt.Errorf("no certificate in the chain matches the private key (the first is %q)", DistinguishedName(chain[0]))
	}
	out := tls.Certificate{PrivateKey: key, Leaf: chain[leaf]}
	out.Certificate = append(out.Certificate, chain[leaf].Raw)
	for i, c := range chain {
		if i != leaf {
			out.Certificate = append(out.Certificate, c.Raw)
		}
	}
	return out, nil
}

// parsePKCS12KeyStore reads a PKCS12 key store: one private key and its
// chain, with ssl.keystore.password.
func parsePKCS12KeyStore(s Settings, path string, data []byte) ([]tls.Certificate, error) {
	k, leaf, cas, err := pkcs12.DecodeChain(data, s.KeystorePassword)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, fmt.Errorf("ssl.keystore.password: wrong password for the PKCS12 key store %s", path)
		}
		return nil, fmt.Errorf("ssl.keystore.location: %s is not a PKCS12 key store this broker can read: %w", path, err)
	}
	signer, err := tlsKey(k)
	if err != nil {
		return nil, fmt.Errorf("ssl.keystore.location: %s: %w", path, err)
	}
	c, err := certificate(signer, append([]*x509.Certificate{leaf}, cas...))
	if err != nil {
		return nil, fmt.Errorf("ssl.keystore.location: %s: %w", path, err)
	}
	return []tls.Certificate{c}, nil
}

// loadJKS opens a JKS store after checking its structure (a corrupt length
// must not make the library allocate gigabytes).
func loadJKS(setting, passwordSetting, password, path string, data []byte) (keystore.KeyStore, error) {
	ks := keystore.New(keystore.WithOrderedAliases(), keystore.WithCaseExactAliases())
	if err := checkJKS(data); err != nil {
		return ks, fmt.Errorf("%s: %s is not a valid JKS store: %w", setting, path, err)
	}
	if err := ks.Load(bytes.NewReader(data), []byte(password)); err != nil {
		if strings.Contains(err.Error(), "invalid digest") {
			if password == "" {
				return ks, fmt.Errorf("%s: not set, and the JKS store %s needs its password to be read", passwordSetting, path)
			}
			return ks, fmt.Errorf("%s: wrong password for the JKS store %s", passwordSetting, path)
		}
		return ks, fmt.Errorf("%s: %s is not a JKS store this broker can read: %w", setting, path, err)
	}
	return ks, nil
}

// parseJKSKeyStore reads a JKS key store: every private key entry, its key
// decrypted with ssl.key.password (ssl.keystore.password when that is not
// set). Several entries give several certificates; Go presents the first
// one the client can use.
func parseJKSKeyStore(s Settings, path string, data []byte) ([]tls.Certificate, error) {
	ks, err := loadJKS("ssl.keystore.location", "ssl.keystore.password", s.KeystorePassword, path, data)
	if err != nil {
		return nil, err
	}
	keyPassword, keySetting := s.KeyPassword, "ssl.key.password"
	if keyPassword == "" {
		keyPassword, keySetting = s.KeystorePassword, "ssl.keystore.password (used for the key as ssl.key.password is not set)"
	}
	var out []tls.Certificate
	for _, alias := range ks.Aliases() {
		if !ks.IsPrivateKeyEntry(alias) {
			continue
		}
		e, err := ks.GetPrivateKeyEntry(alias, []byte(keyPassword))
		if err != nil {
			return nil, fmt.Errorf("%s: cannot decrypt the key of entry %q in %s (wrong password?): %v", keySetting, alias, path, err)
		}
		k, err := x509.ParsePKCS8PrivateKey(e.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("ssl.keystore.location: entry %q in %s: %w", alias, path, err)
		}
		signer, err := tlsKey(k)
		if err != nil {
			return nil, fmt.Errorf("ssl.keystore.location: entry %q in %s: %w", alias, path, err)
		}
		var chain []*x509.Certificate
		for i, c := range e.CertificateChain {
			cert, err := x509.ParseCertificate(c.Content)
			if err != nil {
				return nil, fmt.Errorf("ssl.keystore.location: entry %q in %s: certificate %d: %w", alias, path, i+1, err)
			}
			chain = append(chain, cert)
		}
		if len(chain) == 0 {
			return nil, fmt.Errorf("ssl.keystore.location: entry %q in %s has no certificate", alias, path)
		}
		c, err := certificate(signer, chain)
		if err != nil {
			return nil, fmt.Errorf("ssl.keystore.location: entry %q in %s: %w", alias, path, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("ssl.keystore.location: the JKS store %s has no private key entry", path)
	}
	return out, nil
}

// checkJKS walks a JKS file's structure (magic, version, entries, digest)
// checking every length against the bytes left.
func checkJKS(data []byte) error {
	r := data
	take := func(n uint64) ([]byte, error) {
		if n > uint64(len(r)) {
			return nil, errors.New("truncated")
		}
		b := r[:n]
		r = r[n:]
		return b, nil
	}
	u16 := func() (uint64, error) {
		b, err := take(2)
		if err != nil {
			return 0, err
		}
		return uint64(binary.BigEndian.Uint16(b)), nil
	}
	u32 := func() (uint64, error) {
		b, err := take(4)
		if err != nil {
			return 0, err
		}
		return uint64(binary.BigEndian.Uint32(b)), nil
	}
	skip16 := func() error { // a string: length then bytes
		n, err := u16()
		if err == nil {
			_, err = take(n)
		}
		return err
	}
	skip32 := func() error {
		n, err := u32()
		if err == nil {
			_, err = take(n)
		}
		return err
	}
	magic, err := u32()
	if err != nil || magic != 0xFEEDFEED {
		return errors.New("bad magic number")
	}
	version, err := u32()
	if err != nil || (version != 1 && version != 2) {
		return fmt.Errorf("unknown version %d", version)
	}
	count, err := u32()
	if err != nil {
		return err
	}
	cert := func() error {
		if version == 2 {
			if err := skip16(); err != nil { // certificate type
				return err
			}
		}
		return skip32()
	}
	for i := uint64(0); i < count; i++ {
		tag, err := u32()
		if err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		if err := skip16(); err != nil { // alias
			return fmt.Errorf("entry %d: %w", i, err)
		}
		if _, err := take(8); err != nil { // creation time
			return fmt.Errorf("entry %d: %w", i, err)
		}
		switch tag {
		case 1: // private key: encrypted key, then the chain
			if err := skip32(); err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
			n, err := u32()
			if err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
			for j := uint64(0); j < n; j++ {
				if err := cert(); err != nil {
					return fmt.Errorf("entry %d: %w", i, err)
				}
			}
		case 2: // trusted certificate
			if err := cert(); err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
		default:
			return fmt.Errorf("entry %d: unknown entry type %d", i, tag)
		}
	}
	if len(r) != sha1Size {
		return errors.New("bad length of the integrity digest")
	}
	return nil
}

const sha1Size = 20

// trustStoreSpec checks which trust store the settings describe: a file
// (path != ""), a PEM string (inline), or none.
func trustStoreSpec(s Settings) (typ, path string, inline bool, err error) {
	typ, err = storeType("ssl.truststore.type", s.TruststoreType)
	if err != nil {
		return "", "", false, err
	}
	if s.TruststoreCertificates != "" {
		if typ != "PEM" {
			return "", "", false, fmt.Errorf("ssl.truststore.certificates needs ssl.truststore.type=PEM (it is %s)", typ)
		}
		if s.TruststoreLocation != "" {
			return "", "", false, errors.New("ssl.truststore.location is set together with ssl.truststore.certificates: set one or the other")
		}
		return typ, "", true, nil
	}
	return typ, s.TruststoreLocation, false, nil
}

// loadTrustStore loads the trusted certificates the settings describe (none
// when there is no trust store) and, for a file, what was read.
func loadTrustStore(s Settings) ([]*x509.Certificate, *storeFile, error) {
	typ, path, inline, err := trustStoreSpec(s)
	if err != nil {
		return nil, nil, err
	}
	if inline {
		certs, err := parsePEMCerts([]byte(s.TruststoreCertificates), "ssl.truststore.certificates")
		return certs, nil, err
	}
	if path == "" {
		return nil, nil, nil
	}
	data, f, err := readStore("ssl.truststore.location", path)
	if err != nil {
		return nil, nil, err
	}
	certs, err := parseTrustStoreFile(s, typ, path, data)
	if err != nil {
		return nil, nil, err
	}
	return certs, f, nil
}

func parseTrustStoreFile(s Settings, typ, path string, data []byte) ([]*x509.Certificate, error) {
	switch typ {
	case "PEM":
		certs, err := parsePEMCerts(data, "ssl.truststore.location")
		if err != nil {
			return nil, fmt.Errorf("%w (PEM file %s)", err, path)
		}
		return certs, nil
	case "JKS", "PKCS12":
		if isJKS(data) {
			return parseJKSTrustStore(s, path, data)
		}
		if typ == "JKS" && !looksDER(data) {
			return nil, fmt.Errorf("ssl.truststore.location: %s is not a JKS trust store (nor a PKCS12 one)", path)
		}
		return parsePKCS12TrustStore(s, path, data)
	}
	return nil, fmt.Errorf("ssl.truststore.type: unknown type %q", typ)
}

// parsePEMCerts reads every PEM certificate in text.
func parsePEMCerts(text []byte, setting string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := text
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %w", setting, len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate (-----BEGIN CERTIFICATE-----) found", setting)
	}
	return out, nil
}

// parseJKSTrustStore reads a JKS trust store: its trusted certificate
// entries and, as Java's trust manager does, the first certificate of each
// private key entry.
func parseJKSTrustStore(s Settings, path string, data []byte) ([]*x509.Certificate, error) {
	ks, err := loadJKS("ssl.truststore.location", "ssl.truststore.password", s.TruststorePassword, path, data)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for _, alias := range ks.Aliases() {
		var der []byte
		switch {
		case ks.IsTrustedCertificateEntry(alias):
			e, err := ks.GetTrustedCertificateEntry(alias)
			if err != nil {
				return nil, fmt.Errorf("ssl.truststore.location: entry %q in %s: %w", alias, path, err)
			}
			der = e.Certificate.Content
		case ks.IsPrivateKeyEntry(alias):
			chain, err := ks.GetPrivateKeyEntryCertificateChain(alias)
			if err != nil || len(chain) == 0 {
				continue
			}
			der = chain[0].Content
		default:
			continue
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("ssl.truststore.location: entry %q in %s: %w", alias, path, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("ssl.truststore.location: the JKS store %s has no certificate", path)
	}
	return out, nil
}

// parsePKCS12TrustStore reads a PKCS12 trust store: certificates marked as
// trusted the way Java's keytool marks them; failing that, the certificate
// of the store's private key, as Java trusts it too.
func parsePKCS12TrustStore(s Settings, path string, data []byte) ([]*x509.Certificate, error) {
	certs, err := pkcs12.DecodeTrustStore(data, s.TruststorePassword)
	if err == nil {
		if len(certs) == 0 {
			return nil, fmt.Errorf("ssl.truststore.location: the PKCS12 store %s has no trusted certificate", path)
		}
		return certs, nil
	}
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return nil, fmt.Errorf("ssl.truststore.password: wrong password for the PKCS12 trust store %s", path)
	}
	if _, leaf, _, err2 := pkcs12.DecodeChain(data, s.TruststorePassword); err2 == nil {
		return []*x509.Certificate{leaf}, nil
	}
	return nil, fmt.Errorf("ssl.truststore.location: %s is not a PKCS12 trust store this broker can read (certificates must be marked trusted, as keytool -importcert does): %w", path, err)
}

// certPool makes a pool of the trusted certificates (nil for none).
func certPool(certs []*x509.Certificate) *x509.CertPool {
	if len(certs) == 0 {
		return nil
	}
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}
