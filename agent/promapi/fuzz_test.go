package promapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/prometheus/prometheus/storage"

	"github.com/nomadlike/nomadlike/agent/promapi"
	"github.com/nomadlike/nomadlike/agent/promapi/promapitest"
)

// FuzzPromQL_Params feeds arbitrary parameters to every handler: each
// must answer a Prometheus envelope with one of Prometheus' statuses, and
// never panic.
func FuzzPromQL_Params(f *testing.F) {
	for _, seed := range [][4]string{
		{"sum(x)", "1700000000", "15s", "x"},
		{"x[5m:]", "2023-11-14T22:13:20Z", "1e-9", `{__name__=~".+"}`},
		{"x @ end()", "-1e300", "NaN", `{node=""}`},
		{`label_replace(x, "a", "$1", "node", "(.*)")`, "+Inf", "9223372036854775807", "x{"},
		{"rate(x[1m]) offset -5m", "", "-1", "\xff"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	api := &promapi.API{Engine: promapi.NewEngine(promapi.EngineOptions{Timeout: promapi.DefaultTimeout})}
	db := promapitest.DB(f, testSamples()...)
	api.Queryable = func(*http.Request) (storage.Queryable, error) { return db, nil }
	handlers := []http.HandlerFunc{api.Query, api.QueryRange, api.Series, api.Labels, api.LabelValues}
	f.Fuzz(func(t *testing.T, query, ts, step, match string) {
		params := url.Values{"query": {query}, "time": {ts}, "start": {ts}, "end": {"1700000000"},
			"step": {step}, "match[]": {match}, "limit": {step}, "timeout": {"5s"}}
		for _, h := range handlers {
			req := httptest.NewRequest("GET", "/?"+params.Encode(), nil)
			req.SetPathValue("name", match)
			rec := httptest.NewRecorder()
			h(rec, req)
			var env envelope
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
				t.Fatalf("%d %q: %v", rec.Code, rec.Body, err)
			}
			switch rec.Code {
			case 200, 400, 422, 503:
			default:
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}
