package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Prometheus result types (PromQLResult.ResultType).
const (
	PromResultVector = "vector"
	PromResultMatrix = "matrix"
	PromResultScalar = "scalar"
	PromResultString = "string"
)

// maxGETQuery is the longest encoded query string sent in a URL; longer
// requests are POSTed as a form, which Prometheus' API accepts for every
// endpoint. 4 KiB stays far below the 8 KiB request line that many
// proxies allow, and covers all but generated queries.
const maxGETQuery = 4 << 10

// Metrics is the handle on the Prometheus query API that servers offer
// over the fleet's host metrics (/api/v1/query and friends).
type Metrics struct {
	client *Client
}

// Metrics returns the handle on the PromQL endpoints.
func (c *Client) Metrics() *Metrics { return &Metrics{client: c} }

// PromQLResult is the "data" of a query answer, with the answer's
// warnings (such as a server that did not answer, so the result is
// partial) and infos.
type PromQLResult struct {
	// ResultType is "vector", "matrix", "scalar" or "string".
	ResultType string `json:"resultType"`
	// Result is the result as Prometheus encodes it; Vector, Matrix,
	// Scalar and String decode it.
	Result json.RawMessage `json:"result"`
	// Warnings and Infos are from the envelope, not from "data".
	Warnings []string `json:"-"`
	Infos    []string `json:"-"`
}

// PromQLMeta is what a series or label answer carries besides its data.
type PromQLMeta struct {
	Warnings []string
	Infos    []string
}

// PromPoint is one sample's time and value.
type PromPoint struct {
	Time  time.Time
	Value float64
}

// PromSample is one element of an instant vector.
type PromSample struct {
	Metric map[string]string
	PromPoint
	// Histogram is a native histogram sample as Prometheus encodes it,
	// when the series holds one instead of a float (Value is then 0).
	Histogram json.RawMessage
}

// PromSeries is one element of a range matrix.
type PromSeries struct {
	Metric map[string]string
	Points []PromPoint
	// Histograms are native histogram points, as Prometheus encodes them.
	Histograms []json.RawMessage
}

// PromQLError is a Prometheus error answer: {"status":"error",
// "errorType":"bad_data","error":"..."}. Use errors.As:
//
//	var pe *api.PromQLError
//	if errors.As(err, &pe) && pe.ErrorType() == "bad_data" { ... }
type PromQLError struct {
	statusCode int
	errorType  string
	message    string
}

// StatusCode is the HTTP status of the answer, such as 400.
func (e *PromQLError) StatusCode() int { return e.statusCode }

// ErrorType is Prometheus' errorType: "bad_data", "execution", "timeout",
// "canceled", "internal", "unavailable", or the agent's own for refusals
// (such as "forbidden").
func (e *PromQLError) ErrorType() string { return e.errorType }

// Message is Prometheus' "error" text.
func (e *PromQLError) Message() string { return e.message }

// Error reads "Unexpected response code: 400 (bad_data: invalid parameter
// ...)", as UnexpectedResponseError does for other endpoints.
func (e *PromQLError) Error() string {
	return fmt.Sprintf("Unexpected response code: %d (%s: %s)", e.statusCode, e.errorType, e.message)
}

// promEnvelope is Prometheus' answer.
type promEnvelope struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	Infos     []string        `json:"infos"`
}

// Query runs an instant query at ts (the server's now when ts is zero).
// q.Params may add Prometheus' other parameters: "timeout", "limit",
// "lookback_delta", "stats".
func (m *Metrics) Query(query string, ts time.Time, q *QueryOptions) (*PromQLResult, error) {
	form := url.Values{"query": {query}}
	if !ts.IsZero() {
		form.Set("time", formatPromTime(ts))
	}
	return m.queryData("/api/v1/query", form, q)
}

// QueryRange runs a range query from start to end every step.
func (m *Metrics) QueryRange(query string, start, end time.Time, step time.Duration, q *QueryOptions) (*PromQLResult, error) {
	if step <= 0 {
		return nil, errors.New("step must be positive")
	}
	form := url.Values{
		"query": {query},
		"start": {formatPromTime(start)},
		"end":   {formatPromTime(end)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	}
	return m.queryData("/api/v1/query_range", form, q)
}

// Series returns the label sets of the series that match any of matches
// (at least one is needed) between start and end; zero times leave the
// range open on that side.
func (m *Metrics) Series(matches []string, start, end time.Time, q *QueryOptions) ([]map[string]string, *PromQLMeta, error) {
	if len(matches) == 0 {
		return nil, nil, errors.New("at least one series selector is needed")
	}
	var out []map[string]string
	meta, err := m.do("/api/v1/series", metadataForm(matches, start, end), q, &out)
	if err != nil {
		return nil, nil, err
	}
	if out == nil {
		out = []map[string]string{}
	}
	return out, meta, nil
}

// Labels returns the label names of the series matching matches (of all
// series when there are none) between start and end.
func (m *Metrics) Labels(matches []string, start, end time.Time, q *QueryOptions) ([]string, *PromQLMeta, error) {
	return m.stringList("/api/v1/labels", metadataForm(matches, start, end), q)
}

// LabelValues returns the values of label name among the series matching
// matches between start and end.
func (m *Metrics) LabelValues(name string, matches []string, start, end time.Time, q *QueryOptions) ([]string, *PromQLMeta, error) {
	if name == "" {
		return nil, nil, errors.New("label name must not be empty")
	}
	return m.stringList("/api/v1/label/"+url.PathEscape(name)+"/values", metadataForm(matches, start, end), q)
}

func (m *Metrics) stringList(path string, form url.Values, q *QueryOptions) ([]string, *PromQLMeta, error) {
	var out []string
	meta, err := m.do(path, form, q, &out)
	if err != nil {
		return nil, nil, err
	}
	if out == nil {
		out = []string{}
	}
	return out, meta, nil
}

func metadataForm(matches []string, start, end time.Time) url.Values {
	form := url.Values{}
	for _, s := range matches {
		form.Add("match[]", s)
	}
	if !start.IsZero() {
		form.Set("start", formatPromTime(start))
	}
	if !end.IsZero() {
		form.Set("end", formatPromTime(end))
	}
	return form
}

// queryData runs a query endpoint and decodes its data.
func (m *Metrics) queryData(path string, form url.Values, q *QueryOptions) (*PromQLResult, error) {
	var res PromQLResult
	meta, err := m.do(path, form, q, &res)
	if err != nil {
		return nil, err
	}
	res.Warnings, res.Infos = meta.Warnings, meta.Infos
	return &res, nil
}

// do sends form to path, by GET when it is short and by POST otherwise,
// and decodes a success's data into out.
func (m *Metrics) do(path string, form url.Values, q *QueryOptions, out any) (*PromQLMeta, error) {
	r, err := m.client.newRequest(http.MethodGet, path)
	if err != nil {
		return nil, err
	}
	r.setQueryOptions(q)
	// Everything travels as Prometheus parameters: the client's own
	// (wait, stale) are meaningless here and left out.
	for k, v := range form {
		r.params[k] = v
	}
	for _, k := range []string{"wait", "stale", "consistent", "index", "prefix"} {
		if q == nil || q.Params[k] == "" {
			r.params.Del(k)
		}
	}
	if encoded := r.params.Encode(); len(encoded) > maxGETQuery {
		r.method = http.MethodPost
		r.body = strings.NewReader(encoded)
		r.params = url.Values{}
		r.header = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	}
	_, resp, err := m.client.doRequest(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, promError(resp)
	}
	var env promEnvelope
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return nil, fmt.Errorf("decoding response: %w", err)
	}
	if env.Status != "success" {
		return nil, &PromQLError{statusCode: resp.StatusCode, errorType: env.ErrorType, message: env.Error}
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return nil, fmt.Errorf("decoding response data: %w", err)
	}
	return &PromQLMeta{Warnings: env.Warnings, Infos: env.Infos}, nil
}

// promError reads a failed answer: a Prometheus error body becomes a
// *PromQLError, anything else (a proxy's page, a plain-text refusal) an
// UnexpectedResponseError.
func promError(resp *http.Response) error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var env promEnvelope
	if err == nil && json.Unmarshal(b, &env) == nil && env.Status == "error" && env.ErrorType != "" {
		return &PromQLError{statusCode: resp.StatusCode, errorType: env.ErrorType, message: env.Error}
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return newUnexpectedResponseError(resp)
}

// formatPromTime writes t as Unix seconds with up to millisecond
// precision, which is what Prometheus keeps.
func formatPromTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1e3, 'f', -1, 64)
}

// Vector decodes a "vector" result.
func (r *PromQLResult) Vector() ([]PromSample, error) {
	if err := r.expect(PromResultVector); err != nil {
		return nil, err
	}
	var raw []struct {
		Metric    map[string]string `json:"metric"`
		Value     *promPair         `json:"value"`
		Histogram *histPair         `json:"histogram"`
	}
	if err := json.Unmarshal(r.Result, &raw); err != nil {
		return nil, fmt.Errorf("decoding vector: %w", err)
	}
	out := make([]PromSample, 0, len(raw))
	for _, s := range raw {
		ps := PromSample{Metric: nonNil(s.Metric)}
		switch {
		case s.Value != nil:
			ps.PromPoint = PromPoint(*s.Value)
		case s.Histogram != nil:
			ps.Time, ps.Histogram = s.Histogram.t, s.Histogram.h
		default:
			return nil, errors.New("decoding vector: sample has neither value nor histogram")
		}
		out = append(out, ps)
	}
	return out, nil
}

// Matrix decodes a "matrix" result.
func (r *PromQLResult) Matrix() ([]PromSeries, error) {
	if err := r.expect(PromResultMatrix); err != nil {
		return nil, err
	}
	var raw []struct {
		Metric     map[string]string `json:"metric"`
		Values     []promPair        `json:"values"`
		Histograms []histPair        `json:"histograms"`
	}
	if err := json.Unmarshal(r.Result, &raw); err != nil {
		return nil, fmt.Errorf("decoding matrix: %w", err)
	}
	out := make([]PromSeries, 0, len(raw))
	for _, s := range raw {
		ps := PromSeries{Metric: nonNil(s.Metric), Points: make([]PromPoint, 0, len(s.Values))}
		for _, p := range s.Values {
			ps.Points = append(ps.Points, PromPoint(p))
		}
		for _, h := range s.Histograms {
			ps.Histograms = append(ps.Histograms, h.h)
		}
		out = append(out, ps)
	}
	return out, nil
}

// Scalar decodes a "scalar" result.
func (r *PromQLResult) Scalar() (PromPoint, error) {
	if err := r.expect(PromResultScalar); err != nil {
		return PromPoint{}, err
	}
	var p promPair
	if err := json.Unmarshal(r.Result, &p); err != nil {
		return PromPoint{}, fmt.Errorf("decoding scalar: %w", err)
	}
	return PromPoint(p), nil
}

// StringValue decodes a "string" result: its time and text.
func (r *PromQLResult) StringValue() (time.Time, string, error) {
	if err := r.expect(PromResultString); err != nil {
		return time.Time{}, "", err
	}
	var pair []json.RawMessage
	if err := json.Unmarshal(r.Result, &pair); err != nil || len(pair) != 2 {
		return time.Time{}, "", fmt.Errorf("decoding string: want [time, \"text\"], got %.100s", r.Result)
	}
	t, err := parsePromTime(pair[0])
	if err != nil {
		return time.Time{}, "", fmt.Errorf("decoding string: %w", err)
	}
	var s string
	if err := json.Unmarshal(pair[1], &s); err != nil {
		return time.Time{}, "", fmt.Errorf("decoding string: %w", err)
	}
	return t, s, nil
}

func (r *PromQLResult) expect(typ string) error {
	if r.ResultType != typ {
		return fmt.Errorf("result is a %s, not a %s", r.ResultType, typ)
	}
	return nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// promPair is Prometheus' [unix seconds, "value"] with the value as a
// string ("NaN", "+Inf" and "-Inf" included).
type promPair PromPoint

func (p *promPair) UnmarshalJSON(b []byte) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil || len(pair) != 2 {
		return fmt.Errorf("want [time, \"value\"], got %.100s", b)
	}
	t, err := parsePromTime(pair[0])
	if err != nil {
		return err
	}
	var s string
	if err := json.Unmarshal(pair[1], &s); err != nil {
		return fmt.Errorf("value %.50s is not a string", pair[1])
	}
	v, err := parsePromValue(s)
	if err != nil {
		return err
	}
	p.Time, p.Value = t, v
	return nil
}

// histPair is [unix seconds, {histogram}], the histogram kept raw.
type histPair struct {
	t time.Time
	h json.RawMessage
}

func (p *histPair) UnmarshalJSON(b []byte) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil || len(pair) != 2 {
		return fmt.Errorf("want [time, {histogram}], got %.100s", b)
	}
	t, err := parsePromTime(pair[0])
	if err != nil {
		return err
	}
	p.t, p.h = t, pair[1]
	return nil
}

// parsePromTime reads a JSON number of Unix seconds with a fraction.
func parsePromTime(b json.RawMessage) (time.Time, error) {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return time.Time{}, fmt.Errorf("time %.50s is not a number", b)
	}
	// Prometheus sends milliseconds at most; rounding to them undoes the
	// float's error.
	return time.UnixMilli(int64(math.Round(f * 1e3))), nil
}

// parsePromValue reads a sample value as Prometheus writes it.
func parsePromValue(s string) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "+Inf", "Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	return v, nil
}
