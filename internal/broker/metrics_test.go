package broker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/brokertest"
	"github.com/samsa-streaming/samsa/internal/metrics"
)

// scrape GETs url and returns the status and body.
func scrapeURL(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// scrapeMetrics reads /metrics and parses it.
func scrapeMetrics(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := scrapeURL(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d: %s", code, body)
	}
	fams, err := metrics.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// sumMetric adds the values of family name's series whose labels include
// every label in want.
func sumMetric(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	var sum float64
	found := false
next:
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum, found
}

// TestMetricsEndToEnd runs a broker with its metrics listener, produces
// and consumes in a group with franz-go, and checks over HTTP that the
// metrics move: traffic per topic, request counts and latencies, log
// offsets, consumer lag falling to 0, and the health endpoints.
func TestMetricsEndToEnd(t *testing.T) {
	b := brokertest.Start(t, "metrics.listener", "127.0.0.1:0")
	base := "http://" + b.MetricsAddr()
	const topic, grp, n = "metrics-orders", "metrics-group", 200

	if code, _ := scrapeURL(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := scrapeURL(t, base+"/readyz")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d: %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _ := scrapeURL(t, base+"/debug/pprof/"); code != 404 {
		t.Fatalf("/debug/pprof/ with metrics.pprof.enable=false = %d, want 404", code)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := newClient(t, b.Addr(), kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.NoCompression()))
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(strings.Repeat("v", 100))})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// The group starts at offset 0 everywhere: its lag is every record.
	offs := kadm.Offsets{}
	for p := range int32(3) {
		offs.Add(kadm.Offset{Topic: topic, Partition: p, At: 0, LeaderEpoch: -1})
	}
	if _, err := adm.CommitOffsets(ctx, grp, offs); err != nil {
		t.Fatal(err)
	}

	fams := scrapeMetrics(t, base)
	tl := map[string]string{"topic": topic}
	if v, _ := sumMetric(fams, "samsa_topic_bytes_in_total", tl); v <= float64(n*100) {
		t.Errorf("samsa_topic_bytes_in_total{topic=%s} = %v, want > %d", topic, v, n*100)
	}
	if v, _ := sumMetric(fams, "samsa_topic_records_in_total", tl); v != n {
		t.Errorf("samsa_topic_records_in_total = %v, want %d", v, n)
	}
	if v, _ := sumMetric(fams, "samsa_requests_total", map[string]string{"api": "Produce"}); v < 1 {
		t.Errorf("samsa_requests_total{api=Produce} = %v, want >= 1", v)
	}
	if v, _ := sumMetric(fams, "samsa_request_total_seconds", map[string]string{"api": "Produce"}); v < 1 {
		t.Errorf("samsa_request_total_seconds{api=Produce} has %v observations, want >= 1", v)
	}
	if v, _ := sumMetric(fams, "samsa_log_end_offset", tl); v != n {
		t.Errorf("sum of samsa_log_end_offset = %v, want %d", v, n)
	}
	if v, _ := sumMetric(fams, "samsa_partition_high_watermark", tl); v != n {
		t.Errorf("sum of samsa_partition_high_watermark = %v, want %d", v, n)
	}
	if v, _ := sumMetric(fams, "samsa_log_size_bytes", tl); v <= float64(n*100) {
		t.Errorf("sum of samsa_log_size_bytes = %v, want > %d", v, n*100)
	}
	if v, _ := sumMetric(fams, "samsa_consumer_group_lag", map[string]string{"group": grp, "topic": topic}); v != n {
		t.Errorf("samsa_consumer_group_lag before consuming = %v, want %d", v, n)
	}
	for _, name := range []string{"samsa_active_controller", "samsa_log_dir_free_bytes", "samsa_leader_partitions", "go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := sumMetric(fams, name, nil); !ok {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if v, _ := sumMetric(fams, "samsa_active_controller", nil); v != 1 {
		t.Errorf("samsa_active_controller = %v on a one-node cluster, want 1", v)
	}
	if v, _ := sumMetric(fams, "samsa_connections", map[string]string{"listener": "PLAINTEXT"}); v < 1 {
		t.Errorf("samsa_connections{listener=PLAINTEXT} = %v, want >= 1", v)
	}

	// Consume everything in the group and commit: the lag falls to 0.
	cons := newClient(t, b.Addr(), kgo.ConsumeTopics(topic), kgo.ConsumerGroup(grp), kgo.DisableAutoCommit())
	got := 0
	for got < n {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		got += fs.NumRecords()
	}
	if err := cons.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	fams = scrapeMetrics(t, base)
	if v, ok := sumMetric(fams, "samsa_consumer_group_lag", map[string]string{"group": grp, "topic": topic}); !ok || v != 0 {
		t.Errorf("samsa_consumer_group_lag after consuming = %v (found %v), want 0", v, ok)
	}
	if v, _ := sumMetric(fams, "samsa_topic_bytes_out_total", tl); v <= float64(n*100) {
		t.Errorf("samsa_topic_bytes_out_total = %v, want > %d", v, n*100)
	}
	// A request is counted once its response is written, which can be
	// after the client has read it: poll.
	for deadline := time.Now().Add(5 * time.Second); ; {
		v, _ := sumMetric(fams, "samsa_requests_total", map[string]string{"api": "Fetch"})
		if v >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("samsa_requests_total{api=Fetch} = %v", v)
			break
		}
		time.Sleep(20 * time.Millisecond)
		fams = scrapeMetrics(t, base)
	}
	if v, _ := sumMetric(fams, "samsa_consumer_groups", map[string]string{"state": "Stable"}); v != 1 {
		t.Errorf("samsa_consumer_groups{state=Stable} = %v, want 1", v)
	}

	// An error answer: DeleteTopics of a topic that does not exist.
	if resp, err := adm.DeleteTopics(ctx, "metrics-missing"); err != nil {
		t.Fatal(err)
	} else if r := resp["metrics-missing"]; r.Err == nil {
		t.Fatal("deleting a missing topic did not fail")
	}
	// Counted once the answer is written, maybe after the client read it.
	for deadline := time.Now().Add(5 * time.Second); ; {
		fams = scrapeMetrics(t, base)
		v, _ := sumMetric(fams, "samsa_request_errors_total", map[string]string{"api": "DeleteTopics", "error": "UNKNOWN_TOPIC_OR_PARTITION"})
		if v == 1 {
			break
		}
		if v > 1 || time.Now().After(deadline) {
			t.Errorf("samsa_request_errors_total{api=DeleteTopics,error=UNKNOWN_TOPIC_OR_PARTITION} = %v, want 1", v)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Run("DashboardMetricsExist", func(t *testing.T) { checkDashboardAndDocs(t, fams) })
}

// checkDashboardAndDocs checks that every metric the Grafana dashboard
// queries is in the scrape, that every samsa_ family of the scrape is
// documented in docs/metrics.md, and that every samsa_ name documented
// there is exported.
func checkDashboardAndDocs(t *testing.T, fams map[string]*dto.MetricFamily) {
	has := func(name string) bool {
		if fams[name] != nil {
			return true
		}
		for _, suf := range []string{"_bucket", "_count", "_sum"} {
			if base, ok := strings.CutSuffix(name, suf); ok && fams[base] != nil && fams[base].GetType() == dto.MetricType_HISTOGRAM {
				return true
			}
		}
		return false
	}
	raw, err := os.ReadFile("../../docs/grafana/samsa-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	names := regexp.MustCompile(`\b(?:samsa|go|process)_[a-z0-9_]+`)
	queried := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, n := range names.FindAllString(tg.Expr, -1) {
				queried++
				if !has(n) {
					t.Errorf("dashboard panel %q queries %s, which the broker does not export", p.Title, n)
				}
			}
		}
	}
	if queried < 30 {
		t.Errorf("the dashboard queries only %d metrics", queried)
	}
	doc, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	for name := range fams {
		if strings.HasPrefix(name, "samsa_") && !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("%s is exported but not documented in docs/metrics.md", name)
		}
	}
	for _, m := range regexp.MustCompile("`(samsa_[a-z0-9_]+)`").FindAllStringSubmatch(string(doc), -1) {
		if !has(m[1]) {
			t.Errorf("docs/metrics.md documents %s, which the broker does not export", m[1])
		}
	}
}
