package api

import (
	"io"
	"net/http"
	"time"
)

// MetricsSummary is the answer of /v1/metrics: the agent's in-memory
// metrics over the last finished 10 s interval, in go-metrics' shape
// (Nomad's api.MetricsSummary).
type MetricsSummary struct {
	// Timestamp is the start of the interval, such as
	// "2026-12-04 19:10:20 +0000 UTC".
	Timestamp string
	// Gauges are the last value set in the interval.
	Gauges []GaugeValue
	// Points are values emitted as keys (EmitKey).
	Points []PointValue
	// Counters aggregate the increments of the interval.
	Counters []SampledValue
	// Samples aggregate timings (milliseconds) and other samples.
	Samples []SampledValue
}

// GaugeValue is one gauge.
type GaugeValue struct {
	// Name is the flattened key, such as "nomadlike.runtime.num_goroutines".
	Name  string
	Hash  string `json:"-"`
	Value float32

	Labels []Label `json:"-"`
	// DisplayLabels are the gauge's labels, as "Labels" on the wire.
	DisplayLabels map[string]string `json:"Labels"`
}

// PointValue is one key's emitted values.
type PointValue struct {
	Name   string
	Points []float32
}

// SampledValue is one counter or sample aggregated over the interval.
type SampledValue struct {
	// Name is the flattened key, such as "nomadlike.http.request".
	Name string
	Hash string `json:"-"`
	*AggregateSample
	// Mean and Stddev are over the values of the interval.
	Mean   float64
	Stddev float64

	Labels []Label `json:"-"`
	// DisplayLabels are the series' labels, as "Labels" on the wire.
	DisplayLabels map[string]string `json:"Labels"`
}

// AggregateSample aggregates the values of one series over an interval.
type AggregateSample struct {
	Count       int       // The count of emitted values
	Rate        float64   // Sum per second of the interval
	Sum         float64   // The sum of values
	SumSq       float64   `json:"-"` // The sum of squared values
	Min         float64   // Minimum value
	Max         float64   // Maximum value
	LastUpdated time.Time `json:"-"` // When value was last updated
}

// Label is one metric label.
type Label struct {
	Name  string
	Value string
}

// Metrics returns the agent's metrics summary (GET /v1/metrics). It needs
// no token.
func (a *Agent) Metrics(q *QueryOptions) (*MetricsSummary, error) {
	var out MetricsSummary
	if _, err := a.client.query("/v1/metrics", &out, q); err != nil {
		return nil, err
	}
	return &out, nil
}

// MetricsPrometheus returns the agent's metrics in the Prometheus text
// exposition format (GET /v1/metrics?format=prometheus): its own series,
// the Go runtime's and the process's.
func (a *Agent) MetricsPrometheus(q *QueryOptions) ([]byte, error) {
	q = withParams(q)
	q.Params["format"] = "prometheus"
	return a.client.Operator().Metrics(q)
}

// Metrics returns the raw body of /v1/metrics, as Nomad's
// Operator().Metrics: JSON, or the Prometheus text when q.Params has
// format=prometheus.
func (op *Operator) Metrics(q *QueryOptions) ([]byte, error) {
	r, err := op.client.newRequest(http.MethodGet, "/v1/metrics")
	if err != nil {
		return nil, err
	}
	r.setQueryOptions(q)
	_, resp, err := requireOK(op.client.doRequest(r))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// MetricsSummary returns the agent's metrics summary and the query's
// metadata, as Nomad's Operator().MetricsSummary.
func (op *Operator) MetricsSummary(q *QueryOptions) (*MetricsSummary, *QueryMeta, error) {
	var out MetricsSummary
	qm, err := op.client.query("/v1/metrics", &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, qm, nil
}
