// Package tlsconfig turns Kafka's ssl.* settings into Go TLS configurations:
// a listener's server side (NewServer, Server.Config), the principal of a
// TLS client (Server.Principal) and the client side of a broker dialing
// another broker (ClientConfig).
//
// # Key and trust stores
//
// ssl.keystore.type and ssl.truststore.type take Kafka's three formats:
//
//   - PEM: a key store file with the private key and the certificate chain
//     (in any order; the certificate matching the key goes first), or the
//     two as strings in ssl.keystore.key and ssl.keystore.certificate.chain;
//     a trust store file of certificates, or ssl.truststore.certificates.
//     Private keys: PKCS#8 ("PRIVATE KEY"), encrypted PKCS#8 ("ENCRYPTED
//     PRIVATE KEY", PBES2 with PBKDF2 or scrypt and AES or 3DES, decrypted
//     with ssl.key.password through github.com/youmark/pkcs8), PKCS#1 ("RSA
//     PRIVATE KEY") and SEC 1 ("EC PRIVATE KEY"). OpenSSL's legacy PEM
//     encryption (Proc-Type/DEK-Info headers) is refused with a message
//     saying how to convert the key.
//   - PKCS12 (software.sslmate.com/src/go-pkcs12): one private key and its
//     chain, with ssl.keystore.password; a trust store of certificates
//     marked trusted as keytool marks them (or else the certificate of its
//     private key entry, which Java trusts too), with
//     ssl.truststore.password.
//   - JKS (github.com/pavlo-v-chernykh/keystore-go/v4), Kafka's default:
//     every private key entry (key decrypted with ssl.key.password, else
//     ssl.keystore.password; with several, Go presents the first one a
//     client can use), and as trust store its trusted certificate entries
//     and the first certificate of each private key entry, as Java's trust
//     manager does. The library checks the store's integrity with its
//     password, so a JKS trust store needs ssl.truststore.password (Java can
//     read one without it).
//
// As Java does (keystore.type.compat), a JKS store that holds a PKCS12
// file, or the other way round, is read as what it holds: keytool has made
// PKCS12 files by default since Java 9, whatever their name.
//
// Every problem is found by NewServer or ClientConfig, not at the first
// handshake, and is an error that starts with the setting to fix
// ("ssl.keystore.password: wrong password for the PKCS12 key store ...");
// passwords never appear in errors or logs.
//
// # Protocols, suites, client authentication
//
// ssl.enabled.protocols takes TLSv1.2 and TLSv1.3 (anything else is an
// error). ssl.cipher.suites takes IANA names of TLS 1.2 suites (unknown
// ones are an error); TLS 1.3's three suites are accepted but Go always
// offers them all, and a list of only TLS 1.3 suites turns TLS 1.2 off, as
// Java does. ssl.client.auth: required is tls.RequireAndVerifyClientCert,
// requested tls.VerifyClientCertIfGiven (a certificate, when sent, must
// verify), none asks for no certificate. Both required and requested need
// a trust store: Kafka would fall back on the JVM's default authorities,
// which would let any publicly issued certificate name a principal.
//
// # Reloading
//
// Server.Config returns a configuration whose GetConfigForClient gives
// each handshake the current key and trust stores. At most once a second a
// handshake looks at the key and trust store files (a different file
// renamed into place, another size or modification time) and loads the
// ones whose content changed, logging the reload. A file that fails to
// load (half written, wrong password, key not matching the certificate)
// is logged and the previous material stays in use; it is tried again when
// the file changes again. PEM strings in settings are not reloaded.
// Connections already open keep the certificate they were made with.
// ClientConfig reads the stores when called: call it per dial.
//
// # Principals
//
// Server.Principal gives Kafka's DefaultKafkaPrincipalBuilder's answer: for a
// client that sent no certificate, User:ANONYMOUS; otherwise "User:" and the
// name that ssl.principal.mapping.rules make of the verified client
// certificate's subject. The subject is printed as Java's
// X500Principal.getName() prints it (DistinguishedName), so rules and ACLs
// written for Kafka match the same names. The rules are Kafka's
// SslPrincipalMapper's (ParseMappingRules): DEFAULT keeps the name, and
// RULE:pattern/replacement/[LU] rewrites a name the pattern matches whole.
// A certificate that no rule maps fails the handshake (Kafka closes the
// connection when it cannot build the principal). An unset
// ssl.principal.mapping.rules is DEFAULT; one with no rule at all is refused
// when client certificates are asked for.
package tlsconfig
