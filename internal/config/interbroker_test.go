package config

import (
	"errors"
	"strings"
	"testing"
)

// The combinations of inter-broker and controller listeners a node of a
// cluster can run with, and the start-up errors for the others.
func TestInterBrokerSecurity(t *testing.T) {
	base := map[string]string{
		"node.id": "1", "cluster.id": "c1",
		"controller.quorum.voters":  "1@127.0.0.1:9093,2@127.0.0.1:9095",
		"controller.listener.names": "CONTROLLER",
		"ssl.keystore.location":     "/k.pem", "ssl.keystore.type": "PEM",
	}
	cases := []struct {
		name string
		set  map[string]string
		err  string // "" : valid
	}{
		{"plaintext", map[string]string{"listeners": "PLAINTEXT://:9092,CONTROLLER://:9093"}, ""},
		{"ssl inter-broker and controller", map[string]string{
			"listeners": "SSL://:9092,CONTROLLER://:9093", "listener.security.protocol.map": "SSL:SSL,CONTROLLER:SSL"}, ""},
		{"sasl_ssl plain", map[string]string{
			"listeners": "SASL_SSL://:9092,CONTROLLER://:9093", "sasl.enabled.mechanisms": "PLAIN",
			"sasl.mechanism.inter.broker.protocol": "PLAIN"}, ""},
		{"sasl scram by name", map[string]string{
			"listeners": "CLIENT://:9092,INTERNAL://:9094,CONTROLLER://:9093", "inter.broker.listener.name": "INTERNAL",
			"listener.security.protocol.map": "CLIENT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
			"sasl.enabled.mechanisms":        "SCRAM-SHA-512", "sasl.mechanism.inter.broker.protocol": "scram-sha-512"}, ""},
		{"sasl with kafka's default GSSAPI", map[string]string{
			"listeners": "SASL_SSL://:9092,CONTROLLER://:9093", "sasl.enabled.mechanisms": "PLAIN"},
			"sasl.mechanism.inter.broker.protocol is \"GSSAPI\""},
		{"sasl mechanism the listener does not offer", map[string]string{
			"listeners": "SASL_SSL://:9092,CONTROLLER://:9093", "sasl.enabled.mechanisms": "SCRAM-SHA-256",
			"sasl.mechanism.inter.broker.protocol": "PLAIN"}, "not among the mechanisms"},
		{"oauthbearer between brokers", map[string]string{
			"listeners": "SASL_SSL://:9092,CONTROLLER://:9093", "sasl.enabled.mechanisms": "OAUTHBEARER,PLAIN",
			"sasl.mechanism.inter.broker.protocol": "OAUTHBEARER"}, "brokers authenticate to each other with PLAIN"},
		{"sasl controller listener", map[string]string{
			"listeners": "PLAINTEXT://:9092,CONTROLLER://:9093", "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_SSL",
			"sasl.enabled.mechanisms": "PLAIN"}, "controllers reach each other with TLS (SSL) or in plaintext"},
		{"ssl controller listener without a key store", map[string]string{
			"listeners": "PLAINTEXT://:9092,CONTROLLER://:9093", "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:SSL",
			"ssl.keystore.location": ""}, "the controller listener CONTROLLER (SSL) needs a key store"},
		{"broker-only node towards a sasl controller listener", map[string]string{
			"process.roles": "broker", "node.id": "3", "listeners": "PLAINTEXT://:9092",
			"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"}, "controllers reach each other with TLS"},
		{"single node: the inter-broker listener is not used", map[string]string{
			"controller.quorum.voters": "", "listeners": "SASL_SSL://:9092", "sasl.enabled.mechanisms": "PLAIN"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vals := map[string]string{}
			for k, v := range base {
				vals[k] = v
			}
			for k, v := range tc.set {
				vals[k] = v
			}
			_, err := New(vals)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.err != "" && err == nil:
				t.Fatalf("accepted, want an error with %q", tc.err)
			case tc.err != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want one with %q", err, tc.err)
			}
		})
	}
}

func TestControllerListener(t *testing.T) {
	c, err := New(map[string]string{"process.roles": "broker", "node.id": "3", "cluster.id": "c1",
		"controller.quorum.voters": "1@127.0.0.1:9093", "listeners": "PLAINTEXT://:9092",
		"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CTL:SSL", "controller.listener.names": "CTL"})
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := c.ControllerListener(); !ok || l.Name != "CTL" || l.Protocol != SSL {
		t.Fatalf("broker-only node's controller listener %+v %v, want CTL SSL from the protocol map", l, ok)
	}
}
