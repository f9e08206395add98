package config

import (
	"net/netip"
	"testing"
)

func TestQuotaSettings(t *testing.T) {
	c, err := New(map[string]string{
		"max.connections.per.ip.overrides":                     "10.0.0.5:200, ::1:50,[fe80::1]:3",
		"listener.name.plaintext.max.connections":              "7",
		"listener.name.plaintext.max.connection.creation.rate": "9",
		"quota.window.num":                                     "5",
	})
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.MaxConnectionsPerIPOverrides()
	if err != nil || o[netip.MustParseAddr("10.0.0.5")] != 200 || o[netip.MustParseAddr("::1")] != 50 || o[netip.MustParseAddr("fe80::1")] != 3 {
		t.Fatalf("%v %v", o, err)
	}
	if c.ListenerInt("PLAINTEXT", "max.connections") != 7 || c.ListenerInt("OTHER", "max.connections") != 2147483647 ||
		c.ListenerInt("PLAINTEXT", "max.connection.creation.rate") != 9 {
		t.Fatal("listener settings")
	}
	if n, w := c.QuotaWindow(); n != 5 || w.Seconds() != 1 {
		t.Fatal(n, w)
	}
	for _, bad := range []string{"10.0.0.5", "host.example:3", "10.0.0.5:-1", ":3"} {
		if _, err := New(map[string]string{"max.connections.per.ip.overrides": bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := New(map[string]string{"listener.name.plaintext.max.connections.per.ip": "3"}); err == nil {
		t.Error("a setting that is not per listener accepted with the listener prefix")
	}
}
