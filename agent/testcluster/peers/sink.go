package peers

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// Sink is a remote_write receiver that keeps counts, not data: requests,
// samples, distinct series and the timestamps seen. It decodes remote
// write 1.0 (snappy-compressed prometheus.WriteRequest) and 2.0
// (io.prometheus.write.v2.Request) and answers 204, or the status set
// with SetFailure.
type Sink struct {
	addr   string
	srv    *http.Server
	record bool

	mu      sync.Mutex
	stats   SinkStats
	series  map[string]*SinkSeries
	failure int
	scratch labels.ScratchBuilder
}

// SinkOptions shape a sink.
type SinkOptions struct {
	// RecordSamples keeps every sample of every series (for tests that
	// look for gaps or duplicates; costly at benchmark scale).
	RecordSamples bool
}

// SinkStats are the sink's counts since the start or the last Reset.
type SinkStats struct {
	// Requests is the number of write requests accepted; Rejected those
	// answered with an error (bad encoding, or SetFailure).
	Requests, Rejected int64
	// Samples counts float samples, stale markers included; StaleMarkers
	// counts those alone. Histograms counts native histogram samples.
	Samples, StaleMarkers, Histograms, Exemplars int64
	// Series is the number of distinct label sets seen.
	Series int
	// Min and Max are the oldest and newest sample timestamps seen.
	Min, Max time.Time
	// Bytes is the compressed request bodies' total size.
	Bytes int64
}

// SinkSeries is what the sink knows of one series.
type SinkSeries struct {
	Samples     int64
	First, Last time.Time
	LastValue   float64
	// Recorded holds every sample when SinkOptions.RecordSamples is set.
	Recorded []prompb.Sample
}

// StartSink starts a sink on a random 127.0.0.1 port and stops it at test
// cleanup.
func StartSink(t testing.TB, opts SinkOptions) *Sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sink{addr: ln.Addr().String(), record: opts.RecordSamples, series: map[string]*SinkSeries{}}
	s.srv = &http.Server{Handler: s}
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

// URL is the address a remote_write url names.
func (s *Sink) URL() string { return "http://" + s.addr + "/api/v1/write" }

// Stats returns the counts so far.
func (s *Sink) Stats() SinkStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Series = len(s.series)
	return st
}

// Series returns what the sink has of the series with labels l.
func (s *Sink) Series(l labels.Labels) (SinkSeries, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.series[l.String()]
	if !ok {
		return SinkSeries{}, false
	}
	out := *se
	out.Recorded = append([]prompb.Sample(nil), se.Recorded...)
	return out, true
}

// SeriesLabels lists the label sets seen, as Labels.String() forms.
func (s *Sink) SeriesLabels() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.series))
	for k := range s.series {
		out = append(out, k)
	}
	return out
}

// Reset forgets every count and series.
func (s *Sink) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = SinkStats{}
	s.series = map[string]*SinkSeries{}
}

// SetFailure makes the sink answer every request with code (and count it
// as rejected) until SetFailure(0): a remote that is down (503), that
// throttles (429) or that refuses the data (400).
func (s *Sink) SetFailure(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failure = code
}

// Remote-write content types (the 2.0 spec's names; 1.0 senders send the
// bare application/x-protobuf).
const (
	protoV1 = "prometheus.WriteRequest"
	protoV2 = "io.prometheus.write.v2.Request"
)

// ServeHTTP receives a write request.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/write" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.reject(w, http.StatusMethodNotAllowed, "remote write takes POST")
		return
	}
	s.mu.Lock()
	failure := s.failure
	s.mu.Unlock()
	if failure != 0 {
		s.reject(w, failure, "sink set to fail")
		return
	}
	proto, err := remoteWriteProto(r.Header.Get("Content-Type"))
	if err != nil {
		s.reject(w, http.StatusUnsupportedMediaType, err.Error())
		return
	}
	if enc := r.Header.Get("Content-Encoding"); enc != "snappy" {
		s.reject(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Encoding %q: remote write bodies are snappy-compressed", enc))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		s.reject(w, http.StatusBadRequest, err.Error())
		return
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		s.reject(w, http.StatusBadRequest, "snappy: "+err.Error())
		return
	}
	switch proto {
	case protoV1:
		var req prompb.WriteRequest
		if err := req.Unmarshal(raw); err != nil {
			s.reject(w, http.StatusBadRequest, "decoding prometheus.WriteRequest: "+err.Error())
			return
		}
		s.countV1(&req, len(body))
	case protoV2:
		var req writev2.Request
		if err := req.Unmarshal(raw); err != nil {
			s.reject(w, http.StatusBadRequest, "decoding io.prometheus.write.v2.Request: "+err.Error())
			return
		}
		samples, hists, exemplars, err := s.countV2(&req, len(body))
		if err != nil {
			s.reject(w, http.StatusBadRequest, err.Error())
			return
		}
		w.Header().Set("X-Prometheus-Remote-Write-Samples-Written", strconv.Itoa(samples))
		w.Header().Set("X-Prometheus-Remote-Write-Histograms-Written", strconv.Itoa(hists))
		w.Header().Set("X-Prometheus-Remote-Write-Exemplars-Written", strconv.Itoa(exemplars))
	}
	w.WriteHeader(http.StatusNoContent)
}

// remoteWriteProto tells which message a Content-Type names.
func remoteWriteProto(contentType string) (string, error) {
	if contentType == "" {
		return protoV1, nil
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("Content-Type %q: %v", contentType, err)
	}
	if mt != "application/x-protobuf" {
		return "", fmt.Errorf("Content-Type %q: remote write is application/x-protobuf", contentType)
	}
	switch p := params["proto"]; p {
	case "", protoV1:
		return protoV1, nil
	case protoV2:
		return protoV2, nil
	default:
		return "", fmt.Errorf("Content-Type %q: unknown proto %q (want %s or %s)", contentType, p, protoV1, protoV2)
	}
}

func (s *Sink) reject(w http.ResponseWriter, code int, msg string) {
	s.mu.Lock()
	s.stats.Rejected++
	s.mu.Unlock()
	http.Error(w, msg, code)
}

func (s *Sink) countV1(req *prompb.WriteRequest, size int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests++
	s.stats.Bytes += int64(size)
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		s.scratch.Reset()
		for _, l := range ts.Labels {
			s.scratch.Add(l.Name, l.Value)
		}
		s.scratch.Sort()
		se := s.seriesFor(s.scratch.Labels())
		for _, smp := range ts.Samples {
			s.addSample(se, smp.Timestamp, smp.Value)
		}
		for _, h := range ts.Histograms {
			s.addHistogram(se, h.Timestamp)
		}
		s.stats.Exemplars += int64(len(ts.Exemplars))
	}
}

func (s *Sink) countV2(req *writev2.Request, size int) (samples, hists, exemplars int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		refs := ts.LabelsRefs
		if len(refs)%2 != 0 {
			return 0, 0, 0, fmt.Errorf("series %d: odd number of label refs", i)
		}
		for _, ref := range refs {
			if int(ref) >= len(req.Symbols) {
				return 0, 0, 0, fmt.Errorf("series %d: label ref %d outside %d symbols", i, ref, len(req.Symbols))
			}
		}
	}
	s.stats.Requests++
	s.stats.Bytes += int64(size)
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		s.scratch.Reset()
		for j := 0; j < len(ts.LabelsRefs); j += 2 {
			s.scratch.Add(req.Symbols[ts.LabelsRefs[j]], req.Symbols[ts.LabelsRefs[j+1]])
		}
		s.scratch.Sort()
		se := s.seriesFor(s.scratch.Labels())
		for _, smp := range ts.Samples {
			s.addSample(se, smp.Timestamp, smp.Value)
		}
		for _, h := range ts.Histograms {
			s.addHistogram(se, h.Timestamp)
		}
		s.stats.Exemplars += int64(len(ts.Exemplars))
		samples += len(ts.Samples)
		hists += len(ts.Histograms)
		exemplars += len(ts.Exemplars)
	}
	return samples, hists, exemplars, nil
}

func (s *Sink) seriesFor(l labels.Labels) *SinkSeries {
	key := l.String()
	se, ok := s.series[key]
	if !ok {
		se = &SinkSeries{}
		s.series[key] = se
	}
	return se
}

func (s *Sink) addSample(se *SinkSeries, ms int64, v float64) {
	s.stats.Samples++
	if value.IsStaleNaN(v) {
		s.stats.StaleMarkers++
	}
	s.seen(se, ms)
	se.LastValue = v
	if s.record {
		se.Recorded = append(se.Recorded, prompb.Sample{Timestamp: ms, Value: v})
	}
}

func (s *Sink) addHistogram(se *SinkSeries, ms int64) {
	s.stats.Histograms++
	s.seen(se, ms)
}

func (s *Sink) seen(se *SinkSeries, ms int64) {
	t := time.UnixMilli(ms)
	se.Samples++
	if se.First.IsZero() || t.Before(se.First) {
		se.First = t
	}
	if t.After(se.Last) {
		se.Last = t
	}
	if s.stats.Min.IsZero() || t.Before(s.stats.Min) {
		s.stats.Min = t
	}
	if t.After(s.stats.Max) {
		s.stats.Max = t
	}
}

// PushRemoteWrite sends series to a remote-write 1.0 receiver (such as a
// Prometheus started with --web.enable-remote-write-receiver) and returns
// an error carrying the receiver's answer unless it is 2xx.
func PushRemoteWrite(url string, series []prompb.TimeSeries) error {
	req := prompb.WriteRequest{Timeseries: series}
	raw, err := req.Marshal()
	if err != nil {
		return err
	}
	httpReq, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		return err
	}
	httpReq.Header.Set("Content-Type", "application/x-protobuf")
	httpReq.Header.Set("Content-Encoding", "snappy")
	httpReq.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(httpReq)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("remote write to %s: %s: %s", url, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}
