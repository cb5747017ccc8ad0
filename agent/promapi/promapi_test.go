package promapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
	"go.uber.org/goleak"

	"github.com/nomadlike/nomadlike/agent/promapi"
	"github.com/nomadlike/nomadlike/agent/promapi/promapitest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// t0 is the evaluation time of the tests: fixed, so that answers can be
// compared byte for byte.
var t0 = time.Unix(1_700_000_000, 0)

// testSamples are x for nodes a (1..5) and b (10..50) every 15s up to t0,
// a counter and a metric whose name does not say counter.
func testSamples() []promapitest.Sample {
	var out []promapitest.Sample
	for i := 0; i < 5; i++ {
		ts := t0.Add(time.Duration(i-4) * 15 * time.Second)
		out = append(out,
			promapitest.Sample{Labels: labels.FromStrings("__name__", "x", "node", "a", "dc", "dc1"), T: ts, V: float64(i + 1)},
			promapitest.Sample{Labels: labels.FromStrings("__name__", "x", "node", "b", "dc", "dc1"), T: ts, V: float64(10 * (i + 1))},
			promapitest.Sample{Labels: labels.FromStrings("__name__", "req_total", "node", "a"), T: ts, V: float64(100 * i)},
			promapitest.Sample{Labels: labels.FromStrings("__name__", "gauge", "node", "a"), T: ts, V: float64(i)},
		)
	}
	return out
}

// envelope is Prometheus' answer, with data left raw.
type envelope struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	Infos     []string        `json:"infos"`
}

// get fetches path with params by GET and returns the status, the raw body
// and the decoded envelope.
func get(t *testing.T, srv *httptest.Server, path string, params url.Values) (int, string, envelope) {
	t.Helper()
	resp, err := http.Get(srv.URL + path + "?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp)
}

// post sends params as a form, as promtool and Grafana do.
func post(t *testing.T, srv *httptest.Server, path string, params url.Values) (int, string, envelope) {
	t.Helper()
	resp, err := http.PostForm(srv.URL+path, params)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp)
}

func decode(t *testing.T, resp *http.Response) (int, string, envelope) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, body %s", ct, b)
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, b)
	}
	return resp.StatusCode, string(b), env
}

func newTestServer(t *testing.T) *httptest.Server {
	return promapitest.Server(t, promapitest.DB(t, testSamples()...))
}

func TestPromQL_QueryWireFormat(t *testing.T) {
	srv := newTestServer(t)
	at := fmt.Sprint(t0.Unix())
	for _, tc := range []struct {
		name, query, time, want string
	}{
		{"vector", `sort(max by (node) (x))`, at,
			`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"node":"a"},"value":[1700000000,"5"]},{"metric":{"node":"b"},"value":[1700000000,"50"]}]}}`},
		{"scalar", `1/0`, "1700000000.5",
			`{"status":"success","data":{"resultType":"scalar","result":[1700000000.5,"+Inf"]}}`},
		{"nan", `vector(0/0)`, at,
			`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"NaN"]}]}}`},
		{"string", `"hello"`, "2023-11-14T22:13:20.123Z",
			`{"status":"success","data":{"resultType":"string","result":[1700000000.123,"hello"]}}`},
		{"matrix", `x{node="a"}[30s]`, at,
			`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"x","dc":"dc1","node":"a"},"values":[[1699999985,"4"],[1700000000,"5"]]}]}}`},
		{"empty", `nothing_here`, at,
			`{"status":"success","data":{"resultType":"vector","result":[]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body, _ := get(t, srv, "/api/v1/query", url.Values{"query": {tc.query}, "time": {tc.time}})
			if code != 200 || body != tc.want {
				t.Fatalf("%d %s\nwant %s", code, body, tc.want)
			}
		})
	}
}

func TestPromQL_QueryRange(t *testing.T) {
	srv := newTestServer(t)
	params := url.Values{
		"query": {`x{node="b"} * 2`},
		"start": {fmt.Sprint(t0.Add(-30 * time.Second).Unix())},
		"end":   {t0.UTC().Format(time.RFC3339)},
		"step":  {"15s"},
	}
	want := `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"dc":"dc1","node":"b"},"values":[[1699999970,"60"],[1699999985,"80"],[1700000000,"100"]]}]}}`
	for _, send := range []func(*testing.T, *httptest.Server, string, url.Values) (int, string, envelope){get, post} {
		code, body, _ := send(t, srv, "/api/v1/query_range", params)
		if code != 200 || body != want {
			t.Fatalf("%d %s\nwant %s", code, body, want)
		}
	}
	// A step in float seconds means the same.
	params.Set("step", "15")
	if code, body, _ := get(t, srv, "/api/v1/query_range", params); code != 200 || body != want {
		t.Fatalf("float step: %d %s", code, body)
	}
}

func TestPromQL_QueryPOSTAndStats(t *testing.T) {
	srv := newTestServer(t)
	code, _, env := post(t, srv, "/api/v1/query", url.Values{
		"query": {`sum(x)`}, "time": {fmt.Sprint(t0.Unix())}, "stats": {"true"},
	})
	if code != 200 || env.Status != "success" {
		t.Fatalf("%d %+v", code, env)
	}
	var data struct {
		ResultType string
		Result     []struct {
			Value [2]any
		}
		Stats struct {
			Timings map[string]float64
			Samples map[string]any
		}
	}
	if err := json.Unmarshal(env.Data, &data); err != nil {
		t.Fatal(err)
	}
	if data.ResultType != "vector" || len(data.Result) != 1 || data.Result[0].Value[1] != "55" {
		t.Fatalf("data %s", env.Data)
	}
	if _, ok := data.Stats.Timings["evalTotalTime"]; !ok || data.Stats.Samples["totalQueryableSamples"] == nil {
		t.Fatalf("no stats in %s", env.Data)
	}
	// An unknown stats value still works but is deprecated.
	_, _, env = get(t, srv, "/api/v1/query", url.Values{"query": {"1"}, "stats": {"yes"}})
	if len(env.Warnings) != 1 || !strings.Contains(env.Warnings[0], "deprecated") {
		t.Fatalf("warnings %q", env.Warnings)
	}
}

func TestPromQL_Limit(t *testing.T) {
	srv := newTestServer(t)
	_, body, env := get(t, srv, "/api/v1/query", url.Values{
		"query": {`sort(x)`}, "time": {fmt.Sprint(t0.Unix())}, "limit": {"1"},
	})
	if !strings.Contains(body, `"node":"a"`) || strings.Contains(body, `"node":"b"`) {
		t.Fatalf("limit=1 gave %s", body)
	}
	if len(env.Warnings) != 1 || env.Warnings[0] != "results truncated due to limit" {
		t.Fatalf("warnings %q", env.Warnings)
	}
}

func TestPromQL_Series(t *testing.T) {
	srv := newTestServer(t)
	code, body, _ := get(t, srv, "/api/v1/series", url.Values{"match[]": {`x`, `{__name__="gauge"}`}})
	want := `{"status":"success","data":[{"__name__":"gauge","node":"a"},{"__name__":"x","dc":"dc1","node":"a"},{"__name__":"x","dc":"dc1","node":"b"}]}`
	if code != 200 || body != want {
		t.Fatalf("%d %s\nwant %s", code, body, want)
	}
	// With a time range that holds no sample, nothing.
	code, body, _ = post(t, srv, "/api/v1/series", url.Values{"match[]": {`x`}, "start": {"1"}, "end": {"2"}})
	if code != 200 || body != `{"status":"success","data":[]}` {
		t.Fatalf("%d %s", code, body)
	}
	// limit truncates and says so.
	_, _, env := get(t, srv, "/api/v1/series", url.Values{"match[]": {`x`}, "limit": {"1"}})
	var series []map[string]string
	if err := json.Unmarshal(env.Data, &series); err != nil || len(series) != 1 ||
		len(env.Warnings) != 1 || env.Warnings[0] != "results truncated due to limit" {
		t.Fatalf("limit=1: %s %q %v", env.Data, env.Warnings, err)
	}
}

func TestPromQL_LabelsAndValues(t *testing.T) {
	srv := newTestServer(t)
	for _, tc := range []struct {
		path   string
		params url.Values
		want   string
	}{
		{"/api/v1/labels", nil, `["__name__","dc","node"]`},
		{"/api/v1/labels", url.Values{"match[]": {"gauge"}}, `["__name__","node"]`},
		{"/api/v1/labels", url.Values{"match[]": {"gauge", "x"}}, `["__name__","dc","node"]`},
		{"/api/v1/label/node/values", nil, `["a","b"]`},
		{"/api/v1/label/__name__/values", nil, `["gauge","req_total","x"]`},
		{"/api/v1/label/__name__/values", url.Values{"match[]": {`{node="b"}`}}, `["x"]`},
		{"/api/v1/label/__name__/values", url.Values{"match[]": {`{node="b"}`, "gauge"}}, `["gauge","x"]`},
		{"/api/v1/label/nope/values", nil, `[]`},
		{"/api/v1/label/U__node/values", nil, `["a","b"]`},
	} {
		code, body, env := get(t, srv, tc.path, tc.params)
		if code != 200 || string(env.Data) != tc.want {
			t.Fatalf("%s %v: %d %s, want data %s", tc.path, tc.params, code, body, tc.want)
		}
	}
	_, _, env := post(t, srv, "/api/v1/label/__name__/values", url.Values{"limit": {"2"}})
	if string(env.Data) != `["gauge","req_total"]` || len(env.Warnings) != 1 {
		t.Fatalf("limit=2: %s %q", env.Data, env.Warnings)
	}
}

func TestPromQL_Errors(t *testing.T) {
	srv := newTestServer(t)
	long := strings.Repeat("x", promapi.DefaultMaxQueryLength+1)
	many := url.Values{}
	for i := 0; i <= promapi.DefaultMaxMatchers; i++ {
		many.Add("match[]", fmt.Sprintf("x%d", i))
	}
	for _, tc := range []struct {
		path    string
		params  url.Values
		status  int
		errType string
		msg     string
	}{
		{"/api/v1/query", url.Values{"query": {"sum("}}, 400, "bad_data", `invalid parameter "query": 1:5: parse error`},
		{"/api/v1/query", url.Values{}, 400, "bad_data", `invalid parameter "query": unknown position: parse error: no expression found in input`},
		{"/api/v1/query", url.Values{"query": {long}}, 400, "bad_data", "more than the limit of 65536"},
		{"/api/v1/query", url.Values{"query": {"1"}, "time": {"yesterday"}}, 400, "bad_data", `invalid parameter "time": invalid time value for 'time': cannot parse "yesterday"`},
		{"/api/v1/query", url.Values{"query": {"1"}, "time": {"1e300"}}, 400, "bad_data", `invalid parameter "time"`},
		{"/api/v1/query", url.Values{"query": {"1"}, "limit": {"-1"}}, 400, "bad_data", "limit must be non-negative"},
		{"/api/v1/query", url.Values{"query": {"1"}, "timeout": {"0s"}}, 400, "bad_data", "timeout must be positive"},
		{"/api/v1/query", url.Values{"query": {"1"}, "lookback_delta": {"soon"}}, 400, "bad_data", "error parsing lookback delta duration"},
		{"/api/v1/query_range", url.Values{"query": {"1"}, "start": {"10"}, "end": {"20"}}, 400, "bad_data", `invalid parameter "step"`},
		{"/api/v1/query_range", url.Values{"query": {"1"}, "start": {"20"}, "end": {"10"}, "step": {"1"}}, 400, "bad_data", "end timestamp must not be before start time"},
		{"/api/v1/query_range", url.Values{"query": {"1"}, "start": {"0"}, "end": {"11001"}, "step": {"1"}}, 400, "bad_data", "exceeded maximum resolution of 11,000 points"},
		{"/api/v1/query_range", url.Values{"query": {"1"}, "start": {"0"}, "end": {"10"}, "step": {"-1"}}, 400, "bad_data", "zero or negative query resolution step"},
		{"/api/v1/query_range", url.Values{"query": {"x[5m]"}, "start": {"0"}, "end": {"10"}, "step": {"1"}}, 400, "bad_data", "invalid expression type \"range vector\""},
		{"/api/v1/series", url.Values{}, 400, "bad_data", "no match[] parameter provided"},
		{"/api/v1/series", url.Values{"match[]": {`{node=""}`}}, 400, "bad_data", `invalid parameter "match[]": match[] must contain at least one non-empty matcher`},
		{"/api/v1/series", url.Values{"match[]": {`x{`}}, 400, "bad_data", `invalid parameter "match[]"`},
		{"/api/v1/series", many, 400, "bad_data", "more than the limit of 100"},
		{"/api/v1/labels", url.Values{"match[]": {long}}, 400, "bad_data", "more than the limit of 65536"},
		{"/api/v1/labels", url.Values{"start": {"never"}}, 400, "bad_data", `invalid parameter "start"`},
		{"/api/v1/label/%FF/values", nil, 400, "bad_data", `invalid label name: "\xff"`},
		// Two series end up with the same labels.
		{"/api/v1/query", url.Values{"query": {`label_replace(x, "node", "z", "", "")`}, "time": {fmt.Sprint(t0.Unix())}},
			422, "execution", "vector cannot contain metrics with the same labelset"},
	} {
		code, body, env := get(t, srv, tc.path, tc.params)
		if code != tc.status || env.Status != "error" || env.ErrorType != tc.errType || !strings.Contains(env.Error, tc.msg) || env.Data != nil {
			t.Errorf("%s %.80v: %d %.300s\nwant %d %s %q", tc.path, tc.params, code, body, tc.status, tc.errType, tc.msg)
		}
	}
}

func TestPromQL_BodyTooLarge(t *testing.T) {
	srv := newTestServer(t)
	code, _, env := post(t, srv, "/api/v1/query", url.Values{"query": {strings.Repeat("1+", promapi.MaxFormBytes)}})
	if code != 400 || env.ErrorType != "bad_data" || !strings.Contains(env.Error, "error parsing form values") {
		t.Fatalf("%d %+v", code, env)
	}
}

func TestPromQL_StorageErrors(t *testing.T) {
	api := &promapi.API{Engine: promapi.NewEngine(promapi.EngineOptions{})}
	for _, tc := range []struct {
		err     error
		status  int
		errType string
	}{
		{errors.New("disk on fire"), 500, "internal"},
		{&promapi.Error{Type: promapi.ErrorTypeUnavailable, Err: errors.New("TSDB not open yet")}, 503, "unavailable"},
	} {
		api.Queryable = func(*http.Request) (storage.Queryable, error) { return nil, tc.err }
		for _, h := range []http.HandlerFunc{api.Query, api.Series, api.Labels, api.LabelValues} {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/?query=1&match[]=x", nil)
			req.SetPathValue("name", "node")
			h(rec, req)
			var env envelope
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || rec.Code != tc.status ||
				env.ErrorType != tc.errType || env.Error != tc.err.Error() {
				t.Fatalf("%v: %d %s", tc.err, rec.Code, rec.Body)
			}
		}
	}
	// No storage at all is reported, not a panic.
	rec := httptest.NewRecorder()
	(&promapi.API{}).Query(rec, httptest.NewRequest("GET", "/?query=1", nil))
	if rec.Code != 500 {
		t.Fatalf("nil storage: %d %s", rec.Code, rec.Body)
	}
}

func TestPromQL_Canceled(t *testing.T) {
	api := &promapi.API{
		Engine:    promapi.NewEngine(promapi.EngineOptions{}),
		Queryable: func(*http.Request) (storage.Queryable, error) { return promapitest.DB(t, testSamples()...), nil },
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	api.Query(rec, httptest.NewRequest("GET", "/?query=x", nil).WithContext(ctx))
	var env envelope
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || rec.Code != 499 || env.ErrorType != "canceled" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// blockQueryable is storage whose selects wait until the query's deadline.
type blockQueryable struct{ storage.Queryable }

func (b blockQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := b.Queryable.Querier(mint, maxt)
	return blockQuerier{q}, err
}

type blockQuerier struct{ storage.Querier }

func (blockQuerier) Select(ctx context.Context, _ bool, _ *storage.SelectHints, _ ...*labels.Matcher) storage.SeriesSet {
	<-ctx.Done()
	return storage.ErrSeriesSet(ctx.Err())
}

func TestPromQL_Timeout(t *testing.T) {
	srv := promapitest.Server(t, blockQueryable{promapitest.DB(t, testSamples()...)})
	for _, tc := range []struct {
		path   string
		params url.Values
	}{
		{"/api/v1/query", url.Values{"query": {"x"}, "timeout": {"0.05"}}},
		{"/api/v1/query_range", url.Values{"query": {"x"}, "start": {"0"}, "end": {"60"}, "step": {"15"}, "timeout": {"50ms"}}},
		{"/api/v1/series", url.Values{"match[]": {"x"}, "timeout": {"50ms"}}},
	} {
		code, body, env := get(t, srv, tc.path, tc.params)
		if code != 503 || env.ErrorType != "timeout" {
			t.Fatalf("%s: %d %s", tc.path, code, body)
		}
	}
}

func TestPromQL_WriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	promapi.WriteError(rec, http.StatusForbidden, "forbidden", "Permission denied")
	if rec.Code != 403 || rec.Header().Get("Content-Type") != "application/json" ||
		rec.Body.String() != `{"status":"error","errorType":"forbidden","error":"Permission denied"}` {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// warnQueryable is storage with a peer that did not answer: every select
// and label lookup comes back with a warning.
type warnQueryable struct{ storage.Queryable }

func (w warnQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := w.Queryable.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return warnQuerier{q}, nil
}

var errPeer = errors.New("server s2 did not answer: connection refused")

type warnQuerier struct{ storage.Querier }

func (w warnQuerier) Select(ctx context.Context, sorted bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	return warnSet{w.Querier.Select(ctx, sorted, hints, ms...)}
}

func (w warnQuerier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	vals, annos, err := w.Querier.LabelValues(ctx, name, hints, ms...)
	return vals, annos.Add(errPeer), err
}

func (w warnQuerier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	names, annos, err := w.Querier.LabelNames(ctx, hints, ms...)
	return names, annos.Add(errPeer), err
}

type warnSet struct{ storage.SeriesSet }

func (w warnSet) Warnings() annotations.Annotations {
	annos := w.SeriesSet.Warnings()
	return annos.Add(errPeer)
}

func TestPromQL_Warnings(t *testing.T) {
	srv := promapitest.Server(t, warnQueryable{promapitest.DB(t, testSamples()...)})
	at := fmt.Sprint(t0.Unix())
	for _, tc := range []struct {
		path   string
		params url.Values
		data   string
	}{
		{"/api/v1/query", url.Values{"query": {"sum(x)"}, "time": {at}}, `{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"55"]}]}`},
		{"/api/v1/query_range", url.Values{"query": {"sum(x)"}, "start": {at}, "end": {at}, "step": {"1"}}, `{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"55"]]}]}`},
		{"/api/v1/series", url.Values{"match[]": {"gauge"}}, `[{"__name__":"gauge","node":"a"}]`},
		{"/api/v1/labels", url.Values{"match[]": {"gauge"}}, `["__name__","node"]`},
		{"/api/v1/labels", url.Values{"match[]": {"gauge", "x"}}, `["__name__","dc","node"]`},
		{"/api/v1/label/node/values", nil, `["a","b"]`},
	} {
		code, body, env := get(t, srv, tc.path, tc.params)
		if code != 200 || env.Status != "success" || string(env.Data) != tc.data ||
			len(env.Warnings) != 1 || env.Warnings[0] != errPeer.Error() || env.Infos != nil {
			t.Fatalf("%s: %d %s", tc.path, code, body)
		}
	}
}

func TestPromQL_Infos(t *testing.T) {
	srv := newTestServer(t)
	// rate() of a metric whose name does not say counter is an info, not a
	// warning, in Prometheus 3.
	_, body, env := get(t, srv, "/api/v1/query", url.Values{"query": {"rate(gauge[1m])"}, "time": {fmt.Sprint(t0.Unix())}})
	if env.Status != "success" || len(env.Infos) != 1 || !strings.Contains(env.Infos[0], "might not be a counter") ||
		!strings.Contains(env.Infos[0], "(1:6)") || env.Warnings != nil {
		t.Fatalf("%s", body)
	}
	_, body, env = get(t, srv, "/api/v1/query", url.Values{"query": {"rate(req_total[1m])"}, "time": {fmt.Sprint(t0.Unix())}})
	if env.Status != "success" || env.Infos != nil || env.Warnings != nil || !strings.Contains(body, `"6.666666666666666"`) {
		t.Fatalf("%s", body)
	}
}
