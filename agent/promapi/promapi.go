// Package promapi serves Prometheus' HTTP query API (/api/v1/query,
// /api/v1/query_range, /api/v1/series, /api/v1/labels and
// /api/v1/label/{name}/values) over any storage.Queryable, in Prometheus'
// own JSON, so that Grafana, promtool and Prometheus' Go client query the
// fleet's host metrics as they would a Prometheus server.
//
// It does not import Prometheus' web/api/v1, whose constructor wants a
// whole Prometheus server (scrape, rules, notifier, TSDB admin); it keeps
// that package's parameter parsing, limits, error types and envelope, and
// lets the promql value types marshal themselves.
package promapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/prometheus/prometheus/util/stats"
)

// Bounds of what a caller controls. A request beyond them is refused with
// bad_data, except the result caps, which truncate with a warning as
// Prometheus' own "limit" does.
const (
	// DefaultMaxQueryLength bounds "query", and the match[] selectors
	// together. Grafana's largest generated queries are a few KiB.
	DefaultMaxQueryLength = 64 << 10
	// DefaultMaxMatchers bounds the number of match[] selectors.
	DefaultMaxMatchers = 100
	// DefaultMaxSeries caps what /api/v1/series returns.
	DefaultMaxSeries = 10_000
	// DefaultMaxLabelValues caps what /api/v1/labels and label values
	// return: one entry per node is expected, so fleets of many
	// thousands must fit.
	DefaultMaxLabelValues = 100_000
	// maxFormBytes bounds a POST body; 64 KiB of query and 100 selectors
	// fit in it with room to spare.
	maxFormBytes = 1 << 20
	// maxPoints is Prometheus' resolution limit of a range query: 60s
	// steps for a week, or 1h steps for a year.
	maxPoints = 11_000
)

// promqlParser parses match[]; it has the options the engine's default
// parser has, so a selector means the same in both places.
var promqlParser = parser.NewParser(parser.Options{})

// API holds the query handlers. Its zero limits take the defaults above.
type API struct {
	// Engine evaluates PromQL; see NewEngine.
	Engine *promql.Engine
	// Queryable gives the storage for one request: it carries the
	// caller's token to the peers whose series it merges. An *Error
	// return chooses the error type answered; any other error is
	// "internal".
	Queryable func(r *http.Request) (storage.Queryable, error)
	// Logger receives encoding failures and internal errors; nil
	// discards them.
	Logger hclog.Logger

	MaxQueryLength int
	MaxMatchers    int
	MaxSeries      int
	MaxLabelValues int
}

// Routes returns the ServeMux patterns of the API (GET and POST, as
// Prometheus serves both) with their handlers, for the mounting layer to
// wrap in its ACL check and register.
func (a *API) Routes() map[string]http.HandlerFunc {
	routes := map[string]http.HandlerFunc{}
	for path, h := range map[string]http.HandlerFunc{
		"/api/v1/query":               a.Query,
		"/api/v1/query_range":         a.QueryRange,
		"/api/v1/series":              a.Series,
		"/api/v1/labels":              a.Labels,
		"/api/v1/label/{name}/values": a.LabelValues,
	} {
		routes["GET "+path] = h
		routes["POST "+path] = h
	}
	return routes
}

func (a *API) logger() hclog.Logger {
	if a.Logger == nil {
		return hclog.NewNullLogger()
	}
	return a.Logger
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// queryData is the "data" of a query answer (web/api/v1.QueryData).
type queryData struct {
	ResultType parser.ValueType `json:"resultType"`
	Result     parser.Value     `json:"result"`
	Stats      stats.QueryStats `json:"stats,omitempty"`
}

// parseForm reads the URL and a form-encoded POST body, bounded.
func (a *API) parseForm(w http.ResponseWriter, r *http.Request) *apiError {
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	if err := r.ParseForm(); err != nil {
		return badData(fmt.Errorf("error parsing form values: %w", err))
	}
	return nil
}

// checkQuery bounds the length of "query".
func (a *API) checkQuery(qs string) *apiError {
	if max := orDefault(a.MaxQueryLength, DefaultMaxQueryLength); len(qs) > max {
		return invalidParam("query", fmt.Errorf("query is %d bytes, more than the limit of %d", len(qs), max))
	}
	return nil
}

// queryable returns the request's storage, failing cleanly when the API
// was built without one.
func (a *API) queryable(r *http.Request) (storage.Queryable, *apiError) {
	if a.Queryable == nil || a.Engine == nil {
		return nil, &apiError{ErrorTypeInternal, errors.New("query API has no storage")}
	}
	q, err := a.Queryable(r)
	if err != nil {
		return nil, classify(err, ErrorTypeInternal)
	}
	if q == nil {
		return nil, &apiError{ErrorTypeInternal, errors.New("query API has no storage")}
	}
	return q, nil
}

// queryOpts reads lookback_delta and stats=all.
func queryOpts(r *http.Request) (promql.QueryOpts, *apiError) {
	var lookback time.Duration
	if s := r.FormValue("lookback_delta"); s != "" {
		d, err := parseDuration(s)
		if err != nil {
			return nil, badData(fmt.Errorf("error parsing lookback delta duration: %w", err))
		}
		lookback = d
	}
	return promql.NewPrometheusQueryOpts(r.FormValue("stats") == "all", lookback, nil), nil
}

// statsWarning is Prometheus' deprecation warning for a "stats" value
// other than "true" or "all" (any non-empty value still enables stats).
func statsWarning(s string) error {
	switch s {
	case "", "true", "all":
		return nil
	}
	return fmt.Errorf("value %q for parameter \"stats\" is deprecated and will be rejected in the next major release, use %q or %q", s, "true", "all")
}

// constructionError maps a failure to build a query as Prometheus does:
// running out of time or being canceled while waiting keeps its type,
// anything else is a bad query.
func constructionError(err error) *apiError {
	var eqt promql.ErrQueryTimeout
	var eqc promql.ErrQueryCanceled
	if errors.As(err, &eqt) || errors.As(err, &eqc) {
		return classify(err, ErrorTypeExec)
	}
	return invalidParam("query", err)
}

// Query serves /api/v1/query: an instant query at "time" (default now).
func (a *API) Query(w http.ResponseWriter, r *http.Request) {
	if e := a.parseForm(w, r); e != nil {
		a.respondError(w, e)
		return
	}
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		a.respondError(w, invalidParam("limit", err))
		return
	}
	ts, err := parseTimeParam(r.FormValue("time"), "time", time.Now())
	if err != nil {
		a.respondError(w, invalidParam("time", err))
		return
	}
	a.runQuery(w, r, limit, func(ctx context.Context, q storage.Queryable, opts promql.QueryOpts, qs string) (promql.Query, error) {
		return a.Engine.NewInstantQuery(ctx, q, opts, qs, ts)
	})
}

// QueryRange serves /api/v1/query_range: start, end and step are
// required, and at most 11,000 steps are evaluated.
func (a *API) QueryRange(w http.ResponseWriter, r *http.Request) {
	if e := a.parseForm(w, r); e != nil {
		a.respondError(w, e)
		return
	}
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		a.respondError(w, invalidParam("limit", err))
		return
	}
	start, err := parseTime(r.FormValue("start"))
	if err != nil {
		a.respondError(w, invalidParam("start", err))
		return
	}
	end, err := parseTime(r.FormValue("end"))
	if err != nil {
		a.respondError(w, invalidParam("end", err))
		return
	}
	if end.Before(start) {
		a.respondError(w, invalidParam("end", errors.New("end timestamp must not be before start time")))
		return
	}
	step, err := parseDuration(r.FormValue("step"))
	if err != nil {
		a.respondError(w, invalidParam("step", err))
		return
	}
	if step <= 0 {
		a.respondError(w, invalidParam("step", errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer")))
		return
	}
	if end.Sub(start)/step > maxPoints {
		a.respondError(w, badData(errors.New("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")))
		return
	}
	a.runQuery(w, r, limit, func(ctx context.Context, q storage.Queryable, opts promql.QueryOpts, qs string) (promql.Query, error) {
		return a.Engine.NewRangeQuery(ctx, q, opts, qs, start, end, step)
	})
}

// runQuery is the part of Query and QueryRange after their own
// parameters: timeout, options, building, running and answering.
func (a *API) runQuery(w http.ResponseWriter, r *http.Request, limit int,
	build func(context.Context, storage.Queryable, promql.QueryOpts, string) (promql.Query, error)) {
	timeout, e := parseTimeout(r.FormValue("timeout"))
	if e != nil {
		a.respondError(w, e)
		return
	}
	opts, e := queryOpts(r)
	if e != nil {
		a.respondError(w, e)
		return
	}
	qs := r.FormValue("query")
	if e := a.checkQuery(qs); e != nil {
		a.respondError(w, e)
		return
	}
	ctx := r.Context()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	q, e := a.queryable(r)
	if e != nil {
		a.respondError(w, e)
		return
	}
	qry, err := build(ctx, q, opts, qs)
	if err != nil {
		a.respondError(w, constructionError(err))
		return
	}
	// The result's slices are pooled and returned by Close, so the answer
	// is written before it.
	defer qry.Close()

	res := qry.Exec(ctx)
	if res.Err != nil {
		a.respondError(w, classify(res.Err, ErrorTypeExec))
		return
	}
	warnings := res.Warnings
	value := res.Value
	switch v := value.(type) {
	case promql.Vector:
		if v == nil {
			value = promql.Vector{}
		} else if limit > 0 && len(v) > limit {
			value = v[:limit]
			warnings.Add(errors.New("results truncated due to limit"))
		}
	case promql.Matrix:
		if v == nil {
			value = promql.Matrix{}
		} else if limit > 0 && len(v) > limit {
			value = v[:limit]
			warnings.Add(errors.New("results truncated due to limit"))
		}
	}
	statsParam := r.FormValue("stats")
	if err := statsWarning(statsParam); err != nil {
		warnings.Add(err)
	}
	data := &queryData{ResultType: value.Type(), Result: value}
	if statsParam != "" {
		data.Stats = stats.NewQueryStats(qry.Stats())
	}
	a.respond(w, r, data, warnings, qs)
}

// matcherSets parses match[] as Prometheus does: each selector must have
// a matcher that does not match the empty string, or it would select
// every series.
func (a *API) matcherSets(r *http.Request) ([][]*labels.Matcher, *apiError) {
	matches := r.Form["match[]"]
	if max := orDefault(a.MaxMatchers, DefaultMaxMatchers); len(matches) > max {
		return nil, badData(fmt.Errorf("%d match[] parameters, more than the limit of %d", len(matches), max))
	}
	total := 0
	for _, m := range matches {
		total += len(m)
	}
	if max := orDefault(a.MaxQueryLength, DefaultMaxQueryLength); total > max {
		return nil, badData(fmt.Errorf("match[] parameters are %d bytes, more than the limit of %d", total, max))
	}
	sets, err := promqlParser.ParseMetricSelectors(matches)
	if err != nil {
		return nil, badData(err)
	}
outer:
	for _, set := range sets {
		for _, m := range set {
			if m != nil && !m.Matches("") {
				continue outer
			}
		}
		return nil, badData(errors.New("match[] must contain at least one non-empty matcher"))
	}
	return sets, nil
}

// metadataRequest is what Series, Labels and LabelValues share: limit,
// start and end (default: all time), match[], a deadline and the querier.
type metadataRequest struct {
	limit    int // the caller's, 0 for none
	capped   int // what is returned at most
	sets     [][]*labels.Matcher
	ctx      context.Context
	cancel   context.CancelFunc
	querier  storage.Querier
	mint     int64
	maxt     int64
	warnings annotations.Annotations
}

// close releases the querier and the deadline.
func (m *metadataRequest) close() {
	if m.querier != nil {
		m.querier.Close()
	}
	if m.cancel != nil {
		m.cancel()
	}
}

// truncate reports whether n results exceed the cap, and warns if so.
func (m *metadataRequest) truncate(n int) bool {
	if n > m.capped {
		m.warnings.Add(errors.New("results truncated due to limit"))
		return true
	}
	return false
}

// hintLimit is the cap plus one, so that a truncation can be noticed.
func (m *metadataRequest) hintLimit() int { return m.capped + 1 }

// metadata parses the shared parameters and opens the querier. The
// caller must close the request when err is nil. series words a bad
// selector as Prometheus' series endpoint does, naming the parameter.
func (a *API) metadata(w http.ResponseWriter, r *http.Request, maxResults int, series bool) (*metadataRequest, *apiError) {
	if e := a.parseForm(w, r); e != nil {
		return nil, e
	}
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		return nil, invalidParam("limit", err)
	}
	start, err := parseTimeParam(r.FormValue("start"), "start", minTime)
	if err != nil {
		return nil, invalidParam("start", err)
	}
	end, err := parseTimeParam(r.FormValue("end"), "end", maxTime)
	if err != nil {
		return nil, invalidParam("end", err)
	}
	timeout, e := parseTimeout(r.FormValue("timeout"))
	if e != nil {
		return nil, e
	}
	sets, e := a.matcherSets(r)
	if e != nil {
		if series && e.typ == ErrorTypeBadData {
			e = invalidParam("match[]", e.err)
		}
		return nil, e
	}
	m := &metadataRequest{limit: limit, capped: maxResults, sets: sets,
		mint: timestamp.FromTime(start), maxt: timestamp.FromTime(end)}
	if limit > 0 && limit < maxResults {
		m.capped = limit
	}
	// Series and label lookups have no engine to time them out, and a
	// peer that hangs would hold the request forever.
	if timeout <= 0 || timeout > DefaultTimeout {
		timeout = DefaultTimeout
	}
	m.ctx, m.cancel = context.WithTimeout(r.Context(), timeout)
	q, e := a.queryable(r)
	if e != nil {
		m.close()
		return nil, e
	}
	m.querier, err = q.Querier(m.mint, m.maxt)
	if err != nil {
		m.close()
		return nil, classify(err, ErrorTypeExec)
	}
	return m, nil
}

// Series serves /api/v1/series: the label sets of the series matching
// any match[] selector (at least one is required).
func (a *API) Series(w http.ResponseWriter, r *http.Request) {
	if e := a.parseForm(w, r); e != nil {
		a.respondError(w, e)
		return
	}
	if len(r.Form["match[]"]) == 0 {
		a.respondError(w, badData(errors.New("no match[] parameter provided")))
		return
	}
	m, e := a.metadata(w, r, orDefault(a.MaxSeries, DefaultMaxSeries), true)
	if e != nil {
		a.respondError(w, e)
		return
	}
	defer m.close()

	hints := &storage.SelectHints{Start: m.mint, End: m.maxt, Func: "series", Limit: m.hintLimit()}
	var set storage.SeriesSet
	if len(m.sets) > 1 {
		sets := make([]storage.SeriesSet, 0, len(m.sets))
		for _, ms := range m.sets {
			// Merging needs each set sorted.
			sets = append(sets, m.querier.Select(m.ctx, true, hints, ms...))
		}
		set = storage.NewMergeSeriesSet(sets, 0, storage.ChainedSeriesMerge)
	} else {
		set = m.querier.Select(m.ctx, false, hints, m.sets[0]...)
	}
	series := []labels.Labels{}
	for set.Next() {
		if len(series)%128 == 127 {
			if err := m.ctx.Err(); err != nil {
				a.respondError(w, classify(err, ErrorTypeExec))
				return
			}
		}
		series = append(series, set.At().Labels())
		if m.truncate(len(series)) {
			series = series[:m.capped]
			break
		}
	}
	m.warnings.Merge(set.Warnings())
	if err := set.Err(); err != nil {
		a.respondError(w, classify(err, ErrorTypeExec))
		return
	}
	a.respond(w, r, series, m.warnings, "")
}

// Labels serves /api/v1/labels: the label names of the series matching
// match[] (of all series without it).
func (a *API) Labels(w http.ResponseWriter, r *http.Request) {
	m, e := a.metadata(w, r, orDefault(a.MaxLabelValues, DefaultMaxLabelValues), false)
	if e != nil {
		a.respondError(w, e)
		return
	}
	defer m.close()
	names, e := m.collect(func(ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return m.querier.LabelNames(m.ctx, &storage.LabelHints{Limit: m.hintLimit()}, ms...)
	})
	if e != nil {
		a.respondError(w, e)
		return
	}
	a.respond(w, r, names, m.warnings, "")
}

// LabelValues serves /api/v1/label/{name}/values. A name that is not a
// valid label name may be sent escaped as U__..., as Prometheus allows.
func (a *API) LabelValues(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if strings.HasPrefix(name, "U__") {
		name = model.UnescapeName(name, model.ValueEncodingEscaping)
	}
	if !model.UTF8Validation.IsValidLabelName(name) {
		a.respondError(w, badData(fmt.Errorf("invalid label name: %q", name)))
		return
	}
	m, e := a.metadata(w, r, orDefault(a.MaxLabelValues, DefaultMaxLabelValues), false)
	if e != nil {
		a.respondError(w, e)
		return
	}
	defer m.close()
	vals, e := m.collect(func(ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return m.querier.LabelValues(m.ctx, name, &storage.LabelHints{Limit: m.hintLimit()}, ms...)
	})
	if e != nil {
		a.respondError(w, e)
		return
	}
	a.respond(w, r, vals, m.warnings, "")
}

// collect runs one label lookup per selector (or one without any) and
// returns the sorted union, capped.
func (m *metadataRequest) collect(lookup func([]*labels.Matcher) ([]string, annotations.Annotations, error)) ([]string, *apiError) {
	var out []string
	if len(m.sets) > 1 {
		seen := map[string]struct{}{}
		for _, ms := range m.sets {
			vals, annos, err := lookup(ms)
			m.warnings.Merge(annos)
			if err != nil {
				return nil, classify(err, ErrorTypeExec)
			}
			for _, v := range vals {
				seen[v] = struct{}{}
			}
			// Each lookup is capped; the union may still grow with the
			// number of selectors, which is bounded too.
		}
		out = make([]string, 0, len(seen))
		for v := range seen {
			out = append(out, v)
		}
	} else {
		var ms []*labels.Matcher
		if len(m.sets) == 1 {
			ms = m.sets[0]
		}
		vals, annos, err := lookup(ms)
		m.warnings.Merge(annos)
		if err != nil {
			return nil, classify(err, ErrorTypeExec)
		}
		out = vals
	}
	if out == nil {
		out = []string{}
	}
	slices.Sort(out)
	if m.truncate(len(out)) {
		out = out[:m.capped]
	}
	return out, nil
}
