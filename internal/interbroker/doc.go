// Package interbroker is how a node connects to other nodes of its
// cluster: a broker to another broker's inter-broker listener (replica
// fetchers, transaction markers, AddPartitionsToTxn, forwarded requests)
// and a controller or broker-only node to a controller listener (the
// metadata quorum's transport).
//
// A Dialer is built from the configuration at start and checks there
// everything it will need (key and trust stores, the broker's SASL
// credentials), so a mistake fails the start rather than every connection
// later. It then dials as Kafka's inter-broker clients do, with the
// listener's security protocol:
//
//   - TLS (SSL, SASL_SSL) with the listener's ssl.* settings as the client
//     side: the trust store the other node's certificate must chain to,
//     the key store as client certificate for listeners that ask for one
//     (mTLS), the host name checked when
//     ssl.endpoint.identification.algorithm is https. The stores are read
//     again at each dial, so a rotated file is used from the next
//     connection on.
//   - SASL (SASL_PLAINTEXT, SASL_SSL) with sasl.mechanism.inter.broker.protocol
//     (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512) and the username and password
//     of the listener's JAAS configuration for that mechanism
//     (listener.name.<l>.<mechanism>.sasl.jaas.config, else the listener's
//     or the broker's sasl.jaas.config), as Kafka takes its broker's own
//     client credentials from the same entry that lists the users.
//
// The SASL exchange itself is franz-go's (pkg/sasl/plain, pkg/sasl/scram):
// Dial runs it over SaslHandshake v1 and SaslAuthenticate v1 before
// handing the connection over, and KgoOpts gives a franz-go client the
// same mechanism, so franz-go re-authenticates its own connections
// (KIP-368). A connection from Dial reports when its session ends
// (Conn.ReauthAt); its owner opens a new one before then.
package interbroker
