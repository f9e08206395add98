package broker_test

import (
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// A broker with two listeners answers each client with the endpoints of
// the listener it came in on (Metadata, FindCoordinator), and advertises
// what advertised.listeners says for each.
func TestListenersAnswerTheirOwnEndpoints(t *testing.T) {
	b := brokertest.Start(t,
		"listeners", "PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0",
		"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"inter.broker.listener.name", "INTERNAL")
	plain, internal := b.ListenerAddr("PLAINTEXT"), b.ListenerAddr("INTERNAL")
	if plain == "" || internal == "" || plain == internal {
		t.Fatalf("listeners %q %q", plain, internal)
	}
	for _, addr := range []string{plain, internal} {
		adm := kadm.NewClient(newClient(t, addr))
		md, err := adm.BrokerMetadata(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(md.Brokers) != 1 {
			t.Fatalf("brokers through %s: %+v", addr, md.Brokers)
		}
		got := md.Brokers[0].Host + ":" + strconv.Itoa(int(md.Brokers[0].Port))
		if got != addr {
			t.Errorf("a client of %s is told the broker is at %s", addr, got)
		}
		fc := adm.FindGroupCoordinators(ctxT(t), "g")
		for _, c := range fc {
			if c.Err != nil || c.Host+":"+strconv.Itoa(int(c.Port)) != addr {
				t.Errorf("coordinator through %s: %+v", addr, c)
			}
		}
	}
}
