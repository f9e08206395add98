package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/brokertest"
)

// baseTime is the first test record's timestamp; record i of a partition
// is i seconds later.
var baseTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// startBroker runs a broker with its metrics listener (and so the
// console) on a free port and returns it with the listener's URL.
func startBroker(t *testing.T, props ...string) (*brokertest.Broker, string) {
	t.Helper()
	b := brokertest.Start(t, append([]string{"metrics.listener", "127.0.0.1:0"}, props...)...)
	url := "http://" + b.MetricsAddr()
	waitReady(t, url)
	return b, url
}

// waitReady polls /readyz until the broker is ready.
func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func client(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fill creates orders (3 partitions, perPart JSON records each with a key
// and a header, timestamps from baseTime a second apart) and clicks (one
// partition of binary values, a batch each), and has group billing consume and commit
// the first half of orders, then leave.
func fill(t *testing.T, addr string, perPart int) {
	t.Helper()
	cl := client(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	adm := kadm.NewClient(cl)
	ctx := ctxT(t)
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "clicks"); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for p := int32(0); p < 3; p++ {
		for i := 0; i < perPart; i++ {
			recs = append(recs, &kgo.Record{Topic: "orders", Partition: p,
				Key:       []byte(fmt.Sprintf("order-%d-%d", p, i)),
				Value:     []byte(fmt.Sprintf(`{"id":%d,"partition":%d,"amount":%d.50,"item":"widget"}`, i, p, 10+i%90)),
				Headers:   []kgo.RecordHeader{{Key: "source", Value: []byte("web")}},
				Timestamp: baseTime.Add(time.Duration(i) * time.Second)})
		}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// clicks: one batch per record.
	for i := 0; i < 20; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "clicks", Value: []byte{0xde, 0xad, 0xbe, 0xef, byte(i)}}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	commit := kadm.Offsets{}
	for p := int32(0); p < 3; p++ {
		commit.Add(kadm.Offset{Topic: "orders", Partition: p, At: int64(perPart / 2), LeaderEpoch: -1})
	}
	if r, err := adm.CommitOffsets(ctx, "billing", commit); err != nil || r.Error() != nil {
		t.Fatalf("commit: %v %v", err, r.Error())
	}
}

// call sends a request and decodes the JSON answer into out (if not nil);
// it returns the status and the raw body.
func call(t *testing.T, method, url string, body any, out any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		var b []byte
		switch v := body.(type) {
		case string:
			b = []byte(v)
		default:
			b, _ = json.Marshal(v)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, raw)
		}
	}
	return resp.StatusCode, raw
}

// mustCall is call that fails the test unless the status is 200.
func mustCall(t *testing.T, method, url string, body any, out any) {
	t.Helper()
	if code, raw := call(t, method, url, body, out); code != 200 {
		t.Fatalf("%s %s = %d: %s", method, url, code, raw)
	}
}

func itoa(v int64) string { return fmt.Sprint(v) }

// pollBriefly polls cl for at most 200 ms (a group member must poll to
// join and stay).
func pollBriefly(cl *kgo.Client) kgo.Fetches {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	return cl.PollRecords(ctx, 10)
}

// waitFor polls cond until it holds (20 s at most).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 20 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
