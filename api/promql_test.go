package api_test

import (
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/nomadlike/nomadlike/agent/promapi"
	"github.com/nomadlike/nomadlike/agent/promapi/promapitest"
	"github.com/nomadlike/nomadlike/api"
)

var promT0 = time.Unix(1_700_000_000, 0)

// promRequest is what the recording proxy saw.
type promRequest struct {
	method, path, token, contentType string
}

// promClient returns a client of a promapi server over a real TSDB
// holding cpu for nodes a and b every 15s up to promT0, behind a proxy
// that records each request.
func promClient(t *testing.T) (*api.Client, func() []promRequest) {
	t.Helper()
	var samples []promapitest.Sample
	for i := 0; i < 5; i++ {
		ts := promT0.Add(time.Duration(i-4) * 15 * time.Second)
		samples = append(samples,
			promapitest.Sample{Labels: labels.FromStrings("__name__", "cpu", "node", "a"), T: ts, V: float64(i)},
			promapitest.Sample{Labels: labels.FromStrings("__name__", "cpu", "node", "b"), T: ts, V: 0.5},
		)
	}
	backend := promapitest.Server(t, promapitest.DB(t, samples...))
	target, _ := url.Parse(backend.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	var seen []promRequest
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, promRequest{r.Method, r.URL.Path, r.Header.Get(api.TokenHeader), r.Header.Get("Content-Type")})
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	c, err := api.NewClient(&api.Config{Address: front.URL, Token: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	return c, func() []promRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]promRequest(nil), seen...)
	}
}

func TestPromQL_ClientQuery(t *testing.T) {
	c, seen := promClient(t)
	res, err := c.Metrics().Query(`sort(cpu)`, promT0, nil)
	if err != nil {
		t.Fatal(err)
	}
	vec, err := res.Vector()
	if err != nil || len(vec) != 2 {
		t.Fatalf("%v %+v", err, vec)
	}
	if vec[0].Metric["node"] != "b" || vec[0].Value != 0.5 || !vec[0].Time.Equal(promT0) ||
		vec[1].Metric["node"] != "a" || vec[1].Value != 4 || vec[1].Metric["__name__"] != "cpu" {
		t.Fatalf("vector %+v", vec)
	}
	if _, err := res.Matrix(); err == nil {
		t.Fatal("a vector decoded as a matrix")
	}
	if r := seen()[0]; r.method != "GET" || r.path != "/api/v1/query" || r.token != "secret" {
		t.Fatalf("request %+v", r)
	}

	// Prometheus writes special values as strings.
	for q, want := range map[string]float64{"1/0": math.Inf(1), "-1/0": math.Inf(-1), "0/0": math.NaN(), "2.5": 2.5} {
		res, err := c.Metrics().Query(q, promT0.Add(1500*time.Millisecond), nil)
		if err != nil {
			t.Fatal(err)
		}
		p, err := res.Scalar()
		if err != nil || !p.Time.Equal(promT0.Add(1500*time.Millisecond)) ||
			!(p.Value == want || math.IsNaN(want) && math.IsNaN(p.Value)) {
			t.Fatalf("%s: %v %+v", q, err, p)
		}
	}
	res, err = c.Metrics().Query(`"hi"`, promT0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ts, s, err := res.StringValue(); err != nil || s != "hi" || !ts.Equal(promT0) {
		t.Fatalf("string %v %q %v", ts, s, err)
	}
}

func TestPromQL_ClientQueryRange(t *testing.T) {
	c, _ := promClient(t)
	res, err := c.Metrics().QueryRange(`cpu{node="a"} * 2`, promT0.Add(-30*time.Second), promT0, 15*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := res.Matrix()
	if err != nil || len(m) != 1 || len(m[0].Points) != 3 || m[0].Metric["node"] != "a" {
		t.Fatalf("%v %+v", err, m)
	}
	for i, want := range []float64{4, 6, 8} {
		if p := m[0].Points[i]; p.Value != want || !p.Time.Equal(promT0.Add(time.Duration(i-2)*15*time.Second)) {
			t.Fatalf("point %d: %+v", i, p)
		}
	}
	if _, err := c.Metrics().QueryRange("cpu", promT0, promT0, 0, nil); err == nil {
		t.Fatal("zero step accepted")
	}
}

func TestPromQL_ClientLongQueryIsPosted(t *testing.T) {
	c, seen := promClient(t)
	q := strings.Repeat("cpu + ", 1000) + "cpu"
	res, err := c.Metrics().Query(`sum(`+q+`)`, promT0, &api.QueryOptions{Params: map[string]string{"timeout": "30s"}})
	if err != nil {
		t.Fatal(err)
	}
	vec, err := res.Vector()
	if err != nil || len(vec) != 1 || vec[0].Value != 1001*4.5 {
		t.Fatalf("%v %+v", err, vec)
	}
	if r := seen()[0]; r.method != "POST" || r.contentType != "application/x-www-form-urlencoded" || r.token != "secret" {
		t.Fatalf("request %+v", r)
	}
}

func TestPromQL_ClientMetadata(t *testing.T) {
	c, _ := promClient(t)
	from, to := promT0.Add(-time.Hour), promT0
	series, meta, err := c.Metrics().Series([]string{`cpu{node="a"}`}, from, to, nil)
	if err != nil || len(series) != 1 || series[0]["node"] != "a" || series[0]["__name__"] != "cpu" || len(meta.Warnings) != 0 {
		t.Fatalf("%v %v %+v", err, series, meta)
	}
	series, _, err = c.Metrics().Series([]string{`nothing`}, time.Time{}, time.Time{}, nil)
	if err != nil || series == nil || len(series) != 0 {
		t.Fatalf("%v %#v", err, series)
	}
	names, _, err := c.Metrics().Labels(nil, time.Time{}, time.Time{}, nil)
	if err != nil || strings.Join(names, ",") != "__name__,node" {
		t.Fatalf("%v %v", err, names)
	}
	vals, meta, err := c.Metrics().LabelValues("node", []string{"cpu"}, from, to, &api.QueryOptions{Params: map[string]string{"limit": "1"}})
	if err != nil || strings.Join(vals, ",") != "a" || len(meta.Warnings) != 1 || meta.Warnings[0] != "results truncated due to limit" {
		t.Fatalf("%v %v %+v", err, vals, meta)
	}
	if _, _, err := c.Metrics().Series(nil, from, to, nil); err == nil {
		t.Fatal("no selector accepted")
	}
}

func TestPromQL_ClientErrors(t *testing.T) {
	c, _ := promClient(t)
	_, err := c.Metrics().Query("sum(", time.Time{}, nil)
	var pe *api.PromQLError
	if !errors.As(err, &pe) || pe.StatusCode() != 400 || pe.ErrorType() != "bad_data" ||
		!strings.Contains(pe.Message(), "parse error") ||
		!strings.HasPrefix(err.Error(), `Unexpected response code: 400 (bad_data: invalid parameter "query"`) {
		t.Fatalf("%v", err)
	}
	_, _, err = c.Metrics().LabelValues("\xff", nil, time.Time{}, time.Time{}, nil)
	if !errors.As(err, &pe) || pe.ErrorType() != "bad_data" {
		t.Fatalf("%v", err)
	}
}

// TestPromQL_ClientEnvelope checks what a real server is not made to
// send here: warnings and infos, the mounting layer's refusals, and
// bodies that are not Prometheus'.
func TestPromQL_ClientEnvelope(t *testing.T) {
	var status int
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status != 200 && strings.HasPrefix(body, "{") {
			promapi.WriteError(w, status, "forbidden", "Permission denied")
			return
		}
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	c, err := api.NewClient(&api.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}

	status, body = 200, `{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["server s2 did not answer"],"infos":["PromQL info: x"]}`
	res, err := c.Metrics().Query("x", time.Time{}, nil)
	if err != nil || res.ResultType != "vector" || len(res.Warnings) != 1 || res.Warnings[0] != "server s2 did not answer" ||
		len(res.Infos) != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	if vec, err := res.Vector(); err != nil || len(vec) != 0 {
		t.Fatalf("%v %v", err, vec)
	}
	status, body = 200, `{"status":"success","data":["a"],"warnings":["partial"]}`
	if names, meta, err := c.Metrics().Labels(nil, time.Time{}, time.Time{}, nil); err != nil || len(names) != 1 || meta.Warnings[0] != "partial" {
		t.Fatalf("%v %v %+v", err, names, meta)
	}

	status, body = 403, "{"
	_, err = c.Metrics().Query("x", time.Time{}, nil)
	var pe *api.PromQLError
	if !errors.As(err, &pe) || pe.StatusCode() != 403 || pe.ErrorType() != "forbidden" || pe.Message() != "Permission denied" {
		t.Fatalf("%v", err)
	}
	status, body = 502, "Bad Gateway"
	_, err = c.Metrics().Query("x", time.Time{}, nil)
	var ure api.UnexpectedResponseError
	if !errors.As(err, &ure) || ure.StatusCode() != 502 || ure.Body() != "Bad Gateway" {
		t.Fatalf("%v", err)
	}
	for _, bad := range []string{
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,2]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"two"]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":["1","2"]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}}`,
	} {
		status, body = 200, bad
		res, err := c.Metrics().Query("x", time.Time{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := res.Vector(); err == nil {
			t.Fatalf("%s decoded", bad)
		}
	}
}
