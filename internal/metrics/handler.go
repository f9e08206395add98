package metrics

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// maxScrapes bounds the scrapes served at once: each walks every
// partition.
const maxScrapes = 2

// metricsHandler serves /metrics in the text exposition format (0.0.4),
// which every Prometheus-compatible scraper accepts: the registry's
// families, then the appenders'. It compresses with gzip when the client
// accepts it, as Prometheus does.
func metricsHandler(reg prometheus.Gatherer, opts Options) http.Handler {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	sem := make(chan struct{}, maxScrapes)
	var pool sync.Pool
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case sem <- struct{}{}:
			defer func() { <-sem }()
		case <-r.Context().Done():
			return
		}
		buf, _ := pool.Get().(*bytes.Buffer)
		if buf == nil {
			buf = new(bytes.Buffer)
		}
		defer pool.Put(buf)
		buf.Reset()
		mfs, err := reg.Gather()
		if err != nil {
			// A collector that fails must not hide every other metric:
			// what was gathered is served.
			logger.Warn("gathering metrics", "err", err)
		}
		enc := expfmt.NewEncoder(buf, format)
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				logger.Warn("encoding metrics", "family", mf.GetName(), "err", err)
			}
		}
		b := buf.Bytes()
		for _, app := range opts.Appenders {
			b = app(b)
		}
		if len(b) > buf.Len() {
			buf.Write(b[buf.Len():]) // keep the grown buffer for the next scrape
		}
		b = buf.Bytes()
		h := w.Header()
		h.Set("Content-Type", string(format))
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			h.Set("Content-Encoding", "gzip")
			zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
			zw.Write(b)
			zw.Close()
			return
		}
		w.Write(b)
	})
}
