package peers

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// API is a small client of Prometheus' HTTP query API (/api/v1/query,
// /api/v1/query_range, /api/v1/series). Its errors carry Prometheus'
// errorType and error text.
type API struct {
	URL  string
	HTTP *http.Client
}

// NewAPI is a client of the Prometheus at base (http://host:port).
func NewAPI(base string) *API {
	return &API{URL: strings.TrimRight(base, "/"), HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// apiResponse is Prometheus' envelope around every API answer.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
}

type queryData struct {
	ResultType model.ValueType `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

// Query evaluates an instant query at at (zero: Prometheus' now) and
// returns the vector; a scalar result comes back as one sample without
// labels. Any other result type is an error.
func (a *API) Query(expr string, at time.Time) (model.Vector, error) {
	v := url.Values{"query": {expr}}
	if !at.IsZero() {
		v.Set("time", formatTime(at))
	}
	var d queryData
	if err := a.get("/api/v1/query", v, &d); err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, err)
	}
	switch d.ResultType {
	case model.ValVector:
		var vec model.Vector
		if err := json.Unmarshal(d.Result, &vec); err != nil {
			return nil, fmt.Errorf("query %q: decoding vector: %w", expr, err)
		}
		return vec, nil
	case model.ValScalar:
		var s model.Scalar
		if err := json.Unmarshal(d.Result, &s); err != nil {
			return nil, fmt.Errorf("query %q: decoding scalar: %w", expr, err)
		}
		return model.Vector{{Metric: model.Metric{}, Value: s.Value, Timestamp: s.Timestamp}}, nil
	default:
		return nil, fmt.Errorf("query %q: result type %s, want vector or scalar", expr, d.ResultType)
	}
}

// QueryRange evaluates a range query and returns the matrix.
func (a *API) QueryRange(expr string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	v := url.Values{"query": {expr}, "start": {formatTime(start)}, "end": {formatTime(end)},
		"step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}
	var d queryData
	if err := a.get("/api/v1/query_range", v, &d); err != nil {
		return nil, fmt.Errorf("query_range %q: %w", expr, err)
	}
	if d.ResultType != model.ValMatrix {
		return nil, fmt.Errorf("query_range %q: result type %s, want matrix", expr, d.ResultType)
	}
	var m model.Matrix
	if err := json.Unmarshal(d.Result, &m); err != nil {
		return nil, fmt.Errorf("query_range %q: decoding matrix: %w", expr, err)
	}
	return m, nil
}

// Series lists the label sets of the series matching any of the
// selectors, over Prometheus' default range (its whole head and blocks).
func (a *API) Series(match ...string) ([]model.LabelSet, error) {
	if len(match) == 0 {
		return nil, fmt.Errorf("series: at least one match[] selector is required")
	}
	var out []model.LabelSet
	if err := a.get("/api/v1/series", url.Values{"match[]": match}, &out); err != nil {
		return nil, fmt.Errorf("series %q: %w", match, err)
	}
	return out, nil
}

// get calls path with v as the query string and decodes data into out.
func (a *API) get(path string, v url.Values, out any) error {
	resp, err := a.HTTP.Get(a.URL + path + "?" + v.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return err
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("%s: not a Prometheus API answer: %.200q", resp.Status, body)
	}
	if r.Status != "success" {
		return fmt.Errorf("%s: %s: %s", resp.Status, r.ErrorType, r.Error)
	}
	return json.Unmarshal(r.Data, out)
}

// formatTime is Prometheus' Unix-seconds time parameter, to the
// millisecond (Prometheus' resolution), truncated as time.UnixMilli is.
func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}
