// Package sasl is the server side of Kafka's SASL mechanisms: PLAIN
// (users from a JAAS configuration) and SCRAM-SHA-256 / SCRAM-SHA-512
// (RFC 5802, salted credentials stored in the cluster metadata), driven
// one token at a time by the broker's SaslAuthenticate handler.
//
// SCRAM uses github.com/xdg-go/scram for the conversation. One deviation
// from that library's strictness is deliberate: librdkafka before 2.6.1
// (Debian 12 ships 2.0.2, Ubuntu 24.04 2.3.0, and every binding built on
// them) sends the client nonce once more in front of the combined nonce of
// its client-final message. Kafka accepted that until 3.9 (its check was
// "ends with the server's nonce"); Kafka 4 compares exactly and refuses
// those clients. Samsa accepts the message when its nonce ends with the
// server's nonce, as Kafka 3.9 did: the proof is then checked against the
// message as the client sent it (that is what the client signed), with
// the RFC's computation done here (verifyProof), since the library only
// knows the exact form. The nonce still has to contain the server's fresh
// nonce, so the replay protection the exact check gives is kept.
//
// Credentials: StoredKey and ServerKey derived from the salted password
// (RFC 5802 section 3), with the salt and iteration count; the password is
// never stored. Credential computes them; AlterUserScramCredentials gives
// the salted password already (Kafka's admin client salts it).
package sasl
