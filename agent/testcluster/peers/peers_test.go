package peers

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// TestPrometheus_ScrapesNodeExporter: a real Prometheus scraping a real
// node exporter reports up == 1, and the three query calls answer.
func TestPrometheus_ScrapesNodeExporter(t *testing.T) {
	ne := StartNodeExporter(t)
	p := StartPrometheus(t, PrometheusOptions{
		ScrapeInterval: time.Second,
		Scrape:         []ScrapeConfig{{JobName: "node", Targets: []string{ne.Target()}}},
	})

	var vec model.Vector
	testutil.WaitForResult(t, 30*time.Second, func() error {
		var err error
		vec, err = p.Query(`up{job="node"} == 1`, time.Time{})
		if err != nil {
			return err
		}
		if len(vec) != 1 {
			return fmt.Errorf("up == 1: %d samples, want 1", len(vec))
		}
		return nil
	})
	if got := string(vec[0].Metric["instance"]); got != ne.Target() {
		t.Fatalf("instance %q, want %q", got, ne.Target())
	}
	if vec[0].Value != 1 {
		t.Fatalf("up = %v", vec[0].Value)
	}

	// node_load1 comes from an enabled collector.
	vec, err := p.Query(`node_load1`, time.Time{})
	if err != nil || len(vec) != 1 {
		t.Fatalf("node_load1: %v %v", vec, err)
	}

	// Wait for a few scrapes, then a range query has one point per step.
	testutil.WaitForResult(t, 30*time.Second, func() error {
		vec, err := p.Query(`count_over_time(up{job="node"}[1m])`, time.Time{})
		if err != nil {
			return err
		}
		if len(vec) != 1 || vec[0].Value < 3 {
			return fmt.Errorf("want at least 3 scrapes, have %v", vec)
		}
		return nil
	})
	end := time.Now()
	m, err := p.QueryRange(`up{job="node"}`, end.Add(-2*time.Second), end, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || len(m[0].Values) != 3 {
		t.Fatalf("query_range over 2 s at 1 s step: %v, want 1 series of 3 points", m)
	}
	for _, v := range m[0].Values {
		if v.Value != 1 {
			t.Fatalf("up point %v", v)
		}
	}

	series, err := p.Series(`{job="node",__name__=~"node_cpu_seconds_total|up"}`)
	if err != nil {
		t.Fatal(err)
	}
	names := map[model.LabelValue]int{}
	for _, s := range series {
		names[s[model.MetricNameLabel]]++
	}
	if names["up"] != 1 || names["node_cpu_seconds_total"] < 1 || len(names) != 2 {
		t.Fatalf("series by name: %v", names)
	}

	// Prometheus' own error text comes back.
	if _, err := p.Query(`up{`, time.Time{}); err == nil || !strings.Contains(err.Error(), "bad_data") || !strings.Contains(err.Error(), "parse error") {
		t.Fatalf("bad expression: %v", err)
	}
	if _, err := p.QueryRange(`up`, end, end.Add(-time.Minute), time.Second); err == nil || !strings.Contains(err.Error(), "end timestamp must not be before start time") {
		t.Fatalf("end before start: %v", err)
	}
	if _, err := p.Series(); err == nil {
		t.Fatal("Series without a selector: no error")
	}
}

// TestPrometheus_RemoteWriteReceiverAndRestart: a sample pushed to the
// remote-write receiver can be queried back, and is still there after a
// Stop and a Start on the same port and data dir; Kill leaves the port
// closed.
func TestPrometheus_RemoteWriteReceiverAndRestart(t *testing.T) {
	p := StartPrometheus(t, PrometheusOptions{})
	now := time.Now()
	series := []prompb.TimeSeries{{
		Labels: []prompb.Label{{Name: "__name__", Value: "peers_pushed_total"}, {Name: "job", Value: "push"}},
		Samples: []prompb.Sample{
			{Timestamp: now.Add(-2 * time.Second).UnixMilli(), Value: 41},
			{Timestamp: now.UnixMilli(), Value: 42},
		},
	}}
	if err := PushRemoteWrite(p.RemoteWriteURL(), series); err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		vec, err := p.Query(`peers_pushed_total{job="push"}`, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(vec) != 1 || vec[0].Value != 42 || vec[0].Timestamp.Time().UnixMilli() != now.UnixMilli() {
			t.Fatalf("pushed sample back: %v", vec)
		}
		vec, err = p.Query(`count_over_time(peers_pushed_total[10s])`, now)
		if err != nil || len(vec) != 1 || vec[0].Value != 2 {
			t.Fatalf("both samples: %v %v", vec, err)
		}
	}
	check()

	// An out-of-order sample is refused, and the error says why.
	err := PushRemoteWrite(p.RemoteWriteURL(), []prompb.TimeSeries{{
		Labels:  series[0].Labels,
		Samples: []prompb.Sample{{Timestamp: now.Add(-time.Second).UnixMilli(), Value: 1}},
	}})
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("out-of-order push: %v", err)
	}

	port, dir, pid := p.Port, p.DataDir, p.PID()
	p.Stop()
	if _, err := p.Query("up", time.Time{}); err == nil {
		t.Fatal("stopped Prometheus still answers")
	}
	p.Start()
	if p.Port != port || p.DataDir != dir || p.PID() == pid || p.PID() == 0 {
		t.Fatalf("restart: port %d->%d, dir %s->%s, pid %d->%d", port, p.Port, dir, p.DataDir, pid, p.PID())
	}
	check()

	p.Kill()
	if _, err := http.Get(p.URL() + "/-/ready"); err == nil {
		t.Fatal("killed Prometheus still answers")
	}
}

// TestSink_CountsPrometheusAgentRemoteWrite: Prometheus in agent mode
// scraping the synthetic exporter delivers every series to the sink.
func TestSink_CountsPrometheusAgentRemoteWrite(t *testing.T) {
	syn := StartSynthetic(t, 3, 60)
	sink := StartSink(t, SinkOptions{RecordSamples: true})
	p := StartPrometheus(t, PrometheusOptions{
		Agent:          true,
		ScrapeInterval: time.Second,
		Scrape:         []ScrapeConfig{{JobName: "synth", Targets: syn.Targets()}},
		RemoteWrite:    []RemoteWrite{{URL: sink.URL(), Queue: map[string]any{"batch_send_deadline": "500ms"}}},
	})
	want := syn.Series("synth")
	if len(want) != 180 {
		t.Fatalf("synthetic series: %d, want 180", len(want))
	}
	// Each target adds 5 series of its own: up, scrape_duration_seconds,
	// scrape_samples_scraped, scrape_samples_post_metric_relabeling,
	// scrape_series_added.
	testutil.WaitForResult(t, 60*time.Second, func() error {
		for _, l := range want {
			se, ok := sink.Series(l)
			if !ok || se.Samples < 2 {
				return fmt.Errorf("%s: %d samples at the sink", l, se.Samples)
			}
		}
		if st := sink.Stats(); st.Series != 180+3*5 {
			return fmt.Errorf("sink has %d series, want %d", st.Series, 180+3*5)
		}
		return nil
	})
	st := sink.Stats()
	if st.Requests == 0 || st.Rejected != 0 || st.Samples < 2*195 || st.Bytes == 0 {
		t.Fatalf("stats %+v", st)
	}
	if st.Max.Before(st.Min) || time.Since(st.Max) > time.Minute || st.Min.Before(time.Now().Add(-5*time.Minute)) {
		t.Fatalf("timestamps %v .. %v", st.Min, st.Max)
	}
	// A counter only grows between scrapes, and timestamps increase.
	for _, l := range want {
		if l.Get("__name__") != "synth_http_requests_total" {
			continue
		}
		se, _ := sink.Series(l)
		for i := 1; i < len(se.Recorded); i++ {
			a, b := se.Recorded[i-1], se.Recorded[i]
			if b.Timestamp <= a.Timestamp || b.Value < a.Value {
				t.Fatalf("%s: sample %d %v after %v", l, i, b, a)
			}
		}
	}
	if p.Exited() {
		t.Fatal("prometheus agent exited")
	}
}

// TestSink_FailureAndBadInput: SetFailure answers the given status, bad
// bodies get a 4xx with the reason, and nothing is counted for them.
func TestSink_FailureAndBadInput(t *testing.T) {
	sink := StartSink(t, SinkOptions{})
	ts := []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: "x"}},
		Samples: []prompb.Sample{{Timestamp: 1000, Value: 1}, {Timestamp: 2000, Value: math.Float64frombits(0x7ff0000000000002)}},
	}}
	sink.SetFailure(http.StatusServiceUnavailable)
	if err := PushRemoteWrite(sink.URL(), ts); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("failing sink: %v", err)
	}
	sink.SetFailure(0)
	if err := PushRemoteWrite(sink.URL(), ts); err != nil {
		t.Fatal(err)
	}
	st := sink.Stats()
	if st.Requests != 1 || st.Rejected != 1 || st.Samples != 2 || st.StaleMarkers != 1 || st.Series != 1 ||
		st.Min.UnixMilli() != 1000 || st.Max.UnixMilli() != 2000 {
		t.Fatalf("stats %+v", st)
	}

	post := func(ct, enc string, body []byte) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, sink.URL(), bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Content-Encoding", enc)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(msg)
	}
	for _, c := range []struct {
		ct, enc string
		body    []byte
		code    int
		msg     string
	}{
		{"application/json", "snappy", nil, 415, "application/x-protobuf"},
		{"application/x-protobuf;proto=foo", "snappy", nil, 415, "unknown proto"},
		{"application/x-protobuf", "gzip", nil, 415, "snappy"},
		{"application/x-protobuf", "snappy", []byte("not snappy"), 400, "snappy"},
		{"application/x-protobuf", "snappy", []byte{0x03, 0x08, 0xff, 0xff}, 400, ""},
	} {
		code, msg := post(c.ct, c.enc, c.body)
		if code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%s %s %q: %d %q, want %d containing %q", c.ct, c.enc, c.body, code, msg, c.code, c.msg)
		}
	}
	if st := sink.Stats(); st.Requests != 1 || st.Rejected != 6 {
		t.Fatalf("after bad input: %+v", st)
	}
	sink.Reset()
	if st := sink.Stats(); st != (SinkStats{}) {
		t.Fatalf("after Reset: %+v", st)
	}
}

// TestSynthetic_Exposition: each target serves exactly M series that
// parse as the text format, with buckets that are cumulative, and values
// that move from one scrape to the next.
func TestSynthetic_Exposition(t *testing.T) {
	for _, m := range []int{1, 10, 100, 1000} {
		syn := StartSynthetic(t, 2, m)
		scrape := func(target string, gz bool) map[string]*dto.MetricFamily {
			req, _ := http.NewRequest(http.MethodGet, "http://"+target+"/metrics", nil)
			if gz {
				req.Header.Set("Accept-Encoding", "gzip")
			}
			// A Transport with compression off, so gzip is checked here.
			resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body io.Reader = resp.Body
			if gz {
				if resp.Header.Get("Content-Encoding") != "gzip" {
					t.Fatalf("asked gzip, got Content-Encoding %q", resp.Header.Get("Content-Encoding"))
				}
				zr, err := gzip.NewReader(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				body = zr
			}
			p := expfmt.NewTextParser(model.UTF8Validation)
			fams, err := p.TextToMetricFamilies(body)
			if err != nil {
				t.Fatal(err)
			}
			return fams
		}
		count := func(fams map[string]*dto.MetricFamily) (n int, values map[string]float64) {
			values = map[string]float64{}
			for name, f := range fams {
				for _, mt := range f.Metric {
					key := name + fmt.Sprint(mt.Label)
					switch f.GetType() {
					case dto.MetricType_HISTOGRAM:
						h := mt.Histogram
						n += len(h.Bucket) + 2
						if h.Bucket[len(h.Bucket)-1].GetUpperBound() != math.Inf(1) {
							t.Fatal("histogram without +Inf")
						}
						prev := uint64(0)
						for _, b := range h.Bucket {
							if b.GetCumulativeCount() < prev {
								t.Fatalf("%s: buckets not cumulative", key)
							}
							prev = b.GetCumulativeCount()
						}
						if prev != h.GetSampleCount() {
							t.Fatalf("%s: +Inf %d != count %d", key, prev, h.GetSampleCount())
						}
						values[key] = float64(h.GetSampleCount())
					case dto.MetricType_COUNTER:
						n++
						values[key] = mt.Counter.GetValue()
					case dto.MetricType_GAUGE:
						n++
						values[key] = mt.Gauge.GetValue()
					default:
						t.Fatalf("%s: type %v", name, f.GetType())
					}
				}
			}
			return n, values
		}
		for i, target := range syn.Targets() {
			n1, v1 := count(scrape(target, i == 0))
			n2, v2 := count(scrape(target, i != 0))
			if n1 != m || n2 != m {
				t.Fatalf("M=%d: target serves %d then %d series", m, n1, n2)
			}
			changed := 0
			for k, a := range v1 {
				if b := v2[k]; b != a {
					changed++
				}
			}
			if m >= 10 && changed == 0 {
				t.Fatalf("M=%d: no value changed between scrapes", m)
			}
		}
		if got := syn.MinScrapes(); got != 2 {
			t.Fatalf("MinScrapes %d, want 2", got)
		}
		syn.ResetScrapes()
		if got := syn.MinScrapes(); got != 0 {
			t.Fatalf("after ResetScrapes: %d", got)
		}
		if got := len(syn.Series("j")); got != 2*m {
			t.Fatalf("Series: %d, want %d", got, 2*m)
		}
	}
}

// fatalRecorder records Fatalf and ends its goroutine, as testing does.
type fatalRecorder struct{ msg string }

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestRequireBinary: a binary in PATH is found; a missing one fails (not
// skips) with the apt-get line.
func TestRequireBinary(t *testing.T) {
	if p := RequireBinary(t, "sh", "dash"); p == "" {
		t.Fatal("empty path for sh")
	}
	f := &fatalRecorder{}
	done := make(chan string, 1)
	go func() {
		defer func() { done <- f.msg }()
		RequireBinary(f, "no-such-binary-peers", "no-such-package")
		f.msg = "returned"
	}()
	want := "no-such-binary-peers is not installed (not in PATH); install it with: sudo apt-get install -y no-such-package"
	if got := <-done; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestReadProcStat reads this test process.
func TestReadProcStat(t *testing.T) {
	// Burn a little CPU so that utime is not zero.
	deadline := time.Now().Add(50 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	st, err := ReadProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.CPU <= 0 || st.RSS == 0 || st.HWM < st.RSS {
		t.Fatalf("%+v (x=%d)", st, x)
	}
	if _, err := ReadProcStat(1 << 30); err == nil {
		t.Fatal("no error for a missing pid")
	}
}

// TestNotInBinary: the nomadlike binary does not link this package (it
// is test tooling, and it pulls Prometheus' label and protobuf packages).
func TestNotInBinary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/nomadlike/nomadlike").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps found only %v", deps)
	}
	for _, d := range deps {
		if strings.HasPrefix(d, "github.com/nomadlike/nomadlike/agent/testcluster") {
			t.Fatalf("the nomadlike binary imports %s", d)
		}
	}
}

// TestFormatTime: query times are sent to the millisecond, truncated as
// time.UnixMilli is, so that a sample pushed at t is found at t.
func TestFormatTime(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{time.UnixMilli(1796413817211).Add(999 * time.Microsecond), "1796413817.211"},
		{time.UnixMilli(5), "0.005"},
		{time.UnixMilli(-1), "-0.001"},
	} {
		if got := formatTime(c.t); got != c.want {
			t.Errorf("formatTime(%v) = %s, want %s", c.t, got, c.want)
		}
	}
}

// TestSink_RemoteWriteV2: a remote write 2.0 request is decoded through
// its symbol table and answered with the written counts.
func TestSink_RemoteWriteV2(t *testing.T) {
	sink := StartSink(t, SinkOptions{})
	req := writev2.Request{
		Symbols: []string{"", "__name__", "v2_metric", "job", "j"},
		Timeseries: []writev2.TimeSeries{
			{LabelsRefs: []uint32{1, 2, 3, 4}, Samples: []writev2.Sample{{Value: 1, Timestamp: 1000}, {Value: 2, Timestamp: 2000}}},
			{LabelsRefs: []uint32{1, 2}, Samples: []writev2.Sample{{Value: 3, Timestamp: 3000}}},
		},
	}
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	post := func(body []byte) *http.Response {
		hr, _ := http.NewRequest(http.MethodPost, sink.URL(), bytes.NewReader(snappy.Encode(nil, body)))
		hr.Header.Set("Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request")
		hr.Header.Set("Content-Encoding", "snappy")
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := post(raw)
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("X-Prometheus-Remote-Write-Samples-Written") != "3" {
		t.Fatalf("%s, samples written %q", resp.Status, resp.Header.Get("X-Prometheus-Remote-Write-Samples-Written"))
	}
	se, ok := sink.Series(labels.FromStrings("__name__", "v2_metric", "job", "j"))
	if !ok || se.Samples != 2 || se.LastValue != 2 || se.First.UnixMilli() != 1000 || se.Last.UnixMilli() != 2000 {
		t.Fatalf("series: %+v %v", se, ok)
	}
	if st := sink.Stats(); st.Series != 2 || st.Samples != 3 || st.Requests != 1 {
		t.Fatalf("stats %+v", st)
	}

	// A label ref outside the symbol table is a 400, and nothing counts.
	req.Timeseries[0].LabelsRefs = []uint32{1, 9}
	raw, _ = req.Marshal()
	if resp := post(raw); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad ref: %s", resp.Status)
	}
	if st := sink.Stats(); st.Samples != 3 || st.Rejected != 1 {
		t.Fatalf("after bad ref: %+v", st)
	}
}
