// Package metricstest has test doubles for the metrics runtime: a
// remote_write sink that keeps what it is sent and an exporter serving
// fixed series. Tests only; the binary never imports it.
package metricstest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// Sink is a Prometheus remote_write (v1) receiver; Down makes it answer
// 503, as a store that is away.
type Sink struct {
	Server *httptest.Server
	Down   atomic.Bool
	mu     sync.Mutex
	// samples by series (its labels as text) and timestamp.
	samples map[string]map[int64]float64
}

// NewSink starts a sink, closed when the test ends.
func NewSink(t testing.TB) *Sink {
	s := &Sink{samples: map[string]map[int64]float64{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Server.Close)
	return s
}

// URL is where to remote_write.
func (s *Sink) URL() string { return s.Server.URL }

func (s *Sink) serve(w http.ResponseWriter, r *http.Request) {
	if s.Down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	for _, ts := range req.Timeseries {
		var b strings.Builder
		for _, l := range ts.Labels {
			fmt.Fprintf(&b, "%s=%q,", l.Name, l.Value)
		}
		m := s.samples[b.String()]
		if m == nil {
			m = map[int64]float64{}
			s.samples[b.String()] = m
		}
		for _, smp := range ts.Samples {
			m[smp.Timestamp] = smp.Value
		}
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// Timestamps returns the sample timestamps of the series whose label
// text (name="value", pairs) contains every part.
func (s *Sink) Timestamps(parts ...string) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	for series, m := range s.samples {
		match := true
		for _, p := range parts {
			if !strings.Contains(series, p) {
				match = false
			}
		}
		if match {
			for ts := range m {
				out = append(out, ts)
			}
		}
	}
	return out
}

// Exporter serves body in the Prometheus text format at every path; it
// is closed when the test ends.
func Exporter(t testing.TB, body string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// InstanceYAML is an instance config scraping target every 200ms under
// job, with remote_write to url flushing every 100ms.
func InstanceYAML(job, target, url string) string {
	return fmt.Sprintf(`scrape_configs:
  - job_name: %s
    scrape_interval: 200ms
    scrape_timeout: 100ms
    static_configs:
      - targets: [%q]
remote_write:
  - url: %s
    queue_config:
      batch_send_deadline: 100ms
      min_backoff: 20ms
      max_backoff: 100ms
`, job, strings.TrimPrefix(target, "http://"), url)
}
